"""Usage analytics: a daily usage log -> daily, monthly and total kWh / g CO2e per profile.

Pure: parses text already read (a file or an upload) and aggregates. A log row is
``date, profile, requests[, tokens_in, tokens_out]`` where the token columns are totals for
that day and profile; without them the profile's per-request sizes (with ranges) are used.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Mapping, Sequence

from ..errors import ConfigError, OverBudget
from .config import parse_yaml
from .formulas import RANGE_NOTE, Datacenter, Hardware, Region, Span, Workload, estimate
from .schema import MAX_COUNT, MAX_TOKENS, check_key

COLUMNS = ("date", "profile", "requests", "tokens_in", "tokens_out")
REQUIRED = ("date", "profile", "requests")
MAX_ROWS = 100_000
# How often the row loops look at the clock when a deadline is set.
_CLOCK_EVERY = 128
FORMATS = ("csv", "yaml")


@dataclass(frozen=True)
class UsageRow:
    day: date
    profile: str
    requests: int
    tokens_in: int | None       # total over the row's requests
    tokens_out: int | None
    where: str                  # "row 3" / "line 4", for messages


def detect_format(origin: str, text: str) -> str:
    lowered = origin.lower()
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith((".yaml", ".yml")):
        return "yaml"
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return "csv" if first.lower().startswith("date,") or first.lower().startswith('"date",') else "yaml"


def parse_usage(text: str, origin: str, fmt: str | None = None, *, max_rows: int = MAX_ROWS,
                deadline: float | None = None) -> list[UsageRow]:
    """Rows of a usage log; errors name the origin, the row or line, the field and the bad value.

    More than ``max_rows`` rows, or work past ``deadline`` (a ``time.monotonic()`` value), raise
    :class:`~..errors.OverBudget` naming the bound.
    """
    fmt = fmt or detect_format(origin, text)
    if fmt not in FORMATS:
        raise ConfigError(f"{origin}: unknown usage log format {fmt!r} (use csv or yaml)")
    raw_rows = _csv_rows(text, origin, max_rows) if fmt == "csv" else _yaml_rows(text, origin, max_rows, deadline)
    if not raw_rows:
        raise ConfigError(f"{origin}: the usage log has no rows (expected columns {', '.join(COLUMNS)})")
    if len(raw_rows) > max_rows:
        raise OverBudget(f"{origin}: more than {max_rows:,} rows; at most {max_rows:,} are accepted "
                         "(aggregate rows per day and profile, or split the log)")
    rows = []
    for number, (where, data) in enumerate(raw_rows):
        if number % _CLOCK_EVERY == 0:
            check_deadline(deadline, origin)
        rows.append(_row(data, origin, where))
    return rows


def check_deadline(deadline: float | None, origin: str) -> None:
    """Refuse, naming ``origin``, once ``deadline`` (a ``time.monotonic()`` value) has passed."""
    if deadline is not None and time.monotonic() > deadline:
        raise OverBudget(f"{origin}: took longer than its time budget to process; refused (split the log, "
                         "aggregate rows per day and profile, or upload CSV, which parses faster than YAML)")


def _csv_rows(text: str, origin: str, max_rows: int = MAX_ROWS) -> list[tuple[str, dict[str, Any]]]:
    try:
        reader = csv.DictReader(io.StringIO(text))
        header = reader.fieldnames or []
        _check_columns([h.strip() for h in header if h is not None], origin, "header")
        rows = []
        for record in reader:
            if None in record:
                raise ConfigError(f"{origin}: line {reader.line_num}: more values than columns")
            if not any((v or "").strip() for v in record.values()):
                continue
            rows.append((f"line {reader.line_num}", {k.strip(): (v.strip() if v is not None else None)
                                                      for k, v in record.items() if v not in (None, "")}))
            if len(rows) > max_rows:
                break
        return rows
    except csv.Error as exc:
        raise ConfigError(f"{origin}: not valid CSV ({exc})") from None


def _yaml_rows(text: str, origin: str, max_rows: int = MAX_ROWS,
               deadline: float | None = None) -> list[tuple[str, dict[str, Any]]]:
    try:
        data = parse_yaml(text, origin, deadline)
    except OverBudget:
        check_deadline(deadline, origin)   # the same line, naming the upload
        raise
    if isinstance(data, Mapping) and set(data) == {"usage"}:
        data = data["usage"]
    if not isinstance(data, list):
        raise ConfigError(f"{origin}: a YAML usage log must be a list of rows (or a mapping with one key "
                          f"'usage' holding that list), each with {', '.join(COLUMNS)}")
    rows = []
    for i, item in enumerate(data[:max_rows + 1], start=1):
        if not isinstance(item, Mapping):
            raise ConfigError(f"{origin}: row {i}: must be a mapping with {', '.join(REQUIRED)}, got {_short(item)}")
        _check_columns([str(k) for k in item], origin, f"row {i}")
        rows.append((f"row {i}", {str(k): v for k, v in item.items() if v is not None}))
    return rows


def _check_columns(names: Sequence[str], origin: str, where: str) -> None:
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise ConfigError(f"{origin}: {where}: unknown column {unknown[0]!r} (expected {', '.join(COLUMNS)})")
    if where == "header":
        missing = [n for n in REQUIRED if n not in names]
        if missing:
            raise ConfigError(f"{origin}: header: missing column {missing[0]!r} (expected {', '.join(COLUMNS)})")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _row(data: Mapping[str, Any], origin: str, where: str) -> UsageRow:
    for name in REQUIRED:
        if name not in data:
            raise ConfigError(f"{origin}: {where}: missing {name!r}")
    requests = _count(data["requests"], origin, where, "requests", MAX_COUNT)
    totals = {name: (None if name not in data else
                     _count(data[name], origin, where, name, max(requests, 1) * MAX_TOKENS))
              for name in ("tokens_in", "tokens_out")}
    if requests == 0 and any(totals.values()):
        raise ConfigError(f"{origin}: {where}: token totals given for 0 requests")
    return UsageRow(day=_day(data["date"], origin, where),
                    profile=check_key(data["profile"], origin, f"{where}.profile"), requests=requests,
                    tokens_in=totals["tokens_in"], tokens_out=totals["tokens_out"], where=where)


def _day(value: Any, origin: str, where: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{origin}: {where}: date must be YYYY-MM-DD, got {_short(value)}") from None


def _count(value: Any, origin: str, where: str, name: str, maximum: int) -> int:
    number: Any = value
    if isinstance(value, str):
        try:
            number = int(value.replace("_", ""))
        except ValueError:
            number = None
    if isinstance(number, float) and number.is_integer():
        number = int(number)
    if not isinstance(number, int) or isinstance(number, bool) or not 0 <= number <= maximum:
        raise ConfigError(f"{origin}: {where}: {name} must be a whole number from 0 to {maximum}, got {_short(value)}")
    return number


# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Totals:
    requests: int
    tokens_in: Span
    tokens_out: Span
    energy_kwh: Span
    carbon_g: Span
    water_l: Span | None

    def __add__(self, other: "Totals") -> "Totals":
        water = None if self.water_l is None or other.water_l is None else self.water_l + other.water_l
        return Totals(self.requests + other.requests, self.tokens_in + other.tokens_in,
                      self.tokens_out + other.tokens_out, self.energy_kwh + other.energy_kwh,
                      self.carbon_g + other.carbon_g, water)

    def to_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "tokens_in": self.tokens_in.to_dict(),
                "tokens_out": self.tokens_out.to_dict(), "energy_kwh": self.energy_kwh.to_dict(),
                "carbon_g": self.carbon_g.to_dict(),
                "water_l": None if self.water_l is None else self.water_l.to_dict()}


@dataclass(frozen=True)
class UsageReport:
    daily: dict[tuple[str, str], Totals]      # (YYYY-MM-DD, profile)
    monthly: dict[tuple[str, str], Totals]    # (YYYY-MM, profile)
    by_profile: dict[str, Totals]
    total: Totals
    hardware: Hardware
    region: Region
    datacenter: Datacenter
    rows: int

    def to_dict(self) -> dict[str, Any]:
        def listing(table: Mapping[tuple[str, str], Totals], period: str) -> list[dict[str, Any]]:
            return [{period: key[0], "profile": key[1], **totals.to_dict()} for key, totals in table.items()]
        return {
            "daily": listing(self.daily, "date"), "monthly": listing(self.monthly, "month"),
            "by_profile": [{"profile": p, **t.to_dict()} for p, t in self.by_profile.items()],
            "total": self.total.to_dict(), "rows": self.rows,
            "hardware": self.hardware.key, "region": self.region.to_dict(), "datacenter": self.datacenter.key,
            "range_note": RANGE_NOTE,
        }


def _zero(water: bool) -> Totals:
    zero = Span.point(0.0)
    return Totals(0, zero, zero, zero, zero, zero if water else None)


def row_totals(row: UsageRow, profile: Workload, hardware: Hardware, region: Region,
               datacenter: Datacenter) -> Totals:
    """One row's footprint: per-request estimate x requests."""
    water = datacenter.wue_l_per_kwh is not None
    if row.requests == 0:
        return _zero(water)
    def per_request(total: int | None, fallback: Span) -> Span:
        return fallback if total is None else Span.point(total / row.requests, "usage log")
    tokens_in = per_request(row.tokens_in, profile.tokens_in)
    tokens_out = per_request(row.tokens_out, profile.tokens_out)
    workload = Workload(tokens_in, tokens_out, row.requests, profile.batch_size, profile.profile)
    result = estimate(workload, hardware, region, datacenter)
    return Totals(row.requests, tokens_in.scaled(row.requests), tokens_out.scaled(row.requests),
                  result.total("energy_kwh"), result.total("carbon_g"), result.total("water_l"))  # type: ignore[arg-type]


