"""Retention's pure parts: the cutoff, the shortest retention, what is refused as expired,
and which rows are kept for profiles."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from consumers.batch import Accepted, Rejected
from consumers.durable import expire
from consumers.scores import KEEP_DAYS
from harness.factories import event
from insights.events import contract
from insights.events.kafka import Record
from insights.record import kept, retention
from insights.record.partitions import PARTITIONED, add_months, month_of
from insights.settings import Settings
from web.api.alerts import BACKTEST_DAYS
from web.profile import HISTORY_LIMIT
from web.timeline import LIMITS


def test_the_cutoff_is_the_first_of_the_month_n_months_back() -> None:
    assert retention.cutoff(datetime(2026, 12, 6, 12, tzinfo=UTC), 4) == date(2026, 8, 1)
    assert retention.cutoff(datetime(2027, 1, 31, 23, 59, tzinfo=UTC), 4) == date(2026, 9, 1)
    # Months are UTC's: 00:30 on March 1st in Warsaw is still February in UTC.
    assert retention.cutoff(datetime.fromisoformat("2026-03-01T00:30:00+01:00"), 4) == date(
        2025, 10, 1)


@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2200, 1, 1),
                    timezones=st.just(UTC)), st.integers(min_value=retention.MIN_MONTHS,
                                                         max_value=600))
def test_no_allowed_retention_drops_a_day_anything_reads(now: datetime, months: int) -> None:
    assert (now - retention.cutoff_time(now, months)).days >= retention.READ_BACK_DAYS


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2900, 1, 1)),
       st.integers(min_value=-1200, max_value=1200))
def test_months_are_added_and_taken_back(day: date, n: int) -> None:
    month = day.replace(day=1)
    assert add_months(add_months(month, n), -n) == month
    assert add_months(month, n).day == 1


def test_the_shortest_retention_covers_every_window_read_back() -> None:
    assert max(KEEP_DAYS, BACKTEST_DAYS) <= retention.READ_BACK_DAYS
    assert retention.MIN_MONTHS == 4
    retention.check(4)
    with pytest.raises(retention.RetentionRefused, match="keep at least 4 months"):
        retention.check(3)
    assert Settings(retention_months=5).retention_months == 5


def test_an_empty_retention_variable_keeps_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSIGHTS_RETENTION_MONTHS", "")       # compose's ${X:-}
    assert Settings().retention_months is None
    monkeypatch.setenv("INSIGHTS_RETENTION_MONTHS", "6")
    assert Settings().retention_months == 6


def _item(ts: datetime, offset: int) -> Accepted:
    raw = msgspec.json.encode(event("pageview", ts, pageview_id=f"P{offset}", session_id="S"))
    decoded = contract.decode(raw, now=datetime.now(UTC))
    assert not isinstance(decoded, contract.Invalid)
    return Accepted(Record("t", 0, offset, None, raw, 0), decoded)


def test_events_before_the_first_day_kept_are_refused_as_expired() -> None:
    edge = datetime(2026, 8, 1, tzinfo=UTC)
    before, at = _item(edge - timedelta(microseconds=1000), 1), _item(edge, 2)
    bad = Rejected(Record("t", 0, 3, None, b"x", 0), "bad_json", "x")
    out = expire([before, at, bad], edge)
    assert out[1:] == [at, bad]
    assert isinstance(out[0], Rejected) and out[0].reason == "expired"
    assert out[0].record == before.record
    assert "is before 2026-08-01, the first day the retention keeps" in out[0].detail
    assert expire([before, at, bad], None) == [before, at, bad]     # no retention ran


def test_every_partitioned_table_says_what_it_keeps_and_profiles_read_those_limits() -> None:
    assert set(kept.KINDS) == set(PARTITIONED)
    assert LIMITS is kept.LATEST and HISTORY_LIMIT == kept.HISTORY
    for table, column in PARTITIONED.items():
        sql = kept.needed(table, column, f"{table}_y2026m01")
        assert (sql is None) == (kept.KINDS[table] == ())
        if sql is not None:
            # Each list reads the month twice; page views also as JS errors' pages.
            extra = 1 if table == "page_views" else 0
            assert sql.count(f"FROM {table}_y2026m01") == 2 * len(kept.KINDS[table]) + extra


def test_a_month_is_utcs() -> None:
    assert month_of(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == date(2026, 12, 1)
    assert month_of(datetime.fromisoformat("2027-01-01T00:30:00+01:00")) == date(2026, 12, 1)
