"""Rebuild the Redis read model from PostgreSQL (``insights backfill``).

Events are read back from the write-through tables (their JSON as sent, with
the Kafka position the ledger recorded) and fed, in partition order, through
the same ``RedisProjection.write`` the consumer uses, so the rebuilt keys are what a
consumer would have built. Only events young enough to sit in a window (the
last ``KEEP_DAYS`` days) are replayed; afterwards every partition's watermark
and the projection's offsets are set to where PostgreSQL is, so a consumer started
next resumes exactly there.

It deletes the keys under the prefix first and may run while consumers keep
running (see ``rebuild``); the consumers run it themselves when Redis has lost
the read model (``consumers.guard``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import redis

from consumers.batch import Accepted, Item
from consumers.projection import RedisProjection
from consumers.protocol import Committed
from consumers.rollups import TouchedUsers
from consumers.scores import KEEP_DAYS
from insights.database import Connection
from insights.events import contract
from insights.events.kafka import Record
from insights.readmodel import generation

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
_LAST_OFFSETS = """SELECT topic, "partition", max("offset") FROM event_ledger GROUP BY 1, 2"""
_SINK_OFFSETS = """
SELECT topic, "partition", next_offset FROM sink_offsets WHERE sink = 'postgres'"""


def count(conn: Connection, now: datetime) -> int:
    """How many events the backfill will replay."""
    with conn.cursor() as cur:
        cur.execute(_COUNT, (now - timedelta(days=KEEP_DAYS),))
        return int(cur.fetchone()[0])  # type: ignore[index]


def stored_items(conn: Connection, now: datetime) -> Iterator[list[Item]]:
    """The replayable events as batches of items, in partition and offset order."""
    with conn.cursor(name="backfill") as cur:       # server side: 5M rows never in memory
        cur.itersize = BATCH
        cur.execute(_EVENTS, (now - timedelta(days=KEEP_DAYS),))
        batch: list[Item] = []
        for topic, partition, offset, raw in cur:
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


def rebuild(sink: RedisProjection, conn: Connection, now: datetime,
            progress: Callable[[int], None] = lambda _: None) -> int:
    """Rebuild the read model under the projection's prefix from PostgreSQL; returns how many
    events were replayed.

    Safe while consumers run: one process at a time (a lock in Redis, ``RebuildBusy``
    for the others); everything is read from one PostgreSQL snapshot, so the watermarks
    and offsets set at the end are those of exactly the events replayed, and what the
    consumers commit meanwhile is applied by them afterwards. The new generation is
    vouched for in PostgreSQL, then set in Redis only if the lock is still held; until
    then readers see no generation and answer "rebuilding".
    """
    client, keys, token = sink.client(), sink.keys, generation.new_generation()
    if not client.set(keys.rebuild_lock, token, nx=True, ex=LOCK_S):
        raise RebuildBusy(f"the read model under {keys.prefix!r} is being rebuilt by another "
                          "process")
    try:
        deleted = clear(sink, keep=frozenset({keys.rebuild_lock}))
        log.info("deleted %d keys under %r", deleted, keys.prefix)
        sink.mark_layout()
        replayed = _replay(sink, conn, now, _renewing(sink, token, progress))
        built = generation.new_generation()
        generation.record(conn, keys.prefix, built)
        if not sink.scripts().generation(keys=[keys.generation, keys.rebuild_lock],
                                         args=[token, built]):
            raise RebuildBusy("the rebuild lost its lock (Redis flushed meanwhile?): "
                              "run it again")
    except BaseException:
        _release(sink, token)
        raise
    log.info("read model under %r rebuilt from %d events: generation %s", keys.prefix,
             replayed, built)
    return replayed


def clear(sink: RedisProjection, keep: frozenset[str] = frozenset()) -> int:
    """Delete every key under the projection's prefix but ``keep``; returns how many."""
    client, deleted = sink.client(), 0
    batch: list[str] = []
    pattern = re.sub(r"([*?\[\]\\])", r"\\\1", sink.keys.prefix) + ":*"
    for key in client.scan_iter(match=pattern, count=1000):
        if key in keep:
            continue
        batch.append(key)
        if len(batch) == 1000:
            deleted += int(client.unlink(*batch))
            batch.clear()
    if batch:
        deleted += int(client.unlink(*batch))
    return deleted


def _replay(sink: RedisProjection, conn: Connection, now: datetime,
            progress: Callable[[int], None]) -> int:
    """Replay, align and re-score from one snapshot of PostgreSQL (with the alert rules
    paused: replaying history must not fire alerts for old crossings; and without
    re-scoring each batch's users, which the end does for every tracked user)."""
    detector, sink.scores.detector = sink.scores.detector, None
    sink.rescoring = False
    try:
        return _replayed(sink, conn, now, progress)
    finally:
        sink.scores.detector = detector
        sink.rescoring = True


def _replayed(sink: RedisProjection, conn: Connection, now: datetime,
              progress: Callable[[int], None]) -> int:
    conn.commit()
    conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
    try:
        replayed = 0
        for batch in stored_items(conn, now):
            sink.write(batch, Committed.everything(batch), now)
            replayed += len(batch)
            progress(len(batch))
        with conn.cursor() as cur:
            cur.execute(_LAST_OFFSETS)
            sink.align_watermarks({(t, p): o for t, p, o in cur.fetchall()})
            cur.execute(_SINK_OFFSETS)
            sink.save_offsets({(t, p): o for t, p, o in cur.fetchall()}, now)
            # users with nothing recent still count on the cards
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


def _renewing(sink: RedisProjection, token: str, progress: Callable[[int], None]
              ) -> Callable[[int], None]:
    """``progress``, renewing the lock on the way; ``RebuildBusy`` once it is lost."""
    def step(done: int) -> None:
        if not sink.client().set(sink.keys.rebuild_lock, token, xx=True, ex=LOCK_S):
            raise RebuildBusy("the rebuild lost its lock (Redis flushed meanwhile?): "
                              "run it again")
        progress(done)
    return step


def _release(sink: RedisProjection, token: str) -> None:
    """Drop the lock if it is still this rebuild's (best effort: it expires anyway)."""
    try:
        client = sink.client()
        if client.get(sink.keys.rebuild_lock) == token:
            client.delete(sink.keys.rebuild_lock)
    except redis.RedisError:
        pass
