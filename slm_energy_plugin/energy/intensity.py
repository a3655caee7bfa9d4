"""Grid carbon intensity for an explicit country, from the table CodeCarbon ships.

Using CodeCarbon's own per-country data (not a hand-made copy) keeps our emissions
identical to CodeCarbon's for PUE 1.0, and records where the figure came from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import Any, Mapping

from ..errors import ConfigError

SOURCE = "CodeCarbon global_energy_mix.json (Our World in Data / Ember yearly country averages)"


@dataclass(frozen=True)
class CarbonContext:
    """How energy becomes emissions in this run: country grid intensity and datacenter PUE."""

    country_iso_code: str
    country_name: str
    intensity_g_per_kwh: float
    source: str
    year: int | None
    pue: float

    def emissions_kg(self, energy_kwh: float | None) -> float | None:
        """kg CO2eq of IT energy: energy x PUE x grid intensity."""
        if energy_kwh is None:
            return None
        return energy_kwh * self.pue * self.intensity_g_per_kwh / 1000.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "country_iso_code": self.country_iso_code,
            "country_name": self.country_name,
            "intensity_g_per_kwh": self.intensity_g_per_kwh,
            "source": self.source,
            "year": self.year,
            "pue": self.pue,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CarbonContext":
        return cls(
            country_iso_code=str(data["country_iso_code"]),
            country_name=str(data.get("country_name", "")),
            intensity_g_per_kwh=float(data["intensity_g_per_kwh"]),
            source=str(data.get("source", "")),
            year=data.get("year"),
            pue=float(data.get("pue", 1.0)),
        )


@lru_cache(maxsize=1)
def country_table() -> dict[str, dict[str, Any]]:
    """CodeCarbon's per-country energy mix, keyed by ISO 3166 alpha-3 code."""
    path = files("codecarbon").joinpath("data", "private_infra", "global_energy_mix.json")
    table: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return table


def carbon_context(country_iso_code: str, pue: float = 1.0) -> CarbonContext:
    code = country_iso_code.strip().upper()
    table = country_table()
    if code not in table:
        raise ConfigError(
            f"unknown country code {country_iso_code!r}: use an ISO 3166 alpha-3 code such as USA, FRA, DEU "
            f"or GBR ({len(table)} are known; see `slm-energy countries`)"
        )
    if not pue >= 1.0:
        raise ConfigError(f"PUE must be a number >= 1.0 (1.0 = no datacenter overhead), got {pue!r}")
    row = table[code]
    return CarbonContext(
        country_iso_code=code,
        country_name=str(row.get("country_name", code)),
        intensity_g_per_kwh=float(row["carbon_intensity"]),
        source=SOURCE,
        year=int(row["year"]) if row.get("year") is not None else None,
        pue=float(pue),
    )
