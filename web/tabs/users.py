"""The problems and engagement tabs: cards from day totals and indexes, lists from rankings.

The rankings (sorted sets kept by the consumer) give the candidates; the
listed rows are recomputed here from the users' current state, so lock expiry
and the day's windows are exact as of the request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol, TypeVar

from insights.readmodel.userstate import (
    UserRow,
    UserSums,
    alert_queries,
    kept_asked,
    list_parts,
    problem_counts,
    user_queries,
)
from scoring.engagement import (
    STATUSES,
    Status,
    engagement_components,
    engagement_score,
    status,
    wow,
)
from scoring.problems import problem_components, problem_score
from scoring.windows import Period, day_number, period_start
from web.documents.common import UserRef, components_of
from web.documents.users import (
    EngagementRow,
    EngagementTab,
    ProblemsTab,
    ProblemUser,
    StatusCounts,
)
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
    r = store.round()                   # the cards and the first ranked page: one round trip
    day_fields = store.day_fields_in(r, days, ("fl", "pr", "je"))
    locked = store.count_in(r, store.keys.locks, f"({now.timestamp()}", "+inf")
    first = store.ranked_in(r, store.keys.problems(period), 0, PAGE + 1)
    r.run()
    totals = [sum(col) for col in zip(*day_fields(), strict=True)]
    return ProblemsTab(
        locked_accounts=locked(),
        failed_logins=totals[0], password_resets=totals[1], js_errors=totals[2],
        problem_users=_problem_rows(store, period, now, first()),
    )


def top(store: Store, key: str, first: list[tuple[str, float]],
        rescore: Callable[[list[int]], list[Listed]]) -> list[Listed]:
    """The best ``LISTED`` rows by score re-computed now, from a ranking of stored scores.

    Scores only fall with time (windows roll, locks expire) until the consumer
    re-ranks, so once the ``LISTED``-th re-computed score is at least the next
    stored one, no user further down can overtake it. ``first`` is the ranking's
    first ``PAGE + 1`` members (each page is read with the first member after it).
    """
    listed: list[Listed] = []
    start, page = 0, first
    while True:
        ids = [int(m) for m, _ in page[:PAGE]]
        following = page[PAGE:]
        listed += rescore(ids)
        listed.sort(key=lambda r: r.score, reverse=True)
        start += len(ids)
        if not following or (
                len(listed) >= LISTED and listed[LISTED - 1].score >= following[0][1]):
            return listed[:LISTED]
        page = store.ranked_page(key, start, PAGE + 1)


def _problem_rows(store: Store, period: Period, now: datetime,
                  first: list[tuple[str, float]]) -> list[ProblemUser]:
    return top(store, store.keys.problems(period), first,
               lambda ids: _problem_page(store, ids, period, now))


def _problem_page(store: Store, ids: list[int], period: Period, now: datetime
                  ) -> list[ProblemUser]:
    rows = store.users(ids)
    r = store.round()                  # the users' and their e-mails' sums: one round trip
    user_sums = store.user_sums_in(r, ids, user_queries(now.date()))
    email_sums = store.email_sums_in(r, (row.email for row in rows.values() if row.email),
                                     alert_queries(now.date()))
    r.run()
    sums, alerts = user_sums(), email_sums()
    listed: list[ProblemUser] = []
    for uid, row in rows.items():
        if not row.active():
            continue
        counts = problem_counts(row, UserSums.kept(sums[uid]),
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


def engagement(store: Store, period: Period, now: datetime, listed: Status | None = None
               ) -> EngagementTab:
    """The engagement tab; its list only of users whose status is ``listed`` (None: of
    every status), ranked by the users of that status (``Keys.engagement_status``)."""
    today, keys = now.date(), store.keys
    first_of_month = day_number(today.replace(day=1))
    r = store.round()                   # the cards and the first ranked page: one round trip
    active = store.uniques_in(r, ["users"], period, today)
    at_risk = store.count_in(r, keys.logins, day_number(today) - 30, day_number(today) - 8)
    dormant = store.count_in(r, keys.logins, "-inf", day_number(today) - 31)
    new = store.count_in(r, keys.created, first_of_month, "+inf")
    ranking = keys.engagement if listed is None else keys.engagement_status(listed)
    first = store.ranked_in(r, ranking, 0, PAGE + 1)
    per_status = [store.count_in(r, keys.engagement_status(s), "-inf", "+inf")
                  for s in STATUSES]
    r.run()
    return EngagementTab(
        active_7d=int(active()[0]),
        at_risk=at_risk(),
        dormant=dormant(),
        new_this_month=new(),
        engagement_list=top(store, ranking, first(), lambda ids: [
            row for row in _engagement_page(store, ids, period, now)
            if listed is None or row.status == listed]),
        statuses=StatusCounts(**{s: count() for s, count in zip(STATUSES, per_status,
                                                                 strict=True)}),
        status_filter=listed,
    )


def _engagement_page(store: Store, ids: list[int], period: Period, now: datetime
                     ) -> list[EngagementRow]:
    today = now.date()
    rows = store.users(ids)
    asked = kept_asked(today)           # the sums the consumer keeps: read, not added up
    sums = store.user_sums(ids, asked.queries)
    sessions_part, views_part, before_part = list_parts(period)
    listed: list[EngagementRow] = []
    for uid, row in rows.items():
        found = asked.answer(sums[uid])
        counts = UserSums.read(found).engagement
        score = engagement_score(counts)
        (sessions,), (views,) = found[sessions_part], found[views_part]
        (before,) = found[before_part]
        if not row.listed() or (sessions == 0 and score == 0):
            continue
        last_login = row.last_login.date() if row.last_login else None
        listed.append(EngagementRow(
            user=user_ref(row), score=score, sessions=sessions, page_views=views,
            wow=wow(views, before), status=status(last_login, today, score),
            sparkline=found["sparkline"],
            components=components_of(engagement_components(counts)),
        ))
    return listed


