"""A loaded model that answers prompts and accounts for every token and second.

One ``generate`` call gives the response, input tokens (chat template included), output
tokens, time to first token and decode time: the timestamps come from a streamer that
``generate`` calls once for the prompt and once per new token, so no second run is needed.
The generate arguments and the accounting of new tokens live in :mod:`.generation`, shared
with the batched path (:mod:`.batched`).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from ..results.records import ModelInfo
from .backend_registry import Backend, BackendRequest
from .generation import Generation as Generation   # re-exported: callers import it from here
from .generation import TimingStreamer, build_generation, generate_kwargs, step_timing
from .quiet import quiet_transformers
from .sampling import Sampling, seed_generator
from .spec import ModelSpec


class PromptTooLong(ValueError):
    """The prompt plus the tokens to generate exceed the model's positions."""


def resolve_device(requested: str) -> str:
    import torch

    if requested != "auto":
        return requested
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


class LoadedModel:
    """A model and tokenizer in memory, with the spec it came from."""

    def __init__(self, spec: ModelSpec, model: Any, tokenizer: Any, device: str, source_path: str) -> None:
        self.spec = spec
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.source_path = source_path
        self.eos_ids = self._eos_ids()
        # Random-weight models generate exactly max_new_tokens (min = max): the work equals the
        # real model's for the same token counts, whatever token the random weights favour.
        self.forced_length = spec.source == "random"
        self.notes: tuple[str, ...] = ()

    @property
    def alias(self) -> str:
        return self.spec.alias

    @property
    def parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    @property
    def weight_bytes(self) -> int:
        """Bytes of all parameters (a tied embedding counted once)."""
        return sum(p.numel() * p.element_size() for p in self.model.parameters())

    @property
    def decode_bytes_per_token(self) -> int:
        """Weight bytes one decode step reads: all of them except input-embedding tables that are
        only indexed (one row per token), unless a table doubles as the output head (GPT-2)."""
        import torch

        output = self.model.get_output_embeddings()
        head = output.weight if output is not None else None
        skipped = 0
        for module in self.model.modules():
            if isinstance(module, torch.nn.Embedding) and module.weight is not head:
                skipped += module.weight.numel() * module.weight.element_size()
        return self.weight_bytes - skipped

    def info(self, generation: dict[str, Any]) -> ModelInfo:
        notes: tuple[str, ...] = self.notes
        if self.spec.weights.startswith("untrained"):
            notes = ("untrained tiny model built by slm-energy: cost is real, answers are not",)
        adapter = self.spec.adapter
        if adapter is not None:
            notes += (f"LoRA adapter {adapter.name} on base {adapter.base_model_id}, "
                      f"{'merged into the base weights (merge_and_unload)' if adapter.merged else 'unmerged'}",)
        return ModelInfo(
            alias=self.alias,
            model_id=self.spec.model_id,
            revision=self.spec.revision or self._resolved_revision(),
            device=self.device,
            dtype=str(self.model.dtype).replace("torch.", ""),
            parameters=self.parameters,
            weights=self.spec.weights,
            prompt_style=self.spec.prompt_style,
            generation=generation,
            notes=notes,
            adapter=adapter.to_info() if adapter is not None else {},
        )

    def _resolved_revision(self) -> str | None:
        # A hub snapshot folder is named after the commit it holds.
        path = Path(self.source_path)
        return path.name if path.parent.name == "snapshots" else None

    def _eos_ids(self) -> set[int]:
        ids: set[int] = set()
        eos = getattr(self.model.generation_config, "eos_token_id", None)
        for value in eos if isinstance(eos, (list, tuple)) else [eos]:
            if value is not None:
                ids.add(int(value))
        if self.tokenizer.eos_token_id is not None:
            ids.add(int(self.tokenizer.eos_token_id))
        return ids

    def render_prompt(self, query: str) -> str:
        if self.spec.prompt_style == "chat":
            if not getattr(self.tokenizer, "chat_template", None):
                raise ValueError(f"{self.alias}: prompt_style is chat but the tokenizer has no chat template")
            rendered: str = self.tokenizer.apply_chat_template(
                [{"role": "user", "content": query}], add_generation_prompt=True, tokenize=False)
            return rendered
        return self.spec.prompt_template.format(query=query)

    def _encode(self, text: str) -> Any:
        # Chat templates already hold their special tokens; plain prompts get the tokenizer's own.
        add_special = self.spec.prompt_style != "chat"
        return self.tokenizer(text, return_tensors="pt", add_special_tokens=add_special).to(self.device)

    @property
    def max_positions(self) -> int | None:
        config = self.model.config
        value = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
        return int(value) if value else None

    def prompt_tokens(self, query: str) -> int:
        """Input tokens of a query after its template (what the model is charged for reading)."""
        return int(self._encode(self.render_prompt(query))["input_ids"].shape[1])

    def check_length(self, prompt_len: int, new_tokens: int) -> None:
        # Past its positions a model either crashes deep inside (learned position
        # embeddings) or silently extrapolates (RoPE): refuse with a line that says why.
        limit = self.max_positions
        if limit is not None and prompt_len + new_tokens > limit:
            raise PromptTooLong(
                f"prompt of {prompt_len} tokens + {new_tokens} new tokens exceeds {self.alias}'s "
                f"{limit} positions; shorten the query or lower --energy-max-new-tokens")

    def generate(self, query: str, max_new_tokens: int, min_new_tokens: int | None = None, *,
                 sampling: Sampling | None = None, stop: tuple[str, ...] = ()) -> Generation:
        import torch

        rendered = self.render_prompt(query)
        encoded = self._encode(rendered)
        prompt_len = int(encoded["input_ids"].shape[1])
        self.check_length(prompt_len, max_new_tokens)
        streamer = TimingStreamer()
        kwargs, stop = generate_kwargs(self, max_new_tokens, min_new_tokens, sampling, stop)
        seed_generator(sampling)
        self._sync()
        start = time.perf_counter()
        with torch.inference_mode():
            output = self.model.generate(**encoded, **kwargs, streamer=streamer)
        self._sync()
        end = time.perf_counter()
        new_ids = output[0, prompt_len:].tolist()
        ttft, decode = step_timing(streamer.token_times, len(new_ids), start)
        return build_generation(self, query, rendered, new_ids, tokens_input=prompt_len,
                                max_new_tokens=max_new_tokens, sampling=sampling, stop=stop,
                                seconds=end - start, ttft_s=ttft, decode_s=decode)

    def decode(self, ids: list[int]) -> str:
        if self.forced_length:  # a stand-in tokenizer knows only the low ids of a random model's vocabulary
            ids = [i for i in ids if i < len(self.tokenizer)]
        text: str = self.tokenizer.decode(ids, skip_special_tokens=not self.spec.reasoning)
        return text

    def generate_ids(self, input_ids: Any, new_tokens: int) -> float:
        """Generate exactly ``new_tokens`` after ``input_ids`` (no tokenizer, no streamer); seconds taken."""
        import torch

        kwargs = dict(max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                      pad_token_id=next(iter(self.eos_ids), 0), attention_mask=torch.ones_like(input_ids))
        self._sync()
        start = time.perf_counter()
        with torch.inference_mode():
            self.model.generate(input_ids, **kwargs)
        self._sync()
        return time.perf_counter() - start

    def loglikelihoods(self, context: str, continuations: list[str]) -> list[float]:
        """Sum of log-probabilities of each continuation after the context (a scoring path, no generation)."""
        import torch

        rendered = self.render_prompt(context)
        context_ids = self._encode(rendered)["input_ids"][0].tolist()
        results = []
        with torch.inference_mode():
            for continuation in continuations:
                cont_ids = self.tokenizer(continuation, add_special_tokens=False)["input_ids"]
                if not cont_ids:
                    results.append(-math.inf)
                    continue
                self.check_length(len(context_ids), len(cont_ids))
                ids = torch.tensor([context_ids + cont_ids], device=self.device)
                logits = self.model(ids).logits[0, len(context_ids) - 1:-1].float()
                logprobs = torch.log_softmax(logits, dim=-1)
                target = torch.tensor(cont_ids, device=self.device)
                results.append(float(logprobs.gather(1, target[:, None]).sum()))
        return results

    def close(self) -> None:
        """Nothing to release: the weights go with the object (the backend interface asks for close)."""

    def _sync(self) -> None:
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.synchronize()


