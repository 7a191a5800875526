"""An independent SQL statement of the reference dashboard's semantics: a test oracle
(the equality tests compare the API with it; ``bench/read.py`` times it).

Given the PostgreSQL tables the pipeline writes, it computes the JSON the API must
return for every tab, period, filter and user profile (``docs/api.md``, ``semantics.md``
and the reference dashboard), with its own plain SQL over psycopg2. "Now" is always
a parameter (an aware datetime), never the clock; windows are ``>= start`` only.

Where the rules leave an order open (ties), this oracle breaks ties deterministically
(by user id, by path or event id in byte order); callers comparing against another
implementation must allow tie reordering and boundary membership of equal scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from harness.reference.engagement import engagement_tab
from harness.reference.overview import overview_tab
from harness.reference.pages import DEFAULT_SECTIONS, pages_tab
from harness.reference.paths import paths_tab
from harness.reference.problems import problems_tab
from harness.reference.queries import Connection
from harness.reference.user_profile import user_profile
from harness.reference.windows import Windows

TABS = ("problems", "engagement", "pages", "paths", "overview")
FILTERS = ("all", "logged", "anonymous")
STATUS_FILTERS = ("all", "active", "at_risk", "dormant")

__all__ = ["DEFAULT_SECTIONS", "FILTERS", "STATUS_FILTERS", "TABS", "profile", "tab"]


def tab(conn: Connection, tab: str, period: str, filter_: str, now: datetime, *,
        sections: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """The JSON of one tab as of ``now``.

    ``period`` is day, week or month; ``filter_`` is the overview's sessions (all,
    logged, anonymous) or the engagement list's status (all, active, at_risk, dormant),
    ``all`` on the other tabs; ``sections`` replaces the reference's section map in the
    pages tab. Unknown values raise ValueError.
    """
    if filter_ not in (STATUS_FILTERS if tab == "engagement" else
                       FILTERS if tab == "overview" else ("all",)):
        raise ValueError(f"unknown filter {filter_!r} for the {tab} tab")
    w = Windows(now, period)
    if tab == "problems":
        return problems_tab(conn, w)
    if tab == "engagement":
        return engagement_tab(conn, w, filter_)
    if tab == "pages":
        return pages_tab(conn, w, sections)
    if tab == "paths":
        return paths_tab(conn, w)
    if tab == "overview":
        return overview_tab(conn, w, filter_)
    raise ValueError(f"unknown tab {tab!r}")


def profile(conn: Connection, user_id: int, now: datetime) -> dict[str, Any] | None:
    """The JSON of a tracked user's profile as of ``now``; None for an unknown user or a
    login-event stub that no user_upsert has created yet."""
    return user_profile(conn, user_id, now)
