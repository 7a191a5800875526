"""What the pages, the log-in and the live views share, built once in the app's lifespan,
and the static assets' files."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from os import PathLike
from pathlib import Path
from typing import Final

from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.responses import Response
from starlette.types import Scope

from insights.readmodel.keys import Keys
from insights.settings import Settings
from web.auth.sessions import SessionLimits
from web.auth.throttle import Policy
from web.server.socket_quota import SocketQuota

TEMPLATES: Final = Path(__file__).parent / "templates"
STATIC: Final = Path(__file__).parent / "static"
VERIFICATIONS: Final = 4


@dataclass(frozen=True)
class WebState:
    """Policies taken from the settings, and the templates."""

    keys: Keys
    session_limits: SessionLimits
    login_policy: Policy
    origins: frozenset[str]
    live_interval_s: float
    templates: Jinja2Templates
    sockets: SocketQuota
    #: The settings the alerts' routes need (dashboard URL, hooks allowed, sealing key).
    settings: Settings
    secure_cookies: bool | None = None
    #: Password checks at once (each takes tens of MiB and a core for a moment).
    verifications: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(VERIFICATIONS))


def build_state(settings: Settings) -> WebState:
    """The app's shared state from its settings."""
    return WebState(
        keys=Keys(settings.redis_prefix),
        session_limits=SessionLimits(idle=timedelta(minutes=settings.session_idle_minutes),
                                     lifetime=timedelta(hours=settings.session_lifetime_hours)),
        login_policy=Policy(settings.login_failures_per_email, settings.login_failures_per_ip,
                            settings.login_window_s),
        origins=frozenset(o.strip().rstrip("/") for o in settings.web_origins.split(",")
                          if o.strip()),
        live_interval_s=settings.live_interval_ms / 1000,
        templates=Jinja2Templates(directory=TEMPLATES),
        sockets=SocketQuota(settings.web_max_sockets, settings.web_max_sockets_per_session),
        settings=settings,
        secure_cookies=settings.web_secure_cookies,
    )


class Assets(StaticFiles):
    """The page's scripts and styles: revalidated on every load (ETag), since modules
    import each other by plain paths and a stale one would mix two versions."""

    def file_response(self, full_path: PathLike[str] | str, stat_result: os.stat_result,
                      scope: Scope, status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
