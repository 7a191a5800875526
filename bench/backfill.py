"""Backfill benchmark: ``insights backfill`` rate, events/s from PostgreSQL into Redis.

``--events`` generated events are ingested by ``insights consume`` (PostgreSQL
only, so Redis starts empty), then the read model is rebuilt from PostgreSQL with
``consumers.backfill.rebuild`` (``--workers`` processes, one per core by default, as
``insights backfill``), timed from its start to its end (re-scoring every user
included). Results go to stdout and ``bench/results/backfill-<time>.json``.

    make bench-backfill               # 200,000 events
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import results
from bench.ingest import ingest, produce
from bench.runs import fresh_settings
from consumers import backfill, collector
from consumers.projection import RedisProjection
from insights import database, logs
from insights.events import kafka
from insights.readmodel import leftovers

log = logging.getLogger("bench.backfill")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="replaying processes (default: one per CPU core, as the CLI)")
    args = parser.parse_args()
    logs.configure("INFO")
    with fresh_settings("bbackfill", redis_sink=False) as settings:
        kafka.ensure_topics(settings.kafka_bootstrap or "", settings.topics().values(),
                            settings.partitions)
        log.info("producing and storing %d events (PostgreSQL only)", args.events)
        produce(settings, args.events)
        database.upgrade(settings.postgres_url or "")
        ingest(settings, args.events)
        now = datetime.now(UTC)
        sink = RedisProjection(settings.redis_url or "", settings.postgres_url or "",
                               settings.redis_prefix, settings.sections)
        try:
            with closing(database.connect(settings.postgres_url or "")) as conn:
                total = backfill.count(conn, now)[0]
                log.info("rebuilding the read model from %d stored events", total)
                collector.tune()                   # as `insights backfill` does
                started = time.perf_counter()
                replayed = backfill.rebuild(sink, conn, now, workers=args.workers)
                seconds = time.perf_counter() - started
        finally:
            leftovers.clear(sink.client(), sink.keys.prefix)
            sink.close()
    results.write("backfill", {**results.context(), "events": replayed,
                               "workers": args.workers, "seconds": round(seconds, 1),
                               "backfill_events_per_s": round(replayed / seconds),
                               "target": "100,000 events/s (issue 13)"})


if __name__ == "__main__":
    main()
