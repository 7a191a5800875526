"""Redis restarted empty under a running consumer and web app: the dashboard never shows
a wrong number, and the read model comes back equal to the SQL reference.

Redis is a server of the test's own (restarted empty: no persistence), the consumer
and the web app are real ``insights consume`` / ``insights serve`` processes. No
event is produced after the restart, so every tab the API answers with 200 must be
exactly what it was before; anything else must be a 503 naming the read model (or
Redis, while it was down).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest

from harness.services import ConsumerProcess, environment, wait_for
from insights.events.producer import Emitter
from insights.settings import Settings
from tests.read_model import assert_same, documents, simulate, steady_now, wait_ingested
from tests.redis_process import RedisProcess
from tests.web_server import WebServer

TABS = [f"/api/tabs/{tab}?period=month" for tab in
        ("problems", "engagement", "pages", "paths", "overview")]


@pytest.fixture
def running(settings: Settings, own_redis: RedisProcess, emitter: Emitter, tmp_path: Path,
            request: pytest.FixtureRequest) -> Iterator[tuple[Settings, ConsumerProcess,
                                                              httpx2.Client]]:
    """History ingested by a running consumer into the test's own Redis; a web app on it."""
    rebuild = request.param
    own = settings.model_copy(update={"redis_url": own_redis.url, "redis_rebuild": rebuild})
    # History ending a day ago: its account locks (at most 24 h) have all expired, so no
    # number may change while the test compares them (an expiry re-scores its user).
    sent = simulate(emitter, datetime.now(UTC) - timedelta(hours=25), users=50, days=10,
                    seed=31)
    consumer = ConsumerProcess(own, tmp_path).start()
    server = WebServer(own, tmp_path / "web.log")
    try:
        wait_ingested(own, sent, check=consumer.check_alive)
        with server.start().api(own) as api:
            yield own, consumer, api
    finally:
        server.stop()
        consumer.close()


def _tabs(api: httpx2.Client) -> dict[str, Any]:
    answers = {path: api.get(path) for path in TABS}
    assert all(r.status_code == 200 for r in answers.values()), answers
    return {path: _numbers(r.json()) for path, r in answers.items()}


def _numbers(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "freshness"}


def _watch_until_served(api: httpx2.Client, before: dict[str, Any], timeout_s: float) -> int:
    """Read every tab until all are served again; each 200 must show the numbers of
    ``before``, each refusal must be a 503 naming Redis or the read model. Returns the
    number of refusals seen."""
    refused = 0

    def all_served() -> bool:
        nonlocal refused
        served = 0
        for path in TABS:
            response = api.get(path)
            if response.status_code == 200:
                assert _numbers(response.json()) == before[path], f"{path} was wrong"
                served += 1
            else:
                assert response.status_code == 503, response.text
                assert response.json()["unavailable"] in (["read model"], ["redis"])
                assert response.headers["Retry-After"]
                refused += 1
        return served == len(TABS)

    wait_for(all_served, timeout_s, "every tab served again")
    return refused


@pytest.mark.parametrize("running", ["auto"], indirect=True)
def test_the_consumer_rebuilds_and_the_dashboard_never_shows_a_wrong_number(
        running: tuple[Settings, ConsumerProcess, httpx2.Client],
        own_redis: RedisProcess) -> None:
    own, consumer, api = running
    before = _tabs(api)
    own_redis.kill()
    own_redis.start()                       # empty: the read model is gone
    assert _watch_until_served(api, before, 120) > 0
    consumer.check_alive()
    assert "rebuilding it from PostgreSQL" in consumer.log()
    assert api.get("/healthz").json()["read_model"] == "ok"
    for what, got, want in documents(own, steady_now(own)):
        assert_same(what, got, want)


@pytest.mark.parametrize("running", ["stop"], indirect=True)
def test_with_rebuild_left_to_an_operator_the_consumer_stops_with_the_command(
        running: tuple[Settings, ConsumerProcess, httpx2.Client],
        own_redis: RedisProcess) -> None:
    own, consumer, api = running
    before = _tabs(api)
    own_redis.kill()
    own_redis.start()
    assert consumer.process is not None
    assert consumer.process.wait(60) == 3
    assert "insights backfill" in consumer.log()
    refused = api.get(TABS[0])
    assert refused.status_code == 503 and refused.json()["unavailable"] == ["read model"]
    assert api.get("/healthz").json()["read_model"] == "rebuilding"
    done = subprocess.run([sys.executable, "-m", "insights", "backfill"],
                          env=environment(own), capture_output=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    _watch_until_served(api, before, 30)
    for what, got, want in documents(own, steady_now(own)):
        assert_same(what, got, want)
    consumer.start()                         # and it consumes again from where it was
    wait_for(lambda: "consuming" in consumer.log().split("insights backfill")[-1], 60,
             "the consumer running again")
    consumer.check_alive()
