"""What a tab read sends: a few round trips, and no write but to scratch keys.

Each Redis round trip is one write to the socket (a command, or a whole
pipeline); each PostgreSQL one a statement sent. Counts, not timings, so a
change that adds a round trip per listed user or per page fails here. Every
command is recorded too: the web app writes only ``Keys.scratch`` keys, the
moments after midnight (windows not rolled yet) included.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import msgspec
import psycopg2
import psycopg2.extensions
import pytest
import redis

from consumers.batch import Accepted, Item
from consumers.durable import PostgresWrite
from consumers.projection import RedisProjection
from harness.factories import event
from harness.services import unique
from insights import stack
from insights.events import contract
from insights.events.kafka import Record
from insights.readmodel.redisdb import Scripts, merge_window_hlls
from scoring.pages import DEFAULT_SECTIONS
from scoring.windows import day_number
from web.tabs import RedisTabs

NOW = datetime.now(UTC)
USERS = 150          # more than a page of ranked candidates


WRITES = {"SET", "DEL", "EXPIRE", "HSET", "HDEL", "HINCRBY", "ZADD", "ZREM", "ZINCRBY",
          "ZUNIONSTORE", "ZREMRANGEBYSCORE", "PFADD", "PFMERGE", "SADD", "SREM", "INCR"}


class Counted:
    """Round trips seen so far, per server, and the Redis commands sent."""

    redis = 0
    postgres = 0
    commands: ClassVar[list[tuple[str, ...]]] = []


class CountingConnection(redis.Connection):
    """A Redis connection counting what it sends (one packed write = one round trip)."""

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        Counted.redis += 1
        super().send_packed_command(command, check_health)

    def pack_command(self, *args: Any) -> Any:
        Counted.commands.append(tuple(str(a) for a in args))
        return super().pack_command(*args)

    def pack_commands(self, commands: Any) -> Any:
        commands = list(commands)
        Counted.commands += [tuple(str(a) for a in args) for args in commands]
        return super().pack_commands(commands)


class CountingCursor(psycopg2.extensions.cursor):
    def execute(self, query: Any, vars: Any = None) -> None:
        Counted.postgres += 1
        super().execute(query, vars)


class CountingPg(psycopg2.extensions.connection):
    """A PostgreSQL connection counting statements, BEGIN and ROLLBACK included."""

    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        if not self.autocommit and self.status == psycopg2.extensions.STATUS_READY:
            Counted.postgres += 1                           # the BEGIN psycopg2 sends first
        return super().cursor(*args, cursor_factory=CountingCursor, **kwargs)

    def close(self) -> None:
        if self.status == psycopg2.extensions.STATUS_IN_TRANSACTION:
            Counted.postgres += 1                           # the ROLLBACK of a pool's reset
        super().close()


def _activity(uid: int) -> list[dict[str, Any]]:
    at = NOW - timedelta(seconds=1 + uid)
    sid = f"s{uid}"
    views = [event("pageview", at, pageview_id=f"v{uid}-{i}", session_id=sid, user_id=uid,
                   path=f"/p{i}", load_time_ms=4000 if i <= uid % 4 else 300)
             for i in range(1 + uid % 7)]
    old = [event("session_start", NOW - timedelta(days=7), session_id=f"o{uid}", user_id=uid),
           event("pageview", NOW - timedelta(days=7), pageview_id=f"o{uid}", user_id=uid,
                 session_id=f"o{uid}", path="/old")] if uid % 10 == 0 else []
    return [*old, event("user_upsert", at - timedelta(days=8), user_id=uid,
                  email=f"u{uid}@example.com", role="MEMBER"),
            event("session_start", at, session_id=sid, user_id=uid), *views,
            *([event("security_alert", at, user_email=f"u{uid}@example.com")] if uid % 5 == 0
              else [])]


@pytest.fixture
def sink(stack_urls: stack.StackUrls, database_url: str) -> Iterator[RedisProjection]:
    postgres = PostgresWrite(database_url)
    sink = RedisProjection(stack_urls.redis_url, database_url, unique("trips"))
    batch: list[Item] = []
    for uid in range(1, USERS + 1):
        for body in _activity(uid):
            raw = msgspec.json.encode(body)
            decoded = contract.decode(raw, now=datetime.now(UTC))
            assert not isinstance(decoded, contract.Invalid), decoded
            batch.append(Accepted(Record("t", 0, len(batch), None, raw, 0), decoded))
    now = datetime.now(UTC)
    sink.write(batch, postgres.write(batch, now).committed(), now)
    with closing(redis.Redis.from_url(stack_urls.redis_url, decode_responses=True)) as plain:
        assert merge_window_hlls(plain, Scripts(plain), sink.keys, day_number(NOW.date()),
                                 3600)              # as the consumer does after midnight
    yield sink
    postgres.close()
    sink.close()


@pytest.fixture
def tabs(stack_urls: stack.StackUrls, database_url: str, sink: RedisProjection
         ) -> Iterator[RedisTabs]:
    pool = redis.ConnectionPool.from_url(stack_urls.redis_url, decode_responses=True,
                                         connection_class=CountingConnection)
    with closing(redis.Redis(connection_pool=pool)) as client:
        yield RedisTabs(client, lambda: psycopg2.connect(database_url,
                                                         connection_factory=CountingPg),
                        sink.keys, DEFAULT_SECTIONS)


def _trips(tabs: RedisTabs, tab: str, period: str) -> tuple[int, int, dict[str, Any]]:
    tabs.tab(tab, period, "all", NOW)         # type: ignore[arg-type]  # scripts loaded
    Counted.redis = Counted.postgres = 0
    got = msgspec.to_builtins(tabs.tab(tab, period, "all", NOW))  # type: ignore[arg-type]
    return Counted.redis, Counted.postgres, got


@pytest.mark.parametrize("period", ["day", "week", "month"])
def test_the_problems_tab_reads_in_a_few_round_trips(tabs: RedisTabs, period: str) -> None:
    to_redis, to_postgres, got = _trips(tabs, "problems", period)
    assert len(got["problem_users"]) == 50
    assert (to_redis, to_postgres) == (2, 1)     # cards + first page, sums; users


@pytest.mark.parametrize("period", ["day", "week", "month"])
def test_the_engagement_tab_reads_in_a_few_round_trips(tabs: RedisTabs, period: str) -> None:
    to_redis, to_postgres, got = _trips(tabs, "engagement", period)
    assert len(got["engagement_list"]) == 50
    assert (to_redis, to_postgres) == (2, 1)


def test_before_the_window_hlls_are_merged_active_users_take_one_more(tabs: RedisTabs
                                                                      ) -> None:
    tabs.store.redis.delete(tabs.store.keys.hll_asof)        # the moments after midnight
    to_redis, to_postgres, got = _trips(tabs, "engagement", "week")
    assert abs(got["active_7d"] - USERS) <= 3          # a HyperLogLog estimate
    assert (to_redis, to_postgres) == (3, 1)


def _written(commands: list[tuple[str, ...]]) -> list[str]:
    """The keys the write commands name first (the key they write)."""
    return [c[1] for c in commands if c[0].upper() in WRITES]


def test_reads_write_only_scratch_keys_before_and_after_midnight(tabs: RedisTabs,
                                                                  sink: RedisProjection) -> None:
    """Tomorrow, before the consumer rolled the windows, the pages and paths tabs read
    scratch copies without the day that left; once it rolled, the same documents."""
    tomorrow = NOW + timedelta(days=1)
    evaluated = []
    for now in (NOW, tomorrow):
        Counted.commands = []
        docs = {(tab, period): msgspec.to_builtins(
                    tabs.tab(tab, period, "all", now))  # type: ignore[arg-type]
                for tab in ("problems", "engagement", "pages", "paths", "overview")
                for period in ("day", "week", "month")}
        keys = _written(Counted.commands)
        assert keys and all(":scratch:" in k for k in keys), keys
        # Kept sums are read as they are; only the others run counters.lua, as a reader.
        scripts = [c for c in Counted.commands if c[0].upper() == "EVALSHA"]
        assert {c[1] for c in scripts} <= {tabs.store._scripts.counters.sha}
        assert scripts or now == NOW            # tomorrow the kept sums are yesterday's
        # counters.lua as a reader: zeros for today, oldest, ttl, stamp, nothing to store
        assert all(c[3 + int(c[2]):7 + int(c[2])] == ("0",) * 4 for c in scripts)
        evaluated.append(docs)
    sink.tick(tomorrow)                        # the consumer rolls the windows
    for (tab, period), doc in evaluated[1].items():
        if tab in ("pages", "paths"):
            again = tabs.tab(tab, period, "all", tomorrow)  # type: ignore[arg-type]
            assert msgspec.to_builtins(again) == doc, (tab, period)
    week = evaluated[1]["pages", "week"]["top_pages"]
    assert "/old" not in [p["path"] for p in week]
    assert "/old" in [p["path"] for p in evaluated[0]["pages", "week"]["top_pages"]]
