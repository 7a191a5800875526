"""The alerts' documents (``/api/alerts``): recent alerts, rules, hooks (``insights.alerts``).

``AlertRule`` and ``NewHook`` are also the bodies the ADMIN routes take.
"""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import UNSET, Meta, Struct

from web.documents.common import Fresh, Time, about

Name = Annotated[str, Meta(min_length=1, max_length=200)]
Points = Annotated[int, Meta(ge=0, le=1000)]


class AlertItem(Struct, kw_only=True):
    """One alert: a rule firing or resolving for one user."""

    id: Annotated[int, about("the alert's id")]
    rule: Annotated[str, about("the rule's name")]
    user_id: Annotated[int, about("the tracked user's id")]
    kind: Annotated[Literal["firing", "resolved"], about("fired or resolved")]
    value: Annotated[str, about("the metric's value that fired or resolved it")]
    previous: Annotated[str | None, about("its value before; null for a first reading")]
    occurred_at: Annotated[Time, about("when the consumer recorded it")]
    delivery: Annotated[str, about(
        "waiting (for its group), no hook, sending (retries), delivered or failed")]
    link: Annotated[str, about("the user's profile on the dashboard")]


class AlertsFeed(Struct, kw_only=True):
    """The Alerts view: the newest alerts (``GET /api/alerts/feed``, ``WS /ws/alerts``)."""

    alerts: Annotated[list[AlertItem], about("the newest alerts, newest first (50)")]
    freshness: Fresh = UNSET


class AlertRule(Struct, kw_only=True, forbid_unknown_fields=True):
    """An alert rule (see the README's Alerts section)."""

    id: Annotated[int, about("the rule's id; 0 when creating one")] = 0
    name: Annotated[Name, about("the rule's name, unique")]
    kind: Annotated[Literal["threshold", "rise", "transition"], about(
        "threshold: the value reaches T; rise: D points above the window's lowest;"
        " transition: the status goes from one to another")]
    metric: Annotated[Literal["problem_day", "problem_week", "problem_month", "engagement",
                              "locked", "status"], about("what the rule watches")]
    severity: Annotated[Literal["info", "warning", "critical"], about(
        "how serious, as the hooks are told")] = "warning"
    threshold: Annotated[Points, about("T (threshold) or D (rise), in points")] = 0
    hysteresis: Annotated[Points, about("resolved below T - hysteresis (D for a rise)")] = 0
    window_minutes: Annotated[int, Meta(ge=0, le=10080), about("a rise's window")] = 0
    from_status: Annotated[str, Meta(max_length=20), about(
        "a transition's status before (* = any other)")] = "*"
    to_status: Annotated[str, Meta(max_length=20), about("a transition's status after")] = ""
    roles: Annotated[list[str] | None, about("only users of these roles; null = all")] = None
    cooldown_s: Annotated[int, Meta(ge=0, le=30 * 86400), about(
        "seconds between two firings for one user")] = 3600
    enabled: Annotated[bool, about("evaluated by the consumers")] = True


class AlertHook(Struct, kw_only=True):
    """A hook the alerts are delivered to (its secrets are never shown again)."""

    id: Annotated[int, about("the hook's id")]
    name: Annotated[str, about("the hook's name, unique")]
    url: Annotated[str, about("where deliveries are POSTed")]
    format: Annotated[str, about("json, slack, teams or alertmanager")]
    enabled: Annotated[bool, about("deliveries are sent to it")]
    disabled_reason: Annotated[str | None, about("why it was disabled, null when enabled")]
    failing_since: Annotated[Time | None, about(
        "the first failed attempt since the last delivery; null when not failing")]


class NewHook(Struct, kw_only=True, forbid_unknown_fields=True):
    """A hook to add."""

    name: Annotated[Name, about("the hook's name, unique")]
    url: Annotated[str, Meta(min_length=8, max_length=2000), about(
        "https URL on a public address (or a host allowed by INSIGHTS_HOOKS_ALLOW)")]
    format: Annotated[Literal["json", "slack", "teams", "alertmanager"], about(
        "the body's format")] = "json"


class CreatedHook(Struct, kw_only=True):
    """A hook just added, with its signing secret, shown this once."""

    hook: Annotated[AlertHook, about("the hook")]
    secret: Annotated[str, about("the signing secret (whsec_...): keep it now")]


class DeliveryAttempt(Struct, kw_only=True):
    """One attempt of a delivery."""

    attempt: Annotated[int, about("1 for the first")]
    started_at: Annotated[Time, about("when it was made")]
    duration_ms: Annotated[int, about("how long the receiver took, in milliseconds")]
    status_code: Annotated[int | None, about("the receiver's HTTP status; null: no answer")]
    error: Annotated[str | None, about(
        "why it failed (timeout, connection refused, HTTP 500, refused: ...); null when it"
        " was delivered")]


class AlertDelivery(Struct, kw_only=True):
    """One hook's delivery of the notification holding an alert."""

    id: Annotated[int, about("the delivery's id")]
    notification_id: Annotated[str, about("the webhook-id every attempt carried")]
    hook: Annotated[str, about("the hook's name")]
    state: Annotated[Literal["pending", "delivered", "failed"], about("where it stands")]
    next_attempt_at: Annotated[Time | None, about("the next attempt, while pending")]
    last_error: Annotated[str | None, about("the last attempt's error")]
    attempts: Annotated[list[DeliveryAttempt], about("every attempt, first first")]


class Queued(Struct, kw_only=True):
    """A test notification queued for one hook."""

    notification_id: Annotated[str, about("its webhook-id")]


class Resent(Struct, kw_only=True):
    """A notification queued again."""

    deliveries: Annotated[int, about("deliveries put back to be sent")]


Day = Annotated[str, Meta(pattern=r"^\d{4}-\d{2}-\d{2}$", description="a day, YYYY-MM-DD (UTC)")]


class Backtest(Struct, kw_only=True, forbid_unknown_fields=True):
    """A rule to replay over the stored history (saved or not), and the days to replay."""

    rule: Annotated[AlertRule, about("the rule as it would be saved")]
    since: Annotated[Day, about("the first day")]
    until: Annotated[Day | None, about("the last day; null: today")] = None


class BacktestDay(Struct, kw_only=True):
    """What the rule would have done on one day."""

    day: Annotated[Day, about("the day (UTC)")]
    alerts: Annotated[int, about("alerts it would have fired")]
    users: Annotated[int, about("distinct users they were for")]
    resolved: Annotated[int, about("alerts it would have resolved")]


class BacktestResult(Struct, kw_only=True):
    """A rule replayed once a day, as of each day's end, over the stored history."""

    days: Annotated[list[BacktestDay], about("every day asked, first first")]
    alerts: Annotated[int, about("alerts over all the days")]
    users: Annotated[int, about("distinct users over all the days")]


ALERT_DOCUMENTS = (AlertItem, AlertRule, AlertHook, NewHook, CreatedHook, DeliveryAttempt,
                   AlertDelivery, Queued, Resent, Backtest, BacktestDay, BacktestResult)
