"""The documents' published schema (``web.documents``): every field described, every
document in ``/openapi.json``, wrong documents rejected, and the CSV columns named
after the rows' fields."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest

from insights.settings import Settings
from tests.schema import answer, component, errors
from web.app import create_app
from web.documents.common import Freshness, ScoreComponent, UserRef
from web.documents.paths import PathsTab, Transition
from web.documents.schema import TAB_DOCUMENTS, components
from web.documents.site import PagesTab, TopPage
from web.documents.users import EngagementRow, ProblemsTab, ProblemUser
from web.exports import COLUMNS, LIST_KEYS
from web.outage import Unavailable, json_answer
from web.reader import TABS

FASTAPI_OWN = {"HTTPValidationError", "ValidationError"}


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    # The schema needs no servers: the app's lifespan (its connections) does not start.
    app = create_app(Settings(postgres_url="postgresql://nowhere/x", redis_url="redis://nowhere"))
    schema: dict[str, Any] = app.openapi()
    return schema


def _properties(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield from schema.get("properties", {}).items()


def test_every_document_field_and_type_has_a_description(openapi: dict[str, Any]) -> None:
    published = openapi["components"]["schemas"]
    ours = {name: schema for name, schema in published.items() if name not in FASTAPI_OWN}
    assert set(components()) == set(ours)
    missing = [name for name, schema in ours.items() if not schema.get("description")]
    missing += [f"{name}.{field}" for name, schema in ours.items()
                for field, prop in _properties(schema) if not prop.get("description")]
    assert missing == []


def test_each_tab_has_its_document_and_the_routes_name_theirs(openapi: dict[str, Any]) -> None:
    assert tuple(TAB_DOCUMENTS) == TABS
    tab_document = openapi["components"]["schemas"]["TabDocument"]
    assert [one["$ref"].rsplit("/", 1)[1] for one in tab_document["oneOf"]] == [
        t.__name__ for t in TAB_DOCUMENTS.values()]
    for path, name in [("/api/tabs/{tab}", "TabDocument"), ("/api/users/{user_id}", "Profile"),
                       ("/healthz", "Health")]:
        content = openapi["paths"][path]["get"]["responses"]["200"]["content"]
        assert content == {"application/json": {"schema": {
            "$ref": f"#/components/schemas/{name}"}}}
    live = openapi["components"]["schemas"]["LiveDocument"]["oneOf"]
    assert live == [{"$ref": "#/components/schemas/TabDocument"},
                    {"$ref": "#/components/schemas/Profile"},
                    {"$ref": "#/components/schemas/AlertsFeed"}]


def _problems() -> dict[str, Any]:
    row = ProblemUser(user=UserRef(id=1, name=None, email="a@b.c"), score=40,
                      failed_logins=4, password_resets=0, js_errors=0, slow_pages=0,
                      security_alerts=0, is_locked=False, last_login=None,
                      components=[ScoreComponent(name="failed_logins", count=4, weight=10,
                                                 points=40)])
    document = ProblemsTab(locked_accounts=0, failed_logins=1, password_resets=0, js_errors=0,
                           problem_users=[row])
    document.freshness = Freshness(newest_event_at=None, applied_at=None, lag=None)
    built: dict[str, Any] = msgspec.to_builtins(document)
    return built


def test_a_document_of_the_declared_type_is_valid(openapi: dict[str, Any]) -> None:
    assert errors(component(openapi, "ProblemsTab"), _problems()) == []
    assert errors(answer(openapi, "/api/tabs/{tab}"), _problems()) == []


def _without_freshness(d: dict[str, Any]) -> None:
    del d["freshness"]


def _with_an_undocumented_field(d: dict[str, Any]) -> None:
    d["problem_users"][0]["surprise"] = 1


def _score_as_text(d: dict[str, Any]) -> None:
    d["problem_users"][0]["score"] = "40"


def _score_over_100(d: dict[str, Any]) -> None:
    d["problem_users"][0]["score"] = 140


def _freshness_renamed(d: dict[str, Any]) -> None:
    d["fresh"] = d.pop("freshness")


@pytest.mark.parametrize("spoil", [_without_freshness, _with_an_undocumented_field,
                                   _score_as_text, _score_over_100, _freshness_renamed])
def test_a_wrong_document_is_rejected(openapi: dict[str, Any], spoil: Any) -> None:
    document = _problems()
    spoil(document)
    assert errors(component(openapi, "ProblemsTab"), document) != []
    assert errors(answer(openapi, "/api/tabs/{tab}"), document) != []
    assert errors(component(openapi, "LiveDocument"), document) != []


def test_json_names_are_the_contract_s() -> None:
    moved = Transition(from_="/a", to="/b", count=2)
    assert msgspec.json.encode(moved) == b'{"from":"/a","to":"/b","count":2}'
    empty = PathsTab(entry_pages=[], exit_pages=[], transitions=[], dropoff=[],
                     session_lengths=[])
    assert b"freshness" not in msgspec.json.encode(empty)    # not read yet: left out


@pytest.mark.parametrize(("kind", "row"), [("problems", ProblemUser),
                                           ("engagement", EngagementRow), ("pages", TopPage)])
def test_export_columns_are_fields_of_the_listed_rows(kind: Any, row: type[Any]) -> None:
    fields = set(row.__struct_fields__) | set(UserRef.__struct_fields__) | {"user_id"}
    assert set(COLUMNS[kind]) <= fields               # user_id: the row's user's id
    listed = {"problems": ProblemsTab, "engagement": TAB_DOCUMENTS["engagement"],
              "pages": PagesTab}[kind]
    assert LIST_KEYS[kind] in listed.__struct_fields__


def test_the_api_s_503_is_its_published_schema(openapi: dict[str, Any]) -> None:
    response = json_answer(Unavailable("redis", "Redis does not answer; try again shortly."))
    body = json.loads(bytes(response.body))
    assert body == {"detail": "Redis does not answer; try again shortly.",
                    "unavailable": ["redis"], "retry_after": 5}
    for path in ("/api/tabs/{tab}", "/api/users/{user_id}"):
        assert errors(answer(openapi, path, "503"), body) == []
    assert errors(answer(openapi, "/api/tabs/{tab}", "503"), {**body, "retry_after": "5"})
