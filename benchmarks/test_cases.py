"""Task cases in the seed's test_cases.json format: qa, summary, code and creative writing.

Test ids are ``test_case[<model>-<case id>]``. The cases come from data/test_cases.json, or
the file named by ``--energy-cases``. A case naming a ``model`` runs on that model only; one
without runs on every selected model. Each case runs with its own token limit, sampling
(temperature 0 = greedy; otherwise seeded per round) and stop strings, all recorded. Scoring
(by task type: see slm_energy_plugin/quality/tasks.py and diversity.py) runs outside the
energy windows. Creative writing gets diversity figures, never a right/wrong verdict. A code
case with tests is skipped with one line where generated code cannot run confined.
"""

from slm_energy_plugin.roles.code_sandbox import require_code_sandbox, runs_generated_code
from slm_energy_plugin.workload.run_case import ask_case, score_case


def test_case(request, slm, slm_case):
    if runs_generated_code(request.node):
        require_code_sandbox(request.session)    # no bubblewrap: skipped (or failed) before the model is asked
    ask_case(slm, slm_case)
    scores = score_case(slm, slm_case)
    if scores is not None and scores.get("correct") is False:
        assert scores.get("reason"), "a wrong answer must say why"
