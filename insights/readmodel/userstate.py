"""A user's state as scores need it: the ``users`` row and the window sums of the day counters.

Shared by the consumer (ranking users as batches land) and the web app
(recomputing the listed rows at read time), so both read the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import accumulate
from typing import Final

import msgspec

from insights.database import Connection, array_literal
from scoring.engagement import EngagementCounts
from scoring.problems import ProblemCounts
from scoring.windows import (
    PERIODS,
    Period,
    day_number,
    last_days,
    month_start,
    period_start,
    previous_start,
)

OPEN_END = 10**9
"""Last day of a window that has no end (``>= start``)."""
USER_METRICS = ("s", "cl", "du", "pv", "sp", "cv", "sq", "pr")
"""A user's day counters, in the order ``counters.lua`` stores them (``consumers.rollups``)."""
SESSION_ERRORS = "je"
"""The metric kept per session and day (a user's JS errors: the sum over its sessions)."""
SESSION_ERRORS_POSITION: Final = 0
"""``SESSION_ERRORS``' metric position in ``counters.lua`` queries (the others: 1, 2, ... in
``USER_METRICS`` order after the stamp); generated into the script."""
ALERT_METRICS = ("a",)
"""An e-mail's day counters: security alerts."""
Query = tuple[str, int, int]
"""A window sum: (metric, first day, last day), both ends included."""
_ANY_DAY = date(2000, 1, 1)


@dataclass(frozen=True)
class UserRow:
    """The ``users`` columns scores and indexes depend on."""

    id: int
    email: str | None
    name: str | None
    role: str | None
    is_active: bool
    created_at: datetime | None
    last_login: datetime | None
    failed_login_attempts: int
    locked_until: datetime | None
    tracked: bool

    def active(self) -> bool:
        """Tracked (a ``user_upsert`` created it) and active: the reference's ``is_active``."""
        return self.tracked and self.is_active

    def listed(self) -> bool:
        """Eligible for the engagement list (semantics 13)."""
        return self.active() and self.role is not None and self.role != "UNAFFILIATED"

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


_USERS = """
SELECT id, email, name, role, is_active, created_at, last_login, failed_login_attempts,
       locked_until, upserted_at IS NOT NULL
FROM users WHERE id = ANY(%s::bigint[])"""


def user_rows(conn: Connection, ids: Iterable[int]) -> dict[int, UserRow]:
    """Current rows of ``ids`` (missing ids are absent)."""
    with conn.cursor() as cur:
        cur.execute(_USERS, (array_literal(ids),))
        return {row[0]: UserRow(*row) for row in cur.fetchall()}


def window(period: Period, today: date) -> tuple[int, int]:
    """(first, last) day numbers of a period window as of ``today``."""
    return day_number(period_start(period, today)), OPEN_END


def month(today: date) -> tuple[int, int]:
    return day_number(month_start(today)), OPEN_END


ENGAGEMENT_METRICS: Final = {"sessions": "s", "page_views": "pv", "clicks": "cl",
                              "seconds": "du", "conversions": "cv", "searches": "sq"}
"""The day counter behind each ``EngagementCounts`` field (all over the month window)."""


class Asked:
    """Window sums asked in one ``counters.lua`` call, in named parts.

    The script answers one number per query, in order; ``answer`` gives them back
    by part, so no reader counts positions (``values[7:13]``) of a list it did not
    build. Parts are added with ``plus`` (a new ``Asked``: the score's sums can be
    shared and extended).
    """

    def __init__(self, parts: Sequence[tuple[str, Sequence[Query]]] = ()) -> None:
        self.parts = tuple((name, tuple(queries)) for name, queries in parts)
        if len({name for name, _ in self.parts}) != len(self.parts):
            raise ValueError(f"a part is named twice: {[n for n, _ in self.parts]}")
        ends = list(accumulate(len(queries) for _, queries in self.parts))
        self._slices = [(name, end - len(queries), end)
                        for (name, queries), end in zip(self.parts, ends, strict=True)]
        self._size = ends[-1] if ends else 0

    def plus(self, name: str, queries: Sequence[Query]) -> Asked:
        return Asked([*self.parts, (name, queries)])

    @property
    def queries(self) -> list[Query]:
        """Every part's queries, in order: what ``script_queries`` sends."""
        return [q for _, queries in self.parts for q in queries]

    def answer(self, values: Sequence[int]) -> dict[str, list[int]]:
        """The script's sums for these queries, by part (``ValueError`` on another count)."""
        if len(values) != self._size:
            raise ValueError(f"{len(values)} sums for {self._size} queries")
        numbers = [int(v) for v in values]
        return {name: numbers[start:end] for name, start, end in self._slices}


