"""A rule replayed over stored history: how often it would have fired, per day (no I/O but reads).

``insights alerts backtest RULE --since DATE`` reads, from PostgreSQL, every
tracked user's day counters over the days asked and the month before them
(``insights.readmodel.recount``, as the projection recounts them), their JS errors and
security alerts, and their log-in and lock history (``state_events``). It then
evaluates the rule once per user and day, as of the end of the day (now, for
today), from a fresh state, with the same ``rules.evaluate`` the pipeline runs.
Readings come once a day, not at every batch: a value that crossed and fell
back within one day is not seen, and a rise rule sees day-to-day rises only.
Users' roles and active flags are taken as they are now.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from insights.alerts.rules import Rule, State, Value, evaluate
from insights.database import Connection
from insights.readmodel import recount
from insights.readmodel.userstate import ENGAGEMENT_METRICS, UserRow, user_rows
from scoring.engagement import EngagementCounts, engagement_score, status
from scoring.problems import ProblemCounts, problem_score
from scoring.windows import Period, day_number, month_start, period_start

_PERIOD: dict[str, Period] = {"problem_day": "day", "problem_week": "week",
                              "problem_month": "month"}
_HISTORY = """
SELECT user_id, type, ts, raw FROM state_events
WHERE user_id = ANY(%s) AND ts < %s
  AND type IN ('login_succeeded', 'login_failed', 'account_locked', 'account_unlocked')
ORDER BY user_id, ts"""


@dataclass
class DayResult:
    """What the rule did on one day."""

    day: date
    firings: int = 0
    resolutions: int = 0
    users: set[int] = field(default_factory=set)


@dataclass
class UserHistory:
    """One user's counters per day number, JS errors and security alerts per day."""

    row: UserRow
    days: recount.Days = field(default_factory=dict)
    errors: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    alerts: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    logins: list[tuple[str, datetime, Any]] = field(default_factory=list)

    def total(self, metric: str, first: int, last: int) -> int:
        return sum(self.days.get(d, {}).get(metric, 0) for d in range(first, last + 1))


def backtest(conn: Connection, rule: Rule, since: date, until: date, now: datetime
             ) -> list[DayResult]:
    """Per day from ``since`` to ``until`` (both included), what ``rule`` would have done."""
    histories = _histories(conn, since, until)
    results = [DayResult(since + timedelta(days=n)) for n in range((until - since).days + 1)]
    for history in histories.values():
        if not history.row.active() or not rule.applies_to(history.row.role):
            continue
        state = State()
        for result in results:
            at = min(now, datetime.combine(result.day + timedelta(days=1), time(), UTC)
                     - timedelta(microseconds=1))
            value = _value(rule, history, result.day, at)
            if value is None:
                continue
            state, change = evaluate(rule, state, value, at)
            if change is not None:
                if change.kind == "firing":
                    result.firings += 1
                    result.users.add(history.row.id)
                else:
                    result.resolutions += 1
    return results


def _histories(conn: Connection, since: date, until: date) -> dict[int, UserHistory]:
    """Every tracked user's history from a month before ``since`` to ``until``."""
    with conn.cursor() as cur:
        cur.execute("SELECT id FROM users WHERE upserted_at IS NOT NULL ORDER BY id")
        ids = [row[0] for row in cur.fetchall()]
    lo, hi = day_number(month_start(since)) - 31, day_number(until)
    rows = user_rows(conn, ids)
    found = {uid: UserHistory(row) for uid, row in rows.items()}
    for uid, days in recount.user_counters(conn, dict.fromkeys(found, (lo, hi))).items():
        found[uid].days = days
    for uid, per_session in recount.user_session_errors(conn, found, lo).items():
        for (_, day), n in per_session.items():
            found[uid].errors[day] += n
    by_email = {r.email: uid for uid, r in rows.items() if r.email}
    for email, days in recount.email_counters(conn, dict.fromkeys(by_email, (lo, hi))).items():
        for day, counts in days.items():
            found[by_email[email]].alerts[day] += counts["a"]
    end = datetime.combine(until + timedelta(days=1), time(), UTC)
    with conn.cursor() as cur:
        cur.execute(_HISTORY, (list(found), end))
        for uid, kind, ts, raw in cur.fetchall():
            found[uid].logins.append((kind, ts, raw))
    conn.commit()
    return found


def _value(rule: Rule, h: UserHistory, day: date, at: datetime) -> Value | None:
    """The rule's metric for user ``h`` as of ``at`` (None: not watched then)."""
    failed, last_login, locked = _logins(h, at)
    if rule.metric == "locked":
        return int(locked)
    period = _PERIOD.get(rule.metric)
    if period is not None:
        first, last = day_number(period_start(period, day)), day_number(day)
        return problem_score(ProblemCounts(
            failed_logins=failed,
            password_resets=h.total("pr", day_number(month_start(day)), last),
            js_errors=sum(h.errors.get(d, 0) for d in range(first, last + 1)),
            slow_pages=h.total("sp", first, last),
            security_alerts=sum(h.alerts.get(d, 0) for d in range(first, last + 1)),
            is_locked=locked))
    if not h.row.listed():
        return None
    first = day_number(month_start(day))
    engaged = engagement_score(EngagementCounts(**{
        name: h.total(metric, first, day_number(day))
        for name, metric in ENGAGEMENT_METRICS.items()}))
    if rule.metric == "engagement":
        return engaged
    return status(last_login.date() if last_login else None, day, engaged)


def _logins(h: UserHistory, at: datetime) -> tuple[int, datetime | None, bool]:
    """(failed log-ins since the last success, last log-in, locked) as of ``at``."""
    failed, last_login, locked_until = 0, None, None
    for kind, ts, raw in _until(h.logins, at):
        if kind == "login_failed":
            failed += 1
        elif kind == "login_succeeded":
            failed, last_login = 0, ts
        elif kind == "account_locked":
            locked_until = datetime.fromisoformat(str(raw["locked_until"]).replace("Z", "+00:00"))
        else:
            locked_until = None
    if locked_until is not None and locked_until.tzinfo is None:
        locked_until = locked_until.replace(tzinfo=UTC)
    return failed, last_login, locked_until is not None and locked_until > at


def _until(events: list[tuple[str, datetime, Any]], at: datetime
           ) -> Iterator[tuple[str, datetime, Any]]:
    return (e for e in events if e[1] <= at)
