"""A user's timeline (semantics 27): the latest sessions, key-page views, searches,
conversions, password resets and security alerts, merged newest first."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from insights.record.kept import LATEST
from scoring.pages import is_key_page
from web.documents.profile import TimelineIcon, TimelineItem, TimelineType
from web.formats import rfc3339

#: How many of each kind are read (all time; retention keeps them), and how many items
#: are kept in all.
LIMITS: Final[Mapping[str, int]] = LATEST
TIMELINE_MAX: Final = 100


def _or_unknown(value: object) -> str:
    return "?" if value is None else str(value)


# kind -> (type, icon, description of a row)
_DESCRIBE: Final[Mapping[str, tuple[TimelineType, TimelineIcon, Callable[[Any], str]]]] = {
    "sessions": ("login", "key",
                 lambda r: f"Session ({_or_unknown(r.device_type)}, {_or_unknown(r.browser)})"),
    "views": ("pageview", "eye", lambda r: f"Visited: {r.path}"),
    "searches": ("search", "search", lambda r: f'Searched: "{r.query}"'),
    "conversions": ("conversion", "check", lambda r: f"Conversion: {r.event_type}"),
    "resets": ("problem", "alert", lambda r: "Password reset"),
    "alerts": ("problem", "shield",
               lambda r: f"Alert: {r.alert_type} ({_or_unknown(r.severity)})"),
}


def build_timeline(latest: Mapping[str, Sequence[Any]]) -> list[TimelineItem]:
    """Timeline items (type, icon, time, desc), newest first, at most 100.

    ``latest`` maps each kind of :data:`LIMITS` to its newest rows (each with a
    ``time``); views that are not key pages are left out.
    """
    entries: list[tuple[datetime, TimelineItem]] = []
    for kind, (type_, icon, describe) in _DESCRIBE.items():
        for row in latest.get(kind, ()):
            if kind == "views" and not is_key_page(row.path):
                continue
            entries.append((row.time, TimelineItem(
                type=type_, icon=icon, time=rfc3339(row.time), desc=describe(row),
                session_id=getattr(row, "session_id", None))))
    # Stable sort: items at the same instant keep the order of the kinds above.
    entries.sort(key=lambda entry: entry[0], reverse=True)
    return [item for _, item in entries[:TIMELINE_MAX]]
