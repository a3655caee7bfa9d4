"""Any lm-evaluation-harness task, with energy per document (issue 22).

``pytest benchmarks/test_lm_eval.py --energy-lm-eval gsm8k --energy-lm-eval-limit 50`` runs each
document of each named task (or group) on every selected model; test ids are
``test_lm_eval[<model>-<task>-<doc index>]``. All of a document's requests (log-likelihoods of
every choice, rolling log-likelihoods, generations) run in one energy window; the task's own
filters and metrics score it outside the window (slm_energy_plugin/workload/lm_eval.py). Without
``--energy-lm-eval`` this module runs nothing and lm-eval is never imported. See docs/lm-eval.md.
"""

import pytest


def test_lm_eval(slm, lm_eval_doc):
    from slm_energy_plugin.workload.lm_eval import run_document, skip_reason

    reason = skip_reason(slm, lm_eval_doc)
    if reason is not None:
        pytest.skip(reason)
    result = run_document(slm, lm_eval_doc)
    assert result.metrics, "lm-eval's process_results gave no metric"
