"""``slm-energy finetune MODEL --task sql``: LoRA fine-tuning with measured training energy.

Writes the adapter folder (``adapter_config.json``, ``adapter_model.safetensors``) and
``training.json`` beside it; the folder then runs as a model: ``--energy-models <folder>``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..errors import ConfigError
from ..finetune.report import FILE_NAME, epochs_text
from ..finetune.run import METHODS, TASKS, FinetuneRequest, run_finetune
from ..finetune.train import TrainConfig

NAME = "finetune"
HELP = "fine-tune a model with LoRA on a task and measure the training's energy"
METERS = ("codecarbon", "rapl", "null")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="registry alias, model folder or hub id of the base model")
    parser.add_argument("--task", choices=TASKS, default="sql", help="task to train on. Default: %(default)r")
    parser.add_argument("--data", type=Path, default=None,
                        help="training data in Spider's JSON format (list of {db_id, question, query}); databases "
                             "resolved beside the file. Default: the project's split data/tasks/sql/train.json")
    parser.add_argument("--method", choices=METHODS, default="lora", help="Default: %(default)r")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--max-steps", type=int, default=None, help="optimiser steps (cuts the last epoch short)")
    budget.add_argument("--epochs", type=int, default=None, help="passes over the data. Default: 1")
    parser.add_argument("--quantize", choices=("4bit", "8bit"), default=None,
                        help="QLoRA: load the base in 4 or 8 bits with bitsandbytes (CUDA GPUs only; refused "
                             "elsewhere). Default: the base in its own dtype")
    parser.add_argument("--rank", type=int, default=8, help="LoRA rank; alpha = 2 x rank. Default: %(default)r")
    parser.add_argument("--learning-rate", type=float, default=2e-4,
                        help="AdamW learning rate (untrained tiny models need ~1e-2). Default: %(default)r")
    parser.add_argument("--batch-size", type=int, default=4, help="Default: %(default)r")
    parser.add_argument("--seed", type=int, default=0, help="seeds LoRA's initial weights and the batch order; same "
                                                            "seed, same adapter on CPU. Default: %(default)r")
    parser.add_argument("--output", type=Path, default=None,
                        help="adapter folder to create (must not exist). "
                             "Default: adapters/<model>/<task>-<method>-r<rank>-s<seed>")
    parser.add_argument("--meter", choices=METERS, default="codecarbon",
                        help="energy meter, as --energy-meter. Default: %(default)r")
    parser.add_argument("--country", default="USA",
                        help="ISO 3166 alpha-3 country for emissions, as --energy-country. Default: %(default)r")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (on a shared machine 1 can be several times faster than oversubscribed "
                             "cores; same seed gives the same adapter for the same thread count). Default: torch's")
    parser.add_argument("--offline", action="store_true",
                        help="never contact the Hugging Face hub (also: HF_HUB_OFFLINE=1)")


def run(args: argparse.Namespace) -> int:
    if args.threads is not None:
        if args.threads < 1:
            raise ConfigError(f"--threads must be a positive whole number, got {args.threads}")
        import torch

        torch.set_num_threads(args.threads)
    config = TrainConfig(rank=args.rank, learning_rate=args.learning_rate, batch_size=args.batch_size,
                         max_steps=args.max_steps, epochs=args.epochs, seed=args.seed)
    offline = args.offline or os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}
    request = FinetuneRequest(model=args.model, task=args.task, method=args.method, data=args.data,
                              output=args.output, config=config, meter=args.meter, country=args.country,
                              offline=offline, quantize=args.quantize)
    result = run_finetune(request)
    report = result.report
    energy = report["energy"]
    training = energy["training"] or {}
    kwh = training.get("total_kwh")
    print(f"fine-tuned {report['base_model']['alias']} ({request.method}, rank {config.rank}) on "
          f"{report['data']['examples']} {request.task} examples: {report['steps']} steps, "
          f"{epochs_text(report['epochs_run'])}, {report['tokens']['processed']} tokens in "
          f"{report['duration_s']['training']:.1f} s")
    print(f"loss {report['loss_first']:.3f} -> {report['loss_last']:.3f} (first step -> last step)")
    kwh_text = "not measured" if kwh is None else f"{kwh:.3g} kWh"
    print(f"training energy: {kwh_text} ({energy['in_words']})")
    print(f"wrote {result.output} and {result.output / FILE_NAME}")
    print(f"run it as a model: --energy-models {result.output}")
    return 0
