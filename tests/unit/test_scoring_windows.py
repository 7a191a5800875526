"""Periods and UTC day arithmetic: the reference's windows, month and year ends, leap days."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta, timezone
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.windows import (
    PERIOD_DAYS,
    PERIODS,
    day_number,
    from_day_number,
    iso_week_start,
    last_days,
    midnight,
    month_start,
    parse_period,
    period_start,
    previous_start,
    weekday_row,
)

days = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))
aware = st.datetimes(
    min_value=datetime(1900, 1, 2), max_value=datetime(2200, 12, 30), timezones=st.timezones()
)


def test_periods_and_their_lengths() -> None:
    assert PERIODS == ("day", "week", "month")
    assert dict(PERIOD_DAYS) == {"day": 1, "week": 7, "month": 30}


@pytest.mark.parametrize("value", ["day", "week", "month"])
def test_parse_period_accepts_the_three_names(value: str) -> None:
    assert parse_period(value) == value


@pytest.mark.parametrize("value", ["", "Week", "year", " day", "month "])
def test_parse_period_rejects_anything_else_naming_the_choices(value: str) -> None:
    with pytest.raises(ValueError, match="day, week, month") as error:
        parse_period(value)
    assert repr(value) in str(error.value)


@pytest.mark.parametrize(
    ("period", "today", "start", "previous"),
    [
        ("day", date(2024, 3, 1), date(2024, 3, 1), date(2024, 2, 29)),
        ("week", date(2024, 3, 1), date(2024, 2, 23), date(2024, 2, 16)),
        # 2024 is a leap year: 30 days before March 1st is January 31st.
        ("month", date(2024, 3, 1), date(2024, 1, 31), date(2024, 1, 1)),
        ("month", date(2023, 3, 1), date(2023, 1, 30), date(2022, 12, 31)),
        ("week", date(2025, 1, 3), date(2024, 12, 27), date(2024, 12, 20)),
        ("day", date(2025, 1, 1), date(2025, 1, 1), date(2024, 12, 31)),
        ("month", date(2024, 12, 31), date(2024, 12, 1), date(2024, 11, 1)),
    ],
)
def test_period_and_previous_starts_across_month_year_and_leap_ends(
    period: str, today: date, start: date, previous: date
) -> None:
    p = parse_period(period)
    assert period_start(p, today) == start
    assert previous_start(p, today) == previous


@given(days)
def test_month_window_is_31_days_and_the_week_window_8(today: date) -> None:
    assert month_start(today) == period_start("month", today)
    assert last_days(today, 31)[0] == month_start(today)
    assert last_days(today, 8)[0] == period_start("week", today)
    assert last_days(today, 1) == [period_start("day", today)]


@given(st.sampled_from(PERIODS), days)
def test_previous_period_has_the_period_length_and_ends_where_it_starts(
    period: str, today: date
) -> None:
    p = parse_period(period)
    assert (period_start(p, today) - previous_start(p, today)).days == PERIOD_DAYS[p]


@given(days, st.integers(min_value=0, max_value=400))
def test_last_days_are_consecutive_and_end_today(today: date, n: int) -> None:
    result = last_days(today, n)
    assert len(result) == n
    if n:
        assert result[-1] == today
        assert result[0] == today - timedelta(days=n - 1)
    assert all((b - a).days == 1 for a, b in pairwise(result))


def test_last_days_across_a_leap_february() -> None:
    assert last_days(date(2024, 3, 2), 3) == [date(2024, 2, 29), date(2024, 3, 1), date(2024, 3, 2)]
    assert last_days(date(2024, 3, 2), 0) == []
    with pytest.raises(ValueError, match="negative"):
        last_days(date(2024, 3, 2), -1)


@pytest.mark.parametrize(
    ("day", "number"),
    [(date(1970, 1, 1), 0), (date(1970, 1, 2), 1), (date(1969, 12, 31), -1),
     (date(2000, 3, 1), 11017)],
)
def test_day_numbers(day: date, number: int) -> None:
    assert day_number(day) == number
    assert from_day_number(number) == day


@given(days)
def test_day_number_counts_utc_days_and_round_trips(day: date) -> None:
    assert day_number(day) * 86400 == calendar.timegm(day.timetuple())
    assert from_day_number(day_number(day)) == day
    assert day_number(day + timedelta(days=1)) == day_number(day) + 1


@given(days)
def test_midnight_is_the_aware_utc_start_of_the_day(day: date) -> None:
    moment = midnight(day)
    assert moment.tzinfo is UTC
    assert moment.date() == day
    assert (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0)
    assert moment.timestamp() == day_number(day) * 86400


@pytest.mark.parametrize(
    ("day", "monday"),
    [
        (date(2021, 1, 1), date(2020, 12, 28)),  # a Friday of ISO week 53 of 2020
        (date(2024, 12, 31), date(2024, 12, 30)),
        (date(2024, 3, 3), date(2024, 2, 26)),  # a Sunday ends its week
        (date(2024, 3, 4), date(2024, 3, 4)),
    ],
)
def test_iso_week_start(day: date, monday: date) -> None:
    assert iso_week_start(day) == monday


@given(days)
def test_iso_week_start_is_the_monday_of_the_same_iso_week(day: date) -> None:
    monday = iso_week_start(day)
    assert monday.isoweekday() == 1
    assert 0 <= (day - monday).days <= 6
    assert monday.isocalendar()[:2] == day.isocalendar()[:2]


def test_weekday_rows_start_on_sunday_and_use_utc() -> None:
    assert weekday_row(datetime(2024, 3, 3, 12, tzinfo=UTC)) == 0  # Sunday
    assert weekday_row(datetime(2024, 3, 9, 23, 59, tzinfo=UTC)) == 6  # Saturday
    # Monday 00:30 in UTC+2 is still Sunday in UTC.
    assert weekday_row(datetime(2024, 3, 4, 0, 30, tzinfo=timezone(timedelta(hours=2)))) == 0


@given(aware)
def test_weekday_row_matches_postgresql_dow_of_the_utc_time(moment: datetime) -> None:
    assert weekday_row(moment) == int(moment.astimezone(UTC).strftime("%w"))


def test_naive_datetimes_and_datetimes_for_days_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        weekday_row(datetime(2024, 3, 3, 12))
    moment = datetime(2024, 3, 3, 23, tzinfo=UTC)
    for call in (day_number, midnight, iso_week_start, month_start):
        with pytest.raises(TypeError, match="datetime"):
            call(moment)
    with pytest.raises(TypeError):
        period_start("week", moment)
