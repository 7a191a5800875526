"""The poison corpus: every message found to break (or to have once broken) the consumer.

Each entry is (name, message value, reason code the consumer must dead-letter it
with). The unit tests decode them; the integration test produces them through
the real broker between valid events and checks that the consumer stays up,
dead-letters each one with its reason and applies everything around it once.
Add every new poison here.
"""

from __future__ import annotations

from typing import Final

import msgspec

TS: Final = "2026-11-25T10:15:00.123Z"


def search(**fields: object) -> bytes:
    """A valid ``search`` event with ``fields`` added or replaced."""
    body: dict[str, object] = {"event_id": "poison-e", "type": "search", "ts": TS,
                               "query": "biuro", "user_id": 7, **fields}
    return msgspec.json.encode(body)


_OPEN: Final = search()[:-1]          # the event without its closing brace: extras follow

POISON: Final[list[tuple[str, bytes, str]]] = [
    ("invalid UTF-8 in an extra field", _OPEN + b', "x": "\xff\xfe"}', "bad_json"),
    ("invalid UTF-8 in an extra member name", _OPEN + b', "\xc3": 1}', "bad_json"),
    ("ts before year 1 in UTC", search(ts="0001-01-01T00:00:00+14:00"), "invalid_value"),
    ("locked_until after year 9999 in UTC", msgspec.json.encode({
        "event_id": "poison-l", "type": "account_locked", "ts": TS, "user_id": 7,
        "locked_until": "9999-12-31T23:59:59-14:00"}), "invalid_value"),
    ("created_at before year 1 in UTC", msgspec.json.encode({
        "event_id": "poison-u", "type": "user_upsert", "ts": TS, "user_id": 7,
        "email": "a@b.pl", "created_at": "0001-01-01T00:30:00+01:00"}), "invalid_value"),
    ("ts before 1970", search(ts="1969-12-31T23:59:59Z"), "invalid_value"),
    ("arrays 10,000 deep", _OPEN + b', "x": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
     "oversize"),
    ("objects 10,000 deep", _OPEN + b', "x": ' + b'{"a":' * 10_000 + b"1" + b"}" * 10_000
     + b"}", "oversize"),
    ("U+0000 in an extra field", search(x="a\u0000"), "invalid_value"),
    ("U+0000 in a member name", search(**{"\u0000": 1}), "invalid_value"),
    ("lone surrogate escape", _OPEN + b', "x": "\\ud800"}', "bad_json"),
    ("lone low surrogate escape", _OPEN + b', "x": "a\\udc00"}', "bad_json"),
    ("integer beyond 64 bits", _OPEN + b', "x": 18446744073709551616}', "invalid_value"),
    ("integer of 5,000 digits", _OPEN + b', "x": 1' + b"0" * 5000 + b"}", "invalid_value"),
    ("number beyond a double", _OPEN + b', "x": 1e999999}', "invalid_value"),
    ("NaN", _OPEN + b', "x": NaN}', "bad_json"),
    ("duplicate member", _OPEN + b', "query": "other"}', "invalid_value"),
    ("duplicate type", _OPEN + b', "type": "conversion"}', "invalid_value"),
    ("extra string too long", search(x="y" * 5000), "oversize"),
    ("member name too long", search(**{"k" * 300: 1}), "oversize"),
    ("byte-order mark", b"\xef\xbb\xbf" + search(), "bad_json"),
    ("UTF-16", search().decode().encode("utf-16"), "bad_json"),
    ("empty", b"", "bad_json"),
    ("only white space", b" \n\t ", "bad_json"),
    ("a bare number", b"12", "not_object"),
    ("user_id beyond bigint", search(user_id=2**63), "invalid_value"),
    ("negative count", msgspec.json.encode({
        "event_id": "poison-s", "type": "session_end", "ts": TS, "session_id": "s",
        "duration_seconds": -1}), "invalid_value"),
    ("a tab in a path (it split the paths tab's transition pairs)", msgspec.json.encode({
        "event_id": "poison-p", "type": "pageview", "ts": TS, "pageview_id": "poison-v",
        "path": "/a\tb"}), "invalid_value"),
    ("count beyond integer", msgspec.json.encode({
        "event_id": "poison-c", "type": "session_end", "ts": TS, "session_id": "s",
        "clicks_count": 2**31}), "invalid_value"),
]
