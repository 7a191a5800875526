"""``/api/alerts``: recent alerts (OFFICE_MANAGER and ADMIN) and rules; rules and hooks changed
by ADMINs only (``insights.alerts``). A hook's signing secret is in the answer of its
creation and nowhere else. Documents: ``web.documents.alerts``."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import msgspec
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from sqlalchemy.engine import Engine

from insights.alerts import outbox, sealing, signing, store
from insights.alerts.destination import Allowed, RefusedUrl, check
from insights.alerts.rules import Rule
from web import alerts
from web.alerts import connection
from web.auth.accounts import Account, Role
from web.auth.identity import origin_allowed
from web.deps import AccountDep, EngineDep, NowDep, ViewsDep, WebDep
from web.documents.alerts import (
    AlertDelivery,
    AlertHook,
    AlertRule,
    CreatedHook,
    DeliveryAttempt,
    NewHook,
    Queued,
    Resent,
)
from web.documents.schema import UNAVAILABLE, answer, body
from web.formats import Document, rfc3339, rfc3339_or_none

router = APIRouter(prefix="/alerts", tags=["alerts"])
T = TypeVar("T")
Responses = dict[int | str, dict[str, Any]]
FORBIDDEN: Responses = {403: {"description": "not an ADMIN"}}
REFUSED: Responses = {422: {"description": "a rule that cannot work, or a URL that may not be"
                                           " called"}}
NOT_FOUND: Responses = {404: {"description": "no such notification, alert or hook"}}
HookId = Annotated[int, Path(ge=1, le=2**63 - 1, description="a hook's id")]


def admin(account: AccountDep, request: Request, web: WebDep) -> Account:
    """Only ADMINs change rules and hooks (403 otherwise), and a browser only from the
    app's own pages: a foreign ``Origin`` is refused (the session cookie is SameSite=Lax
    already; this holds for sites sharing the domain too)."""
    if account.role != Role.ADMIN.name:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="only an ADMIN may do this")
    if not origin_allowed(request.headers, web.origins):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="not from this app's pages")
    return account


async def _body(request: Request, kind: type[T]) -> T:
    """The request's JSON as ``kind``; 422 saying what is wrong otherwise."""
    try:
        return msgspec.json.decode(await request.body(), type=kind)
    except msgspec.DecodeError as exc:
        raise HTTPException(422, detail=str(exc)) from None


@router.get("", response_class=Document,
            responses={**answer("AlertItem", "the newest alerts", many=True), **UNAVAILABLE})
def recent(engine: EngineDep, web: WebDep,
           limit: Annotated[int, Query(ge=1, le=500)] = 50) -> Document:
    """The newest alerts and where their delivery stands."""
    return Document(alerts.recent(engine, web.settings.dashboard_url, limit))


@router.get("/feed", response_class=Document,
            responses={**answer("AlertsFeed", "the Alerts view"), **UNAVAILABLE})
def feed(engine: EngineDep, web: WebDep, views: ViewsDep, now: NowDep) -> Document:
    """The Alerts view's document, as ``WS /ws/alerts`` sends it (with freshness)."""
    document = alerts.feed(engine, web.settings.dashboard_url)
    document.freshness = views.freshness(now)
    return Document(document)


def _rule(r: Rule) -> AlertRule:
    return AlertRule(**{**vars(r), "roles": list(r.roles) if r.roles else None})


@router.get("/rules", response_class=Document,
            responses={**answer("AlertRule", "every rule", many=True), **UNAVAILABLE})
def rules(engine: EngineDep) -> Document:
    """Every rule."""
    with connection(engine) as conn:
        return Document([_rule(r) for r in store.load_rules(conn)])


@router.post("/rules", response_class=Document, dependencies=[Depends(admin)],
             openapi_extra=body("AlertRule"),
             responses={**answer("AlertRule", "the rule as saved"), **FORBIDDEN, **REFUSED,
                        **UNAVAILABLE})
async def save_rule(request: Request, engine: EngineDep) -> Document:
    """Create a rule (id 0) or change one (ADMIN); 422 for a rule that cannot work."""
    rule = await _body(request, AlertRule)
    value = Rule(**{**msgspec.structs.asdict(rule),
                    "roles": tuple(rule.roles) if rule.roles else None})
    try:
        with connection(engine) as conn:
            rule_id = store.save_rule(conn, value)
    except store.InvalidRule as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return Document(msgspec.structs.replace(rule, id=rule_id))


def _hook(h: store.Hook) -> AlertHook:
    return AlertHook(id=h.id, name=h.name, url=h.url, format=h.format, enabled=h.enabled,
                     disabled_reason=h.disabled_reason,
                     failing_since=rfc3339_or_none(h.failing_since))


@router.get("/hooks", response_class=Document, dependencies=[Depends(admin)],
            responses={**answer("AlertHook", "every hook", many=True), **FORBIDDEN,
                       **UNAVAILABLE})
