"""Stored events summed back for a rebuild: a partition's log in chunks, grouped in PostgreSQL.

A rebuild (``consumers.backfill``) replays what the consumers applied, partition
by partition in log order, but it needs no event one by one: the day aggregates
are sums, so PostgreSQL groups each chunk of a partition's offsets (``CHUNK``
offsets) by what the formulas of ``consumers.aggregates.Increments`` tell apart
(day, path, hour, device, alert type...), with the users as lists for the
HyperLogLogs, and names the sessions the chunk touched (``consumers.snapshots``).
One query per replayer reads its whole share, sorted by partition and chunk, so
PostgreSQL's time goes to scans and hash joins, never to a probe per event.

The chunk's events are the ledger's rows young enough to sit in a window (the
last ``KEEP_DAYS`` days): the ledger's time is the event's ``ts`` (so each event
table's time column, which is the same, prunes its old months), its type the
contract's, and every table row carries the ledger's ``event_id``. A record the
durable write refused as a conflict holds a ledger row but no table row: it
counts among the chunk's events (as in ``backfill.count``), never in its sums.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from consumers.aggregates import Increments, Sum
from consumers.scores import KEEP_DAYS
from consumers.snapshots import TouchedSessions
from insights.database import Connection
from insights.events.kafka import Partition

CHUNK = 25_000         # offsets of a partition summed and applied together
FETCH = 10_000         # grouped rows per round trip
# Per sort or hash step of a replayer's query (about a dozen; a hash may take twice that,
# PostgreSQL's hash_mem_multiplier): a share of a million events sums in memory. Held to
# 64MB, or its hashes to 128MB, they spilled to disk and the rebuild ran at two thirds of
# the rate; a larger share spills rather than grow past it.
SORT_MEMORY = "128MB"

_DAY = "(l.ts AT TIME ZONE 'UTC')::date - DATE '1970-01-01'"
# Every row: (topic, partition, chunk, kind, day, text, n, a, b, users); users are ids
# joined by commas. Kinds: e events in the chunk (a: the newest one's time, microseconds
# since the epoch); s sessions (text: device, a: UTC hour,
# b: logged in); u users with a session; v views (text: path, a: load time sum, b: views
# with one); h day counts (text: the day hash's field); a alerts (text: alert type);
# o owners of touched snapshots (text: session id, or a view id when b = 0); l views of
# leaves still waiting for them (text: the view id).
_SUMS = f"""
WITH l AS MATERIALIZED (
  SELECT l.event_id, l.type, l.topic, l."partition" AS part, l."offset" / %(chunk)s AS chunk,
         {_DAY} AS day, l.ts
  FROM event_ledger l
  JOIN unnest(%(topics)s::text[], %(parts)s::int[], %(after)s::bigint[], %(upto)s::bigint[])
    AS s (topic, part, after, upto)
    ON s.topic = l.topic AND s.part = l."partition" AND l."offset" > s.after
   AND l."offset" <= s.upto
  WHERE l.ts >= %(oldest)s),
v AS MATERIALIZED (
  SELECT l.topic, l.part, l.chunk, l.day, v.path, v.load_time_ms, v.user_id, v.session_id,
         v.pageview_id
  FROM l JOIN page_views v USING (event_id)
  WHERE l.type = 'pageview' AND v.viewed_at >= %(oldest)s),
s AS MATERIALIZED (
  SELECT l.topic, l.part, l.chunk, l.day, s.device_type,
         extract(hour FROM l.ts AT TIME ZONE 'UTC')::int AS hour, s.user_id
  FROM l JOIN user_sessions s USING (event_id) WHERE l.type = 'session_start')
SELECT topic, part, chunk, 'e', 0, NULL, count(*),
       (extract(epoch FROM max(ts)) * 1000000)::bigint, 0, NULL FROM l GROUP BY 1, 2, 3
UNION ALL
SELECT topic, part, chunk, 's', day, device_type, count(*), hour, (user_id IS NOT NULL)::int,
       NULL FROM s GROUP BY 1, 2, 3, 5, 6, 8, 9
UNION ALL
SELECT topic, part, chunk, 'u', day, NULL, 0, 0, 0,
       array_to_string(array_agg(DISTINCT user_id), ',')
FROM s WHERE user_id IS NOT NULL GROUP BY 1, 2, 3, 5
UNION ALL
SELECT topic, part, chunk, 'v', day, path, count(*), coalesce(sum(load_time_ms), 0),
       count(load_time_ms), array_to_string(array_agg(DISTINCT user_id), ',')
FROM v GROUP BY 1, 2, 3, 5, 6
UNION ALL
SELECT topic, part, chunk, 'h', day, CASE type WHEN 'js_error' THEN 'je' ELSE 'pr' END,
       count(*), 0, 0, NULL
