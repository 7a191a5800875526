"""What a notification says, in each hook format: generic JSON, Slack, Teams, Alertmanager.

A notification is one rule's group of alerts of one kind (firing or resolved):
every user is counted, the first ``listed`` are named with their score, its
components and a link to their profile on the dashboard.

- ``json``: ``{"type": "alert.firing", "rule": {...}, "count": n, "alerts": [...]}``;
- ``slack`` and ``teams``: ``{"text": ...}``, what both incoming webhooks accept;
- ``alertmanager``: the list ``POST /api/v2/alerts`` takes, one alert per user, with
  ``endsAt`` on a resolution, so Alertmanager's routing and silences apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

import msgspec

from insights.alerts.rules import Rule

Format = Literal["json", "slack", "teams", "alertmanager"]
METRIC_LABELS = {"problem_day": "problem score (today)", "problem_week": "problem score (7 days)",
                 "problem_month": "problem score (30 days)", "engagement": "engagement score",
                 "locked": "account locked", "status": "status"}


@dataclass(frozen=True)
class Item:
    """One user's alert in a notification."""

    user_id: int
    value: str
    previous: str | None
    occurred_at: datetime
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Notice:
    """A notification: ``count`` alerts of ``rule``, the first ones in ``items``."""

    id: str
    rule: Rule
    kind: Literal["firing", "resolved", "test"]
    at: datetime
    count: int
    items: Sequence[Item]


def profile_link(dashboard_url: str, user_id: int) -> str:
    return f"{dashboard_url.rstrip('/')}/#/users/{quote(str(user_id))}"


def body(notice: Notice, fmt: str, dashboard_url: str) -> bytes:
    """The request body of ``notice`` in the hook's format."""
    builders = {"json": _json_body, "slack": _text_body, "teams": _text_body,
                "alertmanager": _alertmanager_body}
    return msgspec.json.encode(builders[fmt](notice, dashboard_url))


def _item(item: Item, dashboard_url: str) -> dict[str, Any]:
    return {"user": {"id": item.user_id, **item.detail.get("user", {})},
            "value": item.value, "previous": item.previous,
            "components": item.detail.get("components", []),
            "occurred_at": item.occurred_at.isoformat(),
            "link": profile_link(dashboard_url, item.user_id)}


def _json_body(notice: Notice, dashboard_url: str) -> dict[str, Any]:
    r = notice.rule
    return {"type": f"alert.{notice.kind}", "id": notice.id, "timestamp": notice.at.isoformat(),
            "rule": {"id": r.id, "name": r.name, "severity": r.severity, "kind": r.kind,
                     "metric": r.metric, "threshold": r.threshold},
            "count": notice.count,
            "alerts": [_item(i, dashboard_url) for i in notice.items]}


def _who(item: Item) -> str:
    user = item.detail.get("user", {})
    return str(user.get("email") or user.get("name") or f"user {item.user_id}")


def _text_body(notice: Notice, dashboard_url: str) -> dict[str, Any]:
    r = notice.rule
    what = {"firing": "fired", "resolved": "resolved", "test": "test"}[notice.kind]
    head = (f"[{r.severity}] {r.name} {what} for {notice.count} "
            f"user{'s' if notice.count != 1 else ''}")
    lines = [f"• {_who(i)}: {METRIC_LABELS.get(r.metric, r.metric)} {i.value}"
             + (f" (was {i.previous})" if i.previous is not None else "")
             + f" {profile_link(dashboard_url, i.user_id)}" for i in notice.items]
    more = notice.count - len(notice.items)
    if more > 0:
        lines.append(f"… and {more} more")
    return {"text": "\n".join([head, *lines])}


def _alertmanager_body(notice: Notice, dashboard_url: str) -> list[dict[str, Any]]:
    r = notice.rule
    alerts = []
    for i in notice.items:
        alert: dict[str, Any] = {
            "labels": {"alertname": r.name, "severity": r.severity, "service": "insights",
                       "metric": r.metric, "user_id": str(i.user_id)},
            "annotations": {"summary": f"{r.name}: {_who(i)}",
                            "description": f"{METRIC_LABELS.get(r.metric, r.metric)} "
                                           f"{i.value}", "value": i.value},
            "startsAt": i.occurred_at.isoformat(),
            "generatorURL": profile_link(dashboard_url, i.user_id)}
        if notice.kind == "resolved":
            alert["endsAt"] = i.occurred_at.isoformat()
        alerts.append(alert)
    return alerts
