"""The reference's two per-user scores, as pure formulas over counts."""

from __future__ import annotations

from typing import NamedTuple


class EngagementParts(NamedTuple):
    """A user's engagement score components over the month window."""

    sessions: int = 0
    views: int = 0
    clicks: int = 0
    seconds: int = 0  # summed session durations
    conversions: int = 0
    searches: int = 0


def problem_score(*, failed_logins: int, password_resets: int, js_errors: int,
                  slow_pages: int, security_alerts: int, is_locked: bool) -> int:
    """Problem score, 0..100 points.

    ``failed_logins`` is the user's current failed-login counter, ``password_resets`` the
    resets of the month window; the other counts are over the caller's window.
    """
    raw = (failed_logins * 10 + password_resets * 15 + js_errors * 3 + slow_pages * 2
           + security_alerts * 20 + int(is_locked) * 40)
    return min(100, raw)


def engagement_score(p: EngagementParts) -> int:
    """Engagement score, 0..100 points, over month-window counts.

    3 per session, 1 per page view, 0.5 per click, 2 per minute of session duration,
    10 per conversion, 2 per search; computed in floating point in the reference's
    order of operations, capped at 100, then truncated.
    """
    raw = (p.sessions * 3 + p.views * 1 + p.clicks * 0.5 + p.seconds / 60 * 2
           + p.conversions * 10 + p.searches * 2)
    return int(min(100, raw))


def week_over_week(current: int, previous: int) -> int | None:
    """Change of page views against the previous period, in percent (banker's rounding).

    100 when only the current period has views; None when neither has any.
    """
    if previous > 0:
        return round((current - previous) / previous * 100)
    if current > 0:
        return 100
    return None


def engagement_status(days_since_login: int | None, score: int) -> str:
    """``active``, ``at_risk`` or ``dormant`` from the last login's age in days and the score."""
    if days_since_login is not None and days_since_login <= 7 and score >= 20:
        return "active"
    if (days_since_login is not None and 8 <= days_since_login <= 30) or 5 <= score < 20:
        return "at_risk"
    return "dormant"
