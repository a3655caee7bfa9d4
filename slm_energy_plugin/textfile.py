"""Reading a user's text file, with one actionable line for every way it can fail."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import yaml
from pydantic_core import from_json

from .errors import ConfigError, OverBudget


def read_text(path: Path, label: str | None = None, hint: str = "") -> str:
    """The file's UTF-8 text; ``label`` names it in errors (default: its path), ``hint`` says what to do."""
    name = label or str(path)
    suffix = f"; {hint}" if hint else ""
    try:
        # utf-8-sig: a byte-order mark some editors write is not part of the first line.
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{name}: no such file{suffix}") from None
    except IsADirectoryError:
        raise ConfigError(f"{name}: is a folder, not a file{suffix}") from None
    except PermissionError:
        raise ConfigError(f"{name}: cannot be read (permission denied)") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{name}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{name}: cannot be read ({exc.strerror or exc})") from None


# --- Untrusted structured text: one place that bounds what a parser may build -----------------

# A result file of 116 queries is ~1 MB; a thousand times that is still a plausible file.
MAX_JSON_BYTES = 512 * 1024 * 1024
# Our files nest 5 levels deep; 64 leaves room for tools' extra fields, far from Python's recursion limit.
MAX_DEPTH = 64
# Longest number literal accepted (digits, sign, point, exponent): a float needs ~25, an int64 20.
MAX_NUMBER_CHARS = 64
# YAML: nodes after alias expansion, and aliases used (a "billion laughs" document has few aliases
# but an exponential expansion, so both are bounded).
MAX_YAML_NODES = 100_000
MAX_YAML_ALIASES = 100


class _Refused(Exception):
    """A bound hit inside the JSON scanner; :func:`parse_json` names the file in front of it."""


def _bounded_number(kind: type[int] | type[float]) -> Any:
    def parse(literal: str) -> int | float:
        if len(literal) > MAX_NUMBER_CHARS:
            raise _Refused(f"a number of {len(literal)} characters (more than {MAX_NUMBER_CHARS}) is refused")
        return kind(literal)
    return parse


def _refuse_constant(literal: str) -> None:
    raise _Refused(f"{literal} is not a JSON number; refused")


def _constant_as_null(literal: str) -> None:
    return None


# Built once, not per call: a served model's stream goes through parse_json once per chunk, and a
# decoder (with its scanner and callbacks) per call cost more than the parse. The callbacks hold no
# state (the file's name is added when a bound is hit), so one decoder serves every caller and
# thread, as json.loads's own default decoder does.
_DECODERS = {
    nan_as_null: json.JSONDecoder(parse_int=_bounded_number(int), parse_float=_bounded_number(float),
                                  parse_constant=_constant_as_null if nan_as_null else _refuse_constant)
    for nan_as_null in (False, True)
}


_CONTAINERS = frozenset({dict, list})   # what the decoder builds that nests (exact types: nothing else)


# The same without the number callbacks, for text that cannot hold a long number literal (one
# call per number was a third of the parse of a results file).
_PLAIN_DECODERS = {
    nan_as_null: json.JSONDecoder(parse_constant=_constant_as_null if nan_as_null else _refuse_constant)
    for nan_as_null in (False, True)
}
# Every character a number literal is written with: a literal over the bound is a run of more than
# MAX_NUMBER_CHARS of them in the text (a run inside a string only costs the fast path).
_NUMBER_CHARS = "-+.eE0123456789"
_NUMBER_CHARS_AS_ONE = str.maketrans(dict.fromkeys(_NUMBER_CHARS, "0"))
# The same test as a regular expression (Rust regex syntax; "-" first in the class is itself), for a
# caller that searches the text for other patterns anyway: it passes ``no_long_number`` to parse_json.
LONG_NUMBER_PATTERN = f"[{_NUMBER_CHARS}]{{{MAX_NUMBER_CHARS + 1}}}"


