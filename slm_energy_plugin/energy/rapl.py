"""Linux powercap (RAPL) energy counters, read directly.

Counters are cumulative microjoules per package (and DRAM where the platform exposes
it) and wrap at ``max_energy_range_uj``; a window's energy is the wrapped difference.
They cover the whole package: other processes running at the same time are charged too.
``SLM_ENERGY_POWERCAP_ROOT`` points the meter at another tree (used by the tests with a
fake tree built in a temporary folder).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .base import EnergyMeter
from .reading import EnergyReading
from .registry import MeterRequest

ROOT_ENV = "SLM_ENERGY_POWERCAP_ROOT"
DEFAULT_ROOT = "/sys/class/powercap"
UJ_PER_KWH = 3.6e12


@dataclass(frozen=True)
class RaplDomain:
    path: Path
    name: str            # "package-0", "dram", ...
    component: str       # "cpu" or "ram"
    max_range_uj: int

    def read_uj(self) -> int:
        return int((self.path / "energy_uj").read_text().strip())


def wrapped_delta(start: int, end: int, max_range: int) -> int:
    """Counter difference, allowing for one wrap-around at ``max_range``."""
    return end - start if end >= start else end + max_range - start


def discover_domains(root: Path) -> list[RaplDomain]:
    """Package domains (CPU) and their DRAM subdomains; psys is skipped (it overlaps both)."""
    domains: list[RaplDomain] = []
    if not root.is_dir():
        return domains
    for top in sorted(root.glob("intel-rapl:*")):
        if top.name.count(":") != 1 or not (top / "name").is_file():
            continue
        name = (top / "name").read_text().strip()
        if not name.startswith("package"):
            continue
        domains.append(_domain(top, name, "cpu"))
        for sub in sorted(top.glob(f"{top.name}:*")):
            if (sub / "name").is_file() and (sub / "name").read_text().strip() == "dram":
                domains.append(_domain(sub, "dram", "ram"))
    return domains


def _domain(path: Path, name: str, component: str) -> RaplDomain:
    max_file = path / "max_energy_range_uj"
    max_range = int(max_file.read_text().strip()) if max_file.is_file() else 2**32
    return RaplDomain(path=path, name=name, component=component, max_range_uj=max_range)


class RaplMeter(EnergyMeter):
    name = "rapl"

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root or os.environ.get(ROOT_ENV) or DEFAULT_ROOT)
        self.domains = discover_domains(self.root)
        if not any(d.component == "cpu" for d in self.domains):
            raise ConfigError(
                f"no RAPL package counters under {self.root} (not an Intel/AMD Linux machine, or a VM without "
                "them); use --energy-meter codecarbon, which estimates where counters are missing")
        for domain in self.domains:
            try:
                domain.read_uj()
            except PermissionError:
                raise ConfigError(
                    f"cannot read {domain.path / 'energy_uj'} (permission denied); grant read access with "
                    "`sudo chmod a+r /sys/class/powercap/intel-rapl*/energy_uj` or use --energy-meter codecarbon"
                ) from None

    @property
    def methods(self) -> dict[str, str]:
        has_dram = any(d.component == "ram" for d in self.domains)
        return {"cpu": "rapl", "gpu": "not-measured", "ram": "rapl" if has_dram else "not-measured"}

    def start(self) -> tuple[float, list[int]]:
        return time.perf_counter(), [d.read_uj() for d in self.domains]

    def stop(self, handle: tuple[float, list[int]]) -> EnergyReading:
        end_values = [d.read_uj() for d in self.domains]
        duration = time.perf_counter() - handle[0]
        totals = {"cpu": 0, "ram": 0}
        for domain, start, end in zip(self.domains, handle[1], end_values):
            totals[domain.component] += wrapped_delta(start, end, domain.max_range_uj)
        methods = self.methods
        warnings = []
        if totals["cpu"] == 0 and duration > 0.01:
            warnings.append("RAPL counters did not move during this window")
        return EnergyReading(
            duration_s=duration,
            cpu_kwh=totals["cpu"] / UJ_PER_KWH,
            gpu_kwh=None,
            ram_kwh=totals["ram"] / UJ_PER_KWH if methods["ram"] == "rapl" else None,
            methods=methods,
            meter=self.name,
            warnings=tuple(warnings),
        )

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": None,
            "methods": self.methods,
            "provenance": "measured",
            "domains": [d.name for d in self.domains],
            "root": str(self.root),
            "description": "Linux powercap RAPL counters (measured, whole package: includes other processes)",
        }


def make_meter(request: MeterRequest) -> RaplMeter:
    """Entry point of the ``slm_energy.meters`` group."""
    return RaplMeter(request.argument)

