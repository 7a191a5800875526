"""How a fuzzed message is written: JSON as nodes, the writer, and changes to its bytes.

The JSON is written here, not by a library, so that it can say what libraries
refuse to: member names given twice, numbers beyond a double or 64 bits, lone
surrogates, nesting ten thousand deep, odd white space and escapes. A
``Message`` is a recipe: ``render(uid)`` puts ``uid`` in every id slot, so each
production of a hypothesis example carries fresh ids (``tests.fuzz`` draws them).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Final, NamedTuple

from insights.events import payload

UID_LENGTH: Final = 32
#: Stands in a string for bytes spliced in after the text is written (``Swap``).
MARK: Final = "\ue000"


class Raw(NamedTuple):
    """JSON text written as it is (numbers parsers disagree on, escapes, bad tokens)."""

    text: str


class Slot(NamedTuple):
    """The message's unique id, with ``pad`` appended; ``empty`` gives ``""``; ``shared``:
    the id shared by the messages of one example instead (a session several views join)."""

    pad: str = ""
    empty: bool = False
    shared: bool = False


class Obj(NamedTuple):
    """A JSON object as its members in order; a name may appear twice."""

    members: tuple[tuple[str | Raw, Any], ...]


class Deep(NamedTuple):
    """``leaf`` inside ``depth`` arrays (or objects), written without recursion."""

    depth: int
    objects: bool
    leaf: Any


class Ago(NamedTuple):
    """A time ``seconds`` before the moment the message is rendered (negative: after it),
    written with a UTC offset of ``minutes``; near the present, so it lands in the read
    model's live windows, or just around the future limit."""

    seconds: float
    minutes: int


class Style(NamedTuple):
    """How the text is written: every non-ASCII character escaped, the separators."""

    ascii: bool = False
    comma: str = ","
    colon: str = ":"


# Transformations of the written bytes, applied in order.
class Pad(NamedTuple):
    """Extra members (strings within the limit) until the message is ``size`` bytes."""

    size: int


class Swap(NamedTuple):
    """Every ``MARK`` becomes ``data`` (invalid UTF-8, a surrogate escape, ...)."""

    data: bytes


class Encode(NamedTuple):
    """The whole text in another encoding; ``mojibake``: UTF-8 read as latin-1, re-encoded."""

    codec: str


class Wrap(NamedTuple):
    before: bytes
    after: bytes


class Cut(NamedTuple):
    at: float


class Flip(NamedTuple):
    at: float
    xor: int


Transform = Pad | Swap | Encode | Wrap | Cut | Flip


class Message(NamedTuple):
    """One adversarial message: its class, topic kind, key, body and transformations."""

    label: str
    kind: str
    key: bytes | None
    body: Any                        # a node, or bytes sent as they are
    style: Style = Style()
    transforms: tuple[Transform, ...] = ()

    def render(self, uid: str, shared: str = "shared") -> bytes:
        """The message value with ``uid`` (``UID_LENGTH`` characters) in its id slots, and
        ``shared`` in the slots shared with other messages."""
        if isinstance(self.body, bytes):
            raw = self.body
        else:
            raw = write(self.body, (uid, shared), self.style).encode("utf-8", "surrogatepass")
        for transform in self.transforms:
            raw = _TRANSFORMS[type(transform)](raw, transform)
        return raw


def write(node: Any, ids: tuple[str, str], style: Style) -> str:
    """JSON text of ``node`` (see the node types above)."""
    if isinstance(node, Raw):
        return node.text
    if isinstance(node, Slot):
        return _string("" if node.empty else ids[node.shared] + node.pad, style)
    if isinstance(node, str):
        return _string(node, style)
    if node is None or isinstance(node, bool):
        return json.dumps(node)
    if isinstance(node, int):
        return str(node)
    if isinstance(node, float):
        return {"inf": "Infinity", "-inf": "-Infinity", "nan": "NaN"}.get(repr(node), repr(node))
    if isinstance(node, Ago):
        zone = timezone(timedelta(minutes=node.minutes))
        moment = (datetime.now(UTC) - timedelta(seconds=node.seconds)).astimezone(zone)
        return _string(moment.isoformat().replace("+00:00", "Z"), style)
    if isinstance(node, Deep):
        opener, closer = ('{"a"' + style.colon, "}") if node.objects else ("[", "]")
        return opener * node.depth + write(node.leaf, ids, style) + closer * node.depth
    if isinstance(node, Obj):
        return "{" + style.comma.join(
            (name.text if isinstance(name, Raw) else _string(name, style))
            + style.colon + write(value, ids, style) for name, value in node.members) + "}"
    assert isinstance(node, list), node
    return "[" + style.comma.join(write(item, ids, style) for item in node) + "]"


def _string(text: str, style: Style) -> str:
    return json.dumps(text, ensure_ascii=style.ascii)


def _pad(raw: bytes, pad: Pad) -> bytes:
    need, members = pad.size - len(raw), list[bytes]()
    if not raw.endswith(b"}") or need <= 0:
        return raw
    while need >= 12:                         # ,"p0000":"x..." is 11 bytes and the x's
        size = min(payload.MAX_STRING, need - 11)
        members.append(b',"p%04d":"%s"' % (len(members), b"x" * size))
        need -= 11 + size
    return raw[:-1] + b"".join(members) + b" " * need + b"}"


def _encode(raw: bytes, encode: Encode) -> bytes:
    if encode.codec == "mojibake":
        return raw.decode("latin-1").encode()
    try:
        text = raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:                # not UTF-8 already: keep its bytes as they are
        text = raw.decode("utf-8", "surrogateescape")
    return text.encode(encode.codec, "surrogatepass" if "utf" in encode.codec else "replace")


def _flip(raw: bytes, flip: Flip) -> bytes:
    if not raw:
        return raw
    at = min(len(raw) - 1, int(flip.at * len(raw)))
    return raw[:at] + bytes([raw[at] ^ flip.xor]) + raw[at + 1:]


_TRANSFORMS: Final[dict[type, Callable[[bytes, Any], bytes]]] = {
    Pad: _pad,
    Swap: lambda raw, t: raw.replace(MARK.encode(), t.data).replace(b"\\ue000", t.data),
    Encode: _encode,
    Wrap: lambda raw, t: t.before + raw + t.after,
    Cut: lambda raw, t: raw[:int(t.at * len(raw))],
    Flip: _flip,
}
