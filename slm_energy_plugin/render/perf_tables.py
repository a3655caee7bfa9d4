"""Renders the cost tables of ``--energy-report``: prefill/decode rates, MBU, memory, decode protocol.

Pure: reads each run's ``performance`` block (see :mod:`.performance`) and writes lines.
"""

from __future__ import annotations

import textwrap
from typing import Any, Mapping, Sequence

from tabulate import tabulate

from ..results.performance import PerformanceView
from ..results.records import ModelRun
from ..number_format import num as fmt
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
    views = [(run.alias, PerformanceView.from_block(run.performance)) for run in runs if run.performance]
    if not views:
        return
    rows = [[alias, fmt(v.torch_threads), fmt(v.prefill_tokens_per_s), fmt(v.decode_tokens_per_s),
             _percent(v.mbu_queries), fmt(_mb(v.weight_bytes)), fmt(v.load_rss_growth_mb), fmt(v.peak_rss_mb)]
            for alias, v in views]
    _write(writer, rows, ["model", "thr", "prefill t/s", "decode t/s", "MBU", "weights MB", "load +MB", "peak MB"])
    _say(writer, "Medians per query: prefill t/s = input tokens / time to first token; decode t/s = later "
                      "tokens / their time. MBU = decode t/s x weight bytes read per token / memory bandwidth. "
                      "load +MB: RSS growth over the load; peak MB: peak RSS over load and queries.")
    for line in bandwidth_lines([v.bandwidth for _, v in views if v.bandwidth.get("gb_per_s") is not None]):
        writer.write_line(line)
    for alias, v in views:
        if v.cuda_peak_mb is not None:
            writer.write_line(f"{alias}: CUDA max allocated {fmt(v.cuda_peak_mb)} MB")
    render_protocol(views, writer)


def render_protocol(views: Sequence[tuple[str, PerformanceView]], writer: Any) -> None:
    measured = [(alias, v) for alias, v in views if v.decode_protocol.get("generate")]
    skipped = [(alias, v) for alias, v in views if v.decode_protocol.get("skipped")]
    if not measured and not skipped:
        return
    writer.write_line("")
    rows = []
    for alias, v in measured:
        p = v.decode_protocol
        prefill_j = None if p.get("prefill_kwh") is None else p["prefill_kwh"] * J_PER_KWH
        per_token_j = None if p.get("decode_kwh_per_token") is None else p["decode_kwh_per_token"] * J_PER_KWH
        rows.append([alias, fmt(p.get("prefill_s")), fmt(p.get("decode_tokens_per_s")), fmt(prefill_j),
                     fmt(per_token_j), fmt(p.get("decode_tokens_per_kwh")), _percent(v.mbu_protocol)])
    if rows:
        _write(writer, rows, ["model", "prefill s", "decode t/s", "prefill J", "decode J/t", "tokens/kWh", "MBU"])
        settings = measured[0][1].decode_protocol["settings"]
        iterations = ", ".join(f"{alias} {v.decode_protocol['prefill']['iterations']}+"
                               f"{v.decode_protocol['generate']['iterations']}" for alias, v in measured)
        _say(writer,
            f"Decode protocol (LLM-Perf): batch {settings['batch_size']}, {settings['input_tokens']} random input "
            f"tokens, exactly {settings['new_tokens']} new; decode = generate - prefill (energy and time), "
            f"tokens/kWh = {settings['new_tokens'] - 1} decode tokens / decode energy; {settings['warmup']} "
            f"warm-ups, each target >= {settings['min_seconds']:g} s and >= {settings['min_iterations']} "
            f"iterations (prefill+generate iterations: {iterations}).")
        for alias, v in measured:
            note = v.decode_protocol.get("note")
            if note:
                writer.write_line(f"{alias}: {note}")
    for alias, v in skipped:
        writer.write_line(f"decode protocol skipped for {alias}: {v.decode_protocol['skipped']}")
