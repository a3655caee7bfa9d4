"""Counting tokens when a server reports none: a named tokenizer, else stream pieces (labelled).

A registry entry's ``tokenizer`` names a tiny alias (``tiny-qwen2``) or a local model folder;
it is loaded once, offline. Without one, the count of streamed pieces stands in (servers send
about one token per piece) and the record says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SERVER_USAGE = "server-usage"
STREAM_PIECES = "stream-pieces (no usage from the server, no tokenizer named: about one token per piece)"


class TokenCounter:
    def __init__(self, tokenizer_name: str | None) -> None:
        self.name = tokenizer_name
        self._tokenizer: Any = None

    @property
    def source(self) -> str:
        return f"tokenizer:{self.name}" if self.name else STREAM_PIECES

    def _load(self) -> Any:
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            from .quiet import quiet_transformers
            from .registry import load_registry
            from .tiny import ensure_tiny

            quiet_transformers()
            name = str(self.name)
            spec = load_registry().specs.get(name)
            if spec is not None and spec.tiny:
                path: Path = ensure_tiny(spec.alias, spec.tiny)
            else:
                path = Path(name).expanduser()
            self._tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        return self._tokenizer

    def count(self, text: str, pieces: int) -> int:
        if not self.name:
            return pieces
        return len(self._load()(text, add_special_tokens=False)["input_ids"])
