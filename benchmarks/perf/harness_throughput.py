"""Throughput preserved: the suite's generation rate on gpt2@random against a bare model.generate loop.

Same model (the gpt2 shape built from the same config and seed), same prompts (the first --queries
queries of data/queries.txt, rendered with the registry's template, tokenized by the same tokenizer),
same settings (greedy, exactly --tokens new tokens, torch.inference_mode), same process and torch
threads. The suite runs as --rounds pytest sessions on benchmarks/test_math.py (default CodeCarbon
meter); inside them the bare loop runs each test's query right before (odd tests) or right after
(even tests) the test, so both see the same machine load. Figures per query, then the median of
the per-query ratios suite / bare:

  generate tokens/s   tokens / seconds of the generate() call (suite: extra.generation_s; bare: timed
                      around model.generate)
  window tokens/s     suite only: tokens / the energy window (meter start/stop included)
  decode tokens/s     suite: from the streamer timestamps (later tokens / their time); bare:
                      (tokens - 1) / (time of a --tokens generation - time of a 1-token generation)

    PYTHONPATH=$PWD /work/main/.venv/bin/python benchmarks/perf/harness_throughput.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class BareLoop:
    """model.generate on the same shape, seed, prompts and settings; nothing else."""

    def __init__(self, queries: int, tokens: int) -> None:
        import torch
        from transformers import AutoModelForCausalLM

        from slm_energy_plugin.backends.registry import load_registry, select_models
        from slm_energy_plugin.backends.shapes import SEED, build_config, stand_in_tokenizer
        from slm_energy_plugin.workload.queries import load_queries

        [spec] = select_models(("gpt2@random",), load_registry(), ROOT)
        torch.manual_seed(SEED)
        self.model = AutoModelForCausalLM.from_config(build_config(spec), dtype=torch.float32).eval()
        self.tokenizer = stand_in_tokenizer(chat=False)
        self.encoded = {q.id: self.tokenizer(spec.prompt_template.format(query=q.prompt), return_tensors="pt")
                        for q in load_queries(None, None)[:queries]}
        self.tokens = tokens
        self.results: dict[str, dict[str, float]] = {}
        self._generate(next(iter(self.encoded.values())), tokens)   # warm-up, as the suite's --energy-warmup 1

    def _generate(self, encoded, tokens: int) -> float:
        import torch

        start = time.perf_counter()
        with torch.inference_mode():
            self.model.generate(**encoded, max_new_tokens=tokens, min_new_tokens=tokens, do_sample=False,
                                pad_token_id=50256)
        return time.perf_counter() - start

    def query(self, query_id: str) -> None:
        full = self._generate(self.encoded[query_id], self.tokens)
        first = self._generate(self.encoded[query_id], 1)
        self.results[query_id] = {"generate_tokens_per_s": self.tokens / full,
                                  "decode_tokens_per_s": (self.tokens - 1) / (full - first)}


class Alternator:
    """Runs the bare loop on each test's query right before (odd tests) or after (even tests) the test."""

    def __init__(self, bare: BareLoop) -> None:
        self.bare = bare
        self.count = 0

    @staticmethod
    def _query_id(nodeid: str) -> str | None:
        return nodeid.rsplit("-", 1)[-1].rstrip("]") if "gpt2@random" in nodeid else None

    def pytest_runtest_logstart(self, nodeid, location):
        self.count += 1
        query_id = self._query_id(nodeid)
        if query_id and self.count % 2:
            self.bare.query(query_id)

    def pytest_runtest_logfinish(self, nodeid, location):
        query_id = self._query_id(nodeid)
        if query_id and not self.count % 2:
            self.bare.query(query_id)


def suite_session(results: Path, bare: BareLoop, queries: int, tokens: int, meter: str) -> list[dict]:
    """One pytest session of the suite with the bare loop interleaved; per-query paired figures."""
    import pytest

    before = set(results.glob("*/environmental_data_gpt2@random.json"))
    selection = " or ".join(f"q{i:03d}" for i in range(1, queries + 1))
    bare.results = {}
    code = pytest.main([str(ROOT / "benchmarks" / "test_math.py"), "-q", "-p", "no:cacheprovider",
                        "--energy-models", "gpt2@random", "--energy-max-new-tokens", str(tokens),
                        "--energy-meter", meter, "--energy-idle-seconds", "0", "--energy-offline",
                        "--energy-results-dir", str(results), "-k", selection, "--benchmark-disable"],
                       plugins=[Alternator(bare)])
    if code != 0:
        raise SystemExit(f"suite session failed with exit code {code}")
    [path] = set(results.glob("*/environmental_data_gpt2@random.json")) - before
    pairs = []
    for q in json.loads(path.read_text())["query_history"]:
        suite = {"generate_tokens_per_s": q["tokens_output"] / q["extra"]["generation_s"],
                 "window_tokens_per_s": q["tokens_output"] / q["duration_s"],
                 "decode_tokens_per_s": q["extra"]["decode_tokens_per_s"]}
        pairs.append({"query_id": q["query_id"], "suite": suite, "bare": bare.results[q["query_id"]]})
    return pairs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--meter", default="codecarbon")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import torch

    results = Path(tempfile.mkdtemp(prefix="slm-throughput-"))
    bare = BareLoop(args.queries, args.tokens)
    pairs = []
    for i in range(args.rounds):
        pairs += suite_session(results, bare, args.queries, args.tokens, args.meter)
    ratio = {key: statistics.median(p["suite"][key] / p["bare"][key] for p in pairs)
             for key in ("generate_tokens_per_s", "decode_tokens_per_s")}
    ratio["window_vs_bare_generate"] = statistics.median(
        p["suite"]["window_tokens_per_s"] / p["bare"]["generate_tokens_per_s"] for p in pairs)
    medians = {side: {key: statistics.median(p[side][key] for p in pairs) for key in pairs[0][side]}
               for side in ("suite", "bare")}
    figures = {"ratio_suite_over_bare": ratio, "medians": medians, "pairs": len(pairs),
               "torch_threads": torch.get_num_threads(), "sessions": args.rounds, "queries": args.queries,
               "tokens": args.tokens, "meter": args.meter, "per_query": pairs}
    text = json.dumps(figures, indent=2)
    print(json.dumps({k: v for k, v in figures.items() if k != "per_query"}, indent=2))
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
