"""How the API writes times, days (``docs/api.md``: RFC 3339 in UTC, days ``YYYY-MM-DD``) and
its JSON documents."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import msgspec
from fastapi.responses import JSONResponse

_encoder = msgspec.json.Encoder()


def encode(document: object) -> bytes:
    """A document (a ``web.documents`` Struct, or JSON types: times are already strings) as
    JSON."""
    return _encoder.encode(document)


class Document(JSONResponse):
    """A JSON response encoded by msgspec: the tabs' documents are large (50 rows with
    their components), and FastAPI's own encoding took longer than reading them. (A
    ``JSONResponse`` for OpenAPI: a route's 200 is then JSON of the schema it names.)"""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return encode(content)


def rfc3339(moment: datetime) -> str:
    """An aware datetime as RFC 3339 in UTC with a ``Z``: ``2026-03-01T12:00:00Z``."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def rfc3339_or_none(moment: datetime | None) -> str | None:
    """:func:`rfc3339`, keeping None (a user who never logged in)."""
    return None if moment is None else rfc3339(moment)


def day(value: date) -> str:
    """A calendar day as ``YYYY-MM-DD``."""
    return value.isoformat()