def score_asked(today: date) -> Asked:
    """The window sums a user's scores need, as of ``today`` (``UserSums.read``)."""
    m = month(today)
    return Asked([("password_resets", [("pr", *m)]),
                  ("js_errors", [("je", *window(p, today)) for p in PERIODS]),
                  ("slow_pages", [("sp", *window(p, today)) for p in PERIODS]),
                  *((field, [(metric, *m)]) for field, metric in ENGAGEMENT_METRICS.items())])


SPARKLINE_DAYS: Final = 7
"""Days of page views on an engagement row's sparkline, today included."""


def list_parts(period: Period) -> tuple[str, str, str]:
    """Names of a period's parts in ``kept_asked``: sessions and page views in the
    period's window, page views in the window before it."""
    return f"sessions:{period}", f"views:{period}", f"previous_views:{period}"


def kept_asked(today: date) -> Asked:
    """The window sums ``counters.lua`` keeps per user, as of ``today``: the score's
    (``score_asked``), then, per period, what an engagement row shows (``list_parts``)
    and the page views of each of the last ``SPARKLINE_DAYS`` days (``sparkline``).

    The consumer asks these after every recount, so they are kept up to date in the
    user's hash; the tabs ask exactly these too and read them back instead of adding
    up every day field of 60 users per page.
    """
    asked = score_asked(today)
    for period in PERIODS:
        start = day_number(period_start(period, today))
        previous = day_number(previous_start(period, today))
        sessions, views, before = list_parts(period)
        asked = (asked.plus(sessions, [("s", start, OPEN_END)])
                 .plus(views, [("pv", start, OPEN_END)])
                 .plus(before, [("pv", previous, start - 1)]))
    return asked.plus("sparkline", [("pv", day_number(d), day_number(d))
                                    for d in last_days(today, SPARKLINE_DAYS)])


def user_queries(today: date) -> list[Query]:
    """The window sums kept per user (``kept_asked``), as ``counters.lua`` takes them."""
    return kept_asked(today).queries


def alert_queries(today: date) -> list[Query]:
    return [("a", *window(p, today)) for p in PERIODS]


def script_queries(queries: Sequence[Query], metrics: Sequence[str]) -> str:
    """``queries`` as ``counters.lua`` takes them: JSON [[metric position, first, last]].

    Writers and readers asking the same sums send the same string, which is what
    the script's cached sums are keyed by.
    """
    position = {m: i for i, m in enumerate(metrics, 1)} | {SESSION_ERRORS: SESSION_ERRORS_POSITION}
    return msgspec.json.encode([(position[m], first, last) for m, first, last in queries]
                               ).decode()


def script_days(days: dict[int, dict[str, int]] | None, metrics: Sequence[str]) -> str:
    """Recounted days as ``counters.lua`` stores them: JSON {day: [count per metric]}."""
    return msgspec.json.encode({str(day): [counts.get(m, 0) for m in metrics]
                                for day, counts in (days or {}).items()}).decode()


def script_session_errors(errors: dict[tuple[str, int], int] | None) -> str:
    """Recounted JS errors per (session, day) as ``counters.lua`` stores them."""
    return msgspec.json.encode({f"{session}:{day}": n
                                for (session, day), n in (errors or {}).items()}).decode()


_SCORE_PARTS: Final = score_asked(_ANY_DAY)
_KEPT_PARTS: Final = kept_asked(_ANY_DAY)
"""Their parts' names and sizes, which do not depend on the day."""


@dataclass(frozen=True)
class UserSums:
    """A user's window sums, as ``score_asked`` asked for them."""

    resets_month: int
    js_errors: dict[Period, int]
    slow_pages: dict[Period, int]
    engagement: EngagementCounts

    @classmethod
    def read(cls, answer: Mapping[str, Sequence[int]]) -> UserSums:
        """From ``score_asked(...).answer(sums)`` (or an ``Asked`` extending it)."""
        return cls(answer["password_resets"][0],
                   dict(zip(PERIODS, answer["js_errors"], strict=True)),
                   dict(zip(PERIODS, answer["slow_pages"], strict=True)),
                   EngagementCounts(**{f: answer[f][0] for f in ENGAGEMENT_METRICS}))

    @classmethod
    def parse(cls, values: Sequence[int]) -> UserSums:
        """From the sums of ``score_asked``'s queries (the parts' sizes do not depend on
        the day)."""
        return cls.read(_SCORE_PARTS.answer(values))

    @classmethod
    def kept(cls, values: Sequence[int]) -> UserSums:
        """From the sums of ``user_queries`` (``kept_asked``)."""
        return cls.read(_KEPT_PARTS.answer(values))


def problem_counts(row: UserRow, sums: UserSums, alerts: Sequence[int], period: Period,
                   now: datetime) -> ProblemCounts:
    """The problem-score inputs of one user over ``period`` (semantics 5-9)."""
    return ProblemCounts(
        failed_logins=row.failed_login_attempts, password_resets=sums.resets_month,
        js_errors=sums.js_errors[period], slow_pages=sums.slow_pages[period],
        security_alerts=alerts[PERIODS.index(period)], is_locked=row.locked(now))
