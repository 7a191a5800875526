"""Reads the tab readers share: day hashes, users' window sums, ``users`` rows."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from datetime import date, timedelta
from typing import Any, cast

from insights.readmodel import userstate
from insights.readmodel.keys import Keys
from insights.readmodel.redisdb import Client, CounterCall, Scripts, counter_sums, roll_windows
from insights.readmodel.userstate import ALERT_METRICS, USER_METRICS, Query, UserRow
from scoring.windows import Period, day_number, period_start

SCRATCH_TTL_S = 30
DBConnect = Callable[[], Any]
"""Returns a new DB-API (psycopg2) connection, e.g. ``engine.raw_connection``."""


def window_days(start: date, today: date) -> list[int]:
    """Day numbers from ``start`` to tomorrow: windows have no end, and events may
    be a few minutes ahead of the server's clock."""
    return list(range(day_number(start), day_number(today + timedelta(days=1)) + 1))


class Store:
    """Redis and PostgreSQL reads, one round trip per kind."""

    def __init__(self, client: Client, db: DBConnect, keys: Keys) -> None:
        self.redis, self.keys, self._db = client, keys, db
        self._scripts = Scripts(client)

    def day_fields(self, days: Sequence[int], fields: Sequence[str]) -> list[list[int]]:
        """Per day, the values of ``fields`` of its day hash (0 when absent)."""
        pipe = self.redis.pipeline(transaction=False)
        for day in days:
            pipe.hmget(self.keys.day(day), list(fields))
        return [[int(v or 0) for v in values] for values in pipe.execute()]

    def sums(self, keys: Sequence[str], queries: Sequence[Query], metrics: Sequence[str]
             ) -> list[list[int]]:
        """Window sums of counter hashes (``counters.lua`` with nothing to store)."""
        asked = userstate.script_queries(queries, metrics)
        return counter_sums(self.redis, self._scripts, (0, 0, 0, 0),
                            [CounterCall(key, asked) for key in keys])

    def user_sums(self, ids: Sequence[int], queries: Sequence[Query]) -> dict[int, list[int]]:
        replies = self.sums([self.keys.user(i) for i in ids], queries, USER_METRICS)
        return dict(zip(ids, replies, strict=True))

    def email_sums(self, emails: Iterable[str], queries: Sequence[Query]
                   ) -> dict[str, list[int]]:
        unique = sorted(set(emails))
        return dict(zip(unique, self.sums([self.keys.email(e) for e in unique], queries,
                                            ALERT_METRICS),
                        strict=True))

    def users(self, ids: Iterable[int]) -> dict[int, UserRow]:
        with closing(self._db()) as conn:
            return userstate.user_rows(conn, ids)

    def ranked_page(self, key: str, start: int, n: int) -> list[tuple[str, float]]:
        """Members and stored scores of a ranking from rank ``start``, best first."""
        return cast(list[tuple[str, float]],
                    self.redis.zrevrange(key, start, start + n - 1, withscores=True))

    @contextmanager
    def unions(self, sources: Mapping[str, Sequence[str]]) -> Iterator[dict[str, str]]:
        """Sum each named group of sorted sets on the server, into scratch keys.

        A window's per-day sets are added up by ``ZUNIONSTORE`` where they are,
        so only the rows a tab shows cross the network; the scratch keys go
        away afterwards (and expire anyway, should the reader die first).
        """
        names = {name: self.keys.scratch() for name in sources}
        pipe = self.redis.pipeline(transaction=False)
        for name, keys in sources.items():
            pipe.zunionstore(names[name], list(keys))
            pipe.expire(names[name], SCRATCH_TTL_S)
        pipe.execute()
        try:
            yield names
        finally:
            self.redis.delete(*names.values())

    def windows_as_of(self, today: date) -> None:
        """Make sure the window sets are as of ``today`` (roll them if no consumer did yet)."""
        roll_windows(self.redis, self._scripts, self.keys, day_number(today))

    def uniques(self, names: Sequence[str], period: Period, today: date) -> list[int]:
        """Distinct members of each HyperLogLog ``name`` over ``period``'s window: the
        window HLLs once merged for today, else the union of the day HLLs."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(self.keys.hll_asof)
        for name in names:
            pipe.pfcount(self.keys.window_hll(name, period))
        merged, *counts = pipe.execute()
        if merged != str(day_number(today)):       # the moments after midnight
            days = window_days(period_start(period, today), today)
            pipe = self.redis.pipeline(transaction=False)
            for name in names:
                pipe.pfcount(*[self.keys.day_hll(name, d) for d in days])
            counts = pipe.execute()
        return [int(n) for n in counts]

    def count(self, key: str, low: float | str, high: float | str) -> int:
        return int(self.redis.zcount(key, low, high))
