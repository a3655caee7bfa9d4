"""What may be written or shown: secrets masked, terminal control sequences removed.

Run folders are CI artifacts, and CI artifacts are often public. Credentials reach the run through
options (``--energy-meter prometheus=http://user:pass@host/metrics?token=...``, ``--energy-base-url``),
raw argv, and servers that echo request headers in their error bodies. This is the one redactor every
writer and message uses: records are redacted where they enter the run (the collector), messages where
they are made (the project's error types), so no writer can forget. Only what is *recorded or shown*
is redacted: the requests themselves still use the real credentials.

Pure: no I/O, no imports from the package (pydantic_core only, for its regex engine).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Callable, Sequence
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from pydantic_core import SchemaValidator, ValidationError, core_schema

MASK = "***"

# A name whose value is a secret: the whole name (case-insensitive), optionally behind a prefix
# such as ``hf_`` or ``OPENAI_``. Full-name matching keeps ``tokenizer`` or ``tokens_output`` out.
_SECRET_WORDS = (r"api[_-]?key|apikey|access[_-]?key|secret[_-]?key|private[_-]?key|key|secret|client[_-]?secret"
                 r"|token|access[_-]?token|auth[_-]?token|refresh[_-]?token|id[_-]?token|bearer|password|passwd"
                 r"|pwd|pass|passphrase|credentials?|auth|authorization|signature|sig|session(?:[_-]?id)?"
                 r"|cookie|set[_-]cookie|x[_-]api[_-]key|x[_-]auth[_-]token")
_SECRET_NAME = re.compile(rf"(?:[a-z0-9]+[_-])*(?:{_SECRET_WORDS})", re.IGNORECASE)

# URLs inside text: a scheme, then anything up to white space, a quote/bracket or a comma (which
# separates a URL from the settings after it in ``--energy-meter prometheus=URL,metric=...``).
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,15}://[^\s\"'<>`,]+")
# Request/response headers as servers echo them (plain, or as JSON/repr keys): the value to the end
# of the line or the closing quote.
_HEADER = re.compile(
    r"(?i)(?P<name>\b(?:proxy-)?authorization|\bx-api-key|\bapi-key|\bx-auth-token|\bcookie|\bset-cookie)"
    r"(?P<sep>[\"']?\s*[:=]\s*[\"']?)(?P<value>[^\"'\r\n]+)")
# A credential scheme and its token (``Bearer sk-...``, ``Basic dXNlcjpwYXNz``).
_SCHEME_TOKEN = re.compile(r"(?P<scheme>\b(?:[Bb]earer|BEARER|Basic|BASIC))\s+(?P<value>[A-Za-z0-9._~+/=-]{4,})")
# Keys that look like keys whatever surrounds them: OpenAI-style ``sk-...``, Hugging Face ``hf_...``,
# GitHub ``ghp_...``, Slack ``xox.-...``.
_KEY_SHAPES = re.compile(r"\b(?P<prefix>sk-(?:proj-|ant-)?|hf_|gh[pousr]_|xox[abprs]-)[A-Za-z0-9_-]{8,}")
# ``name=value`` / ``name: value`` / ``"name": "value"`` where the name is a secret's.
_NAMED_VALUE = re.compile(
    r"(?P<q>[\"']?)(?P<name>[A-Za-z][A-Za-z0-9_.-]{0,63})(?P=q)(?P<sep>\s*(?:=|:)\s*)(?P<vq>[\"']?)"
    r"(?P<value>[^\s\"',;&}\]]+)")

# Terminal control: ANSI/VT escape sequences (CSI ``ESC [ ... final``, OSC ``ESC ] ... BEL|ST``,
# other ``ESC x``) and every other C0/C1 control character, DEL included. Newline and tab are
# kept where a message may span lines; carriage return is not (it overwrites what was shown).
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"                 # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"     # OSC, ended by BEL or ST (or cut off)
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"          # DCS, SOS, PM, APC
    r"|\x1b[ -/]*[0-~]?"                       # any other escape
    r"|\x9b[0-?]*[ -/]*[@-~]"                  # 8-bit CSI
    r"|\x9d[^\x07\x9c]*[\x07\x9c]?")           # 8-bit OSC
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def is_secret_name(name: str) -> bool:
    """Whether a parameter, header, option or variable called ``name`` holds a secret."""
    return bool(_SECRET_NAME.fullmatch(name.strip().lstrip("-")))


def redact_url(url: str) -> str:
    """``url`` with its user information and the values of secret query parameters masked;
    everything else (host, port, path, other parameters) kept, so the record still says where."""
    try:
        parts = urlsplit(url)
        parts.port   # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return _redact_loose_url(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(is_secret_name(name) for name, _ in pairs):
            query = "&".join(f"{quote(name, safe='')}={MASK if is_secret_name(name) else quote(value, safe='')}"
                             for name, value in pairs)
    fragment = _redact_free(parts.fragment) if parts.fragment else parts.fragment
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))


def _redact_loose_url(url: str) -> str:
    """A URL ``urlsplit`` refuses: mask anything between ``://`` and the last ``@`` of the authority."""
    scheme, sep, rest = url.partition("://")
    authority, slash, tail = rest.partition("/")
    if "@" in authority:
        authority = f"{MASK}@{authority.rpartition('@')[2]}"
    return scheme + sep + authority + slash + _redact_free(tail)


