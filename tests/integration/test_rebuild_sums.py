"""A rebuild's chunks, summed in PostgreSQL, add what the consumer's formulas add event by event.

``consumers.stored`` groups a partition's stored events in SQL and hands the
groups to the same ``Increments`` formulas the consumer applies to each event.
Over a realistic history with the awkward cases added (conflicting sessions and
views, views without a user, a session or a load time, leaves before their
views, events too old to replay), the chunks' sums must equal the events' sums
decoded one by one from the JSON the tables keep, chunk bounds must tile each
partition, and the touched snapshots must be the events' own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from contextlib import closing
from datetime import UTC, datetime, timedelta

from consumers.aggregates import Increments, flat, merged
from consumers.pipeline import Pipeline
from consumers.snapshots import TouchedSessions, resolve_leaves, touched_sessions
from consumers.stored import Chunk, oldest_kept, stored_chunks
from harness.factories import event
from insights.database import Connection, connect
from insights.events import contract
from insights.events.kafka import Partition
from insights.events.producer import Emitter
from insights.readmodel.keys import Keys
from insights.settings import Settings
from scoring.pages import DEFAULT_SECTIONS
from scoring.windows import day_number
from tests.read_model import simulate, wait_ingested

Named = dict[tuple[str, str, str, int, str | None], int]
Stored = list[tuple[Partition, int, contract.Event]]

# Every stored event's JSON as the consumer decoded it, in log order (what rebuilds
# replayed one by one before they summed in SQL).
_EVENTS = """
SELECT l.topic, l."partition", l."offset", r.raw FROM event_ledger l JOIN (
  SELECT event_id, raw::text FROM user_sessions UNION ALL
  SELECT event_id, raw::text FROM page_views UNION ALL
  SELECT leave_event_id, leave_raw::text FROM page_views WHERE leave_event_id IS NOT NULL
  UNION ALL SELECT event_id, raw::text FROM js_errors UNION ALL
  SELECT event_id, raw::text FROM security_alerts UNION ALL
  SELECT event_id, raw::text FROM email_logs UNION ALL
  SELECT event_id, raw::text FROM search_queries UNION ALL
  SELECT event_id, raw::text FROM conversion_events UNION ALL
  SELECT event_id, raw::text FROM state_events) r USING (event_id)
WHERE l.ts >= %s ORDER BY 1, 2, 3"""


def _awkward(emitter: Emitter, now: datetime) -> int:
    """The cases a realistic history rarely holds; returns how many events."""
    t = now - timedelta(hours=3)
    bodies = [
        event("session_start", t, session_id="odd-1", user_id=None, device_type=None),
        event("session_start", t, session_id="odd-1", user_id=5),      # conflict: not applied
        event("pageview", t, pageview_id="odd-v1", session_id="odd-1", user_id=None,
              load_time_ms=None, path="/forum/topic"),
        event("pageview", t, pageview_id="odd-v1", session_id="odd-1", user_id=5),  # conflict
        event("pageview", t, pageview_id="odd-lone", session_id=None, user_id=6,
              load_time_ms=0, path="/jobs/9"),
        event("page_leave", t, pageview_id="odd-late", session_id="odd-1"),   # before its view
        event("pageview", t + timedelta(seconds=5), pageview_id="odd-late", session_id="odd-1",
              user_id=6, path="/"),
        event("page_leave", t, pageview_id="odd-never", session_id="odd-2"),  # no view ever
        event("security_alert", t, alert_type="account_locked", user_email="a@example.com"),
        event("security_alert", t, alert_type="suspicious_ip", user_email="a@example.com"),
        event("password_reset", t, user_id=6),
        event("js_error", t, session_id="odd-1", user_id=None),
        event("pageview", now - timedelta(days=70), pageview_id="odd-old", path="/old"),
    ]
    for body in bodies:
        emitter.emit(body)
    emitter.flush()
    return len(bodies)


def _stored(conn: Connection, now: datetime) -> tuple[Stored, dict[Partition, int]]:
    """(every replayable stored event with its position, a take-over mark per partition:
    past its last stored offset, as where records the durable write refused come last)."""
    with conn.cursor() as cur:
        cur.execute(_EVENTS, (oldest_kept(now),))
        found = [((t, p), o, contract.decode_accepted(raw.encode()))
                 for t, p, o, raw in cur.fetchall()]
        cur.execute('SELECT topic, "partition", max("offset") FROM event_ledger GROUP BY 1, 2')
        return found, {(t, p): o + 3 for t, p, o in cur.fetchall()}


def _named(inc: Increments, ops: str) -> Named:
    """``aggregate.lua``'s flat ops by key name (the KEYS indexes differ per batch)."""
    name = {i + 3: n for i, n in enumerate(inc.names)}
    values = json.loads(ops)
    return {(kind, name[key], member, day, name.get(window)): amount
            for kind, key, member, amount, day, window in zip(*[iter(values)] * 6, strict=True)}


