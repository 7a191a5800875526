"""What the routes need from the read model: one document per tab (``web.documents``).

The Redis-backed implementation lives in ``web.tabs``; routes depend on this
protocol only, so they can be tested with any implementation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

from web.documents.schema import TabDocument

Tab = Literal["problems", "engagement", "pages", "paths", "overview"]
TABS: tuple[Tab, ...] = ("problems", "engagement", "pages", "paths", "overview")
SessionFilter = Literal["all", "logged", "anonymous"]
Filter = Literal["all", "logged", "anonymous", "active", "at_risk", "dormant"]
FILTERS: tuple[Filter, ...] = ("all", "logged", "anonymous", "active", "at_risk", "dormant")
#: The filters each tab takes: the overview's sessions by log-in, the engagement list by
#: status (``scoring.engagement.status``); ``all`` everywhere.
TAB_FILTERS: dict[Tab, tuple[Filter, ...]] = {
    "overview": ("all", "logged", "anonymous"),
    "engagement": ("all", "active", "at_risk", "dormant"),
    "problems": ("all",), "pages": ("all",), "paths": ("all",),
}


def filter_refused(tab: Tab, filter_: str) -> str | None:
    """Why ``filter_`` cannot filter ``tab`` (None: it can)."""
    if filter_ in TAB_FILTERS[tab]:
        return None
    return f"filter: one of {', '.join(TAB_FILTERS[tab])} on the {tab} tab"


class TabReader(Protocol):
    """Computes a tab's document (``docs/api.md``) as of ``now`` (UTC)."""

    def tab(self, tab: Tab, period: str, filter_: Filter, now: datetime) -> TabDocument:
        """The tab's document (``web.documents.schema.TAB_DOCUMENTS``), its ``freshness``
        unset; ``period`` is ``day``, ``week`` or ``month`` (already checked)."""
        ...
