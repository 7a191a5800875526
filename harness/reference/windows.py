"""Time windows of the reference dashboard, all in UTC, all relative to a given "now".

A window is a start instant with no end (``>= start``): ``day`` starts today at 00:00,
``week`` seven days ago at 00:00 (8 calendar days), ``month`` thirty days ago at
00:00 (31 calendar days). Per-day series bucket by UTC calendar date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

PERIOD_DAYS = {"day": 1, "week": 7, "month": 30}
# How far back each period's start lies, in days (day = today itself).
_PERIOD_BACK = {"day": 0, "week": 7, "month": 30}


def midnight(day: date) -> datetime:
    """00:00 UTC of ``day`` as an aware datetime."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def iso(moment: datetime | None) -> str | None:
    """RFC 3339 in UTC with a ``Z`` suffix; None stays None."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def utc_date(moment: datetime) -> date:
    """The UTC calendar date of an aware instant."""
    return moment.astimezone(UTC).date()


@dataclass(frozen=True)
class Windows:
    """The instants one request computes with, fixed by ``now`` and the period."""

    now: datetime
    period: str

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("now must be an aware datetime")
        if self.period not in PERIOD_DAYS:
            raise ValueError(f"unknown period {self.period!r}")

    @property
    def today(self) -> date:
        return utc_date(self.now)

    @property
    def days(self) -> int:
        """Length of the previous period used by week-over-week, in days."""
        return PERIOD_DAYS[self.period]

    @property
    def start(self) -> datetime:
        """Start of the selected period."""
        return midnight(self.today - timedelta(days=_PERIOD_BACK[self.period]))

    @property
    def prev_start(self) -> datetime:
        """Start of the ``days`` days right before the period start."""
        return self.start - timedelta(days=self.days)

    @property
    def start_7d(self) -> datetime:
        """The week window's start (the profile's fixed 7-day window)."""
        return midnight(self.today - timedelta(days=7))

    @property
    def start_30d(self) -> datetime:
        """The month window's start (every fixed "30 days" of the reference)."""
        return midnight(self.today - timedelta(days=30))

    def last_days(self, count: int) -> list[date]:
        """The ``count`` calendar days ending today, oldest first."""
        return [self.today - timedelta(days=count - 1 - i) for i in range(count)]
