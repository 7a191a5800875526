"""Ingest benchmark: raw consume rate of the broker beside end-to-end ingest into PostgreSQL.

Both are measured in the same run on the same pre-produced topics: first a bare
consumer reads every record (kafka-python, no processing), then one
``insights consume`` process ingests them into a fresh database. Rates are
counted from the first record/commit to the last, so group-join time is left
out of both. Results go to stdout and ``bench/results/ingest-<time>.json``.

    make bench                       # embedded stack, 200k events
    .venv/bin/python bench/ingest.py --events 500000
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from insights import contract, database, endpoints, kafka, logs
from insights.kafka import EventConsumer, EventProducer, Rebalance
from insights.settings import Settings
from tests.factories import stream
from tests.services import admin, environment, scalar, unique, with_database

log = logging.getLogger("bench.ingest")
RESULTS = Path(__file__).resolve().parent / "results"


def produce(settings: Settings, n: int) -> float:
    """Send ``n`` contract events (pre-validated) to their topics; returns events/s."""
    topics = settings.topics()
    now = datetime.now(UTC)
    producer = EventProducer(settings.kafka_bootstrap or "")
    started = time.perf_counter()
    for body in stream(n, users=max(100, n // 200), seed=42):
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
    """(events/s, seconds) for one ``insights consume`` process to store all ``n``."""
    url = settings.postgres_url or ""
    stored = "SELECT coalesce(sum(next_offset), 0) FROM sink_offsets"
    process = subprocess.Popen([sys.executable, "-m", "insights", "consume"],
                               env=environment(settings), stderr=subprocess.DEVNULL)
    try:
        first = None
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            done = int(scalar(url, stored))  # type: ignore[call-overload]
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
    db = unique("insights_bench_")
    admin(urls.postgres_url, f'CREATE DATABASE "{db}"')
    settings = base.model_copy(update={
        "kafka_bootstrap": urls.kafka_bootstrap,
        "postgres_url": with_database(urls.postgres_url, db),
        "redis_url": urls.redis_url, "topic_prefix": unique("bench") + ".",
        "consumer_group": unique("bench-"), "partitions": args.partitions, "metrics_port": 0,
        "batch_size": args.batch_size})
    try:
        database.upgrade(settings.postgres_url or "")
        kafka.ensure_topics(urls.kafka_bootstrap, settings.topics().values(), args.partitions)
        log.info("producing %d events", args.events)
        produce_rate = produce(settings, args.events)
        log.info("raw consume")
        raw_rate = raw_consume(settings, args.events)
        log.info("end-to-end ingest into PostgreSQL (one consumer process)")
        ingest_rate, seconds = ingest(settings, args.events)
    finally:
        admin(urls.postgres_url, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    report(args, produce_rate, raw_rate, ingest_rate, seconds)


def report(args: argparse.Namespace, produce_rate: float, raw_rate: float, ingest_rate: float,
           seconds: float) -> None:
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "events": args.events, "partitions": args.partitions, "batch_size": args.batch_size,
        "produce_events_per_s": round(produce_rate),
        "raw_consume_records_per_s": round(raw_rate),
        "ingest_postgres_events_per_s": round(ingest_rate),
        "ingest_seconds": round(seconds, 2),
        "ingest_vs_raw": round(ingest_rate / raw_rate, 3),
        "target_events_per_s": 20_000,
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"ingest-{result['when'].replace(':', '')}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    width = max(map(len, result))
    print("\n".join(f"{k:<{width}}  {v}" for k, v in result.items()))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
