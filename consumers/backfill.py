"""Rebuild the Redis read model from PostgreSQL into a new generation (``insights backfill``).

Events are read back from the write-through tables (their JSON as sent, with
the Kafka position the ledger recorded) and fed, in partition order, through
the same ``RedisProjection.write`` the consumer uses, so the rebuilt keys are what a
consumer would have built. Only events young enough to sit in a window (the
last ``KEEP_DAYS`` days) are replayed.

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
import re
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

import redis

from consumers.batch import Accepted, Item
from consumers.projection import RedisProjection
from consumers.protocol import Committed
from consumers.rollups import TouchedUsers
from consumers.scores import KEEP_DAYS
from insights.database import Connection
from insights.events import contract
from insights.events.kafka import Partition, Record
from insights.readmodel import generation
from insights.readmodel.keys import Keys

log = logging.getLogger(__name__)
BATCH = 10_000       # events replayed per projection write (and users re-scored per call)

_RAW = """
SELECT event_id, raw::text FROM user_sessions UNION ALL
SELECT event_id, raw::text FROM page_views UNION ALL
SELECT leave_event_id, leave_raw::text FROM page_views WHERE leave_event_id IS NOT NULL
UNION ALL SELECT event_id, raw::text FROM js_errors UNION ALL
SELECT event_id, raw::text FROM security_alerts UNION ALL
SELECT event_id, raw::text FROM email_logs UNION ALL
SELECT event_id, raw::text FROM search_queries UNION ALL
SELECT event_id, raw::text FROM conversion_events UNION ALL
SELECT event_id, raw::text FROM state_events"""
_EVENTS = f"""
SELECT l.topic, l."partition", l."offset", r.raw FROM event_ledger l
JOIN ({_RAW}) r USING (event_id)
WHERE l.ts >= %s ORDER BY l.topic, l."partition", l."offset" """
_COUNT = "SELECT count(*) FROM event_ledger WHERE ts >= %s"
_SINK_OFFSETS = """
SELECT topic, "partition", next_offset FROM sink_offsets WHERE sink = 'postgres'"""


def count(conn: Connection, now: datetime) -> int:
    """How many events the backfill will replay."""
    with conn.cursor() as cur:
        cur.execute(_COUNT, (now - timedelta(days=KEEP_DAYS),))
        return int(cur.fetchone()[0])  # type: ignore[index]


def stored_items(conn: Connection, now: datetime, marks: Mapping[Partition, int],
                 replayed: Mapping[Partition, int]) -> Iterator[list[Item]]:
    """The replayable events as batches of items, in partition and offset order: those at
    or below their partition's take-over mark (``marks``) and above what was replayed
    already (``replayed``, a run killed midway)."""
    with conn.cursor(name="backfill") as cur:       # server side: 5M rows never in memory
        cur.itersize = BATCH
        cur.execute(_EVENTS, (now - timedelta(days=KEEP_DAYS),))
        batch: list[Item] = []
        for topic, partition, offset, raw in cur:
            if not replayed.get((topic, partition), -1) < offset <= marks.get(
                    (topic, partition), -1):
                continue
            value = raw.encode()
            event = _stored_event(value, now)
            if isinstance(event, contract.Invalid):   # stored once, so valid: schema drift
                log.warning("skipping %s/%d@%d: %s", topic, partition, offset, event.detail)
                continue
            batch.append(Accepted(Record(topic, partition, offset, None, value, 0), event))
            if len(batch) == BATCH:
                yield batch
                batch = []
        if batch:
            yield batch


def _stored_event(value: bytes, now: datetime) -> contract.Event | contract.Invalid:
    """A stored event's JSON (kept as sent, in a ``json`` column) decoded again: the
    whole-message checks passed when it was stored, so only the typed decoding runs, and
    the full ``decode`` only for a value that does not decode so (schema drift)."""
    try:
        return contract.decode_accepted(value)
    except Exception:         # judged in full below, with the reason
        return contract.decode(value, now=now, max_bytes=len(value) + 1, max_future_s=86400)


class RebuildBusy(RuntimeError):
    """Another process is rebuilding the read model under this prefix (or the rebuild
    lost its lock to one, after Redis was flushed while it ran)."""


LOCK_S = 60        # the rebuild lock's expiry, renewed at every replayed batch
GRACE_S = 2.0      # how long the old generation outlives the switch (readers finishing)


def rebuild(sink: RedisProjection, conn: Connection, now: datetime,
            progress: Callable[[int], None] = lambda _: None, *, wait_s: float = 0) -> int:
    """Build the read model under the projection's prefix from PostgreSQL into a new
    generation (or continue the one being built) and switch to it; returns how many
    events were replayed. One process at a time: a lock in Redis, waited for up to
    ``wait_s`` seconds, else ``RebuildBusy``. See the module docstring."""
    client, keys, token = sink.client(), Keys(sink.keys.prefix), generation.new_generation()
    _lock(client, keys, token, wait_s)
    announcing = sink.announcing
    try:
        used, target = _target(client, keys)
        sink.retarget(target)
        sink.announcing = False
        log.info("building generation %s of the read model under %r (in use: %s); "
                 "dropped %d stale keys", target, keys.prefix, used or "none",
                 sweep(client, keys, keep={used, target}))
        sink.mark_layout()
        replayed = _replay(sink, conn, now, _renewing(sink, token, progress))
        _switch(sink, conn, token, target)
    except BaseException:
        _release(sink, token)
        raise
    finally:
        sink.announcing = announcing
    if used:
        time.sleep(GRACE_S)
        sweep(client, keys, keep={target})
    client.delete(sink.keys.replayed)
    log.info("read model under %r rebuilt from %d events: generation %s", keys.prefix,
             replayed, target)
    return replayed


def _lock(client: Any, keys: Keys, token: str, wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    while not client.set(keys.rebuild_lock, token, nx=True, ex=LOCK_S):
        if time.monotonic() >= deadline:
            raise RebuildBusy(f"the read model under {keys.prefix!r} is being rebuilt by "
                              "another process (a killed one's lock expires within "
                              f"{LOCK_S} s)")
        time.sleep(0.5)


def _target(client: Any, keys: Keys) -> tuple[str | None, str]:
    """(the generation in use, the one to build): the one a killed run was building, or
    a new one, announced to the consumers (``Keys.building``)."""
    used, building = (_text(v) for v in client.mget([keys.generation, keys.building]))
    if building is None or building == used:
        building = generation.new_generation()
        client.set(keys.building, building)
    return used, building


def _switch(sink: RedisProjection, conn: Connection, token: str, target: str) -> None:
    """PostgreSQL vouches for ``target``, then Redis names it the one in use."""
    keys = Keys(sink.keys.prefix)
    generation.record(conn, keys.prefix, target)
    if not sink.scripts().generation(keys=[keys.generation, keys.rebuild_lock, keys.building],
                                     args=[token, target]):
        raise RebuildBusy("the rebuild lost its lock (Redis flushed meanwhile?): run it again")


def sweep(client: Any, keys: Keys, keep: set[str | None]) -> int:
    """Delete the read model's keys under ``keys.prefix`` but those of the generations in
    ``keep`` (and of an older layout's); returns how many."""
    return _unlink(client, (key for key in _scan(client, keys.prefix)
                            if stale(key, keys, keep)))


def stale(key: str, keys: Keys, keep: set[str | None]) -> bool:
    """Whether ``key`` (under ``keys.prefix``) is read-model data of a generation not in
    ``keep``, or of a layout before generations; the prefix's own keys are not."""
    segment = key[len(keys.prefix) + 1:].split(":", 1)[0]
    if segment.startswith("{"):       # under the prefix itself: layout 2's or not the model
        return segment[1:2] in "uegr" or key in (keys.older_offsets,
                                                 f"{keys.prefix}:{{o}}:freshness")
    return segment not in keep


def clear(sink: RedisProjection) -> int:
    """Delete every key under the projection's prefix; returns how many."""
    client = sink.client()
    return _unlink(client, _scan(client, sink.keys.prefix))


def _scan(client: Any, prefix: str) -> Iterator[str]:
    pattern = re.sub(r"([*?\[\]\\])", r"\\\1", prefix) + ":*"
    for key in client.scan_iter(match=pattern, count=1000):
        yield _text(key) or ""


def _unlink(client: Any, keys: Iterator[str]) -> int:
    deleted, batch = 0, []
    for key in keys:
        batch.append(key)
        if len(batch) == 1000:
            deleted += int(client.unlink(*batch))
            batch.clear()
    if batch:
        deleted += int(client.unlink(*batch))
    return deleted


def _replay(sink: RedisProjection, conn: Connection, now: datetime,
            progress: Callable[[int], None]) -> int:
    """Replay, take over and re-score from one snapshot of PostgreSQL (with the alert
    rules paused: the consumers detect on the generation in use; and without
    re-scoring each batch's users, which the end does for every tracked user)."""
    detector, sink.scores.detector = sink.scores.detector, None
    sink.replaying = True
    try:
        return _replayed(sink, conn, now, progress)
    finally:
        sink.scores.detector = detector
        sink.replaying = False


def _replayed(sink: RedisProjection, conn: Connection, now: datetime,
              progress: Callable[[int], None]) -> int:
    conn.commit()
    conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
    try:
        with conn.cursor() as cur:    # the snapshot starts here
            cur.execute(_SINK_OFFSETS)
            stored = {(t, p): o for t, p, o in cur.fetchall()}
        marks = sink.take_over(stored)
        done = {_partition(f): int(o) for f, o in sink.client().hgetall(
            sink.keys.replayed).items()}
        replayed = 0
        for batch in stored_items(conn, now, marks, done):
            sink.write(batch, Committed.everything(batch), now)
            replayed += len(batch)
            progress(len(batch))
        sink.save_offsets({part: mark + 1 for part, mark in marks.items()}, now)
        with conn.cursor() as cur:    # users with nothing recent still count on the cards
            cur.execute("SELECT id FROM users WHERE upserted_at IS NOT NULL ORDER BY id")
            users = [row[0] for row in cur.fetchall()]
    finally:
        conn.commit()
        conn.set_session(isolation_level="DEFAULT", readonly=False)
    for start in range(0, len(users), BATCH):    # every kept day, for every user
        sink.rescore(TouchedUsers(), now, set(users[start:start + BATCH]), full=True)
        progress(0)
    sink.tick(now)
    return replayed


def _partition(field: str | bytes) -> Partition:
    topic, _, partition = (_text(field) or "").rpartition(":")
    return topic, int(partition)


def _text(value: str | bytes | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _renewing(sink: RedisProjection, token: str, progress: Callable[[int], None]
              ) -> Callable[[int], None]:
    """``progress``, renewing the lock on the way; ``RebuildBusy`` once it is lost."""
    lock = Keys(sink.keys.prefix).rebuild_lock

    def step(done: int) -> None:
        if not sink.client().set(lock, token, xx=True, ex=LOCK_S):
            raise RebuildBusy("the rebuild lost its lock (Redis flushed meanwhile?): "
                              "run it again")
        progress(done)
    return step


def _release(sink: RedisProjection, token: str) -> None:
    """Drop the lock if it is still this rebuild's (best effort: it expires anyway)."""
    try:
        client, lock = sink.client(), Keys(sink.keys.prefix).rebuild_lock
        if _text(client.get(lock)) == token:
            client.delete(lock)
    except redis.RedisError:
        pass
