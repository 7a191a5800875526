"""What the pages, the log-in and the live views share, built once in the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Final

from fastapi.templating import Jinja2Templates

from insights.keys import Keys
from insights.settings import Settings
from web.sessions import Limits
from web.throttle import Policy

TEMPLATES: Final = Path(__file__).parent / "templates"
STATIC: Final = Path(__file__).parent / "static"


@dataclass(frozen=True)
class WebState:
    """Policies taken from the settings, and the templates."""

    keys: Keys
    session_limits: Limits
    login_policy: Policy
    origins: frozenset[str]
    live_interval_s: float
    templates: Jinja2Templates


def build_state(settings: Settings) -> WebState:
    """The app's shared state from its settings."""
    return WebState(
        keys=Keys(settings.redis_prefix),
        session_limits=Limits(idle=timedelta(minutes=settings.session_idle_minutes),
                              lifetime=timedelta(hours=settings.session_lifetime_hours)),
        login_policy=Policy(settings.login_failures_per_email, settings.login_failures_per_ip,
                            settings.login_window_s),
        origins=frozenset(o.strip().rstrip("/") for o in settings.web_origins.split(",")
                          if o.strip()),
        live_interval_s=settings.live_interval_ms / 1000,
        templates=Jinja2Templates(directory=TEMPLATES),
    )
