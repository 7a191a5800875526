"""Events through the real broker into the real PostgreSQL: effects, duplicates, dead letters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from consumers.pipeline import Pipeline
from harness.factories import event
from harness.services import admin_db, query, scalar, stored_records, wait_for
from insights.events.kafka import EventProducer
from insights.events.producer import Emitter, InvalidEvent
from insights.settings import Settings

NOW = datetime.now(UTC).replace(microsecond=0)


def drain(settings: Settings, records: int, timeout_s: float = 60) -> None:
    wait_for(lambda: stored_records(settings) >= records, timeout_s,
             f"{records} records stored")


def emit_all(emitter: Emitter, events: list[dict[str, object]]) -> int:
    for e in events:
        emitter.emit(e)
    emitter.flush()
    return len(events)


def test_every_event_type_lands_with_its_effects(
        settings: Settings, emitter: Emitter, run_pipeline: Callable[[Settings], Pipeline]
) -> None:
    t = NOW - timedelta(minutes=30)
    events = [
        event("user_upsert", t, user_id=1, email="ala@x.pl", name="Ala", role="MEMBER",
              company="ACME", created_at="2026-01-02T03:04:05Z", extra_field={"kept": True}),
        event("login_failed", t, user_id=1),
        event("login_failed", t, user_id=1),
        event("login_succeeded", t + timedelta(minutes=1), user_id=1),
        event("login_failed", t + timedelta(minutes=2), user_id=1),
        event("account_locked", t, user_id=1, locked_until="2030-01-01T00:00:00Z"),
        event("session_start", t, session_id="S1", user_id=1, device_type="mobile",
              browser="Safari"),
        event("pageview", t, pageview_id="P1", session_id="S1", user_id=1, path="/forum",
              load_time_ms=4500),
        event("page_leave", t, pageview_id="P1", session_id="S1", time_on_page_seconds=42,
              scroll_depth_percent=90),
        event("js_error", t, session_id="S1", message="boom", source="a.js", line=7),
        event("search", t, session_id="S1", user_id=1, query="catering"),
        event("conversion", t, session_id="S1", user_id=1, event_type="contact_click"),
        event("password_reset", t, user_id=1),
        event("security_alert", t, user_email="ala@x.pl", alert_type="brute_force",
              severity="critical"),
        event("session_end", t, session_id="S1", duration_seconds=300, clicks_count=12),
        event("user_upsert", t, user_id=2, email="bob@x.pl"),
        event("account_locked", t, user_id=2, locked_until="2030-01-01T00:00:00Z"),
        event("account_unlocked", t, user_id=2),
    ]
    run_pipeline(settings)
    drain(settings, emit_all(emitter, events))
    db = settings.postgres_url or ""

    user = query(db, "SELECT email, name, role, company, created_at, is_active,"
                     " failed_login_attempts, locked_until, last_login FROM users WHERE id = 1")
    assert user == [("ala@x.pl", "Ala", "MEMBER", "ACME", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
                     True, 1, datetime(2030, 1, 1, tzinfo=UTC), t + timedelta(minutes=1))]
    assert query(db, "SELECT locked_until, is_active, name FROM users WHERE id = 2") == [
        (None, True, None)]
    assert query(db, "SELECT user_id, started_at, device_type, browser, duration_seconds,"
                     " clicks_count FROM user_sessions") == [
        (1, t, "mobile", "Safari", 300, 12)]
    assert query(db, "SELECT path, user_id, load_time_ms, time_on_page_seconds,"
                     " scroll_depth_percent FROM page_views") == [("/forum", 1, 4500, 42, 90)]
    assert query(db, "SELECT session_id, message, source, line FROM js_errors") == [
        ("S1", "boom", "a.js", 7)]
    assert query(db, "SELECT query, user_id FROM search_queries") == [("catering", 1)]
    assert query(db, "SELECT event_type, user_id FROM conversion_events") == [
        ("contact_click", 1)]
    assert query(db, "SELECT email_type, user_id FROM email_logs") == [("password_reset", 1)]
    assert query(db, "SELECT user_email, alert_type, severity FROM security_alerts") == [
        ("ala@x.pl", "brute_force", "critical")]
    # account_locked is not a security alert (semantics 31); raw JSON keeps extra fields
    assert scalar(db, "SELECT count(*) FROM security_alerts") == 1
    assert scalar(db, "SELECT raw->'extra_field' FROM state_events"
                      " WHERE type = 'user_upsert' AND user_id = 1") == {"kept": True}
    assert scalar(db, "SELECT count(*) FROM event_ledger") == len(events)
    assert scalar(db, "SELECT count(*) FROM rejected_events") == 0


def test_a_duplicated_event_id_lands_once(
        settings: Settings, emitter: Emitter, run_pipeline: Callable[[Settings], Pipeline]
) -> None:
    failed = event("login_failed", NOW, user_id=5)
    view = event("pageview", NOW, pageview_id="P", session_id="S", user_id=5, path="/")
    first = [event("user_upsert", NOW, user_id=5, email="e@x.pl"), failed, failed, view]
    run_pipeline(settings)
    drain(settings, emit_all(emitter, first))
    drain(settings, 4 + emit_all(emitter, [failed, view]))   # again, in a later batch
    db = settings.postgres_url or ""
    assert scalar(db, "SELECT failed_login_attempts FROM users WHERE id = 5") == 1
    assert scalar(db, "SELECT count(*) FROM page_views") == 1
    assert scalar(db, "SELECT count(*) FROM event_ledger") == 3


def test_each_kind_of_bad_input_is_dead_lettered_and_valid_events_around_it_land(
        settings: Settings, emitter: Emitter, raw_producer: EventProducer,
        run_pipeline: Callable[[Settings], Pipeline]) -> None:
    topic = settings.topics()["activity"]
    valid = event("search", NOW, user_id=1, query="ok")
    bad = {
        "bad_json": b'{"event_id": "x", "type": ',
        "not_object": b"[1, 2, 3]",
        "missing_field": msgspec.json.encode({k: v for k, v in valid.items() if k != "query"}
                                             | {"event_id": "m"}),
        "wrong_type": msgspec.json.encode(valid | {"event_id": "w", "user_id": "one"}),
        "unknown_type": msgspec.json.encode(valid | {"event_id": "u", "type": "teleport"}),
        "oversize": msgspec.json.encode(valid | {"event_id": "o", "pad": "x" * 70_000}),
        "future_ts": msgspec.json.encode(valid | {"event_id": "f", "ts": (
            NOW + timedelta(hours=1)).isoformat()}),
    }
    run_pipeline(settings)
    sent = 0
    for i, raw in enumerate(bad.values()):
        emitter.emit(event("search", NOW, user_id=1, query=f"before {i}"))
        raw_producer.send_raw(topic, b"1", raw)
        emitter.emit(event("search", NOW, user_id=1, query=f"after {i}"))
        sent += 3
    emitter.flush()
    raw_producer.flush()
    drain(settings, sent)
    db = settings.postgres_url or ""
    rejected = query(db, "SELECT reason, value, topic, detail FROM rejected_events ORDER BY id")
    assert [(r[0], bytes(r[1]), r[2]) for r in rejected] == [
        (reason, raw, topic) for reason, raw in bad.items()]
    assert all(r[3] for r in rejected)
    assert scalar(db, "SELECT count(*) FROM search_queries") == 2 * len(bad)


def test_emit_refuses_what_the_consumer_would_reject(emitter: Emitter) -> None:
    with pytest.raises(InvalidEvent, match="missing_field"):
        emitter.emit({"event_id": "x", "type": "pageview", "ts": NOW})


def test_events_arriving_before_their_row_are_applied_when_it_comes(
        settings: Settings, emitter: Emitter, run_pipeline: Callable[[Settings], Pipeline]
) -> None:
    run_pipeline(settings)
    early = [event("page_leave", NOW, pageview_id="P9", time_on_page_seconds=5,
                   scroll_depth_percent=10),
             event("session_end", NOW, session_id="S9", duration_seconds=77, clicks_count=2),
             event("login_failed", NOW, user_id=9),
             event("account_locked", NOW, user_id=9, locked_until="2030-01-01T00:00:00Z")]
    drain(settings, emit_all(emitter, early))
    db = settings.postgres_url or ""
    assert scalar(db, "SELECT count(*) FROM users WHERE upserted_at IS NOT NULL") == 0
    late = [event("pageview", NOW, pageview_id="P9", user_id=9, path="/x"),
            event("session_start", NOW, session_id="S9", user_id=9),
            event("user_upsert", NOW, user_id=9, email="late@x.pl")]
    drain(settings, len(early) + emit_all(emitter, late))
    assert query(db, "SELECT time_on_page_seconds, scroll_depth_percent FROM page_views") == [
        (5, 10)]
    assert query(db, "SELECT duration_seconds, clicks_count FROM user_sessions") == [(77, 2)]
    assert query(db, "SELECT email, failed_login_attempts, locked_until FROM users") == [
        ("late@x.pl", 1, datetime(2030, 1, 1, tzinfo=UTC))]


def test_a_second_start_of_the_same_session_is_dead_lettered_as_a_conflict(
        settings: Settings, emitter: Emitter, run_pipeline: Callable[[Settings], Pipeline]
) -> None:
    run_pipeline(settings)
    drain(settings, emit_all(emitter, [
        event("session_start", NOW, session_id="S", user_id=1, browser="first"),
        event("session_start", NOW, session_id="S", user_id=2, browser="second")]))
    db = settings.postgres_url or ""
    assert query(db, "SELECT user_id, browser FROM user_sessions") == [(1, "first")]
    assert query(db, "SELECT reason FROM rejected_events") == [("conflict",)]


def test_a_row_postgresql_refuses_is_isolated_and_the_rest_of_the_batch_lands(
        settings: Settings, emitter: Emitter, run_pipeline: Callable[[Settings], Pipeline]
) -> None:
    db = settings.postgres_url or ""
    query_ = "ALTER TABLE search_queries ADD CONSTRAINT no_poison CHECK (query <> 'poison')"
    admin_db(db, query_)
    searches = [event("search", NOW, user_id=1, query=q) for q in ("a", "b", "poison", "c", "d")]
    run_pipeline(settings.model_copy(update={"batch_linger_ms": 1000}))
    drain(settings, emit_all(emitter, searches))
    assert sorted(r[0] for r in query(db, "SELECT query FROM search_queries")) == [
        "a", "b", "c", "d"]
    assert query(db, "SELECT reason FROM rejected_events") == [("unstorable",)]
    assert "no_poison" in str(scalar(db, "SELECT detail FROM rejected_events"))


def test_a_leave_after_its_views_batch_lands_on_the_view_row(
        settings: Settings, emitter: Emitter, run_pipeline: Callable[[Settings], Pipeline]
) -> None:
    run_pipeline(settings)
    drain(settings, emit_all(emitter, [
        event("pageview", NOW, pageview_id="PV", session_id="S", user_id=3, path="/chat")]))
    leave = event("page_leave", NOW, pageview_id="PV", session_id="S",
                  time_on_page_seconds=31, scroll_depth_percent=64)
    drain(settings, 1 + emit_all(emitter, [leave]))
    db = settings.postgres_url or ""
    assert query(db, "SELECT time_on_page_seconds, scroll_depth_percent, leave_event_id,"
                     " leave_raw->>'type' FROM page_views") == [(31, 64, leave["event_id"],
                                                                 "page_leave")]
    assert scalar(db, "SELECT count(*) FROM state_events") == 0


def test_many_late_leaves_update_each_view_once(
        settings: Settings, emitter: Emitter, run_pipeline: Callable[[Settings], Pipeline]
) -> None:
    """Leaves arriving in a later batch than their views are put on their rows once each
    (the server counts n row updates, not one update of every late row per leave)."""
    run_pipeline(settings)
    n = 300
    drain(settings, emit_all(emitter, [
        event("pageview", NOW, pageview_id=f"PV{i}", session_id="S", user_id=3, path="/x")
        for i in range(n)]))
    sent = emit_all(emitter, [event("page_leave", NOW, pageview_id=f"PV{i}", session_id="S",
                                    time_on_page_seconds=i, scroll_depth_percent=50)
                              for i in range(n)])
    drain(settings, n + sent)
    db = settings.postgres_url or ""
    assert scalar(db, "SELECT count(*) FROM page_views WHERE leave_event_id IS NOT NULL") == n

    def updates() -> int:
        return int(scalar(db, "SELECT sum(n_tup_upd) FROM pg_stat_user_tables WHERE relid IN"
                              " (SELECT inhrelid FROM pg_inherits"
                              "  WHERE inhparent = 'page_views'::regclass)") or 0)

    # The server's statistics arrive a little after the transactions that made them.
    wait_for(lambda: updates() >= n, 30, "page_views statistics")
    assert updates() == n


def test_the_consumer_exposes_prometheus_metrics(
        settings: Settings, emitter: Emitter, raw_producer: EventProducer,
        run_pipeline: Callable[[Settings], Pipeline]) -> None:
    import socket
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run_pipeline(settings.model_copy(update={"metrics_port": port}))
    login = event("login_failed", NOW, user_id=4)
    raw_producer.send_raw(settings.topics()["security"], b"4", b"not json")
    raw_producer.flush()
    drain(settings, 1 + emit_all(emitter, [login, login]))

    def metrics() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as page:
            return str(page.read().decode())

    wait_for(lambda: "insights_events_duplicate_total 1.0" in metrics(), 10, "metrics")
    text = metrics()
    assert 'insights_events_applied_total{type="login_failed"} 1.0' in text
    assert 'insights_events_rejected_total{reason="bad_json"} 1.0' in text
    assert f'insights_events_consumed_total{{topic="{settings.topics()["security"]}"}} 3.0' in text
    assert "insights_batch_seconds_count" in text
    assert "insights_consumer_lag" in text
