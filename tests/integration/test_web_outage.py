"""The web app while Redis or PostgreSQL is down or frozen: a clear 503, never a hang.

The app runs as ``insights serve`` (real uvicorn, real sockets), so a hang would
show: every request goes through a client with a 2 s timeout, and a request that
does not answer in time fails the test. Redis is a server of the test's own
(the suite's shared one keeps running for the other tests), killed or frozen
with SIGSTOP; PostgreSQL is reached through a proxy that can stall (blackhole)
or reset every connection.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import redis
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from harness.services import wait_for
from insights.readmodel.generation import NONE
from insights.readmodel.keys import Keys
from insights.settings import Settings
from tests.proxy import Proxy
from tests.redis_process import RedisProcess
from tests.web_clients import log_in, make_account
from tests.web_server import WebServer
from web.auth.accounts import Role, create_token
from web.engine import create_engine

#: The requirement: an answer within 2 s, whatever the servers do.
CLIENT_TIMEOUT_S = 2.0
MANAGER = "office@corp.io"
TAB = "/api/tabs/problems"


@pytest.fixture
def token(settings: Settings) -> str:
    engine = create_engine(settings.postgres_url or "", pool_size=1)
    try:
        return create_token(engine, "script@corp.io", Role.ADMIN)[0]
    finally:
        engine.dispose()


class App:
    """``insights serve`` on ``settings``, a client with a session cookie, one with a token."""

    def __init__(self, settings: Settings, token: str, log: Path) -> None:
        make_account(settings.postgres_url or "", MANAGER, Role.OFFICE_MANAGER)
        self.server = WebServer(settings, log).start()
        self.ws_url = self.server.url.replace("http://", "ws://")
        self.token = token
        self.api = httpx2.Client(base_url=self.server.url, timeout=CLIENT_TIMEOUT_S,
                                 headers={"Authorization": f"Bearer {token}"})
        self.browser = httpx2.Client(base_url=self.server.url, timeout=CLIENT_TIMEOUT_S)
        assert log_in(self.browser, MANAGER).status_code == 303

    def socket(self, path: str = "/ws/tabs/problems") -> ClientConnection:
        return connect(self.ws_url + path, open_timeout=CLIENT_TIMEOUT_S,
                       additional_headers={"Authorization": f"Bearer {self.token}"})

    def status(self, path: str = TAB) -> int:
        return self.api.get(path).status_code

    def close(self) -> None:
        self.api.close()
        self.browser.close()
        self.server.stop()


@pytest.fixture
def app_factory(token: str, tmp_path: Path) -> Iterator[Any]:
    started: list[App] = []

    def start(settings: Settings) -> App:
        started.append(App(settings, token, tmp_path / f"web-{len(started)}.log"))
        return started[-1]

    yield start
    for app in started:
        app.close()


def assert_unavailable(response: httpx2.Response, part: str) -> None:
    """A 503 in JSON naming ``part``, with a Retry-After."""
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["unavailable"] == [part]
    assert isinstance(body["detail"], str) and body["detail"]
    assert int(response.headers["Retry-After"]) >= 1


def assert_unavailable_page(response: httpx2.Response, name: str) -> None:
    """The dashboard's 503: an HTML page naming the server, reloading itself."""
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert name in response.text and 'http-equiv="refresh"' in response.text
    assert int(response.headers["Retry-After"]) >= 1


def closed_with(ws: ClientConnection, timeout_s: float = 20) -> tuple[int, str]:
    """The close code and reason of a socket, after any documents it still sends."""
    deadline = time.monotonic() + timeout_s
    with pytest.raises(ConnectionClosed) as closed:
        while time.monotonic() < deadline:
            ws.recv(timeout=deadline - time.monotonic())
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


def test_a_stopped_redis_is_a_503_naming_it_and_the_app_recovers_when_it_is_back(
        settings: Settings, own_redis: RedisProcess, app_factory: Any) -> None:
    app = app_factory(settings.model_copy(update={"redis_url": own_redis.url}))
    assert app.status() == 200
    own_redis.kill()
    assert_unavailable(app.api.get(TAB), "redis")
    assert_unavailable(app.api.get("/api/export/problems.csv"), "redis")
    health = app.api.get("/healthz")
    assert health.status_code == 503
    assert health.json() == {"postgres": "ok", "redis": "unreachable"}
    assert_unavailable_page(app.browser.get("/"), "Redis")
    own_redis.start()
    # The very next request: no restart, no waiting for a reconnect loop.
    assert app.status() == 200
    assert app.browser.get("/").status_code == 200
    assert app.api.get("/healthz").json() == {"postgres": "ok", "redis": "ok", "read_model": "ok"}


