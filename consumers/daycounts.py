"""Per-user day counters of the insert-only events, kept in PostgreSQL by the durable write.

``user_day_counts`` holds, per user and day (days since 1970-01-01, UTC), the
page views, slow page views (``scoring.pages.is_slow``), conversions, searches
and password resets of that user's events. The durable write adds the events it
applies to it in the same transaction that stores them, and an event is applied
once (the ledger takes each id once), so every event is counted exactly once.
The projection then reads one row per touched user and day
(``insights.readmodel.recount``) instead of counting the event rows again, which
grew with the square of a busy user's events per day.

Sessions (a later ``session_end`` changes their clicks and seconds) and JS
errors (counted for their session's user) are still counted from their tables.
"""

from __future__ import annotations

from collections.abc import Iterable

import psycopg2.extensions
import psycopg2.extras

from insights.events import contract as c
from insights.readmodel.recount import DAY_COUNT_METRICS
from scoring.pages import is_slow
from scoring.windows import day_number

Counts = dict[tuple[int, int], list[int]]
"""(user, day number) -> one count per ``DAY_COUNT_METRICS`` (pv, sp, cv, sq, pr)."""

_COLUMN = {c.Conversion: 2, c.Search: 3, c.PasswordReset: 4}
_UPSERT = f"""
INSERT INTO user_day_counts (user_id, day, {", ".join(DAY_COUNT_METRICS)}) VALUES %s
ON CONFLICT (user_id, day) DO UPDATE SET {", ".join(
    f"{m} = user_day_counts.{m} + EXCLUDED.{m}" for m in DAY_COUNT_METRICS)}"""


def day_counts(events: Iterable[c.Event]) -> Counts:
    """What ``events`` add to each user's day counters (events with no user add nothing)."""
    found: Counts = {}
    for e in events:
        if isinstance(e, c.PageView):
            if e.user_id is None:
                continue
            counts = found.setdefault((e.user_id, day_number(e.ts.date())), [0] * 5)
            counts[0] += 1
            counts[1] += is_slow(e.load_time_ms)
        elif (column := _COLUMN.get(type(e))) is not None:
            user_id = getattr(e, "user_id", None)
            if user_id is not None:
                found.setdefault((user_id, day_number(e.ts.date())), [0] * 5)[column] += 1
    return found


def add_day_counts(cur: psycopg2.extensions.cursor, events: Iterable[c.Event]) -> None:
    """Add the applied ``events`` to ``user_day_counts``, in the caller's transaction.

    Rows go in key order, so two writers bumping the same users cannot deadlock.
    """
    counts = day_counts(events)
    if counts:
        psycopg2.extras.execute_values(
            cur, _UPSERT, [(*key, *counts[key]) for key in sorted(counts)], page_size=1000)
