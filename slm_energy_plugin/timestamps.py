"""The one clock format every record and run uses: ISO 8601 in UTC, milliseconds."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")
