"""What the harness itself costs per test and in memory, against no plugin and against pytest-codecarbon.

The same math tests (every query of data/queries.txt) on the same model (tiny-gpt2, greedy, exactly
--tokens new tokens) run as separate pytest sessions, alternated over --rounds rounds:

  codecarbon   slm-energy with its default meter (CodeCarbon task API, one window per test)
  null         slm-energy with the null meter (time and tokens only)
  null-nobench slm-energy, null meter, --benchmark-disable (pytest-benchmark's pedantic wrapper off)
  bare         no slm-energy at all (-p no:slm_energy): a conftest loads the same model folder with
               transformers and generates the same way; nothing is measured
  peer         bare + pytest-codecarbon 1.0.0 (--carbon): one EmissionsTracker start/stop per test

Per test: wall time from logstart to logfinish (setup + call + teardown + report hooks), from the
harness_timing plugin, minus the time inside model.generate (slm-energy's generation_s; the bare
conftest times the same call), so the model's own run-to-run noise drops out; per-test overhead =
median over tests of (config - bare), tests paired by query, each test's median over the rounds.
The meter's own cost is its start + stop time per window, timed where it runs (harness_timing wraps
the meter classes) and, for reference, in a quiet loop around nothing. Peak RSS per session (sampled
every 5 ms) gives the memory overhead. Finally the per-test energies pytest-codecarbon wrote are
compared with what slm-energy measured for the same tests with the same library.

pytest-codecarbon is not a dependency: it is installed with pip into a private folder under the
cache (--target, no deps; its deps codecarbon and pandas are already installed) and put on PYTHONPATH
for the peer sessions only, so the shared environment is unchanged.

    PYTHONPATH=$PWD /work/main/.venv/bin/python benchmarks/perf/harness_overhead.py
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PERF = Path(__file__).resolve().parent
TEST_FILE = '''
def test_math_query(slm, math_query):
    slm.ask(math_query)
'''
BARE_CONFTEST = '''
"""No slm-energy: the same model, prompts and generation settings, nothing measured."""
import json
import os
import time

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

MODEL_DIR = {model_dir!r}
TOKENS = {tokens}
TEMPLATE = {template!r}
QUERIES = [line.strip() for line in open({queries!r}, encoding="utf-8") if line.strip()]
GENERATE_S = {{}}   # query -> seconds inside model.generate, written for the harness at the end


class Bare:
    def __init__(self):
        self.tokenizer = AutoTokenizer.from_pretrained(MODEL_DIR)
        self.model = AutoModelForCausalLM.from_pretrained(MODEL_DIR).eval()
        self.model.generate(**self.tokenizer("Warm-up: what is 1 + 1?", return_tensors="pt"),
                            max_new_tokens=TOKENS, min_new_tokens=TOKENS, do_sample=False,
                            pad_token_id=self.tokenizer.eos_token_id)

    def ask(self, query):
        encoded = self.tokenizer(TEMPLATE.format(query=query), return_tensors="pt")
        start = time.perf_counter()
        with torch.inference_mode():
            out = self.model.generate(**encoded, max_new_tokens=TOKENS, min_new_tokens=TOKENS, do_sample=False,
                                      pad_token_id=self.tokenizer.eos_token_id)
        GENERATE_S[query] = time.perf_counter() - start
        return self.tokenizer.decode(out[0, encoded["input_ids"].shape[1]:], skip_special_tokens=True)


@pytest.fixture(scope="session")
def slm():
    return Bare()


@pytest.fixture(params=QUERIES, ids=[f"q{{i:03d}}" for i in range(1, len(QUERIES) + 1)])
def math_query(request):
    return request.param


def pytest_sessionfinish(session):
    ids = {{query: f"q{{i:03d}}" for i, query in enumerate(QUERIES, start=1)}}
    with open(os.environ["HARNESS_GENERATE_OUT"], "w", encoding="utf-8") as handle:
        json.dump({{ids[q]: s for q, s in GENERATE_S.items()}}, handle)
'''


def peer_site(cache: Path) -> Path:
    """pytest-codecarbon 1.0.0 in a private folder (installed once)."""
    site = cache / "peer-site"
    if not (site / "pytest_codecarbon.py").is_file():
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site),
                        "pytest-codecarbon==1.0.0"], check=True)
    return site


def run_session(name: str, project: Path, args: list[str], env: dict[str, str], out: Path) -> dict:
    stamp = time.monotonic_ns()
    timing, generate = out / f"{name}-{stamp}.json", out / f"{name}-{stamp}-generate.json"
    results = out / f"results-{name}-{stamp}"
    env = dict(env, HARNESS_TIMING_OUT=str(timing), HARNESS_GENERATE_OUT=str(generate))
    args = [a if a != "RESULTS_DIR" else str(results) for a in args]
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "harness_timing", *args]
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    data = json.loads(timing.read_text())
    data["wall_s"] = wall
    data["tests"] = {key.rsplit("-", 1)[-1].rstrip("]").split("[")[-1]: value for key, value in data["tests"].items()}
    if generate.is_file():   # no plugin: the bare conftest timed model.generate itself
        data["generate"] = json.loads(generate.read_text())
    else:                    # slm-energy: generation_s is the time inside model.generate
        [path] = results.glob("*/environmental_data_tiny-gpt2.json")
        data["model_json"] = json.loads(path.read_text())
        data["generate"] = {q["query_id"]: q["extra"]["generation_s"] for q in data["model_json"]["query_history"]}
    # What a test costs beyond the model's own work: the harness (and pytest).
    data["outside"] = {k: data["tests"][k] - data["generate"][k] for k in data["tests"] if k in data["generate"]}
    return data


def meter_cost(windows: int = 200) -> dict[str, float]:
    """Median cost of one CodeCarbon task window (start + stop around nothing), the meter's own cost."""
    from slm_energy_plugin.energy import build_meter

    meter = build_meter("codecarbon", "USA")
    meter.warm_up()
    costs = []
    for _ in range(windows):
        begin = time.perf_counter()
        meter.stop(meter.start())
        costs.append(time.perf_counter() - begin)
    meter.close()
    null = build_meter("null", "USA")
    null_costs = []
    for _ in range(windows):
        begin = time.perf_counter()
        null.stop(null.start())
        null_costs.append(time.perf_counter() - begin)
    return {"codecarbon_window_ms": statistics.median(costs) * 1e3,
            "null_window_ms": statistics.median(null_costs) * 1e3}


