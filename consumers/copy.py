"""PostgreSQL ``COPY ... FROM STDIN`` text format, written by hand because it is the fast path.

COPY moves ~200k rows/s where ``execute_values`` moves ~70k (field notes); the
format is tab-separated fields, ``\\N`` for NULL, backslash escapes for
backslash, tab, newline and carriage return.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import datetime

Value = str | int | bool | datetime | bytes | None


class Json(bytes):
    """Raw JSON text for a ``json``/``jsonb`` column (copied as text, not as ``bytea``)."""


def _escape(text: str) -> str:
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return (text.replace("\\", "\\\\").replace("\t", "\\t")
                .replace("\n", "\\n").replace("\r", "\\r"))
    return text


def field(value: Value) -> str:
    """One value in COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return _escape(value)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Json):
        return _escape(value.decode())
    return "\\\\x" + value.hex()


def encode(rows: Iterable[Sequence[Value]]) -> io.BytesIO:
    """The rows as a COPY text stream, ready for ``cursor.copy_expert``."""
    lines = ["\t".join([field(v) for v in row]) for row in rows]
    lines.append("")
    return io.BytesIO("\n".join(lines).encode())
