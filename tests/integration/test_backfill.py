"""``insights backfill`` while the consumers run: a new generation built beside the one in use.

A consumer process keeps ingesting live traffic while the backfill replays
PostgreSQL into the next generation; the dashboard (a real web server, read
over HTTP) keeps answering from the generation in use and never shows a number
going back; after the switch every tab and profile equals the SQL reference over
everything stored, live traffic included. A backfill SIGKILLed midway is
continued by the next run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
import redis

from consumers import backfill
from consumers.projection import RedisProjection
from harness.factories import event
from harness.services import (
    ConsumerProcess,
    environment,
    in_use,
    redis_records,
    stored_records,
    wait_for,
)
from insights.database import connect
from insights.events.producer import Emitter
from insights.readmodel.generation import current
from insights.readmodel.keys import Keys
from insights.settings import Settings
from tests.read_model import (
    assert_same,
    assert_same_profile,
    documents,
    profiles,
    simulate,
    steady_now,
    wait_ingested,
)
from tests.web_server import WebServer

OVERVIEW = "/api/tabs/overview?period=month"


@pytest.fixture
def running(settings: Settings, emitter: Emitter, tmp_path: Path,
            consumer_process: Callable[[], ConsumerProcess]
            ) -> Iterator[tuple[ConsumerProcess, httpx2.Client, int]]:
    """History ingested by a running consumer; a web app on it; how many events were sent."""
    sent = simulate(emitter, datetime.now(UTC), users=60, days=10, seed=41)
    consumer = consumer_process().start()
    server = WebServer(settings, tmp_path / "web.log")
    try:
        wait_ingested(settings, sent, check=consumer.check_alive)
        with server.start().api(settings, timeout_s=5.0) as api:
            yield consumer, api, sent
    finally:
        server.stop()


@pytest.fixture
def client(settings: Settings) -> Iterator[redis.Redis]:
    made = redis.Redis.from_url(settings.redis_url or "", decode_responses=True)
    yield made
    made.close()


class Watcher(threading.Thread):
    """Reads the overview over HTTP until stopped: every answer must be a 200 whose page
    views never go back (a half-built generation would show fewer)."""

    def __init__(self, api: httpx2.Client) -> None:
        super().__init__(daemon=True)
        self.api, self.stop, self.seen = api, threading.Event(), [0]
        self.failure: str | None = None

    def run(self) -> None:
        while not self.stop.is_set() and self.failure is None:
            response = self.api.get(OVERVIEW)
            if response.status_code != 200:
                self.failure = f"{response.status_code}: {response.text}"
                return
            views = sum(response.json()["chart_data"]["pageviews"])
            if views < self.seen[-1]:
                self.failure = f"page views went back from {self.seen[-1]} to {views}"
            self.seen.append(views)

    def __enter__(self) -> Watcher:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.join(30)
        assert self.failure is None, self.failure


def _live(emitter: Emitter, first: int, n: int) -> int:
    """``n`` page views of a live session (ids from ``first``); returns how many events."""
    now = datetime.now(UTC)
    emitter.emit(event("session_start", now, session_id=f"live-{first}", user_id=3))
    for i in range(first, first + n):
        emitter.emit(event("pageview", now + timedelta(milliseconds=i), pageview_id=f"lv-{i}",
                           session_id=f"live-{first}", user_id=3, path="/live"))
    emitter.flush()
    return n + 1


def _reads_as_reference(settings: Settings) -> None:
    now = steady_now(settings)
    for what, got, want in documents(settings, now):
        assert_same(what, got, want)
    for what, got, want in profiles(settings, now)[:15]:
        assert_same_profile(what, got, want)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie waiting for its reaper does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _keys_of(client: redis.Redis, prefix: str, generation_id: str) -> list[Any]:
    return list(client.scan_iter(match=f"{prefix}:{generation_id}:*", count=1000))


def test_an_online_backfill_switches_generations_with_no_gap_and_nothing_twice(
        settings: Settings, emitter: Emitter,
        running: tuple[ConsumerProcess, httpx2.Client, int], client: redis.Redis) -> None:
    consumer, api, sent = running
    keys, old = Keys(settings.redis_prefix), in_use(client, settings.redis_prefix)

    def mid_build(done: int) -> None:
        """During the replay: live events the consumer must write into both generations."""
        nonlocal sent
        if done and not seen_building:
            assert client.get(keys.building) not in (None, old.generation_id)
            sent += _live(emitter, sent, 300)
            wait_for(lambda: stored_records(settings) >= sent
                     and redis_records(settings) >= sent, 60, "live events in use")
            seen_building.append(done)

    seen_building: list[int] = []
    with Watcher(api) as watcher, closing(connect(settings.postgres_url or "")) as conn:
        sink = RedisProjection(settings.redis_url or "", settings.postgres_url or "",
                               settings.redis_prefix)
        try:
            backfill.rebuild(sink, conn, datetime.now(UTC), mid_build, workers=2)
        finally:
            sink.close()
        sent += _live(emitter, sent, 200)         # and after the switch
        wait_ingested(settings, sent, check=consumer.check_alive)
    assert seen_building and len(watcher.seen) > 3
    assert "a backfill builds generation" in consumer.log()
    new = current(client, keys)
    assert new is not None and new.generation_id != old.generation_id
    assert client.get(keys.building) is None
    assert _keys_of(client, settings.redis_prefix, old.generation_id) == []  # dropped
    _reads_as_reference(settings)


_KILLED_MIDWAY = """
import multiprocessing, os, signal, sys
from contextlib import closing
from datetime import UTC, datetime
from consumers import backfill
from consumers.projection import RedisProjection
from insights.database import connect
redis_url, postgres_url, prefix = sys.argv[1:]
def die(done):
    if done:
        print(*(child.pid for child in multiprocessing.active_children()), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
with closing(connect(postgres_url)) as conn:
    backfill.rebuild(RedisProjection(redis_url, postgres_url, prefix), conn,
                     datetime.now(UTC), die, workers=2)
"""


def test_a_backfill_killed_midway_is_continued_by_the_next_run(
        settings: Settings, emitter: Emitter,
        running: tuple[ConsumerProcess, httpx2.Client, int], client: redis.Redis) -> None:
    consumer, api, sent = running
    keys, old = Keys(settings.redis_prefix), in_use(client, settings.redis_prefix)
    killed = subprocess.run([sys.executable, "-c", _KILLED_MIDWAY, settings.redis_url or "",
                             settings.postgres_url or "", settings.redis_prefix],
                            env={**os.environ, **environment(settings)}, timeout=120,
                            check=False, capture_output=True, text=True)
    assert killed.returncode == -9                  # SIGKILLed after its first batch
    building = client.get(keys.building)
    assert building is not None
    assert client.hgetall(old.at(building).replayed)   # half replayed
    replayers = [int(pid) for pid in killed.stdout.split()]
    assert replayers                                # its replayer process dies with it
    wait_for(lambda: not any(_alive(pid) for pid in replayers), 10,
             "the replayer to die with the backfill")
    assert api.get(OVERVIEW).status_code == 200     # the generation in use is served
    sent += _live(emitter, sent, 300)               # written into both by the consumer
    wait_for(lambda: stored_records(settings) >= sent and redis_records(settings) >= sent,
             60, "live events in use")
    client.delete(keys.rebuild_lock)                # what its expiry does within a minute
    done = subprocess.run([sys.executable, "-m", "insights", "backfill"],
                          env=environment(settings), capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "rebuilt Redis" in done.stderr
    assert "continuing the interrupted backfill" in done.stderr
    counted = re.search(r"from\s+([\d,]+)\s+events", done.stderr)
    assert counted, done.stderr
    replayed = int(counted[1].replace(",", ""))
    assert 0 < replayed < sent                      # continued, not started over
    used = current(client, keys)
    assert used is not None and used.generation_id == building
    wait_ingested(settings, sent, check=consumer.check_alive)
    _reads_as_reference(settings)
