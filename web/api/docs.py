"""``GET /docs``: the interactive OpenAPI page, Swagger UI served by the app (no CDN).

FastAPI's own page starts Swagger UI with an inline script, which the
Content-Security-Policy every response carries (``web.server.security_headers``) forbids;
this page loads the same start from ``/static/swagger-init.js``.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

VENDOR: Final = "/static/vendor/swagger-ui"
PAGE: Final = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>insights API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{VENDOR}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{VENDOR}/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script>
</body>
</html>
"""


@router.get("/docs")
def docs() -> HTMLResponse:
    """The Swagger UI page of ``/openapi.json``."""
    return HTMLResponse(PAGE)