def _one_by_one(events: list[contract.Event]) -> Named:
    inc = Increments(Keys("t", "g"), DEFAULT_SECTIONS)
    return _named(inc, merged(inc, events))


def _chunked(chunks: list[Chunk]) -> Named:
    total: Named = {}
    for chunk in chunks:
        inc = Increments(Keys("t", "g"), DEFAULT_SECTIONS)
        for key, amount in _named(inc, flat(chunk.sums(inc))).items():
            total[key] = total.get(key, 0) + amount
    return total


def _touched(conn: Connection, t: TouchedSessions) -> tuple[set[str], set[str]]:
    resolve_leaves(conn, t)
    return t.sessions, t.lone


def _assert_chunked(chunks: list[Chunk], stored: Stored, marks: Mapping[Partition, int],
                    replayed: Mapping[Partition, int]) -> None:
    """Per partition with events to replay, the chunks run on from where the replay was
    to its last event, within the mark (a partition of events too old has none); each
    chunk sums exactly its own events (offsets in (after, upto]) and knows the newest."""
    for part, mark in marks.items():
        events = [(o, e) for p, o, e in stored if p == part and o > replayed.get(part, -1)]
        own = [c for c in chunks if c.partition == part]
        assert bool(own) == bool(events), part
        if not own:
            continue
        assert own[0].after == replayed.get(part, -1)
        assert [c.after for c in own[1:]] == [c.upto for c in own[:-1]]
        assert max(o for o, _ in events) <= own[-1].upto <= mark
        for chunk in own:
            mine = [e for o, e in events if chunk.after < o <= chunk.upto]
            assert _chunked([chunk]) == _one_by_one(mine), (part, chunk.after, chunk.upto)
            if mine:        # a chunk of refused conflicts alone has events but no sums
                assert chunk.newest == max(e.ts for e in mine)


def test_chunk_sums_equal_the_events_summed_one_by_one(
        settings: Settings, emitter: Emitter, run_pipeline: Callable[[Settings], Pipeline]
) -> None:
    now = datetime.now(UTC)
    sent = simulate(emitter, now, users=40, days=12, seed=23) + _awkward(emitter, now)
    run_pipeline(settings)
    wait_ingested(settings, sent)
    with closing(connect(settings.postgres_url or "")) as conn:
        stored, marks = _stored(conn, now)
        chunks = list(stored_chunks(conn, now, marks, {}, size=97))
        conn.commit()
        assert len(chunks) > 2 * len(marks)
        _assert_chunked(chunks, stored, marks, {})
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM event_ledger WHERE ts >= %s", (oldest_kept(now),))
            assert sum(c.events for c in chunks) == cur.fetchone()[0]  # type: ignore[index]
        events = [e for _, _, e in stored]
        want = _one_by_one(events)
        day = Keys("t", "g").day(day_number((now - timedelta(hours=3)).date()))
        assert want[("h", day, "fl", 0, None)] >= 1             # the awkward cases are in
        assert {m for _, _, m, _, _ in want} >= {"/forum/topic", "/jobs/9"}
        assert "/old" not in {m for _, _, m, _, _ in want}      # too old to replay
        assert _chunked(chunks) == want
        got = TouchedSessions()
        for chunk in chunks:
            got.sessions |= chunk.touched.sessions
            got.lone |= chunk.touched.lone
            got.leaves |= chunk.touched.leaves
        assert _touched(conn, got) == _touched(conn, touched_sessions(events))
        assert "odd-lone" in got.lone and "odd-1" in got.sessions

        # A run killed midway continues after what it replayed: the rest, and only it.
        replayed = {part: mark // 2 for part, mark in marks.items()}
        rest = list(stored_chunks(conn, now, marks, replayed, size=97))
        conn.commit()
        _assert_chunked(rest, stored, marks, replayed)
        assert _chunked(rest) == _one_by_one(
            [e for part, offset, e in stored if offset > replayed[part]])

