"""Who is asking: an API token (``Authorization: Bearer``) or a log-in session cookie.

401 (with ``WWW-Authenticate: Bearer``) when neither is valid; 403 when the
account's role may not see insights (the reference's rule: OFFICE_MANAGER and
above). WebSockets also need an allowed ``Origin`` (:func:`origin_allowed`).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from urllib.parse import urlsplit

from fastapi import HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine

from web.auth import sessions
from web.auth.accounts import (
    INSIGHTS_MIN_ROLE,
    Account,
    find_by_token,
    hash_token,
    live_tokens,
)

log = logging.getLogger(__name__)

#: Reads the header without failing, so the 401 below is the only answer for a bad one.
bearer_scheme = HTTPBearer(auto_error=False, description="an API token: `insights token create`")


class Refused(Exception):
    """Authentication or authorization failed: ``status`` is 401 or 403."""

    def __init__(self, status_code: int, reason: str) -> None:
        super().__init__(reason)
        self.status_code, self.reason = status_code, reason

    def http(self) -> HTTPException:
        """As the HTTP error routes raise."""
        headers = {"WWW-Authenticate": "Bearer"} if self.status_code == 401 else None
        return HTTPException(self.status_code, detail=self.reason, headers=headers)


def check_role(account: Account) -> Account:
    """The account when its role may see insights; ``Refused`` 403 otherwise."""
    if not account.may_see_insights():
        log.info("account %s (role %s) refused: insights need %s or above",
                 account.id, account.role, INSIGHTS_MIN_ROLE.name)
        raise Refused(status.HTTP_403_FORBIDDEN, f"role {account.role} may not see insights "
                                                 f"({INSIGHTS_MIN_ROLE.name} or above)")
    return account


def identify(engine: Engine, credentials: HTTPAuthorizationCredentials | None,
             cookie: str | None, limits: sessions.SessionLimits
             ) -> tuple[Account, sessions.Session | None]:
    """The account behind a bearer token (preferred) or a session cookie, and the session.

    Raises ``Refused`` 401 when neither identifies anybody; the role is not checked.
    """
    if credentials is not None:
        if credentials.scheme.lower() != "bearer":
            raise Refused(status.HTTP_401_UNAUTHORIZED, "missing bearer token")
        account = find_by_token(engine, credentials.credentials)
        if account is None:
            raise Refused(status.HTTP_401_UNAUTHORIZED, "invalid, expired or revoked token")
        return account, None
    if cookie:
        session = sessions.find(engine, cookie, limits)
        if session is not None:
            return session.account, session
        raise Refused(status.HTTP_401_UNAUTHORIZED, "session ended: log in again")
    raise Refused(status.HTTP_401_UNAUTHORIZED, "missing bearer token or session")


def authenticate(engine: Engine, credentials: HTTPAuthorizationCredentials | None,
                 cookie: str | None, limits: sessions.SessionLimits) -> Account:
    """The identified account allowed to see insights; raises HTTP 401 or 403."""
    try:
        account, _ = identify(engine, credentials, cookie, limits)
        return check_role(account)
    except Refused as refused:
        raise refused.http() from None


def credential_of(credentials: HTTPAuthorizationCredentials | None,
                  session: sessions.Session | None) -> str | None:
    """How an open socket's right to stay open is re-checked: ``s:HASH`` for a session,
    ``t:HASH`` for an API token."""
    if session is not None:
        return f"s:{session.token_hash}"
    if credentials is not None:
        return f"t:{hash_token(credentials.credentials)}"
    return None


def still_allowed(engine: Engine, held: Collection[str], limits: sessions.SessionLimits
                  ) -> set[str]:
    """Which of these credentials (``credential_of``) are still alive, not revoked, and of
    a role that may see insights (a demoted account loses its sockets too)."""
    by_kind: dict[str, set[str]] = {"s": set(), "t": set()}
    for credential in held:
        kind, _, digest = credential.partition(":")
        by_kind.setdefault(kind, set()).add(digest)
    roles = {f"s:{h}": role for h, role in sessions.alive(engine, by_kind["s"], limits).items()}
    roles |= {f"t:{h}": role for h, role in live_tokens(engine, by_kind["t"]).items()}
    return {credential for credential, role in roles.items()
            if Account(0, "", role).may_see_insights()}


def origin_allowed(headers: Mapping[str, str], extra: Collection[str]) -> bool:
    """A browser's ``Origin`` must be the app's own (the host and port the ``Host`` header
    names, over http or https: a TLS proxy may sit in front) or one configured. No
    ``Origin`` (a script, not a browser) passes here; credentials are still required."""
    origin = headers.get("origin")
    if origin is None or origin in extra:
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc == headers.get("host")

