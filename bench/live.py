"""Live latency: an event produced to Kafka -> the WebSocket message carrying its new value.

One ``insights consume`` and one ``insights serve`` process on the embedded stack
(or configured servers). Background traffic (sessions, views, logins, errors)
is produced at ``--rate`` events/s in all; among it, ``--probes`` times a second,
a brute-force security alert, the only kind the background leaves out, so the
problems tab's ``failed_logins`` card for today counts exactly the probes sent:
the k-th probe's value is k. ``--clients`` sockets are open on one web process,
most on that view, the rest spread over the other tabs; each probe's latency,
per client on the probed view, is the time from just before it was produced to
the first message showing a value of at least k. The web process's memory (RSS)
is sampled throughout.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import os
import re
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import cycle
from multiprocessing import Queue
from pathlib import Path
from typing import Any

import httpx2 as httpx
import psutil
import redis
import uvloop
from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import results
from bench.latency import ApiServer, create_token, percentiles
from bench.runs import fresh_settings, paced
from harness.factories import event
from harness.services import ConsumerProcess
from insights import database, logs
from insights.events import kafka
from insights.events.producer import Emitter
from insights.readmodel.generation import current
from insights.readmodel.keys import Keys
from insights.settings import Settings
from scoring.windows import day_number

log = logging.getLogger("bench.live")
RESULTS = results.RESULTS
PROBED = "/ws/tabs/problems?period=day"
OTHERS = ("/ws/tabs/engagement?period=week", "/ws/tabs/pages?period=week",
          "/ws/tabs/paths?period=week", "/ws/tabs/overview?period=week&filter=all")
CARD = re.compile(r'"failed_logins":(\d+)')
# The same card in a JSON Patch (``?patch=json``): the op that replaces it.
CARD_PATCHED = re.compile(r'"path":"/failed_logins","value":(\d+)')
LEFT_OUT = {"security_alert", "account_locked"}
TARGETS = {"p50": 300.0, "p99": 1000.0}


class Probes:
    """When each probe value was produced (monotonic seconds), shared with the clients."""

    def __init__(self) -> None:
        self.sent: dict[int, float] = {}
        self.lock = threading.Lock()

    def add(self, value: int, at: float) -> None:
        with self.lock:
            self.sent[value] = at

    def at(self, value: int) -> float | None:
        with self.lock:
            return self.sent.get(value)


def produce(settings: dict[str, Any], rate: float, probes_per_s: float, seconds: float,
            out: Queue[tuple[str, int, float]]) -> None:
    """Background traffic at ``rate`` events/s with the probes among it, in a process of
    its own (the clients' timestamps must not wait for its GIL). Each probe is put on
    ``out`` as ("probe", k, monotonic time: the same clock in every process), then
    ("done", events sent, 0)."""
    sent = _produce(Settings(**settings), rate, probes_per_s, seconds,
                    lambda k, at: out.put(("probe", k, at)))
    out.put(("done", sent, 0.0))


def _produce(settings: Settings, rate: float, probes_per_s: float, seconds: float,
             probed: Callable[[int, float], None]) -> int:
    count = [0]

    def alert(emitter: Emitter) -> None:
        count[0] += 1
        probed(count[0], time.monotonic())
        emitter.emit(event("security_alert", datetime.now(UTC),
                           user_email="probe@example.com", alert_type="brute_force"))

    with Emitter(settings.kafka_bootstrap or "", settings.topics()) as emitter:
        return paced(emitter, rate, seconds, probes_per_s=probes_per_s, probe=alert,
                     left_out=LEFT_OUT)


class Client:
    """One socket; on the probed view it records each probe's latency (ms)."""

    def __init__(self, path: str, probes: Probes, *, patch: bool) -> None:
        self.view, self.probes = path, probes
        self.path = f"{path}{'&' if '?' in path else '?'}patch=json" if patch else path
        self.seen = 0
        self.messages = 0
        self.bytes = 0            # every message after the first
        self.last_bytes = 0
        self.latencies: list[float] = []

    async def run(self, base: str, token: str, ready: asyncio.Event,
                  stop: asyncio.Event) -> None:
        async with connect(f"{base}{self.path}", max_size=None, compression=None,
                           additional_headers={"Authorization": f"Bearer {token}"},
                           open_timeout=60) as ws:
            first = await ws.recv()
            self._note(str(first), baseline=True)
            ready.set()
            await self._receive(ws, stop)

    async def _receive(self, ws: ClientConnection, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                message = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            self._note(str(message))

    def _note(self, text: str, *, baseline: bool = False) -> None:
        self.messages += 1
        self.last_bytes = len(text)
        if not baseline:
            self.bytes += len(text.encode())
        if self.view != PROBED:
            return
        # A patch names the card by its path (a row it adds has a failed_logins too).
        patch = text.startswith('{"v":') and '"patch":' in text[:30]
        found = CARD_PATCHED.search(text) if patch else CARD.search(text)
        value = int(found.group(1)) if found else self.seen      # a patch leaving it as is
        now = time.monotonic()
        if not baseline:
            for k in range(self.seen + 1, value + 1):
                sent = self.probes.at(k)
                if sent is not None:
                    self.latencies.append((now - sent) * 1000)
        self.seen = max(self.seen, value)


async def watch(base: str, token: str, clients: list[Client], seconds: float,
                on_ready: threading.Event) -> None:
    stop = asyncio.Event()
    readies = [asyncio.Event() for _ in clients]
    tasks = []
    for client, ready in zip(clients, readies, strict=True):
        tasks.append(asyncio.create_task(client.run(base, token, ready, stop)))
        await asyncio.sleep(0.005)      # no thundering herd on connect
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 120)
    log.info("%d sockets open", len(clients))
    on_ready.set()
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)


