"""Fixtures: one real benchmark run for the results tests."""

from tests.real_run import real_run  # noqa: F401 - a fixture
