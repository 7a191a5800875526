"""Re-scoring users: what the rankings store for each.

Rankings are sorted sets of absolute scores, recomputed from the user's whole
state (PostgreSQL row + Redis day counters, ``insights.readmodel.userstate``) whenever a
batch touches the user and again when the windows roll at midnight. Writing a
score twice is harmless; ``insights/readmodel/lua/rank.lua`` keeps a slower writer from
overwriting a newer score.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any

from insights.alerts.detection import Reading
from insights.alerts.rules import Metric, Value
from insights.readmodel.userstate import UserRow, UserSums, problem_counts
from scoring.components import as_json
from scoring.engagement import STATUSES, engagement_components, engagement_score, status
from scoring.problems import problem_components, problem_score
from scoring.windows import PERIODS, Period, day_number

_PROBLEM_METRICS: dict[Metric, Period] = {
    "problem_day": "day", "problem_week": "week", "problem_month": "month"}


def rank_values(row: UserRow, sums: UserSums, alerts: Sequence[int], now: datetime
                ) -> list[str]:
    """The values ``rank.lua`` stores for one user, one per ``Keys.ranked_sets`` ("" = not
    in that set)."""
    active = row.active()
    values = []
    for period in PERIODS:
        score = problem_score(problem_counts(row, sums, alerts, period, now)) if active else 0
        values.append(str(score) if score > 0 else "")
    engaged = engagement_score(sums.engagement) if row.listed() else 0
    values.append(str(engaged) if engaged > 0 else "")
    values.append(_day(row.last_login, -1) if active else "")
    values.append(_day(row.created_at, None) if active else "")
    # Only current locks are indexed: ``tick`` re-scores them when they expire.
    until = row.locked_until
    values.append(str(until.timestamp()) if active and until and until > now else "")
    # The list's users once more, by status: it moves with the days since the last
    # login, and the midnight roll re-scores every user of the list.
    last_login = row.last_login.date() if row.last_login else None
    now_in = status(last_login, now.date(), engaged) if engaged > 0 else None
    values += [str(engaged) if s == now_in else "" for s in STATUSES]
    return values


def _day(moment: datetime | None, missing: int | None) -> str:
    if moment is None:
        return "" if missing is None else str(missing)
    return str(day_number(moment.date()))


def reading(row: UserRow, sums: UserSums, alerts: Sequence[int], values: Sequence[str],
            now: datetime) -> Reading | None:
    """What the alert rules read of a re-scored user (``values``: ``rank_values``'s),
    or None for a user no rule watches (not tracked, or no longer active)."""
    if not row.active():
        return None
    found: dict[Metric, Value] = {
        metric: int(values[PERIODS.index(period)] or 0)
        for metric, period in _PROBLEM_METRICS.items()}
    found["locked"] = int(row.locked(now))
    if row.listed():
        engaged = int(values[len(PERIODS)] or 0)
        found["engagement"] = engaged
        last = row.last_login.date() if row.last_login else None
        found["status"] = status(last, now.date(), engaged)
    return Reading(row.id, row.role, found, partial(_detail, row, sums, alerts, now))


def _detail(row: UserRow, sums: UserSums, alerts: Sequence[int], now: datetime,
            metric: Metric) -> dict[str, Any]:
    """What an alert on ``metric`` carries: the user and the score's components."""
    detail: dict[str, Any] = {"user": {"email": row.email, "name": row.name,
                                       "role": row.role}, "metric": metric}
    period = _PROBLEM_METRICS.get(metric)
    if period is not None or metric == "locked":
        counts = problem_counts(row, sums, alerts, period or "week", now)
        detail["components"] = as_json(problem_components(counts))
    elif metric in ("engagement", "status"):
        detail["components"] = as_json(engagement_components(sums.engagement))
    return detail
