"""Input loads: the same task at short, medium and long prompt lengths.

Test ids are ``test_load[<model>-short|medium|long]``. Each prompt is built with the model's
own tokenizer to a target length (64, 384 and 1,536 tokens after the template; the exact count
is the record's ``tokens_input``; a served model without a tokenizer here is counted by its
server, else estimated, as ``extra.load_token_source`` says), from the project's text, so energy and time per prompt
token can be compared across loads. The answer is not scored: the load is the point.
Building the prompt (tokenizing) happens before the energy window opens.
"""

import pytest

from slm_energy_plugin.workload.loads import LOADS, build_model_load_prompt

NEW_TOKENS = 16


@pytest.mark.parametrize("load", LOADS, ids=[load.name for load in LOADS])
def test_load(slm, load):
    built = build_model_load_prompt(load, slm.model)
    slm.observation.extra.update(load=load.name, load_target_tokens=load.target_tokens,
                                 load_text_passes=built.text_passes, load_token_source=built.token_source,
                                 load_prompt_tokens=built.tokens)
    slm.ask(built.prompt, query_id=f"load-{load.name}", task="summary", max_new_tokens=NEW_TOKENS)
    assert built.tokens <= load.target_tokens
    if built.exact:   # in-process: the record's count is the tokenizer's; served: the server's own
        assert slm.last.tokens_input == built.tokens
