"""Fit a model's throughputs and power from the suite's own measured records.

Pure (numpy/scipy, no I/O). Least squares on per-query figures:

    duration_s      ~ tokens_in / prefill_tps + tokens_out / decode_tps   (non-negative LS, no intercept,
                                                                           on relative residuals)
    energy_J (per component) ~ power_W x duration_s                       (LS through the origin)

Timing jitter grows with the length of a query, so the duration fit minimises relative
residuals (weights 1/duration); that keeps long answers from drowning the input-token signal.

so the fitted model is exactly the estimator's (:mod:`.formulas`) with utilisation 1 and the
measured average power per component. Fit quality is reported as R^2 (centred, so a fit through
the origin is not flattered), RMSE and the largest residuals; and the result says whether the
energies it rests on came from hardware counters or were estimated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
from scipy.optimize import nnls

from ..energy.reading import COMPONENTS
from ..errors import SlmEnergyError
from ..results.records import ModelRun, QueryRecord, combine_provenance
from ..energy.units import J_PER_KWH
from .formulas import Hardware, Span

MIN_RECORDS = 3
# Below this R^2 the duration fit explains too little of the measured times for its throughputs
# to mean anything: calibration refuses (``--min-r2`` lowers the bar knowingly).
MIN_TIME_R2 = 0.5
# A fitted throughput this many times off the one read from the timed phases (TTFT, decode
# time) is reported as a warning beside the estimate.
MAX_CROSSCHECK_RATIO = 2.0


@dataclass(frozen=True)
class Sample:
    """One query's figures, per round."""

    tokens_in: int
    tokens_out: int
    duration_s: float
    energy_j: dict[str, float]          # per component with a figure
    provenance: str = "none"            # measured / estimated / mixed / none
    methods: dict[str, str] = field(default_factory=dict)
    ttft_s: float | None = None
    decode_s: float | None = None


@dataclass(frozen=True)
class FitQuality:
    n: int
    r2: float | None           # None when the measured values do not vary
    rmse: float
    max_abs_residual: float
    median_abs_rel_residual: float | None
    unit: str

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "r2": self.r2, "rmse": self.rmse, "max_abs_residual": self.max_abs_residual,
                "median_abs_rel_residual": self.median_abs_rel_residual, "unit": self.unit}

    def describe(self) -> str:
        r2 = "n/a (no variation)" if self.r2 is None else f"{self.r2:.4f}"
        rel = "" if self.median_abs_rel_residual is None else f", median |residual| {self.median_abs_rel_residual:.1%}"
        return (f"R^2 {r2}, RMSE {self.rmse:.4g} {self.unit}, "
                f"max |residual| {self.max_abs_residual:.4g} {self.unit}{rel} (n={self.n})")


