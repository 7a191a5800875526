"""Live views over WebSockets: real Kafka, consumer, PostgreSQL, Redis and the web app.

A socket gets the tab's document on connect and a new one after the batches
that change it; sockets refuse foreign origins, missing sessions and roles that
may not see insights, and close when their session ends.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import jsonpatch
import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from consumers.pipeline import Pipeline
from harness.factories import event
from harness.services import wait_for
from insights.events.producer import Emitter
from insights.settings import Settings
from tests.web_clients import form_token, log_in, make_account
from web.app import create_app
from web.auth.accounts import Role, create_token
from web.engine import create_engine

ORIGIN = {"origin": "http://testserver"}


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    make_account(settings.postgres_url or "", "office@corp.io", Role.OFFICE_MANAGER)
    with TestClient(create_app(settings.model_copy(update={"live_interval_ms": 50}))) as c:
        yield c


def _receive(ws: WebSocketTestSession) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(ws.receive_text())
    return document


def _until(ws: WebSocketTestSession, condition: Callable[[dict[str, Any]], bool],
           limit: int = 200) -> dict[str, Any]:
    """Receive documents until one satisfies ``condition`` (each batch sends one)."""
    for _ in range(limit):
        document = _receive(ws)
        if condition(document):
            return document
    raise AssertionError(f"no document satisfied the condition in {limit} messages")


def _failed_logins(document: dict[str, Any], user_id: int) -> int:
    return next((row["failed_logins"] for row in document["problem_users"]
                 if row["user"]["id"] == user_id), 0)


def _ula_on_a_running_pipeline(client: TestClient, settings: Settings, emitter: Emitter,
                               run_pipeline: Callable[[Settings], Pipeline]) -> None:
    """A consumer running, the office manager logged in, and user 7 (Ula) upserted."""
    run_pipeline(settings)
    log_in(client, "office@corp.io")
    emitter.emit(event("user_upsert", user_id=7, email="u7@example.com", name="Ula"))
    emitter.flush()


def test_a_tab_socket_sends_the_document_then_each_change(
        client: TestClient, settings: Settings, emitter: Emitter,
        run_pipeline: Callable[[Settings], Pipeline]) -> None:
    _ula_on_a_running_pipeline(client, settings, emitter, run_pipeline)
    with client.websocket_connect("/ws/tabs/problems?period=day", headers=ORIGIN) as ws:
        first = _receive(ws)
        assert set(first) >= {"locked_accounts", "failed_logins", "problem_users", "freshness"}
        for n in range(1, 4):
            emitter.emit(event("login_failed", datetime.now(UTC), user_id=7))
            emitter.flush()
            document = _until(ws, lambda d, n=n: _failed_logins(d, 7) == n)
            assert document["freshness"]["newest_event_at"] is not None
    got = client.get("/api/tabs/problems?period=day").json()
    assert _failed_logins(got, 7) == 3
    row = next(r for r in got["problem_users"] if r["user"]["id"] == 7)
    # Explainable: the row's components are the events behind its score.
    assert {c["name"]: (c["count"], c["weight"]) for c in row["components"]
            if c["count"]} == {"failed_logins": (3, 10)}
    assert row["score"] == min(100, int(sum(c["points"] for c in row["components"])))


def test_a_socket_asking_for_patches_gets_the_document_then_what_changed(
        client: TestClient, settings: Settings, emitter: Emitter,
        run_pipeline: Callable[[Settings], Pipeline]) -> None:
    _ula_on_a_running_pipeline(client, settings, emitter, run_pipeline)
    with client.websocket_connect("/ws/tabs/problems?period=day&patch=json",
                                  headers=ORIGIN) as ws:
        first = _receive(ws)
        assert set(first) == {"v", "doc"}
        version, document, patches = first["v"], first["doc"], 0
        for n in range(1, 4):
            emitter.emit(event("login_failed", datetime.now(UTC), user_id=7))
            emitter.flush()
            while _failed_logins(document, 7) < n:
                message = _receive(ws)
                if "patch" in message:        # the next version: applied to the last
                    assert message["v"] == version + 1
                    document = jsonpatch.apply_patch(document, message["patch"])
                    patches += 1
                else:
                    document = message["doc"]
                version = message["v"]
            assert _failed_logins(document, 7) == n
    assert patches >= 1
    got = client.get("/api/tabs/problems?period=day").json()
    assert {k: v for k, v in document.items() if k != "freshness"} == {
        k: v for k, v in got.items() if k != "freshness"}


def test_a_profile_socket_follows_its_user(
        client: TestClient, settings: Settings, emitter: Emitter,
        run_pipeline: Callable[[Settings], Pipeline]) -> None:
    run_pipeline(settings)
    log_in(client, "office@corp.io")
    emitter.emit(event("user_upsert", user_id=8, email="u8@example.com", name="Olek"))
    emitter.flush()
    wait_for(lambda: client.get("/api/users/8").status_code == 200, 60, "user 8 stored")
    response = client.get("/api/users/8")
    with client.websocket_connect("/ws/users/8", headers=ORIGIN) as ws:
        first = _receive(ws)
        # The same JSON as the GET route (no event came in between).
        assert first == {**response.json(), "freshness": first["freshness"]}
        emitter.emit(event("search", datetime.now(UTC), user_id=8, query="biuro rachunkowe"))
        emitter.flush()
        document = _until(ws, lambda d: any(
            q.get("query") == "biuro rachunkowe" for q in d["search_queries"]))
        assert document["user"]["name"] == "Olek"


def test_a_socket_needs_an_allowed_origin(client: TestClient) -> None:
    log_in(client, "office@corp.io")
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(
            "/ws/tabs/overview", headers={"origin": "https://evil.example"}):
        pass
    assert refused.value.code == 1008


def test_configured_origins_are_allowed(settings: Settings) -> None:
    make_account(settings.postgres_url or "", "office@corp.io", Role.OFFICE_MANAGER)
    app = create_app(settings.model_copy(update={"web_origins": "https://ops.corp.io"}))
    with TestClient(app) as client:
        log_in(client, "office@corp.io")
        with client.websocket_connect("/ws/tabs/overview",
                                      headers={"origin": "https://ops.corp.io"}) as ws:
            assert "chart_data" in _receive(ws)


def _closed_with(client: TestClient, path: str, headers: dict[str, str]) -> int:
    with client.websocket_connect(path, headers=headers) as ws, \
            pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_text()
    return closed.value.code


def test_a_socket_without_session_or_with_a_low_role_is_closed(
        client: TestClient, settings: Settings) -> None:
    assert _closed_with(client, "/ws/tabs/problems", ORIGIN) == 4401
    make_account(settings.postgres_url or "", "member@corp.io", Role.MEMBER)
    log_in(client, "member@corp.io")
    assert _closed_with(client, "/ws/tabs/problems", ORIGIN) == 4403


def test_unknown_views_are_closed_with_a_reason(client: TestClient) -> None:
    log_in(client, "office@corp.io")
    assert _closed_with(client, "/ws/tabs/nope", ORIGIN) == 4422
    assert _closed_with(client, f"/ws/tabs/{'x' * 500}", ORIGIN) == 4422
    assert _closed_with(client, "/ws/tabs/pages?period=year", ORIGIN) == 4422
    assert _closed_with(client, "/ws/tabs/overview?filter=" + "é" * 200, ORIGIN) == 4422
    assert _closed_with(client, "/ws/users/123456", ORIGIN) == 4404
    for bad in ("--5", "%C2%B2", "99999999999999999999", "1e3", "abc"):
        assert _closed_with(client, f"/ws/users/{bad}", ORIGIN) == 4422, bad


def test_logout_closes_the_sessions_sockets(client: TestClient) -> None:
    log_in(client, "office@corp.io")
    page = client.get("/")
    with client.websocket_connect("/ws/tabs/engagement", headers=ORIGIN) as ws:
        _receive(ws)
        client.post("/logout", data={"csrf_token": form_token(page.text)})
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                ws.receive_text()
        assert closed.value.code == 4401


def test_scripts_open_sockets_with_an_api_token(client: TestClient, settings: Settings) -> None:
    engine = create_engine(settings.postgres_url or "", pool_size=1)
    try:
        token, _ = create_token(engine, "script@corp.io", Role.ADMIN)
    finally:
        engine.dispose()
    with client.websocket_connect("/ws/tabs/paths?period=month",
                                  headers={"authorization": f"Bearer {token}"}) as ws:
        assert "session_lengths" in _receive(ws)
        metrics = client.get("/metrics").text
        assert "insights_web_sockets 1.0" in metrics and "insights_web_views 1.0" in metrics
    assert "insights_web_sockets 0.0" in client.get("/metrics").text
