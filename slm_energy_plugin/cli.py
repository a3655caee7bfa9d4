"""The ``slm-energy`` command line: thin dispatch to one module per command.

Each module in :mod:`slm_energy_plugin.commands` exposes ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``. Modules are imported only when
their command runs, so ``slm-energy compare`` never pays for importing torch.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any, Sequence

from . import __version__
from .errors import SlmEnergyError

# command name -> module under slm_energy_plugin.commands, in help order.
COMMANDS: dict[str, tuple[str, str]] = {
    "models": ("models", "list the model registry and whether each model can be had here"),
    "recover": ("recover", "rebuild the model files of an interrupted run from its journal"),
    "countries": ("countries", "list country codes and grid carbon intensities"),
    "runs": ("runs", "list the run folders under a results directory and what each holds"),
    "compare": ("compare", "compare models with statistical tests; optionally gate on a baseline"),
    "estimate": ("estimate", "estimate the energy, carbon and water of LLM requests (optionally calibrated by a run)"),
    "reproject": ("reproject", "re-project a measured run's emissions to another grid and PUE"),
    "leaderboard": ("leaderboard", "fit energy, CO2 and price against model size from leaderboard exports; place your runs on it"),

    "export": ("export", "write a run as a tidy table (CSV, Parquet, JSON lines) or in the seeds' shapes "
                         "(xlsx, seed JSON files, experiment_results)"),
    "plot": ("plot", "draw a run's figures (PNG and SVG): distributions, ratios, energy vs latency and quality"),
    "report": ("report", "write one self-contained HTML report of a run: figures, tables, statistics in words"),

    "finetune": ("finetune", "fine-tune a model with LoRA on a task and measure the training's energy"),
    "serve": ("serve", "serve the footprint estimator as a web API (needs the [api] extra)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="slm-energy",
        description="Energy, carbon, time, tokens and quality of small language models.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        cmd.set_defaults(_module=module_name)
        _command_module(module_name).add_arguments(cmd)
    return parser


def _command_module(module_name: str) -> Any:
    return importlib.import_module(f"{__package__}.commands.{module_name}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(_command_module(args._module).run(args) or 0)
    except SlmEnergyError as exc:
        print(f"slm-energy {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"slm-energy {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `slm-energy ... | head` closed the pipe: not an error. Point stdout at devnull so the
        # interpreter's final flush does not raise again (Python's documented recipe).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
