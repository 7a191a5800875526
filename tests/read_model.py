"""Helpers of the read-model tests: simulated traffic, waiting for both sinks, and
comparing the API's documents with the SQL reference (``harness.reference``).

Redis holds scores the consumer computed on its own clock, and re-scores a user once
their lock ends (``consumers.timed``); the reference reads at the ``now`` it is given.
A test that reads at a fixed ``now`` runs its pipeline on that instant
(``run_pipeline(settings, clock=lambda: now)``): on the wall clock, a lock of the
history that ends while the test runs would make the two differ for no fault. One
whose consumer is a process of its own (on the wall clock) reads at ``steady_now``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import redis

from consumers.projection import RedisProjection
from consumers.rollups import TouchedUsers
from harness import reference
from harness.services import redis_records, scalar, stored_records, wait_for
from insights.database import connect
from insights.events.producer import Emitter
from insights.readmodel.generation import NONE, current
from insights.readmodel.keys import Keys
from insights.readmodel.recount import refill_day_counts
from insights.settings import Settings
from insights.simulator.traffic import Population, TrafficModel
from scoring.pages import DEFAULT_SECTIONS
from scoring.windows import PERIODS
from web.engine import create_engine
from web.profile import build_profile
from web.reader import TAB_FILTERS, TABS
from web.tabs import RedisTabs

APPROXIMATE = frozenset({"unique_users", "active_7d"})   # HyperLogLog counts: within 2%


def history(now: datetime, *, users: int, days: int, seed: int) -> Iterator[dict[str, Any]]:
    """A realistic history (the simulator's) of ``days`` days up to ``now``."""
    rng = random.Random(seed)
    return TrafficModel(Population(users, rng, now), rng, rate=50).start(now, days)


def simulate(emitter: Emitter, now: datetime, *, users: int, days: int, seed: int) -> int:
    """Send a realistic history (``history``); returns how many events."""
    sent = 0
    for event in history(now, users=users, days=days, seed=seed):
        emitter.emit(event)
        sent += 1
    emitter.flush()
    return sent


#: How long a test's reads after ``steady_now`` may take, in seconds.
READS_S = 30.0


def steady_now(settings: Settings) -> datetime:
    """An instant to read at (now, or a little later) with a consumer on the wall clock:
    no user's lock ends in the second before it, which the consumer may not have re-scored
    yet, nor in the ``READS_S`` after it, while the test reads."""
    assert settings.postgres_url
    while True:
        now = datetime.now(UTC)
        ending = scalar(settings.postgres_url, "SELECT max(locked_until) FROM users"
                        " WHERE locked_until BETWEEN %s AND %s", now - timedelta(seconds=2),
                        now + timedelta(seconds=READS_S))
        if not isinstance(ending, datetime):
            return now
        time.sleep(max((ending - now).total_seconds(), 0) + 2)   # re-scored by then


def wait_ingested(settings: Settings, n: int, timeout_s: float = 180,
                  check: Callable[[], None] = lambda: None) -> None:
    def done() -> bool:
        check()
        return stored_records(settings) >= n and redis_records(settings) >= n
    wait_for(done, timeout_s, f"{n} records in PostgreSQL and Redis")


def count_in_redis(redis_url: str, database_url: str, prefix: str, now: datetime) -> None:
    """The Redis counters of every user, recounted from what PostgreSQL holds (a full
    rescore), for tests that insert rows into PostgreSQL directly (their day counters,
    which the durable write keeps, are counted from the rows first)."""
    with closing(connect(database_url)) as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM users")
            ids = {row[0] for row in cur.fetchall()}
        refill_day_counts(conn)
        conn.commit()
    with closing(redis.Redis.from_url(redis_url, decode_responses=True)) as client:
        used = current(client, Keys(prefix))
    sink = RedisProjection(redis_url, database_url, prefix,
                           generation_id=used.generation_id if used else NONE)
    try:
        sink.rescore(TouchedUsers(), now, ids, full=True)
    finally:
        sink.close()


def reader(settings: Settings) -> RedisTabs:
    assert settings.redis_url and settings.postgres_url
    url = settings.postgres_url
    client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    return RedisTabs(client, lambda: connect(url), Keys(settings.redis_prefix), DEFAULT_SECTIONS)


def documents(settings: Settings, now: datetime) -> list[tuple[str, Any, Any]]:
    """(what, API document, reference document) for every tab, period and filter."""
    read = reader(settings)
    found = []
    assert settings.postgres_url
    with closing(connect(settings.postgres_url)) as conn:
        for tab in TABS:
            for period in PERIODS:
                for filter_ in TAB_FILTERS[tab]:
                    what = f"{tab}?period={period}&filter={filter_}"
                    found.append((what, msgspec.to_builtins(read.tab(tab, period, filter_, now)),
                                  reference.tab(conn, tab, period, filter_, now)))
    return found


def profiles(settings: Settings, now: datetime) -> list[tuple[str, Any, Any]]:
    """(what, API profile, reference profile) of every tracked user."""
    assert settings.postgres_url
    engine = create_engine(settings.postgres_url)
    store = reader(settings).store
    found = []
    try:
        with closing(connect(settings.postgres_url)) as conn:
            with conn.cursor() as cur:
                cur.execute("SELECT id FROM users WHERE upserted_at IS NOT NULL ORDER BY id")
                ids = [row[0] for row in cur.fetchall()]
            for uid in ids:
                found.append((f"users/{uid}",
                              msgspec.to_builtins(build_profile(engine, store, uid, now)),
                              reference.profile(conn, uid, now)))
    finally:
        engine.dispose()
    return found


def assert_same_profile(what: str, got: Any, want: Any) -> None:
    """Profiles are equal; timeline entries at the same instant may come in any order."""
    assert got is not None and want is not None, what
    times = [item["time"] for item in want["timeline"]]
    assert [item["time"] for item in got["timeline"]] == times, f"{what}: timeline times"
    cut = times[-1] if len(times) == TIMELINE_MAX else None
    for moment in set(times) - {cut}:
        same = [sorted(str(i) for i in doc["timeline"] if i["time"] == moment)
                for doc in (got, want)]
        assert same[0] == same[1], f"{what}: timeline at {moment}"
    assert_same(what, {k: v for k, v in got.items() if k != "timeline"},
                {k: v for k, v in want.items() if k != "timeline"})


TIMELINE_MAX = 100

# For each ranked list: the field it is ordered by and what identifies a row.
RANKED: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
    "problem_users": ("score", lambda r: r["user"]["id"]),
    "engagement_list": ("score", lambda r: r["user"]["id"]),
    "top_pages": ("views", lambda r: r["path"]),
    "ignored_pages": ("views", lambda r: r["path"]),
    "entry_pages": ("count", lambda r: r["path"]),
    "exit_pages": ("count", lambda r: r["path"]),
    "transitions": ("count", lambda r: (r["from"], r["to"])),
    "dropoff": ("exit_rate", lambda r: r["path"]),
}


