"""Read benchmark: each tab's latency at 100,000 users / 5,000,000 events, beside the
reference's per-user SQL approach on the same data in the same run.

1. Seeded traffic (``bench/traffic.py``) is produced to fresh topics, then one
   ``insights consume`` process ingests it into a fresh database and a fresh Redis
   prefix; the rate runs from the first PostgreSQL commit until both sinks hold
   every event (group-join time left out, as in ``bench/ingest.py``).
2. Redis memory of the prefix (``MEMORY USAGE`` of its keys) per active user, a user
   with a session in the month window.
3. Each tab's latency through ``insights serve`` over HTTP and in-process
   (``bench/latency.py``), sequential requests after a warm-up; and the user
   profile's, over the 50 most engaged users. Over HTTP twice: as served (a tab's
   kept document is served again while it is the answer, ``web.tabs.cache``), then
   with every read computed (``INSIGHTS_WEB_TAB_CACHE=false``); in process the
   reader always computes.
4. The reference's approach on the same tables (``bench/reference_approach.py``):
   its per-user loops for problems and engagement (on an id slice, extrapolated,
   when the full loop would take too long), aggregate SQL for the other tabs.

Results go to stdout and ``bench/results/read-<time>.json``; the database, topics
and Redis keys of the run are removed at the end, unless ``--keep`` leaves them (and
their settings in ``bench/results/read-kept.json``) for ``--reuse``, which measures
step 3 again on them: the way to compare two versions of the read path on one data set.

    .venv/bin/python bench/read.py                                # 100k users, 5M events
    .venv/bin/python bench/read.py --users 2000 --events 100000   # a quick run
    .venv/bin/python bench/read.py --keep --no-reference          # then, after a change:
    .venv/bin/python bench/read.py --reuse bench/results/read-kept.json
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import latency, memory, reference_approach
from bench.read_report import report
from bench.traffic import Shape, Traffic
from harness.reference.windows import Windows
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
from insights.events.kafka import EventProducer
from insights.settings import Settings
from insights.stack import StackUrls

log = logging.getLogger("bench.read")
PROGRESS_EVERY = 500_000
KEPT = Path(__file__).resolve().parent / "results" / "read-kept.json"
KEPT_SETTINGS = ("kafka_bootstrap", "postgres_url", "redis_url", "topic_prefix",
                 "consumer_group", "redis_prefix", "partitions", "batch_size")


def produce(settings: Settings, traffic: Traffic) -> tuple[int, float]:
    """Send every event (validated by the contract's decoder); returns (events, events/s)."""
    topics = settings.topics()
    producer = EventProducer(settings.kafka_bootstrap or "")
    sent, started = 0, time.perf_counter()
    for body in traffic.events():
        raw = msgspec.json.encode(body)
        event = contract.decode(raw, now=datetime.now(UTC))
        if isinstance(event, contract.Invalid):
            raise RuntimeError(f"the generator made an invalid event: {event} {body}")
        producer.send(topics[contract.TOPIC_OF_TYPE[body["type"]]],
                      contract.message_key(event), raw)
        sent += 1
        if sent % PROGRESS_EVERY == 0:
            log.info("produced %d events (%.0f/s)", sent, sent / (time.perf_counter() - started))
    producer.flush()
    producer.close()
    return sent, sent / (time.perf_counter() - started)


def ingest(settings: Settings, n: int, log_path: Path) -> dict[str, float]:
    """Run one ``insights consume`` until PostgreSQL and Redis both hold all ``n`` events."""
    with log_path.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "insights", "consume"],
                                   env=environment(settings), stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        return _wait_ingested(settings, n, process, log_path)
    finally:
        process.terminate()
        process.wait(120)


def _wait_ingested(settings: Settings, n: int, process: subprocess.Popen[bytes],
                   log_path: Path) -> dict[str, float]:
    first: tuple[float, int] | None = None
    pg_done: float | None = None
    last_log = time.monotonic()
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"insights consume exited with {process.returncode}; "
                               f"see {log_path}")
        pg, rd = stored_records(settings), redis_records(settings)
        now = time.perf_counter()
        if pg and first is None:
            first = (now, pg)
        if pg >= n and pg_done is None:
            pg_done = now
        if pg >= n and rd >= n:
            break
        if time.monotonic() - last_log > 15:
            log.info("ingested: PostgreSQL %d, Redis %d of %d", pg, rd, n)
            last_log = time.monotonic()
        time.sleep(0.25)
    assert first is not None and pg_done is not None
    elapsed = now - first[0]
    return {"ingest_events_per_s": round((n - first[1]) / elapsed),
            "ingest_seconds": round(elapsed, 1),
            "postgres_done_after_s": round(pg_done - first[0], 1)}


