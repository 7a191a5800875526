"""``GET /healthz``: liveness of the app and its servers (no auth, for load balancers)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response, status
from redis import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from web.deps import EngineDep, RedisDep

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


@router.get("/healthz")
def health(engine: EngineDep, redis_client: RedisDep, response: Response) -> dict[str, str]:
    """``ok`` per server that answers; 503 when any does not."""
    checks = {"postgres": "ok", "redis": "ok"}
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        log.warning("health: PostgreSQL unreachable: %s", error)
        checks["postgres"] = "unreachable"
    try:
        redis_client.ping()
    except RedisError as error:
        log.warning("health: Redis unreachable: %s", error)
        checks["redis"] = "unreachable"
    if any(value != "ok" for value in checks.values()):
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return checks