def _may_hold_long_number(text: str) -> bool:
    return "0" * (MAX_NUMBER_CHARS + 1) in text.translate(_NUMBER_CHARS_AS_ONE)


_ALWAYS_WALKED = 64 * 1024   # characters of text whose depth is walked without counting brackets first
_UNREAD = object()   # what _read_fast returns for text it leaves to the standard decoder


def _read_fast(text: str) -> Any:
    """The value of ``text`` as the standard decoder reads it, from pydantic_core's JSON parser
    (jiter, in Rust: a third of the time), or :data:`_UNREAD`.

    jiter reads every valid JSON document as :mod:`json` does (the same floats, big integers,
    duplicate keys: the last value in the first key's place); what it refuses, the standard decoder
    reads again, so every refusal keeps its wording and what only :mod:`json` accepts (a lone
    surrogate escape, ``NaN`` with ``nan_as_null``) is still read. Its own depth limit (~200) fails
    cleanly; the :data:`MAX_DEPTH` walk follows either way. Text that may hold a number over
    :data:`MAX_NUMBER_CHARS` never comes here (jiter has no such bound). A BOM fails here too
    (not JSON), and is refused in json's words."""
    try:
        # Keys only are cached (few, repeated in every record): caching every short value string too
        # cost a fifth more time than it saved.
        return from_json(text, allow_inf_nan=False, cache_strings="keys")
    except (ValueError, TypeError):     # TypeError: a str holding a lone surrogate
        return _UNREAD


def _depth_over(value: Any, limit: int | None) -> int:
    """The depth of a decoded value, one level at a time (comprehensions per level, no per-item
    stack entries; dicts and lists apart, so no per-item branch); with ``limit``, the walk stops as
    soon as it is known to be exceeded (returns ``limit + 1``)."""
    depth, level = 0, [value] if type(value) in _CONTAINERS else []
    while level:
        depth += 1
        if limit is not None and depth > limit:
            return depth
        dicts = [item for item in level if type(item) is dict]
        lists = [item for item in level if type(item) is list] if len(dicts) < len(level) else []
        level = ([child for item in dicts for child in item.values() if type(child) in _CONTAINERS]
                 + [child for item in lists for child in item if type(child) in _CONTAINERS])
    return depth


