"""CSV exports: header, one row per tab entry, formula cells defused, nulls empty."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

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
                    ["'=HYPERLINK(\"x\")", "a@b.c", 55, 2, 1, 4, 0, 1, "true", ""]]


def test_engagement_csv_round_trips_through_a_csv_reader() -> None:
    entries = [
        {"user": {"id": 1, "name": "Ann", "email": "ann@x.io"}, "score": 40, "sessions": 5,
         "page_views": 30, "wow": -25, "status": "active", "sparkline": [1, 2]},
        {"user": {"id": 2, "name": None, "email": "bo@x.io"}, "score": 3, "sessions": 0,
         "page_views": 0, "wow": None, "status": "dormant", "sparkline": []},
    ]
    parsed = _parse(export_csv("engagement", {"engagement_list": entries}))
    assert parsed == [
        ["name", "email", "score", "sessions", "page_views", "wow", "status"],
        ["Ann", "ann@x.io", "40", "5", "30", "-25", "active"],
        ["", "bo@x.io", "3", "0", "0", "", "dormant"],
    ]


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