def check_device(device: str, dtype: str) -> None:
    """Raise ValueError (one line) unless ``dtype`` tensors can be multiplied on ``device`` here."""
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device} requested but this torch ({torch.__version__}) sees no CUDA GPU; "
                         "use --energy-device cpu (or auto)")
    mps = getattr(torch.backends, "mps", None)
    if device == "mps" and not (mps is not None and mps.is_available()):
        raise ValueError("device mps requested but Apple's Metal backend is not available here; "
                         "use --energy-device cpu (or auto)")
    try:
        probe = torch.ones(4, 4, dtype=getattr(torch, dtype), device=device)
        (probe @ probe).sum().item()
    except (RuntimeError, TypeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"dtype {dtype} is not supported on {device} here ({first}); "
                         "choose another with --energy-dtype") from None


def load_model(spec: ModelSpec, local_path: Path | None) -> LoadedModel:
    """Load through ``from_pretrained``; with a local path, the network is never touched.

    A ``random`` spec is built in memory instead (see :mod:`.shapes`).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    quiet_transformers()
    device = resolve_device(spec.device)
    check_device(device, spec.dtype)
    if spec.source == "random":
        from .shapes import build_random

        model, tokenizer, source_path, notes = build_random(spec, device)
        loaded = LoadedModel(spec, model, tokenizer, device, source_path)
        loaded.notes = notes
        return loaded
    source = str(local_path) if local_path is not None else str(spec.hub_id)
    local_only = local_path is not None
    revision = None if local_only else spec.revision
    tokenizer = AutoTokenizer.from_pretrained(source, revision=revision, local_files_only=local_only)
    model = AutoModelForCausalLM.from_pretrained(
        source, revision=revision, local_files_only=local_only, dtype=getattr(torch, spec.dtype))
    if spec.adapter is not None:  # a LoRA adapter folder run as a model: base + adapter through peft
        from .adapter import apply_adapter

        model = apply_adapter(model, spec.adapter)
    model.to(device)
    model.eval()
    return LoadedModel(spec, model, tokenizer, device, source)


def _open(request: BackendRequest) -> LoadedModel:
    return load_model(request.spec, request.local_path)


# The ``transformers`` entry point of the ``slm_energy.backends`` group (pyproject.toml): weights
# loaded in this process, inside the measurer's load window (roles/measurer.py).
BACKEND = Backend(open=_open, served=False)
