"""How fast `slm-energy leaderboard` handles 10,000 leaderboard rows (goal: under 1 s).

Run from the repository root:

    .venv/bin/python benchmarks/perf/leaderboard_perf.py

Writes four LLM-Perf-shaped CSVs (2,500 rows each: 500 invented models x 5 experiments, emoji
headers, some zero sizes and non-numeric cells) into a temporary folder, then times, as the
median of repeats: reading them, the analysis (medians, fits, across-hardware), the text
rendering, the whole command in-process (without plots), and the plots on their own.
Wall clock on a shared machine: orders of magnitude, not assertions.
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from slm_energy_plugin.cli import main  # noqa: E402
from slm_energy_plugin.leaderboard.analysis import analyse  # noqa: E402
from slm_energy_plugin.render.leaderboard_plots import draw  # noqa: E402
from slm_energy_plugin.leaderboard.readers import read_table  # noqa: E402
from slm_energy_plugin.render.leaderboard_tables import render  # noqa: E402
from tests.leaderboard.samples import LLM_PERF_HEADERS  # noqa: E402

from _timing import median_seconds  # noqa: E402

ROWS_PER_FILE = 2_500
MODELS = 500
HARDWARE = ("A10", "A100", "T4", "32vCPU")


def write_files(folder: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    sizes = 10 ** rng.uniform(-1, 2, size=MODELS)
    paths = []
    for index, hardware in enumerate(HARDWARE):
        model = np.arange(ROWS_PER_FILE) % MODELS
        energy = 1e6 / sizes[model] ** (0.55 + 0.05 * index) * 10 ** rng.normal(0, 0.1, ROWS_PER_FILE)
        frame = pd.DataFrame({header: "x" for header in LLM_PERF_HEADERS}, index=range(ROWS_PER_FILE))
        frame["Model 🤗"] = [f"org/model-{m:04d}" for m in model]
        frame["Params (B)"] = np.round(sizes[model])            # the exports' whole billions: some 0
        frame["Energy (tokens/kWh)"] = np.round(energy).astype(object)
        frame.loc[frame.index % 97 == 0, "Energy (tokens/kWh)"] = "OOM"
        frame["Precision 📥"] = np.where(np.arange(ROWS_PER_FILE) % 2, "float16", "bfloat16")
        frame["Quantization 🗜️"] = "Unquantized"
        frame["Backend 🏭"] = "pytorch"
        path = folder / f"llm-perf-{hardware}.csv"
        frame.to_csv(path, index=False)
        paths.append(path)
    return paths


def main_quietly(args: list[str]) -> int:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(args)


def run() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_files(Path(tmp))
        rows = sum(len(pd.read_csv(p)) for p in paths)
        main_quietly(["leaderboard", *map(str, paths)])   # warm: imports and first-call costs
        tables = [read_table(p) for p in paths]
        analysis = analyse(tables)
        read_s = median_seconds(lambda: [read_table(p) for p in paths], 7)
        analyse_s = median_seconds(lambda: analyse(tables), 7)
        render_s = median_seconds(lambda: render("text", analysis, tables, (), []), 7)
        command_s = median_seconds(lambda: main_quietly(["leaderboard", *map(str, paths)]), 7)
        plot_s = median_seconds(lambda: draw(analysis, (), Path(tmp) / "plots"), 3)
        n_points = sum(len(p.points) for p in analysis.panels)
        excluded = sum(len(p.excluded) for p in analysis.panels)
    print(f"rows: {rows} in {len(paths)} LLM-Perf CSVs; points fitted: {n_points}; excluded models: {excluded}")
    print(f"read (4 CSVs)            {read_s * 1e3:8.1f} ms")
    print(f"analyse (medians, fits)  {analyse_s * 1e3:8.1f} ms")
    print(f"render text              {render_s * 1e3:8.1f} ms")
    print(f"whole command, no plots  {command_s * 1e3:8.1f} ms   (goal < 1000 ms)")
    print(f"plots (5 panels, PNG)    {plot_s * 1e3:8.1f} ms")


if __name__ == "__main__":
    run()
