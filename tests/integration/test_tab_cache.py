"""Kept tab documents (``web.tabs.cache``) on a real Redis: served again only while no batch
landed, the generation is the same, no rebuild runs, the day is the same and (for the
problems tab) no lock expired since; recomputed otherwise."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis

from harness.services import unique
from insights import stack
from insights.readmodel.generation import InUse
from insights.readmodel.keys import Keys
from web.documents.paths import PathsTab
from web.documents.schema import TabDocument
from web.reader import Filter, Tab
from web.tabs.cache import TabCache

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


class Counting:
    """A tab reader that counts its computations; ``during`` runs inside each one."""

    def __init__(self) -> None:
        self.computed = 0
        self.during: Callable[[], object] = lambda: None

    def tab(self, tab: Tab, period: str, filter_: Filter, now: datetime) -> TabDocument:
        self.computed += 1
        self.during()
        return PathsTab(entry_pages=[], exit_pages=[], transitions=[], dropoff=[],
                        session_lengths=[])


@pytest.fixture
def client(stack_urls: stack.StackUrls) -> Iterator[redis.Redis]:
    made = redis.Redis.from_url(stack_urls.redis_url)
    yield made
    made.close()


@pytest.fixture
def keys(client: redis.Redis) -> Iterator[Keys]:
    made = Keys(unique("tabcache")).at("g1")
    client.hset(made.freshness, "batches", 1)
    client.set(made.generation, "g1")
    yield made
    client.delete(made.freshness, made.generation, made.rebuild_lock, made.locks, made.building)


def _reads(cache: TabCache, *moments: datetime, tab: Tab = "paths") -> None:
    for moment in moments:
        cache.tab(tab, "week", "all", moment)


def test_a_document_is_computed_once_until_a_batch_lands(client: redis.Redis, keys: Keys
                                                         ) -> None:
    reader = Counting()
    cache = TabCache(reader, client, InUse(client, keys))
    first = cache.tab("paths", "week", "all", NOW)
    second = cache.tab("paths", "week", "all", NOW + timedelta(minutes=5))
    assert reader.computed == 1
    assert first == second and first is not second           # copies: free to change
    _reads(cache, NOW)
    cache.tab("paths", "month", "all", NOW)                   # another document
    assert reader.computed == 2
    client.hincrby(keys.freshness, "batches", 1)
    _reads(cache, NOW, NOW)
    assert reader.computed == 3


def test_nothing_is_kept_before_the_first_batch_kept_while_a_backfill_builds_the_next(
        client: redis.Redis, keys: Keys) -> None:
    reader = Counting()
    cache = TabCache(reader, client, InUse(client, keys))
    client.hdel(keys.freshness, "batches")
    _reads(cache, NOW, NOW)
    assert reader.computed == 2
    client.hset(keys.freshness, "batches", 7)
    client.set(keys.rebuild_lock, "token")          # the generation in use stays what it is
    client.set(keys.building, "g2")
    _reads(cache, NOW, NOW)
    assert reader.computed == 3
    client.delete(keys.rebuild_lock, keys.building)
    client.set(keys.generation, "g2")                         # the backfill switched
    _reads(cache, NOW)
    assert reader.computed == 4


def test_time_moves_it_at_midnight_at_a_lock_expiry_and_backwards(
        client: redis.Redis, keys: Keys) -> None:
    reader = Counting()
    cache = TabCache(reader, client, InUse(client, keys))
    expiry = NOW + timedelta(minutes=10)
    client.zadd(keys.locks, {"42": expiry.timestamp(), "7": (NOW - timedelta(hours=1)
                                                              ).timestamp()})
    _reads(cache, NOW, NOW + timedelta(minutes=9), tab="problems")
    assert reader.computed == 1
    _reads(cache, expiry, tab="problems")                     # 42 is no longer locked
    assert reader.computed == 2
    _reads(cache, expiry + timedelta(hours=1), NOW.replace(hour=23, minute=59),
           tab="problems")
    assert reader.computed == 2
    _reads(cache, NOW, expiry, expiry + timedelta(hours=1))   # no lock in this tab
    assert reader.computed == 3
    _reads(cache, NOW + timedelta(days=1))                    # a new day: new windows
    assert reader.computed == 4
    _reads(cache, NOW + timedelta(days=1, hours=-1))          # a clock set back
    assert reader.computed == 5


def test_a_document_read_while_a_batch_landed_is_not_kept(client: redis.Redis, keys: Keys
                                                          ) -> None:
    reader = Counting()
    reader.during = lambda: client.hincrby(keys.freshness, "batches", 1)
    cache = TabCache(reader, client, InUse(client, keys))
    _reads(cache, NOW)
    reader.during = lambda: None
    _reads(cache, NOW, NOW)
    assert reader.computed == 2
