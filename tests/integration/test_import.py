"""``insights import``: files of contract events through the real broker into PostgreSQL and
Redis. The dry run produces nothing; the import sends every valid event once and keeps
the refused lines; importing the same files again adds nothing (ids are stable, also for
events that came without one)."""

from __future__ import annotations

import gzip
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from consumers.pipeline import Pipeline
from harness.factories import stream
from harness.services import environment, scalar, stored_records
from insights.settings import Settings
from tests.read_model import assert_reads_as_reference, history, wait_ingested


def _run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "insights", "import", *args],
                          env=environment(settings), capture_output=True, text=True,
                          timeout=120, check=False)


def _files(tmp_path: Path) -> tuple[list[str], int]:
    """A gzip JSON Lines file (a third of its events without an id, two bad lines) and a
    CSV file (one bad row); the paths and how many events are valid."""
    events: list[dict[str, Any]] = list(stream(600, users=20, seed=3))
    for n, event in enumerate(events):
        if n % 3 == 1:
            del event["event_id"]
    lines = [msgspec.json.encode(e) for e in events]
    lines[10:10] = [b"not json", b'{"type": "pageview", "ts": "2026-01-01T00:00:00Z"}']
    jsonl = tmp_path / "history.jsonl.gz"
    jsonl.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    csv = tmp_path / "more.csv"
    csv.write_text("type,event_id,ts,user_id,email,query,session_id\n"
                   "user_upsert,,2026-11-02T10:00:00Z,9001,csv@example.com,,\n"
                   "search,csv-q1,2026-11-02T10:05:00Z,9001,,biuro rachunkowe,csv-s\n"
                   "search,csv-q2,2026-11-02T10:06:00Z,not-a-number,,x,csv-s\n")
    return [str(jsonl), str(csv)], len(events) + 2


def test_an_import_sends_each_valid_event_once_and_a_second_run_adds_nothing(
        settings: Settings, run_pipeline: Callable[[Settings], Pipeline], tmp_path: Path
) -> None:
    paths, valid = _files(tmp_path)
    rejects = tmp_path / "rejects.jsonl"
    dry = _run(settings, *paths, "--dry-run", "--rejects", str(rejects))
    assert dry.returncode == 1, dry.stderr
    assert f"{valid:,} events would be produced" in dry.stderr
    assert "3 lines refused" in dry.stderr
    refused = [msgspec.json.decode(line) for line in rejects.read_bytes().splitlines()]
    assert [(r["line"], r["reason"]) for r in refused] == [
        (11, "bad_json"), (12, "missing_field"), (4, "wrong_type")]

    run_pipeline(settings)
    done = _run(settings, *paths, "--rejects", str(rejects))
    assert done.returncode == 1 and f"{valid:,} events produced" in done.stderr, done.stderr
    wait_ingested(settings, valid)
    time.sleep(1)                                  # nothing more arrives: the dry run sent none
    assert stored_records(settings) == valid
    assert settings.postgres_url
    assert scalar(settings.postgres_url, "SELECT count(*) FROM event_ledger") == valid
    assert scalar(settings.postgres_url, "SELECT count(*) FROM event_ledger"
                                         " WHERE event_id LIKE 'imp-%%'") == 200 + 1
    assert scalar(settings.postgres_url, "SELECT query FROM search_queries"
                                         " WHERE event_id = 'csv-q1'") == "biuro rachunkowe"

    again = _run(settings, *paths, "--rejects", str(rejects))
    assert again.returncode == 1, again.stderr
    wait_ingested(settings, 2 * valid)
    assert scalar(settings.postgres_url, "SELECT count(*) FROM event_ledger") == valid
    assert scalar(settings.postgres_url, "SELECT count(*) FROM rejected_events") == 0


def test_a_file_whose_name_does_not_tell_its_format_is_refused_clearly(
        settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "events.txt"
    path.write_text("{}\n")
    found = _run(settings, str(path), "--dry-run")
    assert found.returncode == 2 and "--format" in found.stderr
    missing = _run(settings, str(tmp_path / "nope.jsonl"), "--dry-run")
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_an_imported_history_file_reads_as_the_sql_reference_reads_it(
        settings: Settings, run_pipeline: Callable[..., Pipeline], tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    events = [msgspec.json.encode(e) for e in history(now, users=25, days=6, seed=4)]
    path = tmp_path / "history.ndjson.gz"
    path.write_bytes(gzip.compress(b"\n".join(events)))
    run_pipeline(settings, clock=lambda: now)   # read at now (tests.read_model)
    done = _run(settings, str(path))
    assert done.returncode == 0, done.stderr
    wait_ingested(settings, len(events))
    assert_reads_as_reference(settings, now, users=20)
