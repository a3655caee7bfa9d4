"""One fine-tune from start to finish: resolve and load the base, train, save adapter + training.json.

The base model goes through the suite's own resolution and loader (registry, availability,
tiny builds, ``load_model``); the meter is the plugin's (``energy.build_meter``), warmed up
outside any window, one window for the load and one per epoch. The output folder appears
complete or not at all (written beside it under a temporary name, then renamed), and an
existing folder is never overwritten.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from ..energy import build_meter
from ..energy.intensity import carbon_context
from ..errors import ConfigError
from ..backends.availability import HubProbe, check_availability
from ..backends.registry import load_registry, resolve_model
from ..backends.spec import ModelSpec, Registry
from ..backends.transformers_runtime import LoadedModel, load_model
from ..backends.tiny import ensure_tiny
from ..results.storage import atomic_write_json
from ..backends.adapter import base_name_to_store, save_adapter
from .data import builtin_train_file, load_sql_training_set
from .report import FILE_NAME, build_training_report
from .train import TrainConfig, TrainingOutcome, train_lora
from ..timestamps import utc_now

TASKS = ("sql",)
METHODS = ("lora",)


@dataclass(frozen=True)
class FinetuneRequest:
    model: str
    task: str = "sql"
    method: str = "lora"
    data: Path | None = None
    output: Path | None = None
    config: TrainConfig = TrainConfig()
    meter: str = "codecarbon"
    country: str = "USA"
    offline: bool = False
    quantize: str | None = None          # "4bit" / "8bit": QLoRA on CUDA (see quantize.py)


@dataclass(frozen=True)
class FinetuneResult:
    output: Path
    report: dict[str, Any]
    outcome: TrainingOutcome


def library_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in ("torch", "transformers", "peft", "codecarbon", "slm-energy-plugin"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def default_output(spec: ModelSpec, request: FinetuneRequest, cwd: Path) -> Path:
    # Outside results/: that folder holds run folders only, and "the latest run" must never be an adapter.
    cfg = request.config
    return cwd / "adapters" / spec.alias / f"{request.task}-{request.method}-r{cfg.rank}-s{cfg.seed}"


def check_output(path: Path) -> None:
    if path.exists():
        raise ConfigError(f"output folder {path} already exists; choose another with --output (adapters are never "
                          "overwritten)")


def training_spec(name: str, registry: Registry, cwd: Path) -> ModelSpec:
    spec = resolve_model(name, registry, cwd)
    if spec.adapter is not None:
        raise ConfigError(f"{name!r} is an adapter folder; fine-tune its base model ({spec.adapter.base_name!r}) "
                          "or a merged model folder")
    if spec.source == "random":
        raise ConfigError(f"{name!r} has random weights and a stand-in tokenizer: nothing to fine-tune")
    return spec


def open_base(spec: ModelSpec, offline: bool, quantize: str | None = None) -> LoadedModel:
    """The base model through the suite's availability check and loader; unavailable is one line."""
    availability = check_availability(spec, offline, HubProbe())
    if not availability.available:
        raise ConfigError(f"{spec.alias}: not available: {availability.reason}")
    local_path = ensure_tiny(spec.base_alias, str(spec.tiny)) if spec.source == "tiny" else availability.local_path
    if quantize is not None:
        from .quantize import load_quantized

        return load_quantized(spec, local_path, quantize)
    return load_model(spec, local_path)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _quantization(mode: str | None) -> dict[str, Any] | None:
    if mode is None:
        return None
    from .quantize import quantization_info

    return quantization_info(mode)


def run_finetune(request: FinetuneRequest, cwd: Path | None = None) -> FinetuneResult:
    cwd = cwd or Path.cwd()
    if request.task not in TASKS:
        raise ConfigError(f"task {request.task!r} is not supported; choose from {', '.join(TASKS)}")
    if request.method not in METHODS:
        raise ConfigError(f"method {request.method!r} is not supported; choose from {', '.join(METHODS)}")
    if request.quantize is not None:   # refused before anything is loaded or measured
        from .quantize import check_quantize

        check_quantize(request.quantize)
    carbon = carbon_context(request.country)
    registry = load_registry()
    spec = training_spec(request.model, registry, cwd)
    data_file = builtin_train_file() if request.data is None else (
        request.data if request.data.is_absolute() else cwd / request.data)
    examples = load_sql_training_set(data_file)
    output = request.output if request.output is not None else default_output(spec, request, cwd)
    output = output if output.is_absolute() else cwd / output
    check_output(output)
    base_name = base_name_to_store(spec, registry)
    started_at = utc_now()

    meter = build_meter(request.meter, carbon.country_iso_code)
    meter.warm_up()   # hardware detection is paid here, outside every window
    try:
        handle = meter.start()
        load_started = time.perf_counter()
        loaded = open_base(spec, request.offline, request.quantize)
        load_seconds = time.perf_counter() - load_started
        load_reading = meter.stop(handle)
        info = loaded.info({})   # before the adapter's layers are injected: the base's own parameters
        # A tiny model has no hub revision: its build folder's name carries the build key instead.
        revision = info.revision or (Path(loaded.source_path).name if spec.source == "tiny" else None)
        outcome = train_lora(loaded, examples, request.config, meter)
        meter_info = meter.describe()
    finally:
        meter.close()

    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}-", dir=output.parent))
    try:
        save_started = time.perf_counter()
        save_adapter(outcome.model, staging, base_name)
        save_seconds = time.perf_counter() - save_started
        report = build_training_report(
            task=request.task, method=request.method,
            base={"name": base_name, "alias": spec.alias, "model_id": info.model_id, "revision": revision,
                  "source_path": loaded.source_path, "weights": info.weights, "parameters": info.parameters,
                  "dtype": info.dtype, "device": info.device},
            adapter={"folder": str(output), "files": sorted(p.name for p in staging.iterdir()),
                     "merged_when_run_as_model": True},
            data={"file": str(data_file), "sha256": _sha256(data_file), "examples": len(examples),
                  "disjoint_from_evaluation": True},
            config=request.config, outcome=outcome, load=load_reading, load_seconds=load_seconds,
            save_seconds=save_seconds, meter=meter_info, carbon=carbon, libraries=library_versions(),
            started_at=started_at, finished_at=utc_now(), quantization=_quantization(request.quantize))
        atomic_write_json(staging / FILE_NAME, report)
        os.rename(staging, output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return FinetuneResult(output=output, report=report, outcome=outcome)
