"""``/api/alerts/hooks``: where alerts are delivered, managed by ADMINs only
(``insights.alerts``). A hook's signing secret is in the answer of its creation
(and of a rotation) and nowhere else. Documents: ``web.documents.alerts``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from sqlalchemy.engine import Engine

from insights.alerts import outbox, sealing, signing, store
from insights.alerts.destination import Allowed, RefusedUrl, check
from web.alerts import connection
from web.deps import EngineDep, WebDep, admin_account
from web.documents.alerts import AlertHook, CreatedHook, NewHook, Queued
from web.documents.schema import UNAVAILABLE, answer, body, decoded
from web.formats import Document, rfc3339_or_none
from web.state import WebState

router = APIRouter(prefix="/alerts/hooks", tags=["alerts"], dependencies=[Depends(admin_account)])
Responses = dict[int | str, dict[str, Any]]
GUARDED: Responses = {403: {"description": "not an ADMIN, or not from the app's pages"},
                      **UNAVAILABLE}
REFUSED: Responses = {422: {"description": "a URL that may not be called, a name in use or"
                                           " an unknown format"}}
NOT_FOUND: Responses = {404: {"description": "no such hook"}}
HookId = Annotated[int, Path(ge=1, le=2**63 - 1, description="a hook's id")]


def _hook(h: store.Hook) -> AlertHook:
    return AlertHook(id=h.id, name=h.name, url=h.url, format=h.format, enabled=h.enabled,
                     disabled_reason=h.disabled_reason,
                     failing_since=rfc3339_or_none(h.failing_since))


def _found(engine: Engine, hook_id: int) -> store.Hook:
    """Hook ``hook_id``, 404 when there is none."""
    with connection(engine) as conn:
        found = [h for h in store.load_hooks(conn) if h.id == hook_id]
    if not found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such hook")
    return found[0]


def _sealed_secret(web: WebState) -> tuple[str, bytes]:
    """A new signing secret, and it sealed (503 when there is no key to seal with)."""
    secret = signing.new_secret()
    try:
        return secret, sealing.seal(secret, sealing.key(web.settings))
    except sealing.MissingKey as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from None


def _checked(hook: NewHook, web: WebState) -> None:
    try:
        check(hook.url, Allowed.parse(web.settings.hooks_allow))
    except RefusedUrl as exc:
        raise HTTPException(422, detail=str(exc)) from None


@router.get("", response_class=Document,
            responses={**answer("AlertHook", "every hook", many=True), **GUARDED})
def hooks(engine: EngineDep) -> Document:
    """Every hook and why any is disabled (ADMIN)."""
    with connection(engine) as conn:
        return Document([_hook(h) for h in store.load_hooks(conn)])


@router.post("", response_class=Document, status_code=201, openapi_extra=body("NewHook"),
             responses={**answer("CreatedHook", "the hook and its secret", status=201),
                        **GUARDED, **REFUSED})
async def add_hook(request: Request, engine: EngineDep, web: WebDep) -> Document:
    """Add a hook (ADMIN): 422 for a URL that may not be called; the answer holds the
    signing secret, which is not shown again."""
    hook = await decoded(request, NewHook)
    _checked(hook, web)
    secret, sealed = _sealed_secret(web)
    try:
        with connection(engine) as conn:
            hook_id = store.add_hook(conn, hook.name, hook.url, hook.format, sealed)
    except store.InvalidRule as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return Document(CreatedHook(hook=_hook(_found(engine, hook_id)), secret=secret),
                    status_code=201)


@router.put("/{hook_id}", response_class=Document, openapi_extra=body("NewHook"),
            responses={**answer("AlertHook", "the hook now"), **GUARDED, **REFUSED,
                       **NOT_FOUND})
async def edit_hook(hook_id: HookId, request: Request, engine: EngineDep, web: WebDep
                    ) -> Document:
    """Change a hook's name, URL or format (ADMIN); its secret stays."""
    hook = await decoded(request, NewHook)
    _checked(hook, web)
    _found(engine, hook_id)
    try:
        with connection(engine) as conn:
            store.update_hook(conn, hook_id, hook.name, hook.url, hook.format)
    except store.InvalidRule as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return Document(_hook(_found(engine, hook_id)))


@router.post("/{hook_id}/rotate", response_class=Document,
             responses={**answer("CreatedHook", "the hook and its new secret"), **GUARDED,
                        **NOT_FOUND})
def rotate_hook(hook_id: HookId, engine: EngineDep, web: WebDep) -> Document:
    """Give a hook a new signing secret (ADMIN); the old one keeps signing beside it
    until the next rotation, so the receiver can switch without losing a delivery."""
    hook = _found(engine, hook_id)
    secret, sealed = _sealed_secret(web)
    with connection(engine) as conn:
        store.rotate_hook(conn, hook.name, sealed)
    return Document(CreatedHook(hook=_hook(hook), secret=secret))


@router.post("/{hook_id}/test", response_class=Document,
             responses={**answer("Queued", "the test notification queued"), **GUARDED,
                        **NOT_FOUND})
def test_hook(hook_id: HookId, engine: EngineDep, web: WebDep) -> Document:
    """Queue a test notification to one hook (ADMIN); the dispatcher sends it."""
    with connection(engine) as conn:
        queued = outbox.queue_test(conn, hook_id, web.settings.dashboard_url)
    if queued is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such hook")
    return Document(Queued(notification_id=queued))


@router.post("/{hook_id}/enabled", response_class=Document,
             responses={**answer("AlertHook", "the hook now"), **GUARDED, **NOT_FOUND})
def enable_hook(hook_id: HookId, engine: EngineDep,
                on: Annotated[bool, Query(description="true: enable; false: disable")] = True
                ) -> Document:
    """Enable a hook again, clearing its failure record, or disable it (ADMIN)."""
    hook = _found(engine, hook_id)
    with connection(engine) as conn:
        store.set_hook_enabled(conn, hook.name, on)
    return Document(_hook(_found(engine, hook_id)))


@router.delete("/{hook_id}", status_code=204, responses={**GUARDED, **NOT_FOUND})
def remove_hook(hook_id: HookId, engine: EngineDep) -> Response:
    """Remove a hook and its deliveries (ADMIN)."""
    hook = _found(engine, hook_id)
    with connection(engine) as conn:
        store.remove_hook(conn, hook.name)
    return Response(status_code=204)