def test_a_frozen_redis_is_a_503_within_the_client_timeout_and_recovers(
        settings: Settings, own_redis: RedisProcess, app_factory: Any) -> None:
    app = app_factory(settings.model_copy(update={"redis_url": own_redis.url}))
    assert app.status() == 200
    own_redis.freeze()
    try:
        assert_unavailable(app.api.get(TAB), "redis")
        assert_unavailable(app.api.get(TAB), "redis")     # and again: nothing piles up
        assert app.api.get("/healthz").json() == {"postgres": "ok", "redis": "timeout"}
        assert_unavailable_page(app.browser.get("/"), "Redis")
    finally:
        own_redis.thaw()
    assert app.status() == 200


def test_live_sockets_close_with_1013_while_redis_is_down_and_resume_after(
        settings: Settings, own_redis: RedisProcess, app_factory: Any) -> None:
    app = app_factory(settings.model_copy(update={"redis_url": own_redis.url}))
    with app.socket() as ws:
        assert "problem_users" in json.loads(ws.recv(timeout=CLIENT_TIMEOUT_S))
        own_redis.kill()
        assert closed_with(ws) == (1013, "redis unreachable")
    with app.socket() as ws:                  # while down: refused at once, same reason
        assert closed_with(ws) == (1013, "redis unreachable")
    own_redis.start()
    keys = Keys(settings.redis_prefix).at(NONE)       # no consumer ran: no generation yet
    client = redis.Redis.from_url(own_redis.url)
    try:
        with app.socket() as ws:
            assert json.loads(ws.recv(timeout=CLIENT_TIMEOUT_S))["freshness"]["applied_at"] is None
            # The listener is back: an announcement reaches the open socket.
            client.hset(keys.freshness, "applied", 1_767_225_600_000_000)
            document = _announce_until(ws, client, keys, lambda d: d["freshness"]["applied_at"])
            assert document["freshness"]["applied_at"] == "2026-01-01T00:00:00Z"
    finally:
        client.close()


def test_live_sockets_close_with_1013_when_redis_freezes(
        settings: Settings, own_redis: RedisProcess, app_factory: Any) -> None:
    app = app_factory(settings.model_copy(update={"redis_url": own_redis.url}))
    with app.socket() as ws:
        ws.recv(timeout=CLIENT_TIMEOUT_S)
        own_redis.freeze()
        try:
            # Nothing closes a frozen server's connections: the listener's PING does.
            assert closed_with(ws) == (1013, "redis timeout")
        finally:
            own_redis.thaw()
    with app.socket() as ws:
        assert "problem_users" in json.loads(ws.recv(timeout=CLIENT_TIMEOUT_S))


def _announce_until(ws: ClientConnection, client: redis.Redis, keys: Keys,
                    condition: Any, tries: int = 30) -> dict[str, Any]:
    """Announce a batch every second until the socket sends a document satisfying
    ``condition`` (the listener may still be reconnecting when the first one goes)."""
    for _ in range(tries):
        client.publish(keys.changes, b'{"users": []}')
        try:
            document: dict[str, Any] = json.loads(ws.recv(timeout=1.0))
        except TimeoutError:
            continue
        if condition(document):
            return document
    raise AssertionError("no document after the announcements")


@pytest.fixture
def postgres_proxy(settings: Settings) -> Iterator[Proxy]:
    port = int((settings.postgres_url or "").rsplit(":", 1)[1].split("/", 1)[0])
    proxy = Proxy(port).start()
    yield proxy
    proxy.close()


def test_a_stalled_or_resetting_postgresql_is_a_503_within_the_client_timeout(
        settings: Settings, postgres_proxy: Proxy, app_factory: Any) -> None:
    url = postgres_proxy.url(settings.postgres_url or "")
    app = app_factory(settings.model_copy(update={"postgres_url": url}))
    assert app.status() == 200
    postgres_proxy.set_mode("blackhole")
    assert_unavailable(app.api.get(TAB), "postgres")
    assert_unavailable(app.api.get(TAB), "postgres")
    assert app.api.get("/healthz").json() == {"postgres": "timeout", "redis": "ok"}
    assert_unavailable_page(app.browser.get("/"), "PostgreSQL")
    with app.socket() as ws:                  # admission needs PostgreSQL
        assert closed_with(ws) == (1013, "postgres timeout")
    time.sleep(1.5)       # past the pause after a stall: a new connection is tried and stalls
    assert_unavailable(app.api.get(TAB), "postgres")
    postgres_proxy.set_mode("forward")
    wait_for(lambda: app.status() == 200, 10, "the API back after the stall")
    assert app.browser.get("/").status_code == 200

    postgres_proxy.set_mode("reset")
    assert_unavailable(app.api.get(TAB), "postgres")
    assert app.api.get("/healthz").json() == {"postgres": "unreachable", "redis": "ok"}
    postgres_proxy.set_mode("forward")
    wait_for(lambda: app.status() == 200, 10, "the API back after the resets")
