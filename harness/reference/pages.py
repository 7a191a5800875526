"""The pages tab: site sections, the most viewed pages and the ignored ones."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.reference.queries import Connection, fetch, pct, truncated_mean
from harness.reference.windows import Windows

# The reference's section_map, in its order.
DEFAULT_SECTIONS: dict[str, list[str]] = {
    "Strona główna": ["/"],
    "Profile firm": ["/company/"],
    "Forum": ["/forum"],
    "Chat": ["/chat"],
    "Wyszukiwarka": ["/search", "/szukaj"],
    "Wydarzenia": ["/events", "/wydarzenia"],
    "Ogłoszenia": ["/classifieds", "/ogloszenia"],
    "Członkostwo": ["/membership", "/czlonkostwo"],
    "Admin": ["/admin"],
}
TOP_PAGES = 50
IGNORED_BELOW = 5
IGNORED_MAX = 30

# A view is in a section when its path starts with one of the section's prefixes,
# except the prefix "/", which matches the path "/" only (semantics 17).
_SECTION_SQL = """
    SELECT count(*), count(DISTINCT user_id),
           sum(time_on_page_seconds), count(time_on_page_seconds)
    FROM page_views
    WHERE viewed_at >= %(start)s
      AND (path = ANY(%(exact)s::text[])
           OR EXISTS (SELECT 1 FROM unnest(%(prefixes)s::text[]) AS p
                      WHERE starts_with(path, p)))"""


def section(conn: Connection, w: Windows, name: str, prefixes: Sequence[str]
            ) -> dict[str, Any]:
    """One section's views, distinct users and truncated mean time on page (seconds)."""
    exact = [p for p in prefixes if p == "/"]
    starts = [p for p in prefixes if p != "/"]
    ((views, users, time_sum, time_n),) = fetch(
        conn, _SECTION_SQL, {"start": w.start, "exact": exact, "prefixes": starts})
    return {"name": name, "views": int(views), "unique_users": int(users),
            "avg_time": truncated_mean(time_sum, int(time_n))}


def sections(conn: Connection, w: Windows, section_map: Mapping[str, Sequence[str]]
             ) -> list[dict[str, Any]]:
    """Every section in map order; intensity relative to the busiest, capped at 100."""
    rows = [section(conn, w, name, prefixes) for name, prefixes in section_map.items()]
    busiest = max((r["views"] for r in rows), default=0)
    for r in rows:
        r["intensity"] = min(100, pct(r["views"], busiest))
    return rows


def top_pages(conn: Connection, w: Windows) -> list[dict[str, Any]]:
    """The 50 most viewed paths of the period (ties by path), with truncated means of
    time on page (s), scroll depth (%) and load time (ms) over known values."""
    rows = fetch(conn, """
        SELECT path, count(*) AS views, count(DISTINCT user_id),
               sum(time_on_page_seconds), count(time_on_page_seconds),
               sum(scroll_depth_percent), count(scroll_depth_percent),
               sum(load_time_ms), count(load_time_ms)
        FROM page_views WHERE viewed_at >= %(start)s
        GROUP BY path ORDER BY views DESC, path COLLATE "C" LIMIT %(limit)s""",
        {"start": w.start, "limit": TOP_PAGES})
    top = rows[0][1] if rows else 0
    return [{"path": path, "views": int(views), "unique_users": int(users),
             "avg_time": truncated_mean(t_sum, int(t_n)),
             "avg_scroll": truncated_mean(s_sum, int(s_n)),
             "avg_load": truncated_mean(l_sum, int(l_n)),
             "bar_pct": pct(views, top)}
            for path, views, users, t_sum, t_n, s_sum, s_n, l_sum, l_n in rows]


def ignored_pages(conn: Connection, w: Windows) -> list[dict[str, Any]]:
    """Paths with fewer than 5 views in the month window, fewest first (ties by path)."""
    rows = fetch(conn, """
        SELECT path, count(*) AS views FROM page_views WHERE viewed_at >= %(start)s
        GROUP BY path HAVING count(*) < %(below)s
        ORDER BY views, path COLLATE "C" LIMIT %(limit)s""",
        {"start": w.start_30d, "below": IGNORED_BELOW, "limit": IGNORED_MAX})
    return [{"path": path, "views": int(views)} for path, views in rows]


def pages_tab(conn: Connection, w: Windows,
              section_map: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """The whole pages tab for the period of ``w``."""
    return {"sections": sections(
        conn, w, DEFAULT_SECTIONS if section_map is None else section_map),
            "top_pages": top_pages(conn, w), "ignored_pages": ignored_pages(conn, w)}
