"""The routes, one router per resource: ``/api`` needs an API token or a log-in session,
the pages and sockets check their own (``web.api.pages``, ``web.api.live``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from web import metrics
from web.api import alerts, docs, export, health, hooks, live, pages, tabs, users
from web.deps import current_account


def build_router() -> APIRouter:
    """All routes: ``/healthz`` open, the ``/api`` routers behind authentication."""
    router = APIRouter()
    router.include_router(health.router)
    router.include_router(pages.router)
    router.include_router(docs.router)
    router.include_router(live.router)
    router.include_router(metrics.router)
    api = APIRouter(prefix="/api", dependencies=[Depends(current_account)])
    api.include_router(tabs.router)
    api.include_router(users.router)
    api.include_router(export.router)
    api.include_router(alerts.router)
    api.include_router(hooks.router)
    router.include_router(api)
    return router
