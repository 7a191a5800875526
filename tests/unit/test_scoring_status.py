"""Status, login recency, new accounts, week-over-week, the daily trend, sessions a week."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.engagement import (
    avg_sessions_week,
    daily_trend_score,
    is_new_this_month,
    login_recency,
    status,
    wow,
)

TODAY = date(2024, 3, 1)  # the day after a leap day
ages = st.one_of(st.none(), st.integers(min_value=-3, max_value=60))
scores = st.integers(min_value=0, max_value=100)


def ago(days: int | None) -> date | None:
    return None if days is None else TODAY - timedelta(days=days)


@pytest.mark.parametrize(
    ("days", "score", "expected"),
    [
        (0, 20, "active"), (7, 20, "active"), (7, 100, "active"),
        (7, 19, "at_risk"), (8, 20, "at_risk"), (30, 100, "at_risk"),
        (31, 20, "dormant"), (31, 19, "at_risk"), (31, 5, "at_risk"), (31, 4, "dormant"),
        (0, 4, "dormant"), (7, 4, "dormant"),  # a recent login alone is not enough
        (8, 0, "at_risk"), (30, 0, "at_risk"), (31, 0, "dormant"),
        (0, 5, "at_risk"),
        (None, 100, "dormant"), (None, 19, "at_risk"), (None, 5, "at_risk"), (None, 0, "dormant"),
        (-1, 20, "active"),  # a last login dated after today counts as recent
    ],
)
def test_status_boundaries(days: int | None, score: int, expected: str) -> None:
    assert status(ago(days), TODAY, score) == expected


def test_status_counts_days_across_the_leap_day() -> None:
    assert status(date(2024, 2, 23), TODAY, 20) == "active"  # 7 days before March 1st
    assert status(date(2024, 2, 22), TODAY, 20) == "at_risk"
    assert status(date(2024, 1, 31), TODAY, 20) == "at_risk"  # 30 days
    assert status(date(2024, 1, 30), TODAY, 20) == "dormant"


@pytest.mark.parametrize(
    ("days", "expected"),
    [(None, "dormant"), (-1, "recent"), (0, "recent"), (7, "recent"), (8, "at_risk"),
     (30, "at_risk"), (31, "dormant"), (400, "dormant")],
)
def test_login_recency_boundaries(days: int | None, expected: str) -> None:
    assert login_recency(ago(days), TODAY) == expected


@given(ages, scores)
def test_status_agrees_with_login_recency(days: int | None, score: int) -> None:
    result = status(ago(days), TODAY, score)
    recency = login_recency(ago(days), TODAY)
    if result == "active":
        assert recency == "recent" and score >= 20
    if recency == "at_risk" or 5 <= score < 20:
        assert result == "at_risk"
    if result == "dormant":
        assert score < 5 or score >= 20


@pytest.mark.parametrize(
    ("created", "today", "expected"),
    [
        (date(2024, 3, 1), date(2024, 3, 15), True),
        (date(2024, 2, 29), date(2024, 3, 15), False),
        (date(2024, 3, 20), date(2024, 3, 15), True),
        (date(2024, 12, 31), date(2025, 1, 1), False),
        (date(2025, 1, 1), date(2025, 1, 1), True),
        (None, date(2025, 1, 1), False),
    ],
)
def test_new_this_month_is_the_calendar_month(
    created: date | None, today: date, expected: bool
) -> None:
    assert is_new_this_month(created, today) is expected


@pytest.mark.parametrize(
    ("current", "previous", "expected"),
    [
        # Halves go to the even neighbour (Python's round), not away from zero.
        (9, 8, 12),  # +12.5 %
        (11, 8, 38),  # +37.5 %
        (13, 8, 62),  # +62.5 %
        (3, 8, -62),  # -62.5 %
        (5, 8, -38),  # -37.5 %
        (10, 10, 0), (0, 8, -100), (16, 8, 100), (1001, 1000, 0),
        (5, 0, 100), (0, 0, None),
    ],
)
def test_wow(current: int, previous: int, expected: int | None) -> None:
    assert wow(current, previous) == expected


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=1, max_value=10**6))
def test_wow_is_the_nearest_whole_percent(current: int, previous: int) -> None:
    result = wow(current, previous)
    assert result is not None
    assert abs(result - (current - previous) / previous * 100) <= 0.5
    assert (result > 0) <= (current > previous) and (result < 0) <= (current < previous)


@pytest.mark.parametrize(
    ("sessions", "views", "expected"),
    [(0, 0, 0), (1, 5, 8), (0, 29, 29), (0, 30, 30), (9, 3, 30), (9, 4, 30), (10, 0, 30)],
)
def test_daily_trend_score(sessions: int, views: int, expected: int) -> None:
    assert daily_trend_score(sessions, views) == expected


@given(st.integers(0, 10**4), st.integers(0, 10**4))
def test_daily_trend_score_stays_within_0_and_30(sessions: int, views: int) -> None:
    assert 0 <= daily_trend_score(sessions, views) <= 30
    assert daily_trend_score(sessions, views + 1) >= daily_trend_score(sessions, views)


@pytest.mark.parametrize(
    ("total", "created", "expected"),
    [
        (5, date(2024, 2, 16), 2.5),  # 14 days: 2 weeks
        (3, date(2024, 2, 20), 2.1),  # 10 days: 1.43 weeks
        (1, date(2024, 2, 2), 0.2),  # 28 days: 0.25, a half going to the even 0.2
        (3, date(2024, 2, 2), 0.8),  # 0.75 -> 0.8
        (4, date(2024, 2, 27), 4.0),  # under a week counts as one week
        (4, date(2024, 3, 9), 4.0),  # created after today
        (4, None, 4.0),
        (0, date(2023, 3, 1), 0.0),
    ],
)
def test_avg_sessions_week(total: int, created: date | None, expected: float) -> None:
    assert avg_sessions_week(total, created, TODAY) == expected