def paired_overhead_ms(config: list[dict], bare: list[dict], field: str = "outside") -> float:
    """Median over tests of (median ``field`` time in config - the same in bare), in ms."""
    def per_test(runs: list[dict]) -> dict[str, float]:
        keys = set.intersection(*(set(r[field]) for r in runs))
        return {k: statistics.median(r[field][k] for r in runs) for k in keys}

    a, b = per_test(config), per_test(bare)
    shared = sorted(set(a) & set(b) - {"q001"})   # q001's setup loads the model: not a per-test cost
    return statistics.median(a[k] - b[k] for k in shared) * 1e3


def peer_energies(carbon_dir: Path) -> list[dict[str, str]]:
    with open(carbon_dir / "emissions.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=4)
    parser.add_argument("--json", type=Path, help="write all figures here")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from slm_energy_plugin.backends.registry import load_registry
    from slm_energy_plugin.backends.tiny import ensure_tiny
    from slm_energy_plugin.paths import cache_dir

    model_dir = ensure_tiny("tiny-gpt2", "gpt2")
    template = load_registry().specs["tiny-gpt2"].prompt_template
    work = Path(tempfile.mkdtemp(prefix="slm-harness-"))
    plugin_project, bare_project = work / "plugin", work / "bare"
    queries = ROOT / "data" / "queries.txt"
    for project in (plugin_project, bare_project):
        project.mkdir()
        (project / "test_math.py").write_text(TEST_FILE)
        (project / "pytest.ini").write_text("[pytest]\n")
    (bare_project / "conftest.py").write_text(BARE_CONFTEST.format(
        model_dir=str(model_dir), tokens=args.tokens, template=template, queries=str(queries)))
    site = peer_site(cache_dir())
    base_env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(PERF)]), HF_HUB_OFFLINE="1")
    peer_env = dict(base_env, PYTHONPATH=os.pathsep.join([str(ROOT), str(PERF), str(site)]))
    plugin_args = ["--energy-models", "tiny-gpt2", "--energy-max-new-tokens", str(args.tokens),
                   "--energy-queries", str(queries), "--energy-idle-seconds", "0", "--energy-offline",
                   "--energy-results-dir", "RESULTS_DIR"]
    configs = {
        "codecarbon": (plugin_project, plugin_args + ["--energy-meter", "codecarbon"], base_env),
        "null": (plugin_project, plugin_args + ["--energy-meter", "null"], base_env),
        "null-nobench": (plugin_project, plugin_args + ["--energy-meter", "null", "--benchmark-disable"], base_env),
        "bare": (bare_project, ["-p", "no:slm_energy"], base_env),
        "peer": (bare_project, ["-p", "no:slm_energy", "--carbon", "--carbon-dir", "PEER_DIR"], peer_env),
    }
    runs: dict[str, list[dict]] = {name: [] for name in configs}
    peer_dirs = []
    for round_no in range(args.rounds):
        for name, (project, config_args, env) in configs.items():
            if name == "peer":
                peer_dir = work / f"peer-{round_no}"
                peer_dirs.append(peer_dir)
                config_args = [a if a != "PEER_DIR" else str(peer_dir) for a in config_args]
            runs[name].append(run_session(name, project, config_args, env, work))
            print(f"round {round_no + 1} {name}: {runs[name][-1]['wall_s']:.1f} s", flush=True)

    costs = meter_cost()
    figures: dict = {"rounds": args.rounds, "tokens": args.tokens, "tests": len(runs["bare"][0]["tests"]),
                     "meter": costs, "per_test_ms": {}, "outside_generate_ms": {}, "overhead_ms": {},
                     "wall_overhead_ms": {}, "peak_rss_mb": {}}
    for name, config_runs in runs.items():
        figures["per_test_ms"][name] = statistics.median(
            statistics.median(list(r["tests"].values())) for r in config_runs) * 1e3
        figures["outside_generate_ms"][name] = statistics.median(
            statistics.median(list(r["outside"].values())) for r in config_runs) * 1e3
        figures["peak_rss_mb"][name] = statistics.median(r["peak_rss_mb"] for r in config_runs)
        if name != "bare":
            figures["overhead_ms"][name] = paired_overhead_ms(config_runs, runs["bare"])
            figures["wall_overhead_ms"][name] = paired_overhead_ms(config_runs, runs["bare"], "tests")
    # The meter's own cost where it runs: start + stop per window, timed in the test sessions
    # (calls after the model's warm-up and load windows; pairs of calls are one window).
    for name in ("codecarbon", "null", "null-nobench"):
        pairs = []
        for r in runs[name]:
            calls = r["meter_calls_s"][-2 * figures["tests"]:]
            pairs += [a + b for a, b in zip(calls[::2], calls[1::2])]
        figures["meter"][f"{name}_in_situ_window_ms"] = statistics.median(pairs) * 1e3
    figures["beyond_meter_ms"] = {name: figures["overhead_ms"][name] - figures["meter"][f"{name}_in_situ_window_ms"]
                                  for name in ("codecarbon", "null", "null-nobench")}
    figures["rss_overhead_mb"] = {name: figures["peak_rss_mb"][name] - figures["peak_rss_mb"]["bare"]
                                  for name in runs if name != "bare"}
    figures["peer_check"] = check_peer(peer_dirs[-1], runs["codecarbon"][-1]["model_json"], runs["peer"][-1])
    shutil.rmtree(work, ignore_errors=True)
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


