"""Edge cases of the Redis read model the simulator never sends, each against the reference.

Batches go straight through the PostgreSQL and Redis sinks (real servers), in
the order each scenario needs; then the touched tabs must equal the SQL reference.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
import redis

from consumers.batch import Accepted, Item
from consumers.durable import PostgresWrite
from consumers.projection import RedisProjection
from consumers.protocol import Committed
from harness import reference
from harness.factories import event
from harness.services import unique
from insights import stack
from insights.database import connect
from insights.events import contract
from insights.events.kafka import Record
from insights.readmodel.keys import Keys
from scoring.pages import DEFAULT_SECTIONS
from scoring.windows import day_number
from tests.read_model import assert_same
from web.tabs import RedisTabs

NOW = datetime.now(UTC)
_offsets = itertools.count()


@dataclass
class Sinks:
    postgres: PostgresWrite
    redis: RedisProjection
    tabs: RedisTabs
    url: str

    def write(self, *events: dict[str, Any], offset: int | None = None) -> None:
        batch: list[Item] = []
        for body in events:
            raw = msgspec.json.encode(body)
            decoded = contract.decode(raw, now=datetime.now(UTC))
            assert not isinstance(decoded, contract.Invalid), decoded
            at = next(_offsets) if offset is None else offset
            batch.append(Accepted(Record("t", 0, at, None, raw, 0), decoded))
        now = datetime.now(UTC)
        self.redis.write(batch, self.postgres.write(batch, now).committed(), now)

    def check(self, tab: str, period: str = "week", now: datetime = NOW) -> dict[str, Any]:
        got: dict[str, Any] = msgspec.to_builtins(
            self.tabs.tab(tab, period, "all", now))  # type: ignore[arg-type]
        with closing(connect(self.url)) as conn:
            assert_same(f"{tab}?period={period}", got,
                        reference.tab(conn, tab, period, "all", now))
        return got


@pytest.fixture
def sinks(stack_urls: stack.StackUrls, database_url: str) -> Iterator[Sinks]:
    prefix = unique("edge")
    client = redis.Redis.from_url(stack_urls.redis_url, decode_responses=True)
    made = Sinks(PostgresWrite(database_url),
                 RedisProjection(stack_urls.redis_url, database_url, prefix),
                 RedisTabs(client, lambda: connect(database_url), Keys(prefix),
                           DEFAULT_SECTIONS), database_url)
    yield made
    made.postgres.close()
    made.redis.close()
    client.close()


def _ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def test_a_producer_duplicate_counts_once(sinks: Sinks) -> None:
    view = event("pageview", _ago(minutes=1), pageview_id="p1", path="/dup")
    sinks.write(view, offset=1000)
    sinks.write(view, offset=1001)               # the same event_id at another offset
    got = sinks.check("pages", "day")
    assert [(p["path"], p["views"]) for p in got["top_pages"]] == [("/dup", 1)]
    assert sinks.check("overview")["chart_data"]["pageviews"][-1] == 1


def test_activity_before_the_users_first_upsert_counts(sinks: Sinks) -> None:
    at = _ago(hours=1)
    sinks.write(event("session_start", at, session_id="s1", user_id=7),
                *(event("pageview", at, pageview_id=f"v{i}", session_id="s1", user_id=7,
                        path="/forum", load_time_ms=4000) for i in range(10)))
    sinks.write(event("user_upsert", at, user_id=7, email="u7@example.com", role="MEMBER"))
    assert [r["score"] for r in sinks.check("engagement")["engagement_list"]] == [13]
    assert [r["score"] for r in sinks.check("problems")["problem_users"]] == [20]


def test_month_week_over_week_looks_back_sixty_days(sinks: Sinks) -> None:
    sinks.write(event("user_upsert", _ago(days=70), user_id=9, email="u9@example.com",
                      role="MEMBER"),
                *(event("pageview", _ago(days=45), pageview_id=f"o{i}", user_id=9, path="/a")
                  for i in range(5)),
                *(event("pageview", _ago(days=5), pageview_id=f"n{i}", user_id=9, path="/a")
                  for i in range(5)))
    assert [r["wow"] for r in sinks.check("engagement", "month")["engagement_list"]] == [0]


def test_a_leave_naming_a_session_finds_its_session_less_view(sinks: Sinks) -> None:
    sinks.write(event("pageview", _ago(minutes=5), pageview_id="lone", path="/lone"))
    sinks.write(event("page_leave", _ago(minutes=4), pageview_id="lone", session_id="x",
                      time_on_page_seconds=40, scroll_depth_percent=80))
    pages = sinks.check("pages", "day")["top_pages"]
    assert [(p["avg_time"], p["avg_scroll"]) for p in pages] == [(40, 80)]


def test_a_later_session_end_may_lower_clicks_and_seconds(sinks: Sinks) -> None:
    at = _ago(hours=2)
    sinks.write(event("user_upsert", at, user_id=3, email="u3@example.com", role="MEMBER"),
                event("session_start", at, session_id="s3", user_id=3))
    sinks.write(event("session_end", at, session_id="s3", user_id=3, duration_seconds=1800,
                      clicks_count=40))
    sinks.write(event("session_end", _ago(hours=1), session_id="s3", user_id=3,
                      duration_seconds=60, clicks_count=2))
    assert [r["score"] for r in sinks.check("engagement")["engagement_list"]] == [6]


def test_a_session_ending_days_after_its_start_counts_on_its_start_day(sinks: Sinks) -> None:
    sinks.write(event("user_upsert", _ago(days=5), user_id=4, email="u4@example.com",
                      role="MEMBER"),
                event("session_start", _ago(days=3), session_id="long", user_id=4))
    sinks.write(event("session_end", _ago(minutes=1), session_id="long", user_id=4,
                      duration_seconds=3 * 86400, clicks_count=100))
    assert [r["score"] for r in sinks.check("engagement")["engagement_list"]] == [100]


def test_a_js_error_before_its_session_counts_for_the_sessions_user(sinks: Sinks) -> None:
    at = _ago(minutes=30)
    sinks.write(event("user_upsert", at, user_id=6, email="u6@example.com", role="MEMBER"),
                event("js_error", at, session_id="early", user_id=99))
    sinks.write(event("session_start", at, session_id="early", user_id=6))
    rows = sinks.check("problems", "day")["problem_users"]
    assert [(r["user"]["id"], r["js_errors"]) for r in rows] == [(6, 1)]


def test_unique_users_leave_the_window_at_midnight(sinks: Sinks) -> None:
    """Window HyperLogLogs are merged again for the new day: a user seen 7 days ago is
    in this week's unique users and out of tomorrow's; counted alike before the merge."""
    for n, when in enumerate((_ago(days=7), _ago(minutes=5))):
        sinks.write(event("session_start", when, session_id=f"u{n}", user_id=20 + n),
                    event("pageview", when, pageview_id=f"u{n}v", session_id=f"u{n}",
                          user_id=20 + n, path="/forum"))
    before = sinks.check("pages", "week")["top_pages"][0]["unique_users"]
    sinks.redis.tick(NOW)
    assert sinks.check("pages", "week")["top_pages"][0]["unique_users"] == before == 2
    tomorrow = NOW + timedelta(days=1)
    sinks.redis.tick(tomorrow)
    assert sinks.tabs.store.redis.get(sinks.tabs.store.keys.hll_asof) == str(
        day_number(tomorrow.date()))
    pages = sinks.check("pages", "week", tomorrow)
    assert pages["top_pages"][0]["unique_users"] == 1
    assert sinks.check("engagement", "week", tomorrow)["active_7d"] == 1


def test_js_errors_of_two_sessions_of_one_user_on_one_day_add_up(sinks: Sinks) -> None:
    """Each session's errors are recounted alone; the user's day is their sum."""
    sinks.write(event("user_upsert", _ago(days=5), user_id=8, email="u8@example.com",
                      role="MEMBER"),
                event("session_start", _ago(days=3), session_id="open", user_id=8))
    sinks.write(event("js_error", _ago(minutes=20), session_id="open", user_id=8))
    sinks.write(event("session_start", _ago(minutes=10), session_id="fresh", user_id=8),
                event("js_error", _ago(minutes=9), session_id="fresh", user_id=8))
    sinks.write(event("js_error", _ago(minutes=8), session_id="fresh", user_id=8))
    rows = sinks.check("problems", "day")["problem_users"]
    assert [(r["user"]["id"], r["js_errors"]) for r in rows] == [(8, 3)]


def test_a_replayed_batch_adds_nothing(sinks: Sinks) -> None:
    """The same offsets again (a consumer restarted before saving them): every sum stays."""
    batch = (event("user_upsert", _ago(hours=1), user_id=5, email="u5@example.com",
                   role="MEMBER"),
             event("session_start", _ago(minutes=30), session_id="r", user_id=5),
             *(event("pageview", _ago(minutes=29 - i), pageview_id=f"r{i}", session_id="r",
                     user_id=5, path=f"/r{i % 2}", load_time_ms=3500) for i in range(4)),
             event("js_error", _ago(minutes=25), session_id="r", user_id=5))
    for _ in range(2):
        sinks.write(*batch, offset=5000)
        # Copies at other offsets: the durable write counted none of them (duplicates).
        sinks.redis.write([Accepted(Record("t", 1, 7000 + i, None, msgspec.json.encode(b), 0),
                                    _decoded(b)) for i, b in enumerate(batch)],
                          Committed(), datetime.now(UTC))
    for tab in ("pages", "paths", "overview", "engagement"):
        sinks.check(tab, "day")
    rows = sinks.check("problems", "day")["problem_users"]
    assert [(r["slow_pages"], r["js_errors"]) for r in rows] == [(4, 1)]


def _decoded(body: dict[str, Any]) -> contract.Event:
    decoded = contract.decode(msgspec.json.encode(body), now=datetime.now(UTC))
    assert not isinstance(decoded, contract.Invalid), decoded
    return decoded


def test_window_sets_roll_at_midnight(sinks: Sinks) -> None:
    """Views 7 days ago are in this week's window and out of tomorrow's."""
    week_ago = _ago(days=7)
    sinks.write(event("session_start", week_ago, session_id="old"),
                *(event("pageview", week_ago + timedelta(seconds=i), pageview_id=f"old{i}",
                        session_id="old", path=f"/p{i % 2}") for i in range(3)),
                event("session_start", _ago(minutes=3), session_id="new"),
                event("pageview", _ago(minutes=3), pageview_id="new0", session_id="new",
                      path="/p1"))
    for tab in ("pages", "paths"):
        sinks.check(tab, "week")
        sinks.check(tab, "month")
    tomorrow = NOW + timedelta(days=1)
    sinks.redis.tick(tomorrow)                 # what a running consumer does each second
    for tab in ("pages", "paths"):
        for period in ("day", "week", "month"):
            sinks.check(tab, period, tomorrow)
    pages = sinks.check("pages", "week", tomorrow)["top_pages"]
    assert [(p["path"], p["views"]) for p in pages] == [("/p1", 1)]
