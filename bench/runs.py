"""What the live benchmarks share: a run's own database and names, and paced traffic."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from harness.factories import stream
from harness.services import admin, unique, with_database
from insights import endpoints
from insights.events.producer import Emitter
from insights.settings import Settings


@contextmanager
def fresh_settings(name: str, **overrides: Any) -> Iterator[Settings]:
    """Settings of one run on the embedded stack (or the configured servers): a database,
    topics, consumer group and key prefix of its own; the database is dropped after."""
    base = Settings()
    urls = endpoints.resolve(base)
    db = unique(f"insights_{name}_")
    admin(urls.postgres_url, f'CREATE DATABASE "{db}"')
    try:
        yield base.model_copy(update={
            "kafka_bootstrap": urls.kafka_bootstrap, "redis_url": urls.redis_url,
            "postgres_url": with_database(urls.postgres_url, db),
            "topic_prefix": unique(name) + ".", "consumer_group": unique(f"{name}-"),
            "redis_prefix": unique(name), "metrics_port": 0, **overrides})
    finally:
        admin(urls.postgres_url, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def paced(emitter: Emitter, rate: float, seconds: float, *, probes_per_s: float,
          probe: Callable[[Emitter], None], left_out: Collection[str] = ()) -> int:
    """Background traffic at ``rate`` events/s for ``seconds`` (timestamped as sent,
    without the types in ``left_out``), and ``probe`` called ``probes_per_s`` times a
    second among it (flushed at once); returns the events sent, probes included."""
    background = (e for e in stream(10**9, users=2000, start=datetime.now(UTC))
                  if e["type"] not in left_out)
    sent, started = 0, time.monotonic()
    next_probe = started + 1 / probes_per_s
    while time.monotonic() - started < seconds:
        due = int((time.monotonic() - started) * rate) - sent
        for _ in range(max(0, due)):
            body = next(background)
            body["ts"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
            emitter.emit(body)
            sent += 1
        if time.monotonic() >= next_probe:
            probe(emitter)
            emitter.flush()
            sent += 1
            next_probe += 1 / probes_per_s
        time.sleep(0.005)
    emitter.flush()
    return sent
