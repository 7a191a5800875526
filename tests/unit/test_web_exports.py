"""CSV exports: header, one row per tab entry, formula cells defused, nulls empty."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from web.exports import COLUMNS, export_csv, export_filename, export_rows, safe_cell


def _parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("text", ["=1+1", "+33 600", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_text_that_a_spreadsheet_would_evaluate_gets_a_quote(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["Ann", "a=b", "/forum", "", "x-1"])
def test_plain_text_is_kept(value: str) -> None:
    assert safe_cell(value) == value


def test_numbers_stay_numbers_even_negative() -> None:
    assert safe_cell(-20) == -20
    assert safe_cell(1.5) == 1.5


def test_none_and_booleans() -> None:
    assert safe_cell(None) == ""
    assert safe_cell(True) == "true"
    assert safe_cell(False) == "false"


def test_problems_rows_take_name_and_email_from_the_user() -> None:
    row: dict[str, Any] = {
        "user": {"id": 3, "name": "=HYPERLINK(\"x\")", "email": "a@b.c"}, "score": 55,
        "failed_logins": 2, "password_resets": 1, "js_errors": 4, "slow_pages": 0,
        "security_alerts": 1, "is_locked": True, "last_login": None,
    }
    rows = export_rows("problems", {"problem_users": [row]})
    assert rows == [list(COLUMNS["problems"]),
                    [3, "'=HYPERLINK(\"x\")", "a@b.c", 55, 2, 1, 4, 0, 1, "true", ""]]


def test_engagement_csv_round_trips_through_a_csv_reader() -> None:
    entries = [
        {"user": {"id": 1, "name": "Ann", "email": "ann@x.io"}, "score": 40, "sessions": 5,
         "page_views": 30, "wow": -25, "status": "active", "sparkline": [1, 2]},
        {"user": {"id": 2, "name": None, "email": "bo@x.io"}, "score": 3, "sessions": 0,
         "page_views": 0, "wow": None, "status": "dormant", "sparkline": []},
    ]
    parsed = _parse(export_csv("engagement", {"engagement_list": entries}))
    assert parsed == [
        ["user_id", "name", "email", "score", "sessions", "page_views", "wow", "status"],
        ["1", "Ann", "ann@x.io", "40", "5", "30", "-25", "active"],
        ["2", "", "bo@x.io", "3", "0", "0", "", "dormant"],
    ]
    polish = _parse(export_csv("engagement", {"engagement_list": entries}, "pl"))[0]
    assert polish[:3] == ["ID użytkownika", "Imię i nazwisko", "E-mail"]
    assert len(polish) == len(set(polish)) == len(COLUMNS["engagement"])


def test_pages_csv_quotes_commas_and_defuses_paths() -> None:
    pages = [{"path": "/a,b", "views": 9, "unique_users": 2, "avg_time": 5, "avg_scroll": 50,
              "avg_load": 300, "bar_pct": 100},
             {"path": "-/x", "views": 1, "unique_users": 0, "avg_time": 0, "avg_scroll": 0,
              "avg_load": 0, "bar_pct": 11}]
    text = export_csv("pages", {"top_pages": pages})
    assert '"/a,b"' in text
    assert _parse(text)[1:] == [["/a,b", "9", "2", "5", "50", "300"],
                                ["'-/x", "1", "0", "0", "0", "0"]]


def test_an_empty_tab_gives_the_header_only() -> None:
    assert _parse(export_csv("pages", {})) == [list(COLUMNS["pages"])]


def test_filename() -> None:
    assert export_filename("engagement", "month") == "insights_engagement_month.csv"
    assert export_filename("engagement", "week", "at_risk") == (
        "insights_engagement_week_at_risk.csv")


@pytest.mark.parametrize(("text", "expected"), [
    ("  =1+1", "  '=1+1"), ("\u00a0\u200b+1", "\u00a0\u200b'+1"), ("\n@x", "\n'@x"),
    ("\uff1dSUM(A1)", "'\uff1dSUM(A1)"), ("\uff0b1", "'\uff0b1"), ("\uff0d1", "'\uff0d1"),
    ("\uff20x", "'\uff20x"), ("\ufe66x", "'\ufe66x"), ("\u2212 1", "'\u2212 1"),
    ("\u207c1", "'\u207c1"), ("\u2013x", "'\u2013x"),
    ('x;=HYPERLINK("http://e.vil")', 'x;\'=HYPERLINK("http://e.vil")'),
    ("a, -1", "a, '-1"), ("a\t@b", "a\t'@b"), ("a|+b", "a|'+b"), ("a\r\n=b", "a\r\n'=b"),
    ("\t=x", "'\t'=x"), ('"=1', '"\'=1'), ('a;" -1', 'a;" \'-1'),
])
def test_leading_blanks_look_alikes_and_split_cells_are_defused(text: str,
                                                                expected: str) -> None:
    assert safe_cell(text) == expected


@pytest.mark.parametrize("value", ["a;b", "x@y.io", "1-2", "a = b", "/p?q=1", "\u00e9t\u00e9"])
def test_signs_inside_a_cell_are_kept(value: str) -> None:
    assert safe_cell(value) == value


def test_every_cell_is_quoted() -> None:
    text = export_csv("pages", {"top_pages": [
        {"path": "/a", "views": 9, "unique_users": 2, "avg_time": None, "avg_scroll": 1.5,
         "avg_load": 300}]})
    assert text.splitlines()[1] == '"/a","9","2","","1.5","300"'


# Generous on purpose: any dash, anything NFKC folds into a sign, the minus sign.
def _starts_a_formula(segment: str) -> bool:
    text = segment.lstrip("".join(c for c in set(segment) if c == '"' or c.isspace()
                                  or unicodedata.category(c)[0] in "CZ"))
    first = text[:1]
    return bool(first) and (unicodedata.normalize("NFKC", first)[:1] in "=+-@"
                            or unicodedata.category(first) == "Pd" or first == "\u2212")


_SPLIT = re.compile(r"[,;\t|\r\n]")
_HOSTILE = st.text(alphabet=st.one_of(
    st.sampled_from("=+-@'\"\t\r\n ,;|\u00a0\u200b\u3000\ufeff\uff1d\uff0b\uff0d\uff20"
                    "\ufe62\ufe63\ufe66\ufe6b\u207a\u207b\u207c\u2212\u2013\u2014xA1("),
    st.characters()), max_size=40)


@given(names=st.lists(_HOSTILE, max_size=4), emails=st.lists(_HOSTILE, max_size=4))
def test_no_cell_starts_a_formula_however_the_line_is_split(names: list[str],
                                                            emails: list[str]) -> None:
    rows = [{"user": {"id": n, "name": name, "email": email}, "score": 1, "sessions": 2,
             "page_views": 3, "wow": 4, "status": "active"}
            for n, (name, email) in enumerate(zip(names, emails, strict=False))]
    text = export_csv("engagement", {"engagement_list": rows})
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    assert [cell for row in parsed[1:] for cell in row[1:3]] == [   # name and e-mail
        cell for row in export_rows("engagement", {"engagement_list": rows})[1:]
        for cell in row[1:3]]
    for row in parsed[1:]:
        for cell in row:
            assert not any(_starts_a_formula(s) for s in _SPLIT.split(cell)), repr(cell)
    # A spreadsheet that splits the raw text, quotes and all.
    for segment in _SPLIT.split(text):
        assert not _starts_a_formula(segment), repr(segment)
