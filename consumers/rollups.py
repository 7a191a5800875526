"""What a batch touched: the users, e-mails, sessions and days the projection recounts.

The projection runs after the durable write has committed the batch, so the
event tables already hold every row the batch added; it recounts the touched
(user, day) pairs with ``insights.readmodel.recount``, which gives absolute
values (nothing to double on a replay). This module finds those pairs, and
recounts the JS errors of the touched sessions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from insights.database import Connection, array_literal
from insights.events import contract as c
from insights.readmodel.recount import DAY_SQL, SessionErrors
from scoring.windows import day_number, from_day_number, midnight


@dataclass
class TouchedUsers:
    """What a batch changed: users to re-rank, and the days whose counters may have moved.

    Days are day numbers; a user or e-mail with no days is re-ranked (its row or
    its e-mail's alerts changed) but has nothing to recount.
    """

    users: dict[int, set[int]] = field(default_factory=dict)
    emails: dict[str, set[int]] = field(default_factory=dict)
    # Sessions to look up: their user re-ranked; ``whole`` ones (a start or end in the
    # batch) also move the start day's counters, ``errors`` ones their JS error counts.
    sessions: set[str] = field(default_factory=set)
    whole: set[str] = field(default_factory=set)
    errors: set[str] = field(default_factory=set)
    upserted: set[int] = field(default_factory=set)   # recounted over every kept day
    owners: dict[str, int] = field(default_factory=dict)   # session -> user, once resolved

    def user(self, user_id: int, day: int | None = None) -> None:
        days = self.users.setdefault(user_id, set())
        if day is not None:
            days.add(day)


# Events whose user's day counters move on the event's own day.
_COUNTED = (c.PageView, c.Conversion, c.Search, c.PasswordReset)
# Events that change only the user's row (log-in state, profile).
_ROW_ONLY = (c.UserUpsert, c.LoginFailed, c.LoginSucceeded, c.AccountLocked,
             c.AccountUnlocked)


def touched_users(events: Iterable[c.Event]) -> TouchedUsers:
    """The users, e-mails and sessions whose counters or scores ``events`` can change."""
    t = TouchedUsers()
    for e in events:
        if isinstance(e, _COUNTED):
            if e.user_id is not None:
                t.user(e.user_id, day_number(e.ts.date()))
        elif isinstance(e, c.SessionStart | c.SessionEnd):
            t.sessions.add(e.session_id)
            t.whole.add(e.session_id)
            if isinstance(e, c.SessionStart):     # JS errors that came before it count now
                t.errors.add(e.session_id)
        elif isinstance(e, c.JsError):
            t.sessions.add(e.session_id)
            t.errors.add(e.session_id)
        elif isinstance(e, c.SecurityAlert):
            t.emails.setdefault(e.user_email, set()).add(day_number(e.ts.date()))
        elif isinstance(e, _ROW_ONLY):
            t.user(e.user_id)
            if isinstance(e, c.UserUpsert):
                t.emails.setdefault(e.email, set())
                t.upserted.add(e.user_id)
    return t


_SESSION_USERS = f"""
SELECT session_id, user_id, {DAY_SQL.format(col="started_at")} FROM user_sessions
WHERE session_id = ANY(%s::text[]) AND user_id IS NOT NULL"""
_EMAIL_USERS = """
SELECT id FROM users WHERE email = ANY(%s::text[]) AND upserted_at IS NOT NULL"""


def resolve_users(conn: Connection, t: TouchedUsers) -> set[int]:
    """Every user to re-rank: the touched users, the users of touched sessions (a
    session's start or end moves its start day) and of touched e-mails."""
    with conn.cursor() as cur:
        if t.sessions:
            cur.execute(_SESSION_USERS, (array_literal(t.sessions),))
            for session_id, user_id, start in cur.fetchall():
                t.owners[session_id] = user_id
                t.user(user_id, start if session_id in t.whole else None)
        if t.emails:
            cur.execute(_EMAIL_USERS, (array_literal(t.emails),))
            for (user_id,) in cur.fetchall():
                t.user(user_id)
    return set(t.users)


_SESSION_ERRORS = f"""
SELECT session_id, {DAY_SQL.format(col="occurred_at")}, count(*) FROM js_errors
WHERE session_id = ANY(%(s)s::text[]) AND occurred_at >= %(lo)s GROUP BY 1, 2"""


def session_errors(conn: Connection, t: TouchedUsers, users: Collection[int], oldest: int
                   ) -> SessionErrors:
    """Absolute JS error counts per day of the touched sessions of ``users``."""
    sessions = [s for s in t.errors if t.owners.get(s) in users]
    found: SessionErrors = defaultdict(dict)
    if not sessions:
        return found
    with conn.cursor() as cur:
        cur.execute(_SESSION_ERRORS, {"s": array_literal(sessions),
                                      "lo": midnight(from_day_number(oldest))})
        for session_id, day, n in cur.fetchall():
            found[t.owners[session_id]][session_id, day] = int(n)
    return found


