"""``slm-energy reproject``: a measured run's emissions on another grid and PUE.

The energy a run measured does not depend on where the electricity came from; its
emissions do. This recomputes them as energy x PUE x the intensity of ``--region``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..carbon import render
from ..carbon.config import load_config
from ..carbon.reproject import carbon_context_for, default_pue, reproject
from ..carbon.service import check_pue
from ..errors import ConfigError
from ..results.storage import load_runs, model_files, write_model_runs

NAME = "reproject"
HELP = "re-project a measured run's emissions to another grid and PUE"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR",
                        help="run folder(s) or environmental_data_*.json file(s)")
    parser.add_argument("--region", required=True,
                        help="grid to re-project to: a named region, ISO 3166 alpha-3 code (FRA) or gcp:REGION")
    parser.add_argument("--pue", type=float, help="PUE to apply (>= 1.0). Default: the --datacenter's, else the "
                                                  "runs' own PUE when they agree, else 1.0")
    parser.add_argument("--datacenter",
                        help="take the PUE of this facility profile (see slm-energy estimate --list datacenters)")
    parser.add_argument("--config", action="append", type=Path, default=[], metavar="FILE",
                        help="extra estimator YAML file (for user-defined regions). Repeatable")
    parser.add_argument("--output", type=Path, metavar="DIR",
                        help="also write the re-projected model files into this new folder")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="Default: %(default)r")


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    runs = load_runs(args.runs)
    region = config.region(args.region)
    pue = args.pue
    if pue is None and args.datacenter:
        pue = config.datacenter(args.datacenter).pue.value
    if pue is None:
        pue = default_pue(runs)
    projected = reproject(runs, carbon_context_for(region, check_pue(pue)))
    if args.output:
        if args.output.exists() and (not args.output.is_dir() or model_files(args.output)):
            raise ConfigError(f"{args.output} already holds model files; re-projections never overwrite a run")
        written = write_model_runs(args.output, projected)
    else:
        written = []
    if args.format == "json":
        print(json.dumps([{"alias": new.alias, "before": None if old.carbon is None else old.carbon.to_dict(),
                           "after": new.carbon.to_dict() if new.carbon else None,
                           "energy_provenance": old.energy_provenance,
                           "emissions_kg_before": _total(old), "emissions_kg_after": _total(new)}
                          for old, new in zip(runs, projected, strict=True)], indent=2, allow_nan=False))
    else:
        print("\n".join(render.render_reprojection(runs, projected)))
        for path in written:
            print(f"wrote {path}")
    return 0


def _total(run) -> float | None:  # type: ignore[no-untyped-def]
    values = [r.emissions_kg for r in run.records if r.emissions_kg is not None]
    return sum(values) if values else None
