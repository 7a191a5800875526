"""The problems and engagement tabs: cards from day totals and indexes, lists from rankings.

The rankings (sorted sets kept by the consumer) give the candidates; the
listed rows are recomputed here from the users' current state, so lock expiry
and the day's windows are exact as of the request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Protocol, TypeVar

from insights.readmodel.userstate import (
    OPEN_END,
    Query,
    UserRow,
    UserSums,
    alert_queries,
    problem_counts,
)
from insights.readmodel.userstate import user_queries as score_queries
from scoring.engagement import engagement_components, engagement_score, status, wow
from scoring.problems import problem_components, problem_score
from scoring.windows import Period, day_number, last_days, period_start, previous_start
from web.documents.common import UserRef, components_of
from web.documents.users import EngagementRow, EngagementTab, ProblemsTab, ProblemUser
from web.formats import rfc3339_or_none
from web.tabs.store import Store, window_days

LISTED = 50
PAGE = 60          # ranked candidates re-scored at read time per round trip


class Scored(Protocol):
    """A listed row: ranked by its score."""

    @property
    def score(self) -> int: ...


Listed = TypeVar("Listed", bound=Scored)


def user_ref(row: UserRow) -> UserRef:
    """The user a listed row is about."""
    return UserRef(id=row.id, name=row.name, email=row.email)


def problems(store: Store, period: Period, now: datetime) -> ProblemsTab:
    today = now.date()
    days = window_days(period_start(period, today), today)
    totals = [sum(col) for col in zip(*store.day_fields(days, ("fl", "pr", "je")), strict=True)]
    return ProblemsTab(
        locked_accounts=store.count(store.keys.locks, f"({now.timestamp()}", "+inf"),
        failed_logins=totals[0], password_resets=totals[1], js_errors=totals[2],
        problem_users=_problem_rows(store, period, now),
    )


def top(store: Store, key: str, rescore: Callable[[list[int]], list[Listed]]) -> list[Listed]:
    """The best ``LISTED`` rows by score re-computed now, from a ranking of stored scores.

    Scores only fall with time (windows roll, locks expire) until the consumer
    re-ranks, so once the ``LISTED``-th re-computed score is at least the next
    stored one, no user further down can overtake it.
    """
    listed: list[Listed] = []
    start = 0
    while True:
        ids = [int(m) for m, _ in store.ranked_page(key, start, PAGE)]
        listed += rescore(ids)
        listed.sort(key=lambda r: r.score, reverse=True)
        start += len(ids)
        following = store.ranked_page(key, start, 1)
        if len(ids) < PAGE or not following or (
                len(listed) >= LISTED and listed[LISTED - 1].score >= following[0][1]):
            return listed[:LISTED]


def _problem_rows(store: Store, period: Period, now: datetime) -> list[ProblemUser]:
    return top(store, store.keys.problems(period),
               lambda ids: _problem_page(store, ids, period, now))


def _problem_page(store: Store, ids: list[int], period: Period, now: datetime
                  ) -> list[ProblemUser]:
    rows = store.users(ids)
    sums = store.user_sums(ids, score_queries(now.date()))
    alerts = store.email_sums((r.email for r in rows.values() if r.email),
                              alert_queries(now.date()))
    listed: list[ProblemUser] = []
    for uid, row in rows.items():
        if not row.active():
            continue
        counts = problem_counts(row, UserSums.parse(sums[uid]),
                                alerts.get(row.email or "", [0, 0, 0]), period, now)
        score = problem_score(counts)
        if score > 0:
            listed.append(ProblemUser(
                user=user_ref(row), score=score, failed_logins=counts.failed_logins,
                password_resets=counts.password_resets, js_errors=counts.js_errors,
                slow_pages=counts.slow_pages, security_alerts=counts.security_alerts,
                is_locked=counts.is_locked, last_login=rfc3339_or_none(row.last_login),
                components=components_of(problem_components(counts)),
            ))
    return listed


def engagement(store: Store, period: Period, now: datetime) -> EngagementTab:
    today, keys = now.date(), store.keys
    active = store.uniques(["users"], period, today)[0]
    first_of_month = day_number(today.replace(day=1))
    return EngagementTab(
        active_7d=int(active),
        at_risk=store.count(keys.logins, day_number(today) - 30, day_number(today) - 8),
        dormant=store.count(keys.logins, "-inf", day_number(today) - 31),
        new_this_month=store.count(keys.created, first_of_month, "+inf"),
        engagement_list=_engagement_rows(store, period, now),
    )


def _list_queries(period: Period, today: date) -> list[Query]:
    start, prev = day_number(period_start(period, today)), day_number(previous_start(period,
                                                                                     today))
    return [*score_queries(today), ("s", start, OPEN_END), ("pv", start, OPEN_END),
            ("pv", prev, start - 1),
            *[("pv", day_number(d), day_number(d)) for d in last_days(today, 7)]]


def _engagement_rows(store: Store, period: Period, now: datetime) -> list[EngagementRow]:
    return top(store, store.keys.engagement, lambda ids: _engagement_page(store, ids, period,
                                                                          now))


def _engagement_page(store: Store, ids: list[int], period: Period, now: datetime
                     ) -> list[EngagementRow]:
    today = now.date()
    rows = store.users(ids)
    sums = store.user_sums(ids, _list_queries(period, today))
    n = len(score_queries(today))
    listed: list[EngagementRow] = []
    for uid, row in rows.items():
        values = sums[uid]
        counts = UserSums.parse(values[:n]).engagement
        score = engagement_score(counts)
        sessions, views, before = values[n:n + 3]
        if not row.listed() or (sessions == 0 and score == 0):
            continue
        last_login = row.last_login.date() if row.last_login else None
        listed.append(EngagementRow(
            user=user_ref(row), score=score, sessions=sessions, page_views=views,
            wow=wow(views, before), status=status(last_login, today, score),
            sparkline=values[n + 3:], components=components_of(engagement_components(counts)),
        ))
    return listed


