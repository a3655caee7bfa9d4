"""Energy meters: the RAPL counter path on a fake powercap tree, the real CodeCarbon
tracker on this machine, the null meter, and grid intensities."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from slm_energy_plugin.energy import build_meter
from slm_energy_plugin.energy.codecarbon_meter import CodeCarbonMeter
from slm_energy_plugin.energy.intensity import carbon_context
from slm_energy_plugin.energy.rapl import RaplMeter, discover_domains, wrapped_delta
from slm_energy_plugin.energy.reading import EnergyReading, PowerBaseline, provenance
from slm_energy_plugin.errors import ConfigError


def make_domain(path: Path, name: str, energy_uj: int, max_range: int = 262143328850) -> Path:
    path.mkdir(parents=True)
    (path / "name").write_text(name + "\n")
    (path / "energy_uj").write_text(f"{energy_uj}\n")
    (path / "max_energy_range_uj").write_text(f"{max_range}\n")
    return path


@pytest.fixture
def powercap(tmp_path: Path) -> Path:
    """A powercap tree shaped like a two-socket Linux server's, with one DRAM domain and psys."""
    root = tmp_path / "powercap"
    make_domain(root / "intel-rapl:0", "package-0", 1_000_000)
    make_domain(root / "intel-rapl:0" / "intel-rapl:0:0", "core", 500_000)
    make_domain(root / "intel-rapl:0" / "intel-rapl:0:1", "dram", 200_000)
    make_domain(root / "intel-rapl:1", "package-1", 3_000_000)
    make_domain(root / "intel-rapl:2", "psys", 9_000_000)
    return root


def advance(domain: Path, microjoules: int, max_range: int | None = None) -> None:
    current = int((domain / "energy_uj").read_text())
    value = current + microjoules
    if max_range is not None:
        value %= max_range
    (domain / "energy_uj").write_text(f"{value}\n")


def test_wrapped_delta_counts_across_a_wrap() -> None:
    assert wrapped_delta(100, 250, 1000) == 150
    assert wrapped_delta(900, 50, 1000) == 150


def test_discovery_takes_packages_and_dram_but_not_psys_or_core(powercap: Path) -> None:
    names = [(d.name, d.component) for d in discover_domains(powercap)]
    assert names == [("package-0", "cpu"), ("dram", "ram"), ("package-1", "cpu")]


def test_rapl_meter_sums_packages_and_reads_dram_as_ram(powercap: Path) -> None:
    meter = RaplMeter(powercap)
    handle = meter.start()
    advance(powercap / "intel-rapl:0", 36_000_000)          # 36 J
    advance(powercap / "intel-rapl:1", 7_200_000)           # 7.2 J
    advance(powercap / "intel-rapl:0" / "intel-rapl:0:1", 3_600_000)  # 3.6 J DRAM
    reading = meter.stop(handle)
    assert reading.cpu_kwh == pytest.approx(43.2 / 3.6e6)
    assert reading.ram_kwh == pytest.approx(3.6 / 3.6e6)
    assert reading.gpu_kwh is None
    assert reading.methods == {"cpu": "rapl", "gpu": "not-measured", "ram": "rapl"}
    assert reading.provenance == "measured"


def test_rapl_meter_handles_counter_wraparound(tmp_path: Path) -> None:
    root = tmp_path / "powercap"
    package = make_domain(root / "intel-rapl:0", "package-0", 999_000, max_range=1_000_000)
    meter = RaplMeter(root)
    handle = meter.start()
    advance(package, 5_000, max_range=1_000_000)   # wraps to 4_000
    reading = meter.stop(handle)
    assert reading.cpu_kwh == pytest.approx(5_000 / 3.6e12)
    assert reading.methods["ram"] == "not-measured"


def test_rapl_meter_flags_a_window_where_counters_did_not_move(powercap: Path) -> None:
    meter = RaplMeter(powercap)
    handle = meter.start()
    time.sleep(0.02)
    assert meter.stop(handle).warnings == ("RAPL counters did not move during this window",)


