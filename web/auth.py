"""API-token authentication: ``Authorization: Bearer <token>`` -> the dashboard account.

401 (with ``WWW-Authenticate: Bearer``) when the token is missing, unknown or
revoked; 403 when the account's role may not see insights.
"""

from __future__ import annotations

import logging

from fastapi import HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine

from web.accounts import INSIGHTS_MIN_ROLE, Account, find_by_token

log = logging.getLogger(__name__)

#: Reads the header without failing, so the 401 below is the only answer for a bad one.
bearer_scheme = HTTPBearer(auto_error=False, description="an API token: `insights token create`")


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=reason,
                         headers={"WWW-Authenticate": "Bearer"})


def authenticate(engine: Engine, credentials: HTTPAuthorizationCredentials | None) -> Account:
    """The account of a valid bearer token allowed to see insights; raises 401 or 403."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("missing bearer token")
    account = find_by_token(engine, credentials.credentials)
    if account is None:
        raise _unauthorized("invalid or revoked token")
    if not account.may_see_insights():
        log.info("account %s (role %s) refused: insights need %s or above",
                 account.id, account.role, INSIGHTS_MIN_ROLE.name)
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            detail=f"role {account.role} may not see insights "
                                   f"({INSIGHTS_MIN_ROLE.name} or above)")
    return account
