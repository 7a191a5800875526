"""Prometheus metrics of one consumer process, on a registry of its own."""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

log = logging.getLogger(__name__)


class Metrics:
    """The consumer's counters; ``serve`` exposes them on ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.consumed = Counter("insights_events_consumed", "Records polled from Kafka",
                                ["topic"], registry=r)
        self.applied = Counter("insights_events_applied", "Events stored for the first time",
                               ["type"], registry=r)
        self.duplicates = Counter("insights_events_duplicate",
                                  "Events whose event_id was already stored", registry=r)
        self.skipped = Counter("insights_records_replayed",
                               "Records below a sink's stored offset (replays)", registry=r)
        self.rejected = Counter("insights_events_rejected", "Dead-lettered records",
                                ["reason"], registry=r)
        self.batch_seconds = Histogram(
            "insights_batch_seconds", "Time to write one batch to a sink", ["sink"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=r)
        self.batch_size = Histogram("insights_batch_records", "Records per batch",
                                    buckets=(1, 10, 100, 500, 1000, 2000, 5000, 10000, 20000),
                                    registry=r)
        self.sink_errors = Counter("insights_sink_errors", "Failed batch writes (retried)",
                                   ["sink"], registry=r)
        self.poll_errors = Counter("insights_poll_errors",
                                   "Polls of Kafka that failed (retried)", registry=r)
        self.lag = Gauge("insights_consumer_lag", "Records behind the partition's high watermark",
                         ["topic", "partition"], registry=r)
        self.last_commit = Gauge("insights_last_commit_timestamp_seconds",
                                 "When the last batch was committed (Unix time)", registry=r)

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        """Expose ``/metrics`` on ``host:port`` (port 0 = do not serve)."""
        if port:
            try:
                start_http_server(port, addr=host, registry=self.registry)
                log.info("metrics on http://%s:%d/metrics", host, port)
            except OSError as exc:
                log.warning("metrics not served: port %d: %s (set INSIGHTS_METRICS_PORT)",
                            port, exc)