def test_rapl_meter_without_counters_says_what_to_use(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no RAPL package counters under .*use --energy-meter codecarbon"):
        RaplMeter(tmp_path)


def test_rapl_meter_is_chosen_by_name_and_env(powercap: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLM_ENERGY_POWERCAP_ROOT", str(powercap))
    meter = build_meter("rapl", "USA")
    assert isinstance(meter, RaplMeter) and meter.describe()["provenance"] == "measured"


def test_codecarbon_meter_labels_this_vms_figures_as_estimates() -> None:
    meter = CodeCarbonMeter("FRA")
    meter.warm_up()
    handle = meter.start()
    sum(i * i for i in range(200_000))
    reading = meter.stop(handle)
    meter.close()
    # This VM has no RAPL and no GPU: CodeCarbon estimates CPU from load and RAM as a constant.
    assert reading.methods == {"cpu": "cpu-load-estimate", "gpu": "absent", "ram": "ram-constant-estimate"}
    assert reading.provenance == "estimated"
    assert reading.cpu_kwh > 0 and reading.ram_kwh > 0 and reading.gpu_kwh is None
    assert reading.total_kwh == pytest.approx(reading.cpu_kwh + reading.ram_kwh)
    assert reading.duration_s > 0
    described = meter.describe()
    assert described["provenance"] == "estimated" and "estimates" in described["description"]


def test_codecarbon_meter_writes_no_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    meter = CodeCarbonMeter("USA")
    meter.stop(meter.start())
    meter.close()
    assert list(tmp_path.iterdir()) == []


def test_null_meter_has_time_but_no_energy() -> None:
    meter = build_meter("null", "USA")
    reading = meter.stop(meter.start())
    assert reading.total_kwh is None and reading.provenance == "none" and reading.duration_s >= 0


def test_provenance_words() -> None:
    assert provenance({"cpu": "rapl", "gpu": "nvml", "ram": "not-measured"}) == "measured"
    assert provenance({"cpu": "cpu-load-estimate", "gpu": "absent", "ram": "ram-constant-estimate"}) == "estimated"
    assert provenance({"cpu": "rapl", "gpu": "absent", "ram": "ram-constant-estimate"}) == "mixed"
    assert provenance({"cpu": "not-measured"}) == "none"


def test_reading_scaled_and_baseline_from_reading() -> None:
    reading = EnergyReading(duration_s=2.0, cpu_kwh=2e-6, gpu_kwh=None, ram_kwh=1e-6,
                            methods={"cpu": "rapl", "gpu": "absent", "ram": "rapl"}, meter="rapl")
    half = reading.scaled(0.5)
    assert half.total_kwh == pytest.approx(1.5e-6) and half.duration_s == 1.0
    baseline = PowerBaseline.from_reading(reading)
    assert baseline.cpu_w == pytest.approx(2e-6 * 3.6e6 / 2.0) and baseline.gpu_w is None
    assert baseline.idle_kwh(4.0) == pytest.approx(2 * reading.total_kwh)
    assert EnergyReading.from_dict(reading.to_dict()) == reading


def test_carbon_context_uses_codecarbons_table() -> None:
    france = carbon_context("fra", pue=1.2)
    assert france.country_iso_code == "FRA" and france.country_name == "France"
    assert 20 < france.intensity_g_per_kwh < 120  # a low-carbon, nuclear-heavy grid
    assert france.emissions_kg(1.0) == pytest.approx(1.2 * france.intensity_g_per_kwh / 1000)
    assert france.emissions_kg(None) is None
    with pytest.raises(ConfigError, match="unknown country code 'ZZZ'"):
        carbon_context("ZZZ")


@pytest.mark.parametrize("cpu, gpu, ram", [
    (None, None, None), (1e-6, None, 2e-7), (-0.0, None, None), (None, 3, None), (1, 2, 3),
    (0.1, 0.2, 0.3), (None, None, 0), (2**60, 0.5, None),
])
def test_a_read_reading_totals_as_sum_does(cpu: float | None, gpu: float | None, ram: float | None) -> None:
    # from_dict spells the total out (it runs once per record read): the same value and type as sum().
    reading = EnergyReading.from_dict({"cpu_kwh": cpu, "gpu_kwh": gpu, "ram_kwh": ram, "window_s": 1.0,
                                       "methods": {"cpu": "rapl"}})
    parts = [v for v in (cpu, gpu, ram) if v is not None]
    expected = sum(parts) if parts else None
    assert repr(reading.total_kwh) == repr(expected)
    assert reading == EnergyReading(1.0, cpu, gpu, ram, {"cpu": "rapl"}, "unknown")
    assert reading.total_kwh is None or reading.provenance == "measured"
