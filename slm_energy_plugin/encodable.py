"""Text that UTF-8 can always hold: lone surrogates replaced, and where they were said.

Python strings may hold lone surrogates (U+D800..U+DFFF): a served answer's ``"\\ud800"`` escape,
generated code's ``ValueError(chr(0xD800))`` carried in a failure reason, undecodable argv bytes
(``surrogateescape``). UTF-8 cannot encode them, so one such character would make every write of
a file that holds it raise ``UnicodeEncodeError``. Every text that enters a record goes through
:func:`encodable_tree` (and is flagged); writers pass their output through :func:`encodable_text`
as a last defence. Pure: no I/O.
"""

from __future__ import annotations

import re
from typing import Any

# Lone or paired, a surrogate code point in a str is never valid Unicode text (a real pair was
# already joined into one code point by the decoder that built the str).
_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"   # U+FFFD REPLACEMENT CHARACTER, what a UTF-8 decoder shows for bad bytes


def encodable_text(text: str) -> str:
    """``text`` with every surrogate replaced by U+FFFD (the same string when it has none)."""
    return _SURROGATE.sub(REPLACEMENT, text) if _SURROGATE.search(text) else text


def encodable_tree(value: Any, where: str = "") -> tuple[Any, list[str]]:
    """``value`` (JSON-like: dicts, lists, scalars) with every string and key made encodable,
    and the path of each string that was changed."""
    found: list[str] = []

    def clean(item: Any, path: str) -> Any:
        if isinstance(item, str):
            fixed = encodable_text(item)
            if fixed is not item:
                found.append(path or "value")
            return fixed
        if isinstance(item, dict):
            out = {}
            for key, child in item.items():
                name = encodable_text(key) if isinstance(key, str) else key
                if name is not key:
                    found.append(f"{path}.<key>" if path else "<key>")
                out[name] = clean(child, f"{path}.{name}" if path else str(name))
            return out
        if isinstance(item, (list, tuple)):
            return [clean(child, f"{path}[{i}]") for i, child in enumerate(item)]
        return item
    return clean(value, where), found