def run_producer(settings: Settings, args: argparse.Namespace, probes: Probes,
                 ready: threading.Event, sent: list[int]) -> None:
    """Once the sockets are open, run ``produce`` in a child process and note its probes."""
    ready.wait()
    context = multiprocessing.get_context("spawn")
    out: Queue[tuple[str, int, float]] = context.Queue()
    child = context.Process(target=produce, args=(
        settings.model_dump(), args.rate, args.probes, args.seconds, out), daemon=True)
    child.start()
    while True:
        kind, n, at = out.get()
        if kind == "done":
            sent.append(n)
            break
        probes.add(n, at)
    child.join(30)


def follow_applied(settings: Settings, probes: Probes, stop: threading.Event,
                   latencies: list[float]) -> None:
    """Per probe, the time from produced to announced by the consumer (its batch in Redis):
    the part of the latency before the web process."""
    keys = Keys(settings.redis_prefix)
    client = redis.Redis.from_url(settings.redis_url or "")
    seen = 0
    with client.pubsub() as pubsub:
        pubsub.subscribe(keys.changes)
        while not stop.is_set():
            if pubsub.get_message(timeout=0.5) is None:
                continue
            now = time.monotonic()
            used = current(client, keys)
            day = used.day(day_number(datetime.now(UTC).date())) if used else ""
            value = int(client.hget(day, "fl") or 0) if day else 0
            for k in range(seen + 1, value + 1):
                sent = probes.at(k)
                if sent is not None:
                    latencies.append((now - sent) * 1000)
            seen = max(seen, value)
    client.close()


