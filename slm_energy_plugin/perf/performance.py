"""A model's cost figures beyond energy: prefill and decode rates, memory, bandwidth use (MBU).

Pure: builds the ``performance`` block of a model's JSON from the figures the measuring role
sent with the model (threads, weight bytes, memory, bandwidth, decode protocol) and from the
query records (per-query time to first token and decode rate, peak memory).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from .bandwidth import mbu
from ..results.records import QueryRecord
from ..stats.summary import median_or_none


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
