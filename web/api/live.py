"""``WS /ws/tabs/{tab}`` and ``WS /ws/users/{id}``: a document on connect, then each change.

Admission, in order: a browser's ``Origin`` must be allowed (else the handshake
is refused with 403); the request must carry a live session cookie or an API
token (else the socket closes with 4401, which sends the page to the log-in);
the role must see insights (4403); the view must exist (4422 for an unknown
tab, period or filter, 4404 for an unknown user). A socket over the process's cap
closes with 1013, one over its log-in's or token's cap with 4429 (``web.server.socket_quota``).
A socket also closes with 4401 when its session ends (logout anywhere, expiry), and
with 1013 "try again later" when a server its view needs is down (the reason names
it: ``redis unreachable``, ``postgres timeout``...).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import Any, Final, cast

from fastapi import APIRouter, WebSocket, status
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy.engine import Engine
from starlette.websockets import WebSocketDisconnect

from scoring.windows import PERIODS
from web import outage
from web.auth import sessions
from web.auth.accounts import Account
from web.auth.identity import Refused, check_role, credential_of, identify, origin_allowed
from web.auth.sessions import Session, SessionLimits
from web.live.hub import Hub, Subscriber
from web.live.watched import WatchedAlerts, WatchedDocument, WatchedProfile, WatchedTab
from web.outage import TRY_AGAIN, Unavailable
from web.reader import TABS, Filter, filter_refused
from web.server.socket_quota import BUSY
from web.state import WebState

log = logging.getLogger(__name__)
router = APIRouter(tags=["live"])

BAD_VIEW: Final = 4422
NOT_FOUND: Final = 4404
USER_ID: Final = re.compile(r"-?[0-9]{1,19}")


@router.websocket("/ws/tabs/{tab}")
async def tab_socket(websocket: WebSocket, tab: str) -> None:
    """The tab's document (as ``GET /api/tabs/{tab}``) on connect and whenever it changes."""
    await _serve(websocket, watched_tab(tab, websocket.query_params.get("period", "week"),
                                        websocket.query_params.get("filter", "all")))


@router.websocket("/ws/users/{user_id}")
async def user_socket(websocket: WebSocket, user_id: str) -> None:
    """The user's profile (as ``GET /api/users/{id}``) on connect and whenever it changes."""
    parsed = parse_user_id(user_id)
    await _serve(websocket, "not a user id" if parsed is None else WatchedProfile(parsed))


@router.websocket("/ws/alerts")
async def alerts_socket(websocket: WebSocket) -> None:
    """The Alerts view (as ``GET /api/alerts/feed``) on connect and whenever it changes."""
    await _serve(websocket, WatchedAlerts())


def watched_tab(tab: str, period: str, filter_: str) -> WatchedTab | str:
    """The tab a socket asks for, or why it cannot be watched (its close reason: short and
    fixed, a control frame holds 123 bytes of reason)."""
    if tab not in TABS:
        return "unknown tab"
    if period not in PERIODS:
        return f"period: one of {', '.join(PERIODS)}"
    refused = filter_refused(tab, filter_)
    if refused:
        return refused
    return WatchedTab(tab, period, cast(Filter, filter_))


def parse_user_id(text: str) -> int | None:
    """A tracked user's id (a PostgreSQL bigint) from a path segment; None if it is not one."""
    if not USER_ID.fullmatch(text):
        return None
    value = int(text)
    return value if -(2**63) <= value < 2**63 else None


async def _serve(websocket: WebSocket, view: WatchedDocument | str) -> None:
    """Admit, check the view (a ``str`` is why it cannot be watched), then send its
    document and each change until closed."""
    subscriber = await _admit(websocket)
    if subscriber is None:
        return
    try:
        await _watch(websocket, view, subscriber)
    finally:
        websocket.app.state.web.sockets.release(subscriber.credential)


