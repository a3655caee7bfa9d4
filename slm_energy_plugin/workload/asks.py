"""What one ``slm.ask`` generates: the rounds' requests, each with everything that shapes its text.

One source for the fixture (which generates these requests one by one inside the test's energy
window) and for the load levels (which generate the same requests ahead, in batches or with
several in flight: see roles/load_run.py). Two requests are the same generation exactly when
their :class:`Ask` values are equal, which is how an answer fetched under load is matched to the
test that asks for it. Pure: no model, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..backends.sampling import Sampling
from ..backends.spec import ModelSpec
from ..backends.stopping import stops_for


@dataclass(frozen=True)
class Ask:
    prompt: str
    max_new_tokens: int
    min_new_tokens: int | None
    sampling: Sampling          # this round's: the base seed + the round index
    stop: tuple[str, ...]


@dataclass(frozen=True)
class AskDefaults:
    """The run's settings an ask falls back on."""

    max_new_tokens: int
    repeat: int
    sampling: Sampling
    stops: bool                 # --energy-stops: the prompt format's stop strings


def ask_rounds(spec: ModelSpec, prompt: str, task: str | None, defaults: AskDefaults, *,
               max_new_tokens: int | None = None, min_new_tokens: int | None = None,
               sampling: Sampling | None = None, stop: tuple[str, ...] | None = None) -> list[Ask]:
    """The ``repeat`` requests one ask makes, in round order."""
    limit = max_new_tokens or defaults.max_new_tokens
    decoding = sampling or defaults.sampling
    stops = stops_for(spec.prompt_style, spec.prompt_template, task, stop) if defaults.stops else ()
    return [Ask(prompt, limit, min_new_tokens, decoding.for_round(r), stops) for r in range(defaults.repeat)]
