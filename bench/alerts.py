"""Alert latency: the event that crosses a rule produced to Kafka -> the webhook arriving.

One ``insights consume`` and one ``insights alerts dispatch`` process on the
embedded stack (or configured servers), a webhook receiver on loopback, and
background traffic at ``--rate`` events/s (sessions, views, log-ins, errors;
locks left out). ``--probes`` times a second, a user not locked before is
locked: the "account locked" rule fires for them alone. Each probe's latency is
from just before its event is produced to the moment the receiver has read the
request naming that user. Grouping is off (``INSIGHTS_ALERTS_GROUP_S=0``), so
every crossing is sent on its own; with grouping a rule's first alert goes
out the same way and later ones wait for the group.

    make bench-alerts                          # 1,000 events/s, 60 s
    .venv/bin/python bench/alerts.py --rate 2000 --seconds 30
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import threading
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import msgspec
from cryptography.fernet import Fernet
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import results
from bench.latency import percentiles
from bench.runs import fresh_settings, paced
from harness.factories import event
from harness.services import ConsumerProcess, environment
from insights import database, logs
from insights.alerts import sealing, signing, store
from insights.events import kafka
from insights.events.producer import Emitter
from insights.settings import Settings

log = logging.getLogger("bench.alerts")
LEFT_OUT = {"account_locked", "account_unlocked"}
FIRST_PROBE = 1_000_000          # probe users' ids: apart from the background's
TARGETS = {"p99": 1000.0}


class Arrivals:
    """When the receiver read each probe user's alert (monotonic seconds)."""

    def __init__(self) -> None:
        self.at: dict[int, float] = {}
        self.lock = threading.Lock()

    def serve(self) -> tuple[ThreadingHTTPServer, str]:
        arrivals = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                now = time.monotonic()
                for alert in msgspec.json.decode(body).get("alerts", []):
                    with arrivals.lock:
                        arrivals.at.setdefault(int(alert["user"]["id"]), now)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server, f"http://127.0.0.1:{server.server_port}/hook"


def produce(settings: Settings, rate: float, probes_per_s: float, seconds: float
            ) -> tuple[int, dict[int, float]]:
    """Background traffic with the probes among it; (events sent, probe user -> when)."""
    probes: dict[int, float] = {}

    def lock(emitter: Emitter) -> None:
        user = FIRST_PROBE + len(probes)
        now = datetime.now(UTC)
        probes[user] = time.monotonic()
        emitter.emit(event("account_locked", now, user_id=user,
                           locked_until=(now + timedelta(hours=1)).isoformat()))

    with Emitter(settings.kafka_bootstrap or "", settings.topics()) as emitter:
        for n in range(int(seconds * probes_per_s) + 1):     # the probe users exist first
            emitter.emit(event("user_upsert", datetime.now(UTC) - timedelta(days=3),
                               user_id=FIRST_PROBE + n, email=f"probe{n}@example.com"))
        emitter.flush()
        sent = paced(emitter, rate, seconds, probes_per_s=probes_per_s, probe=lock,
                     left_out=LEFT_OUT)
    return sent, probes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000.0, help="events/s in all")
    parser.add_argument("--probes", type=float, default=2.0, help="crossings/s")
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    logs.configure("INFO")
    with fresh_settings("alerts", alerts_metrics_port=0, hooks_allow="127.0.0.1",
                        alerts_group_s=0.0,
                        secret_key=SecretStr(Fernet.generate_key().decode())) as settings:
        result = run(settings, args)
    results.write("alerts", result)


def run(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    kafka.ensure_topics(settings.kafka_bootstrap or "", settings.topics().values(),
                        settings.partitions)
    database.upgrade(settings.postgres_url or "")
    arrivals = Arrivals()
    server, url = arrivals.serve()
    with closing(database.connect(settings.postgres_url or "")) as conn:
        store.add_hook(conn, "bench", url, "json",
                       sealing.seal(signing.new_secret(), sealing.key(settings)))
    logs_dir = results.RESULTS / "alerts-logs"
    logs_dir.mkdir(parents=True, exist_ok=True)
    consumer = ConsumerProcess(settings, logs_dir).start()
    dispatcher = subprocess.Popen(
        [sys.executable, "-m", "insights", "alerts", "dispatch"], env=environment(settings),
        stdout=(logs_dir / "dispatcher.log").open("wb"), stderr=subprocess.STDOUT)
    try:
        time.sleep(5)                                  # the consumer joins its group
        sent, probes = produce(settings, args.rate, args.probes, args.seconds)
        deadline = time.monotonic() + 30
        while len(arrivals.at) < len(probes) and time.monotonic() < deadline:
            time.sleep(0.1)
        consumer.check_alive()
    finally:
        dispatcher.terminate()
        dispatcher.wait(30)
        consumer.terminate()
        server.shutdown()
    latencies = [1000 * (arrivals.at[u] - at) for u, at in probes.items() if u in arrivals.at]
    return {**results.context(), "events_sent": sent, "seconds": args.seconds,
            "events_per_s": round(sent / args.seconds), "crossings": len(probes),
            "crossings_not_delivered": len(probes) - len(latencies),
            "latency_ms": percentiles(latencies) if latencies else {}, "targets": TARGETS}


if __name__ == "__main__":
    main()
