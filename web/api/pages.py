"""The pages: the dashboard (``/``), log-in and logout.

- Log-in posts a CSRF token that must equal the one in a short-lived cookie set
  with the form (double submit: there is no session yet to hold it); later
  forms (logout) post their session's own token.
- A wrong e-mail, a wrong password and an account without one get the same
  answer after the same work; failures are throttled per e-mail and per
  address (``web.auth.throttle``) with the same answer whether the account exists.
- The session cookie is HttpOnly, SameSite=Lax, and Secure when the page came
  over HTTPS. Logout ends the session in PostgreSQL and announces it, so its
  sockets close in every web process.
"""

from __future__ import annotations

import contextlib
import logging
import math
import secrets
from typing import Annotated, Any, Final

from fastapi import APIRouter, Cookie, Form, Request, Response, status
from fastapi.responses import RedirectResponse
from redis import RedisError
from sqlalchemy.engine import Engine

from web.auth import sessions
from web.auth.accounts import Account, find_for_login, update_password_hash
from web.auth.passwords import needs_rehash, rehash, verify
from web.auth.throttle import Throttle
from web.deps import EngineDep, RedisDep, SessionCookie, WebDep
from web.state import WebState

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

LOGIN_CSRF: Final = "insights_login_csrf"
LOGIN_FORM_S: Final = 3600
WRONG: Final = "Wrong e-mail or password."
Field = Annotated[str, Form()]


def _page(web: WebState, request: Request, name: str, context: dict[str, Any],
          code: int = status.HTTP_200_OK) -> Response:
    """A template rendered (its security headers: ``web.server.security_headers``)."""
    return web.templates.TemplateResponse(request, name, {"static": "/static", **context},
                                          status_code=code)


def _secure(request: Request, web: WebState) -> bool:
    """Whether cookies get ``Secure``: as configured, else when the page came over HTTPS
    (behind a proxy, as its ``X-Forwarded-Proto`` says, from a trusted address)."""
    if web.secure_cookies is not None:
        return web.secure_cookies
    return request.url.scheme == "https"


def _same(expected: str, given: str) -> bool:
    """Constant-time comparison of two tokens (any text: bytes compared)."""
    return secrets.compare_digest(expected.encode(), given.encode())


@router.get("/")
def dashboard(request: Request, engine: EngineDep, redis_client: RedisDep, web: WebDep,
              cookie: SessionCookie = None) -> Response:
    """The dashboard for a live session whose role may see insights; 503 (``web.outage``)
    while PostgreSQL or Redis is down, rather than a page that cannot show anything."""
    session = sessions.find(engine, cookie, web.session_limits) if cookie else None
    if session is None:
        return RedirectResponse("/login", status.HTTP_303_SEE_OTHER)
    context = {"csrf_token": session.csrf_token, "account_email": session.account.email,
               "account_role": session.account.role}
    if not session.account.may_see_insights():
        return _page(web, request, "forbidden.html", context, status.HTTP_403_FORBIDDEN)
    redis_client.ping()
    return _page(web, request, "dashboard.html", context)


def _login_form(request: Request, web: WebState, error: str | None = None,
                code: int = status.HTTP_200_OK, email: str = "") -> Response:
    """The log-in form with a fresh CSRF token (in the form and in its cookie)."""
    token = secrets.token_urlsafe(32)
    response = _page(web, request, "login.html",
                     {"csrf_token": token, "error": error, "email": email}, code)
    response.set_cookie(LOGIN_CSRF, token, max_age=LOGIN_FORM_S, path="/login", httponly=True,
                        samesite="strict", secure=_secure(request, web))
    return response


@router.get("/login")
def login_page(request: Request, web: WebDep) -> Response:
    """The log-in form."""
    return _login_form(request, web)


@router.post("/login")
def login(request: Request, *, engine: EngineDep, redis_client: RedisDep, web: WebDep,
          email: Field = "", password: Field = "", csrf_token: Field = "",
          form_cookie: Annotated[str | None, Cookie(alias=LOGIN_CSRF)] = None,
          cookie: SessionCookie = None) -> Response:
    """Check the form, the throttle and the password; start a session on success."""
    if not form_cookie or not _same(form_cookie, csrf_token):
        return _login_form(request, web, "The form expired; please try again.",
                           status.HTTP_403_FORBIDDEN, email)
    address = request.client.host if request.client else "unknown"
    throttle = Throttle(redis_client, web.keys, web.login_policy)
    try:
        wait = throttle.attempt(email, address)
    except RedisError as error:
        log.error("log-in refused: the throttle's Redis is unreachable: %s", error)
        return _login_form(request, web, "Log-in is unavailable right now; try again soon.",
                           status.HTTP_503_SERVICE_UNAVAILABLE, email)
    if wait:
        response = _login_form(request, web, f"Too many attempts; try again in "
                               f"{math.ceil(wait / 60)} min.", status.HTTP_429_TOO_MANY_REQUESTS,
                               email)
        response.headers["Retry-After"] = str(wait)
        return response
    account = _check_password(engine, web, email, password)
    if account is None:
        log.info("failed log-in from %s", address)
        return _login_form(request, web, WRONG, status.HTTP_401_UNAUTHORIZED, email)
    with contextlib.suppress(RedisError):       # only gives the attempt back
        throttle.succeeded(email, address)
    return _start_session(request, engine, web, account, cookie)


def _check_password(engine: Engine, web: WebState, email: str, password: str
                    ) -> Account | None:
    """The account when ``password`` is its password (hash upgraded when outdated)."""
    found = find_for_login(engine, email)
    # Bounded: each check takes tens of MiB and a core for a moment.
    with web.verifications:
        right = verify(found[1] if found else None, password)
    if not right or found is None:
        return None
    account, stored = found
    if stored is not None and needs_rehash(stored):
        update_password_hash(engine, account.id, rehash(password))
    return account


def _start_session(request: Request, engine: Engine, web: WebState, account: Account,
                   previous: str | None) -> Response:
    """A new session (never the cookie's old one: no fixation), and the redirect home."""
    if previous:
        old = sessions.find(engine, previous, web.session_limits)
        if old is not None:
            sessions.end(engine, old.token_hash)
    token, _ = sessions.start(engine, account, web.session_limits)
    log.info("account %s logged in from %s", account.id,
             request.client.host if request.client else "unknown")
    response = RedirectResponse("/", status.HTTP_303_SEE_OTHER)
    response.set_cookie(sessions.COOKIE, token, path="/", httponly=True, samesite="lax",
                        secure=_secure(request, web),
                        max_age=int(web.session_limits.lifetime.total_seconds()))
    response.delete_cookie(LOGIN_CSRF, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, *, engine: EngineDep, redis_client: RedisDep, web: WebDep,
           csrf_token: Field = "", cookie: SessionCookie = None) -> Response:
    """End the session (its sockets close) and go back to the log-in form."""
    session = sessions.find(engine, cookie, web.session_limits) if cookie else None
    if session is not None:
        if not _same(session.csrf_token, csrf_token):
            return Response("The form expired; reload the page and log out again.",
                            status.HTTP_403_FORBIDDEN)
        sessions.end(engine, session.token_hash)
        try:
            redis_client.publish(web.keys.sessions_ended, session.token_hash)
        except RedisError as error:
            # Ended all the same: the periodic re-check closes its sockets.
            log.warning("logout not announced to the sockets (Redis: %s)", error)
        log.info("account %s logged out", session.account.id)
    response = RedirectResponse("/login", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(sessions.COOKIE, path="/", httponly=True, samesite="lax",
                           secure=_secure(request, web))
    return response
