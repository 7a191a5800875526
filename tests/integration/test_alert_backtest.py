"""``insights alerts backtest``: a rule replayed over stored history, day by day.

A lock from 10:00 to the next day's noon is seen locked at the end of its first
day (fired) and unlocked at the end of the second (resolved); three security
alerts (60 points) fire the week's problem rule on their day only.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta

from consumers.pipeline import Pipeline
from harness.factories import event
from insights.alerts import store
from insights.alerts.backtest import backtest
from insights.database import connect
from insights.events.producer import Emitter
from insights.settings import Settings
from tests.read_model import wait_ingested


def test_the_backtest_fires_and_resolves_on_the_days_it_would_have(
        settings: Settings, emitter: Emitter, run_pipeline: Callable[..., Pipeline]) -> None:
    now = datetime.now(UTC)
    today = now.date()
    day = lambda n, hour=10: datetime(today.year, today.month, today.day, hour,  # noqa: E731
                                      tzinfo=UTC) - timedelta(days=n)
    events = [event("user_upsert", day(20), user_id=u, email=f"b{u}@example.com",
                    role="MEMBER") for u in (1, 2, 3)]
    events += [event("account_locked", day(3), user_id=1, locked_until=day(2, 12).isoformat()),
               event("login_failed", day(5), user_id=2), event("login_failed", day(5), user_id=2),
               event("login_succeeded", day(4), user_id=2),
               *(event("security_alert", day(2), user_email="b3@example.com",
                       alert_type="brute_force") for _ in range(3))]
    for body in events:
        emitter.emit(body)
    emitter.flush()
    run_pipeline(settings)
    wait_ingested(settings, len(events))
    with closing(connect(settings.postgres_url or "")) as conn:
        rules = {r.name: r for r in store.load_rules(conn)}
        locked = backtest(conn, rules["account locked"], day(6).date(), today, now)
        problems = backtest(conn, rules["problem score >= 60"], day(6).date(), today, now)
    by_day = {d.day: (d.firings, sorted(d.users), d.resolutions) for d in locked}
    assert by_day[day(3).date()] == (1, [1], 0)
    assert by_day[day(2).date()] == (0, [], 1)
    assert sum(d.firings for d in locked) == 1
    fired = {d.day: sorted(d.users) for d in problems if d.firings}
    assert fired == {day(2).date(): [3]}