def check_peer(peer_dir: Path, ours: dict, peer_run: dict) -> dict:
    """pytest-codecarbon's per-test rows against slm-energy's per-query windows on the same tests."""
    rows = peer_energies(peer_dir)
    our_kwh = {q["query_id"]: q["energy_kwh"] for q in ours["query_history"]}
    peer_kwh = {row["project_name"].split("[")[-1].rstrip("]"): float(row["energy_consumed"]) for row in rows}
    durations = [float(row["duration"]) for row in rows]
    cpu_energy = [float(row["cpu_energy"]) for row in rows]
    shared = sorted(set(our_kwh) & set(peer_kwh) - {"q001"})
    ratios = [peer_kwh[k] / our_kwh[k] for k in shared if our_kwh[k]]
    wall = peer_run["tests"]
    return {
        "rows": len(rows),
        "first_test_kwh_peer": peer_kwh.get("q001"),
        "median_other_tests_kwh_peer": statistics.median(peer_kwh[k] for k in shared) if shared else None,
        "median_kwh_ours": statistics.median(our_kwh[k] for k in shared) if shared else None,
        "median_ratio_peer_over_ours": statistics.median(ratios) if ratios else None,
        "negative_durations": sum(1 for d in durations if d < 0),
        "median_abs_duration_s_peer": statistics.median(abs(d) for d in durations),
        "median_wall_s_per_test": statistics.median(wall.values()),
        "cpu_energy_monotonic": all(b >= a for a, b in zip(cpu_energy, cpu_energy[1:])),
        "cpu_energy_last_over_sum_of_energy": cpu_energy[-1] / sum(peer_kwh.values()) if peer_kwh else None,
    }


if __name__ == "__main__":
    raise SystemExit(main())
