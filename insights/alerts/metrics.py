"""Prometheus metrics of the alert dispatcher, on a registry of its own.

Deliveries by outcome are counted as this dispatcher sees them. Alerts recorded
per rule and the outbox's backlog come from PostgreSQL at each scrape (every
consumer records alerts; any dispatcher shows the whole picture), read with a
short statement timeout so a slow database makes a scrape empty, not slow.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import closing

import psycopg2
from prometheus_client import CollectorRegistry, Counter, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from insights.database import connect

log = logging.getLogger(__name__)

_RECORDED = """
SELECT r.name, a.kind, count(*) FROM alerts a JOIN alert_rules r ON r.id = a.rule_id
GROUP BY 1, 2"""
_OUTBOX = """
SELECT count(*) FILTER (WHERE state = 'pending'),
       coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE state = 'pending')), 0),
       (SELECT count(*) FROM alerts WHERE notification_id IS NULL),
       (SELECT count(*) FROM alert_hooks WHERE NOT enabled)
FROM alert_deliveries"""


class OutboxCollector(Collector):
    """Alerts recorded per rule and kind, and the outbox's backlog, read at each scrape."""

    def __init__(self, postgres_url: str) -> None:
        self._url = postgres_url

    def collect(self) -> Iterator[Metric]:
        recorded = GaugeMetricFamily("insights_alerts_recorded",
                                     "Alerts recorded, per rule and kind (firing, resolved)",
                                     labels=["rule", "kind"])
        backlog = GaugeMetricFamily("insights_alert_deliveries_pending",
                                    "Deliveries waiting to be sent or retried")
        age = GaugeMetricFamily("insights_alert_outbox_age_seconds",
                                "Age of the oldest delivery not yet delivered or failed")
        waiting = GaugeMetricFamily("insights_alerts_waiting",
                                    "Alerts waiting for their group's notification")
        disabled = GaugeMetricFamily("insights_alert_hooks_disabled", "Hooks disabled")
        try:
            with closing(connect(self._url)) as conn, conn.cursor() as cur:
                cur.execute("SET statement_timeout = 2000")
                cur.execute(_RECORDED)
                for rule, kind, n in cur.fetchall():
                    recorded.add_metric([rule, kind], n)
                cur.execute(_OUTBOX)
                pending, oldest, held, off = cur.fetchone()  # type: ignore[misc]
        except psycopg2.Error as exc:
            log.warning("alert metrics not read from PostgreSQL: %s", exc)
            return
        backlog.add_metric([], pending)
        age.add_metric([], float(oldest))
        waiting.add_metric([], held)
        disabled.add_metric([], off)
        yield from (recorded, backlog, age, waiting, disabled)


class DispatcherMetrics:
    """The dispatcher's metrics; ``serve`` exposes them on ``/metrics``."""

    def __init__(self, postgres_url: str) -> None:
        self.registry = CollectorRegistry()
        self.deliveries = Counter("insights_alert_attempts", "Delivery attempts by outcome "
                                  "(delivered, retry, failed)", ["outcome"],
                                  registry=self.registry)
        self.notifications = Counter("insights_alert_notifications",
                                     "Notifications made by this dispatcher",
                                     registry=self.registry)
        self.registry.register(OutboxCollector(postgres_url))

    def serve(self, port: int, host: str) -> None:
        """Expose ``/metrics`` on ``host:port`` (port 0 = do not serve)."""
        if not port:
            return
        try:
            start_http_server(port, addr=host, registry=self.registry)
            log.info("alert metrics on http://%s:%d/metrics", host, port)
        except OSError as exc:
            log.warning("alert metrics not served: port %d: %s (set "
                        "INSIGHTS_ALERTS_METRICS_PORT)", port, exc)
