"""The documents' JSON Schema, published in the app's OpenAPI (``/openapi.json``).

``msgspec.json.schema_components`` writes a component per declared type (with each
field's description); :func:`install` merges them into FastAPI's schema once, and the
routes point their answers at them (:func:`answer`). Two components are unions:
``TabDocument`` (the answer of ``GET /api/tabs/{tab}``, one per tab) and
``LiveDocument`` (each message of the ``/ws`` sockets; WebSockets are not OpenAPI
paths, so it is only a component, cited by ``docs/api.md``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, TypeVar

import msgspec
from fastapi import FastAPI, HTTPException, Request

from web.documents.alerts import ALERT_DOCUMENTS, AlertsFeed
from web.documents.common import Health, ServiceUnavailable
from web.documents.paths import PathsTab
from web.documents.profile import Profile
from web.documents.site import OverviewTab, PagesTab
from web.documents.users import EngagementTab, ProblemsTab, UserSearch

TabDocument = ProblemsTab | EngagementTab | PagesTab | PathsTab | OverviewTab
#: What a live socket sends: a tab's document, a profile or the alerts, as its ``GET``.
LiveDocument = TabDocument | Profile | AlertsFeed
#: The document of each tab (``web.reader.TABS``).
TAB_DOCUMENTS: Final[Mapping[str, type[TabDocument]]] = {
    "problems": ProblemsTab, "engagement": EngagementTab, "pages": PagesTab,
    "paths": PathsTab, "overview": OverviewTab,
}
#: The documents served with their ``freshness`` (filled in after the document is read).
FRESH_DOCUMENTS: Final = (*TAB_DOCUMENTS.values(), Profile, AlertsFeed)
REF: Final = "#/components/schemas/{name}"


def ref(name: str) -> dict[str, str]:
    """A reference to the component ``name``."""
    return {"$ref": REF.format(name=name)}


def components() -> dict[str, Any]:
    """The JSON Schema of every document, by component name."""
    _, found = msgspec.json.schema_components(
        [*FRESH_DOCUMENTS, Health, ServiceUnavailable, UserSearch, *ALERT_DOCUMENTS],
        ref_template=REF)
    for document in FRESH_DOCUMENTS:
        found[document.__name__]["required"].append("freshness")
    found["TabDocument"] = {
        "title": "TabDocument",
        "description": "The document of GET /api/tabs/{tab}: "
                       + ", ".join(f"{tab}: {t.__name__}" for tab, t in TAB_DOCUMENTS.items()),
        "oneOf": [ref(t.__name__) for t in TAB_DOCUMENTS.values()]}
    found["LiveDocument"] = {
        "title": "LiveDocument",
        "description": "Each text frame of WS /ws/tabs/{tab} (the tab's TabDocument),"
                       " WS /ws/users/{id} (the Profile) and WS /ws/alerts (the AlertsFeed):"
                       " the whole document of the matching GET, freshness included, on"
                       " connect and after each change.",
        "oneOf": [ref("TabDocument"), ref("Profile"), ref("AlertsFeed")]}
    return found


def answer(name: str, description: str, *, many: bool = False, status: int = 200
           ) -> dict[int | str, dict[str, Any]]:
    """A route's ``responses``: its 200 (or ``status``) is the JSON of the component
    ``name`` (a list of them when ``many``)."""
    schema = {"type": "array", "items": ref(name)} if many else ref(name)
    return {status: {"description": description,
                     "content": {"application/json": {"schema": schema}}}}


def body(name: str) -> dict[str, Any]:
    """A route's ``openapi_extra``: its JSON request body is the component ``name``."""
    return {"requestBody": {"required": True,
                            "content": {"application/json": {"schema": ref(name)}}}}


T = TypeVar("T")


async def decoded(request: Request, kind: type[T]) -> T:
    """The request's JSON body (declared with :func:`body`) as ``kind``; 422 saying what
    is wrong otherwise."""
    try:
        return msgspec.json.decode(await request.body(), type=kind)
    except msgspec.DecodeError as exc:
        raise HTTPException(422, detail=str(exc)) from None


#: The 503 of the ``/api`` routes (``web.outage``), for their ``responses``.
UNAVAILABLE: Final[dict[int | str, dict[str, Any]]] = {503: {
    "description": "a server the answer needs is down or too slow, or the read model is"
                   " being rebuilt",
    "content": {"application/json": {"schema": ref("ServiceUnavailable")}}}}


def install(app: FastAPI) -> None:
    """Make ``app.openapi`` FastAPI's schema with the documents' components merged in."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schema.setdefault("components", {}).setdefault("schemas", {}).update(components())
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
