"""The event tables' side of the durable write: a batch's rows, the state changes its
events fold into, and its dead letters, written inside the durable write's transaction
(``consumers.durable``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg2

from consumers import rows
from consumers.batch import Accepted, Rejected
from consumers.copy import Json, encode
from consumers.rows import Row
from insights.database import array_literal, storable_text
from insights.events.contract import Event, PageLeave, PageView, SessionStart

Cursor = psycopg2.extensions.cursor


def copy_rows(cur: Cursor, table: str, columns: Sequence[str], data: Sequence[Row]) -> None:
    """COPY ``data`` into ``table`` (nothing when empty)."""
    if data:
        quoted = ", ".join(f'"{c}"' for c in columns)
        cur.copy_expert(f"COPY {table} ({quoted}) FROM STDIN", encode(data))


def insert_events(cur: Cursor, applied: Sequence[Accepted]) -> None:
    """Copy each event's row; sessions and views carry the ends and leaves known so far.

    A page_leave is stored on its view's row; it waits in ``state_events`` only
    while its view has not arrived.
    """
    pairs = [(a.event, a.record.value) for a in applied]
    events = [e for e, _ in pairs]
    ends = rows.session_ends(events)
    ends |= _pending(cur, _PENDING_ENDS, [e.session_id for e in events
                                          if isinstance(e, SessionStart)
                                          and e.session_id not in ends])
    viewed = {e.pageview_id for e in events if isinstance(e, PageView)}
    leaves = rows.page_leaves(pairs)
    folded = {pid: leave for pid, leave in leaves.items() if pid in viewed}
    folded |= {pid: (*leave[:3], Json(leave[3].encode())) for pid, leave in _pending(
        cur, _PENDING_LEAVES, [pid for pid in viewed if pid not in folded]).items()}
    late = {pid: leave for pid, leave in leaves.items() if pid not in viewed}
    updated = _update_late_leaves(cur, late)      # once: one COPY and one UPDATE per batch
    kept = {leave[2] for pid, leave in leaves.items() if pid in viewed or pid in updated}
    by_table: dict[str, list[Row]] = {}
    for event, raw in pairs:
        if not (isinstance(event, PageLeave) and event.event_id in kept):
            table, row = rows.table_row(event, raw, ends, folded)
            by_table.setdefault(table, []).append(row)
    for table, data in by_table.items():
        copy_rows(cur, table, rows.COLUMNS[table], data)


def claim_views(cur: Cursor, applied: Sequence[Event]) -> None:
    """Hold each stored view's id in ``pageview_ids``: the one place ``pageview_id`` is
    unique (``page_views`` is partitioned by month and cannot be). ``_conflicts`` found
    none stored; a concurrent batch that claimed one first fails this one (a unique
    violation), whose retry then finds the claim."""
    copy_rows(cur, "pageview_ids", ("pageview_id", "viewed_at"),
              [(e.pageview_id, e.ts) for e in applied if isinstance(e, PageView)])


def _update_late_leaves(cur: Cursor, late: dict[str, rows.Leave]) -> set[str]:
    """Put leaves on views stored by earlier batches; returns the views updated."""
    if not late:
        return set()
    copy_rows(cur, "tmp_page_leaves", ("pageview_id", "time_on_page_seconds",
                                   "scroll_depth_percent", "leave_event_id", "leave_raw"),
          [(pid, *leave) for pid, leave in late.items()])
    cur.execute("UPDATE page_views v SET time_on_page_seconds = t.time_on_page_seconds,"
                " scroll_depth_percent = t.scroll_depth_percent,"
                " leave_event_id = t.leave_event_id, leave_raw = t.leave_raw"
                " FROM tmp_page_leaves t WHERE v.pageview_id = t.pageview_id"
                " RETURNING v.pageview_id")
    return {row[0] for row in cur.fetchall()}


# Ends and leaves that arrived in an earlier batch than their session or view.
_PENDING_ENDS = """
SELECT DISTINCT ON (session_id) session_id, (raw->>'duration_seconds')::int,
       (raw->>'clicks_count')::int, ts
