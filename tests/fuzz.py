"""Adversarial Kafka message values for the fuzz tests: hypothesis strategies.

A drawn ``Message`` (``tests.fuzz_text``) is a recipe, not bytes: it is rendered
with a fresh unique id in every id slot (``event_id``, ``session_id``,
``pageview_id``) each time it is produced, so a valid event never counts as a
duplicate of an earlier one or conflicts with it.

The classes of bad input (a message's ``label`` names them in failure reports):
random bytes, random text and random JSON; valid events of every type, mutated
(a field dropped, set to a wrong type or an out-of-range number, an extreme or
malformed time, an id empty or too long, an unknown or non-string ``type``,
a member given twice, an extra member with an adversarial name or value);
extra members nested just within, just beyond and far beyond the depth limit,
strings and names at and over their limits, U+0000, lone surrogates; events
that are not the top-level object; and the whole text written oddly (every
character escaped, white space JSON allows and white space it does not) or
changed as bytes: re-encoded (UTF-16/32, latin-1, cp1250, UTF-8 read as latin-1),
invalid UTF-8 or surrogate escapes spliced into a string, a byte-order mark,
trailing data, cut short, a bit flipped, padded to just below, at and above the
size limit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any, Final

from hypothesis import strategies as st

from insights.events import contract, payload
from insights.settings import TOPIC_KINDS
from tests.fuzz_text import (
    MARK,
    UID_LENGTH,
    Ago,
    Cut,
    Deep,
    Encode,
    Flip,
    Message,
    Obj,
    Pad,
    Raw,
    Slot,
    Style,
    Swap,
    Transform,
    Wrap,
)

# ---------------------------------------------------------------- values

ABSENT: Final = Raw("<absent>")        # an optional field left out
_SAFE = st.characters(exclude_categories=["Cs"], exclude_characters="\x00" + MARK)
_ANY = st.characters(codec=None, exclude_categories=())   # surrogates and U+0000 too


@cache
def words(min_size: int = 0, max_size: int = 12) -> st.SearchStrategy[str]:
    """Text a valid event may carry (no U+0000, no surrogate)."""
    return st.text(_SAFE, min_size=min_size, max_size=max_size)


@cache
def near(limit: int, *, over: bool = False) -> st.SearchStrategy[str]:
    """Strings of exactly ``limit`` characters (one more when ``over``), ASCII or not."""
    return st.builds(lambda ch, n: ch * n, st.sampled_from(["x", "ż", "\U0001f600", "\u200b"]),
                     st.just(limit + 1 if over else limit) | st.just(limit - 1))


@cache
def names(limit: int) -> st.SearchStrategy[str]:
    return words(1, 20) | near(limit)


USER_IDS = st.integers(1, 40) | st.sampled_from([0, 2**63 - 1])
COUNTS = st.integers(0, 10_000) | st.sampled_from([0, 2**31 - 1])
OFFSETS = st.sampled_from(["Z", "z", "", "+00:00", "-00:00", "+14:00", "-14:00", "+05:30",
                           "-09:30", "+23:59", "+1400", "+99:00"])


@st.composite
def times(draw: st.DrawFn, first: int, last: int) -> str:
    """An RFC 3339 time (mostly), with 0-12 fraction digits and an odd offset at times."""
    start, end = datetime(first, 1, 1), datetime(last, 12, 31, 23, 59, 59)
    moment = start + timedelta(seconds=draw(st.integers(0, int((end - start).total_seconds()))))
    digits = draw(st.sampled_from([0, 0, 3, 6, 9, 12]))
    fraction = f".{draw(st.integers(0, 10**digits - 1)):0{digits}d}" if digits else ""
    sep = draw(st.sampled_from("TTTt "))
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}{sep}{moment.hour:02d}:"
            f"{moment.minute:02d}:{moment.second:02d}{fraction}{draw(OFFSETS)}")


@cache
def valid_times() -> st.SearchStrategy[str | Ago]:
    """Past times, mostly valid (a few offsets are not: the oracle decides), and times
    relative to the present: within the last month, the last minutes, a second ahead."""
    recent = st.sampled_from([0.0, 1.0, 59.5, 3600.0, 86_400.0, 7 * 86_400.0, 31 * 86_400.0,
                              -1.0, -299.0]) | st.floats(0, 40 * 86_400)
    return times(1971, 2025) | st.builds(Ago, recent, st.sampled_from([0, 0, 840, -840, 330]))


ODD_TIMES: Final = [
    "0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59Z", "9998-12-31T23:59:59+14:00", "9999-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z", "1969-12-31T23:59:59.9999999Z", "1970-01-01T00:00:00Z",
    "1970-01-01T00:00:00+00:01", "1970-01-01T00:00:00-14:00", "2016-12-31T23:59:60Z",
    "2020-01-01T24:00:00Z", "2020-01-01T00:00:00", "2020-01-01T00:00:00.123456789012Z",
    "2020-01-01T00:00:00.123456789012+14:00", "2020-02-29T12:00:00-14:00",
    "2021-02-29T00:00:00Z", "2020-01-01", "2020-01-01T00:00Z", "0000-01-01T00:00:00Z",
    "2020-01-01T00:00:00." + "9" * 40 + "Z", "", "now", "+002020-01-01T00:00:00Z",
    "2020-13-01T00:00:00Z", "2020-01-01T00:00:00\u0000Z",
    "\uff12\uff10\uff12\uff10-01-01T00:00:00Z",          # full-width digits
]


#: Times after the future limit: just after, an hour, a year, a far year.
AHEAD: Final = (st.builds(Ago, st.sampled_from([-301.0, -3600.0, -86_400.0 * 365]),
                          st.sampled_from([0, 840, -840]))
                | st.sampled_from(["9998-12-31T23:59:59+14:00", "2999-01-01T00:00:00Z"]))


@cache
def odd_times() -> st.SearchStrategy[Any]:
    """Extreme and malformed times, and times that are not strings."""
    return (st.sampled_from(ODD_TIMES) | times(1, 9999) | AHEAD
            | st.sampled_from([0, 1_700_000_000, 1.7e9, None, True, [], Raw("1e400")]))


NUMBERS: Final = [
    2**63, 2**63 - 1, -1, -(2**63), -(2**63) - 1, 2**31, 2**31 - 1, 2**64, 0, 101,
    1e308, -0.0, 1.5, 1.0, float("inf"), float("nan"), Raw("1e400"), Raw("-1e400"),
    Raw("-0"), Raw("1" + "0" * 30), Raw("1" + "0" * 5000), Raw("01"), Raw("+1"), Raw(".5"),
    Raw("1."), Raw("0x10"), Raw("1e5"), Raw("1E+2"), Raw("9" * 19), Raw("-"), Raw("2e-400"),
]


@cache
def scalars() -> st.SearchStrategy[Any]:
    """Any JSON scalar, adversarial ones included."""
    return st.one_of(
        st.none(), st.booleans(), st.integers(-(2**64), 2**64), st.floats(),
        st.sampled_from(NUMBERS), st.text(_ANY, max_size=10), words(), words(),
        near(payload.MAX_STRING, over=True) | near(payload.MAX_STRING))


@cache
def clean_scalars() -> st.SearchStrategy[Any]:
    """JSON scalars within every limit (an extra field a valid event may carry)."""
    return st.one_of(
        st.none(), st.booleans(), st.integers(payload.MIN_INT, payload.MAX_INT),
        st.floats(allow_nan=False, allow_infinity=False), words(), words(),
        st.sampled_from([2**63 - 1, -(2**63), 1e308, -0.0, 5e-324, MARK, "\\u0000", "\\"]),
        near(payload.MAX_STRING))


@cache
def deep() -> st.SearchStrategy[Deep]:
    """Nesting just within the limit (as an extra member, the event being level 1), just
    beyond it, and far beyond it."""
    depth = payload.MAX_DEPTH
    return st.builds(Deep, st.sampled_from([depth - 2, depth - 1, depth, 100, 10_000]),
                     st.booleans(), st.none() | st.integers() | words(max_size=3))


@cache
def member_names() -> st.SearchStrategy[str | Raw]:
    return (words(0, 10) | st.text(_ANY, max_size=6) | near(payload.MAX_NAME, over=True)
            | near(payload.MAX_NAME) | st.sampled_from(["", "\x00", "a" + MARK, "type"])
            | st.sampled_from([Raw('"typ\\u0065"'), Raw('"\\u0000"'), Raw('"ts"')]))


@cache
def values() -> st.SearchStrategy[Any]:
    """Any JSON value: scalars, arrays, objects (names may repeat), deep nesting."""
    return st.recursive(scalars() | deep(), lambda inner: (
        st.lists(inner, max_size=3)
        | st.lists(st.tuples(member_names(), inner), max_size=3).map(lambda m: Obj(tuple(m)))),
        max_leaves=8)


@cache
def clean_values() -> st.SearchStrategy[Any]:
    """JSON values within every limit, nested at most as deep as an extra member may be."""
    within = st.builds(Deep, st.integers(1, payload.MAX_DEPTH - 1), st.booleans(),
                       clean_scalars())
    return st.recursive(clean_scalars() | within, lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(words(0, 8), inner, max_size=3).map(
            lambda d: Obj(tuple(d.items())))), max_leaves=6)


# ---------------------------------------------------------------- events

def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.just(ABSENT) | st.none() | strategy


_TEXT = words() | near(64)
_SESSION = st.sampled_from([Slot(), Slot(shared=True)])     # its own, or the example's
_COMMON = {"user_id": optional(USER_IDS), "session_id": optional(_SESSION),
           "v": st.just(ABSENT) | st.sampled_from([1, 2, 2**63 - 1])}
_USER = {"user_id": USER_IDS}
#: Per type, a strategy for each field (required ones never ABSENT).
FIELDS: Final[dict[str, dict[str, st.SearchStrategy[Any]]]] = {
    "user_upsert": {**_USER, "email": names(256), "name": optional(_TEXT),
                    "role": optional(_TEXT), "is_active": st.just(ABSENT) | st.booleans(),
                    "created_at": optional(valid_times()), "company": optional(_TEXT)},
    "session_start": {"session_id": st.just(Slot()), "device_type": optional(
        st.sampled_from(["desktop", "mobile", "tablet"])), "browser": optional(_TEXT)},
    "session_end": {"session_id": _SESSION, "duration_seconds": optional(COUNTS),
                    "clicks_count": optional(COUNTS)},
    "pageview": {"pageview_id": st.just(Slot()), "path": st.builds(
        lambda p: "/" + p, words() | near(2047)), "load_time_ms": optional(COUNTS)},
    "page_leave": {"pageview_id": st.just(Slot()), "time_on_page_seconds": optional(COUNTS),
                   "scroll_depth_percent": optional(st.integers(0, 100))},
    "js_error": {"session_id": _SESSION, "message": words() | near(4096),
                 "source": optional(_TEXT), "line": optional(COUNTS)},
    "login_succeeded": _USER, "login_failed": _USER, "account_unlocked": _USER,
    "password_reset": _USER,
    "security_alert": {"user_email": names(256), "alert_type": names(256), "severity": optional(
        st.sampled_from(["low", "medium", "high", "critical"]))},
    "account_locked": {**_USER, "locked_until": valid_times()},
    "search": {"query": words() | near(1024)},
    "conversion": {"event_type": names(256)},
}
TYPES: Final = sorted(FIELDS)
FIELD_NAMES: Final = sorted({"event_id", "type", "ts"} | set(_COMMON)
                            | {name for fields in FIELDS.values() for name in fields})


@st.composite
def valid_event(draw: st.DrawFn, type_: str) -> Obj:
    """A valid event of ``type_`` (but for a few drawn offsets): every field of the type, the
    optional ones present, null or absent, in any order, with up to two extra members."""
    fields = {**_COMMON, **FIELDS[type_]}
    ahead = draw(st.integers(0, 19)) == 0        # now and then a ts beyond the future limit
    ts = draw(AHEAD if ahead else valid_times())
    members = [("event_id", Slot()), ("type", type_), ("ts", ts)]
    members += [(name, draw(strategy)) for name, strategy in fields.items()]
    members = [m for m in draw(st.permutations(members)) if m[1] is not ABSENT]
    extras = draw(st.lists(st.tuples(words(1, 8).filter(lambda n: n not in FIELD_NAMES),
                                     clean_values()), max_size=2, unique_by=lambda m: m[0]))
    return Obj(tuple(members + extras))


ID_FIELDS: Final = ("event_id", "session_id", "pageview_id")
ID_VARIANTS: Final = [Slot(empty=True), Slot("x" * (64 - UID_LENGTH)),
                      Slot("x" * (65 - UID_LENGTH)), Slot("ż"), Slot(" "), Slot("\x00"),
                      Slot(MARK), Slot("x" * 5000)]
TYPE_VALUES: Final = ["PageView", "page_view", "pageview ", "", "\x00", "search\x00", 1, None,
                      True, [], Obj(()), ["search"], Raw('"se\\u0061rch"'), Raw('"\\ud800"')]


@st.composite
def mutate(draw: st.DrawFn, event: Obj) -> tuple[Obj, str]:
    """``event`` with one field dropped, replaced, duplicated or marked; and what was done."""
    members = list(event.members)
    names = [str(n) for n, _ in members]
    how = draw(st.sampled_from(["drop", "set", "time", "type", "id", "dup", "mark", "extra"]))
    name = draw(st.sampled_from(names) | st.sampled_from(FIELD_NAMES))
    value: Any = ABSENT
    if how == "set":
        value = draw(scalars() | values() | st.sampled_from(NUMBERS))
    elif how == "time":
        name = draw(st.sampled_from(["ts", "ts", "locked_until", "created_at"]))
        value = draw(odd_times())
    elif how == "type":
        name, value = "type", draw(st.sampled_from(TYPE_VALUES))
    elif how == "id":
        name = draw(st.sampled_from(ID_FIELDS))
        value = draw(st.sampled_from(ID_VARIANTS))
    elif how == "dup":                  # the same name twice, written as it is
        name = draw(st.sampled_from(names))
        members.insert(draw(st.integers(0, len(members))), (name, draw(scalars())))
        return Obj(tuple(members)), f"dup {name}"
    elif how == "mark":
        value = "a" + MARK + "b"
    elif how == "extra":
        name = draw(member_names())         # type: ignore[assignment]
        value = draw(values())
        members.append((name, Slot(value) if name in ID_FIELDS and isinstance(value, str)
                        else value))
        return Obj(tuple(members)), f"extra {name!r:.40}"
    if name in ID_FIELDS and isinstance(value, str):
        value = Slot(value)               # still unique: a repeated id is no finding
    members = [m for m in members if m[0] != name]
    if value is not ABSENT:
        members.insert(draw(st.integers(0, len(members))), (name, value))
    return Obj(tuple(members)), f"{how} {name}={value!r:.40}"


# ---------------------------------------------------------------- text and messages

#: Separators: JSON white space, and white space JSON does not allow (vertical tab, NBSP...).
COMMAS: Final = [",", ", ", " ,\n", "\t,\r\n", ",\x0b", ",\u00a0", ",\u2028", ",,"]
COLONS: Final = [":", ": ", " :\t", "\n:\n", ":\x0c", "\u3000:"]
SPLICES: Final = [
    b"\xff", b"\xfe\xff", b"\xc3", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
    b"\xf8\x88\x80\x80\x80", b"\x80", b"\\ud800", b"\\udc00", b"\\ud800\\u0041",
    b"\\ud83d\\ude00", b"\\uDBFF\\uDFFF", b"\\u0000", b"\x00", b"\\x41", b"\\", b'\\"', b"\n",
    b"\\uZZZZ", b"\x7f", b"\x1b[31m",
]
WRAPS: Final = [(b"\xef\xbb\xbf", b""), (b"\xfe\xff", b""), (b" \n\t", b"\r\n"), (b"", b"x"),
                (b"", b"{}"), (b"", b"\x00"), (b"[", b"]"), (b"\x00", b""), (b"", b" " * 5000)]
CODECS: Final = ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1", "mojibake", "cp1250"]


@cache
def styles() -> st.SearchStrategy[Style]:
    return st.builds(Style, st.booleans(), st.sampled_from([","] * 3 * len(COMMAS) + COMMAS),
                     st.sampled_from([":"] * 3 * len(COLONS) + COLONS))


@cache
def transforms() -> st.SearchStrategy[Transform]:
    limit = 64 * 1024                     # the default INSIGHTS_MAX_MESSAGE_BYTES
    return st.one_of(
        st.builds(Pad, st.sampled_from([limit - 1, limit, limit + 1, 70_000, 200_000])),
        st.builds(Swap, st.sampled_from(SPLICES)),
        st.builds(Encode, st.sampled_from(CODECS)),
        st.sampled_from([Wrap(*w) for w in WRAPS]),
        st.builds(Cut, st.floats(0, 1)),
        st.builds(Flip, st.floats(0, 1), st.integers(1, 255)))


@cache
def keys() -> st.SearchStrategy[bytes | None]:
    """Message keys: none, empty, a user id, binary, long."""
    return (st.none() | st.just(b"") | st.integers(0, 99).map(lambda n: str(n).encode())
            | st.binary(max_size=12) | st.just(b"k" * 1000))


@st.composite
def events(draw: st.DrawFn) -> Message:
    """A valid event of any type, perhaps mutated, written in some style, perhaps
    transformed as text; sent to its type's topic (now and then to another)."""
    type_ = draw(st.sampled_from(TYPES))
    event, done = draw(valid_event(type_)), []
    for _ in range(draw(st.sampled_from([0, 0, 0, 0, 1, 1, 2, 3]))):
        event, what = draw(mutate(event))
        done.append(what)
    count = draw(st.sampled_from([0, 0, 0, 0, 0, 1, 1, 2]))
    changes = sorted(draw(st.lists(transforms(), min_size=count, max_size=count)),
                     key=lambda t: not isinstance(t, Pad))    # padding first: exact sizes
    if any(isinstance(t, Swap) for t in changes):
        event = Obj((*event.members, ("m", "a" + MARK + "b")))
    body: Any = event
    if draw(st.integers(0, 15)) == 0:     # a valid event, but not as the object itself
        body = draw(st.sampled_from([[event], [], [[event]]]))
    kind = contract.TOPIC_OF_TYPE[type_]
    label = "; ".join([type_, *done, *(type(t).__name__ for t in changes)])
    return Message(label, draw(st.just(kind) | st.sampled_from(TOPIC_KINDS)), draw(keys()),
                   body, draw(styles()), tuple(changes))


@cache
def noise() -> st.SearchStrategy[Message]:
    """Random bytes, random text, random JSON (an object or not), whitespace alone."""
    body = st.one_of(st.binary(max_size=200),
                     st.text(_ANY, max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass")),
                     values(), st.sampled_from([b"", b" ", b"\n\t \r", b"null", b"{}", b"[]"]))
    return st.builds(lambda b, kind, key, style: Message(
        f"noise {type(b).__name__}", kind, key, b, style),
        body, st.sampled_from(TOPIC_KINDS), keys(), styles())


@cache
def messages() -> st.SearchStrategy[Message]:
    """Any adversarial message: mostly events (valid or mutated), some noise."""
    return events() | events() | events() | noise()
