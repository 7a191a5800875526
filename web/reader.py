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
Filter = Literal["all", "logged", "anonymous"]
FILTERS: tuple[Filter, ...] = ("all", "logged", "anonymous")


class TabReader(Protocol):
    """Computes a tab's document (``docs/api.md``) as of ``now`` (UTC)."""

    def tab(self, tab: Tab, period: str, filter_: Filter, now: datetime) -> TabDocument:
        """The tab's document (``web.documents.schema.TAB_DOCUMENTS``), its ``freshness``
        unset; ``period`` is ``day``, ``week`` or ``month`` (already checked)."""
        ...
