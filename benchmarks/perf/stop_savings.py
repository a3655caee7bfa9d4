"""Tokens and energy saved by stop sequences on the math queries with plain-prompt models.

Every query of data/queries.txt runs twice on each model, with the prompt format's stop strings
("\\nQuestion:" / "\\nInstruct:" and a blank line, as the suite uses them) and without, in
alternating order, inside the project's energy meter (CodeCarbon: on a machine without counters an
ESTIMATE from CPU load and time, said so in the output). Prints per model the output tokens, the
generation seconds and the energy with and without stops, how many queries a stop ended, and the
savings. Decoding: greedy by default; --temperature samples with seed = query index (repeatable).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/perf/stop_savings.py [--models tiny-gpt2,tiny-phi]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from slm_energy_plugin.backends.registry import load_registry, select_models
from slm_energy_plugin.backends.sampling import Sampling
from slm_energy_plugin.backends.stopping import stops_for
from slm_energy_plugin.backends.tiny import ensure_tiny
from slm_energy_plugin.backends.transformers_runtime import load_model
from slm_energy_plugin.energy import EnergyReading, build_meter
from slm_energy_plugin.energy.units import J_PER_KWH
from slm_energy_plugin.workload.queries import load_queries


def train_format(model: Any, steps: int, seed: int = 0) -> float:
    """A few hundred AdamW steps on "Question: What is a + b?\nAnswer: c\n\nQuestion: ..." text (the
    model's own template): the tiny model learns to answer and then invent the next exchange."""
    import random

    import torch

    rng = random.Random(seed)
    template = model.spec.prompt_template

    def exchange() -> str:
        a, b = rng.randint(1, 99), rng.randint(1, 99)
        return template.format(query=f"What is {a} + {b}?") + f" {a + b}"

    ids = model.tokenizer("\n\n".join(exchange() for _ in range(3000)))["input_ids"]
    data = torch.tensor(ids)
    torch.manual_seed(seed)
    optimiser = torch.optim.AdamW(model.model.parameters(), lr=3e-3)
    model.model.train()
    loss = torch.tensor(0.0)
    for _ in range(steps):
        starts = torch.randint(0, len(data) - 97, (8,))
        batch = torch.stack([data[i:i + 96] for i in starts])
        loss = model.model(input_ids=batch, labels=batch).loss
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.model.eval()
    return float(loss.detach())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="tiny-gpt2,tiny-phi")
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--temperature", type=float, default=0.0)
    parser.add_argument("--queries", type=int, default=0, help="only the first N queries (0: all)")
    parser.add_argument("--meter", default="codecarbon")
    parser.add_argument("--train-format", type=int, default=0, metavar="STEPS",
                        help="first train the (untrained) model STEPS steps on synthetic arithmetic exchanges "
                             "in its own prompt format, so it continues the pattern as a pretrained plain model does")
    args = parser.parse_args(argv)

    queries = load_queries()
    queries = queries[:args.queries] if args.queries else queries
    meter = build_meter(args.meter, "USA")
    meter.warm_up()
    specs = select_models(tuple(args.models.split(",")), load_registry(), Path.cwd(), args.tokens)
    for spec in specs:
        local = ensure_tiny(spec.alias, str(spec.tiny)) if spec.source == "tiny" else None
        model = load_model(spec, local)
        if args.train_format:
            loss = train_format(model, args.train_format)
            print(f"{spec.alias}: trained {args.train_format} steps on its prompt format (final loss {loss:.2f})")
        stops = stops_for(spec.prompt_style, spec.prompt_template, "math")
        totals = {True: [0, 0.0, []], False: [0, 0.0, []]}   # tokens, seconds, readings
        stopped = 0
        for index, query in enumerate(queries):
            sampling = Sampling(args.temperature, None, index)
            for flag in ((True, False) if index % 2 == 0 else (False, True)):
                handle = meter.start()
                generation = model.generate(query.prompt, args.tokens, sampling=sampling,
                                            stop=stops if flag else ())
                reading = meter.stop(handle)
                totals[flag][0] += generation.tokens_output
                totals[flag][1] += generation.seconds
                totals[flag][2].append(reading)
                if flag and generation.extra["stop_reason"] == "stop":
                    stopped += 1
        print(f"{spec.alias} ({spec.prompt_style} prompt {spec.prompt_template!r}), stops {list(stops)}, "
              f"{len(queries)} math queries, max {args.tokens} new tokens, "
              f"{'greedy' if args.temperature == 0 else f'temperature {args.temperature:g}'}:")
        for flag in (False, True):
            tokens, seconds, readings = totals[flag]
            energy = EnergyReading.combine(readings)
            joules = (energy.total_kwh or 0.0) * J_PER_KWH
            print(f"  {'with stops   ' if flag else 'without stops'} {tokens:6d} tokens  {seconds:7.2f} s  "
                  f"{joules:8.1f} J ({energy.provenance})")
        saved_tokens = totals[False][0] - totals[True][0]
        saved_s = totals[False][1] - totals[True][1]
        print(f"  a stop ended {stopped}/{len(queries)} queries; saved {saved_tokens} tokens "
              f"({100 * saved_tokens / max(1, totals[False][0]):.1f}%), {saved_s:.2f} s")
    meter.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
