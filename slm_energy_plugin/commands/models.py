"""``slm-energy models``: the registry, and whether each model can be had here and now."""

from __future__ import annotations

import argparse
from pathlib import Path

from tabulate import tabulate

from . import terminal_width
from ..backends.availability import HubProbe, check_availability
from ..backends.registry import load_registry, select_models
from ..settings import hub_offline_from_env

NAME = "models"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="*", help="models to check (default: every registry alias)")
    parser.add_argument("--offline", action="store_true", help="do not probe the Hugging Face hub")


def run(args: argparse.Namespace) -> int:
    registry = load_registry()
    specs = select_models(tuple(args.names) or tuple(registry.specs), registry, Path.cwd())
    probe = HubProbe()
    offline = args.offline or hub_offline_from_env()
    rows = []
    for spec in specs:
        verdict = check_availability(spec, offline, probe)
        default = "yes" if spec.alias in registry.default_selection else ""
        rows.append([spec.alias, spec.model_id, spec.weights, spec.dtype, spec.prompt_style, spec.max_new_tokens,
                     default, "yes" if verdict.available else "no", verdict.reason])
    # The reason column takes what the terminal has left, wrapped: rows were up to 392 characters.
    width = terminal_width()
    print(tabulate(rows, headers=["alias", "model", "weights", "dtype", "prompt", "new", "dflt",
                                  "here", "how / why"], disable_numparse=True,
                   maxcolwidths=[None, 24, None, None, None, None, None, None, max(24, width - 88)]))
    print(f"\nregistry: {registry.source}")
    return 0
