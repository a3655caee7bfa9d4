"""An answer as it streams in: text pieces, reasoning pieces and when each arrived (client clock).

Pure (no I/O): the served backends feed it parsed chunks; it gives TTFT (request sent → first
piece of text or reasoning), decode time (first → last piece) and the pieces' counts, which
stand in for token counts only when neither the server nor a tokenizer can say.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StreamedAnswer:
    started: float = field(default_factory=time.perf_counter)
    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    first_piece: float | None = None
    last_piece: float | None = None
    finish_reason: str | None = None
    finished: bool = False          # the stream's own end marker arrived ([DONE] / done: true)
    server_model: str | None = None
    usage: dict[str, Any] | None = None

    def add(self, text: str | None, reasoning: str | None = None) -> None:
        now = time.perf_counter()
        got = False
        if text:
            self.content.append(text)
            got = True
        if reasoning:
            self.reasoning.append(reasoning)
            got = True
        if got:
            if self.first_piece is None:
                self.first_piece = now
            self.last_piece = now

    @property
    def text(self) -> str:
        return "".join(self.content)

    @property
    def reasoning_text(self) -> str:
        return "".join(self.reasoning)

    @property
    def ttft_s(self) -> float | None:
        return None if self.first_piece is None else self.first_piece - self.started

    @property
    def decode_s(self) -> float | None:
        if self.first_piece is None or self.last_piece is None or self.pieces < 2:
            return None
        return self.last_piece - self.first_piece

    @property
    def pieces(self) -> int:
        return len(self.content) + len(self.reasoning)
