"""Per-user and per-e-mail day counters, recomputed from PostgreSQL for what a batch touched.

The Redis sink runs after the PostgreSQL sink has stored the batch, so the
durable tables already hold every row the batch added. Counting those rows
again for the (user, day) pairs the batch touched gives absolute values: a
replayed batch, an out-of-order ``session_end`` or a ``js_error`` that came
before its session all end as the same numbers, with nothing to double.

Metrics (field ``metric:day`` of the user's hash, day = days since 1970-01-01, UTC):
``s`` sessions started, ``cl`` their clicks, ``du`` their seconds, ``pv`` page
views, ``sp`` slow page views (> 3000 ms), ``je`` JS errors of the user's
sessions (by the error's day), ``cv`` conversions, ``sq`` searches, ``pr``
password resets; per e-mail ``a`` security alerts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from insights import contract as c
from insights.database import Connection
from scoring.windows import midnight

USER_METRICS = ("s", "cl", "du", "pv", "sp", "je", "cv", "sq", "pr")
_DAY = "(({col} AT TIME ZONE 'UTC')::date - DATE '1970-01-01')"


@dataclass
class Touched:
    """What a batch changed: users (with the days touched), e-mails, sessions to resolve."""

    users: set[int] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    sessions: set[str] = field(default_factory=set)   # session -> its user, looked up
    upserted: set[int] = field(default_factory=set)   # recounted over every kept day
    first: datetime | None = None
    last: datetime | None = None

    def span(self, moment: datetime) -> None:
        self.first = moment if self.first is None or moment < self.first else self.first
        self.last = moment if self.last is None or moment > self.last else self.last


_USER_EVENTS = (c.PageView, c.Conversion, c.Search, c.PasswordReset, c.UserUpsert,
                c.LoginFailed, c.LoginSucceeded, c.AccountLocked, c.AccountUnlocked,
                c.SessionStart)


def touched(events: Iterable[c.Event]) -> Touched:
    """The users, e-mails and sessions whose counters or scores ``events`` can change."""
    t = Touched()
    for e in events:
        if isinstance(e, _USER_EVENTS) and e.user_id is not None:
            t.users.add(e.user_id)
        if isinstance(e, c.SecurityAlert):
            t.emails.add(e.user_email)
        elif isinstance(e, c.UserUpsert):
            t.emails.add(e.email)
            t.upserted.add(e.user_id)
        if isinstance(e, c.JsError | c.SessionEnd | c.SessionStart):
            t.sessions.add(e.session_id)
        if not isinstance(e, c.UserUpsert | c.LoginFailed | c.LoginSucceeded |
                          c.AccountLocked | c.AccountUnlocked):
            t.span(e.ts)
    return t


_SESSION_USERS = """
SELECT user_id, started_at FROM user_sessions WHERE session_id = ANY(%s)"""
_EMAIL_USERS = "SELECT id FROM users WHERE email = ANY(%s) AND upserted_at IS NOT NULL"


def resolve_users(conn: Connection, t: Touched) -> set[int]:
    """Touched users, plus the users of touched sessions and of touched e-mails.

    A touched session also widens the recount to its start day: a ``session_end``
    or ``js_error`` long after the start changes that day's counters.
    """
    users = set(t.users)
    with conn.cursor() as cur:
        if t.sessions:
            cur.execute(_SESSION_USERS, (list(t.sessions),))
            for user_id, started_at in cur.fetchall():
                if user_id is not None:
                    users.add(user_id)
                t.span(started_at)
        if t.emails:
            cur.execute(_EMAIL_USERS, (list(t.emails),))
            users.update(row[0] for row in cur.fetchall())
    return users


# Each query: (user, day, values...) for users ANY(%(u)s) within [%(lo)s, %(hi)s).
_USER_QUERIES: Sequence[tuple[tuple[str, ...], str]] = (
    (("s", "cl", "du"), f"""
SELECT user_id, {_DAY.format(col="started_at")}, count(*), coalesce(sum(clicks_count), 0),
       coalesce(sum(duration_seconds), 0)
