"""Stored events read back for a rebuild: the write-through tables' JSON, in log order.

Each event's JSON is kept as sent (a ``json`` column) beside the Kafka position
the ledger recorded, so a rebuild (``consumers.backfill``) replays what the
consumers applied, partition by partition in offset order. Only events young
enough to sit in a window (the last ``KEEP_DAYS`` days) are read.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta

from consumers.batch import Accepted, Item
from consumers.scores import KEEP_DAYS
from insights.database import Connection
from insights.events import contract
from insights.events.kafka import Partition, Record

log = logging.getLogger(__name__)
BATCH = 10_000         # events per batch handed to the projection
SORT_MEMORY = "128MB"  # per replayer: a month of events sorts in memory, not on disk

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
# The offsets wanted per partition (after, up to] are joined in, so only they are read.
_EVENTS = f"""
SELECT l.topic, l."partition", l."offset", r.raw FROM event_ledger l
JOIN unnest(%s::text[], %s::int[], %s::bigint[], %s::bigint[]) AS s (topic, part, after, upto)
  ON s.topic = l.topic AND s.part = l."partition" AND l."offset" > s.after
 AND l."offset" <= s.upto
JOIN ({_RAW}) r USING (event_id)
WHERE l.ts >= %s ORDER BY l.topic, l."partition", l."offset" """
_PENDING = """
SELECT topic, "partition", count(*) FROM event_ledger WHERE ts >= %s GROUP BY 1, 2"""


def oldest_kept(now: datetime) -> datetime:
    """The oldest event time a rebuild at ``now`` replays."""
    return now - timedelta(days=KEEP_DAYS)


def pending(conn: Connection, now: datetime) -> dict[Partition, int]:
    """Per partition, how many stored events are young enough to be replayed."""
    with conn.cursor() as cur:
        cur.execute(_PENDING, (oldest_kept(now),))
        return {(t, p): n for t, p, n in cur.fetchall()}


def stored_items(conn: Connection, now: datetime, marks: Mapping[Partition, int],
                 replayed: Mapping[Partition, int]) -> Iterator[list[Item]]:
    """The replayable events of the partitions in ``marks`` as batches of items, in
    partition and offset order: those at or below their partition's take-over mark and
    above what was replayed already (``replayed``, a run killed midway)."""
    wanted = sorted(marks.items())
    with conn.cursor() as cur:
        # Every row is read: plan for all of them (not a cursor's first 10%) and with
        # hash joins. A nested loop, which the planner picks when it guesses few rows
        # from the offset ranges, probes every table's partitions per ledger row: minutes.
        cur.execute("SET LOCAL cursor_tuple_fraction = 1")
        cur.execute("SET LOCAL enable_nestloop = off")
        cur.execute(f"SET LOCAL work_mem = '{SORT_MEMORY}'")
    with conn.cursor(name="backfill") as cur:       # server side: 5M rows never in memory
        cur.itersize = BATCH
        cur.execute(_EVENTS, ([t for (t, _), _ in wanted], [p for (_, p), _ in wanted],
                              [replayed.get(part, -1) for part, _ in wanted],
                              [mark for _, mark in wanted], oldest_kept(now)))
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
