"""Re-project measured runs' emissions to another grid and PUE.

Pure. A run records energy (kWh per component) and the carbon context it was converted
with; emissions elsewhere are the same energy x the new PUE x the new grid intensity. The
energy figures and their method labels are untouched: only the conversion changes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from ..energy.intensity import CarbonContext
from ..errors import SlmEnergyError
from ..results.records import LoadRecord, ModelRun, QueryRecord
from .formulas import Region

REPROJECTED_KEY = "reprojected_from"


def carbon_context_for(region: Region, pue: float) -> CarbonContext:
    """The run-file form of a region: what :func:`reproject` needs."""
    return CarbonContext(
        country_iso_code=region.iso_code or region.key.upper(), country_name=region.name,
        intensity_g_per_kwh=region.intensity_g_per_kwh.value, source=region.source,
        year=region.year, pue=float(pue),
    )


def default_pue(runs: Sequence[ModelRun]) -> float:
    """The runs' own PUE when they all agree, else 1.0 (no datacenter overhead)."""
    originals = {run.carbon.pue for run in runs if run.carbon is not None}
    return originals.pop() if len(originals) == 1 else 1.0


def _emissions(energy_kwh: float | None, old_kg: float | None, old: CarbonContext | None,
               new: CarbonContext, what: str) -> float | None:
    if energy_kwh is not None:
        return new.emissions_kg(energy_kwh)
    if old_kg is None:
        return None
    # No energy recorded (a seed-format file): scale by the conversion factors if we know the old one.
    if old is not None and old.intensity_g_per_kwh > 0:
        return old_kg * (new.pue * new.intensity_g_per_kwh) / (old.pue * old.intensity_g_per_kwh)
    raise SlmEnergyError(f"{what}: records emissions but neither its energy nor the grid intensity it was "
                         "computed with, so it cannot be re-projected (seed-format files lack both)")


def reproject(runs: Sequence[ModelRun], carbon_context: CarbonContext) -> list[ModelRun]:
    """The same runs with every emissions figure recomputed for ``carbon_context``.

    Each returned run carries the new context in ``carbon`` and the one it replaced in
    ``extra['reprojected_from']`` (None when the original did not record one).
    """
    return [_reproject_run(run, carbon_context) for run in runs]


def _reproject_run(run: ModelRun, new: CarbonContext) -> ModelRun:
    old = run.carbon

    def record(r: QueryRecord) -> QueryRecord:
        what = f"model {run.alias!r}, query {r.query_id}"
        return replace(r, emissions_kg=_emissions(r.energy_kwh, r.emissions_kg, old, new, what))

    def load(item: LoadRecord) -> LoadRecord:
        energy = None if item.energy is None else item.energy.total_kwh
        return replace(item, emissions_kg=_emissions(energy, item.emissions_kg, old, new,
                                                     f"model {run.alias!r}, model load"))

    extra = dict(run.extra)
    # Keep the first original when re-projecting a re-projection.
    extra.setdefault(REPROJECTED_KEY, None if old is None else old.to_dict())
    return replace(run, records=tuple(record(r) for r in run.records), loads=tuple(load(i) for i in run.loads),
                   carbon=new, extra=extra)
