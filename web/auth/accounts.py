"""Dashboard accounts and their API tokens (``insights/migrations/002_accounts.sql``, ``004``).

A token is ``secrets.token_urlsafe(32)`` (256 random bits), shown once and
stored only as its SHA-256 hex digest. Looking a token up by its digest through
a unique index is the comparison, so no secret is compared byte by byte. A token
works until revoked or, when it has one, until its expiry.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Final

from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine

from web.engine import autocommit


class Role(IntEnum):
    """Dashboard roles, lowest to highest (the reference's ``SystemRole`` order)."""

    UNAFFILIATED = 10
    MEMBER = 20
    EMPLOYEE = 30
    MANAGER = 40
    OFFICE_MANAGER = 50
    ADMIN = 100


ROLE_NAMES: Final = tuple(role.name for role in Role)
#: The reference guards insights with ``role_required(OFFICE_MANAGER)``: that role and above.
INSIGHTS_MIN_ROLE: Final = Role.OFFICE_MANAGER
#: Longest e-mail address (RFC 5321's path limit); a longer one is nobody's.
MAX_EMAIL_LENGTH: Final = 254
#: Unicode categories no e-mail address holds: controls (NUL...), format, surrogates,
#: private use, unassigned, line and paragraph separators.
_NOT_IN_EMAILS: Final = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
#: SQL condition of a token that still works (table alias ``t``).
_LIVE_TOKEN: Final = "t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())"


@dataclass(frozen=True)
class Account:
    """A dashboard account as the routes see it."""

    id: int
    email: str
    role: str

    def may_see_insights(self) -> bool:
        """True for OFFICE_MANAGER and above; an unknown stored role sees nothing."""
        role = Role.__members__.get(self.role)
        return role is not None and role >= INSIGHTS_MIN_ROLE


class UnknownRole(ValueError):
    """A role name that is not one of :data:`ROLE_NAMES`."""


def parse_role(name: str) -> Role:
    """The role called ``name`` (case-insensitive); :class:`UnknownRole` otherwise."""
    role = Role.__members__.get(name.strip().upper())
    if role is None:
        raise UnknownRole(f"unknown role {name!r}; one of: {', '.join(ROLE_NAMES)}")
    return role


def hash_token(token: str) -> str:
    """SHA-256 hex digest of a token: what ``api_tokens.token_hash`` holds."""
    return hashlib.sha256(token.encode()).hexdigest()


_FIND_BY_TOKEN: Final = f"""
WITH found AS (
    SELECT t.id AS token_id, t.last_used_at, a.id, a.email, a.role
    FROM api_tokens t JOIN accounts a ON a.id = t.account_id
    WHERE t.token_hash = %(hash)s AND {_LIVE_TOKEN}
), used AS (
    UPDATE api_tokens SET last_used_at = now()
    WHERE id IN (SELECT token_id FROM found WHERE last_used_at IS NULL
                 OR last_used_at < now() - interval '1 minute')
)
SELECT id, email, role FROM found"""
"""The account of a live token, its use recorded at most once a minute (scripts may
poll every second): one statement, so one round trip outside a transaction."""


def find_by_token(engine: Engine, token: str) -> Account | None:
    """The account owning the live (not revoked, not expired) ``token``; records its use."""
    with autocommit(engine.raw_connection()) as conn, conn.cursor() as cur:
        cur.execute(_FIND_BY_TOKEN, {"hash": hash_token(token)})
        row = cur.fetchone()
    return None if row is None else Account(id=row[0], email=row[1], role=row[2])


def ensure_account(conn: Connection, email: str, role: Role) -> tuple[int, str | None]:
    """Create the account or set its role; returns its id and its previous role (None if new)."""
    row = conn.execute(text("SELECT id, role FROM accounts WHERE email = :email FOR UPDATE"),
                       {"email": email}).one_or_none()
    if row is None:
        new_id = conn.execute(text(
            "INSERT INTO accounts (email, role) VALUES (:email, :role) RETURNING id"
        ), {"email": email, "role": role.name}).scalar_one()
        return int(new_id), None
    if row[1] != role.name:
        conn.execute(text("UPDATE accounts SET role = :role WHERE id = :id"),
                     {"role": role.name, "id": row[0]})
    return int(row[0]), str(row[1])


def create_token(engine: Engine, email: str, role: Role, name: str | None = None,
                 expires_at: datetime | None = None) -> tuple[str, str | None]:
    """A new token for ``email`` (the account is created if missing, its role set to ``role``),
    working until revoked or until ``expires_at`` (aware) when given.

    Returns the token, which exists nowhere else afterwards, and the account's
    previous role (None when the account is new).
    """
    token = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        account_id, previous = ensure_account(conn, email, role)
        conn.execute(text(
            "INSERT INTO api_tokens (account_id, name, token_hash, expires_at)"
            " VALUES (:account, :name, :hash, :expires)"
        ), {"account": account_id, "name": name, "hash": hash_token(token),
            "expires": expires_at})
    return token, previous


@dataclass(frozen=True)
class TokenInfo:
    """What ``insights token list`` shows of a token (never the token)."""

    id: int
    email: str
    role: str
    name: str | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


def list_tokens(engine: Engine) -> list[TokenInfo]:
    """Every token, revoked and expired ones included, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT t.id, a.email, a.role, t.name, t.created_at, t.expires_at, t.last_used_at,"
            " t.revoked_at FROM api_tokens t JOIN accounts a ON a.id = t.account_id"
            " ORDER BY t.id")).all()
    return [TokenInfo(*row) for row in rows]


def revoke_token(engine: Engine, token_id: int) -> bool | None:
    """Revoke one token: True if revoked now, False if it already was, None if none has
    that id."""
    with engine.begin() as conn:
        revoked = conn.execute(text("SELECT revoked_at IS NOT NULL FROM api_tokens"
                                    " WHERE id = :id FOR UPDATE"), {"id": token_id}
                               ).scalar_one_or_none()
        if revoked is None:
            return None
        conn.execute(text("UPDATE api_tokens SET revoked_at = now()"
                          " WHERE id = :id AND revoked_at IS NULL"), {"id": token_id})
    return not revoked


def revoke_tokens(engine: Engine, email: str) -> int | None:
    """Revoke every live token of ``email``; the count revoked, None when there is no account."""
    with engine.begin() as conn:
        account_id = conn.execute(text("SELECT id FROM accounts WHERE email = :email"),
                                  {"email": email}).scalar_one_or_none()
        if account_id is None:
            return None
        result = conn.execute(text(
            "UPDATE api_tokens SET revoked_at = now()"
            " WHERE account_id = :id AND revoked_at IS NULL"
        ), {"id": account_id})
    return int(result.rowcount)


def set_password(engine: Engine, email: str, role: Role, password_hash: str
                 ) -> tuple[int, str | None]:
    """Create the account (or set its role) with this password hash, ending the account's
    log-in sessions (a stolen one must not outlive a reset); as ``ensure_account``."""
    with engine.begin() as conn:
        account_id, previous = ensure_account(conn, email, role)
        conn.execute(text("UPDATE accounts SET password_hash = :hash WHERE id = :id"),
                     {"hash": password_hash, "id": account_id})
        conn.execute(text("UPDATE web_sessions SET ended_at = now()"
                          " WHERE account_id = :id AND ended_at IS NULL"), {"id": account_id})
    return account_id, previous


def live_tokens(engine: Engine, token_hashes: Collection[str]) -> dict[str, str]:
    """The account role behind each of these token hashes not revoked nor expired."""
    if not token_hashes:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT t.token_hash, a.role FROM api_tokens t JOIN accounts a ON a.id = t.account_id"
            f" WHERE t.token_hash = ANY(:hashes) AND {_LIVE_TOKEN}"),
            {"hashes": list(token_hashes)}).all()
    return {row[0]: row[1] for row in rows}


def plausible_email(email: str) -> bool:
    """False for text no account's e-mail can be: too long, or holding a control
    character (PostgreSQL refuses NUL in text), a lone surrogate and the like."""
    return len(email) <= MAX_EMAIL_LENGTH and not any(
        unicodedata.category(c) in _NOT_IN_EMAILS for c in email)


def find_for_login(engine: Engine, email: str) -> tuple[Account, str | None] | None:
    """The account of ``email`` (case-insensitive) and its password hash, if any (None,
    without a query, for an e-mail that is not :func:`plausible_email`)."""
    if not plausible_email(email.strip()):
        return None
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT id, email, role, password_hash FROM accounts"
            " WHERE lower(email) = lower(:email) ORDER BY id LIMIT 1"
        ), {"email": email.strip()}).one_or_none()
    if row is None:
        return None
    return Account(id=row[0], email=row[1], role=row[2]), row[3]


def update_password_hash(engine: Engine, account_id: int, password_hash: str) -> None:
    """Store a re-made hash (after a successful login with outdated parameters)."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE accounts SET password_hash = :hash WHERE id = :id"),
                     {"hash": password_hash, "id": account_id})
