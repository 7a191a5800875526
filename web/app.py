"""The FastAPI application, built in one place: :func:`create_app`.

Its lifespan connects to PostgreSQL (a pooled SQLAlchemy engine) and Redis and
keeps them, the Redis read model's store, the tab reader and the clock on
``app.state`` for ``web.deps``. Nothing connects before the app starts.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import redis
from fastapi import FastAPI

from insights.settings import Settings
from web.api import build_router
from web.engine import create_engine, server_urls
from web.reader import TabReader
from web.tabs import RedisTabs, build_reader

log = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(settings: Settings, *, tab_reader: TabReader | None = None,
               clock: Callable[[], datetime] | None = None) -> FastAPI:
    """The read API of ``api.md``; ``tab_reader`` defaults to the Redis-backed one
    (profiles always read the Redis read model), ``clock`` (aware datetimes) to the
    system clock in UTC."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pg_url, redis_url = server_urls(settings)
        engine = create_engine(pg_url)
        redis_client = redis.Redis.from_url(redis_url)
        tabs: RedisTabs | None = None
        try:
            tabs = build_reader(redis_client, engine, settings)
            app.state.engine, app.state.redis, app.state.store = engine, redis_client, tabs.store
            app.state.reader, app.state.clock = tab_reader or tabs, clock or _utc_now
            log.info("web app ready")
            yield
        finally:
            if tabs is not None:
                tabs.store.redis.close()
            redis_client.close()
            engine.dispose()

    app = FastAPI(title="insights", summary="Live user insights: the read API",
                  version="1", lifespan=lifespan, docs_url="/docs")
    app.include_router(build_router())
    return app
