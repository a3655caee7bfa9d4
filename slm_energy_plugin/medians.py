"""The median of the figures present, shared by the renderers, the performance block and the measuring role.

Bottom floor: it imports nothing from the package, so the data layer can use it without statistics.
"""

from __future__ import annotations

import statistics
from typing import Iterable


def median_or_none(values: Iterable[float | None]) -> float | None:
    """The median of the values that are present; None when none are (never a fake 0)."""
    present = [float(v) for v in values if v is not None]
    return statistics.median(present) if present else None
