"""The projection's guard: the read model checked before every batch, rebuilt or refused when lost.

``GuardedProjection`` is the projection the pipeline runs (``RedisProjection``
behind the check). Before each batch and
each tick it makes sure the keys are the read model PostgreSQL vouches for
(``insights.readmodel.generation``): one Redis round trip when nothing changed.
It writes the generation in use and, while a backfill builds the next one
(``Keys.building``), that one too, first (``consumers.backfill``), and follows the
switch to it. A Redis
that lost its data (restarted empty, flushed, failed over to an empty replica,
or to one that missed writes: its stored offsets went back) is found while
running, not only at start. Then, by ``Settings.redis_rebuild``, the read model
is rebuilt from PostgreSQL (``consumers.backfill.rebuild``, one process
at a time; the others wait) or the consumer stops with the command that does it
(``ReadModelLost``). Writing into a lost read model would serve wrong numbers
with a lag of 0.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from contextlib import closing
from datetime import datetime
from typing import Any

import psycopg2
import redis

from consumers import backfill
from consumers.batch import Item, next_offsets
from consumers.lease import RebuildBusy
from consumers.projection import SINK, RedisProjection
from consumers.protocol import Committed, SinkStopped, SinkUnavailable, WriteResult
from insights.alerts.detection import Detector
from insights.database import Connection, connect
from insights.events.kafka import Partition
from insights.readmodel import generation
from insights.readmodel.generation import Found, State
from insights.readmodel.keys import Keys
from insights.readmodel.redisdb import text

log = logging.getLogger(__name__)


class ReadModelLost(SinkStopped):
    """Redis does not hold the read model PostgreSQL vouches for, and rebuilding it is
    left to an operator (``redis_rebuild`` is ``stop``)."""


def verdict(client: Any, conn: Connection, keys: Keys) -> tuple[generation.Verdict, str | None]:
    """The judgement of the keys under ``keys.prefix`` now, and the generation Redis holds."""
    expected, has_events = generation.read_postgres(conn, keys.prefix)
    conn.commit()
    found, layout, has_offsets = generation.read_redis(client, keys)
    return generation.judge(Found(expected, found, layout, has_offsets, has_events)), found


class GuardedProjection:
    """The Redis projection behind a check of the read model's generation."""

    name = SINK

    def __init__(self, redis_url: str, postgres_url: str, prefix: str,
                 sections: Mapping[str, Sequence[str]] | None = None, *,
                 rebuild: bool, alerts: bool = False) -> None:
        self.sink = RedisProjection(redis_url, postgres_url, prefix, sections)
        if alerts:
            self.sink.scores.detector = Detector()
        # A backfill's generation, written too while it is built (one projection, kept).
        self._builds = RedisProjection(redis_url, postgres_url, prefix, sections)
        self._builds.announcing = False
        self._building = False                            # a build is being written
        self._postgres_url = postgres_url
        self._rebuild = rebuild
        self._verified: str | None = None                 # the generation found good
        self._written: dict[Partition, int] = {}          # offsets this process stored

    def prepare(self, now: datetime) -> None:
        """Before anything is consumed: start or rebuild the read model (a fresh one
        must get its generation before PostgreSQL holds any event, or it looks lost)."""
        self.ensure(now)

    def write(self, items: Sequence[Item], committed: Committed, now: datetime
              ) -> WriteResult:
        self.ensure(now)
        if self._building:                  # first: a consumer resumes at the use's offsets
            self._builds.take_over(first_offsets(items))
            self._builds.write(items, committed, now)
        result = self.sink.write(items, committed, now)
        self._written.update(next_offsets(items))
        return result

    def tick(self, now: datetime) -> int:
        self.ensure(now)
        return self.sink.tick(now)

    def close(self) -> None:
        self.sink.close()
        self._builds.close()

    def ensure(self, now: datetime) -> None:
        """Return once the keys are the read model PostgreSQL vouches for: at once when
        they still are, else after starting or rebuilding it; ``ReadModelLost``
        when it is lost and rebuilding is not this process's to do."""
        try:
            if self._verified is not None and self._unchanged():
                return
            self._settle(now)
        except redis.RedisError as exc:
            self.sink.close()
            raise SinkUnavailable(f"Redis: {exc}") from exc
        except psycopg2.Error as exc:
            raise SinkUnavailable(f"PostgreSQL (read for the projection): {exc}") from exc

    def _unchanged(self) -> bool:
        """The verified generation is still there and no stored offset went back."""
        client, keys = self.sink.client(), self.sink.keys
        written = list(self._written.items())
        fields = [f"{t}:{p}" for (t, p), _ in written]
        pipe = client.pipeline(transaction=False)
        pipe.get(keys.generation)
        pipe.get(keys.building)
        if fields:
            pipe.hmget(keys.offsets, fields)
        replies = pipe.execute()
        self._follow(text(replies[1]))
        stored = replies[2] if fields else []
        behind = [field for field, (_, mine), value in zip(fields, written, stored, strict=True)
                  if int(value or -1) < mine]
        if behind:
            log.error("the Redis read model went back: the offsets of %d partitions (%s%s) "
                      "are below what this consumer stored; Redis lost writes", len(behind),
                      ", ".join(behind[:3]), ", ..." if len(behind) > 3 else "")
            self._verified = None
        return text(replies[0]) == self._verified and not behind

    def _follow(self, building: str | None) -> None:
        """Write the generation a backfill builds too, from the next batch on (or no more)."""
        if building is None or building == self._verified:
            self._building = False
            return
        if not self._building or self._builds.keys.generation_id != building:
            log.info("a backfill builds generation %s: writing it too", building)
        self._builds.retarget(building)
        self._building = True

    def _settle(self, now: datetime) -> None:
        with closing(connect(self._postgres_url)) as conn:
            judged, found = verdict(self.sink.client(), conn, self.sink.keys)
            if judged.state is State.READY and found is not None:
                self._verified = found
            elif judged.state is State.FRESH:
                self._start(conn)
            else:
                self._lost(conn, judged.detail, now)
        if self._verified:
            self.sink.retarget(self._verified)
        self._follow(text(self.sink.client().get(self.sink.keys.building)))
        self._written.clear()

    def _start(self, conn: Connection) -> None:
        """A new generation for a prefix with nothing yet."""
        keys, built = self.sink.keys, generation.new_generation()
        self.sink.mark_layout()
        generation.record(conn, keys.prefix, built)
        self.sink.client().set(keys.generation, built)
        log.info("read model under %r: generation %s (fresh)", keys.prefix, built)
        self._verified = built

    def _lost(self, conn: Connection, why: str, now: datetime) -> None:
        prefix = self.sink.keys.prefix
        if not self._rebuild:
            raise ReadModelLost(
                f"the Redis read model under prefix {prefix!r} is not the one PostgreSQL "
                f"vouches for ({why}). Rebuild it from PostgreSQL with "
                f"'{generation.REBUILD_COMMAND}' (consumers may keep running), or set "
                "INSIGHTS_REDIS_REBUILD=auto to let the consumers do it")
        log.warning("the Redis read model under %r is lost (%s): rebuilding it from "
                    "PostgreSQL", prefix, why)
        try:
            replayed = backfill.rebuild(self.sink, conn, now, _Progress().step)
        except RebuildBusy as exc:
            raise SinkUnavailable(str(exc)) from exc
        log.warning("read model under %r rebuilt from %d events", prefix, replayed)
        self._verified = generation.read_redis(self.sink.client(), self.sink.keys)[0]


def first_offsets(items: Sequence[Item]) -> dict[Partition, int]:
    """Per partition, the offset of the first record of ``items``."""
    first: dict[Partition, int] = {}
    for item in items:
        key = (item.record.topic, item.record.partition)
        first[key] = min(first.get(key, item.record.offset), item.record.offset)
    return first



def prepare_read_model(redis_url: str, postgres_url: str, prefix: str,
                       sections: Mapping[str, Sequence[str]] | None, now: datetime, *,
                       rebuild: bool) -> None:
    """Before anything is consumed, in the consumer's process: start or rebuild the
    read model (``GuardedProjection.prepare``), on connections closed afterwards."""
    guarded = GuardedProjection(redis_url, postgres_url, prefix, sections, rebuild=rebuild)
    try:
        guarded.prepare(now)
    finally:
        guarded.close()


class _Progress:
    """Logs a rebuild's progress about every 50,000 events."""

    def __init__(self) -> None:
        self.done = 0
        self._logged = 0

    def step(self, replayed: int) -> None:
        self.done += replayed
        if self.done - self._logged >= 50_000:
            self._logged = self.done
            log.info("rebuilding the read model: %d events replayed", self.done)
