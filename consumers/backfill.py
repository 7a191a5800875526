"""Rebuild the Redis read model from PostgreSQL into a new generation (``insights backfill``).

The stored events are summed back from the write-through tables, chunk by chunk
of each partition's log, in PostgreSQL (``consumers.stored``), and applied by
``RedisProjection.replay`` through the formulas and scripts the consumer uses,
so the rebuilt keys are what a consumer would have built; several processes may
share the partitions (``consumers.replayers``).

Online: the new generation is built beside the one in use (``Keys.building``),
which readers and consumers keep using meanwhile. Per partition, the offsets
are split at a *take-over* mark (``RedisProjection.take_over``, the first to set
it wins): the rebuild replays what PostgreSQL holds up to the mark, and the
consumers, which write the building generation too as soon as they see it,
apply what comes after (it is above the generation's watermarks, which start at
the mark). The two never apply the same event: the rebuild's increments go by
watermarks of their own (``Keys.replayed``). Once everything up to the marks is
replayed and every user re-scored, PostgreSQL vouches for the new generation,
readers and consumers switch to it in one step (``generation.lua``), and the old
one is dropped a moment later. Killed midway, the next run finds the building
generation and continues it.

The consumers run it themselves when Redis has lost the read model
(``consumers.guard``); they wait meanwhile, as there is nothing to serve.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import psycopg2
import redis

from consumers import replayers
from consumers.lease import Lease, RebuildBusy
from consumers.projection import RedisProjection
from consumers.replayers import Share
from consumers.rollups import TouchedUsers
from consumers.stored import oldest_kept, pending
from insights.database import Connection
from insights.events.kafka import Partition
from insights.readmodel import generation
from insights.readmodel.keys import Keys
from insights.readmodel.leftovers import drop, sweep
from insights.readmodel.redisdb import text
from scoring.windows import day_number

log = logging.getLogger(__name__)
BATCH = 10_000       # users re-scored per call

_COUNT = """
SELECT count(*), count(*) FILTER (WHERE l."offset" <= r.done) FROM event_ledger l
LEFT JOIN unnest(%s::text[], %s::int[], %s::bigint[]) AS r (topic, part, done)
  ON r.topic = l.topic AND r.part = l."partition"
