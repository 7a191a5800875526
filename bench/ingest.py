"""Ingest benchmark: raw consume rate of the broker beside end-to-end ingest into the sinks.

Both are measured in the same run on the same pre-produced topics: first a bare
consumer reads every record (kafka-python, no processing), then one
``insights consume`` process ingests them into a fresh database, twice: into
PostgreSQL only (``INSIGHTS_REDIS_SINK=false``), then into PostgreSQL and
Redis (the default). Rates are
counted from the first record/commit to the last, so group-join time is left
out of both. Results go to stdout and ``bench/results/ingest-<time>.json``.

    make bench                       # embedded stack, 200k events
    .venv/bin/python bench/ingest.py --events 500000
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import results
from harness.factories import stream
from harness.services import (
    admin,
    environment,
    redis_records,
    stored_records,
    unique,
    with_database,
)
from insights import database, endpoints, logs
from insights.events import contract, kafka
from insights.events.kafka import EventConsumer, EventProducer, Rebalance
from insights.settings import Settings

log = logging.getLogger("bench.ingest")
RESULTS = Path(__file__).resolve().parent / "results"


def produce(settings: Settings, n: int) -> float:
    """Send ``n`` contract events (pre-validated) to their topics; returns events/s."""
    topics = settings.topics()
    now = datetime.now(UTC)
    producer = EventProducer(settings.kafka_bootstrap or "")
    started = time.perf_counter()
    # A session a second (about 10 events each), ending before now: two days back, or
    # more for a history of more than ~1.7 million events.
    start = now - timedelta(seconds=max(2 * 86400, n // 8))
    for body in stream(n, users=max(100, n // 200), seed=42, start=start):
        raw = msgspec.json.encode(body)
        event = contract.decode(raw, now=now)
        assert not isinstance(event, contract.Invalid), event
        producer.send(topics[contract.TOPIC_OF_TYPE[body["type"]]],
                      contract.message_key(event), raw)
    producer.flush()
    producer.close()
    return n / (time.perf_counter() - started)


def raw_consume(settings: Settings, n: int) -> float:
    """Records/s of a bare kafka-python consumer over the same topics."""
    consumer = EventConsumer(settings.kafka_bootstrap or "", unique("bench-raw-"),
                             list(settings.topics().values()),
                             Rebalance(lambda _: None, lambda _: None))
    seen, first = 0, 0.0
    deadline = time.monotonic() + 300
    while seen < n and time.monotonic() < deadline:
        records = consumer.poll(0.5, 10_000)
        if records and not first:
            first = time.perf_counter()
        seen += len(records)
    elapsed = time.perf_counter() - first
    consumer.close()
    if seen < n:
        raise SystemExit(f"raw consumer read only {seen} of {n} records")
    return n / elapsed


def ingest(settings: Settings, n: int) -> tuple[float, float]:
    """(events/s, seconds) for one ``insights consume`` process to store all ``n`` in its
    sinks (PostgreSQL, and Redis unless ``settings.redis_sink`` is off)."""
    process = subprocess.Popen([sys.executable, "-m", "insights", "consume"],
                               env=environment(settings), stderr=subprocess.DEVNULL)
    try:
        first = None
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            done = stored_records(settings)
            if settings.redis_sink:
                done = min(done, redis_records(settings))
            if done and first is None:
                first = (time.perf_counter(), done)
            if done >= n:
                break
            time.sleep(0.05)
        else:
            raise SystemExit(f"ingest stored only {done} of {n} records")
        assert first is not None
        elapsed = time.perf_counter() - first[0]
        return (n - first[1]) / elapsed, elapsed
    finally:
        process.terminate()
        process.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=Settings().batch_size)
    args = parser.parse_args()
    logs.configure("INFO")
    base = Settings()
    urls = endpoints.resolve(base)
    settings = base.model_copy(update={
        "kafka_bootstrap": urls.kafka_bootstrap, "redis_url": urls.redis_url,
        "topic_prefix": unique("bench") + ".", "partitions": args.partitions,
        "metrics_port": 0, "batch_size": args.batch_size})
    kafka.ensure_topics(urls.kafka_bootstrap, settings.topics().values(), args.partitions)
    log.info("producing %d events", args.events)
    rates = {"produce_events_per_s": produce(settings, args.events)}
    log.info("raw consume")
    rates["raw_consume_records_per_s"] = raw_consume(settings, args.events)
    for redis_sink, name in ((False, "ingest_postgres_events_per_s"),
                             (True, "ingest_postgres_and_redis_events_per_s")):
        log.info("end-to-end ingest, one consumer process: %s",
                 "PostgreSQL and Redis" if redis_sink else "PostgreSQL only")
        rates[name] = ingest_into_fresh_stores(settings, urls.postgres_url, args.events,
                                               redis_sink)
    report(args, rates)


def ingest_into_fresh_stores(settings: Settings, server_url: str, n: int, redis_sink: bool
                             ) -> float:
    """Events/s of one consumer into a new database (and Redis prefix) from the start."""
    db = unique("insights_bench_")
    admin(server_url, f'CREATE DATABASE "{db}"')
    try:
        run = settings.model_copy(update={
            "postgres_url": with_database(server_url, db), "consumer_group": unique("bench-"),
            "redis_prefix": unique("bench"), "redis_sink": redis_sink})
        database.upgrade(run.postgres_url or "")
        return ingest(run, n)[0]
    finally:
        admin(server_url, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def report(args: argparse.Namespace, rates: dict[str, float]) -> None:
    result: dict[str, object] = {
        **results.context(),
        "events": args.events, "partitions": args.partitions, "batch_size": args.batch_size,
        **{k: round(v) for k, v in rates.items()},
        "targets": "PostgreSQL only >= 20,000/s (issue 2); both sinks >= 25,000/s (issue 11)",
    }
    results.write("ingest", result)


if __name__ == "__main__":
    main()
