"""The CSV export of a tracked user's profile (``GET /api/export/users/{id}.csv``).

A profile is one nested document, so the CSV is its long form: one row per figure or
list item, every row starting with the user's id, then which part of the profile it
comes from (``section``), what it is (``item``), its value and, where the part has
them, its time, session and page. Sections, in this order: ``user`` and ``summary``
(one row per field), ``trend`` (per day), ``hourly`` (per UTC hour), ``fav_pages``,
``devices``, ``browsers``, ``timeline``, ``js_errors``, ``slow_pages``,
``search_queries`` (per item, in the profile's order).

Cells are written as the tab exports write them (``web.exports``): quoted, a byte order
mark before the text, text that a spreadsheet could run as a formula defused, and the
header's labels in English or Polish on request.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

from web.exports import Language, safe_cell

COLUMNS: Final = ("user_id", "section", "item", "value", "time", "session_id", "page")
LABELS: Final[Mapping[Language, Mapping[str, str]]] = {
    "en": {"user_id": "User id", "section": "Section", "item": "Item", "value": "Value",
           "time": "Time", "session_id": "Session", "page": "Page"},
    "pl": {"user_id": "ID użytkownika", "section": "Sekcja", "item": "Pozycja",
           "value": "Wartość", "time": "Czas", "session_id": "Sesja", "page": "Strona"},
}
#: The profile's single figures, in the order they are written (``summary`` rows).
SUMMARY: Final = ("engagement_score", "problem_score", "password_resets",
                  "security_alerts_count", "avg_sessions_week", "avg_session_duration")
#: The lists counted per name: (section, the item's name field, its count field).
_COUNTED: Final = (("fav_pages", "path", "count"), ("devices", "type", "count"),
                   ("browsers", "name", "count"))

Row = dict[str, Any]


def _user(user: Mapping[str, Any]) -> Iterator[Row]:
    for field, value in user.items():
        if field != "id":
            yield {"section": "user", "item": field, "value": value}


def _summary(profile: Mapping[str, Any]) -> Iterator[Row]:
    for field in SUMMARY:
        yield {"section": "summary", "item": field, "value": profile.get(field)}


def _series(profile: Mapping[str, Any]) -> Iterator[Row]:
    trend: Mapping[str, Sequence[Any]] = profile.get("trend_data") or {}
    for label, score in zip(trend.get("labels") or [], trend.get("scores") or [], strict=True):
        yield {"section": "trend", "item": label, "value": score}
    for bar in profile.get("hourly_bars") or []:
        yield {"section": "hourly", "item": bar["hour"], "value": bar["count"]}


def _counted(profile: Mapping[str, Any]) -> Iterator[Row]:
    for section, name, count in _COUNTED:
        for entry in profile.get(section) or []:
            yield {"section": section, "item": entry[name], "value": entry[count]}


def _source(error: Mapping[str, Any]) -> str | None:
    """``app.js:10``, ``app.js`` without a line, None without a script."""
    source, line = error.get("source"), error.get("line")
    return None if source is None else source if line is None else f"{source}:{line}"


def _history(profile: Mapping[str, Any]) -> Iterator[Row]:
    for it in profile.get("timeline") or []:
        yield {"section": "timeline", "item": it["type"], "value": it["desc"],
               "time": it["time"], "session_id": it.get("session_id")}
    for error in profile.get("js_errors") or []:
        yield {"section": "js_errors", "item": error["message"], "value": _source(error),
               "time": error["occurred_at"], "session_id": error["session_id"],
               "page": error.get("page")}
    for view in profile.get("slow_pages") or []:
        yield {"section": "slow_pages", "item": view["path"], "value": view["load_time_ms"],
               "time": view["viewed_at"]}
    for search in profile.get("search_queries") or []:
        yield {"section": "search_queries", "item": search["query"],
               "time": search["searched_at"]}


def profile_rows(profile: Mapping[str, Any], lang: Language | None = None
                 ) -> list[list[str | int | float]]:
    """The header (field names, or ``lang``'s labels) and the rows of ``profile``, the
    ``Profile`` document as JSON values."""
    user_id = profile["user"]["id"]
    header: list[str | int | float] = [LABELS[lang][c] if lang else c for c in COLUMNS]
    parts = (_user(profile["user"]), _summary(profile), _series(profile), _counted(profile),
             _history(profile))
    rows = [[user_id, *(safe_cell(row.get(c)) for c in COLUMNS[1:])]
            for part in parts for row in part]
    return [header, *rows]


def profile_csv(profile: Mapping[str, Any], lang: Language | None = None) -> str:
    """The CSV text of ``profile`` (every cell quoted, ``\\r\\n`` line ends)."""
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL).writerows(profile_rows(profile, lang))
    return out.getvalue()


def profile_filename(user_id: int, suffix: str = "csv") -> str:
    """``insights_user_<id>.csv`` (``.json`` for the JSON export)."""
    return f"insights_user_{user_id}.{suffix}"
