"""The paths tab (``GET /api/tabs/paths``): page views with a session, in the period
(semantics 20-23)."""

from __future__ import annotations

from typing import Annotated

from msgspec import UNSET, Struct, field

from web.documents.common import Fresh, about
from web.documents.site import Pct


class RankedPath(Struct, kw_only=True):
    """A first or last page of sessions in the period."""

    path: Annotated[str, about("the page's path")]
    count: Annotated[int, about("sessions of the period that began (or ended) on it")]
    bar_pct: Annotated[Pct, about("count against the first row, in percent")]


class Transition(Struct, kw_only=True):
    """A move between two different pages within a session, in the period."""

    from_: Annotated[str, about("the path moved from")] = field(name="from")
    to: Annotated[str, about("the path moved to")]
    count: Annotated[int, about("how many times, in the period")]


class Dropoff(Struct, kw_only=True):
    """A page with at least 5 views in the period and its exit rate."""

    path: Annotated[str, about("the page's path")]
    views: Annotated[int, about("page views with a session in the period")]
    exits: Annotated[int, about("sessions of the period that ended on it")]
    exit_rate: Annotated[float, about("exits / views in percent, 1 decimal")]


class SessionLength(Struct, kw_only=True):
    """Sessions of the period by their number of page views."""

    bucket: Annotated[str, about(
        "1 page, 2 pages, 3-5 pages, 6-10 pages or 10+ pages, in that order; empty buckets"
        " left out")]
    count: Annotated[int, about("sessions in the bucket")]
    bar_pct: Annotated[Pct, about("count against the largest bucket, in percent")]


class PathsTab(Struct, kw_only=True):
    """``GET /api/tabs/paths``: how sessions move through the site, in the period."""

    entry_pages: Annotated[list[RankedPath], about(
        "the 10 commonest first pages of sessions, most first")]
    exit_pages: Annotated[list[RankedPath], about(
        "the 10 commonest last pages of sessions, most first")]
    transitions: Annotated[list[Transition], about(
        "the 30 commonest moves between two different pages, most first")]
    dropoff: Annotated[list[Dropoff], about(
        "pages with at least 5 views, highest exit rate first, at most 20")]
    session_lengths: Annotated[list[SessionLength], about("sessions by page count")]
    freshness: Fresh = UNSET
