"""The HTTP routes, one router per resource; every ``/api`` route needs an API token."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from web.api import export, health, tabs, users
from web.deps import current_account


def build_router() -> APIRouter:
    """All routes: ``/healthz`` open, the ``/api`` routers behind token auth."""
    router = APIRouter()
    router.include_router(health.router)
    api = APIRouter(prefix="/api", dependencies=[Depends(current_account)])
    api.include_router(tabs.router)
    api.include_router(users.router)
    api.include_router(export.router)
    router.include_router(api)
    return router
