"""Read latency of the tabs: through the real HTTP API and in-process.

Over HTTP: ``insights serve`` runs as a child process on a free port with the
benchmark's settings, an API token comes from ``insights token create``, and one
keep-alive httpx client sends the requests one after another. In-process: the
app's own reader (``web.tabs.build_reader`` over a pooled engine) is called
directly, which leaves out HTTP, authentication and JSON encoding.
"""

from __future__ import annotations

import cProfile
import itertools
import logging
import math
import pstats
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

import httpx2 as httpx
import redis

from harness.services import environment
from insights.settings import Settings
from scoring.windows import PERIODS
from web.engine import create_engine
from web.reader import TAB_FILTERS, TABS, Filter, Tab
from web.tabs import build_reader

log = logging.getLogger("bench.latency")
MIN_SAMPLES = 20
TARGET_P99_MS = 10.0
"""Each tab's read p99 over HTTP, ms (issue 11)."""
PROFILED_CALLS = 5


class Case(NamedTuple):
    """One measured read: a tab with its period and filter."""

    tab: Tab
    period: str
    filter: Filter

    @property
    def name(self) -> str:
        detail = self.filter if self.tab == "overview" else self.period
        return f"{self.tab} {detail}"


CASES: tuple[Case, ...] = (
    *(Case(tab, period, "all") for tab in TABS if tab != "overview" for period in PERIODS),
    *(Case("overview", "week", f) for f in TAB_FILTERS["overview"]),
)


def percentiles(samples_ms: Sequence[float]) -> dict[str, float]:
    """p50, p95 and p99 by nearest rank, the max (milliseconds) and the sample count."""
    ordered = sorted(samples_ms)

    def rank(p: float) -> float:
        return ordered[max(0, math.ceil(p * len(ordered)) - 1)]

    return {"p50": round(rank(0.50), 2), "p95": round(rank(0.95), 2),
            "p99": round(rank(0.99), 2), "max": round(ordered[-1], 2), "n": len(ordered)}


def _timed(call: Callable[[], object], n: int, warmup: int, budget_s: float) -> list[float]:
    """Up to ``n`` timings (ms) after ``warmup`` calls; fewer when they overrun ``budget_s``
    (at least ``MIN_SAMPLES`` are taken), so one very slow tab cannot stall the run."""
    for _ in range(warmup):
        call()
    samples: list[float] = []
    deadline = time.monotonic() + budget_s
    while len(samples) < n and (len(samples) < MIN_SAMPLES or time.monotonic() < deadline):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def create_token(settings: Settings) -> str:
    """A fresh ADMIN API token from the ``insights token create`` command."""
    done = subprocess.run([sys.executable, "-m", "insights", "token", "create", "--email",
                           "bench@example.com", "--role", "ADMIN"], env=environment(settings),
                          capture_output=True, text=True, check=True, timeout=120)
    return done.stdout.strip().splitlines()[-1]


class ApiServer:
    """``insights serve`` as a child process, ready once ``/healthz`` answers 200."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._settings, self._log_path = settings, log_path
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ApiServer:
        with self._log_path.open("wb") as out:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "insights", "serve", "--port", str(self.port)],
                env=environment(self._settings), stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"insights serve exited; see {self._log_path}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"insights serve did not become healthy; see {self._log_path}")

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(10)


class Plan(NamedTuple):
    """How many reads per case: timed, untimed first, and the time budget per case."""

    n: int
    warmup: int
    budget_s: float


def over_http(server: ApiServer, token: str, plan: Plan) -> dict[str, dict[str, float]]:
    """Per case, the percentiles of sequential GETs of ``/api/tabs/{tab}``."""
    results = {}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
        for case in CASES:
            params = {"period": case.period, "filter": case.filter}

            def get(case: Case = case, params: dict[str, str] = params) -> None:
                response = client.get(f"/api/tabs/{case.tab}", params=params)
                if response.status_code != 200:
                    raise RuntimeError(f"{case.name}: HTTP {response.status_code} "
                                       f"{response.text[:300]}")

            results[case.name] = percentiles(_timed(get, *plan))
            log.info("HTTP %-18s %s", case.name, results[case.name])
    return results


def profiles_over_http(server: ApiServer, token: str, plan: Plan) -> dict[str, float]:
    """Percentiles of ``GET /api/users/{id}`` over the 50 most engaged users (the
    heaviest profiles), one after another in turn."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
        listed = client.get("/api/tabs/engagement", params={"period": "month"}).json()
        ids = itertools.cycle([row["user"]["id"] for row in listed["engagement_list"]])

        def get() -> None:
            response = client.get(f"/api/users/{next(ids)}")
            if response.status_code != 200:
                raise RuntimeError(f"profile: HTTP {response.status_code}")

        found = percentiles(_timed(get, *plan))
    log.info("HTTP %-18s %s", "profile", found)
    return found


def in_process(settings: Settings, plan: Plan
               ) -> tuple[dict[str, dict[str, float]], dict[str, list[dict[str, Any]]]]:
    """Per case, the percentiles of calls of the app's reader (no HTTP); and for each case
    whose p99 misses the target, where the time goes (``profile``)."""
    assert settings.postgres_url and settings.redis_url
    engine = create_engine(settings.postgres_url)
    client = redis.Redis.from_url(settings.redis_url)
    reader = build_reader(client, engine, settings)
    try:
        results, profiles = {}, {}
        for case in CASES:
            def read(case: Case = case) -> Any:
                return reader.tab(case.tab, case.period, case.filter, datetime.now(UTC))

            results[case.name] = percentiles(_timed(read, *plan))
            log.info("in-process %-18s %s", case.name, results[case.name])
            if results[case.name]["p99"] >= TARGET_P99_MS:
                profiles[case.name] = profile(read)
        return results, profiles
    finally:
        reader.store.redis.close()
        client.close()
        engine.dispose()


def profile(call: Callable[[], object], calls: int = PROFILED_CALLS, top: int = 12
            ) -> list[dict[str, Any]]:
    """cProfile of ``calls`` calls: the ``top`` functions by own time, per call, in ms.

    Own time in socket reads is the wait for Redis or PostgreSQL; the rest is Python."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        call()
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    rows = sorted(stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    found = [{"function": f"{Path(file).name}:{line}({name})", "calls": nc // calls,
              "own_ms": round(own * 1000 / calls, 2), "cumulative_ms": round(cum * 1000 / calls,
                                                                             2)}
             for (file, line, name), (_cc, nc, own, cum, _callers) in rows]
    for row in found[:5]:
        log.info("  %s", row)
    return found
