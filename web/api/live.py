"""``WS /ws/tabs/{tab}`` and ``WS /ws/users/{id}``: a document on connect, then each change.

Admission, in order: a browser's ``Origin`` must be allowed (else the handshake
is refused with 403); the request must carry a live session cookie or an API
token (else the socket closes with 4401, which sends the page to the log-in);
the role must see insights (4403); the view must exist (4422 for an unknown
tab, period or filter, 4404 for an unknown user). A socket also closes with
4401 when its session ends (logout anywhere, expiry).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from fastapi import APIRouter, WebSocket, status
from fastapi.security import HTTPAuthorizationCredentials
from starlette.websockets import WebSocketDisconnect

from scoring.windows import PERIODS
from web import sessions
from web.auth import Refused, check_role, identify, origin_allowed
from web.live.hub import Hub, Subscriber, View
from web.live.views import tab_view, user_view
from web.reader import FILTERS, TABS
from web.state import WebState

log = logging.getLogger(__name__)
router = APIRouter(tags=["live"])

BAD_VIEW: Final = 4422
NOT_FOUND: Final = 4404


@router.websocket("/ws/tabs/{tab}")
async def tab_socket(websocket: WebSocket, tab: str) -> None:
    """The tab's document (as ``GET /api/tabs/{tab}``) on connect and whenever it changes."""
    period = websocket.query_params.get("period", "week")
    filter_ = websocket.query_params.get("filter", "all")
    problem = (f"unknown tab {tab!r}" if tab not in TABS else
               f"unknown period {period!r}" if period not in PERIODS else
               f"unknown filter {filter_!r}" if filter_ not in FILTERS else None)
    await _serve(websocket, tab_view(tab, period, filter_), problem)


@router.websocket("/ws/users/{user_id}")
async def user_socket(websocket: WebSocket, user_id: str) -> None:
    """The user's profile (as ``GET /api/users/{id}``) on connect and whenever it changes."""
    problem = None if user_id.lstrip("-").isdigit() else f"not a user id: {user_id!r}"
    await _serve(websocket, user_view(int(user_id) if problem is None else 0), problem)


async def _serve(websocket: WebSocket, view: View, problem: str | None) -> None:
    subscriber = await _admit(websocket)
    if subscriber is None:
        return
    if problem is not None:
        await websocket.close(BAD_VIEW, problem)
        return
    hub: Hub = websocket.app.state.hub
    try:
        document = await hub.subscribe(view, subscriber)
        if document is None:
            await websocket.close(NOT_FOUND, "no such user")
            return
        await websocket.send_text(document)
        await _pump(websocket, subscriber)
    except WebSocketDisconnect:
        pass
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
    try:
        account, session = await asyncio.to_thread(
            identify, websocket.app.state.engine, _credentials(websocket),
            websocket.cookies.get(sessions.COOKIE), web.session_limits)
        check_role(account)
    except Refused as refused:
        await websocket.close(4000 + refused.status_code, refused.reason)
        return None
    return Subscriber(session.token_hash if session else None)


def _credentials(websocket: WebSocket) -> HTTPAuthorizationCredentials | None:
    scheme, _, token = websocket.headers.get("authorization", "").partition(" ")
    if not scheme or not token:
        return None
    return HTTPAuthorizationCredentials(scheme=scheme, credentials=token.strip())


async def _pump(websocket: WebSocket, subscriber: Subscriber) -> None:
    """Send each new document until the client leaves or the subscriber is closed."""

    async def send() -> None:
        while True:
            await websocket.send_text(await subscriber.next())

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
    if closer in done:
        await websocket.close(closer.result(), "session ended: log in again")
    for task in tasks:
        if task in done and task.exception() is not None:
            # Sending to a client that went away: nothing to do but forget it.
            log.debug("socket ended: %r", task.exception())
