"""Reads the tab readers share: day hashes, users' window sums, ``users`` rows.

A tab queues what it needs from Redis into a ``Round`` (one pipeline: one
round trip), runs it, then reads each queued answer. Scripts in a round are
sent as ``EVALSHA`` alone (no ``SCRIPT EXISTS`` before each pipeline); when the
server lost them the round loads them and runs once more (a read changes
nothing, so running it again is harmless).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any, TypeVar, cast

from redis.commands.core import Script
from redis.exceptions import NoScriptError

from insights.readmodel import userstate
from insights.readmodel.generation import InUse
from insights.readmodel.keys import SCRATCH_TTL_S, WINDOW_SPANS, Keys
from insights.readmodel.redisdb import (
    KEPT_FIELDS,
    Client,
    Pipeline,
    Scripts,
    hash_tag,
    kept_sums,
    queries_digest,
)
from insights.readmodel.userstate import ALERT_METRICS, USER_METRICS, Query, UserRow
from scoring.windows import Period, day_number, period_start
from web.engine import autocommit

T = TypeVar("T")
Later = Callable[[], T]
"""An answer of a ``Round``, available once the round ran."""
DBConnect = Callable[[], Any]
"""Returns a new DB-API (psycopg2) connection, e.g. ``engine.raw_connection``."""
READER_HEAD = (0, 0, 0, 0)
"""``counters.lua`` ARGV[1..4] of a reader: nothing stored, nothing kept."""


def window_days(start: date, today: date) -> list[int]:
    """Day numbers from ``start`` to tomorrow: windows have no end, and events may
    be a few minutes ahead of the server's clock."""
    return list(range(day_number(start), day_number(today + timedelta(days=1)) + 1))


def _hmget(key: str, fields: list[str]) -> Callable[[Pipeline], Any]:
    return lambda pipe: pipe.hmget(key, fields)


def _pfcount(key: str) -> Callable[[Pipeline], Any]:
    return lambda pipe: pipe.pfcount(key)


