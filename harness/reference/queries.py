"""Running plain SQL over a psycopg2 connection, and the reference's small number rules."""

from __future__ import annotations

from typing import Any

# psycopg2's connection type is not worth a stub dependency here; callers pass a
# psycopg2 connection.
Connection = Any

# Tracked users (semantics 34): created by a user_upsert, not a login-event stub.
TRACKED = "upserted_at IS NOT NULL"
ACTIVE = f"{TRACKED} AND is_active"


def fetch(conn: Connection, sql: str, params: dict[str, Any] | None = None
          ) -> list[tuple[Any, ...]]:
    """All rows of one query."""
    with conn.cursor() as cur:
        cur.execute(sql, params or {})
        return list(cur.fetchall())


def scalar(conn: Connection, sql: str, params: dict[str, Any] | None = None) -> Any:
    """The first column of the first row of one query."""
    return fetch(conn, sql, params)[0][0]


def counts_by_key(conn: Connection, sql: str, params: dict[str, Any] | None = None
                  ) -> dict[Any, int]:
    """A two-column ``key, count`` query as a dict."""
    return {key: int(n) for key, n in fetch(conn, sql, params)}


def pct(value: float, maximum: float) -> int:
    """The reference's bar width: ``int(value / max * 100)`` in floating point, max >= 1."""
    return int(value / max(1, maximum) * 100)


def truncated_mean(total: int | None, count: int) -> int:
    """Truncated mean of non-negative integers given their sum and count; 0 when none."""
    if not count or total is None:
        return 0
    return int(total) // count


def user_object(user_id: int, name: str | None, email: str | None) -> dict[str, Any]:
    """The API's user object."""
    return {"id": int(user_id), "name": name, "email": email}