@dataclass(frozen=True)
class Calibration:
    model: str
    run_id: str
    prefill_tokens_per_s: float
    decode_tokens_per_s: float
    power_w: dict[str, float]           # average power per component while answering
    time_fit: FitQuality                # duration vs tokens
    power_fit: FitQuality               # energy vs duration
    energy_fit: FitQuality              # energy vs tokens, through the whole fitted model
    n_used: int
    skipped: dict[str, int]             # reason -> count
    provenance: str
    methods: dict[str, list[str]]       # component -> method labels seen
    prefill_rel_se: float | None = None   # relative standard error of the fitted throughput
    decode_rel_se: float | None = None
    ttft_prefill_tokens_per_s: float | None = None   # cross-check from time to first token
    ttft_decode_tokens_per_s: float | None = None    # cross-check from decode time
    run_folder: str = ""                             # where the run was read from, to name it by

    @property
    def run_name(self) -> str:
        """The run as a user finds it: its folder, else its id."""
        return self.run_folder or self.run_id or "?"

    def warnings(self) -> list[str]:
        """Fitted throughputs far from the ones the timed phases give."""
        found = []
        for phase, fitted, crosscheck, basis in (
                ("prefill", self.prefill_tokens_per_s, self.ttft_prefill_tokens_per_s, "TTFT"),
                ("decode", self.decode_tokens_per_s, self.ttft_decode_tokens_per_s, "decode time")):
            if crosscheck is None or crosscheck <= 0 or fitted <= 0:
                continue
            ratio = max(fitted / crosscheck, crosscheck / fitted)
            if ratio > MAX_CROSSCHECK_RATIO:
                found.append(f"{self.run_name}: model {self.model}: fitted {phase} throughput {fitted:,.4g} tokens/s "
                             f"is {ratio:.1f}x off the {crosscheck:,.4g} tokens/s its {basis} gives")
        return found

    def refusal(self, min_r2: float = MIN_TIME_R2) -> str | None:
        """Why this calibration must not be used, or None."""
        r2 = self.time_fit.r2
        if r2 is not None and r2 < min_r2:
            return (f"{self.run_name}: model {self.model}: the time fit explains too little of the measured "
                    f"durations (R^2 {r2:.2f} < {min_r2:g}), so its throughputs would be guesses; measure "
                    "queries of varied prompt and answer lengths on a quiet machine, or pass --min-r2 "
                    f"{max(round(r2, 2) - 0.01, -1.0):g} to use this fit anyway")
        return None

    @property
    def total_power_w(self) -> float:
        return sum(self.power_w.values())

    def provenance_sentence(self) -> str:
        labels = "; ".join(f"{c}: {', '.join(m)}" for c, m in sorted(self.methods.items()))
        if self.provenance == "measured":
            how = "were read from hardware energy counters"
        elif self.provenance == "estimated":
            how = ("were ESTIMATED by the meter (from CPU load, TDP tables or constants), not read from hardware "
                   "counters, so the fitted power is only as good as that estimate")
        elif self.provenance == "mixed":
            how = "are partly measured by hardware counters and partly estimated"
        else:
            how = "are missing"
        return f"The energies this calibration rests on {how} ({labels or 'no method labels'})."

    def hardware(self, key: str | None = None) -> Hardware:
        """A hardware profile the estimator can use: measured power at utilisation 1."""
        where = f"calibrated from run {self.run_name}, model {self.model}, {self.n_used} queries"
        power_source = f"{where}; energy {self.provenance}"

        def point(value: float, source: str) -> Span:
            return Span.point(float(value), source)
        return Hardware(
            key=key or f"calibrated:{self.model}",
            name=f"{self.model} as measured (run {self.run_name})",
            gpu_power_w=point(self.power_w.get("gpu", 0.0), power_source),
            gpu_util=point(1.0, "measured power is already the average draw"),
            cpu_power_w=point(self.power_w.get("cpu", 0.0), power_source),
            cpu_util=point(1.0, "measured power is already the average draw"),
            ram_power_w=point(self.power_w.get("ram", 0.0), power_source),
            prefill_tokens_per_s=point(self.prefill_tokens_per_s, f"{where}; time fit {self.time_fit.describe()}"),
            decode_tokens_per_s=point(self.decode_tokens_per_s, f"{where}; time fit {self.time_fit.describe()}"),
            gpu_count=1,
            notes=f"{self.provenance_sentence()} Throughputs include per-query overheads of the measured window.",
            datacenter=None,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "run_id": self.run_id, "run_folder": self.run_folder,
            "warnings": self.warnings(),
            "prefill_tokens_per_s": self.prefill_tokens_per_s, "decode_tokens_per_s": self.decode_tokens_per_s,
            "prefill_rel_se": self.prefill_rel_se, "decode_rel_se": self.decode_rel_se,
            "power_w": dict(self.power_w), "total_power_w": self.total_power_w,
            "time_fit": self.time_fit.to_dict(), "power_fit": self.power_fit.to_dict(),
            "energy_fit": self.energy_fit.to_dict(),
            "n_used": self.n_used, "skipped": dict(self.skipped),
            "energy_provenance": self.provenance, "energy_methods": {k: list(v) for k, v in self.methods.items()},
            "provenance_note": self.provenance_sentence(),
            "crosscheck": {"prefill_tokens_per_s_from_ttft": self.ttft_prefill_tokens_per_s,
                           "decode_tokens_per_s_from_decode_time": self.ttft_decode_tokens_per_s},
            "method": ("non-negative least squares of duration_s on (tokens_in, tokens_out) without intercept, "
                       "weighted by 1/duration_s (relative residuals); "
                       "per-component energy_J = power_W x duration_s by least squares through the origin; "
                       "R^2 is centred"),
        }


