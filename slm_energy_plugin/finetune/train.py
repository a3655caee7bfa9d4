"""LoRA fine-tuning of a loaded causal LM on text-to-SQL pairs: a plain torch loop.

Why not ``transformers.Trainer``: a plain loop (AdamW, fixed batch order from a seeded
generator, no dataloader workers, no mixed precision, no gradient accumulation magic) is
short enough to read, gives the same adapter bit for bit on CPU for the same seed, and
lets the energy meter bracket exactly the optimiser's work per epoch, nothing else.

The model sees the prompt the SQL benchmark asks with (the model's template around
``format_sql_prompt``), and the loss counts only the answer's tokens (the SQL and the end
of sequence): the prompt is context, not something to learn to write.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

from ..energy import EnergyMeter, EnergyReading
from ..errors import ConfigError
from ..backends.transformers_runtime import LoadedModel
from ..quality.datasets import format_sql_prompt
from ..quality.result import THINK_CLOSE, prompt_opens_think
from .data import SqlExample

IGNORE_INDEX = -100     # label value the loss skips (Hugging Face's convention)
TARGET = "all-linear"  # every linear layer but the output head (QLoRA practice: closer to a full fine-tune than attention alone)


@dataclass(frozen=True)
class TrainConfig:
    rank: int = 8
    alpha: int | None = None            # None: 2 x rank
    dropout: float = 0.0                # no dropout in the adapter: one less random stream
    learning_rate: float = 2e-4          # common LoRA practice for pretrained models; untrained tiny ones need ~1e-2
    batch_size: int = 4
    max_steps: int | None = None
    epochs: int | None = None           # neither given: one epoch
    seed: int = 0
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0

    def __post_init__(self) -> None:
        if self.rank < 1:
            raise ConfigError(f"--rank must be a positive whole number, got {self.rank}")
        if self.batch_size < 1:
            raise ConfigError(f"--batch-size must be a positive whole number, got {self.batch_size}")
        if self.max_steps is not None and self.epochs is not None:
            raise ConfigError("give --max-steps or --epochs, not both")
        if self.max_steps is not None and self.max_steps < 1:
            raise ConfigError(f"--max-steps must be a positive whole number, got {self.max_steps}")
        if self.epochs is not None and self.epochs < 1:
            raise ConfigError(f"--epochs must be a positive whole number, got {self.epochs}")
        if not self.learning_rate > 0:
            raise ConfigError(f"--learning-rate must be positive, got {self.learning_rate}")

    @property
    def lora_alpha(self) -> int:
        return self.alpha if self.alpha is not None else 2 * self.rank

    def steps_per_epoch(self, examples: int) -> int:
        return math.ceil(examples / self.batch_size)

    def total_steps(self, examples: int) -> int:
        per_epoch = self.steps_per_epoch(examples)
        return self.max_steps if self.max_steps is not None else per_epoch * (self.epochs or 1)


@dataclass(frozen=True)
class EncodedExample:
    input_ids: tuple[int, ...]
    labels: tuple[int, ...]             # IGNORE_INDEX on the prompt, the token ids on the answer

    @property
    def answer_tokens(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE_INDEX)


@dataclass
class EpochStats:
    epoch: int                          # 1-based
    steps: int
    losses: list[float]
    tokens: int                         # every non-padding token through forward and backward
    answer_tokens: int                  # the tokens the loss counted
    seconds: float
    energy: EnergyReading | None = None

    @property
    def tokens_per_s(self) -> float | None:
        return self.tokens / self.seconds if self.seconds > 0 else None


@dataclass
class TrainingOutcome:
    model: Any                          # the peft model (base + adapter), still unmerged
    epochs: list[EpochStats] = field(default_factory=list)
    target_modules: tuple[str, ...] = ()
    trainable_parameters: int = 0
    deterministic: dict[str, Any] = field(default_factory=dict)

    @property
    def loss_curve(self) -> list[float]:
        return [loss for epoch in self.epochs for loss in epoch.losses]

    @property
    def steps(self) -> int:
        return sum(epoch.steps for epoch in self.epochs)

    @property
    def tokens(self) -> int:
        return sum(epoch.tokens for epoch in self.epochs)

    @property
    def answer_tokens(self) -> int:
        return sum(epoch.answer_tokens for epoch in self.epochs)

    @property
    def seconds(self) -> float:
        return sum(epoch.seconds for epoch in self.epochs)

    @property
    def energy(self) -> EnergyReading | None:
        readings = [e.energy for e in self.epochs if e.energy is not None]
        return EnergyReading.combine(readings) if readings else None


def answer_text(rendered_prompt: str, query: str) -> str:
    """What the model should write after the prompt: the SQL, after closing a ``<think>`` block the
    template opened (the scorer reads the answer after ``</think>``), space-separated from a prompt that
    ends mid-line (``Answer:``), as the tokenizer sees a generated continuation."""
    text = query.strip()
    if prompt_opens_think(rendered_prompt):
        text = f"{THINK_CLOSE}\n{text}"
    return text if rendered_prompt.endswith((" ", "\n")) else f" {text}"


def encode_example(loaded: LoadedModel, example: SqlExample) -> EncodedExample:
    rendered = loaded.render_prompt(format_sql_prompt(example.question, example.schema))
    tokenizer = loaded.tokenizer
    # Tokenised apart, as at inference: the prompt alone, then what the model generates after it.
    prompt_ids = list(tokenizer(rendered, add_special_tokens=loaded.spec.prompt_style != "chat")["input_ids"])
    answer_ids = list(tokenizer(answer_text(rendered, example.query), add_special_tokens=False)["input_ids"])
    eos = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else next(iter(loaded.eos_ids), None)
    if eos is not None:
        answer_ids.append(int(eos))      # learning to stop is half of a clean answer
    limit = loaded.max_positions
    if limit is not None and len(prompt_ids) + len(answer_ids) > limit:
        raise ConfigError(f"training example {example.question!r} is {len(prompt_ids) + len(answer_ids)} tokens; "
                          f"{loaded.alias} has {limit} positions")
    return EncodedExample(tuple(prompt_ids + answer_ids), tuple([IGNORE_INDEX] * len(prompt_ids) + answer_ids))


def batch_order(count: int, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """Example indices per step of one epoch: a permutation from a generator seeded by (seed, epoch),
    independent of anything else that draws random numbers."""
    import torch

    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    order = torch.randperm(count, generator=generator).tolist()
    return [order[i:i + batch_size] for i in range(0, count, batch_size)]


def collate(examples: Sequence[EncodedExample], pad_id: int) -> dict[str, Any]:
    """Right-padded tensors; padding is masked out of attention and loss."""
    import torch

    width = max(len(e.input_ids) for e in examples)
    ids, mask, labels = [], [], []
    for e in examples:
        pad = width - len(e.input_ids)
        ids.append(list(e.input_ids) + [pad_id] * pad)
        mask.append([1] * len(e.input_ids) + [0] * pad)
        labels.append(list(e.labels) + [IGNORE_INDEX] * pad)
    return {"input_ids": torch.tensor(ids), "attention_mask": torch.tensor(mask), "labels": torch.tensor(labels)}


class deterministic_torch:
    """Seeded, deterministic kernels for the block; the previous settings come back afterwards."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._previous: tuple[bool, bool] | None = None

    def __enter__(self) -> dict[str, Any]:
        import torch

        self._previous = (torch.are_deterministic_algorithms_enabled(),
                          torch.is_deterministic_algorithms_warn_only_enabled())
        torch.manual_seed(self.seed)
        # warn_only: a kernel without a deterministic version (some CUDA ones) warns instead of failing.
        torch.use_deterministic_algorithms(True, warn_only=True)
        return {"torch_manual_seed": self.seed, "use_deterministic_algorithms": True,
                "torch_threads": torch.get_num_threads()}

    def __exit__(self, *exc: object) -> None:
        import torch

        if self._previous is not None:
            torch.use_deterministic_algorithms(self._previous[0], warn_only=self._previous[1])


