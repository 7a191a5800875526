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

from insights.readmodel.userstate import UserRow, UserSums, problem_counts
from scoring.engagement import engagement_score
from scoring.problems import problem_score
from scoring.windows import PERIODS, day_number


def rank_values(row: UserRow, sums: UserSums, alerts: Sequence[int], now: datetime
                ) -> list[str]:
    """The 7 values ``rank.lua`` stores for one user ("" = not in that set)."""
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
    return values


def _day(moment: datetime | None, missing: int | None) -> str:
    if moment is None:
        return "" if missing is None else str(missing)
    return str(day_number(moment.date()))