def analyse(rows: Sequence[UsageRow], profiles: Mapping[str, Workload], hardware: Hardware, region: Region,
            datacenter: Datacenter, origin: str = "usage log", deadline: float | None = None) -> UsageReport:
    """Daily, monthly, per-profile and total footprint; work past ``deadline`` raises OverBudget."""
    daily: dict[tuple[str, str], Totals] = {}
    monthly: dict[tuple[str, str], Totals] = {}
    by_profile: dict[str, Totals] = {}
    water = datacenter.wue_l_per_kwh is not None
    total = _zero(water)
    for number, row in enumerate(sorted(rows, key=lambda r: (r.day, r.profile))):
        if number % _CLOCK_EVERY == 0:
            check_deadline(deadline, origin)
        profile = profiles.get(row.profile)
        if profile is None:
            raise ConfigError(f"{origin}: {row.where}: unknown profile {row.profile!r} "
                              f"(known: {', '.join(sorted(profiles))})")
        totals = row_totals(row, profile, hardware, region, datacenter)
        for table, key in ((daily, (row.day.isoformat(), row.profile)),
                           (monthly, (row.day.strftime("%Y-%m"), row.profile))):
            table[key] = table.get(key, _zero(water)) + totals
        by_profile[row.profile] = by_profile.get(row.profile, _zero(water)) + totals
        total = total + totals
    return UsageReport(daily, monthly, dict(sorted(by_profile.items())), total, hardware, region, datacenter, len(rows))
