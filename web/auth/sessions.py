"""Log-in sessions of the dashboard (``insights/migrations/003_web_sessions.sql``).

The cookie carries ``secrets.token_urlsafe(32)``; the table keeps its SHA-256,
looked up through the primary key (no byte-by-byte secret comparison). Each
session has its own CSRF token for the forms it posts. A session is alive until
logout, ``idle`` without a request, or ``lifetime`` after log-in, whichever
comes first.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from sqlalchemy import text
from sqlalchemy.engine import Engine

from web.auth.accounts import Account, hash_token

COOKIE: Final = "insights_session"
#: ``last_seen_at`` is written at most this often per session (pages poll).
TOUCH_EVERY: Final = timedelta(minutes=1)


@dataclass(frozen=True)
class Session:
    """A live session as the routes see it."""

    token_hash: str
    account: Account
    csrf_token: str


@dataclass(frozen=True)
class SessionLimits:
    """How long sessions live: ``idle`` without requests, ``lifetime`` in all."""

    idle: timedelta
    lifetime: timedelta


def start(engine: Engine, account: Account, limits: SessionLimits) -> tuple[str, Session]:
    """A new session for ``account``: the cookie's token (exists nowhere else) and the session."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO web_sessions (token_hash, account_id, csrf_token, expires_at)"
            " VALUES (:hash, :account, :csrf, now() + :lifetime)"
        ), {"hash": hash_token(token), "account": account.id, "csrf": csrf,
            "lifetime": limits.lifetime})
    return token, Session(hash_token(token), account, csrf)


_LIVE = ("s.ended_at IS NULL AND s.expires_at > now()"
         " AND s.last_seen_at > now() - CAST(:idle AS interval)")


def find(engine: Engine, token: str, limits: SessionLimits) -> Session | None:
    """The live session of a cookie's token (its idle clock restarted), or None."""
    with engine.begin() as conn:
        row = conn.execute(text(
            "SELECT s.token_hash, s.csrf_token, a.id, a.email, a.role, s.last_seen_at < now() - "
            " CAST(:touch AS interval) FROM web_sessions s JOIN accounts a ON a.id = s.account_id"
            f" WHERE s.token_hash = :hash AND {_LIVE}"
        ), {"hash": hash_token(token), "idle": limits.idle, "touch": TOUCH_EVERY}).one_or_none()
        if row is None:
            return None
        if row[5]:
            conn.execute(text("UPDATE web_sessions SET last_seen_at = now()"
                              " WHERE token_hash = :hash"), {"hash": row[0]})
    return Session(row[0], Account(id=row[2], email=row[3], role=row[4]), row[1])


def alive(engine: Engine, token_hashes: Collection[str], limits: SessionLimits) -> dict[str, str]:
    """The role of each of these sessions still alive; their idle clocks restart (they are
    the sessions of open sockets: somebody is watching)."""
    if not token_hashes:
        return {}
    with engine.begin() as conn:
        rows = conn.execute(text(
            f"UPDATE web_sessions s SET last_seen_at = now() FROM accounts a"
            f" WHERE a.id = s.account_id AND s.token_hash = ANY(:hashes) AND {_LIVE}"
            f" RETURNING s.token_hash, a.role"),
            {"hashes": list(token_hashes), "idle": limits.idle}).all()
    return {row[0]: row[1] for row in rows}


def end(engine: Engine, token_hash: str) -> bool:
    """Log out: the session ends now; False when it had already ended."""
    with engine.begin() as conn:
        result = conn.execute(text(
            "UPDATE web_sessions SET ended_at = now()"
            " WHERE token_hash = :hash AND ended_at IS NULL"), {"hash": token_hash})
    return bool(result.rowcount)
