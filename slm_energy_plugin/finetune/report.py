"""``training.json``: what a fine-tune cost and did, written beside its adapter.

Pure: builds a dict from the training's results; the caller writes it (atomically).
Every energy figure carries the meter's method labels and a provenance word
(measured / estimated / mixed / none), as in the benchmark's records.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..energy import EnergyReading
from ..energy.intensity import CarbonContext
from .train import TrainConfig, TrainingOutcome

SCHEMA = "slm-energy/training/1"
FILE_NAME = "training.json"


def _energy(reading: EnergyReading | None, carbon: CarbonContext) -> dict[str, Any] | None:
    if reading is None:
        return None
    data = reading.to_dict()
    data["emissions_kg"] = carbon.emissions_kg(reading.total_kwh)
    return data


def energy_sentence(provenance: str) -> str:
    return {
        "measured": "measured by hardware energy counters",
        "estimated": "ESTIMATED, not measured: the meter models CPU power from load and a TDP table, RAM as a constant",
        "mixed": "partly measured (hardware counters), partly estimated",
    }.get(provenance, "not measured (time and tokens only)")


def epochs_run(steps: int, steps_per_epoch: int) -> float:
    """Epochs as a fraction of passes, to 3 decimals (whole passes stay whole: 2.0)."""
    return round(steps / steps_per_epoch, 3) if steps_per_epoch else 0.0


def epochs_text(epochs: float) -> str:
    """'1 epoch', '2 epochs', '1.5 epochs': a fraction when the step budget ended mid-epoch."""
    return "1 epoch" if epochs == 1 else f"{epochs:g} epochs"


def build_training_report(*, task: str, method: str, base: Mapping[str, Any], adapter: Mapping[str, Any],
                          data: Mapping[str, Any], config: TrainConfig, outcome: TrainingOutcome,
                          load: EnergyReading, load_seconds: float, save_seconds: float,
                          meter: Mapping[str, Any], carbon: CarbonContext, libraries: Mapping[str, str | None],
                          started_at: str, finished_at: str,
                          quantization: Mapping[str, Any] | None = None) -> dict[str, Any]:
    training = outcome.energy
    curve = outcome.loss_curve
    provenance = training.provenance if training is not None else "none"
    return {
        "schema": SCHEMA,
        "task": task,
        "method": method,
        "base_model": dict(base),
        "adapter": dict(adapter),
        "data": dict(data),
        "seed": config.seed,
        "hyperparameters": {
            "rank": config.rank, "alpha": config.lora_alpha, "dropout": config.dropout,
            "learning_rate": config.learning_rate, "batch_size": config.batch_size,
            "max_steps": config.max_steps, "epochs": config.epochs, "optimizer": "AdamW",
            "weight_decay": config.weight_decay, "max_grad_norm": config.max_grad_norm,
            "target_modules": list(outcome.target_modules), "loss": "cross-entropy on the answer tokens only",
            # QLoRA: the base's bits (None: the base in its own dtype, plain LoRA).
            "quantization": None if quantization is None else dict(quantization),
        },
        "trainable_parameters": outcome.trainable_parameters,
        "deterministic": dict(outcome.deterministic),
        "steps": outcome.steps,
        # Passes over the data as a fraction: --max-steps can end mid-epoch (9 steps of 6 per epoch = 1.5).
        "epochs_run": epochs_run(outcome.steps, config.steps_per_epoch(int(data["examples"]))),
        "steps_per_epoch": config.steps_per_epoch(int(data["examples"])),
        "tokens": {
            "processed": outcome.tokens,
            "loss_tokens": outcome.answer_tokens,
            "per_second": outcome.tokens / outcome.seconds if outcome.seconds > 0 else None,
        },
        "loss_curve": curve,
        "loss_first": curve[0] if curve else None,
        "loss_last": curve[-1] if curve else None,
        "duration_s": {"load": load_seconds, "training": outcome.seconds, "save": save_seconds},
        "energy": {
            "provenance": provenance,
            "in_words": energy_sentence(provenance),
            "load": _energy(load, carbon),
            "training": _energy(training, carbon),
            "training_kwh": training.total_kwh if training is not None else None,
            "per_epoch": [
                {"epoch": e.epoch, "steps": e.steps,
                 "fraction": e.steps / config.steps_per_epoch(int(data["examples"])), "tokens": e.tokens, "seconds": e.seconds,
                 "mean_loss": sum(e.losses) / len(e.losses) if e.losses else None,
                 "energy": _energy(e.energy, carbon)}
                for e in outcome.epochs
            ],
            "meter": dict(meter),
            "carbon": carbon.to_dict(),
        },
        "libraries": dict(libraries),
        "started_at": started_at,
        "finished_at": finished_at,
    }
