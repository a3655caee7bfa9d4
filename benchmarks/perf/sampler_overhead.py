"""Sampler overhead: generation throughput with the utilisation sampler running and without, same run.

One model (default tiny-qwen2: short windows, the harshest case for a per-window thread; gpt2@random
gives the real gpt2 shape's cost), one prompt, greedy,
exactly --tokens new tokens. Each pair runs one generation with a sampler window open around it (as
``slm.ask`` does: the thread starts before generate and is joined after) and one without, the order
alternating pair by pair so drift lands on both. Throughput = tokens / seconds of the whole window
(thread start and join included). Prints total throughput each way, their ratio (goal >= 0.99),
the median of the per-pair ratios, and the samples taken.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/perf/sampler_overhead.py [--model tiny-qwen2] [--hz 10]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from slm_energy_plugin.backends.registry import load_registry, select_models
from slm_energy_plugin.backends.tiny import ensure_tiny
from slm_energy_plugin.backends.transformers_runtime import load_model
from slm_energy_plugin.perf.sampler import UtilisationSampler

PROMPT = "What is 144 divided by 12?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny-qwen2")
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--hz", type=float, default=10.0)
    args = parser.parse_args(argv)

    [spec] = select_models((args.model,), load_registry(), Path.cwd(), args.tokens)
    local = ensure_tiny(spec.alias, str(spec.tiny)) if spec.source == "tiny" else None
    model = load_model(spec, local)
    sampler = UtilisationSampler(args.hz)
    for _ in range(3):
        model.generate(PROMPT, args.tokens, args.tokens)          # warm-up

    def run(with_sampler: bool) -> tuple[float, int, int]:
        start = time.perf_counter()
        window = sampler.open("overhead") if with_sampler else None
        generation = model.generate(PROMPT, args.tokens, args.tokens)
        rows = window.close() if window is not None else []
        return time.perf_counter() - start, generation.tokens_output, len(rows)

    on_s = off_s = 0.0
    on_tokens = off_tokens = samples = 0
    ratios = []
    for pair in range(args.pairs):
        order = (True, False) if pair % 2 == 0 else (False, True)
        results = {flag: run(flag) for flag in order}
        (s_on, t_on, n), (s_off, t_off, _) = results[True], results[False]
        on_s, on_tokens, samples = on_s + s_on, on_tokens + t_on, samples + n
        off_s, off_tokens = off_s + s_off, off_tokens + t_off
        ratios.append((t_on / s_on) / (t_off / s_off))
        if (pair + 1) % 10 == 0:
            print(f"  ... {pair + 1} pairs, running ratio {(on_tokens / on_s) / (off_tokens / off_s):.4f}", flush=True)
    with_tps, without_tps = on_tokens / on_s, off_tokens / off_s
    # The sampler's own work per tick, timed alone: its share of a second at --hz is the overhead a
    # quiet machine would show (a contended one adds thread wake-ups and GIL hand-offs on top).
    state = sampler.cpu_state()
    ticks = 2000
    start = time.perf_counter()
    for _ in range(ticks):
        after = sampler.cpu_state()
        sampler.row("overhead", state, after)
        state = after
    tick_s = (time.perf_counter() - start) / ticks
    print(f"{args.model}: {args.pairs} alternating pairs, {args.tokens} new tokens each, sampler at {args.hz:g} Hz")
    print(f"  with sampler    {with_tps:8.1f} tokens/s ({on_s / args.pairs * 1000:.0f} ms per window, "
          f"{samples / args.pairs:.1f} samples per window)")
    print(f"  without         {without_tps:8.1f} tokens/s ({off_s / args.pairs * 1000:.0f} ms per generation)")
    print(f"  ratio with/without: {with_tps / without_tps:.4f} (total), {statistics.median(ratios):.4f} "
          f"(median of pairs; goal >= 0.99)")
    print(f"  one sample costs {tick_s * 1e6:.0f} us of CPU: {100 * tick_s * args.hz:.3f}% of a second at "
          f"{args.hz:g} Hz (expected ratio on a quiet machine >= {1 - tick_s * args.hz:.4f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
