"""Throughput preserved: the suite's generation rate on gpt2@random against a bare model.generate loop.

Same model (the gpt2 shape built from the same config and seed), same prompts (the first --queries
queries of data/queries.txt, rendered with the registry's template, tokenized by the same tokenizer),
same settings (greedy, exactly --tokens new tokens, torch.inference_mode), same process and torch
threads. The suite (a pytest session on benchmarks/test_math.py, default CodeCarbon meter) and the
bare loop alternate --rounds times. Figures per round, then the median of the per-round ratios:

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


def suite_round(results: Path, queries: int, tokens: int, meter: str) -> dict[str, float]:
    import pytest

    before = set(results.glob("*/environmental_data_gpt2@random.json"))
    selection = " or ".join(f"q{i:03d}" for i in range(1, queries + 1))
    code = pytest.main([str(ROOT / "benchmarks" / "test_math.py"), "-q", "-p", "no:cacheprovider",
                        "--energy-models", "gpt2@random", "--energy-max-new-tokens", str(tokens),
                        "--energy-meter", meter, "--energy-idle-seconds", "0", "--energy-offline",
                        "--energy-results-dir", str(results), "-k", selection, "--benchmark-disable"])
    if code != 0:
        raise SystemExit(f"suite session failed with exit code {code}")
    [path] = set(results.glob("*/environmental_data_gpt2@random.json")) - before
    history = json.loads(path.read_text())["query_history"]
    return {
        "generate_tokens_per_s": statistics.median(q["tokens_output"] / q["extra"]["generation_s"] for q in history),
        "window_tokens_per_s": statistics.median(q["tokens_output"] / q["duration_s"] for q in history),
        "decode_tokens_per_s": statistics.median(q["extra"]["decode_tokens_per_s"] for q in history),
    }


class BareLoop:
    """model.generate on the same shape, seed, prompts and settings; nothing else."""

    def __init__(self, queries: int, tokens: int) -> None:
        import torch
        from transformers import AutoModelForCausalLM

        from slm_energy_plugin.models.registry import load_registry, select_models
        from slm_energy_plugin.models.shapes import SEED, build_config, stand_in_tokenizer
        from slm_energy_plugin.queries import load_queries

        [spec] = select_models(("gpt2@random",), load_registry(), ROOT)
        torch.manual_seed(SEED)
        self.model = AutoModelForCausalLM.from_config(build_config(spec), dtype=torch.float32).eval()
        self.tokenizer = stand_in_tokenizer(chat=False)
        prompts = [spec.prompt_template.format(query=q.prompt) for q in load_queries(None, None)[:queries]]
        self.encoded = [self.tokenizer(p, return_tensors="pt") for p in prompts]
        self.tokens = tokens
        self.run(1)   # warm-up, as the suite's --energy-warmup 1

    def _generate(self, encoded, tokens: int) -> float:
        import torch

        start = time.perf_counter()
        with torch.inference_mode():
            self.model.generate(**encoded, max_new_tokens=tokens, min_new_tokens=tokens, do_sample=False,
                                pad_token_id=50256)
        return time.perf_counter() - start

    def run(self, tokens: int) -> list[float]:
        return [self._generate(encoded, tokens) for encoded in self.encoded]

    def round(self) -> dict[str, float]:
        full = self.run(self.tokens)
        first = self.run(1)
        return {
            "generate_tokens_per_s": statistics.median(self.tokens / t for t in full),
            "decode_tokens_per_s": statistics.median((self.tokens - 1) / (t - t1) for t, t1 in zip(full, first)),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--queries", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--meter", default="codecarbon")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import torch

    results = Path(tempfile.mkdtemp(prefix="slm-throughput-"))
    bare = BareLoop(args.queries, args.tokens)
    rounds = []
    for i in range(args.rounds):
        suite = suite_round(results, args.queries, args.tokens, args.meter)
        loop = bare.round()
        rounds.append({"suite": suite, "bare": loop})
        print(f"round {i + 1}: suite {suite} bare {loop}", flush=True)
    ratio = {key: statistics.median(r["suite"][key] / r["bare"][key] for r in rounds)
             for key in ("generate_tokens_per_s", "decode_tokens_per_s")}
    ratio["window_vs_bare_generate"] = statistics.median(
        r["suite"]["window_tokens_per_s"] / r["bare"]["generate_tokens_per_s"] for r in rounds)
    figures = {"rounds": rounds, "ratio_suite_over_bare": ratio, "torch_threads": torch.get_num_threads(),
               "queries": args.queries, "tokens": args.tokens, "meter": args.meter}
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
