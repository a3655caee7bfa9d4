"""Energy units: the one conversion factor every module uses."""

from __future__ import annotations

J_PER_KWH = 3.6e6  # joules in one kilowatt-hour

