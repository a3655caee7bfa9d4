"""Issue 22, left over: corpus-level lm-eval metrics (BLEU, perplexity) are aggregated by lm-eval's
own functions over all documents, not shown as "see lm_eval" and not averaged per document.

A real pytest run of benchmarks/test_lm_eval.py on a local generate_until task scored by BLEU and a
local loglikelihood_rolling task (word perplexity), then ``lm_eval.simple_evaluate(--model hf)`` on
the same tiny model folder: the run's summary and ``slm-energy compare`` show lm-eval's numbers.
The references share pieces with what the untrained model writes, so BLEU is neither 0 nor 100 and
differs from the mean of the per-document scores.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import run_dirs

pytest.importorskip("lm_eval", reason="the [lm-eval] extra is not installed")
# Imported before any in-process inner run: `datasets` cannot be imported twice in one process.
import datasets  # noqa: E402,F401
import lm_eval.evaluator  # noqa: E402,F401
import lm_eval.models.huggingface  # noqa: E402,F401
import lm_eval.tasks  # noqa: E402,F401

ROOT = Path(__file__).resolve().parents[2]
DOCS = [
    {"question": "What is 3 + 4?", "answer": "::: :: 7"},
    {"question": "Name a colour.", "answer": "red ::::"},
    {"question": "Say hi", "answer": "::::: hi"},
]
# lm-eval's own task YAML format, reading local JSON lines through `datasets`.
COMMON = """\
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
"""
BLEU_YAML = """\
task: local_bleu
{common}output_type: generate_until
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_target: "{{{{answer}}}}"
generation_kwargs:
  until: ["\\n"]
  max_gen_toks: 6
  do_sample: false
metric_list:
  - metric: bleu
    aggregation: bleu
    higher_is_better: true
"""
PERPLEXITY_YAML = """\
task: local_ppl
{common}output_type: loglikelihood_rolling
doc_to_text: ""
doc_to_target: "{{{{question}}}} {{{{answer}}}}"
metric_list:
  - metric: word_perplexity
  - metric: bits_per_byte
"""


def _write_corpus_tasks(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "docs.jsonl"
    data.write_text("".join(json.dumps(d) + "\n" for d in DOCS), encoding="utf-8")
    common = COMMON.format(data=data)
    (folder / "local_bleu.yaml").write_text(BLEU_YAML.format(common=common), encoding="utf-8")
    (folder / "local_ppl.yaml").write_text(PERPLEXITY_YAML.format(common=common), encoding="utf-8")
    return folder


def test_corpus_level_metrics_equal_lm_eval_hf(bench_project: pytest.Pytester, tiny_cache: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(bench_project.path / "hf-datasets"))
    shutil.copy(ROOT / "benchmarks" / "test_lm_eval.py", bench_project.path / "test_lm_eval.py")
    from slm_energy_plugin.backends.tiny import ensure_tiny

    folder = ensure_tiny("tiny-gpt2", "gpt2", root=tiny_cache / "tiny")
    tasks = _write_corpus_tasks(bench_project.path / "tasks")
    result = bench_project.runpytest("test_lm_eval.py", "--energy-models", str(folder), "--energy-lm-eval",
                                     "local_bleu,local_ppl", "--energy-lm-eval-include", str(tasks),
                                     "--energy-meter", "null")
    result.assert_outcomes(passed=2 * len(DOCS))

    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    theirs = simple_evaluate(model="hf", model_args=f"pretrained={folder}", tasks=["local_bleu", "local_ppl"],
                             task_manager=TaskManager(include_path=str(tasks)), batch_size=1, device="cpu",
                             bootstrap_iters=0)
    assert theirs is not None
    bleu = theirs["results"]["local_bleu"]["bleu,none"]
    perplexity = theirs["results"]["local_ppl"]["word_perplexity,none"]
    per_document_bleu = [s["bleu"] for s in theirs["samples"]["local_bleu"]]
    assert 0 < bleu < 100   # a corpus score that says something, unlike 0 == 0

    # Full precision: the records' values through the same path the tables take.
    from slm_energy_plugin.quality.task_metrics import task_aggregates
    from slm_energy_plugin.render.lm_eval_tables import lm_eval_corpus_aggregate
    from slm_energy_plugin.results.storage import load_run_dir

    [run_dir] = run_dirs(bench_project.path)
    rows = {row.task: row for row in task_aggregates(load_run_dir(run_dir), lm_eval_corpus_aggregate)}
    assert rows["local_bleu"].value == pytest.approx(bleu, rel=1e-12)
    assert rows["local_ppl"].value == pytest.approx(perplexity, rel=1e-9)
    assert rows["local_bleu"].n == rows["local_ppl"].n == len(DOCS)
    # Not the mean of per-document BLEU (what averaging the documents would have shown).
    from lm_eval.api.metrics import bleu as lm_eval_bleu

    mean_of_documents = sum(lm_eval_bleu([item]) for item in per_document_bleu) / len(DOCS)
    assert mean_of_documents != pytest.approx(bleu, rel=1e-6)

    # Shown in the session summary and by `slm-energy compare` alike, to three decimals.
    compared = bench_project.run(sys.executable, "-m", "slm_energy_plugin.cli", "compare", str(run_dir))
    assert compared.ret == 0, compared.stderr.str()
    for lines in (result.outlines, compared.outlines):
        table = {line.split()[0]: line for line in lines if line.startswith(("local_bleu ", "local_ppl "))}
        assert f"{bleu:.3f} (bleu, corpus)" in table["local_bleu"], table
        assert f"{perplexity:.3f} (weighted_perplexity, corpus)" in table["local_ppl"], table
        assert not any("see lm_eval" in line for line in lines)
