"""The overview's day-hash fields are read by name (``web.tabs.site``): one layout."""

from __future__ import annotations

import pytest

from web.tabs.site import (
    CHART_FIELDS,
    DEVICES,
    MONTH_FIELDS,
    Devices,
    Sessions,
    chart_day,
    month_day,
)


def test_each_value_lands_on_the_field_it_was_fetched_for() -> None:
    # Each value is its field's position, so a slice that drifts shows.
    day = month_day(list(range(len(MONTH_FIELDS))))
    named = {"ss": day.sessions.all, "sl": day.sessions.logged, "sa": day.sessions.anonymous,
             **{f"hr:{h}": n for h, n in enumerate(day.hours)},
             **{f"dv:{d}": n for d, n in zip(DEVICES, day.devices, strict=True)}}
    assert [MONTH_FIELDS[n] for n in named.values()] == list(named)
    assert len(named) == len(MONTH_FIELDS) == 30
    chart = chart_day([10, 11, 12, 13])
    assert chart.sessions == Sessions(10, 11, 12) and chart.pageviews == 13
    assert CHART_FIELDS == ("ss", "sl", "sa", "pv")


def test_a_layout_of_the_wrong_length_is_an_error_not_a_shift() -> None:
    with pytest.raises((TypeError, ValueError)):
        month_day(list(range(len(MONTH_FIELDS) - 1)))
    with pytest.raises((TypeError, ValueError)):
        chart_day([1, 2, 3, 4, 5])


def test_the_filter_picks_its_sessions() -> None:
    sessions = Sessions(all=9, logged=5, anonymous=4)
    assert [sessions.filtered(f) for f in ("all", "logged", "anonymous")] == [9, 5, 4]
    assert Devices._fields == DEVICES == ("desktop", "mobile", "tablet")
