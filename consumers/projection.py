"""The projection: the Redis read model brought up to what the durable write committed.

Its input is the batch with the durable write's answer (``Committed``): only the
records PostgreSQL counted are projected, so a producer's duplicate, a
conflicting session or view and a dead letter add nothing, without reading the
ledger back. It still reads PostgreSQL where it needs rows: users' counters
recounted, sessions' views, owners of sessions and leaves.

Exactly once, without a cross-key transaction (so it runs on Redis Cluster):

- site-wide increments (``{g}``) go through ``aggregate.lua``, which applies an
  event only above its partition's watermark, in the same script call;
- per-user and per-e-mail day counters are absolute values recounted from the
  PostgreSQL write-through (``consumers.rollups``): a replay rewrites the same
  numbers, and ``counters.lua`` only ever raises a field;
- rankings are scores recomputed from that state (``consumers.ranking``),
  stamped so an older computation never replaces a newer one.

The projection's offsets are written last; a crash before that replays the
batch, which changes nothing the first run stored. Time-driven work (midnight,
lock expiry) is ``consumers.timed``'s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from typing import Any

import msgspec
import psycopg2
import redis

from consumers import rollups, timed
from consumers.aggregates import Increments, flat, merged
from consumers.batch import Accepted, Item, Rejected, next_offsets, unprocessable
from consumers.protocol import Committed, SinkUnavailable, WriteResult, isolate
from consumers.scores import TTL_S, Scores
from consumers.snapshots import Snapshots
from consumers.stored import Chunk
from insights.database import Connection, connect, storable_text
from insights.events import contract
from insights.events.kafka import Partition
from insights.readmodel.generation import NONE
from insights.readmodel.keys import LAYOUT, Keys
from insights.readmodel.redisdb import Client, Scripts
from insights.readmodel.redisdb import connect as redis_connect
from scoring.pages import DEFAULT_SECTIONS, SectionMap
from scoring.windows import day_number

log = logging.getLogger(__name__)
SINK = "redis"
ATTEMPTS = 5          # reads of the watermarks before giving up on a batch
_json = msgspec.json.Encoder().encode
_IN_TRANSACTION = psycopg2.extensions.TRANSACTION_STATUS_INTRANS


class RedisProjection:
    """The projection into Redis; see the module docstring. It writes the generation
    ``generation_id`` (``retarget`` moves it; ``consumers.guard`` keeps it on the one in
    use); without one, the generation readers find when none is in use (``NONE``)."""

    name = SINK

    def __init__(self, redis_url: str, postgres_url: str, prefix: str,
                 sections: Mapping[str, Sequence[str]] | None = None,
                 generation_id: str = NONE) -> None:
        self._redis_url, self._postgres_url = redis_url, postgres_url
        self.keys = Keys(prefix, generation_id)
        self._sections: SectionMap = sections or DEFAULT_SECTIONS
        self._client: Client | None = None
        self._scripts: Scripts | None = None
        # One PostgreSQL connection per thread: the batch's day aggregates on the
        # caller's, the paths tab's sessions and the users' scores on their own.
        self._conns: dict[str, Connection] = {}
        self._side = ThreadPoolExecutor(max_workers=2, thread_name_prefix="redis-side")
        self._sessions: Snapshots | None = None
        self.scores = Scores(self.keys, partial(self._postgres, "scores"), self._redis,
                             self._scripts_)
        #: Announce each batch to the web app (not for a generation nobody reads yet).
        self.announcing = True

    @property
    def postgres_url(self) -> str:
        """The PostgreSQL the projection reads rows from."""
        return self._postgres_url

    def recipe(self) -> Callable[[], RedisProjection]:
        """How to build a projection like this one in another process (picklable)."""
        sections = {name: list(paths) for name, paths in self._sections.items()}
        return partial(RedisProjection, self._redis_url, self._postgres_url, self.keys.prefix,
                       sections, self.keys.generation_id)

    def retarget(self, generation_id: str) -> None:
        """Write the read model's generation ``generation_id`` from now on."""
        if generation_id != self.keys.generation_id:
            self.keys = self.keys.at(generation_id)
            self.scores.keys = self.keys
            self._sessions = None

    def take_over(self, first: dict[Partition, int]) -> dict[Partition, int]:
        """Take the partitions over just below these offsets, where nobody did yet: a
        rebuild replays up to the mark (``consumers.backfill``), the consumers apply
        what comes after (this generation's ``{g}`` watermarks start at it). Returns the
        marks in force, which never move once set."""
        if not first:
            return {}
        marks = self._scripts_().takeover(
            keys=[self.keys.taken, self.keys.watermarks],
            args=[x for (t, p), o in first.items() for x in (f"{t}:{p}", o - 1)])
        return {part: int(mark) for part, mark in zip(first, marks, strict=True)}

    def mark_layout(self) -> None:
        """Record that the keys under the prefix are of this ``LAYOUT`` (after a rebuild)."""
        self._redis().set(self.keys.layout, LAYOUT)

    def write(self, items: Sequence[Item], committed: Committed, now: datetime
              ) -> WriteResult:
        """Project the records of a batch the durable write ``committed``; a record the
        read model cannot take is isolated and dead-lettered (``consumers.protocol.isolate``),
        the rest applied. Whether the keys are the read model PostgreSQL vouches for is
        ``consumers.guard``'s to check."""
        try:
            return isolate(items, partial(self._attempt, committed, now),
                           partial(self._reject, now))
        finally:
            self._end_reads()

    def _attempt(self, committed: Committed, now: datetime, items: Sequence[Item]
                 ) -> WriteResult:
        try:
            return self._apply(items, committed, now)
        except redis.RedisError as exc:
            if not _transient(exc):
                raise                 # refused for this batch's data: isolate the record
            raise self._unavailable(exc) from exc
        except psycopg2.Error as exc:
            self._close_postgres()
            raise SinkUnavailable(f"PostgreSQL (read by the Redis projection): {exc}") from exc

    def _apply(self, items: Sequence[Item], committed: Committed, now: datetime
               ) -> WriteResult:
        counted = [i for i in items if isinstance(i, Accepted) and i in committed]
        events = [a.event for a in counted]
        # Users' scores, the paths tab's sessions and the site-wide aggregates touch
        # different keys and rows: done side by side, so one's waits on the servers
        # overlap the others' Python.
        touched = rollups.touched_users(events)
        newest = max((e.ts for e in events), default=None)
        side: list[Future[Any]] = [self._side.submit(self._paths, events, now),
                                   self._side.submit(self.scores.rescore, touched, now,
                                                     newest=newest)]
        try:
            self._aggregate(counted, now)
        finally:
            wait(side)
        for job in side:
            job.result()
        self.save_offsets(next_offsets(items), now, _changed_users(touched), newest)
        return WriteResult(counted, 0, 0, [i for i in items if isinstance(i, Rejected)])

    def _reject(self, now: datetime, item: Item, exc: Exception) -> WriteResult:
        """The record PostgreSQL applied but the read model cannot: noted in
        ``rejected_events`` (PostgreSQL keeps its rows), and passed in Redis."""
        rejected = unprocessable(item.record, exc, "applied in PostgreSQL; the read model "
                                 "could not take it: ")
        try:
            conn = self._postgres()
            with conn.cursor() as cur:
                cur.execute(_DEAD_LETTER, (item.record.topic, item.record.partition,
                                           item.record.offset, item.record.key,
                                           item.record.value, rejected.reason,
                                           storable_text(rejected.detail)))
            conn.commit()
            self.save_offsets(next_offsets([item]), now)
        except psycopg2.Error as error:
            self._close_postgres()
            raise SinkUnavailable(f"PostgreSQL (read by the Redis projection): {error}") from error
        except redis.RedisError as error:
            raise self._unavailable(error) from error
        return WriteResult([], 0, 0, [rejected])

    def replay(self, chunk: Chunk, now: datetime) -> None:
        """Apply a rebuild's chunk (``consumers.stored``) to the generation being built:
        the snapshots of the sessions it touched first, then its day sums, in one script
        call with the partition's replayed watermark (``Keys.replayed``) moved past it.
        Snapshots are idempotent, sums are not: a run killed in between does the chunk
        again, and the watermark keeps the sums once. The users it touches are left to
        the rebuild's end, which re-scores everybody over every kept day."""
        with self._serving():
            self._snapshots().apply_touched(self._postgres("paths"), chunk.touched, now)
            inc = Increments(self.keys, self._sections)
            ops = flat(chunk.sums(inc))
            topic, partition = chunk.partition
            header = [[f"{topic}:{partition}", chunk.after, chunk.upto]]
            stale = self._scripts_().aggregate(
                keys=[self.keys.replayed, self.keys.asof, *inc.names],
                args=[TTL_S, _json(header).decode(), day_number(now.date()), ops])
            if chunk.newest is not None:     # as a consumer's batch does (save_offsets)
                self._scripts_().maxset(keys=[self.keys.freshness], args=[
                    "newest", _micros(min(chunk.newest, now))])
        if stale:       # only one process replays a partition (consumers.lease)
            raise RuntimeError(f"the replayed watermark of {topic}:{partition} moved under "
                               f"the rebuild (another one running?): run it again")

    def _paths(self, events: Sequence[contract.Event], now: datetime) -> None:
        self._snapshots().apply(self._postgres("paths"), events, now)

    def rescore(self, touched: rollups.TouchedUsers, now: datetime,
                users: set[int] | None = None, *, full: bool = False) -> int:
        """Re-score the touched users and ``users`` (see ``consumers.scores``)."""
        return self.scores.rescore(touched, now, users or (), full=full)

    def _aggregate(self, accepted: Sequence[Accepted], now: datetime) -> None:
        """Sum the increments of the events above their partitions' watermarks and apply
        them in one call, unless a watermark moved meanwhile (then read again)."""
        by_partition: dict[str, list[Accepted]] = {}
        for a in accepted:
            by_partition.setdefault(f"{a.record.topic}:{a.record.partition}", []).append(a)
        for _ in range(ATTEMPTS):
            if not by_partition:
                return
            fields = list(by_partition)
            marks = self._redis().hmget(self.keys.watermarks, fields)
            header, fresh = [], []
            for field, mark in zip(fields, marks, strict=True):
                seen = int(mark) if mark is not None else -1
                todo = [a for a in by_partition[field] if a.record.offset > seen]
                if todo:
                    header.append((field, seen, max(a.record.offset for a in todo)))
                    fresh += todo
            if not fresh:
                return
            inc = Increments(self.keys, self._sections)
            ops = merged(inc, (a.event for a in fresh))
            stale = self._scripts_().aggregate(
                keys=[self.keys.watermarks, self.keys.asof, *inc.names],
                args=[TTL_S, _json(header).decode(), day_number(now.date()), ops])
            if not stale:
                return
            # Nothing was applied: read every watermark again, sum what is left.
            log.info("watermarks of %d partitions moved meanwhile; reading again", len(stale))
        raise RuntimeError("the {g} watermarks kept moving under us")

    def save_offsets(self, offsets: dict[Partition, int], now: datetime,
                     users: list[int] | None = None, newest: datetime | None = None) -> None:
        """Raise the stored next offsets to ``offsets`` (never lowers one), note how fresh
        the read model is (as of the batch's ``now``), and announce the batch with the
        users it changed (None: too many to list, or unknown) to the web app."""
        if not offsets:
            return
        pipe = self._redis().pipeline(transaction=False)
        scripts = self._scripts_()
        scripts.maxset(keys=[self.keys.offsets], client=pipe, args=[
            x for (t, p), o in offsets.items() for x in (f"{t}:{p}", o)])
        pipe.hset(self.keys.freshness, "applied", _micros(now))
        pipe.hincrby(self.keys.freshness, "batches", 1)      # what the web app's kept
        # documents are checked against (web.tabs.cache): after every key the batch set
        if newest is not None:
            scripts.maxset(keys=[self.keys.freshness], client=pipe,
                           args=["newest", _micros(min(newest, now))])
        if self.announcing:
            pipe.publish(self.keys.changes, _json({"at": now.isoformat(), "users": users}))
        pipe.execute()

    def tick(self, now: datetime) -> int:
        """Re-score users whose lock expired by ``now``, and everybody ranked after
        midnight (``consumers.timed``)."""
        with self._serving():
            return timed.tick(self, now)

    @contextmanager
    def _serving(self) -> Iterator[None]:
        """A server's error as ``SinkUnavailable`` (PostgreSQL's connections closed), and
        the reads' transactions ended after (``_end_reads``)."""
        try:
            yield
        except redis.RedisError as exc:
            raise self._unavailable(exc) from exc
        except psycopg2.Error as exc:
            self._close_postgres()
            raise SinkUnavailable(f"PostgreSQL (read by the Redis projection): {exc}") from exc
        finally:
            self._end_reads()

    def _end_reads(self) -> None:
        """End a transaction a read left open on any connection (a read that found nothing
        to do does not commit): idle in a transaction, it would hold its tables' locks
        and keep a month's partitions from being made or dropped."""
        for conn in self._conns.values():
            if not conn.closed and conn.info.transaction_status == _IN_TRANSACTION:
                try:
                    conn.rollback()
                except psycopg2.Error:
                    conn.close()

    def close(self) -> None:
        """Close the connections (they reopen on the next call)."""
        if self._client is not None:
            self._client.close()
        self._client = self._scripts = self._sessions = None
        self._close_postgres()

    def client(self) -> Client:
        """The projection's Redis client (connected on first use)."""
        return self._redis()

    def scripts(self) -> Scripts:
        """The Lua scripts, registered on the projection's client."""
        return self._scripts_()

    def _redis(self) -> Client:
        if self._client is None:
            self._client = redis_connect(self._redis_url)
        return self._client

    def _scripts_(self) -> Scripts:
        if self._scripts is None:
            self._scripts = Scripts(self._redis())
        return self._scripts

    def _snapshots(self) -> Snapshots:
        if self._sessions is None:
            self._sessions = Snapshots(self._redis(), self._scripts_(), self.keys, self._sections)
        return self._sessions

    def _postgres(self, role: str = "main") -> Connection:
        conn = self._conns.get(role)
        if conn is None or conn.closed:
            conn = self._conns[role] = connect(self._postgres_url)
        return conn

    def _close_postgres(self) -> None:
        for conn in self._conns.values():
            if not conn.closed:
                conn.close()
        self._conns.clear()

    def _unavailable(self, exc: redis.RedisError) -> SinkUnavailable:
        self.close()
        return SinkUnavailable(f"Redis: {exc}")


_TRANSIENT_REPLIES = ("OOM", "BUSY", "LOADING", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN",
                      "READONLY", "NOSCRIPT")


_DEAD_LETTER = """
INSERT INTO rejected_events (topic, "partition", "offset", key, value, reason, detail)
VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (topic, "partition", "offset") DO NOTHING"""


def _micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


#: More changed users than this are announced as "everybody" (no list).
ANNOUNCED_USERS = 2000


def _changed_users(touched: rollups.TouchedUsers) -> list[int] | None:
    users = set(touched.users) | touched.upserted | set(touched.owners.values())
    return sorted(users) if len(users) <= ANNOUNCED_USERS else None


def _transient(exc: redis.RedisError) -> bool:
    """Connection trouble or a server busy for now, as opposed to a refused command."""
    if isinstance(exc, redis.ResponseError):
        return str(exc).startswith(_TRANSIENT_REPLIES)
    return True
