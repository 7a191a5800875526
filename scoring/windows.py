"""Periods, windows and UTC day arithmetic of the reference dashboard.

Every window is a start day, taken from 00:00 UTC, with no end (semantics 1-2).
"Today" is always passed in; nothing here reads the clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import Final, Literal

Period = Literal["day", "week", "month"]
PERIODS: tuple[Period, ...] = ("day", "week", "month")
WINDOW_STARTS: Final[Mapping[Period, int]] = MappingProxyType({"day": 0, "week": 7, "month": 30})
"""Days before today (UTC) where each period's window starts (semantics 2): the one
definition of the windows, also generated into the Lua scripts (``SPANS``)."""
PERIOD_DAYS: Final[Mapping[Period, int]] = MappingProxyType(
    {p: max(1, back) for p, back in WINDOW_STARTS.items()})
"""Length in days of a period, as week-over-week takes it (semantics 3): the days from
its window's start to today, at least 1 (``day``: today, compared with yesterday)."""
MONTH_DAYS: Final = WINDOW_STARTS["month"]
"""Every fixed "30 days" of the reference starts this many days before today."""

_EPOCH: Final = date(1970, 1, 1)


def parse_period(value: str) -> Period:
    """The period named by ``value``; ``ValueError`` naming the choices otherwise."""
    for period in PERIODS:
        if value == period:
            return period
    raise ValueError(f"unknown period {value!r}: expected one of {', '.join(PERIODS)}")


def period_start(period: Period, today: date) -> date:
    """First day of the period's window: today, or 7 or 30 days before it.

    So ``week`` covers 8 calendar days and ``month`` 31, today included, exactly as
    the reference's ``_get_period_dates``.
    """
    return _as_date(today) - timedelta(days=WINDOW_STARTS[period])


def previous_start(period: Period, today: date) -> date:
    """First day of the previous period: the ``PERIOD_DAYS`` days before the window."""
    return period_start(period, today) - timedelta(days=PERIOD_DAYS[period])


def month_start(today: date) -> date:
    """First day of every fixed "30 days" window of the reference (``start_30d``)."""
    return _as_date(today) - timedelta(days=MONTH_DAYS)


def last_days(today: date, n: int) -> list[date]:
    """The ``n`` days ending with today, oldest first (``n`` >= 0)."""
    if n < 0:
        raise ValueError(f"a number of days cannot be negative, got {n}")
    end = _as_date(today)
    return [end - timedelta(days=back) for back in range(n - 1, -1, -1)]


def day_number(day: date) -> int:
    """Days since 1970-01-01 (negative before it): a compact id for a day bucket."""
    return (_as_date(day) - _EPOCH).days


def from_day_number(n: int) -> date:
    """The day whose :func:`day_number` is ``n``."""
    return _EPOCH + timedelta(days=n)


def midnight(day: date) -> datetime:
    """00:00 UTC of ``day``, timezone-aware: where a window starting that day begins."""
    return datetime.combine(_as_date(day), time.min, tzinfo=UTC)


def iso_week_start(day: date) -> date:
    """The Monday of the ISO week holding ``day`` (PostgreSQL ``DATE_TRUNC('week')``)."""
    plain = _as_date(day)
    return plain - timedelta(days=plain.weekday())


def weekday_row(moment: datetime) -> int:
    """Weekday of an aware datetime in UTC, 0 = Sunday .. 6 = Saturday (PostgreSQL DOW)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"weekday_row needs a timezone-aware datetime, got {moment!r}")
    # Python counts Monday as 0; the heatmap rows start on Sunday.
    return (moment.astimezone(UTC).weekday() + 1) % 7


def _as_date(day: date) -> date:
    # A datetime is a date too; arithmetic with plain dates needs the plain day.
    if isinstance(day, datetime):
        raise TypeError(f"expected a date, got the datetime {day!r}; pass its UTC .date()")
    return day
