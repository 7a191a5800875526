"""What a message value must be, whatever its event type: the checks below the schema.

The typed decoder (``insights.events.contract``) checks the contract's fields; this
module checks the whole message, extra fields included, so that everything a
message carries is either kept as sent (``raw``) or refused as a whole:

- valid UTF-8 JSON text (no byte-order mark, no lone UTF-16 surrogate escapes,
  no trailing data, no NaN or infinite numbers);
- nested at most ``MAX_DEPTH`` arrays/objects deep;
- no string (member names included) holding U+0000, which PostgreSQL ``text``
  and ``jsonb`` cannot store;
- strings at most ``MAX_STRING`` characters, member names at most ``MAX_NAME``;
- integers within 64 bits, so every JSON number fits PostgreSQL ``jsonb``,
  a ``bigint`` and a C double;
- no member name twice in one object (parsers disagree on which one counts).

``check`` returns ``(reason, detail)`` for the first rule a message breaks, or
None. It never raises on any input: deep nesting is measured before anything
recursive sees the message.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

import msgspec

#: Deepest nesting of arrays and objects (the event itself is level 1).
MAX_DEPTH: Final = 32
#: Longest string value, in characters (the contract's longest field, ``js_error.message``).
MAX_STRING: Final = 4096
#: Longest member name, in characters.
MAX_NAME: Final = 256
#: JSON integers must lie within a signed 64-bit integer.
MIN_INT: Final = -(2**63)
MAX_INT: Final = 2**63 - 1

Problem = tuple[str, str]
"""(reason code, detail)."""

_OPENERS: Final = frozenset(b"[{")
_CLOSERS: Final = frozenset(b"]}")
_QUOTE, _BACKSLASH = ord('"'), ord("\\")
# A \u escape of a UTF-16 surrogate; a lone one is not Unicode (msgspec refuses it with a
# misleading "truncated" message, so it is named here).
_SURROGATE: Final = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def check(raw: bytes) -> Problem | None:
    """The first rule ``raw`` breaks, or None when it is storable JSON text."""
    depth = nesting(raw)
    if depth > MAX_DEPTH:
        return "oversize", f"JSON nested {depth} levels deep; the limit is {MAX_DEPTH}"
    try:
        tree = msgspec.json.decode(raw)
    except msgspec.ValidationError as exc:            # numbers beyond a double
        return "invalid_value", f"a JSON number is out of range: {exc}"
    except msgspec.DecodeError as exc:
        return "bad_json", _decode_detail(raw, exc)
    problem, names = _walk(tree, b"\\u0000" in raw)
    if problem is None and _name_ends(raw) > names:
        problem = _duplicate_name(raw)
    return problem


def _name_ends(raw: bytes) -> int:
    """At least the number of member names in ``raw``: each ends with a quote followed by
    the colon or JSON white space. Strings holding such pairs count too, so a count above
    the names decoded only calls for the exact (slower) look for a repeated name."""
    return len(_NAME_END.findall(raw))


_NAME_END: Final = re.compile(rb'"[:\s]')


def nesting(raw: bytes) -> int:
    """How deep arrays and objects nest in ``raw``, brackets inside strings left out.

    Counting brackets first keeps the common case (a flat event) to two C calls;
    only a message with more brackets than the limit is scanned byte by byte.
    """
    if raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH:
        return 1
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == _BACKSLASH:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPENERS:
            depth += 1
            deepest = max(deepest, depth)
        elif byte in _CLOSERS:
            depth -= 1
    return deepest


def _decode_detail(raw: bytes, exc: msgspec.DecodeError) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        return "not JSON text: it starts with a UTF-8 byte-order mark"
    if _SURROGATE.search(raw):
        return "a \\u escape encodes a lone UTF-16 surrogate, which is not Unicode text"
    try:
        raw.decode()
    except UnicodeDecodeError as error:
        return f"not valid UTF-8: {error}"
    return f"not valid JSON: {exc}"


def _walk(tree: Any, nul: bool) -> tuple[Problem | None, int]:
    """Check every value of a decoded message without recursion; also count member names.

    ``nul``: whether the text holds a ``\\u0000`` escape, the only way a decoded
    string can contain U+0000 (a raw NUL byte is not JSON). The checks are written out
    inline: this runs for every message, and a function call per value would double it.
    """
    names, stack = 0, [tree]
    while stack:
        value = stack.pop()
        if type(value) is dict:
            names += len(value)
            for name in value:
                if len(name) > MAX_NAME or (nul and "\x00" in name):
                    return _string(name, "a member name", MAX_NAME, nul), names
            members: Any = value.values()
        elif type(value) is list:
            members = value
        else:
            members = (value,)
        for member in members:
            kind = type(member)
            if kind is str:
                if len(member) > MAX_STRING or (nul and "\x00" in member):
                    return _string(member, "a string", MAX_STRING, nul), names
            elif kind is int:
                if not MIN_INT <= member <= MAX_INT:
                    return _integer(member), names
            elif kind is dict or kind is list:
                stack.append(member)
    return None, names


def _string(text: str, what: str, limit: int, nul: bool) -> Problem:
    """The problem of a string found too long or holding U+0000."""
    if len(text) > limit:
        return "oversize", f"{what} is {len(text)} characters long; the limit is {limit}"
    return "invalid_value", f"{what} contains U+0000, which PostgreSQL cannot store"


def _integer(number: int) -> Problem:
    digits = len(str(abs(number)))
    return "invalid_value", f"an integer of {digits} digits is outside the signed 64-bit range"


class _DuplicateName(ValueError):
    pass


def _duplicate_name(raw: bytes) -> Problem | None:
    """The exact check, run only when the quick count leaves room for a repeated name."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for name, value in items:
            if name in seen:
                raise _DuplicateName(name)
            seen[name] = value
        return seen

    try:
        json.loads(raw, object_pairs_hook=pairs)
    except _DuplicateName as exc:
        name = str(exc)[:MAX_NAME]
        return "invalid_value", f"the member name {name!r} appears twice in one object"
    return None
