"""Backfill benchmark: ``insights backfill`` rate, events/s from PostgreSQL into Redis.

``--events`` generated events are ingested by ``insights consume`` (PostgreSQL
only, so Redis starts empty), then the read model is rebuilt from PostgreSQL with
``consumers.backfill.rebuild`` (``--workers`` processes, one per core by default, as
``insights backfill``), timed from its start to its end: re-scoring every user and
dropping the previous generation included (each repeat builds a new one, as an
online backfill does), the grace period readers get before that drop left out (no
reader here). Results go to stdout and ``bench/results/backfill-<time>.json``.

A rebuild's fixed costs (starting the replayer processes, ~0.5 s; re-scoring every
user) weigh on a small history, so the default is a month of a small site.

    make bench-backfill               # 1,000,000 events, ~3 min
    python bench/backfill.py --events 200000 --repeat 3 --workers 1
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import results
from bench.ingest import ingest, produce
from bench.runs import fresh_settings
from consumers import backfill, collector
from consumers.projection import RedisProjection
from insights import database, logs
from insights.events import kafka
from insights.machine import usable_cpus
from insights.readmodel import leftovers

log = logging.getLogger("bench.backfill")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=usable_cpus(),
                        help="replaying processes (default: one per usable core, as the CLI)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rebuilds of the same stored events (the median rate is kept)")
    args = parser.parse_args()
    logs.configure("INFO")
    with fresh_settings("bbackfill", redis_sink=False) as settings:
        kafka.ensure_topics(settings.kafka_bootstrap or "", settings.topics().values(),
                            settings.partitions)
        log.info("producing and storing %d events (PostgreSQL only)", args.events)
        produce(settings, args.events)
        database.upgrade(settings.postgres_url or "")
        ingest(settings, args.events)
        _settle(settings.postgres_url or "")
        now = datetime.now(UTC)
        database.cancel_on_interrupt()          # PostgreSQL's waits as `insights backfill`'s
        sink = RedisProjection(settings.redis_url or "", settings.postgres_url or "",
                               settings.redis_prefix, settings.sections)
        try:
            with closing(database.connect(settings.postgres_url or "")) as conn:
                total = backfill.count(conn, now)[0]
                log.info("rebuilding the read model from %d stored events", total)
                collector.tune()                   # as `insights backfill` does
                runs = [_timed_rebuild(sink, conn, now, args.workers)
                        for _ in range(args.repeat)]
        finally:
            leftovers.clear(sink.client(), sink.keys.prefix)
            sink.close()
    replayed = runs[0][0]
    rates = [round(n / s) for n, s in runs]
    log.info("rebuild rates: %s events/s", ", ".join(f"{r:,}" for r in rates))
    results.write("backfill", {**results.context(), "events": replayed,
                               "workers": args.workers,
                               "seconds": [round(s, 1) for _, s in runs],
                               "backfill_events_per_s": sorted(rates)[len(rates) // 2],
                               "runs_events_per_s": rates,
                               "target": "100,000 events/s (issue 13)"})


def _settle(url: str) -> None:
    """VACUUM ANALYZE the new rows before timing: autovacuum would otherwise do it during
    the rebuilds (1.5 to 9 µs of PostgreSQL's CPU per event between runs of the same code),
    where a production backfill finds tables autovacuum has long been through."""
    started = time.perf_counter()
    with closing(database.connect(url)) as conn:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("VACUUM (ANALYZE)")
    log.info("VACUUM ANALYZE of the stored events: %.1f s", time.perf_counter() - started)


def _timed_rebuild(sink: RedisProjection, conn: database.Connection, now: datetime,
                   workers: int) -> tuple[int, float]:
    """One whole rebuild into a new generation: (events replayed, seconds), with the CPU
    each kind of process spent per event logged (on a busy machine the wall time says
    little, the CPU time more)."""
    before = _cpu_by_kind()
    started = time.perf_counter()
    first: list[float] = []        # when the progress bar first moves (a chunk applied)

    def progress(done: int) -> None:
        if done and not first:
            first.append(time.perf_counter() - started)

    # No reader to wait for: the old generation is dropped at once (timed, as work).
    replayed = backfill.rebuild(sink, conn, now, progress, workers=workers, grace_s=0)
    seconds = time.perf_counter() - started
    after = _cpu_by_kind()
    log.info("%.1f s (first chunk applied after %.1f s); CPU per event: %s", seconds,
             first[0] if first else seconds, ", ".join(
                 f"{kind} {(after[kind] - before.get(kind, 0.0)) / max(replayed, 1) * 1e6:.1f}"
                 " µs" for kind in sorted(after)))
    return replayed, seconds


def _cpu_by_kind() -> dict[str, float]:
    """CPU seconds (user + system) so far of this process and its children (replayers
    included once they exit), PostgreSQL's processes and the Redis server's."""
    kinds: dict[str, float] = {}
    for proc in psutil.process_iter(["name", "cpu_times"]):
        name, cpu = proc.info["name"] or "", proc.info["cpu_times"]
        kind = ("postgres" if name.startswith("postgres") else
                "redis" if name.startswith(("valkey", "redis")) else None)
        if kind and cpu is not None:
            kinds[kind] = kinds.get(kind, 0.0) + cpu.user + cpu.system
    own = psutil.Process().cpu_times()
    kinds["python"] = own.user + own.system + own.children_user + own.children_system
    return kinds


if __name__ == "__main__":
    main()
