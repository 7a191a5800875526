"""CSV exports of the problems, engagement and pages tabs (stdlib ``csv``).

One header row, then one row per entry of the tab's list, in the tab's order.
Text cells that a spreadsheet would run as a formula (starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return) get a leading ``'``: names,
e-mails and paths come from the tracked sites, so anyone can choose them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

ExportKind = Literal["problems", "engagement", "pages"]

#: The tab list each export writes.
LIST_KEYS: Final[Mapping[ExportKind, str]] = {
    "problems": "problem_users", "engagement": "engagement_list", "pages": "top_pages",
}
#: Columns of each export; ``name`` and ``email`` come from the row's ``user``.
COLUMNS: Final[Mapping[ExportKind, tuple[str, ...]]] = {
    "problems": ("name", "email", "score", "failed_logins", "password_resets", "js_errors",
                 "slow_pages", "security_alerts", "is_locked", "last_login"),
    "engagement": ("name", "email", "score", "sessions", "page_views", "wow", "status"),
    "pages": ("path", "views", "unique_users", "avg_time", "avg_scroll", "avg_load"),
}
_USER_FIELDS: Final = frozenset({"name", "email"})
_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str | int | float:
    """A value as a CSV cell: None empty, booleans ``true``/``false``, formulas defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _cells(kind: ExportKind, row: Mapping[str, Any]) -> list[str | int | float]:
    user: Mapping[str, Any] = row.get("user") or {}
    return [safe_cell(user.get(column) if column in _USER_FIELDS else row.get(column))
            for column in COLUMNS[kind]]


def export_rows(kind: ExportKind, document: Mapping[str, Any]) -> list[list[str | int | float]]:
    """The header and the rows of ``kind`` from its tab's JSON document."""
    rows: Sequence[Mapping[str, Any]] = document.get(LIST_KEYS[kind]) or []
    return [list(COLUMNS[kind]), *(_cells(kind, row) for row in rows)]


def export_csv(kind: ExportKind, document: Mapping[str, Any]) -> str:
    """The CSV text of ``kind`` (RFC 4180 quoting, ``\\r\\n`` line ends)."""
    out = io.StringIO()
    csv.writer(out).writerows(export_rows(kind, document))
    return out.getvalue()


def export_filename(kind: ExportKind, period: str) -> str:
    """``insights_<kind>_<period>.csv``."""
    return f"insights_{kind}_{period}.csv"
