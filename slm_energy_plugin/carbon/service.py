"""One request -> one estimate: the resolution rules the CLI and the web API share.

Which tokens, count, hardware, facility and grid an estimate uses when some are not given:
explicit values win, then the named profile, then the configured defaults; each fallback is
recorded as a note so the output says what it assumed.
"""

from __future__ import annotations

from dataclasses import replace

from ..errors import ConfigError
from .config import EstimatorConfig
from .formulas import Datacenter, Estimate, Hardware, Region, Span, Workload, estimate
from .schema import MAX_BATCH, MAX_COUNT, MAX_TOKENS


def build_workload(config: EstimatorConfig, *, profile: str | None = None, tokens_in: Span | None = None,
                   tokens_out: Span | None = None, count: int | None = None,
                   batch_size: int | None = None) -> tuple[Workload, list[str]]:
    notes: list[str] = []
    base: Workload | None = None
    if profile is not None or tokens_in is None or tokens_out is None:
        base = config.profile(profile)
        if profile is None:
            missing = " and ".join(n for n, v in (("input", tokens_in), ("output", tokens_out)) if v is None)
            notes.append(f"{missing} tokens from the default profile {base.profile!r}")
    for name, span in (("input tokens", tokens_in), ("output tokens", tokens_out)):
        if span is not None and not (0 <= span.low and span.high <= MAX_TOKENS):
            raise ConfigError(f"{name} must be between 0 and {MAX_TOKENS:,} per request, got {span.value:g}")
    if count is not None and not 1 <= count <= MAX_COUNT:
        raise ConfigError(f"count must be between 1 and {MAX_COUNT:.0e} requests, got {count!r}")
    if batch_size is not None and not 1 <= batch_size <= MAX_BATCH:
        raise ConfigError(f"batch size must be between 1 and {MAX_BATCH}, got {batch_size!r}")
    workload = Workload(
        tokens_in=tokens_in or base.tokens_in,     # type: ignore[union-attr]
        tokens_out=tokens_out or base.tokens_out,  # type: ignore[union-attr]
        count=count if count is not None else (base.count if base and profile is not None else 1),
        batch_size=batch_size if batch_size is not None else (base.batch_size if base else 1),
        profile=base.profile if base and profile is not None else None,
        description=base.description if base and profile is not None else "",
    )
    return workload, notes


def check_pue(pue: float) -> float:
    if not 1.0 <= pue <= 5.0:
        raise ConfigError(f"PUE must be between 1.0 and 5.0 (1.0 = no facility overhead), got {pue!r}")
    return float(pue)


def with_pue(datacenter: Datacenter, pue: float | None) -> Datacenter:
    if pue is None:
        return datacenter
    return replace(datacenter, pue=Span.point(check_pue(pue), "given PUE"))


def resolve(config: EstimatorConfig, *, region: str | None = None, hardware: str | Hardware | None = None,
            datacenter: str | None = None, pue: float | None = None) -> tuple[Hardware, Region, Datacenter]:
    hw = hardware if isinstance(hardware, Hardware) else config.hardware_profile(hardware)
    grid = config.region(region)
    return hw, grid, with_pue(config.datacenter(datacenter, hw, grid), pue)


def run_estimate(config: EstimatorConfig, workload: Workload, notes: list[str], *, region: str | None = None,
                 hardware: str | Hardware | None = None, datacenter: str | None = None,
                 pue: float | None = None) -> Estimate:
    hw, grid, facility = resolve(config, region=region, hardware=hardware, datacenter=datacenter, pue=pue)
    notes = list(notes) + list(config.notes)
    if region is None:
        notes.append(f"region: the default {grid.key!r}")
    if datacenter is None and pue is None:
        why = (f"the usual facility of {hw.key}" if hw.datacenter else
               f"the facility given with region {grid.key}" if grid.datacenter else "the default")
        notes.append(f"datacenter: {why} {facility.key!r} (PUE {facility.pue.value:g})")
    return estimate(workload, hw, grid, facility, notes=tuple(notes))