def samples_from_run(run: ModelRun) -> tuple[list[Sample], dict[str, int]]:
    """Usable per-query samples and, for the rest, why they were left out."""
    samples: list[Sample] = []
    skipped: dict[str, int] = {}

    def skip(reason: str) -> None:
        skipped[reason] = skipped.get(reason, 0) + 1

    for record in run.records:
        reason = _unusable(record)
        if reason:
            skip(reason)
            continue
        energy = record.energy
        assert energy is not None
        parts = {c: float(v) * J_PER_KWH for c in COMPONENTS if (v := energy.component_kwh(c)) is not None}
        samples.append(Sample(record.tokens_input, record.tokens_output, record.duration_s, parts,
                              energy.provenance, dict(energy.methods), record.ttft_s, record.decode_s))
    return samples, skipped


def _unusable(record: QueryRecord) -> str | None:
    if record.outcome == "error":
        return "errored"
    if record.energy is None or record.energy.total_kwh is None:
        return "no energy figure"
    if not (record.duration_s > 0 and math.isfinite(record.duration_s)):
        return "no duration"
    if record.tokens_output <= 0 and record.tokens_input <= 0:
        return "no tokens"
    return None


def fit_quality(measured: np.ndarray, predicted: np.ndarray, unit: str) -> FitQuality:
    residuals = measured - predicted
    ss_res = float(np.sum(residuals ** 2))
    ss_tot = float(np.sum((measured - measured.mean()) ** 2))
    r2 = None if ss_tot <= 1e-300 else 1.0 - ss_res / ss_tot
    nonzero = measured != 0
    rel = np.abs(residuals[nonzero] / measured[nonzero])
    return FitQuality(
        n=int(measured.size), r2=r2, rmse=math.sqrt(ss_res / measured.size),
        max_abs_residual=float(np.max(np.abs(residuals))),
        median_abs_rel_residual=float(np.median(rel)) if rel.size else None, unit=unit,
    )


def _origin_slope(x: np.ndarray, y: np.ndarray) -> float:
    denominator = float(np.dot(x, x))
    return float(np.dot(x, y)) / denominator if denominator > 0 else 0.0


def calibrate(samples: Sequence[Sample], model: str, run_id: str = "",
              skipped: dict[str, int] | None = None, run_folder: str = "") -> Calibration:
    """Fit throughputs and per-component power; raise with a reason when the data cannot."""
    n = len(samples)
    if n < MIN_RECORDS:
        raise SlmEnergyError(f"model {model!r}: {n} usable queries with energy figures; calibration needs at "
                             f"least {MIN_RECORDS} (skipped: {_reasons(skipped)})")
    tokens = np.array([[s.tokens_in, s.tokens_out] for s in samples], dtype=float)
    duration = np.array([s.duration_s for s in samples], dtype=float)
    if np.linalg.matrix_rank(tokens) < 2:
        raise SlmEnergyError(
            f"model {model!r}: input and output token counts are proportional across all {n} queries, so "
            "prefill and decode time cannot be told apart; run queries of varied prompt and answer lengths")
    # Relative residuals: divide each row by its duration. Scale columns so the solver sees
    # comparable magnitudes, then undo the scaling.
    weighted = tokens / duration[:, None]
    scale = weighted.max(axis=0)
    coef, _ = nnls(weighted / scale, np.ones(n))
    seconds_per_token = coef / scale
    if np.any(seconds_per_token <= 0):
        which = "input" if seconds_per_token[0] <= 0 else "output"
        raise SlmEnergyError(
            f"model {model!r}: the fit gives no time to {which} tokens (their counts barely vary or do not "
            "explain the durations); run queries of varied prompt and answer lengths")
    predicted_time = tokens @ seconds_per_token
    rel_se = _relative_standard_errors(weighted, seconds_per_token)
    power = {c: max(0.0, _origin_slope(duration, np.array([s.energy_j.get(c, 0.0) for s in samples])))
             for c in COMPONENTS if any(c in s.energy_j for s in samples)}
    energy = np.array([sum(s.energy_j.values()) for s in samples])
    total_power = sum(power.values())
    methods: dict[str, set[str]] = {}
    for sample in samples:
        for component, method in sample.methods.items():
            methods.setdefault(component, set()).add(method)
    prefill_x, decode_x = _phase_crosscheck(samples)
    return Calibration(
        model=model, run_id=run_id,
        prefill_tokens_per_s=float(1.0 / seconds_per_token[0]), decode_tokens_per_s=float(1.0 / seconds_per_token[1]),
        power_w=power,
        time_fit=fit_quality(duration, predicted_time, "s"),
        power_fit=fit_quality(energy, total_power * duration, "J"),
        energy_fit=fit_quality(energy, total_power * predicted_time, "J"),
        n_used=n, skipped=dict(skipped or {}),
        provenance=combine_provenance(s.provenance for s in samples),
        methods={c: sorted(m) for c, m in methods.items()},
        prefill_rel_se=rel_se[0], decode_rel_se=rel_se[1],
        ttft_prefill_tokens_per_s=prefill_x, ttft_decode_tokens_per_s=decode_x, run_folder=run_folder,
    )


