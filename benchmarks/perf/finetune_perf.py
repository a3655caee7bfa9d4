"""Training throughput with the energy meter vs without, in the same run, alternating.

One LoRA trainer on a tiny model (the project's training split); blocks of ``--block``
optimiser steps run alternately inside a meter window (CodeCarbon's task API, as
``slm-energy finetune`` opens one per epoch) and outside any window. Throughput is
tokens through forward + backward per second of the block. Alternating A/B blocks on
one trainer puts machine drift on both arms alike. Prints the median tokens/s of each
arm and their ratio (goal >= 0.98); exit status 1 below --goal.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/perf/finetune_perf.py [--model tiny-gpt2] [--pairs 8]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from slm_energy_plugin.energy import build_meter
from slm_energy_plugin.finetune.data import load_sql_training_set
from slm_energy_plugin.finetune.run import open_base
from slm_energy_plugin.finetune.train import LoraTrainer, TrainConfig, deterministic_torch
from slm_energy_plugin.backends.registry import load_registry, resolve_model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny-gpt2")
    parser.add_argument("--pairs", type=int, default=8, help="metered/unmetered block pairs")
    parser.add_argument("--block", type=int, default=6, help="optimiser steps per block")
    parser.add_argument("--meter", default="codecarbon")
    parser.add_argument("--goal", type=float, default=0.98)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (1 avoids OpenMP spin-waiting on a shared, oversubscribed machine)")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    examples = load_sql_training_set()
    loaded = open_base(resolve_model(args.model, load_registry(), Path.cwd()), offline=True)
    steps = 2 * args.pairs * args.block + args.block
    config = TrainConfig(learning_rate=1e-2, max_steps=steps, seed=0)
    meter = build_meter(args.meter, "USA")
    meter.warm_up()
    with deterministic_torch(config.seed):
        trainer = LoraTrainer(loaded, examples, config)
        trainer.run_epoch(1, max_steps=args.block)     # warm-up block: allocator, first-call costs
        arms: dict[str, list[float]] = {"metered": [], "unmetered": []}
        cpu_arms: dict[str, list[float]] = {"metered": [], "unmetered": []}
        epoch = 1
        for pair in range(args.pairs):
            # Alternate which arm goes first, so neither always follows the other.
            order = ("metered", "unmetered") if pair % 2 == 0 else ("unmetered", "metered")
            for arm in order:
                epoch += 1
                handle = meter.start() if arm == "metered" else None
                cpu_started = time.process_time()   # every thread of this process: the meter's monitor too
                stats = trainer.run_epoch(epoch, max_steps=args.block)
                cpu_seconds = time.process_time() - cpu_started
                if handle is not None:
                    meter.stop(handle)
                arms[arm].append(stats.tokens / stats.seconds)
                cpu_arms[arm].append(stats.tokens / cpu_seconds)
    meter.close()
    metered, unmetered = statistics.median(arms["metered"]), statistics.median(arms["unmetered"])
    # Each pair's own ratio: drift between pairs (other users of the cores) cancels within a pair.
    pair_ratios = [m / u for m, u in zip(arms["metered"], arms["unmetered"])]
    ratio = statistics.median(pair_ratios)
    import torch

    print(f"model {args.model}, {args.pairs} pairs of {args.block}-step blocks, batch {config.batch_size}, "
          f"meter {args.meter}, torch threads {torch.get_num_threads()}")
    print(f"tokens/s  metered   median {metered:.0f} (min {min(arms['metered']):.0f}, max {max(arms['metered']):.0f})")
    print(f"tokens/s  unmetered median {unmetered:.0f} (min {min(arms['unmetered']):.0f}, "
          f"max {max(arms['unmetered']):.0f})")
    print(f"wall clock: ratio of medians {metered / unmetered:.3f}; median of per-pair ratios {ratio:.3f} "
          f"(min {min(pair_ratios):.3f}, max {max(pair_ratios):.3f}; goal >= {args.goal})")
    # Per CPU-second of this process: insensitive to other processes taking the cores, still charged
    # for the meter's own monitoring thread.
    cpu_ratios = [m / u for m, u in zip(cpu_arms["metered"], cpu_arms["unmetered"])]
    print(f"tokens per CPU-second: metered median {statistics.median(cpu_arms['metered']):.0f}, unmetered median "
          f"{statistics.median(cpu_arms['unmetered']):.0f}; median of per-pair ratios {statistics.median(cpu_ratios):.3f} "
          f"(min {min(cpu_ratios):.3f}, max {max(cpu_ratios):.3f})")
    return 0 if ratio >= args.goal else 1


if __name__ == "__main__":
    sys.exit(main())
