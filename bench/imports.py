"""Import benchmark: ``insights import`` from a gzip JSON Lines file and from a database in
the reference application's shape, events/s to Kafka (the real command, as a process).

The file holds ``--events`` generated contract events (a third without an id, so
the stable ids are computed too). The database is made by ingesting those events
with ``insights consume`` and copying the tables into the reference's shape
(``harness.reference.shape``); a database import yields more events than rows (a
session gives a start and an end). Results go to stdout and
``bench/results/imports-<time>.json``.

    make bench-import                 # 100,000 events
"""

from __future__ import annotations

import argparse
import gzip
import logging
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import results
from bench.ingest import ingest
from bench.runs import fresh_settings
from harness.factories import stream
from harness.reference.shape import copy_site
from harness.services import admin, environment, unique, with_database
from insights import database, endpoints, logs
from insights.events import kafka
from insights.settings import Settings

log = logging.getLogger("bench.imports")


def run_import(settings: Settings, *args: str) -> tuple[int, float]:
    """(events produced, seconds) of one ``insights import``."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "insights", "import", *args],
                          env=environment(settings), capture_output=True, text=True,
                          check=False)
    seconds = time.perf_counter() - started
    found = re.search(r"([\d,]+) events produced", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"import failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", "")), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    logs.configure("INFO")
    rates: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, fresh_settings("bimport") as settings:
        kafka.ensure_topics(settings.kafka_bootstrap or "", settings.topics().values(),
                            settings.partitions)
        events = list(stream(args.events, users=max(100, args.events // 200), seed=8))
        for n, event in enumerate(events):
            if n % 3 == 1:
                del event["event_id"]
        path = Path(tmp) / "history.jsonl.gz"
        path.write_bytes(gzip.compress(b"\n".join(map(msgspec.json.encode, events))))
        log.info("importing %s (%d bytes)", path.name, path.stat().st_size)
        sent, seconds = run_import(settings, str(path))
        rates["file_events_per_s"] = sent / seconds
        log.info("consuming them, to make the reference-shaped database")
        database.upgrade(settings.postgres_url or "")
        ingest(settings, sent)
        urls = endpoints.resolve(Settings())
        site = unique("bench_reference_site_")
        admin(urls.postgres_url, f'CREATE DATABASE "{site}"')
        try:
            copy_site(settings.postgres_url or "", with_database(urls.postgres_url, site))
            target = settings.model_copy(update={"topic_prefix": unique("bimport2") + "."})
            sent, seconds = run_import(target, "--from-db", with_database(urls.postgres_url,
                                                                          site))
            rates["database_events_per_s"] = sent / seconds
            rates["database_events"] = sent
        finally:
            admin(urls.postgres_url, f'DROP DATABASE IF EXISTS "{site}" WITH (FORCE)')
    results.write("imports", {**results.context(), "events": args.events,
                              **{k: round(v) for k, v in rates.items()},
                              "note": "whole command, start-up included"})


if __name__ == "__main__":
    main()
