"""Train the byte-level BPE tokenizer shared by the tiny models.

Run once by the project (``python -m slm_energy_plugin.backends.train_tokenizer``); the
result, ``data/tokenizer/tokenizer.json``, is committed so every machine builds the
tiny models with the very same tokenizer, whatever its tokenizers version.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from ..paths import data_dir

VOCAB_SIZE = 1024
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]


def train(corpus: list[str]) -> Tokenizer:
    tokenizer = Tokenizer(models.BPE(unk_token=None))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus, trainer)
    return tokenizer


def main() -> int:
    base = data_dir()
    corpus = (base / "tokenizer" / "corpus.txt").read_text(encoding="utf-8").splitlines()
    corpus += (base / "queries.txt").read_text(encoding="utf-8").splitlines()
    tokenizer = train(corpus)
    out = Path(base / "tokenizer" / "tokenizer.json")
    tokenizer.save(str(out))
    print(f"wrote {out} ({tokenizer.get_vocab_size()} tokens)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