FROM l WHERE type IN ('js_error', 'password_reset') GROUP BY 1, 2, 3, 5, 6
UNION ALL
SELECT l.topic, l.part, l.chunk, 'a', l.day, a.alert_type, count(*), 0, 0, NULL
FROM l JOIN security_alerts a USING (event_id)
WHERE l.type = 'security_alert' AND a.created_at >= %(oldest)s GROUP BY 1, 2, 3, 5, 6
UNION ALL
SELECT DISTINCT * FROM (
  SELECT topic, part, chunk, 'o' AS kind, 0 AS day, coalesce(session_id, pageview_id) AS text,
         0 AS n, 0 AS a, (session_id IS NOT NULL)::int AS b, NULL AS users FROM v
  UNION ALL
  SELECT l.topic, l.part, l.chunk, 'o', 0, coalesce(v.session_id, v.pageview_id), 0, 0,
         (v.session_id IS NOT NULL)::int, NULL
  FROM l JOIN page_views v ON v.leave_event_id = l.event_id WHERE l.type = 'page_leave'
  UNION ALL
  SELECT l.topic, l.part, l.chunk, 'l', 0, w.pageview_id, 0, 0, 0, NULL
  FROM l JOIN state_events w USING (event_id)
  WHERE l.type = 'page_leave' AND w.type = 'page_leave' AND w.ts >= %(oldest)s) owners
ORDER BY 1, 2, 3"""
_PENDING = """
SELECT topic, "partition", count(*) FROM event_ledger WHERE ts >= %s GROUP BY 1, 2"""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Row = tuple[str, int, str | None, int, int, int, str | None]
"""A grouped row of a chunk: (kind, day, text, n, a, b, users); see ``_SUMS``."""


def oldest_kept(now: datetime) -> datetime:
    """The oldest event time a rebuild at ``now`` replays."""
    return now - timedelta(days=KEEP_DAYS)


def pending(conn: Connection, now: datetime) -> dict[Partition, int]:
    """Per partition, how many stored events are young enough to be replayed."""
    with conn.cursor() as cur:
        cur.execute(_PENDING, (oldest_kept(now),))
        return {(t, p): n for t, p, n in cur.fetchall()}


@dataclass
class Chunk:
    """A partition's offsets (``after``, ``upto``] of a rebuild: how many stored events
    they hold, PostgreSQL's groups of them, and the session snapshots they touch."""

    partition: Partition
    after: int
    upto: int
    events: int = 0
    newest: datetime | None = None
    rows: list[Row] = field(default_factory=list)
    touched: TouchedSessions = field(default_factory=TouchedSessions)

    def add(self, row: Row) -> None:
        """One grouped row of this chunk."""
        kind, _, text, n, a, in_session, _ = row
        if kind == "e":
            self.events += n
            self.newest = _EPOCH + timedelta(microseconds=a)
        elif kind == "o" and text is not None:
            (self.touched.sessions if in_session else self.touched.lone).add(text)
        elif kind == "l" and text is not None:
            self.touched.leaves.add(text)
        else:
            self.rows.append(row)

    def sums(self, inc: Increments) -> dict[Sum, int]:
        """What the chunk's events add to the day aggregates, by ``inc``'s formulas."""
        sums: dict[Sum, int] = {}
        for kind, day, text, n, a, b, users in self.rows:
            members = users.split(",") if users else ()
            if kind == "v":
                inc.views(sums, day, text or "", n=n, load_ms=a, loads=b, users=members)
            elif kind == "s":
                inc.sessions(sums, day, hour=a, device=text, logged_in=bool(b), n=n)
            elif kind == "u":
                inc.users(sums, day, members)
            elif kind == "h":
                inc.counted(sums, day, text or "", n)
            elif kind == "a":
                inc.alerts(sums, day, text or "", n)
        return sums


def stored_chunks(conn: Connection, now: datetime, marks: Mapping[Partition, int],
                  replayed: Mapping[Partition, int], size: int = CHUNK) -> Iterator[Chunk]:
    """The replayable events of the partitions in ``marks`` in chunks of ``size`` offsets,
    in partition and offset order: those at or below their partition's take-over mark
    and above what was replayed already (``replayed``, a run killed midway). A chunk
    starts where the partition's previous one ended, so chunks without a stored event
    in between leave no gap."""
    wanted = sorted(marks.items())
    with conn.cursor() as cur:
        # Every row is read: plan for all of them (not a cursor's first 10%) and with
        # hash joins. A nested loop, which the planner picks when it guesses few rows
        # from the offset ranges, probes every table's partitions per ledger row: minutes.
        cur.execute("SET LOCAL cursor_tuple_fraction = 1")
        cur.execute("SET LOCAL enable_nestloop = off")
        cur.execute(f"SET LOCAL work_mem = '{SORT_MEMORY}'")
    ended = {part: replayed.get(part, -1) for part, _ in wanted}
    with conn.cursor(name="backfill") as cur:       # server side: a month never in memory
        cur.itersize = FETCH
        cur.execute(_SUMS, {"chunk": size, "topics": [t for (t, _), _ in wanted],
                            "parts": [p for (_, p), _ in wanted],
                            "after": [ended[part] for part, _ in wanted],
                            "upto": [mark for _, mark in wanted], "oldest": oldest_kept(now)})
        chunk: Chunk | None = None
        for topic, part, number, *row in cur:
            if chunk is None or chunk.partition != (topic, part) or chunk.upto // size != number:
                if chunk is not None:
                    yield chunk
                    ended[chunk.partition] = chunk.upto
                chunk = Chunk((topic, part), ended[topic, part],
                              min(marks[topic, part], (number + 1) * size - 1))
            chunk.add(tuple(row))
        if chunk is not None:
            yield chunk
