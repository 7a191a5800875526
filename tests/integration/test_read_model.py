"""The read model (Redis, via the consumer's second sink) equals the SQL reference.

A realistic history from the simulator streams through real Kafka into
PostgreSQL and Redis; every tab, period and filter read from Redis, and every
user's profile, must equal what ``harness.reference`` computes with SQL over the
PostgreSQL tables.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta

import pytest
import redis

from consumers import backfill
from consumers.pipeline import Pipeline
from consumers.projection import RedisProjection
from harness.services import (
    ConsumerProcess,
    in_use,
    redis_records,
    stored_records,
    unique,
    wait_for,
)
from insights.database import connect
from insights.events.producer import Emitter
from insights.settings import Settings
from tests.read_model import (
    assert_same,
    assert_same_profile,
    documents,
    profiles,
    reader,
    simulate,
    steady_now,
    wait_ingested,
)
from web.documents.schema import TabDocument
from web.documents.users import EngagementRow, EngagementTab, ProblemsTab, ProblemUser


def test_every_tab_equals_the_sql_reference(
        settings: Settings, emitter: Emitter, run_pipeline: Callable[..., Pipeline]
) -> None:
    now = datetime.now(UTC)
    sent = simulate(emitter, now, users=120, days=30, seed=11)
    run_pipeline(settings, clock=lambda: now)   # read at now (tests.read_model)
    wait_ingested(settings, sent)
    for what, got, want in documents(settings, now):
        assert_same(what, got, want)
    users = profiles(settings, now)
    assert len(users) >= 100
    for what, got, want in users:
        assert_same_profile(what, got, want)


@pytest.mark.slow
def test_equal_after_sigkill_and_restart(
        settings: Settings, emitter: Emitter, consumer_process: Callable[[], ConsumerProcess]
) -> None:
    now = datetime.now(UTC)
    # ~400 events per user: 20,000 events (50 users) in make test, 100,000 in make chaos
    users = int(os.environ.get("INSIGHTS_FAULT_EVENTS", "20000")) // 400
    sent = simulate(emitter, now, users=users, days=30, seed=12)
    consumer = consumer_process().start()
    for kill_at in (sent // 4, sent // 2):
        wait_for(lambda at=kill_at: stored_records(settings) >= at, 120, f"{kill_at} stored")
        consumer.kill()
        consumer.start()
    wait_ingested(settings, sent, check=consumer.check_alive)
    for what, got, want in documents(settings, steady_now(settings)):
        assert_same(what, got, want)


def test_scores_fall_when_a_user_goes_quiet_across_midnight(
        settings: Settings, emitter: Emitter, run_pipeline: Callable[[Settings], Pipeline]
) -> None:
    """Events 30 days ago are in the month window today and out of it tomorrow."""
    now = datetime.now(UTC)
    old = now - timedelta(days=30)
    emitter.emit(_event("user_upsert", old, user_id=7, email="q@example.com", role="MEMBER"))
    emitter.emit(_event("session_start", old, session_id="quiet", user_id=7))
    for i in range(4):
        emitter.emit(_event("pageview", old, pageview_id=f"quiet-{i}", session_id="quiet",
                            user_id=7, path="/forum", load_time_ms=5000))
    emitter.flush()
    run_pipeline(settings)
    wait_ingested(settings, 6)
    read = reader(settings)
    today = engagement_list(read.tab("engagement", "month", "all", now))
    assert [(r.user.id, r.score) for r in today] == [(7, 7)]   # 1 session*3 + 4 views
    problems = problem_users(read.tab("problems", "month", "all", now))
    assert [(r.user.id, r.score) for r in problems] == [(7, 8)]  # 4 slow pages * 2

    tomorrow = now + timedelta(days=1)
    assert settings.redis_url and settings.postgres_url
    sink = RedisProjection(settings.redis_url, settings.postgres_url, settings.redis_prefix,
                           generation_id=read.store.keys.generation_id)
    try:
        assert sink.tick(tomorrow) >= 1          # the day roll re-scores ranked users
    finally:
        sink.close()
    assert engagement_list(read.tab("engagement", "month", "all", tomorrow)) == []
    assert problem_users(read.tab("problems", "month", "all", tomorrow)) == []
    ranked = read.store.redis.zrange(read.store.keys.engagement, 0, -1)
    assert ranked == []


def test_backfill_rebuilds_the_read_model_from_postgresql(
        settings: Settings, emitter: Emitter, run_pipeline: Callable[[Settings], Pipeline]
) -> None:
    sent = simulate(emitter, datetime.now(UTC), users=60, days=30, seed=13)
    pipeline = run_pipeline(settings)
    wait_ingested(settings, sent)
    pipeline.stop()
    rebuilt = settings.model_copy(update={"redis_prefix": unique("rebuilt")})
    assert rebuilt.redis_url and rebuilt.postgres_url
    sink = RedisProjection(rebuilt.redis_url, rebuilt.postgres_url, rebuilt.redis_prefix)
    seen: list[int] = []
    now = datetime.now(UTC)                  # scored at it, read at it: no consumer ticks
    with closing(connect(rebuilt.postgres_url)) as conn:
        replayed = backfill.rebuild(sink, conn, now, seen.append)
    sink.close()
    assert replayed == sum(seen) > sent // 2          # history older than 62 days is left out
    assert redis_records(rebuilt) == stored_records(settings)   # a consumer resumes right there
    with closing(connect(rebuilt.postgres_url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT (extract(epoch FROM max(ts)) * 1000000)::bigint FROM event_ledger")
        newest = cur.fetchone()[0]  # type: ignore[index]
    client = redis.Redis.from_url(rebuilt.redis_url)
    used = in_use(client, rebuilt.redis_prefix)     # as a consumer notes it, to the µs
    assert abs(int(client.hget(used.freshness, "newest")) - newest) <= 1  # type: ignore[arg-type]
    client.close()
    for what, got, want in documents(rebuilt, now):
        assert_same(what, got, want)


def _event(type_: str, ts: datetime, **fields: object) -> dict[str, object]:
    from harness.factories import event
    return event(type_, ts, **fields)


def engagement_list(document: TabDocument) -> list[EngagementRow]:
    assert isinstance(document, EngagementTab)
    return document.engagement_list


def problem_users(document: TabDocument) -> list[ProblemUser]:
    assert isinstance(document, ProblemsTab)
    return document.problem_users