async def _watch(websocket: WebSocket, view: WatchedDocument | str,
                 subscriber: Subscriber) -> None:
    """Send the view's document and each change until the socket closes."""
    if isinstance(view, str):
        await websocket.close(BAD_VIEW, view)
        return
    hub: Hub = websocket.app.state.hub
    try:
        first = await hub.subscribe(view, subscriber)
        if first is None:
            await websocket.close(NOT_FOUND, "no such user")
            return
        patching = websocket.query_params.get("patch") == "json"
        await websocket.send_text(first.message(0) if patching else first.document)
        await _pump(websocket, subscriber, first.version if patching else None)
    except WebSocketDisconnect:
        pass
    except Unavailable as down:
        with contextlib.suppress(Exception):
            await websocket.close(TRY_AGAIN, down.reason)
    except Exception:
        # The servers behind the view failed (Redis restarting...): the page retries.
        log.exception("live view %s failed", view)
        with contextlib.suppress(Exception):
            await websocket.close(status.WS_1011_INTERNAL_ERROR, "try again")
    finally:
        hub.unsubscribe(view, subscriber)


async def _admit(websocket: WebSocket) -> Subscriber | None:
    """Accept the socket of an allowed origin and account; None when refused (closed)."""
    web: WebState = websocket.app.state.web
    if not origin_allowed(websocket.headers, web.origins):
        log.info("socket from origin %s refused", websocket.headers.get("origin"))
        await websocket.close(status.WS_1008_POLICY_VIOLATION)   # before accept: HTTP 403
        return None
    await websocket.accept()
    if web.sockets.full():          # refused before the credentials cost a query
        await websocket.close(BUSY.code, BUSY.reason)
        return None
    credentials = _credentials(websocket)
    try:
        account, session = await asyncio.to_thread(
            _identify, websocket.app.state.engine, credentials,
            websocket.cookies.get(sessions.COOKIE), web.session_limits)
        check_role(account)
    except Refused as refused:
        await websocket.close(4000 + refused.status_code, refused.reason)
        return None
    except Unavailable as down:
        await websocket.close(TRY_AGAIN, down.reason)
        return None
    credential = credential_of(credentials, session)
    over = web.sockets.take(credential)
    if over is not None:
        log.info("socket refused: %s", over.reason)
        await websocket.close(over.code, over.reason)
        return None
    return Subscriber(credential)


def _identify(engine: Engine, credentials: HTTPAuthorizationCredentials | None,
              cookie: str | None, limits: SessionLimits) -> tuple[Account, Session | None]:
    """``web.auth.identity.identify``, with PostgreSQL being down raised as ``Unavailable``."""
    with outage.translated():
        return identify(engine, credentials, cookie, limits)


def _retrieve(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


def _credentials(websocket: WebSocket) -> HTTPAuthorizationCredentials | None:
    scheme, _, token = websocket.headers.get("authorization", "").partition(" ")
    if not scheme or not token:
        return None
    return HTTPAuthorizationCredentials(scheme=scheme, credentials=token.strip())


async def _pump(websocket: WebSocket, subscriber: Subscriber, sent: int | None) -> None:
    """Send each new document until the client leaves or the subscriber is closed; as a
    patch from the version ``sent`` last when the socket asked for patches (else None)."""

    async def send() -> None:
        last = sent
        while True:
            delivery = await subscriber.next()
            if last is None:
                await websocket.send_text(delivery.document)
                continue
            await websocket.send_text(delivery.message(last))
            last = delivery.version

    async def receive() -> None:
        # Clients send nothing we use; reading notices their disconnect.
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass

    closer = asyncio.create_task(subscriber.closed())
    tasks = [asyncio.create_task(send()), asyncio.create_task(receive())]
    try:
        done, _ = await asyncio.wait([*tasks, closer], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in [*tasks, closer]:
            task.cancel()
            # Retrieved, so one that failed as it was cancelled is not reported as lost.
            task.add_done_callback(_retrieve)
    if closer in done:
        await websocket.close(closer.result(), subscriber.close_reason)
    for task in tasks:
        if task in done and task.exception() is not None:
            # Sending to a client that went away: nothing to do but forget it.
            log.debug("socket ended: %r", task.exception())
