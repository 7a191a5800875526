"""The middleware the app installs (``web.app``): :mod:`web.security_headers`."""

from __future__ import annotations

from fastapi import FastAPI

from insights.settings import Settings
from web.security_headers import SecurityHeaders


def install(app: FastAPI, settings: Settings) -> None:
    """Add the security-header middleware to ``app``."""
    app.add_middleware(SecurityHeaders)
