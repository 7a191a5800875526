"""Bar widths and intensities: the reference's float ``int(value / max * 100)``."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.ratios import bar_pct, capped_pct


@pytest.mark.parametrize(
    ("value", "maximum", "pct"),
    [
        (5, 10, 50), (10, 10, 100), (1, 3, 33), (2, 3, 66),
        (29, 100, 28),  # 29 / 100 * 100 is 28.999999999999996 in floating point
        (0, 0, 0), (0, 0.5, 0), (1, 0, 100), (1, 0.5, 100),  # a maximum below 1 counts as 1
    ],
)
def test_bar_pct(value: float, maximum: float, pct: int) -> None:
    assert bar_pct(value, maximum) == pct


def test_capped_pct_stops_at_100() -> None:
    assert capped_pct(150, 100) == 100
    assert capped_pct(3, 0) == 100
    assert capped_pct(50, 100) == 50


@given(st.integers(1, 10**9).flatmap(lambda m: st.tuples(st.integers(0, m), st.just(m))))
def test_bar_pct_of_counts_is_within_0_and_100(case: tuple[int, int]) -> None:
    value, maximum = case
    pct = bar_pct(value, maximum)
    assert 0 <= pct <= 100
    assert pct == int(value / maximum * 100)
    assert bar_pct(maximum, maximum) == 100
    assert capped_pct(value, maximum) == pct


@given(st.integers(0, 10**6), st.integers(0, 10**6))
def test_capped_pct_never_exceeds_100(value: int, maximum: int) -> None:
    assert 0 <= capped_pct(value, maximum) <= 100
    assert capped_pct(value, maximum) == min(100, bar_pct(value, maximum))
