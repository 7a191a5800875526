"""The FastAPI application, built in one place: :func:`create_app`.

Its lifespan connects to PostgreSQL (a pooled SQLAlchemy engine) and Redis and
keeps them, the Redis read model's store, the tab reader, the clock, the shared
web state and the live views' hub on ``app.state`` for ``web.deps``; it runs the
one Redis listener feeding the hub. Nothing connects before the app starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Final

import redis
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from insights.settings import Settings
from web import outage
from web.api import build_router
from web.auth.identity import still_allowed
from web.documents import schema
from web.engine import connect_redis, create_engine, server_urls
from web.live.hub import Hub
from web.live.listener import listen, watch_credentials
from web.live.views import Views
from web.metrics import build_registry
from web.reader import TabReader
from web.server.limits import install
from web.state import STATIC, Assets, WebState, build_state
from web.tabs import RedisTabs, build_reader
from web.tabs.cache import TabCache

log = logging.getLogger(__name__)
#: How often the credentials of open sockets are re-checked (seconds).
CREDENTIALS_S: Final = 15.0


def _utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(settings: Settings, *, tab_reader: TabReader | None = None,
               clock: Callable[[], datetime] | None = None) -> FastAPI:
    """The read API of ``docs/api.md``; ``tab_reader`` defaults to the Redis-backed one
    (profiles always read the Redis read model), ``clock`` (aware datetimes) to the
    system clock in UTC."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pg_url, redis_url = server_urls(settings)
        engine = create_engine(pg_url, timeout_s=settings.web_postgres_timeout_ms / 1000)
        redis_client = connect_redis(redis_url, settings.web_redis_timeout_ms / 1000)
        tabs: RedisTabs | None = None
        tasks: list[asyncio.Task[None]] = []
        try:
            tabs = build_reader(redis_client, engine, settings)
            app.state.engine, app.state.redis, app.state.store = engine, redis_client, tabs.store
            web = app.state.web = build_state(settings)
            app.state.reader = tab_reader or _cached(tabs, redis_client, web, settings)
            app.state.clock = clock or _utc_now
            app.state.views = Views(app.state.reader, engine, tabs.store, client=redis_client,
                                    keys=web.keys, clock=app.state.clock,
                                    dashboard_url=settings.dashboard_url)
            hub = app.state.hub = Hub(app.state.views, web.live_interval_s)
            app.state.metrics = build_registry(
                hub, partial(redis_client.hgetall, web.keys.audit))
            tasks = [asyncio.create_task(listen(redis_url, web.keys, hub,
                                                settings.web_redis_timeout_ms / 1000)),
                     asyncio.create_task(watch_credentials(hub, _allowed(engine, web),
                                                           CREDENTIALS_S))]
            log.info("web app ready")
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if tabs is not None:
                tabs.store.redis.close()
            redis_client.close()
            engine.dispose()

    app = FastAPI(title="insights", summary="Live user insights: the read API",
                  version="1", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.include_router(build_router())
    schema.install(app)        # the documents' types in /openapi.json
    install(app, settings)     # body, time and concurrency bounds; security headers
    outage.install(app)
    app.mount("/static", Assets(directory=STATIC, check_dir=False), name="static")
    return app


def _cached(tabs: RedisTabs, client: redis.Redis, web: WebState, settings: Settings
            ) -> TabReader:
    """The Redis tab reader, behind the kept documents unless the settings turn them off."""
    return TabCache(tabs, client, tabs.store.in_use) if settings.web_tab_cache else tabs


def _allowed(engine: Engine, web: WebState) -> Callable[[Collection[str]], set[str]]:
    """The re-check of the credentials holding sockets."""
    return partial(still_allowed, engine, limits=web.session_limits)
