"""``slm-energy models``: the registry, and whether each model can be had here and now."""

from __future__ import annotations

import argparse
from pathlib import Path

from tabulate import tabulate

from . import ELLIPSIS, fit_table, fit_width
from ..backends.availability import HubProbe, check_availability
from ..backends.registry import registry_for, select_models
from ..settings import hub_offline_from_env

NAME = "models"
HELP = "list the model registry and whether each model can be had here"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="*", help="models to check (default: every registry alias)")
    parser.add_argument("--offline", action="store_true", help="do not probe the Hugging Face hub")
    parser.add_argument("--registry", type=Path, metavar="PATH",
                        help="your own models file laid over the built-in registry (as --energy-registry)")


def run(args: argparse.Namespace) -> int:
    registry = registry_for(args.registry)
    specs = select_models(tuple(args.names) or tuple(registry.specs), registry, Path.cwd())
    probe = HubProbe()
    offline = args.offline or hub_offline_from_env()
    rows: list[list[str]] = []
    for spec in specs:
        verdict = check_availability(spec, offline, probe)
        default = "yes" if spec.alias in registry.default_selection else ""
        rows.append([spec.alias, spec.model_id, spec.weights, spec.dtype, spec.prompt_style, str(spec.max_new_tokens),
                     default, "yes" if verdict.available else "no", verdict.reason])
    # Rows fit the terminal, long cells cut with a visible ellipsis (the alias never);
    # piped or redirected output keeps every cell whole, for scripts.
    width = fit_width()
    headers, cells = fit_table(["alias", "model", "weights", "dtype", "prompt", "new", "dflt", "here",
                                "how / why"], rows, width)
    print(tabulate(cells, headers=headers, disable_numparse=True))
    if width is not None and any(ELLIPSIS in cell for row in cells for cell in row):
        print(f"\n{ELLIPSIS} cut to fit {width} columns; `slm-energy models | cat` prints whole rows")
    print(f"\nregistry: {registry.source}")
    return 0