WHERE l.ts >= %s"""
_SINK_OFFSETS = """
SELECT topic, "partition", next_offset FROM sink_offsets WHERE sink = 'postgres'"""


def count(conn: Connection, now: datetime, replayed: Mapping[Partition, int] | None = None
          ) -> tuple[int, int]:
    """(events a backfill replays, how many of them an interrupted one replayed already:
    ``replayed``, ``replayed_before``'s answer)."""
    done = sorted((replayed or {}).items())
    with conn.cursor() as cur:
        cur.execute(_COUNT, ([t for (t, _), _ in done], [p for (_, p), _ in done],
                             [o for _, o in done], oldest_kept(now)))
        total, before = cur.fetchone()  # type: ignore[misc]
    return int(total), int(before)


def replayed_before(client: Any, keys: Keys) -> dict[Partition, int]:
    """Per partition, how far an interrupted backfill replayed the generation it was
    building ({} when none is being built): the next run continues from there."""
    building = text(client.get(keys.building))
    if building is None:
        return {}
    return {_partition(f): int(o) for f, o in client.hgetall(keys.at(building).replayed).items()}


GRACE_S = 2.0      # how long the old generation outlives the switch (readers finishing)


def rebuild(sink: RedisProjection, conn: Connection, now: datetime,
            progress: Callable[[int], None] = lambda _: None, *, wait_s: float = 0,
            clock: Callable[[], datetime] | None = None, workers: int = 1,
            grace_s: float = GRACE_S) -> int:
    """Build the read model under the projection's prefix from PostgreSQL into a new
    generation (or continue the one being built) and switch to it; returns how many
    events were replayed. One process at a time (``consumers.lease``: waited for up to
    ``wait_s`` seconds, else ``RebuildBusy``). ``now`` is the replay's time (what is
    young enough to replay); ``clock`` gives the time of the re-scoring at the end
    (default: ``now``); ``workers`` processes replay (``consumers.replayers``; 1: this
    one); the old generation is dropped ``grace_s`` seconds after the switch. See the
    module docstring."""
    client, keys = sink.client(), Keys(sink.keys.prefix)
    lease = Lease(client, sink.scripts(), keys, generation.new_generation(), wait_s)
    announcing = sink.announcing
    try:
        with replayers.Replayers(sink, workers) as pool:   # processes start while we prepare
            used, target = _target(client, keys)
            sink.retarget(target)
            sink.announcing = False
            log.info("building generation %s of the read model under %r (in use: %s); "
                     "dropped %d stale keys", target, keys.prefix, used or "none",
                     sweep(client, keys, {used, target}, lease.check))
            sink.mark_layout()
            replayed = _replay(sink, conn, now, clock or (lambda: now),
                               progress=lease.checking(progress), pool=pool)
        _switch(sink, conn, lease, target)
    except BaseException:
        lease.release()
        raise
    finally:
        lease.end()
        sink.announcing = announcing
    try:
        _retire(sink, used, grace_s)
    except KeyboardInterrupt:       # switched already: what is left is the next one's sweep
        log.warning("interrupted after the switch: the old generation is left to the next "
                    "backfill's sweep")
    log.info("read model under %r rebuilt from %d events: generation %s", keys.prefix,
             replayed, target)
    return replayed


def _retire(sink: RedisProjection, used: str | None, grace_s: float) -> None:
    """After the switch: the old generation dropped once readers are done with it, and the
    rebuild's own marks."""
    client = sink.client()
    if used:
        time.sleep(grace_s)
        drop(client, Keys(sink.keys.prefix).at(used))
    client.delete(sink.keys.replayed, sink.keys.taken)


def _target(client: Any, keys: Keys) -> tuple[str | None, str]:
    """(the generation in use, the one to build): the one a killed run was building, or
    a new one, announced to the consumers (``Keys.building``)."""
    used, building = (text(v) for v in client.mget([keys.generation, keys.building]))
    if building is None or building == used:
        building = generation.new_generation()
        client.set(keys.building, building)
    return used, building


def _switch(sink: RedisProjection, conn: Connection, lease: Lease, target: str) -> None:
    """PostgreSQL vouches for ``target``, then Redis names it the one in use (only while
    the lease holds and ``target`` is still the generation being built); on any failure
    PostgreSQL vouches again for whatever Redis names. The web app then hears of it."""
    keys = Keys(sink.keys.prefix)
    lease.check()
    generation.record(conn, keys.prefix, target)
    try:
        switched = sink.scripts().generation(
            keys=[keys.generation, keys.rebuild_lock, keys.building], args=[lease.token, target])
    except BaseException:
        _vouch_for_redis(sink, conn)
        raise
    if not switched:
        _vouch_for_redis(sink, conn)
        raise RebuildBusy("the rebuild lost its lock, or its generation (Redis flushed, or "
                          "the read model condemned, meanwhile?): run it again")
    sink.client().publish(keys.changes, '{"users": null}')


def _vouch_for_redis(sink: RedisProjection, conn: Connection) -> None:
    """PostgreSQL vouches for the generation Redis names in use (none: nothing to do)."""
    try:
        keys = Keys(sink.keys.prefix)
        used = text(sink.client().get(keys.generation))
        if used is not None:
            generation.record(conn, keys.prefix, used)
    except (redis.RedisError, psycopg2.Error) as exc:
        log.error("after a failed switch, PostgreSQL could not be set back to the generation "
                  "in use (%s): run 'insights backfill' again", exc)


def _replay(sink: RedisProjection, conn: Connection, now: datetime,
            clock: Callable[[], datetime], *, progress: Callable[[int], None],
            pool: replayers.Replayers) -> int:
    """Replay, take over and re-score from one snapshot of PostgreSQL (with the alert
    rules paused: the consumers detect on the generation in use; the replay re-scores
    nobody, the end does it for every tracked user)."""
    detector, sink.scores.detector = sink.scores.detector, None
    try:
        replayed, users, marks = _replayed(sink, conn, now, progress, pool)
    finally:
        sink.scores.detector = detector
    later = max(clock(), now)
    sink.save_offsets({part: mark + 1 for part, mark in marks.items()}, later)
    for start in range(0, len(users), BATCH):    # every kept day, for every user
        sink.rescore(TouchedUsers(), later, set(users[start:start + BATCH]), full=True)
        progress(0)
    sink.client().set(sink.keys.rolled, str(day_number(later.date())))  # all re-scored
    sink.tick(later)
    return replayed


def _replayed(sink: RedisProjection, conn: Connection, now: datetime,
              progress: Callable[[int], None], pool: replayers.Replayers
              ) -> tuple[int, list[int], dict[Partition, int]]:
    """(events replayed, every tracked user, the take-over marks), from one snapshot of
    PostgreSQL."""
    conn.commit()
    conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
    try:
        with conn.cursor() as cur:    # the snapshot starts here
            cur.execute(_SINK_OFFSETS)
            stored = {(t, p): o for t, p, o in cur.fetchall()}
        marks = sink.take_over(stored)
        done = replayed_before(sink.client(), Keys(sink.keys.prefix))
        shares = replayers.deal(pending(conn, now), marks, pool.workers)
        snapshot = ""
        if len(shares) > 1:
            with conn.cursor() as cur:      # the other replayers read this very snapshot
                cur.execute("SELECT pg_export_snapshot()")
                snapshot = cur.fetchone()[0]  # type: ignore[index]
        replayed = pool.run(sink, conn, [
            Share(snapshot, sink.keys.generation_id, now, share, done) for share in shares],
            progress)
        with conn.cursor() as cur:    # users with nothing recent still count on the cards
            cur.execute("SELECT id FROM users WHERE upserted_at IS NOT NULL ORDER BY id")
            return replayed, [row[0] for row in cur.fetchall()], marks
    finally:
        if not conn.closed:      # a Ctrl-C in a query closes it (insights.database)
            conn.commit()
            conn.set_session(isolation_level="DEFAULT", readonly=False)


def _partition(field: str | bytes) -> Partition:
    topic, _, partition = (text(field) or "").rpartition(":")
    return topic, int(partition)