def assert_same(what: str, got: Any, want: Any) -> None:
    """``got`` equals ``want`` up to tie order in ranked lists and HyperLogLog error."""
    assert isinstance(got, dict) and isinstance(want, dict), what
    assert sorted(got) == sorted(want) or set(want) <= set(got), f"{what}: keys differ"
    for name, value in want.items():
        where = f"{what}: {name}"
        if name in RANKED:
            assert_ranked(where, got[name], value, *RANKED[name])
        else:
            assert_value(where, name, got[name], value)


def assert_value(where: str, name: str, got: Any, want: Any) -> None:
    if name in APPROXIMATE and isinstance(want, int):
        assert abs(got - want) <= max(1.0, 0.02 * want), f"{where}: {got} vs {want}"
    elif isinstance(want, dict):
        for key, value in want.items():
            assert_value(f"{where}.{key}", key, got.get(key), value)
    elif isinstance(want, list) and want and isinstance(want[0], dict):
        assert len(got) == len(want), f"{where}: {len(got)} rows vs {len(want)}\n{got}\n{want}"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_value(f"{where}[{i}]", name, g, w)
    else:
        assert got == want, f"{where}: {got!r} vs {want!r}"


def assert_ranked(where: str, got: Sequence[dict[str, Any]], want: Sequence[dict[str, Any]],
                  key: str, ident: Callable[[dict[str, Any]], Any]) -> None:
    assert [r[key] for r in got] == [r[key] for r in want], (
        f"{where}: order by {key} differs\n got {[(ident(r), r[key]) for r in got]}\n"
        f"want {[(ident(r), r[key]) for r in want]}")
    cut = want[-1][key] if want else None
    wanted = {ident(r): r for r in want}
    for row in got:
        if ident(row) in wanted:
            assert_value(f"{where}[{ident(row)}]", "row", row, wanted[ident(row)])
        else:   # a different row of the same rank at the cut: ties may fall either way
            assert row[key] == cut, f"{where}: {ident(row)} is not in the reference"


def assert_tabs_as_reference(settings: Settings, now: datetime) -> None:
    """Every tab, period and filter read from Redis as the SQL reference reads PostgreSQL."""
    for what, got, want in documents(settings, now):
        assert_same(what, got, want)


def assert_reads_as_reference(settings: Settings, now: datetime, users: int) -> None:
    """Every tab and the profile of every tracked user (at least ``users`` of them) read
    from Redis as the SQL reference reads PostgreSQL."""
    found = profiles(settings, now)
    assert len(found) >= users
    assert_tabs_as_reference(settings, now)
    for what, got, want in found:
        assert_same_profile(what, got, want)
