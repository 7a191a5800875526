"""What a live socket watches: a tab's document, a user's profile or the alerts, as a typed
value.

The hub keys its subscribers by these (one computation per watched document, however
many sockets watch it), so they are frozen and hashable.
"""

from __future__ import annotations

from dataclasses import dataclass

from scoring.windows import Period
from web.reader import Filter, Tab


@dataclass(frozen=True)
class WatchedTab:
    """``/ws/tabs/{tab}?period=&filter=``: one tab with its period and filter."""

    tab: Tab
    period: Period
    filter: Filter

    def __str__(self) -> str:
        return f"tab/{self.tab}/{self.period}/{self.filter}"


@dataclass(frozen=True)
class WatchedProfile:
    """``/ws/users/{id}``: one tracked user's profile."""

    user_id: int

    def __str__(self) -> str:
        return f"user/{self.user_id}"


@dataclass(frozen=True)
class WatchedAlerts:
    """``/ws/alerts``: the newest alerts."""

    def __str__(self) -> str:
        return "alerts"


WatchedDocument = WatchedTab | WatchedProfile | WatchedAlerts
