"""``/api/alerts``: recent alerts and their deliveries (OFFICE_MANAGER and ADMIN), and
the rules, changed and backtested by ADMINs only (``insights.alerts``); the hooks are
in ``web.api.hooks``. Documents: ``web.documents.alerts``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from starlette.concurrency import run_in_threadpool

from insights.alerts import store
from insights.alerts.backtest import backtest as replay
from insights.alerts.rules import Rule
from web import alerts
from web.alerts import connection
from web.deps import EngineDep, NowDep, ViewsDep, WebDep, admin_account
from web.documents.alerts import (
    AlertDelivery,
    AlertRule,
    Backtest,
    BacktestDay,
    BacktestResult,
    DeliveryAttempt,
    Resent,
)
from web.documents.schema import UNAVAILABLE, answer, body, decoded
from web.formats import Document, rfc3339, rfc3339_or_none

router = APIRouter(prefix="/alerts", tags=["alerts"])
Responses = dict[int | str, dict[str, Any]]
FORBIDDEN: Responses = {403: {"description": "not an ADMIN, or not from the app's pages"}}
REFUSED: Responses = {422: {"description": "a rule that cannot work, or days out of range"}}
NOT_FOUND: Responses = {404: {"description": "no such notification or alert"}}
BACKTEST_DAYS = 92     # the longest backtest the page may ask for (it reads every user's days)


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


def _value(rule: AlertRule) -> Rule:
    """The rule as ``insights.alerts`` takes it; 422 for one that cannot work."""
    value = Rule(**{**msgspec.structs.asdict(rule),
                    "roles": tuple(rule.roles) if rule.roles else None})
    try:
        store.check_rule(value)
    except store.InvalidRule as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return value


@router.get("/rules", response_class=Document,
            responses={**answer("AlertRule", "every rule", many=True), **UNAVAILABLE})
def rules(engine: EngineDep) -> Document:
    """Every rule."""
    with connection(engine) as conn:
        return Document([_rule(r) for r in store.load_rules(conn)])


@router.post("/rules", response_class=Document, dependencies=[Depends(admin_account)],
             openapi_extra=body("AlertRule"),
             responses={**answer("AlertRule", "the rule as saved"), **FORBIDDEN, **REFUSED,
                        **UNAVAILABLE})
async def save_rule(request: Request, engine: EngineDep) -> Document:
    """Create a rule (id 0) or change one (ADMIN); 422 for a rule that cannot work."""
    rule = await decoded(request, AlertRule)
    value = _value(rule)
    try:
        with connection(engine) as conn:
            rule_id = store.save_rule(conn, value)
    except store.InvalidRule as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return Document(msgspec.structs.replace(rule, id=rule_id))


@router.post("/notifications/{notification_id}/resend", response_class=Document,
             dependencies=[Depends(admin_account)],
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


def _days(asked: Backtest, now: datetime) -> tuple[date, date]:
    """The backtest's first and last day: real days, not after today, at most
    ``BACKTEST_DAYS`` of them (422 otherwise)."""
    try:
        since = date.fromisoformat(asked.since)
        until = date.fromisoformat(asked.until) if asked.until else now.date()
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    if not since <= until <= now.date():
        raise HTTPException(422, detail="the days must run from since to until, not after"
                                        " today")
    if (until - since).days >= BACKTEST_DAYS:
        raise HTTPException(422, detail=f"at most {BACKTEST_DAYS} days at a time (the"
                                        " command line has no limit: insights alerts"
                                        " backtest)")
    return since, until


@router.post("/backtest", response_class=Document, dependencies=[Depends(admin_account)],
             openapi_extra=body("Backtest"),
             responses={**answer("BacktestResult", "what the rule would have done"),
                        **FORBIDDEN, **REFUSED, **UNAVAILABLE})
async def backtest(request: Request, engine: EngineDep, now: NowDep) -> Document:
    """Replay a rule (saved or not) over the stored history, once a day as of each day's
    end, and say how many alerts it would have fired, for how many users (ADMIN)."""
    asked = await decoded(request, Backtest)
    rule = _value(asked.rule)
    since, until = _days(asked, now)
    with connection(engine) as conn:
        days = await run_in_threadpool(replay, conn, rule, since, until, now)
    users: set[int] = set().union(*(d.users for d in days))
    return Document(BacktestResult(
        days=[BacktestDay(day=d.day.isoformat(), alerts=d.firings, users=len(d.users),
                          resolved=d.resolutions) for d in days],
        alerts=sum(d.firings for d in days), users=len(users)))