def vacuum(url: str) -> float:
    """VACUUM ANALYZE after the bulk load, as a live database would be: planner statistics
    and visibility maps for both our reads and the reference's queries."""
    started = time.perf_counter()
    with closing(database.connect(url)) as conn:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


def active_users(url: str, now: datetime) -> int:
    """Distinct user ids with a session in the month window."""
    with closing(database.connect(url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(DISTINCT user_id) FROM user_sessions "
                    "WHERE user_id IS NOT NULL AND started_at >= %s",
                    (Windows(now, "month").start,))
        row = cur.fetchone()
    assert row is not None
    return int(row[0])


def reference(url: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    """The reference's approach for every case of ``latency.CASES`` (see the module)."""
    found = []
    with closing(database.connect(url)) as conn:
        conn.autocommit = True      # one statement at a time, as the reference's session
        for case in latency.CASES:
            now = datetime.now(UTC)
            row: dict[str, Any] = {"case": case.name}
            if case.tab in reference_approach.PER_USER:
                row.update(reference_approach.per_user(
                    conn, case.tab, case.period, now, slice_max_id=args.slice_users,
                    full=case.period in args.reference_full, limit_s=args.reference_limit_s))
                row["set_sql_s"] = round(reference_approach.aggregate(
                    conn, case.tab, case.period, case.filter, now), 3)
            else:
                row.update(seconds=reference_approach.aggregate(
                    conn, case.tab, case.period, case.filter, now), how="measured")
            log.info("reference %-18s %.2f s (%s)", case.name, row["seconds"], row["how"])
            found.append(row)
    return found


def setup(args: argparse.Namespace) -> tuple[Settings, StackUrls, str]:
    """Fresh database, topics, consumer group and Redis prefix on the resolved servers."""
    base = Settings()
    urls = endpoints.resolve(base)
    db = unique("insights_bench_read_")
    admin(urls.postgres_url, f'CREATE DATABASE "{db}"')
    settings = base.model_copy(update={
        "kafka_bootstrap": urls.kafka_bootstrap, "postgres_url": with_database(
            urls.postgres_url, db), "redis_url": urls.redis_url,
        "topic_prefix": unique("benchread") + ".", "consumer_group": unique("bench-read-"),
        "redis_prefix": unique("benchread"), "partitions": args.partitions, "metrics_port": 0,
        "batch_size": args.batch_size, "log_level": "WARNING"})
    database.upgrade(settings.postgres_url or "")
    kafka.ensure_topics(urls.kafka_bootstrap, settings.topics().values(), args.partitions)
    return settings, urls, db


def cleanup(settings: Settings, urls: StackUrls, db: str) -> None:
    """Drop the database, delete the Redis keys and the topics of the run."""
    admin(urls.postgres_url, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    client = redis.Redis.from_url(urls.redis_url)
    try:
        log.info("deleted %d Redis keys", memory.delete_prefix(client, settings.redis_prefix))
    finally:
        client.close()
    try:
        from kafka import KafkaAdminClient
        topics_admin = KafkaAdminClient(bootstrap_servers=urls.kafka_bootstrap.split(","))
        try:
            topics_admin.delete_topics(list(settings.topics().values()))
        finally:
            topics_admin.close()
    except Exception as error:    # the broker may not support it; the topics only cost memory
        log.warning("could not delete the topics: %s", error)


def keep(settings: Settings, db: str, result: dict[str, Any]) -> None:
    """Note where the kept data set is, for ``--reuse``."""
    KEPT.parent.mkdir(exist_ok=True)
    KEPT.write_text(msgspec.json.encode({
        "database": db, "settings": {k: getattr(settings, k) for k in KEPT_SETTINGS},
        "data": {k: result[k] for k in ("users", "events", "seed", "sessions", "active_users",
                                        "redis_memory", "ingest_events_per_s")}}).decode())
    log.info("kept the database, topics and Redis keys: --reuse %s", KEPT)


def reuse(path: Path, args: argparse.Namespace, logs_dir: Path) -> dict[str, Any]:
    """Step 3 again (and 4 unless ``--no-reference``) on a data set kept by ``--keep``."""
    kept = msgspec.json.decode(path.read_bytes())
    settings = Settings().model_copy(update={**kept["settings"], "metrics_port": 0,
                                             "log_level": "WARNING"})
    return {**kept["data"], "produce_events_per_s": 0, "ingest_seconds": 0,
            "postgres_done_after_s": 0, "vacuum_analyze_s": 0,
            "reused": str(path), **measure(args, settings, logs_dir)}


def measure(args: argparse.Namespace, settings: Settings, logs_dir: Path) -> dict[str, Any]:
    """Step 3 (and 4): each tab's latency over HTTP and in process, the profile's, and the
    reference's approach unless ``--no-reference``."""
    plan = latency.Plan(args.requests, args.warmup, args.case_budget_s)
    with latency.ApiServer(settings, logs_dir / "serve.log") as server:
        token = latency.create_token(settings)
        http = latency.over_http(server, token, plan)
        profile_http = latency.profiles_over_http(server, token, plan)
    log.info("again with every read computed (INSIGHTS_WEB_TAB_CACHE=false)")
    cold = settings.model_copy(update={"web_tab_cache": False})
    with latency.ApiServer(cold, logs_dir / "serve-cold.log") as server:
        http_cold = latency.over_http(server, token, plan)
    local, profiles = latency.in_process(settings, plan)
    ref = reference(settings.postgres_url or "", args) if args.reference else []
    return {"requests_per_case": args.requests, "warmup": args.warmup,
            "case_budget_s": args.case_budget_s, "http_ms": http, "http_cold_ms": http_cold,
            "in_process_ms": local, "profile_http_ms": profile_http, "profiles": profiles,
            "reference": ref}


def run(args: argparse.Namespace, settings: Settings, logs_dir: Path) -> dict[str, Any]:
    """Steps 1 to 4 of the module docstring; returns the results."""
    url = settings.postgres_url or ""
    client = redis.Redis.from_url(settings.redis_url or "")
    before = memory.used_memory(client)
    client.close()
    traffic = Traffic(Shape(users=args.users, events=args.events, seed=args.seed),
                      datetime.now(UTC))
    log.info("producing %d events: %d users, %d sessions", args.events, args.users,
             len(traffic.sessions))
    sent, produce_rate = produce(settings, traffic)
    log.info("ingesting with one insights consume (PostgreSQL and Redis sinks)")
    ingested = ingest(settings, sent, logs_dir / "consume.log")
    vacuum_s = vacuum(url)
    active = active_users(url, datetime.now(UTC))
    log.info("VACUUM ANALYZE took %.1f s; %d active users; measuring Redis memory",
             vacuum_s, active)
    mem = memory.measure(settings.redis_url or "", settings.redis_prefix, before, active)
    return {"users": args.users, "events": sent, "seed": args.seed,
            "sessions": len(traffic.sessions), "active_users": active,
            "produce_events_per_s": round(produce_rate), **ingested,
            "vacuum_analyze_s": round(vacuum_s, 1), "redis_memory": mem,
            **measure(args, settings, logs_dir)}


def code_version() -> str:
    """The commit the benchmarked code comes from, ``+dirty`` when its tree has changes
    (others may commit while a long run goes on: run it from a worktree to pin the code)."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, text=True,
                              capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, text=True, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty.strip() else "")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--requests", type=int, default=200, help="timed reads per case")
    parser.add_argument("--warmup", type=int, default=5, help="untimed reads per case first")
    parser.add_argument("--case-budget-s", type=float, default=60,
                        help="stop timing a case after this long (at least 20 reads)")
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=Settings().batch_size)
    parser.add_argument("--slice-users", type=int, default=10_000,
                        help="the reference's per-user loops run first on ids <= this")
    parser.add_argument("--reference-full", default="week",
                        help="periods (comma separated) whose per-user loops also run at "
                             "full size when the slice's estimate allows")
    parser.add_argument("--reference-limit-s", type=float, default=300,
                        help="longest estimated full-size per-user loop that is run")
    parser.add_argument("--no-reference", dest="reference", action="store_false")
    parser.add_argument("--keep", action="store_true",
                        help=f"leave the data set in place for --reuse (noted in {KEPT.name})")
    parser.add_argument("--reuse", type=Path, metavar="KEPT_JSON",
                        help="measure the reads again on a data set left by --keep")
    args = parser.parse_args()
    args.reference_full = {p for p in args.reference_full.split(",") if p}
    return args


def fresh(args: argparse.Namespace, logs_dir: Path) -> dict[str, Any]:
    """Steps 1 to 4 on a new data set, removed afterwards unless ``--keep``."""
    settings, urls, db = setup(args)
    log.info("database %s, Redis prefix %s, child logs in %s", db, settings.redis_prefix,
             logs_dir)
    kept = False
    try:
        result = run(args, settings, logs_dir)
        if args.keep:
            keep(settings, db, result)
            kept = True
        return result
    finally:
        if not kept:
            cleanup(settings, urls, db)


def main() -> None:
    args = parse_args()
    logs.configure("INFO")
    logging.getLogger("httpx2").setLevel(logging.WARNING)    # not a line per request
    started, load_start, version = time.perf_counter(), os.getloadavg(), code_version()
    log.info("code %s", version)
    logs_dir = Path(tempfile.mkdtemp(prefix="bench-read-"))
    result = reuse(args.reuse, args, logs_dir) if args.reuse else fresh(args, logs_dir)
    result["run_seconds"] = round(time.perf_counter() - started)
    result["code"] = {"start": version, "end": code_version()}
    result["load_average_start"] = [round(x, 2) for x in load_start]
    result["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    report(result)


if __name__ == "__main__":
    main()