def hooks(engine: EngineDep) -> Document:
    """Every hook and why any is disabled (ADMIN)."""
    with connection(engine) as conn:
        return Document([_hook(h) for h in store.load_hooks(conn)])


@router.post("/hooks", response_class=Document, status_code=201,
             dependencies=[Depends(admin)], openapi_extra=body("NewHook"),
             responses={**answer("CreatedHook", "the hook and its secret", status=201),
                        **FORBIDDEN, **REFUSED, **UNAVAILABLE})
async def add_hook(request: Request, engine: EngineDep, web: WebDep) -> Document:
    """Add a hook (ADMIN): 422 for a URL that may not be called; the answer holds the
    signing secret, which is not shown again."""
    hook = await _body(request, NewHook)
    try:
        check(hook.url, Allowed.parse(web.settings.hooks_allow))
        secret = signing.new_secret()
        sealed = sealing.seal(secret, sealing.key(web.settings))
        with connection(engine) as conn:
            hook_id = store.add_hook(conn, hook.name, hook.url, hook.format, sealed)
            made = next(h for h in store.load_hooks(conn) if h.id == hook_id)
    except (RefusedUrl, store.InvalidRule) as exc:
        raise HTTPException(422, detail=str(exc)) from None
    except sealing.MissingKey as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from None
    return Document(CreatedHook(hook=_hook(made), secret=secret), status_code=201)


@router.post("/notifications/{notification_id}/resend", response_class=Document,
             dependencies=[Depends(admin)],
             responses={**answer("Resent", "the deliveries queued again"), **FORBIDDEN,
                        **NOT_FOUND, **UNAVAILABLE})
def resend(notification_id: Annotated[str, Path(max_length=100)],
           engine: EngineDep) -> Document:
    """Send a notification again, same id and body, to every hook it went to (ADMIN)."""
    with connection(engine) as conn:
        count = store.resend(conn, notification_id)
    if not count:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such notification")
    return Document(Resent(deliveries=count))


@router.get("/{alert_id}/deliveries", response_class=Document,
            responses={**answer("AlertDelivery", "each hook's delivery of the alert's"
                                " notification, with its attempts", many=True), **NOT_FOUND,
                       **UNAVAILABLE})
def deliveries(alert_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
               engine: EngineDep) -> Document:
    """How the alert was delivered: per hook, the state and every attempt."""
    with connection(engine) as conn:
        found = store.deliveries_of(conn, alert_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such alert")
    return Document([AlertDelivery(
        id=d.id, notification_id=d.notification_id, hook=d.hook,
        state=d.state,  # type: ignore[arg-type]
        next_attempt_at=rfc3339_or_none(d.next_attempt_at), last_error=d.last_error,
        attempts=[DeliveryAttempt(attempt=a.attempt, started_at=rfc3339(a.started_at),
                                  duration_ms=a.duration_ms, status_code=a.status_code,
                                  error=a.error) for a in d.attempts]) for d in found])


def _hook_name(engine: Engine, hook_id: int) -> str:
    with connection(engine) as conn:
        names = {h.id: h.name for h in store.load_hooks(conn)}
    if hook_id not in names:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such hook")
    return names[hook_id]


@router.post("/hooks/{hook_id}/test", response_class=Document, dependencies=[Depends(admin)],
             responses={**answer("Queued", "the test notification queued"), **FORBIDDEN,
                        **NOT_FOUND, **UNAVAILABLE})
def test_hook(hook_id: HookId, engine: EngineDep, web: WebDep) -> Document:
    """Queue a test notification to one hook (ADMIN); the dispatcher sends it."""
    with connection(engine) as conn:
        queued = outbox.queue_test(conn, hook_id, web.settings.dashboard_url)
    if queued is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such hook")
    return Document(Queued(notification_id=queued))


@router.post("/hooks/{hook_id}/enabled", response_class=Document,
             dependencies=[Depends(admin)],
             responses={**answer("AlertHook", "the hook now"), **FORBIDDEN, **NOT_FOUND,
                        **UNAVAILABLE})
def enable_hook(hook_id: HookId, engine: EngineDep,
                on: Annotated[bool, Query(description="true: enable; false: disable")] = True
                ) -> Document:
    """Enable a hook again, clearing its failure record, or disable it (ADMIN)."""
    name = _hook_name(engine, hook_id)
    with connection(engine) as conn:
        store.set_hook_enabled(conn, name, on)
        return Document(_hook(next(h for h in store.load_hooks(conn) if h.id == hook_id)))


@router.delete("/hooks/{hook_id}", status_code=204, dependencies=[Depends(admin)],
               responses={**FORBIDDEN, **NOT_FOUND, **UNAVAILABLE})
def remove_hook(hook_id: HookId, engine: EngineDep) -> Response:
    """Remove a hook and its deliveries (ADMIN)."""
    name = _hook_name(engine, hook_id)
    with connection(engine) as conn:
        store.remove_hook(conn, name)
    return Response(status_code=204)
