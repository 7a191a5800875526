"""``/api/alerts``: recent alerts and their deliveries (OFFICE_MANAGER and ADMIN), rules and
hooks managed by ADMINs only (``insights.alerts``).

A hook's signing secret is in the answer of its creation and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from insights.alerts import sealing, signing, store
from insights.alerts.destination import Allowed, RefusedUrl, check
from insights.alerts.payloads import profile_link
from insights.alerts.rules import Rule as RuleValue
from web.auth.accounts import Account, Role
from web.deps import AccountDep, EngineDep, WebDep

router = APIRouter(prefix="/alerts", tags=["alerts"])


def admin(account: AccountDep) -> Account:
    """Only ADMINs change rules and hooks (403 otherwise)."""
    if account.role != Role.ADMIN.name:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="only an ADMIN may do this")
    return account


AdminDep = Annotated[Account, Depends(admin)]


@contextmanager
def _conn(engine: Engine) -> Iterator[Any]:
    """A pooled connection's psycopg2 connection, for ``insights.alerts.store``."""
    lent = engine.raw_connection()
    with closing(lent):
        yield lent.dbapi_connection


class Alert(BaseModel):
    id: int
    rule: str = Field(description="the rule's name")
    user_id: int
    kind: Literal["firing", "resolved"]
    value: str = Field(description="the metric's value that fired or resolved it")
    previous: str | None = Field(description="its value before (None: first reading)")
    occurred_at: datetime
    delivery: str = Field(description="waiting (for its group), no hook, sending, delivered"
                                      " or failed")
    link: str = Field(description="the user's profile on the dashboard")


class Rule(BaseModel):
    id: int = Field(0, description="0 when creating")
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["threshold", "rise", "transition"]
    metric: Literal["problem_day", "problem_week", "problem_month", "engagement", "locked",
                    "status"]
    severity: Literal["info", "warning", "critical"] = "warning"
    threshold: int = Field(0, ge=0, le=1000, description="T (threshold) or D (rise), points")
    hysteresis: int = Field(0, ge=0, le=1000, description="resolved below T - hysteresis")
    window_minutes: int = Field(0, ge=0, le=10080, description="a rise's window")
    from_status: str = Field("*", max_length=20)
    to_status: str = Field("", max_length=20)
    roles: list[str] | None = Field(None, description="None: every tracked user")
    cooldown_s: int = Field(3600, ge=0, le=30 * 86400)
    enabled: bool = True


class Hook(BaseModel):
    id: int
    name: str
    url: str
    format: str
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None


class NewHook(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    url: str = Field(min_length=8, max_length=2000)
    format: Literal["json", "slack", "teams", "alertmanager"] = "json"


class CreatedHook(Hook):
    secret: str = Field(description="the signing secret, shown this once (whsec_...)")


@router.get("", response_model=list[Alert])
def recent(engine: EngineDep, web: WebDep,
           limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[Alert]:
    """The newest alerts and where their delivery stands."""
    with _conn(engine) as conn:
        found = store.recent_alerts(conn, limit)
    return [Alert(**vars(a), link=profile_link(web.settings.dashboard_url, a.user_id))
            for a in found]


@router.get("/rules", response_model=list[Rule])
def rules(engine: EngineDep) -> list[Rule]:
    """Every rule."""
    with _conn(engine) as conn:
        return [Rule(**{**vars(r), "roles": list(r.roles) if r.roles else None})
                for r in store.load_rules(conn)]


@router.post("/rules", response_model=Rule, dependencies=[Depends(admin)])
def save_rule(rule: Rule, engine: EngineDep) -> Rule:
    """Create a rule (id 0) or change one (ADMIN); 422 for a rule that cannot work."""
    value = RuleValue(**{**rule.model_dump(), "roles": tuple(rule.roles) if rule.roles
                         else None})
    try:
        with _conn(engine) as conn:
            rule_id = store.save_rule(conn, value)
    except store.InvalidRule as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return rule.model_copy(update={"id": rule_id})


@router.get("/hooks", response_model=list[Hook], dependencies=[Depends(admin)])
def hooks(engine: EngineDep) -> list[Hook]:
    """Every hook and why any is disabled (ADMIN)."""
    with _conn(engine) as conn:
        return [Hook(**{k: v for k, v in vars(h).items() if k != "created_at"})
                for h in store.load_hooks(conn)]


@router.post("/hooks", response_model=CreatedHook, status_code=201,
             dependencies=[Depends(admin)])
def add_hook(hook: NewHook, engine: EngineDep, web: WebDep) -> CreatedHook:
    """Add a hook (ADMIN): 422 for a URL that may not be called; the answer holds the
    signing secret, which is not shown again."""
    settings = web.settings
    try:
        check(hook.url, Allowed.parse(settings.hooks_allow))
        secret = signing.new_secret()
        sealed = sealing.seal(secret, sealing.key(settings))
        with _conn(engine) as conn:
            hook_id = store.add_hook(conn, hook.name, hook.url, hook.format, sealed)
    except (RefusedUrl, store.InvalidRule) as exc:
        raise HTTPException(422, detail=str(exc)) from None
    except sealing.MissingKey as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from None
    return CreatedHook(id=hook_id, name=hook.name, url=hook.url, format=hook.format,
                       enabled=True, disabled_reason=None, failing_since=None, secret=secret)


@router.post("/notifications/{notification_id}/resend", dependencies=[Depends(admin)])
def resend(notification_id: Annotated[str, Path(max_length=100)],
           engine: EngineDep) -> dict[str, int]:
    """Send a notification again, same id and body, to every hook it went to (ADMIN)."""
    with _conn(engine) as conn:
        count = store.resend(conn, notification_id)
    if not count:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such notification")
    return {"deliveries": count}
