"""The pages and overview tabs (``GET /api/tabs/pages``, ``/overview``)."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import UNSET, Meta, Struct

from web.documents.common import Day, Fresh, about

#: ``int(value / max * 100)`` in floating point, max at least 1 (semantics 25).
Pct = Annotated[int, Meta(ge=0, le=100)]


class Section(Struct, kw_only=True):
    """A configured section (``INSIGHTS_SECTIONS``), in map order, over the period."""

    name: Annotated[str, about("the section's name")]
    views: Annotated[int, about("page views of the section's paths in the period")]
    unique_users: Annotated[int, about(
        "distinct users who viewed them in the period (a HyperLogLog estimate)")]
    avg_time: Annotated[int, about(
        "seconds on page, truncated mean of the known values (semantics 18)")]
    intensity: Annotated[int, about(
        "views against the busiest section, in percent, capped at 100")]


class TopPage(Struct, kw_only=True):
    """A row of ``top_pages``: one path over the period."""

    path: Annotated[str, about("the page's path")]
    views: Annotated[int, about("page views in the period")]
    unique_users: Annotated[int, about(
        "distinct users who viewed it in the period (a HyperLogLog estimate)")]
    avg_time: Annotated[int, about("seconds on page, truncated mean of the known values")]
    avg_scroll: Annotated[int, about("scroll depth in percent, truncated mean of the known")]
    avg_load: Annotated[int, about("load time in milliseconds, truncated mean of the known")]
    bar_pct: Annotated[Pct, about("views against the first row, in percent")]


class IgnoredPage(Struct, kw_only=True):
    """A path with fewer than 5 views in the month window (semantics 19)."""

    path: Annotated[str, about("the page's path")]
    views: Annotated[int, about("page views in the month window")]


class PagesTab(Struct, kw_only=True):
    """``GET /api/tabs/pages``: sections and paths over the period."""

    sections: Annotated[list[Section], about("every configured section, in map order")]
    top_pages: Annotated[list[TopPage], about(
        "the 50 most viewed paths in the period, most first")]
    ignored_pages: Annotated[list[IgnoredPage], about(
        "paths with fewer than 5 views in the month window, fewest first, at most 30")]
    freshness: Fresh = UNSET


class ChartData(Struct, kw_only=True):
    """Sessions and page views per UTC day, the 31 days from 30 days ago to today."""

    labels: Annotated[list[Day], about("the 31 days, oldest first")]
    sessions: Annotated[list[int], about(
        "sessions started each day: all, with a user or without one, as filtered")]
    pageviews: Annotated[list[int], about("page views each day")]


class HeatmapHour(Struct, kw_only=True):
    """One UTC hour of one weekday, over the month window."""

    count: Annotated[int, about("sessions started in that weekday and hour, month window")]
    intensity: Annotated[Pct, about("count against the busiest hour of the week, in percent")]


class HeatmapRow(Struct, kw_only=True):
    """One weekday of the heatmap (UTC)."""

    name: Annotated[str, about("Sun, Mon, Tue, Wed, Thu, Fri or Sat")]
    hours: Annotated[list[HeatmapHour], about("24 hours, hour 0 first")]


class LoggedVsAnon(Struct, kw_only=True):
    """Sessions with and without a user, month window."""

    logged: Annotated[int, about("sessions with a user in the month window")]
    anonymous: Annotated[int, about("sessions without a user in the month window")]


class DeviceWeeks(Struct, kw_only=True):
    """Sessions per device type and ISO week, month window (semantics 26)."""

    labels: Annotated[list[Day], about(
        "the Mondays of the ISO weeks with sessions in the month window, oldest first")]
    desktop: Annotated[list[int], about("desktop sessions per week")]
    mobile: Annotated[list[int], about("mobile sessions per week")]
    tablet: Annotated[list[int], about("tablet sessions per week")]


class OverviewTab(Struct, kw_only=True):
    """``GET /api/tabs/overview``: the period does not apply; ``filter`` changes
    ``chart_data.sessions`` only (semantics 24)."""

    filter_type: Annotated[Literal["all", "logged", "anonymous"], about(
        "the filter asked for: all, logged or anonymous")]
    chart_data: Annotated[ChartData, about(
        "sessions and page views per day, the 31 days from 30 days ago to today")]
    heatmap: Annotated[list[HeatmapRow], about(
        "7 rows, Sunday first: sessions started per weekday and UTC hour, month window")]
    logged_vs_anon: Annotated[LoggedVsAnon, about(
        "sessions with and without a user, month window")]
    devices: Annotated[DeviceWeeks, about(
        "sessions per device type and ISO week, month window (semantics 26)")]
    freshness: Fresh = UNSET


