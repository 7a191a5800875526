"""``insights.events.files``: JSON Lines and CSV, plain or gzip, into contract events or
the reason they are none; stable ids for events that come without one."""

from __future__ import annotations

import gzip
import io

import pytest

from insights.events import files


def _lines(data: bytes, fmt: files.Format) -> list[files.Line]:
    return list(files.lines(io.BufferedReader(io.BytesIO(data)), fmt))  # type: ignore[arg-type]


VIEW = (b'{"type":"pageview","event_id":"e1","ts":"2026-11-01T10:00:00Z","pageview_id":"p1",'
        b'"path":"/"}')


def test_json_lines_plain_and_gzip_read_alike_with_line_numbers_and_reasons() -> None:
    data = VIEW + b"\n\n  \nnot json\n[1]\n" + VIEW.replace(b'"event_id":"e1",', b"") + b"\n"
    for raw in (data, gzip.compress(data)):
        found = _lines(raw, "jsonl")
        assert [(x.number, x.reason) for x in found] == [
            (1, ""), (4, "bad_json"), (5, "not_object"), (6, "")]
        assert found[0].event == {"type": "pageview", "event_id": "e1",
                                  "ts": "2026-11-01T10:00:00Z", "pageview_id": "p1", "path": "/"}
        assert found[3].event is not None and found[3].event["event_id"].startswith("imp-")


def test_a_line_over_the_limit_is_refused_and_the_next_one_read(monkeypatch: pytest.MonkeyPatch
                                                                 ) -> None:
    monkeypatch.setattr(files, "MAX_LINE", 150)
    found = _lines(b'{"a": "' + b"x" * 400 + b'"}\n' + VIEW + b"\n", "jsonl")
    assert [(x.number, x.reason) for x in found] == [(1, "oversize"), (2, "")]


def test_a_stable_id_depends_on_the_other_fields_only() -> None:
    event = {"type": "search", "ts": "2026-11-01T10:00:00Z", "query": "biuro"}
    assert files.stable_id(event) == files.stable_id(dict(reversed(event.items())))
    assert files.stable_id(event) == files.stable_id({**event, "event_id": "whatever"})
    assert files.stable_id(event) != files.stable_id({**event, "query": "biur"})


def test_csv_cells_take_the_contracts_types_and_empty_ones_are_absent() -> None:
    data = ("\ufefftype,event_id,ts,user_id,email,is_active,name\n"
            "user_upsert,u1,2026-11-01T10:00:00Z,7,a@example.com,false,\n"
            "user_upsert,u2,2026-11-01T10:00:00Z,x7,a@example.com,,\n"
            "user_upsert,u3,2026-11-01T10:00:00Z,7\n"
            "nonsense,u4,2026-11-01T10:00:00Z,,,,\n"
            "login_failed,,2026-11-01T10:00:00Z,,,,\n").encode()
    found = _lines(gzip.compress(data), "csv")
    assert found[0].event == {"type": "user_upsert", "event_id": "u1",
                              "ts": "2026-11-01T10:00:00Z", "user_id": 7,
                              "email": "a@example.com", "is_active": False}
    assert [(x.number, x.reason) for x in found[1:]] == [
        (3, "wrong_type"), (4, "wrong_type"), (5, "unknown_type"), (6, "missing_field")]


@pytest.mark.parametrize(("name", "fmt"), [
    ("a.jsonl", "jsonl"), ("a.NDJSON.gz", "jsonl"), ("dump.json", "jsonl"), ("x.csv.gz", "csv"),
    ("x.txt", None), ("csv", None)])
def test_the_format_comes_from_the_name(name: str, fmt: str | None) -> None:
    assert files.format_of(name) == fmt


def test_a_csv_row_the_reader_cannot_take_is_refused_and_the_next_one_read() -> None:
    data = ("type,event_id,ts,user_id\n"
            f"login_failed,a,2026-11-01T10:00:00Z,{'9' * 200_000}\n"
            "login_failed,c,2026-11-01T10:00:00Z,7\n").encode()
    found = _lines(data, "csv")
    assert [(x.number, x.reason) for x in found] == [(2, "bad_csv"), (3, "")]
    assert found[-1].event is not None and found[-1].event["event_id"] == "c"