def parse_json(text: str, name: str, *, nan_as_null: bool = False, max_bytes: int = MAX_JSON_BYTES,
               no_long_number: bool = False) -> Any:
    """Parse untrusted JSON into plain values, or raise one line naming the file.

    Refuses text over ``max_bytes``, nesting deeper than :data:`MAX_DEPTH`, number literals longer
    than :data:`MAX_NUMBER_CHARS` (Python would otherwise spend quadratic time, or fail, converting
    them) and ``NaN``/``Infinity`` (not JSON; ``nan_as_null`` reads them as ``null`` instead, for
    journals written by versions that let them through).

    ``no_long_number``: the caller has searched ``text`` for :data:`LONG_NUMBER_PATTERN` and found
    none, so the search is not repeated here.
    """
    if len(text) > max_bytes:
        raise ConfigError(f"{name}: larger than {max_bytes:,} bytes; refused")
    long_number = not no_long_number and _may_hold_long_number(text)
    data = _UNREAD if long_number else _read_fast(text)
    try:
        if text.startswith("\ufeff"):   # as json.loads words it
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        if data is _UNREAD:
            data = (_DECODERS if long_number else _PLAIN_DECODERS)[nan_as_null].decode(text)
    except _Refused as exc:
        raise ConfigError(f"{name}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{name}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise ConfigError(f"{name}: nested more than {MAX_DEPTH} levels deep; refused") from None
    # Every container opens with a bracket outside a string, so text with at most MAX_DEPTH brackets
    # cannot nest deeper: the walk is skipped for small documents (a streamed chunk has three or four).
    # Long text is walked without counting (it holds more brackets anyway; counting 11 MB costs 10 ms).
    if ((len(text) > _ALWAYS_WALKED or text.count("{") + text.count("[") > MAX_DEPTH)
            and _depth_over(data, MAX_DEPTH) > MAX_DEPTH):
        raise ConfigError(f"{name}: nested more than {MAX_DEPTH} levels deep; refused")
    return data


class BoundedYamlLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses alias bombs, deep nesting and huge integers.

    PyYAML shares an aliased node instead of copying it, so a "billion laughs" document loads
    quickly and explodes only when something walks it (validation, JSON output). The composed
    node graph is measured before anything is constructed: its size counted with every alias
    expanded, with memoisation, so the count itself stays linear.
    """

    # time.monotonic() after which parsing stops (None: no time bound); see load_yaml.
    deadline: float | None = None

    def fetch_more_tokens(self) -> None:
        # PyYAML's scanner is pure Python (~6 us a byte): a time bound is checked once per token.
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise OverBudget("YAML took longer than its time budget to parse; refused")
        super().fetch_more_tokens()

    def get_single_node(self) -> Any:
        node = super().get_single_node()
        if node is not None:
            self._check_expansion(node)
        return node

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases = getattr(self, "_aliases", 0) + 1
            if self._aliases > MAX_YAML_ALIASES:
                raise yaml.composer.ComposerError(
                    None, None, f"more than {MAX_YAML_ALIASES} aliases; refused", self.peek_event().start_mark)  # type: ignore[no-untyped-call]
        return super().compose_node(parent, index)

    def _check_expansion(self, root: yaml.Node) -> None:
        sizes: dict[int, int] = {}
        depths: dict[int, int] = {}
        # Post-order without recursion: a node's size is itself plus its children's expanded sizes.
        stack: list[tuple[yaml.Node, bool]] = [(root, False)]
        while stack:
            node, done = stack.pop()
            if id(node) in sizes:
                continue
            children = _children(node)
            if not done:
                stack.append((node, True))
                stack.extend((c, False) for c in children if id(c) not in sizes)
                continue
            sizes[id(node)] = 1 + sum(sizes.get(id(c), 1) for c in children)
            depths[id(node)] = 1 + max((depths.get(id(c), 0) for c in children), default=0)
            if sizes[id(node)] > MAX_YAML_NODES:
                raise yaml.composer.ComposerError(
                    None, None, f"expands to more than {MAX_YAML_NODES:,} values (alias bomb?); refused",
                    node.start_mark)
            if depths[id(node)] > MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {MAX_DEPTH} levels deep; refused", node.start_mark)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> Any:
        if len(str(node.value)) > MAX_NUMBER_CHARS:
            raise yaml.constructor.ConstructorError(
                None, None, f"a number of {len(str(node.value))} characters (more than {MAX_NUMBER_CHARS}) "
                "is refused", node.start_mark)
        return super().construct_yaml_int(node)

    def construct_yaml_float(self, node: yaml.ScalarNode) -> Any:
        if len(str(node.value)) > MAX_NUMBER_CHARS:
            raise yaml.constructor.ConstructorError(
                None, None, f"a number of {len(str(node.value))} characters (more than {MAX_NUMBER_CHARS}) "
                "is refused", node.start_mark)
        return super().construct_yaml_float(node)


BoundedYamlLoader.add_constructor("tag:yaml.org,2002:int", BoundedYamlLoader.construct_yaml_int)
BoundedYamlLoader.add_constructor("tag:yaml.org,2002:float", BoundedYamlLoader.construct_yaml_float)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def load_yaml(text: str, deadline: float | None = None) -> Any:
    """``yaml.safe_load`` with the bounds of :class:`BoundedYamlLoader` (raises ``yaml.YAMLError``);
    with ``deadline`` (a ``time.monotonic()`` value) parsing past it raises :class:`OverBudget`."""
    loader = BoundedYamlLoader(text)
    loader.deadline = deadline
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
