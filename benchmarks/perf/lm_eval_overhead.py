"""Per-document overhead of slm-energy's lm-eval tests against lm-eval's own loop (issue 22).

The same model (a ``@random`` shape, default gpt2@random: GPT-2's 124M architecture with seeded
random weights, built the same way on both sides) and the same local lm-eval task (multiple
choice, 4 choices, --docs documents written to a temporary folder), at batch size 1, alternated
over --rounds rounds:

  lm-eval    lm_eval.evaluator.evaluate(HFLM(model, batch_size=1), task) in a fresh process;
             documents per second = documents / evaluate()'s wall time (request building, every
             log-likelihood, filters and metrics; bootstrap off). The model is built, and evaluate()
             run once on 2 documents as a warm-up, before the clock (slm-energy warms a model up
             outside any window too).
  slm-energy pytest benchmarks/test_lm_eval.py --energy-lm-eval <task> with the default meter
             (CodeCarbon, one window per document) in a fresh process; documents per second =
             (documents - 1) / the tests' wall time (logstart to logfinish, harness_timing.py),
             the first test left out because it loads the model.

Ratio = slm-energy's throughput / lm-eval's, per round (the two sides of a round run back to
back, the order swapped every round); the median and the range over rounds are reported.

    PYTHONPATH=$PWD /work/main/.venv/bin/python benchmarks/perf/lm_eval_overhead.py --docs 30 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from slm_energy_plugin.workload.lm_eval_local import write_local_task

ROOT = Path(__file__).resolve().parents[2]
PERF = Path(__file__).resolve().parent
TASK = "perf_mc"
WORDS = ("the river town keeps its old canal locks busy while boats carry grain wool and timber past "
         "mills that once ground flour for the whole valley").split()
LM_EVAL_SIDE = r'''
import json, sys, time, logging
logging.disable(logging.WARNING)
from slm_energy_plugin.backends.registry import load_registry, select_models
from slm_energy_plugin.backends.shapes import build_random
from pathlib import Path
from lm_eval.evaluator import evaluate
from lm_eval.models.huggingface import HFLM
from lm_eval.tasks import TaskManager
model_name, include, task = sys.argv[1:4]
spec = select_models((model_name,), load_registry(), Path.cwd())[0]
model, tokenizer, _, _ = build_random(spec, "cpu")
lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=1)
loaded = TaskManager(include_path=include).load([task])
for t in loaded["tasks"].values():
    t.set_config(key="num_fewshot", value=0)
    t.set_fewshot_seed(seed=1234)
evaluate(lm=lm, task_dict=loaded, limit=2, bootstrap_iters=0, log_samples=False)   # warm-up, off the clock
begin = time.perf_counter()
result = evaluate(lm=lm, task_dict=loaded, bootstrap_iters=0, log_samples=False)
seconds = time.perf_counter() - begin
print(json.dumps({"seconds": seconds, "docs": len(loaded["tasks"][task].eval_docs),
                  "acc": result["results"][task]["acc,none"]}))
'''


def write_task(folder: Path, docs: int) -> Path:
    rnd = random.Random(7)
    documents = []
    for _ in range(docs):
        question = " ".join(rnd.choice(WORDS) for _ in range(40)) + "?"
        choices = [" ".join(rnd.choice(WORDS) for _ in range(rnd.randint(2, 5))) for _ in range(4)]
        documents.append({"question": question, "choices": choices, "answer": rnd.randrange(4)})
    return write_local_task(folder, TASK, documents)


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(PERF)]), "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def run_lm_eval(model: str, include: Path) -> float:
    out = subprocess.run([sys.executable, "-c", LM_EVAL_SIDE, model, str(include), TASK], capture_output=True,
                         text=True, env=env(), cwd=ROOT, check=True)
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return float(data["docs"]) / float(data["seconds"])


def run_slm_energy(model: str, include: Path, work: Path) -> float:
    timing = work / "timing.json"
    cmd = [sys.executable, "-m", "pytest", str(ROOT / "benchmarks" / "test_lm_eval.py"), "-q", "-p", "harness_timing",
           "-p", "no:cacheprovider", "--energy-models", model, "--energy-lm-eval", TASK,
           "--energy-lm-eval-include", str(include), "--energy-results-dir", str(work / "results"),
           "--energy-idle-seconds", "0", "--rootdir", str(ROOT)]
    subprocess.run(cmd, capture_output=True, text=True, env={**env(), "HARNESS_TIMING_OUT": str(timing)}, cwd=ROOT,
                   check=True)
    tests = json.loads(timing.read_text())["tests"]
    times = [seconds for nodeid, seconds in tests.items() if "test_lm_eval[" in nodeid]
    return (len(times) - 1) / sum(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gpt2@random")
    parser.add_argument("--docs", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lm-eval-perf-") as tmp:
        work = Path(tmp)
        include = write_task(work / "tasks", args.docs)
        ratios, ours_all, theirs_all = [], [], []
        for r in range(args.rounds):
            sides = ["lm-eval", "slm-energy"] if r % 2 == 0 else ["slm-energy", "lm-eval"]
            found: dict[str, float] = {}
            for side in sides:
                begin = time.perf_counter()
                found[side] = (run_lm_eval(args.model, include) if side == "lm-eval"
                               else run_slm_energy(args.model, include, work))
                print(f"round {r + 1} {side}: {found[side]:.3f} docs/s ({time.perf_counter() - begin:.0f} s)",
                      flush=True)
            ratios.append(found["slm-energy"] / found["lm-eval"])
            ours_all.append(found["slm-energy"])
            theirs_all.append(found["lm-eval"])
            print(f"round {r + 1} ratio slm-energy / lm-eval: {ratios[-1]:.3f}", flush=True)
        print(json.dumps({
            "model": args.model, "docs": args.docs, "rounds": args.rounds,
            "lm_eval_docs_per_s_median": statistics.median(theirs_all),
            "slm_energy_docs_per_s_median": statistics.median(ours_all),
            "ratio_median": statistics.median(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios),
            "ratios": ratios,
        }, indent=2))


if __name__ == "__main__":
    main()
