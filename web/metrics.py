"""Prometheus metrics of one web process (``GET /metrics``, no auth: counts only).

Read from the hub when scraped, so the live path pays nothing for them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import redis
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

from web.live.hub import Hub

router = APIRouter(include_in_schema=False)


def build_registry(hub: Hub, audit: Callable[[], Mapping[Any, Any]] | None = None
                   ) -> CollectorRegistry:
    """Gauges over the hub's state and counters, and the last ``insights audit`` (read by
    ``audit`` when scraped: NaN when none ran or Redis does not answer)."""
    registry = CollectorRegistry()
    if audit is not None:
        Gauge("insights_audit_differences", "Differences the last insights audit found",
              registry=registry).set_function(lambda: _field(audit, "differences"))
        Gauge("insights_audit_timestamp_seconds", "When the last insights audit ran",
              registry=registry).set_function(lambda: _field(audit, "at"))
    Gauge("insights_web_sockets", "Open live sockets", registry=registry
          ).set_function(hub.watchers)
    Gauge("insights_web_views", "Live views with subscribers", registry=registry
          ).set_function(hub.views)
    Gauge("insights_web_recomputes", "Live view documents computed since start",
          registry=registry).set_function(lambda: hub.computed)
    Gauge("insights_web_documents_sent", "Documents offered to sockets since start",
          registry=registry).set_function(lambda: hub.offered)
    Gauge("insights_web_recompute_seconds", "Time spent computing live views since start",
          registry=registry).set_function(lambda: hub.compute_seconds)
    return registry


def _field(read: Callable[[], Mapping[Any, Any]], name: str) -> float:
    try:
        found = read()           # the web app's client answers bytes
        return float(found.get(name.encode(), found.get(name, "nan")))
    except (redis.RedisError, ValueError):
        return math.nan


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """The web process's metrics in Prometheus' text format (on the event loop: the
    gauges read the hub, which only the loop changes)."""
    registry: CollectorRegistry = request.app.state.metrics
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