FROM user_sessions WHERE user_id = ANY(%(u)s) AND started_at >= %(lo)s AND started_at < %(hi)s
GROUP BY 1, 2"""),
    (("pv", "sp"), f"""
SELECT user_id, {_DAY.format(col="viewed_at")}, count(*),
       count(*) FILTER (WHERE load_time_ms > 3000)
FROM page_views WHERE user_id = ANY(%(u)s) AND viewed_at >= %(lo)s AND viewed_at < %(hi)s
GROUP BY 1, 2"""),
    (("je",), f"""
SELECT s.user_id, {_DAY.format(col="e.occurred_at")}, count(*)
FROM user_sessions s JOIN js_errors e ON e.session_id = s.session_id
WHERE s.user_id = ANY(%(u)s) AND e.occurred_at >= %(lo)s AND e.occurred_at < %(hi)s
GROUP BY 1, 2"""),
    (("cv",), f"""
SELECT user_id, {_DAY.format(col="converted_at")}, count(*) FROM conversion_events
WHERE user_id = ANY(%(u)s) AND converted_at >= %(lo)s AND converted_at < %(hi)s GROUP BY 1, 2"""),
    (("sq",), f"""
SELECT user_id, {_DAY.format(col="searched_at")}, count(*) FROM search_queries
WHERE user_id = ANY(%(u)s) AND searched_at >= %(lo)s AND searched_at < %(hi)s GROUP BY 1, 2"""),
    (("pr",), f"""
SELECT user_id, {_DAY.format(col="created_at")}, count(*) FROM email_logs
WHERE user_id = ANY(%(u)s) AND email_type = 'password_reset'
  AND created_at >= %(lo)s AND created_at < %(hi)s GROUP BY 1, 2"""),
)
_EMAIL_QUERY = f"""
SELECT user_email, {_DAY.format(col="created_at")}, count(*) FROM security_alerts
WHERE user_email = ANY(%(u)s) AND created_at >= %(lo)s AND created_at < %(hi)s GROUP BY 1, 2"""


Days = dict[int, dict[str, int]]
"""day number -> metric -> count (every metric of a day the recount saw)."""


def user_counters(conn: Connection, users: Iterable[int], lo: datetime, hi: datetime
                  ) -> dict[int, Days]:
    """Absolute day counters of ``users`` for the days in [lo, hi) that have any rows.

    Every metric of such a day is given, zeros included: a later ``session_end``
    may lower a session's clicks and seconds.
    """
    found: dict[int, Days] = defaultdict(dict)
    params = {"u": list(users), "lo": lo, "hi": hi}
    with conn.cursor() as cur:
        for metrics, sql in _USER_QUERIES:
            cur.execute(sql, params)
            for user, day, *values in cur.fetchall():
                counts = found[user].get(day)
                if counts is None:
                    counts = found[user][day] = dict.fromkeys(USER_METRICS, 0)
                counts.update(zip(metrics, (int(v) for v in values), strict=True))
    return found


def email_counters(conn: Connection, emails: Iterable[str], lo: datetime, hi: datetime
                   ) -> dict[str, Days]:
    """Absolute security alerts per day of ``emails`` for the days in [lo, hi)."""
    found: dict[str, Days] = defaultdict(dict)
    with conn.cursor() as cur:
        cur.execute(_EMAIL_QUERY, {"u": list(emails), "lo": lo, "hi": hi})
        for email, day, count in cur.fetchall():
            found[email][day] = {"a": int(count)}
    return found


def day_span(t: Touched, oldest: datetime, slack: timedelta = timedelta(days=1)
             ) -> tuple[datetime, datetime] | None:
    """The [lo, hi) range of event times to recount, with a day of slack each side,
    never before ``oldest`` (older days are not kept); None when nothing is in range.

    The slack covers JS errors of a session that started on the evening before.
    """
    if t.first is None or t.last is None:
        return None
    lo = max(midnight(t.first.date()) - slack, oldest)
    hi = midnight(t.last.date()) + 2 * slack
    return (lo, hi) if lo < hi else None
