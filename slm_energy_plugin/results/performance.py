"""A model's cost figures beyond energy: prefill and decode rates, memory, bandwidth use (MBU).

Pure: builds the ``performance`` block of a model's JSON from the figures the measuring role
sent with the model (threads, weight bytes, memory, bandwidth, decode protocol) and from the
query records (per-query time to first token and decode rate, peak memory), and reads it back
(:class:`PerformanceView`). A block of the results file, so it lives in the data layer: the
record builder fills it without importing ``perf/``, which measures the figures it is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from ..medians import median_or_none
from .records import QueryRecord


def mbu(decode_tokens_per_s: float | None, bytes_per_token: int | None, bandwidth_gb_per_s: float | None) -> float | None:
    """Model-bandwidth utilisation as a fraction (0.5 = 50 %); None when a figure is missing.

    Decode tokens/s x bytes read per token / memory bandwidth (how bandwidth is measured, and
    why decoding is bounded by it: :mod:`slm_energy_plugin.perf.bandwidth`).
    """
    if not decode_tokens_per_s or not bytes_per_token or not bandwidth_gb_per_s:
        return None
    return decode_tokens_per_s * bytes_per_token / (bandwidth_gb_per_s * 1e9)


def _maximum(values: Iterable[float | None]) -> float | None:
    present = [float(v) for v in values if v is not None]
    return max(present) if present else None


def query_rates(records: Iterable[QueryRecord]) -> dict[str, Any]:
    """Medians over the queries that generated: prefill from time to first token, decode from the rest."""
    generated = [r for r in records if r.outcome != "error" and r.ttft_s]
    return {
        "queries": len(generated),
        "ttft_s_median": median_or_none(r.ttft_s for r in generated),
        "prefill_tokens_per_s_median": median_or_none(r.tokens_input / r.ttft_s for r in generated if r.ttft_s),
        "decode_s_median": median_or_none(r.decode_s for r in generated),
        "decode_tokens_per_s_median": median_or_none(r.extra.get("decode_tokens_per_s") for r in generated),
    }


def model_performance(sent: Mapping[str, Any] | None, records: Iterable[QueryRecord]) -> dict[str, Any]:
    """The ``performance`` block: what was sent with the model plus figures derived from its queries."""
    records = list(records)
    if not sent and not records:
        return {}
    block: dict[str, Any] = dict(sent or {})
    rates = query_rates(records)
    memory = dict(block.get("memory") or {})
    memory["run_peak_rss_mb"] = _maximum(r.extra.get("peak_rss_mb") for r in records)
    memory["run_cuda_max_allocated_mb"] = _maximum(r.extra.get("cuda_max_allocated_mb") for r in records)
    if memory.get("rss_before_load_mb") is not None and memory["run_peak_rss_mb"] is not None:
        memory["run_peak_growth_mb"] = memory["run_peak_rss_mb"] - memory["rss_before_load_mb"]
    block["memory"] = memory
    block["query_rates"] = rates
    bandwidth = (block.get("bandwidth") or {}).get("gb_per_s")
    per_token = block.get("decode_bytes_per_token")
    protocol = block.get("decode_protocol") or {}
    block["mbu"] = {
        "queries": mbu(rates["decode_tokens_per_s_median"], per_token, bandwidth),
        "decode_protocol": mbu(protocol.get("decode_tokens_per_s"), per_token, bandwidth),
        "definition": "decode tokens/s x weight bytes read per token / memory bandwidth (copy benchmark)",
    }
    return block


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class PerformanceView:
    """The ``performance`` block as readers use it: typed figures, read in one place.

    The block stays a JSON object in the files (older files lack fields, newer ones may add some);
    this view is what the renderers read, so a missing or mistyped figure becomes None here once,
    not a ``.get()`` chain at every use.
    """

    torch_threads: float | None = None
    weight_bytes: float | None = None
    prefill_tokens_per_s: float | None = None       # median over the queries
    decode_tokens_per_s: float | None = None        # median over the queries
    mbu_queries: float | None = None
    mbu_protocol: float | None = None
    load_rss_growth_mb: float | None = None
    peak_rss_mb: float | None = None                # over the queries, else over the load
    cuda_peak_mb: float | None = None
    bandwidth: Mapping[str, Any] = field(default_factory=dict)       # perf/bandwidth.py's figures
    decode_protocol: Mapping[str, Any] = field(default_factory=dict)  # perf/decode_protocol.py's
    load: Mapping[str, Any] = field(default_factory=dict)             # a load level (roles/load_run.py)

    @classmethod
    def from_block(cls, block: Mapping[str, Any] | None) -> "PerformanceView":
        block = _mapping(block)
        rates, memory, mbu_figures = (_mapping(block.get(k)) for k in ("query_rates", "memory", "mbu"))
        return cls(
            torch_threads=_number(block.get("torch_threads")),
            weight_bytes=_number(block.get("weight_bytes")),
            prefill_tokens_per_s=_number(rates.get("prefill_tokens_per_s_median")),
            decode_tokens_per_s=_number(rates.get("decode_tokens_per_s_median")),
            mbu_queries=_number(mbu_figures.get("queries")),
            mbu_protocol=_number(mbu_figures.get("decode_protocol")),
            load_rss_growth_mb=_number(memory.get("load_rss_growth_mb")),
            peak_rss_mb=_number(memory.get("run_peak_rss_mb")) or _number(memory.get("load_peak_rss_mb")),
            cuda_peak_mb=_number(memory.get("run_cuda_max_allocated_mb")),
            bandwidth=_mapping(block.get("bandwidth")),
            decode_protocol=_mapping(block.get("decode_protocol")),
            load=_mapping(block.get("load")),
        )