FROM state_events WHERE type = 'session_end' AND session_id = ANY(%s::text[])
ORDER BY session_id, ts DESC, event_id DESC"""
_PENDING_LEAVES = """
SELECT DISTINCT ON (pageview_id) pageview_id, (raw->>'time_on_page_seconds')::int,
       (raw->>'scroll_depth_percent')::int, event_id, raw::text
FROM state_events WHERE type = 'page_leave' AND pageview_id = ANY(%s::text[])
ORDER BY pageview_id, ts DESC, event_id DESC"""


def _pending(cur: Cursor, sql: str, keys: Sequence[str]) -> dict[str, Any]:
    if not keys:
        return {}
    cur.execute(sql, (array_literal(keys),))
    return {row[0]: tuple(row[1:]) for row in cur.fetchall()}


_UPDATE_USERS = """
UPDATE users u SET
    email = CASE WHEN t.has_email THEN t.email ELSE u.email END,
    name = CASE WHEN t.has_name THEN t.name ELSE u.name END,
    role = CASE WHEN t.has_role THEN t.role ELSE u.role END,
    is_active = CASE WHEN t.has_is_active THEN t.is_active ELSE u.is_active END,
    created_at = CASE WHEN t.has_created_at THEN t.created_at ELSE u.created_at END,
    company = CASE WHEN t.has_company THEN t.company ELSE u.company END,
    upserted_at = GREATEST(u.upserted_at, t.upserted_at),
    failed_login_attempts = CASE WHEN t.reset_failed THEN t.failed_added
                                 ELSE u.failed_login_attempts + t.failed_added END,
    last_login = GREATEST(u.last_login, t.last_login),
    locked_until = CASE WHEN t.lock_changed THEN t.locked_until ELSE u.locked_until END,
    updated_at = now()
FROM tmp_user_changes t WHERE u.id = t.user_id"""


def apply_state(cur: Cursor, events: Sequence[Event]) -> None:
    """Users and session ends: the rows the batch's state events change.

    A session inserted in this batch already took its end on insert; only
    sessions of earlier batches are updated here.
    """
    changes = sorted(rows.user_changes(events), key=lambda ch: ch.user_id)
    if changes:
        ids = [ch.user_id for ch in changes]
        # Lock in id order: two consumers touching the same users cannot deadlock.
        cur.execute("INSERT INTO users (id) SELECT unnest(%s::bigint[]) ORDER BY 1"
                    " ON CONFLICT DO NOTHING", (ids,))
        cur.execute("SELECT id FROM users WHERE id = ANY(%s) ORDER BY id FOR UPDATE", (ids,))
        copy_rows(cur, "tmp_user_changes", rows.USER_CHANGE_COLUMNS, [ch.row() for ch in changes])
        cur.execute(_UPDATE_USERS)
    started = {e.session_id for e in events if isinstance(e, SessionStart)}
    ends = [(sid, *end) for sid, end in rows.session_ends(events).items()
            if sid not in started]
    if ends:
        copy_rows(cur, "tmp_session_ends", ("session_id", "duration_seconds", "clicks_count",
                                        "ended_at"), ends)
        cur.execute("UPDATE user_sessions u SET duration_seconds = t.duration_seconds,"
                    " clicks_count = t.clicks_count, ended_at = t.ended_at"
                    " FROM tmp_session_ends t WHERE u.session_id = t.session_id")


def insert_rejected(cur: Cursor, rejected: Sequence[Rejected]) -> None:
    if rejected:
        copy_rows(cur, "tmp_rejected", ("topic", "partition", "offset", "key", "value", "reason",
                                    "detail"),
              [(r.record.topic, r.record.partition, r.record.offset, r.record.key,
                r.record.value, r.reason, storable_text(r.detail)) for r in rejected])
        cur.execute('INSERT INTO rejected_events (topic, "partition", "offset", key, value,'
                    " reason, detail) SELECT * FROM tmp_rejected"
                    ' ON CONFLICT (topic, "partition", "offset") DO NOTHING')


