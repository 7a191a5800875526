"""CSV exports of the problems, engagement and pages tabs (stdlib ``csv``).

One header row (the field names, or labels in English or Polish), then one row per
entry of the tab's list, in the tab's order; rows about a user start with its id.
Every cell is quoted; the HTTP answer starts with a byte order mark, so spreadsheets
read the file as UTF-8 (Polish names intact).

Names, e-mails and paths come from the tracked sites, so anyone can choose them: text
a spreadsheet could run as a formula gets a ``'`` before its first sign. That is text
whose first character other than blanks (spaces, tabs, line breaks, invisible
characters) and double quotes is ``=``, ``+``, ``-``, ``@`` or a look-alike of one
(the full-width forms U+FF1D, U+FF0B, U+FF0D, U+FF20, small and superscript forms, the
minus sign, dashes), or that starts with a tab or carriage return; and the same after
each ``,`` ``;`` tab ``|`` or line break inside a cell, since a spreadsheet told to
split lines on one of those would make a cell of what follows (``x;=HYPERLINK(...)``
becomes ``x;'=HYPERLINK(...)``). Numbers stay numbers, negative ones included.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, Final, Literal

ExportKind = Literal["problems", "engagement", "pages"]

#: The tab list each export writes.
LIST_KEYS: Final[Mapping[ExportKind, str]] = {
    "problems": "problem_users", "engagement": "engagement_list", "pages": "top_pages",
}
#: Columns of each export; ``name`` and ``email`` come from the row's ``user``.
COLUMNS: Final[Mapping[ExportKind, tuple[str, ...]]] = {
    "problems": ("user_id", "name", "email", "score", "failed_logins", "password_resets",
                 "js_errors", "slow_pages", "security_alerts", "is_locked", "last_login"),
    "engagement": ("user_id", "name", "email", "score", "sessions", "page_views", "wow",
                   "status"),
    "pages": ("path", "views", "unique_users", "avg_time", "avg_scroll", "avg_load"),
}
#: Columns taken from the row's ``user`` (``user_id`` is its ``id``).
_USER_FIELDS: Final = {"user_id": "id", "name": "name", "email": "email"}
Language = Literal["en", "pl"]
#: Header labels per language (``?lang=``; without it the header is the field names).
LABELS: Final[Mapping[Language, Mapping[str, str]]] = {
    "en": {"user_id": "User id", "name": "Name", "email": "E-mail", "score": "Score",
           "failed_logins": "Failed logins", "password_resets": "Password resets",
           "js_errors": "JS errors", "slow_pages": "Slow pages",
           "security_alerts": "Security alerts", "is_locked": "Locked",
           "last_login": "Last login", "sessions": "Sessions", "page_views": "Page views",
           "wow": "Week over week (%)", "status": "Status", "path": "Path",
           "views": "Views", "unique_users": "Unique users", "avg_time": "Avg. time (s)",
           "avg_scroll": "Avg. scroll (%)", "avg_load": "Avg. load (ms)"},
    "pl": {"user_id": "ID użytkownika", "name": "Imię i nazwisko", "email": "E-mail",
           "score": "Wynik", "failed_logins": "Nieudane logowania",
           "password_resets": "Resety hasła", "js_errors": "Błędy JS",
           "slow_pages": "Wolne strony", "security_alerts": "Alerty bezpieczeństwa",
           "is_locked": "Zablokowany", "last_login": "Ostatnie logowanie",
           "sessions": "Sesje", "page_views": "Odsłony", "wow": "Tydzień do tygodnia (%)",
           "status": "Status", "path": "Ścieżka", "views": "Odsłony",
           "unique_users": "Unikalni użytkownicy", "avg_time": "Śr. czas (s)",
           "avg_scroll": "Śr. przewinięcie (%)", "avg_load": "Śr. ładowanie (ms)"},
}
BOM: Final = "\ufeff"
#: Characters a spreadsheet may be told to split a line on: what follows starts a cell.
SEPARATORS: Final = frozenset(",;\t|\n\r")
_SIGNS: Final = frozenset("=+-@")
#: Look-alikes NFKC does not fold into a sign: the minus sign, modifier and heavy signs.
_MORE_SIGNS: Final = frozenset("\u2212\u02d6\u02d7\u2795\u2796")
#: OWASP's list: a cell starting with these is defused whatever follows.
_BAD_FIRST: Final = ("\t", "\r")


@lru_cache(maxsize=4096)      # bounded: the text is anybody's
def is_formula_sign(char: str) -> bool:
    """``=``, ``+``, ``-``, ``@`` or a character a spreadsheet may take for one."""
    return (char in _SIGNS or char in _MORE_SIGNS or unicodedata.category(char) == "Pd"
            or unicodedata.normalize("NFKC", char)[:1] in _SIGNS)


@lru_cache(maxsize=4096)      # bounded: the text is anybody's
def is_blank(char: str) -> bool:
    """Whitespace, a control or an invisible character: skipped before a formula's sign."""
    return char.isspace() or unicodedata.category(char)[0] in "CZ"


def defuse(text: str) -> str:
    """``text`` with a ``'`` before each sign that would start a formula (module doc)."""
    out: list[str] = ["'"] if text.startswith(_BAD_FIRST) else []
    cell_start = not out
    for char in text:
        # Quotes are skipped too: a spreadsheet splitting the raw line may drop them.
        if cell_start and not is_blank(char) and char != '"':
            if is_formula_sign(char):
                out.append("'")
            cell_start = False
        out.append(char)
        cell_start = cell_start or char in SEPARATORS
    return "".join(out)


def safe_cell(value: Any) -> str | int | float:
    """A value as a CSV cell: None empty, booleans ``true``/``false``, formulas defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    return defuse(str(value))


def _cells(kind: ExportKind, row: Mapping[str, Any]) -> list[str | int | float]:
    user: Mapping[str, Any] = row.get("user") or {}
    return [safe_cell(user.get(_USER_FIELDS[column]) if column in _USER_FIELDS
                      else row.get(column)) for column in COLUMNS[kind]]


def export_rows(kind: ExportKind, document: Mapping[str, Any],
                lang: Language | None = None) -> list[list[str | int | float]]:
    """The header (field names, or ``lang``'s labels) and the rows of ``kind`` from its
    tab's document as JSON values (``msgspec.to_builtins`` of the ``web.documents``
    type: the CSV is that JSON's list, cell for cell)."""
    rows: Sequence[Mapping[str, Any]] = document.get(LIST_KEYS[kind]) or []
    header: list[str | int | float] = [LABELS[lang][c] if lang else c for c in COLUMNS[kind]]
    return [header, *(_cells(kind, row) for row in rows)]


def export_csv(kind: ExportKind, document: Mapping[str, Any],
               lang: Language | None = None) -> str:
    """The CSV text of ``kind`` (every cell quoted, ``\\r\\n`` line ends)."""
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL).writerows(export_rows(kind, document, lang))
    return out.getvalue()


def export_filename(kind: ExportKind, period: str, filter_: str = "all",
                    suffix: str = "csv") -> str:
    """``insights_<kind>_<period>.csv``, or ``insights_<kind>_<period>_<filter>.csv``
    (``.json`` for the JSON export)."""
    return f"insights_{kind}_{period}{'' if filter_ == 'all' else '_' + filter_}.{suffix}"
