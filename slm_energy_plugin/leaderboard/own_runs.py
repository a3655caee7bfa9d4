"""This project's measured models on the leaderboard's chart, and how far they sit from its trend.

A run's energy per million output tokens comes from the decode protocol when the run measured
it (``--energy-decode-protocol``: LLM-Perf's batch-1, 256-in, 64-new protocol; decode energy
only, like the leaderboard), else from the queries (total energy / output tokens, which also
charges prefill). The trend is the fit of the nearest hardware class: a CPU run -> the
leaderboard's CPU class (e.g. 32vCPU), a GPU run -> the panel named like its GPU, else the
across-hardware fit; the class used is always stated. Pure (takes loaded ModelRuns).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..results.records import ModelRun, combine_provenance
from .analysis import ACROSS, Analysis, PanelFit
from .readers import hardware_from_name

METRIC = "energy_kwh_per_mtok"
DECODE_BASIS = "decode protocol (LLM-Perf: batch 1, 256 in, 64 new; decode energy)"
QUERY_BASIS = "queries (total energy / output tokens; includes prefill)"


@dataclass(frozen=True)
class OwnPoint:
    alias: str
    model_id: str
    device: str
    params_b: float | None
    value: float | None              # kWh per 1M output tokens
    basis: str
    provenance: str                  # measured / estimated / mixed / none
    hardware_class: str | None       # the panel whose trend was used
    class_reason: str
    residual_log10: float | None = None
    in_range: bool | None = None     # inside the fitted panel's parameter range?
    note: str | None = None

    @property
    def factor(self) -> float | None:
        return None if self.residual_log10 is None else 10.0 ** self.residual_log10

    @property
    def estimated(self) -> bool:
        return self.provenance in ("estimated", "mixed")


def _decode_protocol(run: ModelRun) -> Mapping[str, Any] | None:
    protocol = run.performance.get("decode_protocol")
    return protocol if isinstance(protocol, Mapping) else None


def _protocol_provenance(protocol: Mapping[str, Any]) -> str:
    kinds = []
    for phase in ("prefill", "generate"):
        part = protocol.get(phase)
        energy = part.get("energy") if isinstance(part, Mapping) else None
        if isinstance(energy, Mapping):
            kinds.append(str(energy.get("provenance", "none")))
    return combine_provenance(kinds)


def energy_per_million_tokens(run: ModelRun) -> tuple[float | None, str, str, str | None]:
    """(kWh per 1M output tokens or None, basis, provenance, note)."""
    note = None
    protocol = _decode_protocol(run)
    if protocol is not None:
        per_token = protocol.get("decode_kwh_per_token")
        if isinstance(per_token, (int, float)) and per_token > 0:
            return float(per_token) * 1e6, DECODE_BASIS, _protocol_provenance(protocol), None
        # decode = generate - prefill can come out <= 0 when the two windows are too short for the meter.
        note = "the decode protocol's decode energy was not positive; the queries' energy is used instead"
    # Per round on both sides (a record's energy and tokens are per round), errors left out.
    used = [r for r in run.records if r.energy_kwh is not None and r.outcome != "error" and r.tokens_output > 0]
    tokens = sum(r.tokens_output for r in used)
    kwh = sum(r.energy_kwh or 0.0 for r in used)
    provenance = combine_provenance(r.energy.provenance for r in used if r.energy is not None)
    if not used or tokens == 0 or not kwh > 0:
        return None, QUERY_BASIS, provenance, note
    return kwh / tokens * 1e6, QUERY_BASIS, provenance, note


def _gpu_name(run: ModelRun) -> str:
    for source in (run.meter, run.machine):
        value: Any = source.get("gpu_model")
        if value:
            return str(value)
    return ""


def nearest_panel(run: ModelRun, analysis: Analysis) -> tuple[PanelFit | None, str]:
    """The energy panel to compare with, and why it was chosen."""
    panels = [p for p in analysis.panels if p.metric == METRIC and p.fit is not None]
    per_hardware = [p for p in panels if p.hardware != ACROSS]
    across = next((p for p in panels if p.hardware == ACROSS), None)
    device = run.info.device.lower()
    if device.startswith("cpu"):
        cpu = [p for p in per_hardware if "cpu" in p.hardware.lower()]
        if cpu:
            return cpu[0], f"CPU run -> the leaderboard's CPU class {cpu[0].hardware}"
        wanted = "CPU"
    else:
        gpu = _gpu_name(run)
        label = hardware_from_name(gpu) if gpu else None
        match = [p for p in per_hardware if label is not None and p.hardware == label]
        if match:
            return match[0], f"GPU {gpu} -> {match[0].hardware}"
        wanted = gpu or device
    if across is not None:
        return across, f"no {wanted} class in the leaderboard files -> the across-hardware trend"
    if per_hardware:
        return per_hardware[0], f"no {wanted} class and no across-hardware fit -> {per_hardware[0].hardware}"
    return None, "no energy fit to compare with"


def place_runs(runs: Sequence[ModelRun], analysis: Analysis) -> tuple[OwnPoint, ...]:
    placed = []
    for run in runs:
        value, basis, provenance, basis_note = energy_per_million_tokens(run)
        params = run.info.parameters
        params_b = params / 1e9 if isinstance(params, (int, float)) and params > 0 else None
        panel, reason = nearest_panel(run, analysis)
        residual = in_range = None
        note = None
        if value is None:
            note = "no energy per output token in this run"
        elif params_b is None:
            note = "no parameter count in the run's model_info"
        elif panel is not None and panel.fit is not None:
            residual = math.log10(value) - panel.fit.predict_log10(params_b)
            low, high = panel.fit.x_range
            in_range = low <= params_b <= high
            if not in_range:
                note = (f"{params_b:.3g} B is outside the fitted range {low:.3g}-{high:.3g} B: "
                        "the residual extrapolates the trend")
        if basis_note is not None:
            note = basis_note if note is None else f"{basis_note}; {note}"
        placed.append(OwnPoint(
            alias=run.alias, model_id=run.info.model_id, device=run.info.device, params_b=params_b,
            value=value, basis=basis, provenance=provenance,
            hardware_class=None if panel is None else panel.hardware, class_reason=reason,
            residual_log10=residual, in_range=in_range, note=note))
    return tuple(placed)
