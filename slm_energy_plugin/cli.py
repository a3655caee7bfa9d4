"""The ``slm-energy`` command line: thin dispatch to one module per command.

Each module in :mod:`slm_energy_plugin.commands` exposes ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``; :data:`COMMANDS` only orders them. Command modules
import their heavy libraries inside ``run``, so ``slm-energy compare`` never pays for importing torch.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any, Sequence

from . import __version__
from .errors import SlmEnergyError

# The commands in help order: each module under slm_energy_plugin.commands gives its NAME, HELP,
# add_arguments(parser) and run(args); this list is only the order (one source for names and help).
COMMANDS: tuple[str, ...] = (
    "models",
    "recover",
    "countries",
    "runs",
    "compare",
    "estimate",
    "reproject",
    "leaderboard",
    "export",
    "plot",
    "report",
    "finetune",
    "serve",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="slm-energy",
        description="Energy, carbon, time, tokens and quality of small language models.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMANDS:
        module = _command_module(module_name)
        cmd = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        cmd.set_defaults(_module=module_name)
        module.add_arguments(cmd)
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
