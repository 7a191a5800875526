"""The profile timeline: descriptions, key pages only, newest first, at most 100."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import msgspec

from web.timeline import TIMELINE_MAX, build_timeline

T0 = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


def _at(minutes: int, **fields: Any) -> SimpleNamespace:
    return SimpleNamespace(time=T0 - timedelta(minutes=minutes), **fields)


def test_each_kind_is_described_and_sorted_newest_first() -> None:
    latest = {
        "sessions": [_at(50, device_type=None, browser="Firefox")],
        "views": [_at(10, path="/company/acme"), _at(20, path="/pricing"),
                  _at(30, path="/forum/t")],
        "searches": [_at(5, query="biuro")],
        "conversions": [_at(40, event_type="registration")],
        "resets": [_at(60)],
        "alerts": [_at(1, alert_type="brute_force", severity=None)],
    }
    assert msgspec.to_builtins(build_timeline(latest)) == [
        {"type": "problem", "icon": "shield", "time": "2026-03-15T11:59:00Z",
         "desc": "Alert: brute_force (?)", "session_id": None},
        {"type": "search", "icon": "search", "time": "2026-03-15T11:55:00Z",
         "desc": 'Searched: "biuro"', "session_id": None},
        {"type": "pageview", "icon": "eye", "time": "2026-03-15T11:50:00Z",
         "desc": "Visited: /company/acme", "session_id": None},
        {"type": "pageview", "icon": "eye", "time": "2026-03-15T11:30:00Z",
         "desc": "Visited: /forum/t", "session_id": None},
        {"type": "conversion", "icon": "check", "time": "2026-03-15T11:20:00Z",
         "desc": "Conversion: registration", "session_id": None},
        {"type": "login", "icon": "key", "time": "2026-03-15T11:10:00Z",
         "desc": "Session (?, Firefox)", "session_id": None},
        {"type": "problem", "icon": "alert", "time": "2026-03-15T11:00:00Z",
         "desc": "Password reset", "session_id": None},
    ]


def test_at_most_100_items_the_newest_kept() -> None:
    views = [_at(minute, path="/forum") for minute in range(80)]
    sessions = [_at(minute, device_type="mobile", browser="Chrome") for minute in range(40)]
    timeline = build_timeline({"views": views, "sessions": sessions})
    assert len(timeline) == TIMELINE_MAX
    times = [item.time for item in timeline]
    assert times == sorted(times, reverse=True)
    # The 20 oldest of the 120 are the views of minutes 60..79.
    assert times[-1] == (T0 - timedelta(minutes=59)).isoformat().replace("+00:00", "Z")
