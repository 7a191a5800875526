"""The durable record's per-user and per-e-mail day counters, counted again (reads only).

Counting the event tables' rows for a (user, day) gives absolute values: a
replayed batch, an out-of-order ``session_end`` or a ``js_error`` that came
before its session all end as the same numbers, with nothing to double. The
insert-only events' counters are read from ``user_day_counts``, which the
durable write keeps in the transaction that stores the events (absolute too). The
projection (``consumers``) recounts what a batch touched; the alerts' backtest
recounts history.

Metrics (``insights.readmodel.userstate.USER_METRICS``, per day = days since 1970-01-01, UTC):
``s`` sessions started, ``cl`` their clicks, ``du`` their seconds, ``pv`` page
views, ``sp`` slow page views (> 3000 ms), ``je`` JS errors of the user's
sessions (by the error's day), ``cv`` conversions, ``sq`` searches, ``pr``
password resets; per e-mail ``a`` security alerts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, Final

from insights.database import Connection, array_literal
from insights.readmodel.userstate import USER_METRICS
from scoring.pages import SLOW_PAGE_MS
from scoring.windows import from_day_number, midnight

DAY_SQL = "(({col} AT TIME ZONE 'UTC')::date - DATE '1970-01-01')"
"""SQL for the day number (UTC) of the timestamp column ``{col}``."""
DAY_COUNT_METRICS: Final = ("pv", "sp", "cv", "sq", "pr")
"""The counters the durable write keeps per user and day in ``user_day_counts``
(``consumers.daycounts``), in its column order."""
# Each query: (user, day, values...) for each user t.u within its own [t.lo, t.hi).
_RANGES = """(
  SELECT u, (DATE '1970-01-01' + lo)::timestamp AT TIME ZONE 'UTC' AS lo,
         (DATE '1970-01-01' + hi + 1)::timestamp AT TIME ZONE 'UTC' AS hi
  FROM unnest(%(u)s::{owner}[], %(lo)s::int[], %(hi)s::int[]) AS r(u, lo, hi)) AS t"""
_USERS = _RANGES.format(owner="bigint")
_USER_QUERIES: Sequence[tuple[tuple[str, ...], str]] = (
    (("s", "cl", "du"), f"""
SELECT t.u, {DAY_SQL.format(col="x.started_at")}, count(*), coalesce(sum(x.clicks_count), 0),
       coalesce(sum(x.duration_seconds), 0)
FROM {_USERS} JOIN user_sessions x
  ON x.user_id = t.u AND x.started_at >= t.lo AND x.started_at < t.hi
GROUP BY 1, 2"""),
    (DAY_COUNT_METRICS, f"""
