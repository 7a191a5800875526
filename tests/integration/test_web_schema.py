"""Every JSON answer of the API against the schema the app publishes at ``/openapi.json``.

A month of simulated traffic goes through Kafka and a consumer into PostgreSQL and
Redis; then each tab at each period (the overview with each filter), profiles, the
health answer and a document of each socket kind are validated against their
published schema, closed to undocumented fields (``tests.schema``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from consumers.pipeline import Pipeline
from insights.events.producer import Emitter
from insights.settings import Settings
from scoring.windows import PERIODS
from tests.read_model import simulate, wait_ingested
from tests.schema import answer, component, errors
from web.app import create_app
from web.auth.accounts import Role, create_token
from web.documents.schema import TAB_DOCUMENTS
from web.engine import create_engine
from web.reader import TAB_FILTERS, TABS

ORIGIN = {"origin": "http://testserver"}


@pytest.fixture
def client(settings: Settings, emitter: Emitter,
           run_pipeline: Callable[[Settings], Pipeline]) -> Iterator[TestClient]:
    run_pipeline(settings)
    wait_ingested(settings, simulate(emitter, datetime.now(UTC), users=25, days=35, seed=11))
    engine = create_engine(settings.postgres_url or "", pool_size=1)
    token = create_token(engine, "admin@corp.io", Role.ADMIN)[0]
    engine.dispose()
    with TestClient(create_app(settings),
                    headers={"Authorization": f"Bearer {token}"}) as test_client:
        yield test_client


def _get(client: TestClient, path: str) -> Any:
    response = client.get(path)
    assert response.status_code == 200, (path, response.text)
    assert response.headers["content-type"] == "application/json"
    return response.json()


def _check(openapi: dict[str, Any], route: str, name: str, document: Any) -> None:
    """Valid as the route's published answer and as its own component."""
    assert errors(answer(openapi, route), document) == [], route
    assert errors(component(openapi, name), document) == [], name


def test_every_json_answer_matches_the_published_schema(client: TestClient) -> None:
    openapi = _get(client, "/openapi.json")
    listed: set[int] = set()
    for tab in TABS:
        for period in PERIODS:
            for filter_ in TAB_FILTERS[tab]:
                document = _get(client, f"/api/tabs/{tab}?period={period}&filter={filter_}")
                _check(openapi, "/api/tabs/{tab}", TAB_DOCUMENTS[tab].__name__, document)
                listed |= {row["user"]["id"] for row in document.get("problem_users", [])}
                listed |= {row["user"]["id"] for row in document.get("engagement_list", [])}
    assert len(listed) >= 5, "the simulated month lists users"
    for user_id in sorted(listed)[:8]:
        profile = _get(client, f"/api/users/{user_id}")
        _check(openapi, "/api/users/{user_id}", "Profile", profile)
        assert profile["timeline"] and profile["freshness"]["applied_at"] is not None
    _check(openapi, "/healthz", "Health", _get(client, "/healthz"))
    _check_sockets(client, openapi, min(listed))


def _check_sockets(client: TestClient, openapi: dict[str, Any], user_id: int) -> None:
    live = component(openapi, "LiveDocument")
    for path, name in [("/ws/tabs/engagement?period=month", "EngagementTab"),
                       ("/ws/tabs/overview?filter=logged", "OverviewTab"),
                       (f"/ws/users/{user_id}", "Profile")]:
        with client.websocket_connect(path, headers=ORIGIN) as ws:
            document = ws.receive_json()
        assert errors(live, document) == [], path
        assert errors(component(openapi, name), document) == [], path


def test_a_wrong_answer_is_caught(client: TestClient) -> None:
    """The check above can fail: a real answer with one field spoiled is rejected."""
    openapi = _get(client, "/openapi.json")
    document = _get(client, "/api/tabs/paths?period=month")
    assert errors(answer(openapi, "/api/tabs/{tab}"), document) == []
    document["transitions"][0]["from_"] = document["transitions"][0].pop("from")
    assert errors(answer(openapi, "/api/tabs/{tab}"), document) != []
    assert errors(component(openapi, "LiveDocument"), document) != []


def test_the_engagement_list_is_filtered_by_status_with_counts_per_status(
        client: TestClient) -> None:
    every = _get(client, "/api/tabs/engagement?period=month")
    counts = every["statuses"]
    assert set(counts) == {"active", "at_risk", "dormant"} and every["status_filter"] is None
    assert len([n for n in counts.values() if n]) >= 2, counts    # the month has a mix
    for status in counts:
        doc = _get(client, f"/api/tabs/engagement?period=month&filter={status}")
        rows = doc["engagement_list"]
        assert doc["status_filter"] == status and doc["statuses"] == counts
        assert {row["status"] for row in rows} <= {status}
        assert len(rows) == min(50, counts[status]), status
        assert [row["score"] for row in rows] == sorted((row["score"] for row in rows),
                                                       reverse=True)
    wrong = client.get("/api/tabs/overview?filter=at_risk")
    assert wrong.status_code == 422
    assert "all, logged, anonymous on the overview tab" in wrong.text
    export = client.get("/api/export/engagement.csv?period=month&filter=at_risk")
    assert export.status_code == 200
    assert "insights_engagement_month_at_risk.csv" in export.headers["content-disposition"]
    assert export.text.count("\n") == 1 + counts["at_risk"]     # header + the at-risk rows