def web_metrics(url: str) -> dict[str, float]:
    """The web process's own gauges (``/metrics``)."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return {name: float(value) for name, value in
            (line.split() for line in text.splitlines()
             if line.startswith("insights_web_") and " " in line)}


def sample_memory(pid: int, stop: threading.Event, samples: list[int]) -> None:
    process = psutil.Process(pid)
    while not stop.wait(0.5):
        samples.append(process.memory_info().rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--rate", type=float, default=1000.0, help="events/s in all")
    parser.add_argument("--probes", type=float, default=5.0, help="probes/s")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--patch", action=argparse.BooleanOptionalAction, default=True,
                        help="sockets ask for JSON Patches (?patch=json), as the dashboard does")
    args = parser.parse_args()
    logs.configure("INFO")
    # Every client uses the one token: lift the per-token and total socket caps.
    with fresh_settings("live", web_max_sockets_per_session=args.clients,
                        web_max_sockets=max(args.clients, Settings().web_max_sockets)
                        ) as settings:
        result = run(settings, args)
    results.write("live", result)


def run(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    kafka.ensure_topics(settings.kafka_bootstrap or "", settings.topics().values(),
                        settings.partitions)
    database.upgrade(settings.postgres_url or "")
    logs_dir = RESULTS / "live-logs"
    logs_dir.mkdir(parents=True, exist_ok=True)
    consumer = ConsumerProcess(settings, logs_dir).start()
    token = create_token(settings)
    probes, clients = Probes(), []
    views = cycle(OTHERS)
    for n in range(args.clients):
        clients.append(Client(PROBED if n % 5 < 3 else next(views), probes, patch=args.patch))
    with ApiServer(settings, logs_dir / "web.log") as server:
        pid = server._process.pid if server._process else os.getpid()
        memory: list[int] = [psutil.Process(pid).memory_info().rss]
        cpu_start = sum(psutil.Process(pid).cpu_times()[:2])
        stop, ready = threading.Event(), threading.Event()
        sampler = threading.Thread(target=sample_memory, args=(pid, stop, memory), daemon=True)
        sampler.start()
        applied: list[float] = []
        threading.Thread(target=follow_applied, args=(settings, probes, stop, applied),
                         daemon=True).start()
        sent: list[int] = []
        producer = threading.Thread(target=run_producer, args=(
            settings, args, probes, ready, sent), daemon=True)
        producer.start()
        started = time.monotonic()
        # uvloop: the 500 clients share one process; a slow client loop would add its own
        # delay to every latency measured.
        uvloop.run(watch(server.url.replace("http://", "ws://"), token, clients,
                         args.seconds + 3, ready))
        elapsed = time.monotonic() - started
        web_cpu = sum(psutil.Process(pid).cpu_times()[:2]) - cpu_start
        hub = web_metrics(server.url)
        stop.set()
        producer.join(30)
        consumer.check_alive()
        consumer.terminate()
    latencies = [ms for c in clients for ms in c.latencies]
    probed = [c for c in clients if c.view == PROBED]
    missed = sum(len(probes.sent) - c.seen for c in probed if c.seen < len(probes.sent))
    return {
        **results.context(),
        "clients": args.clients, "clients_on_probed_view": len(probed),
        "events_sent": sent[0] if sent else 0, "seconds": args.seconds,
        "events_per_s": round((sent[0] if sent else 0) / args.seconds),
        "probes": len(probes.sent), "probe_values_not_seen_at_end": missed,
        "latency_ms": percentiles(latencies) if latencies else {},
        "produced_to_announced_ms": percentiles(applied) if applied else {},
        "patch": args.patch,
        "messages_received": sum(c.messages for c in clients),
        "bytes_per_socket_per_min": round(sum(c.bytes for c in clients) / len(clients)
                                          / elapsed * 60),
        "bytes_per_probed_socket_per_min": round(sum(c.bytes for c in probed)
                                                 / max(1, len(probed)) / elapsed * 60),
        "probed_document_bytes": probed[0].last_bytes if probed else 0,
        "messages_per_client_per_s": round(sum(c.messages for c in clients)
                                           / len(clients) / elapsed, 2),
        "web_recomputes": hub.get("insights_web_recomputes"),
        "web_recompute_ms_mean": round(1000 * hub.get("insights_web_recompute_seconds", 0)
                                       / max(1, hub.get("insights_web_recomputes", 0)), 2),
        "web_documents_sent": hub.get("insights_web_documents_sent"),
        "web_cpu_share": round(web_cpu / elapsed, 3),    # of one core, while the sockets ran
        "web_rss_mib": {"start": round(memory[0] / 2**20, 1),
                        "max": round(max(memory) / 2**20, 1),
                        "end": round(memory[-1] / 2**20, 1)},
        "targets": TARGETS,
    }


if __name__ == "__main__":
    main()