def strip_credentials(url: str) -> str:
    """The URL as a record's *address*: scheme, host, port and path only (no user information, no
    query string or fragment, where tokens also hide)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return redact_url(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host + (f":{port}" if port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _mask_named(match: re.Match[str]) -> str:
    # "credentials: Authorization: ***": the value is the next name, not a secret.
    if not is_secret_name(match["name"]) or match["value"] == MASK or match["value"].endswith(":"):
        return match[0]
    return f"{match['q']}{match['name']}{match['q']}{match['sep']}{match['vq']}{MASK}"


def _redact_free(text: str) -> str:
    """Everything but URLs: headers, scheme tokens, key-shaped strings, ``secret-name=value``."""
    text = _HEADER.sub(lambda m: f"{m['name']}{m['sep']}{MASK}", text)
    text = _SCHEME_TOKEN.sub(lambda m: f"{m['scheme']} {MASK}", text)
    text = _KEY_SHAPES.sub(lambda m: f"{m['prefix']}{MASK}", text)
    return _NAMED_VALUE.sub(_mask_named, text)


def redact_text(text: str) -> str:
    """Free text (a server's error body, a warning, a setting) with every secret it shows masked:
    URLs' user information and secret query parameters, ``Authorization``/``X-Api-Key``/``api-key``
    headers, ``Bearer``/``Basic`` tokens, ``sk-``-shaped keys and ``secret-name=value`` pairs."""
    if not text:
        return text
    pieces, last = [], 0
    for found in _URL.finditer(text):
        pieces.append(_redact_free(text[last:found.start()]))
        pieces.append(redact_url(found.group()))
        last = found.end()
    pieces.append(_redact_free(text[last:]))
    return "".join(pieces)


def redact_argv(argv: Sequence[str]) -> list[str]:
    """A command line as recorded: the value of every option named like a secret (``--energy-api-key
    X``, ``--token=X``) masked, and every other argument redacted as free text (URLs, ``KEY=VALUE``)."""
    redacted: list[str] = []
    mask_next = False
    for arg in map(str, argv):
        if mask_next:
            redacted.append(MASK)
            mask_next = False
            continue
        if arg.startswith("-") and not arg.startswith("---"):
            name, sep, value = arg.partition("=")
            if is_secret_name(name):
                if sep:
                    redacted.append(f"{name}={MASK}")
                else:
                    redacted.append(arg)
                    mask_next = True
                continue
        redacted.append(redact_text(arg))
    return redacted


def strip_controls(text: str, *, one_line: bool = False) -> str:
    """``text`` safe for a terminal: escape sequences and control characters removed (newline and
    tab kept unless ``one_line``, where each becomes a space)."""
    text = _ESCAPE_SEQUENCE.sub("", text)
    if one_line:
        return _CONTROL_ONE_LINE.sub(lambda m: " " if m.group() in "\n\t\r" else "", text)
    return _CONTROL.sub("", text)


def safe_message(text: str, *, one_line: bool = False) -> str:
    """A message from outside (a server, a file, an option) ready to show or record: secrets masked,
    terminal control removed (first: an escape sequence must not hide a secret from the patterns)."""
    return redact_text(strip_controls(text, one_line=one_line))


# Exact types a JSON parser builds that hold no text: passed through without a call (not subclasses:
# a str subclass is still text, and is checked by isinstance below).
_SCALARS = frozenset({int, float, bool, type(None)})
_PLAIN = _SCALARS | {str, dict, list, tuple}
_KEEP, _MASK, _WALK = range(3)     # what a dict key's value gets in redact_tree


def redact_tree(value: Any, keep: frozenset[str] = frozenset()) -> Any:
    """JSON-like ``value`` with every string passed through :func:`safe_message` (dict keys
    included), except the values of the keys in ``keep`` (measured data such as a model's answer).
    Values under a secret-named key are masked whole.

    Each distinct string is redacted once: a results file repeats a few hundred strings (method
    labels, units, flags) hundreds of thousands of times, and the patterns cost far more than a
    dictionary look-up."""
    done: dict[str, str] = {}
    # A key as written -> (the key redacted, what its value gets): decided once per distinct key.
    keys: dict[str, tuple[str, int]] = {}

    def text(item: str) -> str:
        found = done.get(item)
        if found is None:
            found = done[item] = safe_message(item)
        return found

    def key_of(key: str) -> tuple[str, int]:
        if key in keep:
            found = keys[key] = (key, _KEEP)
        else:
            found = keys[key] = (text(key), _MASK if is_secret_name(key) else _WALK)
        return found

    def walk(item: Any) -> Any:
        kind = type(item)
        if kind is str:
            return text(item)
        if kind is dict or (kind not in _PLAIN and isinstance(item, dict)):
            out: dict[Any, Any] = {}
            for key, inner in item.items():
                if type(key) is not str and not isinstance(key, str):
                    out[key] = walk(inner)
                    continue
                name, action = keys.get(key) or key_of(key)
                if action == _KEEP:
                    out[name] = inner
                elif type(inner) in _SCALARS:   # most values: no call (a file holds millions of numbers)
                    out[name] = inner
                elif action == _MASK and isinstance(inner, str) and inner:
                    out[name] = MASK
                elif type(inner) is str:
                    out[name] = done.get(inner) or text(inner)
                else:
                    out[name] = walk(inner)
            return out
        if kind is list or kind is tuple or (kind not in _PLAIN and isinstance(item, (list, tuple))):
            return [inner if type(inner) in _SCALARS else walk(inner) for inner in item]
        if kind not in _PLAIN and isinstance(item, str):
            return text(item)
        return item

    return walk(value)


# --- Knowing from a JSON text, without walking its value, that redact_tree changes nothing ---------
#
# A results file of 10,000 queries holds ~600,000 values; walking them costs more than parsing the
# file. Every change redact_tree can make needs one of a few pieces of text in a string (or in a key),
# and a string's characters stand as they are in the JSON text unless it holds a backslash escape.
# So one search of the text for any of them (MAY_CHANGE_PATTERN, a superset of every trigger) tells, when
# it finds none, that the walk would return the value unchanged:
# - an escape ``\`` (a string then differs from its text: ``\u0074oken`` is ``token``);
# - a control character strip_controls removes (below 0x20 only escaped, in JSON text; tab, line feed
#   and carriage return stand raw only as JSON's white space between values);
# - ``://`` (every URL _URL finds);
# - a secret word (_SECRET_WORDS), then white space, a quote, white space, ``=`` or ``:``: every
#   ``name=value`` _NAMED_VALUE masks, every header _HEADER masks (its names end in such words), and
#   every secret-named key (``"api_key": "..."``, whose value redact_tree masks);
# - a scheme token (_SCHEME_TOKEN) or a key shape (_KEY_SHAPES), without their word boundaries.
# Letters are matched as Python's re.IGNORECASE matches them (which includes four non-ASCII letters)
# and white space as \s does (str.isspace); tests check both over every code point.
# The search runs in pydantic_core's Rust regex engine (a dependency already): linear time, 20 ms for
# 11 MB where Python's re takes more than a second for the case-insensitive words.

_IGNORECASE_EXTRA = {"i": "\u0130\u0131", "k": "\u212a", "s": "\u017f"}   # İ ı, Kelvin sign, long s
_SPACE = "[\\t-\\r\\x1c- \\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}]"


def _letters_as_ignorecase(pattern: str) -> str:
    """``pattern`` (literals, groups and ``[_-]`` only) with each ASCII letter as a class of every
    character re.IGNORECASE matches it with."""
    return "".join(f"[{c.lower()}{c.upper()}{_IGNORECASE_EXTRA.get(c.lower(), '')}]" if c.isascii() and c.isalpha()
                   else c for c in pattern)


# Public: a reader that searches the same text for another pattern too searches for both at once
# (see results/storage.py: a search costs the same for one pattern or two).
MAY_CHANGE_PATTERN = "|".join((
    r"\\",
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x{7f}-\x{9f}]",
    "://",
    f"(?:{_letters_as_ignorecase(_SECRET_WORDS)}){_SPACE}*[\"']?{_SPACE}*[=:]",
    f"(?:[Bb]earer|BEARER|Basic|BASIC){_SPACE}+[A-Za-z0-9._~+/=-]{{4}}",
    r"(?:sk-|hf_|gh[pousr]_|xox[abprs]-)[A-Za-z0-9_-]{8}",
))


def rust_search(pattern: str) -> Callable[[str], bool]:
    """Whether ``pattern`` (Rust regex syntax) occurs in a text; True too when the text cannot be
    searched (a lone surrogate), so a caller never takes "cannot tell" for "absent"."""
    validator = SchemaValidator(core_schema.str_schema(pattern=pattern, regex_engine="rust-regex"))

    def found(text: str) -> bool:
        try:
            validator.validate_python(text)
        except ValidationError as exc:
            return any(error["type"] != "string_pattern_mismatch" for error in exc.errors())
        return True
    return found


_may_change = rust_search(MAY_CHANGE_PATTERN)


@lru_cache(maxsize=8)
def _kept_values(keep: frozenset[str]) -> re.Pattern[str] | None:
    """A kept key and its string value as JSON text (``"response": "..."``), escapes included."""
    plain = sorted(key for key in keep if key and not re.search(r'["\\\x00-\x1f]', key))
    if not plain:
        return None
    keys = "|".join(map(re.escape, plain))
    return re.compile(rf'"(?:{keys})"[ \t\n\r]*:[ \t\n\r]*"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


def redaction_may_change(json_text: str, keep: frozenset[str] = frozenset()) -> bool:
    """False only when :func:`redact_tree` (with ``keep``) returns the value of ``json_text``
    unchanged, so the walk can be skipped; ``json_text`` is valid JSON (as ``textfile.parse_json``
    accepts it: no raw control character in a string).

    The kept keys' string values (a model's answers, which often hold escapes and URLs) are taken
    out of the text before a second search. Their pattern starts at a quote: one inside a string is
    escaped, so a match that does not start a real key leaves its backslash behind, found by the
    second search."""
    if not _may_change(json_text):
        return False
    kept = _kept_values(keep)
    return kept is None or _may_change(kept.sub("", json_text))
