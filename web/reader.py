"""What the routes need from the read model: one JSON document per tab.

The Redis-backed implementation lives in ``web.tabs``; routes depend on this
protocol only, so they can be tested with any implementation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Protocol

Tab = Literal["problems", "engagement", "pages", "paths", "overview"]
TABS: tuple[Tab, ...] = ("problems", "engagement", "pages", "paths", "overview")
Filter = Literal["all", "logged", "anonymous"]
FILTERS: tuple[Filter, ...] = ("all", "logged", "anonymous")


class TabReader(Protocol):
    """Computes a tab's JSON (``docs/api.md``) as of ``now`` (UTC)."""

    def tab(self, tab: Tab, period: str, filter_: Filter, now: datetime) -> dict[str, Any]:
        """The tab's document; ``period`` is ``day``, ``week`` or ``month`` (already checked)."""
        ...
