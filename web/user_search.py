"""Finding tracked users by the beginning of their name's words, their e-mail address or
their id (``GET /api/users?q=``), from ``users.search``'s index
(``insights/migrations/009``), never a scan.

Each word of the query must begin a word of the user's name or e-mail address (case
ignored, ``simple`` text search: no stemming, accents kept); a query of digits also
finds the user with that id. Words are quoted into the text-search query, so no
character of the query is an operator.
"""

from __future__ import annotations

import re
from typing import Any, Final

from sqlalchemy import Connection, Row, text

LIMIT: Final = 20          # users a search returns at most
MAX_QUERY: Final = 200     # characters of a query looked at
_WORD: Final = re.compile(r"[^\s]+")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")   # never in a name or an e-mail address
_FIND = text("""
SELECT id, name, email, role, company FROM users
WHERE upserted_at IS NOT NULL
  AND ((:terms <> '' AND search @@ to_tsquery('simple', :terms)) OR id = :id)
ORDER BY id = :id DESC, lower(coalesce(name, email)), id
LIMIT :limit""")


def prefix_query(query: str) -> str:
    """The text-search query matching words that begin with each word of ``query``:
    ``'krzy':* & 'zie':*``; empty for a query with no word."""
    words = _WORD.findall(_CONTROL.sub(" ", query[:MAX_QUERY]).lower())
    return " & ".join("'" + w.replace("\\", "\\\\").replace("'", "''") + "':*" for w in words)


def find_users(conn: Connection, query: str, limit: int = LIMIT) -> list[Row[Any]]:
    """The tracked users ``query`` finds (an id first), by name, at most ``limit``."""
    stripped = _CONTROL.sub(" ", query).strip()
    user_id = int(stripped) if re.fullmatch(r"-?[0-9]{1,18}", stripped) else None
    terms = prefix_query(stripped)
    if not terms and user_id is None:
        return []
    return list(conn.execute(_FIND, {"terms": terms, "id": user_id, "limit": limit}).all())
