"""The engagement score: float terms, cap then truncation, components, monotonicity."""

from __future__ import annotations

import math
from dataclasses import replace
from functools import reduce
from operator import add

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.engagement import (
    ENGAGEMENT_CAP,
    EngagementCounts,
    engagement_components,
    engagement_score,
)

NONE = EngagementCounts(0, 0, 0, 0, 0, 0)
FIELDS = ["sessions", "page_views", "clicks", "seconds", "conversions", "searches"]
small = st.integers(min_value=0, max_value=60)
counts = st.one_of(
    # Mostly below the cap, where truncation matters, and sometimes far above it.
    st.builds(EngagementCounts, small, small, small, st.integers(0, 3600), small, small),
    st.builds(EngagementCounts, *(st.integers(min_value=0, max_value=10**9) for _ in FIELDS)),
)


def reference(c: EngagementCounts) -> int:
    """semantics.md 14, written out as the reference writes it."""
    raw = (c.sessions * 3 + c.page_views * 1 + int(c.clicks) * 0.5
           + int(c.seconds) / 60 * 2 + c.conversions * 10 + c.searches * 2)
    return int(min(100, raw))


@pytest.mark.parametrize(
    ("field", "value", "score"),
    [
        ("sessions", 1, 3), ("page_views", 1, 1), ("conversions", 1, 10), ("searches", 1, 2),
        ("clicks", 2, 1), ("clicks", 1, 0),  # half a point, truncated
        ("seconds", 60, 2), ("seconds", 30, 1), ("seconds", 29, 0), ("seconds", 90, 3),
    ],
)
def test_each_count_scores_its_weight(field: str, value: int, score: int) -> None:
    assert engagement_score(replace(NONE, **{field: value})) == score


def test_fractions_are_truncated_not_rounded() -> None:
    # 6 sessions (18) + 3 clicks (1.5) + 12 seconds (0.4) = 19.9
    assert engagement_score(EngagementCounts(6, 0, 3, 12, 0, 0)) == 19
    # 5 sessions (15) + 9 clicks (4.5) = 19.5
    assert engagement_score(EngagementCounts(5, 0, 9, 0, 0, 0)) == 19


@pytest.mark.parametrize(
    ("counts", "score"),
    [
        (EngagementCounts(33, 0, 1, 0, 0, 0), 99),  # 99.5
        (EngagementCounts(33, 1, 0, 0, 0, 0), 100),
        (EngagementCounts(34, 0, 0, 0, 0, 0), 100),  # 102
        (EngagementCounts(0, 0, 0, 10**6, 0, 0), 100),
        (EngagementCounts(1, 1, 1, 1, 10, 1), 100),
    ],
)
def test_score_is_capped_at_100(counts: EngagementCounts, score: int) -> None:
    assert engagement_score(counts) == score


def test_components_explain_every_term_in_order() -> None:
    counts = EngagementCounts(2, 5, 3, 90, 1, 4)
    parts = engagement_components(counts)
    assert [p.name for p in parts] == FIELDS
    assert [p.count for p in parts] == [2, 5, 3, 90, 1, 4]
    assert [p.points for p in parts] == [6, 5, 1.5, 3, 10, 8]
    assert [p.weight for p in parts][:3] == [3, 1, 0.5]
    assert [p.weight for p in parts][4:] == [10, 2]
    assert engagement_score(counts) == 33  # 33.5


def test_time_component_counts_seconds_at_two_points_a_minute() -> None:
    # 23 s is one where seconds * (2 / 60) and seconds / 60 * 2 differ in the last bit.
    (time,) = [p for p in engagement_components(replace(NONE, seconds=23)) if p.name == "seconds"]
    assert time.count == 23
    assert time.weight == pytest.approx(1 / 30)
    assert time.points == 23 / 60 * 2 != 23 * (2 / 60)
    assert math.isclose(time.count * time.weight, time.points)


@pytest.mark.parametrize("field", FIELDS)
def test_negative_counts_are_refused(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        replace(NONE, **{field: -1})


@given(counts)
def test_score_matches_the_reference_expression(counts: EngagementCounts) -> None:
    assert engagement_score(counts) == reference(counts)


@given(counts)
def test_score_is_the_truncated_capped_sum_of_the_components(counts: EngagementCounts) -> None:
    score = engagement_score(counts)
    assert 0 <= score <= ENGAGEMENT_CAP
    # A left fold, as the reference adds: sum() of floats is compensated since 3.12.
    total = reduce(add, (p.points for p in engagement_components(counts)), 0.0)
    assert score == int(min(ENGAGEMENT_CAP, total))


@given(counts, st.sampled_from(FIELDS), st.integers(min_value=0, max_value=1000))
def test_score_never_drops_when_a_count_grows(
    counts: EngagementCounts, field: str, more: int
) -> None:
    grown = replace(counts, **{field: getattr(counts, field) + more})
    assert engagement_score(grown) >= engagement_score(counts)
