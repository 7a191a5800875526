"""Typed accessors of what the app holds on ``app.state``, as ``Annotated`` dependencies.

The lifespan in ``web.app`` fills ``app.state`` (engine, redis, reader, clock, web);
routes declare what they need with the aliases below.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

import redis
from fastapi import Cookie, Depends, HTTPException, Request, Security, status
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy.engine import Engine

from web.auth import sessions
from web.auth.accounts import Account, Role
from web.auth.identity import authenticate, bearer_scheme, origin_allowed
from web.live.views import Views
from web.reader import TabReader
from web.state import WebState
from web.tabs.store import Store

Clock = Callable[[], datetime]


def get_engine(request: Request) -> Engine:
    """The pooled PostgreSQL engine."""
    engine: Engine = request.app.state.engine
    return engine


def get_redis(request: Request) -> redis.Redis:
    """The Redis client."""
    client: redis.Redis = request.app.state.redis
    return client


def get_store(request: Request) -> Store:
    """The Redis read model's reads (profiles' counters)."""
    store: Store = request.app.state.store
    return store


def get_reader(request: Request) -> TabReader:
    """The tab reader (Redis-backed unless the app was given another)."""
    reader: TabReader = request.app.state.reader
    return reader


def get_now(request: Request) -> datetime:
    """"Now" of this request, aware and in UTC (the app's clock; tests fix it)."""
    clock: Clock = request.app.state.clock
    return clock().astimezone(UTC)


def get_web(request: Request) -> WebState:
    """What the pages, log-in and live views share (settings-derived policies, hub)."""
    web: WebState = request.app.state.web
    return web


def get_views(request: Request) -> Views:
    """The live views' documents (and the freshness every document carries)."""
    views: Views = request.app.state.views
    return views


EngineDep = Annotated[Engine, Depends(get_engine)]
ViewsDep = Annotated[Views, Depends(get_views)]
WebDep = Annotated[WebState, Depends(get_web)]
SessionCookie = Annotated[str | None, Cookie(alias=sessions.COOKIE, include_in_schema=False)]
RedisDep = Annotated[redis.Redis, Depends(get_redis)]
ReaderDep = Annotated[TabReader, Depends(get_reader)]
StoreDep = Annotated[Store, Depends(get_store)]
NowDep = Annotated[datetime, Depends(get_now)]
CredentialsDep = Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)]


def current_account(engine: EngineDep, web: WebDep, credentials: CredentialsDep,
                    cookie: SessionCookie = None) -> Account:
    """The account of the API token or log-in session, allowed to see insights
    (401/403 otherwise)."""
    return authenticate(engine, credentials, cookie, web.session_limits)


AccountDep = Annotated[Account, Depends(current_account)]


def admin_account(account: AccountDep, request: Request, web: WebDep) -> Account:
    """Only ADMINs change rules and hooks (403 otherwise), and a browser only from the
    app's own pages: a foreign ``Origin`` is refused (the session cookie is SameSite=Lax
    already; this holds for sites sharing the domain too)."""
    if account.role != Role.ADMIN.name:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="only an ADMIN may do this")
    if not origin_allowed(request.headers, web.origins):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="not from this app's pages")
    return account
