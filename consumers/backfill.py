"""Rebuild the Redis read model from PostgreSQL (``insights backfill``).

Events are read back from the write-through tables (their JSON as sent, with
the Kafka position the ledger recorded) and fed, in partition order, through
the same ``RedisSink.write`` the consumer uses, so the rebuilt keys are what a
consumer would have built. Only events young enough to sit in a window (the
last ``KEEP_DAYS`` days) are replayed; afterwards every partition's watermark
and the sink's offsets are set to where PostgreSQL is, so a consumer started
next resumes exactly there.

Run it with the consumers stopped (or into a fresh ``INSIGHTS_REDIS_PREFIX``):
it deletes the keys under the prefix first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from consumers.batch import Accepted, Item
from consumers.redis import RedisSink
from consumers.rollups import Touched
from consumers.scores import KEEP_DAYS
from insights import contract
from insights.database import Connection
from insights.kafka import Record

log = logging.getLogger(__name__)
BATCH = 2000

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
    """The replayable events as batches of sink items, in partition and offset order."""
    with conn.cursor(name="backfill") as cur:       # server side: 5M rows never in memory
        cur.itersize = BATCH
        cur.execute(_EVENTS, (now - timedelta(days=KEEP_DAYS),))
        batch: list[Item] = []
        for topic, partition, offset, raw in cur:
            value = raw.encode()
            event = contract.decode(value, now=now, max_bytes=len(value) + 1, max_future_s=86400)
            if isinstance(event, contract.Invalid):   # stored once, so valid: schema drift
                log.warning("skipping %s/%d@%d: %s", topic, partition, offset, event.detail)
                continue
            batch.append(Accepted(Record(topic, partition, offset, None, value, 0), event))
            if len(batch) == BATCH:
                yield batch
                batch = []
        if batch:
            yield batch


def rebuild(sink: RedisSink, conn: Connection, now: datetime,
            progress: Callable[[int], None] = lambda _: None) -> int:
    """Delete the prefix's keys, replay the stored events, align watermarks and offsets."""
    deleted = sink.clear()
    log.info("deleted %d keys under %r", deleted, sink.keys.prefix)
    sink.mark_layout()
    replayed = 0
    for batch in stored_items(conn, now):
        sink.write(batch)
        replayed += len(batch)
        progress(len(batch))
    conn.commit()
    with conn.cursor() as cur:
        cur.execute(_LAST_OFFSETS)
        sink.align_watermarks({(t, p): o for t, p, o in cur.fetchall()})
        cur.execute(_SINK_OFFSETS)
        sink.save_offsets({(t, p): o for t, p, o in cur.fetchall()})
    conn.commit()
    with conn.cursor() as cur:      # users with nothing recent still count on the cards
        cur.execute("SELECT id FROM users WHERE upserted_at IS NOT NULL ORDER BY id")
        users = [row[0] for row in cur.fetchall()]
    conn.commit()
    for start in range(0, len(users), BATCH):    # every kept day, for every user
        sink.rescore(Touched(), now, set(users[start:start + BATCH]), full=True)
    sink.tick(now)
    return replayed