SELECT t.u, x.day, {", ".join(f"x.{m}" for m in DAY_COUNT_METRICS)}
FROM unnest(%(u)s::bigint[], %(lo)s::int[], %(hi)s::int[]) AS t(u, lo, hi)
JOIN user_day_counts x ON x.user_id = t.u AND x.day >= t.lo AND x.day <= t.hi"""),
)
_EMAIL_QUERY = f"""
SELECT t.u, {DAY_SQL.format(col="x.created_at")}, count(*)
FROM {_RANGES.format(owner="text")}
JOIN security_alerts x ON x.user_email = t.u AND x.created_at >= t.lo AND x.created_at < t.hi
GROUP BY 1, 2"""
_USER_SESSION_ERRORS = f"""
SELECT s.user_id, e.session_id, {DAY_SQL.format(col="e.occurred_at")}, count(*)
FROM user_sessions s JOIN js_errors e ON e.session_id = s.session_id
WHERE s.user_id = ANY(%(u)s::bigint[]) AND e.occurred_at >= %(lo)s GROUP BY 1, 2, 3"""


_DAY_COUNTS_FROM_EVENTS = f"""
INSERT INTO user_day_counts (user_id, day, {", ".join(DAY_COUNT_METRICS)})
SELECT user_id, day, sum(pv), sum(sp), sum(cv), sum(sq), sum(pr) FROM (
    SELECT user_id, {DAY_SQL.format(col="viewed_at")} AS day, 1 AS pv,
           coalesce((load_time_ms > {SLOW_PAGE_MS})::int, 0) AS sp, 0 AS cv, 0 AS sq, 0 AS pr
    FROM page_views WHERE user_id IS NOT NULL
    UNION ALL
    SELECT user_id, {DAY_SQL.format(col="converted_at")}, 0, 0, 1, 0, 0
    FROM conversion_events WHERE user_id IS NOT NULL
    UNION ALL
    SELECT user_id, {DAY_SQL.format(col="searched_at")}, 0, 0, 0, 1, 0
    FROM search_queries WHERE user_id IS NOT NULL
    UNION ALL
    SELECT user_id, {DAY_SQL.format(col="created_at")}, 0, 0, 0, 0, 1
    FROM email_logs WHERE email_type = 'password_reset'
) AS counted GROUP BY user_id, day"""


def refill_day_counts(conn: Connection) -> None:
    """Count ``user_day_counts`` again from the event tables, in the caller's transaction.

    For rows that reached the event tables without the durable write (written by
    hand, as the tests of hand-made data do, or repaired): the durable write keeps
    the table itself. Not while consumers write: their additions would be lost.
    """
    with conn.cursor() as cur:
        cur.execute("DELETE FROM user_day_counts")
        cur.execute(_DAY_COUNTS_FROM_EVENTS)


Days = dict[int, dict[str, int]]
"""day number -> metric -> count (every metric of a day the recount saw)."""


Ranges = dict[Any, tuple[int, int]]
"""user or e-mail -> (first, last) day number to recount, both included."""


def ranges(days: dict[Any, set[int]], oldest: int, newest: int) -> Ranges:
    """Each owner's recount range: its touched days, clipped to the days kept."""
    found = {}
    for owner, touched_days in days.items():
        kept = [d for d in touched_days if oldest <= d <= newest]
        if kept:
            found[owner] = (min(kept), max(kept))
    return found


def params(wanted: Ranges) -> dict[str, str]:
    owners = list(wanted)
    return {"u": array_literal(owners), "lo": array_literal(wanted[o][0] for o in owners),
            "hi": array_literal(wanted[o][1] for o in owners)}


def user_counters(conn: Connection, wanted: Ranges) -> dict[int, Days]:
    """Absolute day counters of each user over its range, for the days that have rows.

    Every metric of such a day is given, zeros included: a later ``session_end``
    may lower a session's clicks and seconds.
    """
    found: dict[int, Days] = defaultdict(dict)
    if not wanted:
        return found
    query = params(wanted)
    with conn.cursor() as cur:
        for metrics, sql in _USER_QUERIES:
            cur.execute(sql, query)
            for user, day, *values in cur.fetchall():
                counts = found[user].get(day)
                if counts is None:
                    counts = found[user][day] = dict.fromkeys(USER_METRICS, 0)
                counts.update(zip(metrics, (int(v) for v in values), strict=True))
    return found


def email_counters(conn: Connection, wanted: Ranges) -> dict[str, Days]:
    """Absolute security alerts per day of each e-mail over its range."""
    found: dict[str, Days] = defaultdict(dict)
    if not wanted:
        return found
    with conn.cursor() as cur:
        cur.execute(_EMAIL_QUERY, params(wanted))
        for email, day, count in cur.fetchall():
            found[email][day] = {"a": int(count)}
    return found


SessionErrors = dict[int, dict[tuple[str, int], int]]
"""user -> (session, day number) -> JS errors of that session that day."""


def user_session_errors(conn: Connection, users: Iterable[int], oldest: int) -> SessionErrors:
    """Absolute JS error counts per session and day of every session of ``users``."""
    found: SessionErrors = defaultdict(dict)
    with conn.cursor() as cur:
        cur.execute(_USER_SESSION_ERRORS, {"u": array_literal(users),
                                           "lo": midnight(from_day_number(oldest))})
        for user_id, session_id, day, n in cur.fetchall():
            found[user_id][session_id, day] = int(n)
    return found
