"""Renders the cost tables of ``--energy-report``: prefill/decode rates, MBU, memory, decode protocol.

Pure: reads each run's ``performance`` block (see :mod:`.performance`) and writes lines.
"""

from __future__ import annotations

import textwrap
from typing import Any, Mapping, Sequence

from tabulate import tabulate

from ..results.records import ModelRun
from .format import num as fmt
from ..energy.units import J_PER_KWH


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _mb(value: float | None) -> float | None:
    return None if value is None else value / 1024**2


def _say(writer: Any, text: str) -> None:
    for line in textwrap.wrap(text, 100):
        writer.write_line(line)


def _write(writer: Any, rows: list[list[Any]], headers: list[str]) -> None:
    for line in tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True).splitlines():
        writer.write_line(line)


def _bandwidth_line(bandwidth: Mapping[str, Any]) -> str:
    if bandwidth.get("method") == "given":
        return f"bandwidth: {bandwidth['gb_per_s']:.1f} GB/s (given with --energy-bandwidth)"
    when = str(bandwidth.get("measured_at") or "")[:10]
    return (f"bandwidth: {bandwidth['gb_per_s']:.1f} GB/s on {bandwidth.get('device', 'cpu')} (copy benchmark, "
            f"best of {bandwidth.get('repeats')}, median {fmt(bandwidth.get('median_gb_per_s'))} GB/s, "
            f"{bandwidth.get('threads')} threads, {when}{', cached' if bandwidth.get('cached') else ''})")


def bandwidth_lines(bandwidths: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per device. Each xdist worker measures its own bandwidth (a little different
    each time): their figures are said once, as a range, not once per worker."""
    by_device: dict[str, list[Mapping[str, Any]]] = {}
    for bandwidth in bandwidths:
        key = "given" if bandwidth.get("method") == "given" else str(bandwidth.get("device", "cpu"))
        by_device.setdefault(key, []).append(bandwidth)
    lines = []
    for group in by_device.values():
        distinct = {_bandwidth_line(b): b for b in group}
        if len(distinct) == 1:
            lines += list(distinct)
            continue
        values = sorted(float(b["gb_per_s"]) for b in distinct.values())
        first = next(iter(distinct.values()))
        lines.append(f"bandwidth: {values[0]:.1f} to {values[-1]:.1f} GB/s on {first.get('device', 'cpu')} "
                     f"(copy benchmark in each of {len(distinct)} worker processes, best of "
                     f"{first.get('repeats')}; each model's MBU uses the figure stored with it)")
    return sorted(lines)


def render_performance(runs: Sequence[ModelRun], writer: Any) -> None:
    """Per model: what prefill and decode run at, how close decode gets to the memory limit, memory."""
    with_perf = [run for run in runs if run.performance]
    if not with_perf:
        return
    rows = []
    for run in with_perf:
        perf = run.performance
        rates = perf.get("query_rates") or {}
        memory = perf.get("memory") or {}
        peak = memory.get("run_peak_rss_mb") or memory.get("load_peak_rss_mb")
        rows.append([run.alias, fmt(perf.get("torch_threads")), fmt(rates.get("prefill_tokens_per_s_median")),
                     fmt(rates.get("decode_tokens_per_s_median")), _percent((perf.get("mbu") or {}).get("queries")),
                     fmt(_mb(perf.get("weight_bytes"))), fmt(memory.get("load_rss_growth_mb")), fmt(peak)])
    _write(writer, rows, ["model", "thr", "prefill t/s", "decode t/s", "MBU", "weights MB", "load +MB", "peak MB"])
    _say(writer, "Medians per query: prefill t/s = input tokens / time to first token; decode t/s = later "
                      "tokens / their time. MBU = decode t/s x weight bytes read per token / memory bandwidth. "
                      "load +MB: RSS growth over the load; peak MB: peak RSS over load and queries.")
    for line in bandwidth_lines([run.performance["bandwidth"] for run in with_perf
                                 if run.performance.get("bandwidth")]):
        writer.write_line(line)
    cuda = [(run.alias, (run.performance.get("memory") or {}).get("run_cuda_max_allocated_mb")) for run in with_perf]
    for alias, peak in cuda:
        if peak is not None:
            writer.write_line(f"{alias}: CUDA max allocated {fmt(peak)} MB")
    render_protocol(with_perf, writer)


def render_protocol(runs: Sequence[ModelRun], writer: Any) -> None:
    measured = [run for run in runs if (run.performance.get("decode_protocol") or {}).get("generate")]
    skipped = [run for run in runs if (run.performance.get("decode_protocol") or {}).get("skipped")]
    if not measured and not skipped:
        return
    writer.write_line("")
    rows = []
    for run in measured:
        p = run.performance["decode_protocol"]
        prefill_j = None if p.get("prefill_kwh") is None else p["prefill_kwh"] * J_PER_KWH
        per_token_j = None if p.get("decode_kwh_per_token") is None else p["decode_kwh_per_token"] * J_PER_KWH
        rows.append([run.alias, fmt(p.get("prefill_s")), fmt(p.get("decode_tokens_per_s")), fmt(prefill_j),
                     fmt(per_token_j), fmt(p.get("decode_tokens_per_kwh")),
                     _percent((run.performance.get("mbu") or {}).get("decode_protocol"))])
    if rows:
        _write(writer, rows, ["model", "prefill s", "decode t/s", "prefill J", "decode J/t", "tokens/kWh", "MBU"])
        settings = measured[0].performance["decode_protocol"]["settings"]
        iterations = ", ".join(
            f"{run.alias} {run.performance['decode_protocol']['prefill']['iterations']}+"
            f"{run.performance['decode_protocol']['generate']['iterations']}" for run in measured)
        _say(writer,
            f"Decode protocol (LLM-Perf): batch {settings['batch_size']}, {settings['input_tokens']} random input "
            f"tokens, exactly {settings['new_tokens']} new; decode = generate - prefill (energy and time), "
            f"tokens/kWh = {settings['new_tokens'] - 1} decode tokens / decode energy; {settings['warmup']} "
            f"warm-ups, each target >= {settings['min_seconds']:g} s and >= {settings['min_iterations']} "
            f"iterations (prefill+generate iterations: {iterations}).")
        for run in measured:
            note = run.performance["decode_protocol"].get("note")
            if note:
                writer.write_line(f"{run.alias}: {note}")
    for run in skipped:
        writer.write_line(f"decode protocol skipped for {run.alias}: {run.performance['decode_protocol']['skipped']}")
