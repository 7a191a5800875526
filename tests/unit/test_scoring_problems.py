"""The problem score: each weight, the cap, explainable components, monotonicity."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.problems import (
    PROBLEM_CAP,
    PROBLEM_WEIGHTS,
    ProblemCounts,
    problem_components,
    problem_score,
)

NONE = ProblemCounts(0, 0, 0, 0, 0, is_locked=False)
COUNT_FIELDS = ["failed_logins", "password_resets", "js_errors", "slow_pages", "security_alerts"]
counts = st.builds(
    ProblemCounts,
    *(st.integers(min_value=0, max_value=200) for _ in COUNT_FIELDS),
    is_locked=st.booleans(),
)


def test_weights_and_cap_are_the_reference_ones_in_its_order() -> None:
    assert list(PROBLEM_WEIGHTS.items()) == [
        ("failed_logins", 10), ("password_resets", 15), ("js_errors", 3),
        ("slow_pages", 2), ("security_alerts", 20), ("is_locked", 40),
    ]
    assert PROBLEM_CAP == 100


@pytest.mark.parametrize(
    ("field", "one", "two"),
    [("failed_logins", 10, 20), ("password_resets", 15, 30), ("js_errors", 3, 6),
     ("slow_pages", 2, 4), ("security_alerts", 20, 40)],
)
def test_each_count_scores_its_weight_per_unit(field: str, one: int, two: int) -> None:
    assert problem_score(replace(NONE, **{field: 1})) == one
    assert problem_score(replace(NONE, **{field: 2})) == two


def test_a_lock_scores_40_and_nothing_scores_0() -> None:
    assert problem_score(replace(NONE, is_locked=True)) == 40
    assert problem_score(NONE) == 0


def test_terms_add_up() -> None:
    counts = ProblemCounts(1, 1, 1, 1, 1, is_locked=False)
    assert problem_score(counts) == 10 + 15 + 3 + 2 + 20


@pytest.mark.parametrize(
    ("counts", "score"),
    [
        (replace(NONE, failed_logins=10), 100),
        (replace(NONE, failed_logins=11), 100),
        (replace(NONE, security_alerts=3, is_locked=True), 100),
        (replace(NONE, security_alerts=4, is_locked=True), 100),
        (replace(NONE, js_errors=33), 99),
        (replace(NONE, js_errors=34), 100),
        (replace(NONE, slow_pages=1000), 100),
    ],
)
def test_score_is_capped_at_100(counts: ProblemCounts, score: int) -> None:
    assert problem_score(counts) == score


def test_components_explain_every_term_in_order() -> None:
    counts = ProblemCounts(2, 1, 5, 7, 3, is_locked=True)
    parts = problem_components(counts)
    assert [p.name for p in parts] == list(PROBLEM_WEIGHTS)
    assert [(p.count, p.weight, p.points) for p in parts] == [
        (2, 10, 20), (1, 15, 15), (5, 3, 15), (7, 2, 14), (3, 20, 60), (1, 40, 40),
    ]
    assert problem_score(counts) == 100  # 164 before the cap


@pytest.mark.parametrize("field", [*COUNT_FIELDS])
def test_negative_counts_are_refused(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        replace(NONE, **{field: -1})


@given(counts)
def test_score_is_the_capped_sum_of_the_components(counts: ProblemCounts) -> None:
    score = problem_score(counts)
    assert 0 <= score <= PROBLEM_CAP
    assert score == min(PROBLEM_CAP, sum(p.points for p in problem_components(counts)))
    assert all(p.points == p.count * p.weight for p in problem_components(counts))


@given(counts, st.sampled_from(COUNT_FIELDS), st.integers(min_value=0, max_value=50))
def test_score_never_drops_when_a_count_grows(counts: ProblemCounts, field: str, more: int) -> None:
    grown = replace(counts, **{field: getattr(counts, field) + more})
    assert problem_score(grown) >= problem_score(counts)
    assert problem_score(replace(counts, is_locked=True)) >= problem_score(counts)


@given(counts)
def test_one_more_unit_adds_its_weight_up_to_the_cap(counts: ProblemCounts) -> None:
    for field in COUNT_FIELDS:
        before = problem_score(counts)
        after = problem_score(replace(counts, **{field: getattr(counts, field) + 1}))
        assert after == min(PROBLEM_CAP, before + PROBLEM_WEIGHTS[field])
