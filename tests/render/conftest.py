"""Fixtures: one real benchmark run for the render tests."""

from tests.real_run import real_run  # noqa: F401 - a fixture
