"""Retention: the event tables' months older than the retention go, and nothing a tab or a
profile shows changes; events from before the cutoff are refused from then on."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from consumers.pipeline import Pipeline
from harness.factories import event
from harness.services import (
    environment,
    query,
    redis_records,
    scalar,
    stored_records,
    wait_for,
)
from insights.database import Connection, connect
from insights.events.producer import Emitter
from insights.record import retention
from insights.record.partitions import (
    HORIZON_MONTHS,
    add_months,
    first_day_kept,
    listing,
    month_of,
)
from insights.settings import Settings
from tests.read_model import documents, profiles, simulate, wait_ingested

MONTHS = 4


@pytest.fixture
def conn(settings: Settings) -> Iterator[Connection]:
    with closing(connect(settings.postgres_url or "")) as made:
        yield made


@pytest.fixture
def stored(settings: Settings, emitter: Emitter, run_pipeline: Callable[..., Pipeline]
           ) -> datetime:
    """Five months ago, 40 users for 20 days; the last 35 days, 25 of them: users 26-40
    were last seen months ago, so only what retention keeps shows in their profiles."""
    now = datetime.now(UTC)
    sent = simulate(emitter, now - timedelta(days=150), users=40, days=20, seed=3)
    sent += simulate(emitter, now, users=25, days=35, seed=4)
    # The consumers run at the instant the tests read at: on the wall clock, a lock of
    # the history ending between the reads before and after a run re-scores its user
    # (``consumers.timed``), and the tabs would change for a reason other than retention.
    run_pipeline(settings, clock=lambda: now)
    wait_ingested(settings, sent)
    return now


def _audit(settings: Settings) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-m", "insights", "audit", "--sample", "40",
                           "--json"], env=environment(settings), capture_output=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    return msgspec.json.decode(done.stdout)  # type: ignore[no-any-return]


def test_old_months_go_and_no_tab_or_profile_changes(
        settings: Settings, stored: datetime, conn: Connection) -> None:
    now, db = stored, settings.postgres_url or ""
    tabs, users = documents(settings, now), profiles(settings, now)
    parts = listing(conn)
    edge = retention.cutoff(now, MONTHS)
    assert any(p.month < edge for p in parts) and any(p.month >= edge for p in parts)

    dry = retention.run(conn, now, MONTHS, dry_run=True)
    assert dry is not None and listing(conn) == parts            # a dry run changes nothing
    assert [d.partition for d in dry.dropped] == [p for p in parts if p.month < edge]

    report = retention.run(conn, now, MONTHS)
    assert report is not None
    assert [d.partition for d in report.dropped] == [d.partition for d in dry.dropped]
    assert listing(conn) == [p for p in parts if p.month >= edge]
    assert report.ledger == dry.ledger > 0
    assert scalar(db, "SELECT count(*) FROM event_ledger WHERE ts < %s", edge) == 0
    kept_views = sum(d.kept for d in report.dropped if d.partition.table == "page_views")
    assert kept_views > 0                          # the users last seen months ago
    assert scalar(db, "SELECT count(*) FROM page_views_default") == kept_views
    assert scalar(db, "SELECT count(*) FROM state_events WHERE ts < %s", edge) == 0
    # Every kept view still holds its id against another event's.
    assert scalar(db, "SELECT count(*) FROM page_views v WHERE NOT EXISTS (SELECT 1 FROM"
                      " pageview_ids c WHERE c.pageview_id = v.pageview_id)") == 0
    assert scalar(db, "SELECT count(*) FROM pageview_ids") == scalar(
        db, "SELECT count(*) FROM page_views")

    assert documents(settings, now) == tabs      # the API's and the SQL reference's
    after = profiles(settings, now)
    assert [what for what, _, _ in after] == [what for what, _, _ in users]
    for (what, api, ref), (_, api_before, ref_before) in zip(after, users, strict=True):
        assert api == api_before, what
        assert ref == ref_before, what
    assert _audit(settings)["differences"] == []  # a rebuild from what is left: the same

    again = retention.run(conn, now, MONTHS)
    assert again is not None and (again.dropped, again.trimmed, again.ledger) == ([], 0, 0)


_ERROR_PAGES = """
SELECT count(*) FROM page_views_default v WHERE v.user_id = %s AND EXISTS (
    SELECT 1 FROM js_errors e WHERE e.session_id = v.session_id
      AND e.occurred_at >= v.viewed_at AND NOT EXISTS (
        SELECT 1 FROM page_views w WHERE w.session_id = v.session_id
          AND w.viewed_at <= e.occurred_at AND (w.viewed_at, w.event_id COLLATE "C")
          > (v.viewed_at, v.event_id COLLATE "C")))"""


def test_the_default_partition_keeps_only_rows_still_shown(
        settings: Settings, stored: datetime, conn: Connection) -> None:
    """Kept rows stop being kept once their user has newer ones."""
    now, db = stored, settings.postgres_url or ""
    assert retention.run(conn, now, MONTHS) is not None
    kept = query(db, "SELECT user_id, count(*) FROM page_views_default GROUP BY 1 ORDER BY 1")
    uid, n = kept[0]
    # The 50 latest views, and the views that are the page of one of the user's JS errors.
    assert 0 < int(n) <= 50 + int(scalar(db, _ERROR_PAGES, uid))  # type: ignore[call-overload, arg-type]
    with conn, conn.cursor() as cur:
        cur.execute("INSERT INTO page_views (event_id, pageview_id, user_id, path, viewed_at,"
                    " load_time_ms, raw) SELECT 'new-' || g, 'NEW-' || g, %s, '/', %s, 5000, '{}'"
                    " FROM generate_series(1, 50) g", (uid, now - timedelta(hours=1)))
    # Still kept: a view that is the page of one of the user's JS errors (the profile
    # lists each error with the session's last view at or before it).
    pages = int(scalar(db, _ERROR_PAGES, uid))  # type: ignore[arg-type]
    report = retention.run(conn, now, MONTHS)
    assert report is not None and report.trimmed == n - pages
    assert scalar(db, "SELECT count(*) FROM page_views_default WHERE user_id = %s",
                  uid) == pages
    assert report.claims == n - pages               # their ids are free again


def test_after_a_run_every_consumer_refuses_events_before_the_first_day_kept(
        settings: Settings, emitter: Emitter, run_pipeline: Callable[[Settings], Pipeline],
        conn: Connection) -> None:
    """Whatever its own setting: the cutoff is the one the run stored."""
    now = datetime.now(UTC)
    assert retention.run(conn, now, MONTHS) is not None
    assert first_day_kept(conn) == retention.cutoff(now, MONTHS)
    run_pipeline(settings)                              # no INSIGHTS_RETENTION_MONTHS
    old = now - timedelta(days=31 * (MONTHS + 1))
    for body in (event("pageview", old, pageview_id="OLD", session_id="S", user_id=3),
                 event("pageview", now, pageview_id="NEW", session_id="S", user_id=3)):
        emitter.emit(body)
    emitter.flush()
    wait_for(lambda: stored_records(settings) >= 2, 60, "both records handled")
    assert query(settings.postgres_url or "", "SELECT pageview_id FROM page_views") == [("NEW",)]
    reasons = query(settings.postgres_url or "", "SELECT reason, detail FROM rejected_events")
    assert [r for r, _ in reasons] == ["expired"]
    assert "the first day the retention keeps" in str(reasons[0][1])
    assert month_of(old) not in {p.month for p in listing(conn)}   # no partition made for it
    # A shorter retention later never lowers the first day kept.
    assert retention.run(conn, now, MONTHS + 2) is not None
    assert first_day_kept(conn) == retention.cutoff(now, MONTHS)


def test_view_ids_stay_unique_across_months_and_old_history_goes_to_the_default(
        settings: Settings, emitter: Emitter, run_pipeline: Callable[[Settings], Pipeline],
        conn: Connection) -> None:
    now = datetime.now(UTC)
    ancient = now - timedelta(days=31 * (HORIZON_MONTHS + 2))
    run_pipeline(settings)
    for body in (event("pageview", now - timedelta(days=40), pageview_id="PV", session_id="S"),
                 event("pageview", now, pageview_id="PV", session_id="T"),
                 event("pageview", ancient, pageview_id="OLD", session_id="U")):
        emitter.emit(body)
    emitter.flush()
    wait_for(lambda: stored_records(settings) >= 3, 60, "three records handled")
    db = settings.postgres_url or ""
    assert [r for r, in query(db, "SELECT reason FROM rejected_events")] == ["conflict"]
    # Two sessions, two Kafka partitions: either view may come first; one is stored, in
    # its own month's partition.
    rows = sorted(query(db, "SELECT pageview_id, tableoid::regclass::text, viewed_at"
                            " FROM page_views"))
    assert [(pid, table) for pid, table, _ in rows[:1]] == [("OLD", "page_views_default")]
    assert [(pid, table) for pid, table, at in rows[1:]] == [
        ("PV", f"page_views_y{month_of(rows[1][2]):%Ym%m}")]  # type: ignore[arg-type]
    months = {p.month for p in listing(conn)}
    assert month_of(ancient) not in months
    assert add_months(month_of(now), 1) in months             # next month's, made ahead


def test_a_run_is_not_held_up_by_the_consumers_under_live_traffic(
        settings: Settings, stored: datetime, emitter: Emitter, conn: Connection) -> None:
    """Every month goes while events keep arriving, among them leaves of views nobody
    stored (a read that found nothing to do must not keep its transaction open)."""
    now, db = stored, settings.postgres_url or ""
    sent = stored_records(settings)
    emitter.emit(event("page_leave", now, pageview_id="NOBODY", session_id="S"))
    emitter.flush()
    sent += 1
    wait_for(lambda: redis_records(settings) >= sent, 60, "the lone leave projected")
    first = retention.run(conn, now, MONTHS + 1)    # the oldest months, right after it
    assert first is not None and first.dropped and first.skipped == []
    stop = threading.Event()

    def traffic() -> None:
        n = 0
        while not stop.is_set():
            emitter.emit(event("page_leave", datetime.now(UTC), pageview_id=f"NONE{n}",
                               session_id="S", time_on_page_seconds=1))
            emitter.emit(event("pageview", datetime.now(UTC), pageview_id=f"LIVE{n}",
                               session_id=f"L{n % 7}", user_id=n % 5 + 1))
            emitter.flush()
            n += 2
            time.sleep(0.05)
        counts.append(n)

    counts: list[int] = []
    thread = threading.Thread(target=traffic, daemon=True)
    thread.start()
    try:
        time.sleep(2)
        report = retention.run(conn, now, MONTHS)
    finally:
        stop.set()
        thread.join(10)
    assert report is not None and report.dropped and report.skipped == []
    assert all(p.month >= report.cutoff for p in listing(conn))
    wait_for(lambda: stored_records(settings) >= sent + counts[0], 60, "the live events")
    assert scalar(db, "SELECT count(*) FROM page_views WHERE pageview_id LIKE 'LIVE%%'"
                  ) == counts[0] // 2


def test_the_command_refuses_a_retention_shorter_than_the_longest_window(
        settings: Settings) -> None:
    env = environment(settings)
    short = subprocess.run([sys.executable, "-m", "insights", "retention", "--months", "3"],
                           env=env, capture_output=True, timeout=120, check=False)
    assert short.returncode == 2
    assert b"at least 4 months" in short.stderr
    dry = subprocess.run([sys.executable, "-m", "insights", "retention", "--months", "4",
                          "--dry-run"], env=env, capture_output=True, timeout=120, check=False)
    assert dry.returncode == 0, dry.stderr.decode()
    assert b"first day kept" in dry.stderr
    consumer = subprocess.run([sys.executable, "-m", "insights", "consume"],
                              env={**env, "INSIGHTS_RETENTION_MONTHS": "2"},
                              capture_output=True, timeout=120, check=False)
    assert consumer.returncode == 2
    assert b"at least 4 months" in consumer.stderr
