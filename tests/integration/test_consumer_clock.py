"""The consumer runs on one clock: the batch's ``now``, injected here (``Pipeline(clock=)``).

Every stage judges and dates a batch by the time the consumer stamped on it,
and ticks get the same clock, so midnight, window edges and lock expiry can be
placed exactly: a batch holding events from both sides of midnight, windows
rolling when the clock passes it, and a lock that expires between two batches.
The read model must equal the SQL reference at the clock's time each step.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import redis

from consumers.pipeline import Pipeline
from harness.factories import event
from harness.services import in_use, wait_for
from insights.events.producer import Emitter
from insights.settings import Settings
from scoring.windows import day_number
from tests.read_model import assert_same, documents, reader, wait_ingested

#: The last midnight that has passed: a fixed clock near it is never in the future.
MIDNIGHT = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


class Clock:
    """A clock the test sets; the pipeline reads it for every batch and tick."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def _tab(settings: Settings, name: str, period: str, at: datetime) -> Any:
    """The tab's document as JSON values."""
    return msgspec.to_builtins(reader(settings).tab(name, period, "all", at))  # type: ignore[arg-type]


def _emit(emitter: Emitter, events: list[dict[str, Any]]) -> int:
    for body in events:
        emitter.emit(body)
    emitter.flush()
    return len(events)


def _equal_to_the_reference(settings: Settings, now: datetime) -> None:
    for what, got, want in documents(settings, now):
        assert_same(what, got, want)


def _batches(pipeline: Pipeline) -> float:
    return pipeline.metrics.registry.get_sample_value("insights_batch_records_count") or 0


def test_one_batch_across_midnight_lands_on_both_days(
        settings: Settings, emitter: Emitter, run_pipeline: Callable[..., Pipeline]
) -> None:
    before, after = MIDNIGHT - timedelta(minutes=1), MIDNIGHT + timedelta(minutes=1)
    events = [event("user_upsert", MIDNIGHT - timedelta(days=2), user_id=1,
                    email="one@example.com", role="MEMBER"),
              event("user_upsert", MIDNIGHT - timedelta(days=2), user_id=2,
                    email="two@example.com", role="MEMBER"),
              event("session_start", before, session_id="late", user_id=1),
              event("pageview", before, pageview_id="v1", session_id="late", user_id=1,
                    path="/yesterday", load_time_ms=4000),
              event("js_error", before, session_id="late", user_id=1),
              event("pageview", after, pageview_id="v2", session_id="late", user_id=1,
                    path="/today", load_time_ms=4000),
              event("session_start", after, session_id="early", user_id=2),
              event("pageview", after, pageview_id="v3", session_id="early", user_id=2,
                    path="/today"),
              event("search", before, user_id=2, query="night"),
              event("search", after, user_id=2, query="morning")]
    sent = _emit(emitter, events)
    clock = Clock(MIDNIGHT + timedelta(minutes=2))
    # A long linger: everything produced is polled into the one batch.
    pipeline = run_pipeline(settings.model_copy(update={"batch_linger_ms": 3000}), clock)
    wait_ingested(settings, sent)
    assert _batches(pipeline) == 1
    _equal_to_the_reference(settings, clock.at)
    day = _tab(settings, "pages", "day", clock.at)["top_pages"]
    assert sorted((p["path"], p["views"]) for p in day) == [("/today", 2)]
    week = _tab(settings, "pages", "week", clock.at)["top_pages"]
    assert sorted((p["path"], p["views"]) for p in week) == [("/today", 2), ("/yesterday", 1)]


def test_windows_roll_when_the_clock_passes_midnight(
        settings: Settings, emitter: Emitter, run_pipeline: Callable[..., Pipeline]
) -> None:
    clock = Clock(MIDNIGHT - timedelta(seconds=30))
    yesterday = MIDNIGHT - timedelta(minutes=1)
    sent = _emit(emitter, [
        event("user_upsert", MIDNIGHT - timedelta(days=2), user_id=3,
              email="three@example.com", role="MEMBER"),
        event("session_start", yesterday, session_id="s3", user_id=3),
        *(event("pageview", yesterday, pageview_id=f"y{n}", session_id="s3", user_id=3,
                path="/slow", load_time_ms=5000) for n in range(3))])
    pipeline = run_pipeline(settings, clock)
    wait_ingested(settings, sent)
    _equal_to_the_reference(settings, clock.at)
    problems = _tab(settings, "problems", "day", clock.at)["problem_users"]
    assert [r["user"]["id"] for r in problems] == [3]

    clock.at = MIDNIGHT + timedelta(seconds=30)        # the next tick rolls the windows
    sent += _emit(emitter, [event("pageview", MIDNIGHT + timedelta(seconds=10),
                                  pageview_id="t0", session_id="s3", user_id=3, path="/new")])
    wait_ingested(settings, sent)
    client = redis.Redis.from_url(settings.redis_url or "", decode_responses=True)
    try:
        wait_for(lambda: client.get(in_use(client, settings.redis_prefix).rolled)
                 == str(day_number(MIDNIGHT.date())), 30, "the windows rolled")
    finally:
        client.close()
    assert _batches(pipeline) >= 2
    _equal_to_the_reference(settings, clock.at)
    assert _tab(settings, "problems", "day", clock.at)["problem_users"] == []


def test_a_lock_expiring_between_two_batches_ends_at_the_clocks_time(
        settings: Settings, run_pipeline: Callable[..., Pipeline]) -> None:
    start = MIDNIGHT + timedelta(hours=1)
    clock = Clock(start)
    # Events are checked against the test's clock, as the consumer checks them: before
    # 01:00 UTC the wall clock would find them in the future.
    with Emitter(settings.kafka_bootstrap or "", settings.topics(),
                 clock=clock) as emitter:
        _lock_expiring(settings, emitter, run_pipeline, clock)


def _lock_expiring(settings: Settings, emitter: Emitter,
                   run_pipeline: Callable[..., Pipeline], clock: Clock) -> None:
    start = clock.at
    sent = _emit(emitter, [
        event("user_upsert", start - timedelta(days=1), user_id=4, email="four@example.com",
              role="MEMBER"),
        event("login_failed", start - timedelta(minutes=2), user_id=4),
        event("account_locked", start - timedelta(minutes=1), user_id=4,
              locked_until=(start + timedelta(minutes=1)).isoformat())])
    run_pipeline(settings, clock)
    wait_ingested(settings, sent)
    _equal_to_the_reference(settings, clock.at)
    locked = _tab(settings, "problems", "day", clock.at)
    assert [r["user"]["id"] for r in locked["problem_users"]] == [4]
    client = redis.Redis.from_url(settings.redis_url or "", decode_responses=True)
    keys = in_use(client, settings.redis_prefix)
    try:
        assert client.zrange(keys.locks, 0, -1) == ["4"]
        clock.at = start + timedelta(minutes=2)         # the lock is over
        sent += _emit(emitter, [event("search", start + timedelta(minutes=2), user_id=5)])
        wait_ingested(settings, sent)
        wait_for(lambda: client.zrange(keys.locks, 0, -1) == [], 30,
                 "the expired lock re-scored")
    finally:
        client.close()
    _equal_to_the_reference(settings, clock.at)
    after = _tab(settings, "problems", "day", clock.at)
    assert after != locked