def _relative_standard_errors(weighted: np.ndarray, coef: np.ndarray) -> tuple[float | None, float | None]:
    """Standard error of each coefficient over its value (the same for the throughput 1/coef)."""
    n = weighted.shape[0]
    if n <= 2:
        return None, None
    residuals = 1.0 - weighted @ coef
    sigma2 = float(residuals @ residuals) / (n - 2)
    try:
        cov = sigma2 * np.linalg.inv(weighted.T @ weighted)
    except np.linalg.LinAlgError:
        return None, None
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return float(se[0] / coef[0]), float(se[1] / coef[1])


def _phase_crosscheck(samples: Iterable[Sample]) -> tuple[float | None, float | None]:
    """Throughputs from the timed phases alone: TTFT vs input tokens, decode time vs later tokens."""
    timed = [s for s in samples if s.ttft_s is not None and s.decode_s is not None]
    if len(timed) < MIN_RECORDS:
        return None, None
    tokens_in = np.array([s.tokens_in for s in timed], dtype=float)
    later_tokens = np.array([max(s.tokens_out - 1, 0) for s in timed], dtype=float)
    ttft = np.array([s.ttft_s for s in timed], dtype=float)
    decode = np.array([s.decode_s for s in timed], dtype=float)
    a = _origin_slope(tokens_in, ttft)
    b = _origin_slope(later_tokens, decode)
    return (1.0 / a if a > 0 else None), (1.0 / b if b > 0 else None)


def _reasons(skipped: dict[str, int] | None) -> str:
    return ", ".join(f"{count} {reason}" for reason, count in sorted((skipped or {}).items())) or "none"


def calibrate_run(runs: Sequence[ModelRun], model: str, run_folder: str = "") -> Calibration:
    """Calibrate the named model (alias) from loaded runs (read from ``run_folder``, named by it)."""
    matching = [run for run in runs if run.alias == model]
    if not matching:
        known = ", ".join(sorted({run.alias for run in runs})) or "none"
        raise SlmEnergyError(f"no model {model!r} in the run (models there: {known}); pass --model with one of them")
    samples: list[Sample] = []
    skipped: dict[str, int] = {}
    for run in matching:
        found, left_out = samples_from_run(run)
        samples.extend(found)
        for reason, count in left_out.items():
            skipped[reason] = skipped.get(reason, 0) + count
    try:
        return calibrate(samples, model, run_id=matching[0].run_id, skipped=skipped, run_folder=run_folder)
    except SlmEnergyError as exc:
        if run_folder:
            raise SlmEnergyError(f"{run_folder}: {exc}") from None
        raise
