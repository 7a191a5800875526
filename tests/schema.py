"""Validating the API's JSON against the schema it publishes at ``/openapi.json``.

The published components leave objects open (``docs/api.md``: fields may be added);
the tests close them (``additionalProperties: false``), so a field the schema does not
document is an error too.
"""

from __future__ import annotations

import copy
from typing import Any

from jsonschema import Draft202012Validator

Json = dict[str, Any]


def closed(schema: Any) -> Any:
    """``schema`` with every object that lists its properties closed to others."""
    if isinstance(schema, list):
        return [closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    found = {key: closed(value) for key, value in schema.items()}
    if "properties" in found and found.get("type") == "object":
        found.setdefault("additionalProperties", False)
    return found


def validator(openapi: Json, schema: Json) -> Draft202012Validator:
    """A validator of ``schema`` (a ``$ref`` into the components, say), its references
    resolved against the OpenAPI document's closed components."""
    components = {"schemas": closed(copy.deepcopy(openapi["components"]["schemas"]))}
    root = {**schema, "components": components}
    Draft202012Validator.check_schema(root)
    return Draft202012Validator(root)


def component(openapi: Json, name: str) -> Draft202012Validator:
    """A validator of the component ``name``."""
    return validator(openapi, {"$ref": f"#/components/schemas/{name}"})


def answer(openapi: Json, path: str, status: str = "200", method: str = "get"
           ) -> Draft202012Validator:
    """A validator of the JSON the OpenAPI document says ``GET path`` (or ``method``)
    answers with."""
    content = openapi["paths"][path][method]["responses"][status]["content"]
    return validator(openapi, content["application/json"]["schema"])


def errors(check: Draft202012Validator, document: Any) -> list[str]:
    """What is wrong with ``document``, one line per error (none: it is valid)."""
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in check.iter_errors(document)]
