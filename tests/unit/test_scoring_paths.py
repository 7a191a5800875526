"""Session-length buckets and drop-off exit rates (half away from zero, exactly)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.paths import DROPOFF_MIN_VIEWS, LENGTH_BUCKETS, exit_rate, length_bucket


def test_buckets_in_ascending_order() -> None:
    assert LENGTH_BUCKETS == ("1 page", "2 pages", "3-5 pages", "6-10 pages", "10+ pages")
    assert DROPOFF_MIN_VIEWS == 5


@pytest.mark.parametrize(
    ("views", "bucket"),
    [(1, "1 page"), (2, "2 pages"), (3, "3-5 pages"), (5, "3-5 pages"), (6, "6-10 pages"),
     (10, "6-10 pages"), (11, "10+ pages"), (5000, "10+ pages")],
)
def test_length_bucket(views: int, bucket: str) -> None:
    assert length_bucket(views) == bucket


def test_a_session_without_views_has_no_bucket() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        length_bucket(0)


@given(st.integers(1, 10**6), st.integers(1, 10**6))
def test_bucket_order_follows_the_view_count(a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert LENGTH_BUCKETS.index(length_bucket(low)) <= LENGTH_BUCKETS.index(length_bucket(high))


@pytest.mark.parametrize(
    ("exits", "views", "rate"),
    [
        (1, 16, 6.3),  # 6.25: Python's round gives 6.2
        (5, 16, 31.3),  # 31.25
        (23, 2000, 1.2),  # 1.15: the float is 1.1499999999999999
        (1, 2000, 0.1),  # 0.05
        (1, 3, 33.3),
        (2, 3, 66.7),
        (0, 5, 0.0),
        (5, 5, 100.0),
    ],
)
def test_exit_rate_rounds_half_away_from_zero(exits: int, views: int, rate: float) -> None:
    assert exit_rate(exits, views) == rate


def test_the_half_cases_really_differ_from_float_rounding() -> None:
    assert round(1 / 16 * 100, 1) == 6.2
    assert round(23 / 2000 * 100, 1) == 1.1


def test_exit_rate_needs_views() -> None:
    with pytest.raises(ValueError, match="positive"):
        exit_rate(0, 0)


@given(st.integers(1, 10**7).flatmap(lambda v: st.tuples(st.integers(0, v), st.just(v))))
def test_exit_rate_is_the_exact_rate_rounded_half_up(case: tuple[int, int]) -> None:
    exits, views = case
    tenths = int(Fraction(1000 * exits, views) + Fraction(1, 2))  # floor, values >= 0
    assert exit_rate(exits, views) == float(Fraction(tenths, 10))
    assert 0.0 <= exit_rate(exits, views) <= 100.0
