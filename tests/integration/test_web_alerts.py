"""``/api/alerts`` over real PostgreSQL: OFFICE_MANAGERs read, only ADMINs change rules and
hooks; a hook's secret is shown once; a URL that may not be called is refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from pydantic import SecretStr

from insights import stack
from insights.settings import Settings
from tests.schema import answer, component, errors
from web.app import create_app
from web.auth.accounts import Role, create_token
from web.engine import create_engine


@pytest.fixture
def client(database_url: str, stack_urls: stack.StackUrls) -> Iterator[TestClient]:
    settings = Settings(postgres_url=database_url, redis_url=stack_urls.redis_url,
                        hooks_allow="127.0.0.1",
                        secret_key=SecretStr(Fernet.generate_key().decode()))
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def headers(database_url: str, role: Role) -> dict[str, str]:
    engine = create_engine(database_url, pool_size=1)
    try:
        token = create_token(engine, f"{role.name.lower()}@corp.io", role, "test")[0]
    finally:
        engine.dispose()
    return {"Authorization": f"Bearer {token}"}


def test_an_office_manager_reads_alerts_and_rules_but_changes_nothing(
        client: TestClient, database_url: str) -> None:
    manager = headers(database_url, Role.OFFICE_MANAGER)
    assert client.get("/api/alerts", headers=manager).json() == []
    with create_engine(database_url, pool_size=1).begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO alerts (rule_id, user_id, crossing, kind, value, previous, occurred_at)"
            " VALUES (2, 42, 1, 'firing', '1', '0', '2026-12-06T10:00:00Z')")
    alerts = client.get("/api/alerts", headers=manager).json()
    openapi = client.get("/openapi.json").json()
    assert errors(answer(openapi, "/api/alerts"), alerts) == []
    [alert] = alerts
    assert alert["rule"] == "account locked" and alert["user_id"] == 42
    assert alert["delivery"] == "waiting" and alert["link"].endswith("/#/users/42")
    assert errors(answer(openapi, "/api/alerts/rules"),
                  client.get("/api/alerts/rules", headers=manager).json()) == []
    names = [r["name"] for r in client.get("/api/alerts/rules", headers=manager).json()]
    assert names == ["problem score >= 60", "account locked", "engaged user now at risk"]
    rule = {"name": "x", "kind": "threshold", "metric": "problem_day", "threshold": 30}
    assert client.post("/api/alerts/rules", json=rule, headers=manager).status_code == 403
    assert client.get("/api/alerts/hooks", headers=manager).status_code == 403
    hook = {"name": "ops", "url": "http://127.0.0.1:9/hook"}
    assert client.post("/api/alerts/hooks", json=hook, headers=manager).status_code == 403
    assert client.get("/api/alerts", headers=headers(database_url, Role.MANAGER)
                      ).status_code == 403


def test_an_admin_adds_a_rule_and_a_hook_whose_secret_is_shown_once(
        client: TestClient, database_url: str) -> None:
    admin = headers(database_url, Role.ADMIN)
    rule = {"name": "errors", "kind": "rise", "metric": "problem_day", "threshold": 20,
            "window_minutes": 15, "severity": "critical"}
    saved = client.post("/api/alerts/rules", json=rule, headers=admin)
    assert saved.status_code == 200 and saved.json()["id"] > 3
    broken = {**rule, "name": "no window", "window_minutes": 0}
    refused = client.post("/api/alerts/rules", json=broken, headers=admin)
    assert refused.status_code == 422 and "window" in refused.json()["detail"]

    made = client.post("/api/alerts/hooks", json={"name": "ops", "url": "http://127.0.0.1:9/h"},
                       headers=admin)
    assert made.status_code == 201 and made.json()["secret"].startswith("whsec_")
    openapi = client.get("/openapi.json").json()
    assert errors(component(openapi, "CreatedHook"), made.json()) == []
    unknown = client.post("/api/alerts/rules", json={**rule, "colour": "red"}, headers=admin)
    assert unknown.status_code == 422 and "colour" in unknown.json()["detail"]
    assert made.json()["hook"]["name"] == "ops" and made.json()["hook"]["enabled"]
    foreign = client.post("/api/alerts/rules", json={**rule, "name": "from elsewhere"},
                          headers={**admin, "Origin": "https://evil.example"})
    assert foreign.status_code == 403
    listed = client.get("/api/alerts/hooks", headers=admin).json()
    assert [h["name"] for h in listed] == ["ops"] and "secret" not in listed[0]
    for url in ("http://10.0.0.7/h", "https://169.254.169.254/latest", "ftp://127.0.0.1/"):
        bad = client.post("/api/alerts/hooks", json={"name": "bad", "url": url}, headers=admin)
        assert bad.status_code == 422, url
    with create_engine(database_url, pool_size=1).connect() as conn:
        stored = conn.exec_driver_sql("SELECT secret FROM alert_hooks").scalar_one()
    assert made.json()["secret"].encode() not in bytes(stored)        # sealed


def test_an_alerts_deliveries_and_the_hook_controls(client: TestClient, database_url: str
                                                    ) -> None:
    admin, manager = headers(database_url, Role.ADMIN), headers(database_url, Role.OFFICE_MANAGER)
    made = client.post("/api/alerts/hooks", json={"name": "ops", "url": "http://127.0.0.1:9/h"},
                       headers=admin).json()["hook"]
    with create_engine(database_url, pool_size=1).begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO alert_notifications (id, rule_id, kind) VALUES ('msg_1', 2, 'firing');"
            "INSERT INTO alerts (rule_id, user_id, crossing, kind, value, occurred_at,"
            " notification_id) VALUES (2, 7, 1, 'firing', '1', now(), 'msg_1');"
            f"INSERT INTO alert_deliveries (notification_id, hook_id, body, attempts)"
            f" VALUES ('msg_1', {made['id']}, '{{}}', 1);"
            "INSERT INTO alert_attempts (delivery_id, attempt, started_at, duration_ms,"
            " status_code, error) SELECT id, 1, now(), 12, 500, 'HTTP 500'"
            " FROM alert_deliveries")
        alert_id = conn.exec_driver_sql("SELECT id FROM alerts").scalar_one()
    found = client.get(f"/api/alerts/{alert_id}/deliveries", headers=manager).json()
    openapi = client.get("/openapi.json").json()
    assert errors(answer(openapi, "/api/alerts/{alert_id}/deliveries"), found) == []
    assert [(d["hook"], d["state"], [a["status_code"] for a in d["attempts"]])
            for d in found] == [("ops", "pending", [500])]
    assert client.get("/api/alerts/999/deliveries", headers=manager).status_code == 404

    hook = f"/api/alerts/hooks/{made['id']}"
    for method, path in (("post", f"{hook}/test"), ("post", f"{hook}/enabled"),
                         ("delete", hook)):
        assert getattr(client, method)(path, headers=manager).status_code == 403
    queued = client.post(f"{hook}/test", headers=admin).json()["notification_id"]
    assert queued.startswith("msg_")
    off = client.post(f"{hook}/enabled?on=false", headers=admin).json()
    assert off["enabled"] is False and off["disabled_reason"] == "disabled by an operator"
    assert client.post(f"{hook}/enabled", headers=admin).json()["enabled"] is True
    assert client.delete(hook, headers=admin).status_code == 204
    assert client.delete(hook, headers=admin).status_code == 404
    assert client.post(f"{hook}/test", headers=admin).status_code == 404


def test_an_admin_edits_a_hook_rotates_its_secret_and_renames_nothing_onto_another(
        client: TestClient, database_url: str) -> None:
    admin, manager = headers(database_url, Role.ADMIN), headers(database_url, Role.OFFICE_MANAGER)
    first = client.post("/api/alerts/hooks", json={"name": "ops", "url": "http://127.0.0.1:9/h"},
                        headers=admin).json()
    client.post("/api/alerts/hooks", json={"name": "dev", "url": "http://127.0.0.1:9/d"},
                headers=admin)
    path = f"/api/alerts/hooks/{first['hook']['id']}"
    edited = client.put(path, json={"name": "ops-slack", "url": "http://127.0.0.1:9/s",
                                    "format": "slack"}, headers=admin)
    assert edited.status_code == 200
    assert (edited.json()["name"], edited.json()["url"], edited.json()["format"]) == (
        "ops-slack", "http://127.0.0.1:9/s", "slack")
    taken = client.put(path, json={"name": "dev", "url": "http://127.0.0.1:9/s"}, headers=admin)
    assert taken.status_code == 422 and "exists" in taken.json()["detail"]
    private = client.put(path, json={"name": "x", "url": "https://10.1.2.3/"}, headers=admin)
    assert private.status_code == 422
    assert client.put(path, json={"name": "x", "url": "http://127.0.0.1:9/"},
                      headers=manager).status_code == 403
    assert client.put("/api/alerts/hooks/999", json={"name": "x", "url": "http://127.0.0.1:9/"},
                      headers=admin).status_code == 404
    rotated = client.post(f"{path}/rotate", headers=admin).json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != first["secret"]
    with create_engine(database_url, pool_size=1).connect() as conn:
        secret, previous = conn.exec_driver_sql(
            f"SELECT secret, previous_secret FROM alert_hooks WHERE id = {first['hook']['id']}"
        ).one()
    assert previous is not None and bytes(secret) != bytes(previous)
    rule = {"name": "account locked", "kind": "threshold", "metric": "locked", "threshold": 1}
    clash = client.post("/api/alerts/rules", json=rule, headers=admin)
    assert clash.status_code == 422 and "exists" in clash.json()["detail"]


def test_a_rule_is_backtested_before_it_is_saved(client: TestClient, database_url: str
                                                 ) -> None:
    admin, manager = headers(database_url, Role.ADMIN), headers(database_url, Role.OFFICE_MANAGER)
    with create_engine(database_url, pool_size=1).begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO users (id, email, role, upserted_at) VALUES"
            " (5, 'five@example.com', 'MEMBER', now() - interval '9 days');"
            "INSERT INTO security_alerts (event_id, user_email, alert_type, created_at, raw)"
            " SELECT 'sa' || n, 'five@example.com', 'x',"
            " date_trunc('day', now()) - interval '2 days' + interval '1 hour', '{}'"
            " FROM generate_series(1, 3) AS n")
    rule = {"name": "draft", "kind": "threshold", "metric": "problem_day", "threshold": 60,
            "hysteresis": 10, "enabled": False}
    since = (datetime.now(UTC) - timedelta(days=4)).date().isoformat()
    asked = {"rule": rule, "since": since}
    assert client.post("/api/alerts/backtest", json=asked, headers=manager).status_code == 403
    found = client.post("/api/alerts/backtest", json=asked, headers=admin)
    assert found.status_code == 200
    openapi = client.get("/openapi.json").json()
    assert errors(answer(openapi, "/api/alerts/backtest", method="post"), found.json()) == []
    days = found.json()["days"]
    assert [(d["alerts"], d["resolved"]) for d in days] == [(0, 0), (0, 0), (1, 0), (0, 1),
                                                            (0, 0)]
    assert (found.json()["alerts"], found.json()["users"]) == (1, 1)
    assert [r["name"] for r in client.get("/api/alerts/rules", headers=admin).json()
            ].count("draft") == 0
    for bad in ({**asked, "since": "2026-13-01"}, {**asked, "since": "2020-01-01"},
                {**asked, "until": "2999-01-01"}, {**asked, "rule": {**rule, "threshold": 0}}):
        assert client.post("/api/alerts/backtest", json=bad, headers=admin).status_code == 422
