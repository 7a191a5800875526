"""COPY text encoding round-trips every value PostgreSQL will see."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from consumers.copy import Json, encode, field


def unescape(text: str) -> str:
    out, i = [], 0
    table = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}
    while i < len(text):
        if text[i] == "\\":
            out.append(table[text[i + 1]])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def test_scalars() -> None:
    assert field(None) == "\\N"
    assert field(True) == "t"
    assert field(False) == "f"
    assert field(42) == "42"
    assert field(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05Z"
    assert field(datetime(2026, 1, 2, 3, 4, 5, 120, tzinfo=UTC)) == "2026-01-02T03:04:05.000120Z"
    assert field(b"\x00\xff") == "\\\\x00ff"
    assert field(Json(b'{"a": "b\\\\c"}')) == '{"a": "b\\\\\\\\c"}'


def test_rows_are_lines_of_tab_separated_fields() -> None:
    assert encode([("a", 1), (None, "x\ty")]).getvalue() == b"a\t1\n\\N\tx\\ty\n"


@given(st.text())
def test_text_round_trips(text: str) -> None:
    encoded = field(text)
    assert "\t" not in encoded and "\n" not in encoded and "\r" not in encoded
    assert unescape(encoded) == text
