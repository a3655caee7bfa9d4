"""CodeCarbon's offline tracker, used through its task API, one task per window.

Rules (DESIGN.md): one ``OfflineEmissionsTracker`` per process with an explicit
country; no ``start()`` before tasks (energy since the last periodic sample would be
dropped); no CSV or API output; its logger quiet before it is built; a warm-up task
pays the ~0.5 s hardware detection; ``stop_task`` returning None or zero is reported,
never recorded silently. PUE is applied by slm-energy when computing emissions, so
the tracker runs with PUE 1.0 and its energies are IT energy.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from .base import EnergyMeter
from .reading import EnergyReading
from .registry import MeterRequest

NVML_REFRESH_S = 0.1

# CodeCarbon CPU modes -> our method labels.
_CPU_MODES = {
    "intel_rapl": "rapl",
    "windows_emi": "windows-emi",
    "cpu_load": "cpu-load-estimate",
    "constant": "tdp-constant-estimate",
    "intel_power_gadget": "rapl",
    "apple_powermetrics": "powermetrics-estimate",
}


def _quiet_codecarbon() -> None:
    logger = logging.getLogger("codecarbon")
    logger.setLevel(logging.ERROR)
    logger.propagate = False


def method_labels(tracker: Any) -> dict[str, str]:
    """How CodeCarbon obtains each component, read from the hardware it set up."""
    labels = {"cpu": "absent", "gpu": "absent", "ram": "absent"}
    for hardware in getattr(tracker, "_hardware", []) or []:
        kind = type(hardware).__name__
        if kind == "CPU":
            labels["cpu"] = _CPU_MODES.get(str(getattr(hardware, "_mode", "")), "tdp-constant-estimate")
        elif kind == "GPU":
            # CodeCarbon reads NVIDIA energy counters through NVML, AMD through AMD SMI.
            labels["gpu"] = "amdsmi" if "amd" in type(getattr(hardware, "devices", None)).__name__.lower() else "nvml"
        elif kind == "RAM":
            forced = getattr(hardware, "_force_ram_power", None)
            labels["ram"] = "user-constant" if forced is not None else "ram-constant-estimate"
        elif kind == "Raspberry":
            labels[str(getattr(hardware, "chip_part", "cpu")).lower()] = "pmic"
        elif kind == "AppleSiliconChip":
            labels[str(getattr(hardware, "chip_part", "cpu")).lower()] = "powermetrics-estimate"
    return labels


class CodeCarbonMeter(EnergyMeter):
    name = "codecarbon"

    def __init__(self, country_iso_code: str) -> None:
        self.country_iso_code = country_iso_code
        self._tracker: Any = None
        self._labels: dict[str, str] | None = None

    @property
    def tracker(self) -> Any:
        if self._tracker is None:
            from codecarbon import OfflineEmissionsTracker

            _quiet_codecarbon()  # after the import: importing codecarbon resets its level to INFO

            self._tracker = OfflineEmissionsTracker(
                country_iso_code=self.country_iso_code,
                project_name="slm-energy",
                output_methods=[],
                log_level="error",
                allow_multiple_runs=True,
                # Periodic sampling is for start()/stop() runs; tasks measure at their own edges.
                measure_power_secs=3600,
                pue=1.0,
                tracking_mode="machine",
            )
        return self._tracker

    def start(self) -> tuple[str, float]:
        name = f"slm-energy-{uuid.uuid4().hex[:12]}"
        self.tracker.start_task(name)
        return name, time.perf_counter()

    def stop(self, handle: tuple[str, float]) -> EnergyReading:
        name, started = handle
        data = self.tracker.stop_task(name)
        duration = time.perf_counter() - started
        labels = self.methods
        if data is None:
            return EnergyReading(duration, None, None, None, labels, self.name,
                                 ("CodeCarbon returned no data for this window (stop_task gave None)",))
        warnings = []
        total = float(getattr(data, "energy_consumed", 0.0) or 0.0)
        if total <= 0.0 and duration > 0:
            warnings.append("CodeCarbon reported zero energy for this window")
        gpu_present = labels["gpu"] != "absent"
        if gpu_present and labels["gpu"] == "nvml" and duration < NVML_REFRESH_S:
            warnings.append(f"window of {duration * 1000:.0f} ms is shorter than NVML's ~100 ms counter refresh")
        return EnergyReading(
            duration_s=duration,
            cpu_kwh=float(data.cpu_energy),
            gpu_kwh=float(data.gpu_energy) if gpu_present else None,
            ram_kwh=float(data.ram_energy),
            methods=labels,
            meter=self.name,
            warnings=tuple(warnings),
        )

    @property
    def methods(self) -> dict[str, str]:
        if self._labels is None:
            if not getattr(self.tracker, "_hardware", None):
                self.warm_up()  # labels exist only once CodeCarbon has detected the hardware
            self._labels = method_labels(self.tracker)
        return dict(self._labels)

    def describe(self) -> dict[str, Any]:
        import codecarbon

        from .reading import provenance

        labels = self.methods
        kind = provenance(labels)
        sentence = {
            "measured": "hardware energy counters",
            "estimated": "estimates: CodeCarbon models CPU power from load and a TDP table and RAM as a constant",
            "mixed": "partly hardware counters, partly CodeCarbon estimates",
        }.get(kind, "no figures")
        conf = getattr(self.tracker, "_conf", {}) or {}
        return {
            "name": self.name,
            "version": getattr(codecarbon, "__version__", None),
            "methods": labels,
            "provenance": kind,
            "cpu_model": conf.get("cpu_model"),
            "gpu_model": conf.get("gpu_model") or None,
            "description": f"CodeCarbon {getattr(codecarbon, '__version__', '')} task API: {sentence}",
        }

    def close(self) -> None:
        tracker = self._tracker
        if tracker is None:
            return
        # Only the 1 s power monitor may run (tasks start it); stop it without writing output.
        monitor = getattr(tracker, "_scheduler_monitor_power", None)
        if monitor is not None:
            monitor.stop()


def make_meter(request: MeterRequest) -> CodeCarbonMeter:
    """Entry point of the ``slm_energy.meters`` group."""
    return CodeCarbonMeter(request.country_iso_code)

