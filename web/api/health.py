"""``GET /healthz``: liveness of the app and its servers (no auth, for load balancers).

Both servers are asked at once, each within the app's timeouts, so the answer
comes in bounded time even when one is frozen.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import redis
from fastapi import APIRouter, status
from sqlalchemy import text
from sqlalchemy.engine import Engine

from web import outage
from web.deps import EngineDep, NowDep, RedisDep, ViewsDep
from web.documents.common import Health
from web.documents.schema import answer, ref
from web.formats import Document

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


@router.get("/healthz", response_class=Document, responses={
    **answer("Health", "every server and the read model are ok"),
    503: {"description": "a server or the read model is not ok",
          "content": {"application/json": {"schema": ref("Health")}}}})
async def health(engine: EngineDep, redis_client: RedisDep, views: ViewsDep, now: NowDep
                 ) -> Document:
    """``ok`` per server that answers, else what is wrong with it (``unreachable``,
    ``timeout``, ``busy``, ``error``), and ``read_model``: ``ok``, or ``rebuilding`` when
    Redis does not hold the read model PostgreSQL vouches for (``web.readcheck``); 503
    with ``Retry-After`` when any is not ok."""
    postgres, redis_state = await asyncio.gather(
        asyncio.to_thread(_check, "postgres", lambda: _select_one(engine)),
        asyncio.to_thread(_check, "redis", lambda: _ping(redis_client)))
    checks = Health(postgres=postgres, redis=redis_state)
    if postgres == redis_state == "ok":
        checks.read_model = await asyncio.to_thread(
            _check, "read model", lambda: views.freshness(now))
    response = Document(checks, headers={"Cache-Control": "no-store"})
    if checks.read_model != "ok":        # also when it was not read: a server is not ok
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        response.headers["Retry-After"] = str(outage.RETRY_AFTER_S)
    return response


def _check(name: str, probe: Callable[[], object]) -> str:
    try:
        probe()
    except Exception as error:
        down = outage.of(error)
        state = "error" if down is None else down.state     # "error": it answered wrongly
        log.warning("health: %s %s: %r", name, state, error)
        return state
    return "ok"


def _select_one(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def _ping(client: redis.Redis) -> None:
    client.ping()