class LoraTrainer:
    """The base model wrapped with a fresh LoRA adapter, its optimiser and its encoded data.

    ``run_epoch`` is the unit the energy meter brackets; the perf script calls it directly.
    """

    def __init__(self, loaded: LoadedModel, examples: Sequence[SqlExample], config: TrainConfig) -> None:
        import torch
        from peft import LoraConfig, get_peft_model

        if not examples:
            raise ConfigError("no training examples")
        self.loaded = loaded
        self.config = config
        self.encoded = [encode_example(loaded, example) for example in examples]
        pad = loaded.tokenizer.pad_token_id
        self.pad_id = int(pad if pad is not None else next(iter(loaded.eos_ids), 0))
        torch.manual_seed(config.seed)      # LoRA's A matrices are drawn here
        # GPT-2 keeps its linear layers as Conv1D, weights stored transposed.
        transposed = getattr(loaded.model.config, "model_type", "") == "gpt2"
        lora = LoraConfig(r=config.rank, lora_alpha=config.lora_alpha, lora_dropout=config.dropout,
                          target_modules=TARGET, task_type="CAUSAL_LM", fan_in_fan_out=transposed)
        with warnings.catch_warnings():
            # peft asks transformers a deprecated question about checkpointing; not ours to answer.
            warnings.simplefilter("ignore", FutureWarning)
            self.model = get_peft_model(loaded.model, lora)
        self.model.train()
        self.parameters = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.parameters, lr=config.learning_rate,
                                           weight_decay=config.weight_decay)
        self.steps_done = 0
        self.total_steps = config.total_steps(len(self.encoded))

    @property
    def target_modules(self) -> tuple[str, ...]:
        modules = getattr(self.model.peft_config["default"], "target_modules", None)
        return tuple(sorted(modules)) if modules else ()

    @property
    def trainable_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters)

    def epochs(self) -> Iterator[int]:
        epoch = 0
        while self.steps_done < self.total_steps:
            epoch += 1
            yield epoch

    def step(self, batch: Sequence[EncodedExample]) -> float:
        import torch

        tensors = {k: v.to(self.loaded.device) for k, v in collate(batch, self.pad_id).items()}
        loss = self.model(**tensors).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.parameters, self.config.max_grad_norm)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.steps_done += 1
        return float(loss.detach())

    def run_epoch(self, epoch: int, max_steps: int | None = None) -> EpochStats:
        """One pass over the data in this epoch's order, cut short at the step budget (or ``max_steps``)."""
        stats = EpochStats(epoch=epoch, steps=0, losses=[], tokens=0, answer_tokens=0, seconds=0.0)
        budget = self.total_steps - self.steps_done
        if max_steps is not None:
            budget = min(budget, max_steps)
        started = time.perf_counter()
        for indices in batch_order(len(self.encoded), self.config.batch_size, self.config.seed, epoch)[:budget]:
            batch = [self.encoded[i] for i in indices]
            stats.losses.append(self.step(batch))
            stats.steps += 1
            stats.tokens += sum(len(e.input_ids) for e in batch)
            stats.answer_tokens += sum(e.answer_tokens for e in batch)
        stats.seconds = time.perf_counter() - started
        return stats


def train_lora(loaded: LoadedModel, examples: Sequence[SqlExample], config: TrainConfig,
               meter: EnergyMeter) -> TrainingOutcome:
    """Train a LoRA adapter, one energy window per epoch (windows do not nest, so no outer one:
    the training's energy is the sum of its epochs')."""
    with deterministic_torch(config.seed) as determinism:
        trainer = LoraTrainer(loaded, examples, config)
        outcome = TrainingOutcome(model=trainer.model, target_modules=trainer.target_modules,
                                  trainable_parameters=trainer.trainable_parameters, deterministic=determinism)
        for epoch in trainer.epochs():
            handle = meter.start()
            stats = trainer.run_epoch(epoch)
            stats.energy = meter.stop(handle)
            outcome.epochs.append(stats)
    trainer.model.eval()
    return outcome