class Round:
    """Redis reads queued into one pipeline and sent in one round trip by ``run``."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._queued: list[Callable[[Pipeline], Any]] = []
        self._scripts: dict[str, str] = {}
        self._replies: list[Any] | None = None

    def add(self, commands: Sequence[Callable[[Pipeline], Any]],
            parse: Callable[[list[Any]], T]) -> Later[T]:
        """Queue ``commands``; the returned function gives ``parse`` of their replies."""
        start = len(self._queued)
        self._queued += commands
        end = len(self._queued)

        def answer() -> T:
            if self._replies is None:
                raise RuntimeError("a round's answers are read after it ran")
            return parse(self._replies[start:end])
        return answer

    def script(self, script: Script, keys: Sequence[str], args: Sequence[str | int]
               ) -> Callable[[Pipeline], Any]:
        """A script call to queue with ``add`` (``EVALSHA``)."""
        self._scripts[script.sha] = cast(str, script.script)
        return lambda pipe: pipe.evalsha(script.sha, len(keys), *keys, *args)

    def run(self) -> None:
        """Send every queued read at once (twice when the server had lost a script)."""
        try:
            self._replies = self._execute()
        except NoScriptError:
            for source in self._scripts.values():
                self._client.script_load(source)
            self._replies = self._execute()

    def _execute(self) -> list[Any]:
        pipe = self._client.pipeline(transaction=False)
        for queue in self._queued:
            queue(pipe)
        replies: list[Any] = pipe.execute()
        return replies


class Store:
    """Redis and PostgreSQL reads: queued into rounds (``round``), or one round each."""

    def __init__(self, client: Client, db: DBConnect, keys: Keys) -> None:
        self.redis, self._db = client, db
        #: The read model's generation the reads go to (``Views`` moves it on a switch).
        self.in_use = InUse(client, keys)
        self._scripts = Scripts(client)

    @property
    def keys(self) -> Keys:
        """The keys of the generation read."""
        return self.in_use.keys

    def round(self) -> Round:
        return Round(self.redis)

    def day_fields_in(self, r: Round, days: Sequence[int], fields: Sequence[str]
                      ) -> Later[list[list[int]]]:
        """Per day, the values of ``fields`` of its day hash (0 when absent)."""
        wanted = list(fields)
        commands = [_hmget(self.keys.day(day), wanted) for day in days]
        return r.add(commands, lambda replies: [[int(v or 0) for v in values]
                                                for values in replies])

    def count_in(self, r: Round, key: str, low: float | str, high: float | str) -> Later[int]:
        """Members of a sorted set scored from ``low`` to ``high``."""
        return r.add([lambda p: p.zcount(key, low, high)], lambda replies: int(replies[0]))

    def ranked_in(self, r: Round, key: str, start: int, n: int
                  ) -> Later[list[tuple[str, float]]]:
        """Members and stored scores of a ranking from rank ``start``, best first."""
        return r.add([lambda p: p.zrevrange(key, start, start + n - 1, withscores=True)],
                     lambda replies: cast(list[tuple[str, float]], replies[0]))

    def sums_in(self, r: Round, keys: Sequence[str], queries: Sequence[Query],
                metrics: Sequence[str]) -> Later[list[list[int]]]:
        """Window sums of counter hashes, in ``keys`` order: the sums the consumer keeps
        for these queries (``userstate.kept_asked``), read as they are; a hash that keeps
        another day's (the moments after midnight) or other queries is added up by
        ``counters.lua`` in one more round trip."""
        asked = userstate.script_queries(queries, metrics)
        digest, fields = queries_digest(asked), list(KEPT_FIELDS)

        def parse(replies: list[Any]) -> list[list[int]]:
            found = [kept_sums(reply, digest, len(queries)) for reply in replies]
            missed = [n for n, sums in enumerate(found) if sums is None]
            if missed:
                added = self._one(lambda again: self._added_up_in(
                    again, [keys[n] for n in missed], asked))
                for n, sums in zip(missed, added, strict=True):
                    found[n] = sums
            return cast(list[list[int]], found)
        return r.add([_hmget(key, fields) for key in keys], parse)

    def _added_up_in(self, r: Round, keys: Sequence[str], asked: str
                     ) -> Later[list[list[int]]]:
        """Window sums of counter hashes, in ``keys`` order, added up by ``counters.lua``
        with nothing to store (a reader), one call per hash-tag group."""
        groups: dict[str, list[int]] = {}
        for n, key in enumerate(keys):
            groups.setdefault(hash_tag(key), []).append(n)
        calls = [r.script(self._scripts.counters, [keys[n] for n in members],
                          [*READER_HEAD, asked]) for members in groups.values()]

        def parse(replies: list[Any]) -> list[list[int]]:
            found: list[list[int]] = [[] for _ in keys]
            for members, reply in zip(groups.values(), replies, strict=True):
                for n, sums in zip(members, reply, strict=True):
                    found[n] = [int(v) for v in sums]
            return found
        return r.add(calls, parse)

    def user_sums_in(self, r: Round, ids: Sequence[int], queries: Sequence[Query]
                     ) -> Later[dict[int, list[int]]]:
        found = self.sums_in(r, [self.keys.user(i) for i in ids], queries, USER_METRICS)
        return lambda: dict(zip(ids, found(), strict=True))

    def email_sums_in(self, r: Round, emails: Iterable[str], queries: Sequence[Query]
                      ) -> Later[dict[str, list[int]]]:
        unique = sorted(set(emails))
        found = self.sums_in(r, [self.keys.email(e) for e in unique], queries, ALERT_METRICS)
        return lambda: dict(zip(unique, found(), strict=True))

    def uniques_in(self, r: Round, names: Sequence[str], period: Period, today: date
                   ) -> Later[list[int]]:
        """Distinct members of each HyperLogLog ``name`` over ``period``'s window: the
        window HLLs once merged for today, else (the moments after midnight, one more
        round trip) the union of the day HLLs."""
        commands: list[Callable[[Pipeline], Any]] = [lambda p: p.get(self.keys.hll_asof)]
        commands += [_pfcount(self.keys.window_hll(name, period)) for name in names]

        def parse(replies: list[Any]) -> list[int]:
            merged, *counts = replies
            if merged != str(day_number(today)):
                days = window_days(period_start(period, today), today)
                pipe = self.redis.pipeline(transaction=False)
                for name in names:
                    pipe.pfcount(*[self.keys.day_hll(name, d) for d in days])
                counts = pipe.execute()
            return [int(n) for n in counts]
        return r.add(commands, parse)

    def _one(self, queue: Callable[[Round], Later[T]]) -> T:
        r = self.round()
        found = queue(r)
        r.run()
        return found()

    def day_fields(self, days: Sequence[int], fields: Sequence[str]) -> list[list[int]]:
        return self._one(lambda r: self.day_fields_in(r, days, fields))

    def user_sums(self, ids: Sequence[int], queries: Sequence[Query]) -> dict[int, list[int]]:
        return self._one(lambda r: self.user_sums_in(r, ids, queries))

    def email_sums(self, emails: Iterable[str], queries: Sequence[Query]
                   ) -> dict[str, list[int]]:
        return self._one(lambda r: self.email_sums_in(r, emails, queries))

    def uniques(self, names: Sequence[str], period: Period, today: date) -> list[int]:
        return self._one(lambda r: self.uniques_in(r, names, period, today))

    def ranked_page(self, key: str, start: int, n: int) -> list[tuple[str, float]]:
        return self._one(lambda r: self.ranked_in(r, key, start, n))

    def count(self, key: str, low: float | str, high: float | str) -> int:
        return self._one(lambda r: self.count_in(r, key, low, high))

    def users(self, ids: Iterable[int]) -> dict[int, UserRow]:
        """The ``users`` rows of ``ids``: one statement, outside a transaction (no
        ``BEGIN`` and ``ROLLBACK`` round trips around it)."""
        with autocommit(self._db()) as conn:
            return userstate.user_rows(conn, ids)

    @contextmanager
    def unions(self, sources: Mapping[str, Sequence[str]], *, leaving: bool = False
               ) -> Iterator[dict[str, str]]:
        """Sum each named group of sorted sets on the server, into scratch keys.

        A window's per-day sets are added up by ``ZUNIONSTORE`` where they are,
        so only the rows a tab shows cross the network; the scratch keys go
        away afterwards (and expire anyway, should the reader die first).
        ``leaving``: the first set minus the others, members left at 0 or below dropped.
        """
        names = {name: self.keys.scratch() for name in sources}
        pipe = self.redis.pipeline(transaction=False)
        for name, keys in sources.items():
            if not leaving:
                pipe.zunionstore(names[name], list(keys))
            else:
                pipe.zunionstore(names[name], {k: 1 if i == 0 else -1 for i, k in enumerate(keys)})
                pipe.zremrangebyscore(names[name], "-inf", 0)
            pipe.expire(names[name], SCRATCH_TTL_S)
        pipe.execute()
        try:
            yield names
        finally:
            self.redis.delete(*names.values())

    @contextmanager
    def windows(self, kinds: Sequence[str], period: Period, today: date
                ) -> Iterator[dict[str, str]]:
        """Each kind's window set over ``period`` as of ``today``, without writing to the
        read model: the kept set once the consumer rolled the windows to today; before
        that (the moments after midnight) a scratch copy without the days that left it
        (what ``roll.lua`` will subtract), deleted afterwards and expiring anyway."""
        asof, now = cast(str | None, self.redis.get(self.keys.asof)), day_number(today)
        if asof is None or int(asof) >= now:
            yield {kind: self.keys.window(kind, period) for kind in kinds}
            return
        span = WINDOW_SPANS[period]
        sources = {kind: [self.keys.window(kind, period),
                          *(self.keys.day_set(kind, d) for d in range(int(asof) - span,
                                                                      now - span))]
                   for kind in kinds}
        with self.unions(sources, leaving=True) as rolled:
            yield rolled
