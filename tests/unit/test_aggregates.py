"""The day aggregates' increments of a batch, summed per key (``consumers.aggregates``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import msgspec

from consumers.aggregates import Increments, flat, merged
from consumers.stored import Chunk
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
    return _named(inc, merged(inc, events))   # type: ignore[arg-type]


def _named(inc: Increments, ops: str) -> dict[tuple[str, str, str, int, str | None], int]:
    """``aggregate.lua``'s flat ops by key name."""
    flat = json.loads(ops)
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


def test_a_rebuilds_groups_add_what_their_events_add() -> None:
    """A rebuild's chunk holds PostgreSQL's groups of its events (``consumers.stored``);
    they go through the same formulas as the events one by one (whose amounts the tests
    above pin)."""
    bodies = [
        event("pageview", NOON, pageview_id="a", path="/jobs/1", user_id=7, load_time_ms=100),
        event("pageview", NOON, pageview_id="b", path="/jobs/1", user_id=8, load_time_ms=None),
        event("pageview", NOON, pageview_id="c", path="/jobs/1", user_id=None, load_time_ms=300),
        event("session_start", NOON, session_id="x", user_id=1, device_type="mobile"),
        event("session_start", NOON, session_id="y", user_id=None, device_type="desktop"),
        event("session_start", NOON, session_id="z", user_id=2, device_type=None),
        event("js_error", NOON, session_id="x"), event("password_reset", NOON, user_id=1),
        *(event("security_alert", NOON, alert_type=kind, user_email="u@example.com")
          for kind in ("brute_force", "suspicious_ip"))]
    chunk = Chunk(("t.activity", 0), -1, 99)
    micros = int(NOON.timestamp()) * 1_000_000
    for row in [("e", 0, None, len(bodies), micros, 0, None),
                ("v", DAY, "/jobs/1", 3, 400, 2, "7,8"),
                ("s", DAY, "mobile", 1, 12, 1, None), ("s", DAY, "desktop", 1, 12, 0, None),
                ("s", DAY, None, 1, 12, 1, None), ("u", DAY, None, 0, 0, 0, "1,2"),
                ("h", DAY, "je", 1, 0, 0, None), ("h", DAY, "pr", 1, 0, 0, None),
                ("a", DAY, "brute_force", 1, 0, 0, None),
                ("a", DAY, "suspicious_ip", 1, 0, 0, None),
                ("o", 0, "x", 0, 0, 1, None), ("o", 0, "lone", 0, 0, 0, None),
                ("l", 0, "waiting", 0, 0, 0, None)]:
        chunk.add(row)
    inc = Increments(Keys("t", "g"), DEFAULT_SECTIONS)
    assert _named(inc, flat(chunk.sums(inc))) == _summed(*bodies)
    assert (chunk.events, chunk.newest) == (len(bodies), NOON)
    assert (chunk.touched.sessions, chunk.touched.lone, chunk.touched.leaves) == (
        {"x"}, {"lone"}, {"waiting"})
