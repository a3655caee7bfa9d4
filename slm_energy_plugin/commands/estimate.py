"""``slm-energy estimate``: the footprint of LLM requests before running them.

Three modes: a plain estimate (tokens or a usage profile, region, hardware), a calibrated
estimate (``--from-run RUN_DIR --model ALIAS`` fits the hardware profile from a measured
run first), and usage analytics (``--usage-log FILE``). ``--list`` shows what is configured.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, Mapping

import yaml
from tabulate import tabulate

from . import wrap_long
from ..carbon import render
from ..carbon.analytics import FORMATS, analyse, parse_usage
from ..carbon.calibration import MIN_TIME_R2, Calibration, calibrate_run
from ..carbon.config import EstimatorConfig, cloud_table, load_config, world_region
from ..carbon.formulas import Hardware, Span
from ..carbon.schema import BOUNDS, KEY_PATTERN
from ..carbon.service import build_workload, resolve, run_estimate
from ..energy.intensity import SOURCE as COUNTRY_SOURCE
from ..energy.intensity import country_table
from ..errors import ConfigError, SlmEnergyError
from ..textfile import read_text
from ..results.storage import load_runs

NAME = "estimate"
HELP = "estimate the energy, carbon and water of LLM requests (optionally calibrated by a run)"
LISTS = ("regions", "countries", "datacenters", "hardware", "profiles")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    what = parser.add_argument_group("what is asked")
    # --in_tok/--out_tok: the seed calculator's flags, kept so its users' commands run as written.
    what.add_argument("--in-tokens", "--in_tok", dest="in_tokens", metavar="N",
                      help="input tokens per request: N, LOW..HIGH or LOW..N..HIGH")
    what.add_argument("--out-tokens", "--out_tok", dest="out_tokens", metavar="N",
                      help="output tokens per request: N, LOW..HIGH or LOW..N..HIGH")
    what.add_argument("--profile", help="usage profile giving token sizes and a count (see --list profiles)")
    what.add_argument("--count", metavar="N", help="number of requests (e.g. 1e6). Default: the profile's, else 1")
    what.add_argument("--batch-size", type=int, metavar="B",
                      help="requests served concurrently (throughputs must be per-stream at that batch size)")
    where = parser.add_argument_group("where it runs")
    where.add_argument("--region", help="grid: a named region, ISO 3166 alpha-3 code (FRA) or gcp:REGION")
    where.add_argument("--hardware", help="hardware profile (see --list hardware)")
    where.add_argument("--datacenter", help="facility profile with PUE and WUE (see --list datacenters)")
    where.add_argument("--pue", type=float, help="override the facility's PUE (>= 1.0)")
    where.add_argument("--config", action="append", type=Path, default=[], metavar="FILE",
                       help="extra YAML file overriding the built-ins (repeatable)")
    calib = parser.add_argument_group("calibration from a measured run")
    calib.add_argument("--from-run", type=Path, metavar="RUN_DIR",
                       help="fit throughputs and power from this run folder (or model JSON file)")
    calib.add_argument("--model", help="model alias in the run to calibrate")
    calib.add_argument("--min-r2", type=float, default=MIN_TIME_R2, metavar="R2",
                       help="refuse a calibration whose time fit has a lower R^2. Default: %(default)r")
    calib.add_argument("--save-hardware", type=Path, metavar="FILE",
                       help="write the calibrated hardware profile as YAML, usable with --config FILE")
    usage = parser.add_argument_group("usage analytics")
    usage.add_argument("--usage-log", type=Path, metavar="FILE",
                       help="CSV or YAML log of date, profile, requests[, tokens_in, tokens_out]")
    usage.add_argument("--usage-format", choices=FORMATS, help="format of --usage-log. Default: from the file name")
    usage.add_argument("--period", choices=("daily", "monthly"), default="monthly",
                       help="table granularity for --usage-log. Default: %(default)r")
    parser.add_argument("--list", choices=LISTS, help="list configured entries and exit")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="output format. Default: %(default)r")


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if args.list:
        return _emit(args, _listing(config, args.list), lambda data: _listing_lines(args.list, data))
    calibration: Calibration | None = None
    hardware: str | Hardware | None = args.hardware
    region = args.region
    datacenter = args.datacenter
    if args.model and not args.from_run:
        raise ConfigError("--model needs --from-run RUN_DIR (the run to calibrate it from)")
    if args.from_run:
        if args.hardware:
            raise ConfigError("--hardware and --from-run exclude each other: calibration builds the hardware profile")
        calibration, run_region = _calibrate(args)
        hardware = calibration.hardware()
        region = region or run_region
        if datacenter is None and args.pue is None:
            datacenter = "local"
    if args.usage_log:
        return _usage(args, config, hardware, region, datacenter, calibration)
    workload, notes = build_workload(
        config, profile=args.profile, tokens_in=_tokens(args.in_tokens, "--in-tokens"),
        tokens_out=_tokens(args.out_tokens, "--out-tokens"), count=_count(args.count), batch_size=args.batch_size)
    if calibration is not None and args.datacenter is None and args.pue is None:
        notes.append("datacenter 'local' (PUE 1.0) for a calibrated machine; pass --datacenter or --pue for a facility")
    result = run_estimate(config, workload, notes, region=region, hardware=hardware, datacenter=datacenter,
                          pue=args.pue)
    data: dict[str, Any] = result.to_dict()
    lines = render.render_estimate(result)
    if calibration is not None:
        data = {"calibration": calibration.to_dict(), "estimate": data}
        lines = render.render_calibration(calibration) + [""] + lines
    return _emit(args, data, lambda _: lines)


def _emit(args: argparse.Namespace, data: Any, text_lines: Any) -> int:
    if args.format == "json":
        print(json.dumps(data, indent=2, allow_nan=False))
    else:
        print("\n".join(wrap_long(list(text_lines(data)))))
    return 0


def _calibrate(args: argparse.Namespace) -> tuple[Calibration, str | None]:
    runs = load_runs([args.from_run])
    aliases = sorted({run.alias for run in runs})
    model = args.model
    if model is None:
        if len(aliases) != 1:
            raise ConfigError(f"{args.from_run} holds models {', '.join(aliases)}: pick one with --model")
        model = aliases[0]
    folder = args.from_run if args.from_run.is_dir() else args.from_run.parent
    calibration = calibrate_run(runs, model, run_folder=str(folder))
    refusal = calibration.refusal(args.min_r2)
    if refusal:
        raise ConfigError(refusal)
    for warning in calibration.warnings():
        print(f"slm-energy estimate: warning: {warning}", file=sys.stderr)
    if args.save_hardware:
        _save_hardware(args.save_hardware, calibration)
    carbon = next((run.carbon for run in runs if run.alias == model and run.carbon is not None), None)
    return calibration, None if carbon is None else carbon.country_iso_code


def _save_hardware(path: Path, calibration: Calibration) -> None:
    if path.exists():
        raise ConfigError(f"{path} exists; choose a new file name (calibrations are never overwritten)")
    key = re.sub(r"[^A-Za-z0-9._:+-]", "-", f"calibrated-{calibration.model}")[:64]
    hw = calibration.hardware(key)
    entry: dict[str, Any] = {"name": hw.name, "notes": hw.notes, "gpu_count": hw.gpu_count, "datacenter": "local"}
    for name in ("gpu_power_w", "gpu_util", "cpu_power_w", "cpu_util", "ram_power_w",
                 "prefill_tokens_per_s", "decode_tokens_per_s"):
        span = getattr(hw, name)
        entry[name] = {"value": float(span.value), "source": span.source}
    assert KEY_PATTERN.match(key)
    try:
        path.write_text("# Written by slm-energy estimate --from-run; use with --config FILE --hardware "
                        f"{key.lower()}\n" + yaml.safe_dump({"hardware": {key: entry}}, sort_keys=False),
                        encoding="utf-8")
    except OSError as exc:
        raise SlmEnergyError(f"{path}: cannot be written ({exc.strerror or exc})") from None


def _usage(args: argparse.Namespace, config: EstimatorConfig, hardware: str | Hardware | None,
           region: str | None, datacenter: str | None, calibration: Calibration | None) -> int:
    path: Path = args.usage_log
    text = read_text(path)
    rows = parse_usage(text, str(path), args.usage_format)
    hw, grid, facility = resolve(config, region=region, hardware=hardware, datacenter=datacenter, pue=args.pue)
    report = analyse(rows, config.profiles, hw, grid, facility, origin=str(path))
    data: dict[str, Any] = report.to_dict()
    lines = render.render_usage(report, args.period)
    if calibration is not None:
        data = {"calibration": calibration.to_dict(), "usage": data}
        lines = render.render_calibration(calibration) + [""] + lines
    return _emit(args, data, lambda _: lines)


_RANGE = re.compile(r"^\s*([^.]+?)\s*\.\.\s*([^.]+?)\s*(?:\.\.\s*([^.]+?)\s*)?$")


def _tokens(text: str | None, option: str) -> Span | None:
    """``N``, ``LOW..HIGH`` (value = midpoint) or ``LOW..N..HIGH``."""
    if text is None:
        return None
    hint = "use a number of tokens, LOW..HIGH or LOW..N..HIGH"
    match = _RANGE.match(text)
    parts = [p for p in match.groups() if p is not None] if match else [text]
    try:
        numbers = [_number(p) for p in parts]
    except ValueError:
        raise ConfigError(f"{option}: not a number of tokens: {text!r}; {hint}") from None
    if len(numbers) == 1:
        low = value = high = numbers[0]
    elif len(numbers) == 2:
        low, high = numbers
        value = (low + high) / 2
    else:
        low, value, high = numbers
    bounds = BOUNDS["tokens_in"]
    for number in (low, value, high):
        problem = bounds.check(number)
        if problem:
            raise ConfigError(f"{option}: tokens per request {problem}, got {text!r}")
    if not low <= value <= high:
        raise ConfigError(f"{option}: a range must go LOW..N..HIGH with LOW <= N <= HIGH, got {text!r}")
    return Span(value, low, high, "command line")


def _number(text: str) -> float:
    value = float(text.replace(",", "").replace("_", "").strip())
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(text)
    return value


def _count(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        value = _number(text)
    except ValueError:
        raise ConfigError(f"--count: not a number of requests: {text!r} (e.g. 1000, 1e6, 1_000_000)") from None
    if not value.is_integer():
        raise ConfigError(f"--count: must be a whole number of requests, got {text!r}")
    return int(value)


def _listing(config: EstimatorConfig, what: str) -> Any:
    if what == "regions":
        return {"named": [r.to_dict() for r in config.regions.values()],
                "cloud": [r.to_dict() for r in cloud_table().values()],
                "note": "any ISO 3166 alpha-3 code also works: see --list countries"}
    if what == "countries":
        return {"source": COUNTRY_SOURCE, "countries": [
            {"code": code, "name": row.get("country_name", code), "intensity_g_per_kwh": float(row["carbon_intensity"]),
             "year": row.get("year")} for code, row in sorted(country_table().items())],
            "world": world_region().to_dict()}
    table: Mapping[str, Any] = {"datacenters": config.datacenters, "hardware": config.hardware,
                                "profiles": config.profiles}[what]
    return {key: item.to_dict() for key, item in table.items()}


def _listing_lines(what: str, data: Any) -> list[str]:
    rows: list[tuple[Any, ...]]
    if what == "regions":
        rows = [(r["key"], r["name"], f"{r['intensity_g_per_kwh']['value']:.1f}", r["year"] or "", r["source"])
                for r in data["named"] + data["cloud"]]
        return tabulate(rows, headers=["region", "name", "g CO2e/kWh", "year", "source"]).splitlines() + [
            "", data["note"]]
    if what == "countries":
        rows = [(c["code"], c["name"], f"{c['intensity_g_per_kwh']:.1f}", c["year"]) for c in data["countries"]]
        return tabulate(rows, headers=["code", "country", "g CO2e/kWh", "year"]).splitlines() + [
            "", f"source: {data['source']}"]
    if what == "datacenters":
        rows = [(k, d["name"], _span(d["pue"]), _span(d["wue_l_per_kwh"]) if d["wue_l_per_kwh"] else "n/a",
                 d["pue"].get("source", "")) for k, d in data.items()]
        return tabulate(rows, headers=["datacenter", "name", "PUE", "WUE L/kWh", "PUE source"]).splitlines()
    if what == "hardware":
        rows = [(k, h["name"], h["gpu_count"], _span(h["gpu_power_w"]), _span(h["gpu_util"]), _span(h["cpu_power_w"]),
                 _span(h["ram_power_w"]), _span(h["prefill_tokens_per_s"]), _span(h["decode_tokens_per_s"]), h["notes"])
                for k, h in data.items()]
        return tabulate(rows, headers=["hardware", "name", "GPUs", "GPU W", "GPU util", "CPU W", "RAM W",
                                       "prefill tok/s", "decode tok/s", "model class"]).splitlines()
    rows = [(k, _span(p["tokens_in"]), _span(p["tokens_out"]), p["count"], p["description"]) for k, p in data.items()]
    return tabulate(rows, headers=["profile", "input tokens", "output tokens", "count", "description"]).splitlines()


def _span(data: dict[str, Any]) -> str:
    if data["low"] == data["high"]:
        return f"{data['value']:g}"
    return f"{data['value']:g} [{data['low']:g}-{data['high']:g}]"
