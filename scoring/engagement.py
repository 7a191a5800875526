"""The engagement score, status and trends of the engagement tab and the profile.

The score follows the reference to the float: the terms are added left to right in
floating point, capped at 100, then truncated (semantics 14), so 19.9 points is 19.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from types import MappingProxyType
from typing import Final, Literal

from scoring.components import Component

ENGAGEMENT_CAP: Final = 100
# Points per unit; time scores 2 points a minute, i.e. 2/60 per second.
ENGAGEMENT_WEIGHTS: Final[Mapping[str, float]] = MappingProxyType(
    {
        "sessions": 3,
        "page_views": 1,
        "clicks": 0.5,
        "seconds": 2 / 60,
        "conversions": 10,
        "searches": 2,
    }
)
TREND_CAP: Final = 30
WOW_FROM_NOTHING: Final = 100
# Last-login ages in days (semantics 12, 16).
RECENT_DAYS: Final = 7
AT_RISK_DAYS: Final = 30
# Score thresholds of the status (semantics 16).
ACTIVE_SCORE: Final = 20
AT_RISK_SCORE: Final = 5

Status = Literal["active", "at_risk", "dormant"]
STATUSES: Final[tuple[Status, ...]] = ("active", "at_risk", "dormant")
Recency = Literal["recent", "at_risk", "dormant"]


@dataclass(frozen=True)
class EngagementCounts:
    """A user's activity in the month window (semantics 14), never negative.

    ``clicks`` and ``seconds`` are the sums over the sessions started in the window;
    a session without ``session_end`` adds 0 to both.
    """

    sessions: int
    page_views: int
    clicks: int
    seconds: int
    conversions: int
    searches: int

    def __post_init__(self) -> None:
        for field in fields(self):
            if getattr(self, field.name) < 0:
                raise ValueError(f"{field.name} cannot be negative: {getattr(self, field.name)}")


def engagement_components(counts: EngagementCounts) -> list[Component]:
    """One component per entry of ``ENGAGEMENT_WEIGHTS``, in its order (uncapped points).

    The time component is named ``seconds`` and counts seconds; its points are
    ``seconds / 60 * 2``. Summed left to right, the points give exactly the float
    the score is truncated from.
    """
    points = _points(counts)
    return [
        Component(name, getattr(counts, name), weight, points[name])
        for name, weight in ENGAGEMENT_WEIGHTS.items()
    ]


def engagement_score(counts: EngagementCounts) -> int:
    """Engagement score in points, 0..100: the float sum capped at 100, then truncated."""
    total = 0.0
    # A plain left fold like the reference's expression: sum() of floats is
    # compensated since Python 3.12 and could land on the other side of an integer.
    for value in _points(counts).values():
        total += value
    return int(min(ENGAGEMENT_CAP, total))


def _points(counts: EngagementCounts) -> dict[str, float]:
    # Each term exactly as the reference writes it, so the float sum matches it bit
    # for bit (seconds / 60 * 2 is not always equal to seconds * (2 / 60)).
    return {
        "sessions": float(counts.sessions * 3),
        "page_views": float(counts.page_views * 1),
        "clicks": counts.clicks * 0.5,
        "seconds": counts.seconds / 60 * 2,
        "conversions": float(counts.conversions * 10),
        "searches": float(counts.searches * 2),
    }


def status(last_login: date | None, today: date, score: int) -> Status:
    """The engagement list's status (semantics 16).

    ``active``: last login at most 7 days ago and score >= 20; else ``at_risk``:
    last login 8..30 days ago or 5 <= score < 20; else ``dormant`` (never logged in
    and score < 5 included).
    """
    days = None if last_login is None else (today - last_login).days
    if days is not None and days <= RECENT_DAYS and score >= ACTIVE_SCORE:
        return "active"
    if (days is not None and RECENT_DAYS < days <= AT_RISK_DAYS) or (
        AT_RISK_SCORE <= score < ACTIVE_SCORE
    ):
        return "at_risk"
    return "dormant"


def login_recency(last_login: date | None, today: date) -> Recency:
    """Which engagement card a user counts in by last login alone (semantics 12).

    Never logged in, or more than 30 days ago: ``dormant``; 8..30 days ago:
    ``at_risk``; otherwise (0..7 days, or a last login dated after today) ``recent``,
    which is neither card.
    """
    if last_login is None:
        return "dormant"
    days = (today - last_login).days
    if days > AT_RISK_DAYS:
        return "dormant"
    if days > RECENT_DAYS:
        return "at_risk"
    return "recent"


def is_new_this_month(created: date | None, today: date) -> bool:
    """Whether the account was created on or after the 1st of today's calendar month."""
    return created is not None and created >= today.replace(day=1)


def wow(current: int, previous: int) -> int | None:
    """Week-over-week change of page views in percent (semantics 15).

    Python's ``round`` of the float ratio, so exact halves go to the even integer
    (+12.5 % -> 12, +37.5 % -> 38); 100 when only the current period has views;
    ``None`` when neither has any.
    """
    if previous > 0:
        return round((current - previous) / previous * 100)
    if current > 0:
        return WOW_FROM_NOTHING
    return None


def daily_trend_score(sessions: int, page_views: int) -> int:
    """One day of the profile's 30-day trend, in points: ``sessions*3 + page_views``, max 30."""
    return min(TREND_CAP, sessions * 3 + page_views)


def avg_sessions_week(total_sessions: int, created: date | None, today: date) -> float:
    """All-time sessions per week since the account was created, 1 decimal (semantics 28).

    Weeks are ``days / 7`` but at least 1 (a missing ``created`` counts as today);
    rounded with Python's ``round(x, 1)`` as the reference does.
    """
    days = 0 if created is None else (today - created).days
    weeks = max(1, days / 7)
    return round(total_sessions / weeks, 1)
