"""The day aggregates' increments of a batch, summed per key (``consumers.aggregates``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import msgspec

from consumers.aggregates import Increments, merged
from harness.factories import event
from insights.events import contract
from insights.readmodel.keys import Keys
from scoring.pages import DEFAULT_SECTIONS
from scoring.windows import day_number

NOON = datetime(2026, 12, 1, 12, tzinfo=UTC)
DAY = day_number(NOON.date())


def _summed(*bodies: dict[str, object]) -> dict[tuple[str, str, str, int, str | None], int]:
    """(kind, key name, member, day, first window key name) -> amount, of ``bodies``."""
    inc = Increments(Keys("t", "g"), DEFAULT_SECTIONS)
    events = [contract.decode(msgspec.json.encode(b), now=NOON) for b in bodies]
    assert not [e for e in events if isinstance(e, contract.Invalid)], events
    flat = json.loads(merged(inc, events))   # type: ignore[arg-type]
    name = {i + 3: n for i, n in enumerate(inc.names)}
    return {(k, name[key], member, day, name.get(window)): amount
            for k, key, member, amount, day, window in zip(*[iter(flat)] * 6, strict=True)}


def test_views_of_one_page_add_up_and_their_user_is_counted_once() -> None:
    sums = _summed(*(event("pageview", NOON, pageview_id=f"v{ms}", path="/jobs/1", user_id=7,
                           load_time_ms=ms, session_id="s") for ms in (100, 300)),
                   event("pageview", NOON, pageview_id="v0", path="/jobs/1", user_id=None,
                         load_time_ms=None, session_id="s"))
    day = Keys("t", "g").day(DAY)
    pv = Keys("t", "g").day_set("pv", DAY)
    assert sums[("h", day, "pv", 0, None)] == 3
    assert sums[("z", pv, "/jobs/1", DAY, Keys("t", "g").window("pv", "day"))] == 3
    assert sums[("z", Keys("t", "g").day_set("ld", DAY), "/jobs/1", DAY,
                 Keys("t", "g").window("ld", "day"))] == 400
    assert sums[("z", Keys("t", "g").day_set("ldn", DAY), "/jobs/1", DAY,
                 Keys("t", "g").window("ldn", "day"))] == 2
    members = [m for (k, key, m, _, _) in sums if k == "p" and key.endswith(":p:/jobs/1")]
    assert members == ["7"]                         # one HLL op per distinct user


def test_sessions_count_by_hour_device_and_login_and_alerts_by_kind() -> None:
    sums = _summed(event("session_start", NOON, session_id="a", user_id=1, device_type="mobile"),
                   event("session_start", NOON, session_id="b", user_id=None,
                         device_type="desktop"),
                   *(event("security_alert", NOON, alert_type=kind, user_email="u@example.com")
                     for kind in ("brute_force", "suspicious_ip")))
    day = Keys("t", "g").day(DAY)
    got = {member: amount for (kind, key, member, _, _), amount in sums.items()
           if kind == "h" and key == day}
    assert got == {"ss": 2, "sl": 1, "sa": 1, "hr:12": 2, "dv:mobile": 1, "dv:desktop": 1,
                   "al": 2, "fl": 1}


def test_events_without_aggregates_add_nothing() -> None:
    assert _summed(event("search", NOON), event("conversion", NOON)) == {}
