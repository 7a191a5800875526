"""PostgreSQL ``COPY ... FROM STDIN`` text format, written by hand because it is the fast path.

COPY moves ~200k rows/s where ``execute_values`` moves ~70k (field notes); the
format is tab-separated fields, ``\\N`` for NULL, backslash escapes for
backslash, tab, newline and carriage return.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import msgspec

Value = str | int | bool | datetime | bytes | None


class Json(bytes):
    """Raw JSON text for a ``json``/``jsonb`` column (copied as text, not as ``bytea``)."""


def _escape(text: str) -> str:
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return (text.replace("\\", "\\\\").replace("\t", "\\t")
                .replace("\n", "\\n").replace("\r", "\\r"))
    return text


def _text(value: str) -> str:
    return _escape(value)


def _json(value: Json) -> str:
    return _escape(value.decode())


def _bytes(value: bytes) -> str:
    return "\\\\x" + value.hex()


_json_encode = msgspec.json.Encoder().encode


def _datetime(value: datetime) -> str:
    # RFC 3339 from msgspec's C encoder: ~6x faster than isoformat(), which showed
    # as 13% of a batch's write time.
    return _json_encode(value)[1:-1].decode()


def _bool(value: bool) -> str:
    return "t" if value else "f"


def _null(_: None) -> str:
    return "\\N"


# Dispatch on the exact type: one dict lookup per value instead of an isinstance chain.
_FORMAT: dict[type, Callable[[Any], str]] = {
    str: _text, int: str, bool: _bool, type(None): _null, datetime: _datetime, Json: _json,
    bytes: _bytes,
}


def field(value: Value) -> str:
    """One value in COPY text format."""
    return _FORMAT[type(value)](value)


def encode(rows: Iterable[Sequence[Value]]) -> io.BytesIO:
    """The rows as a COPY text stream, ready for ``cursor.copy_expert``."""
    fmt = _FORMAT
    lines = ["\t".join([fmt[type(v)](v) for v in row]) for row in rows]
    lines.append("")
    return io.BytesIO("\n".join(lines).encode())
