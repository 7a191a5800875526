"""Alert rules, hooks and recent alerts in PostgreSQL: read and change them.

The CLI and the web app manage rules and hooks through here; the consumer's
detection reads the rules (``load_rules``). Hook secrets are stored sealed
(``insights.alerts.sealing``) and never read back in clear except to sign.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, cast

import psycopg2.errors

from insights.alerts.rules import ANY, KINDS, METRICS, SEVERITIES, STATUSES, Rule
from insights.database import Connection

FORMATS: Final = ("json", "slack", "teams", "alertmanager")
#: PostgreSQL's notification channel: alerts were recorded (the dispatchers wake).
CHANNEL: Final = "insights_alerts"

_RULE_COLUMNS = ("id, name, kind, metric, severity, threshold, hysteresis, window_minutes, "
                 "from_status, to_status, roles, cooldown_s, enabled")


def _rule(row: tuple[Any, ...]) -> Rule:
    (id_, name, kind, metric, severity, threshold, hysteresis, window, from_status,
     to_status, roles, cooldown, enabled) = row
    return Rule(id_, name, kind, metric, severity, threshold, hysteresis, window,
                from_status, to_status, None if roles is None else tuple(roles), cooldown,
                enabled)


def load_rules(conn: Connection) -> list[Rule]:
    """Every rule, enabled or not, by id."""
    with conn.cursor() as cur:
        cur.execute(f"SELECT {_RULE_COLUMNS} FROM alert_rules ORDER BY id")
        return [_rule(row) for row in cur.fetchall()]


class InvalidRule(ValueError):
    """A rule that cannot work as given; the message says why."""


def check_rule(rule: Rule) -> None:
    """Refuse a rule that could never fire or would fire on nonsense."""
    if rule.kind not in KINDS or rule.metric not in METRICS or rule.severity not in SEVERITIES:
        raise InvalidRule(f"kind must be one of {KINDS}, metric one of {METRICS}, "
                          f"severity one of {SEVERITIES}")
    if not rule.name.strip():
        raise InvalidRule("a rule needs a name")
    if (rule.kind == "transition") != (rule.metric == "status"):
        raise InvalidRule("the status metric takes a transition rule, and only it")
    if rule.kind == "transition":
        if rule.to_status not in STATUSES or rule.from_status not in (*STATUSES, ANY):
            raise InvalidRule(f"statuses are {', '.join(STATUSES)} (from may be {ANY})")
        if rule.from_status == rule.to_status:
            raise InvalidRule("a transition goes from one status to another")
    elif rule.threshold <= 0:
        raise InvalidRule("the threshold (or rise) must be at least 1 point")
    if rule.kind == "rise" and rule.window_minutes <= 0:
        raise InvalidRule("a rise rule needs a window of at least one minute")
    if rule.hysteresis < 0 or rule.cooldown_s < 0:
        raise InvalidRule("hysteresis and cooldown cannot be negative")


def save_rule(conn: Connection, rule: Rule) -> int:
    """Insert ``rule`` (id 0) or update the rule with its id; returns the id."""
    check_rule(rule)
    values = (rule.name, rule.kind, rule.metric, rule.severity, rule.threshold,
              rule.hysteresis, rule.window_minutes, rule.from_status, rule.to_status,
              None if rule.roles is None else list(rule.roles), rule.cooldown_s, rule.enabled)
    try:
        found = _upsert_rule(conn, rule.id, values)
    except psycopg2.errors.UniqueViolation:
        conn.rollback()
        raise InvalidRule(f"a rule named {rule.name!r} exists already") from None
    conn.commit()
    if found is None:
        raise InvalidRule(f"no rule {rule.id}")
    return cast(int, found[0])


def _upsert_rule(conn: Connection, rule_id: int, values: tuple[Any, ...]) -> Any:
    with conn.cursor() as cur:
        if rule_id:
            cur.execute("""
UPDATE alert_rules SET name = %s, kind = %s, metric = %s, severity = %s, threshold = %s,
  hysteresis = %s, window_minutes = %s, from_status = %s, to_status = %s, roles = %s,
  cooldown_s = %s, enabled = %s, updated_at = now()
WHERE id = %s RETURNING id""", (*values, rule_id))
        else:
            cur.execute(f"""
INSERT INTO alert_rules ({_RULE_COLUMNS.removeprefix("id, ")})
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""", values)
        return cur.fetchone()


@dataclass(frozen=True)
class Hook:
    """A hook as listed (its secrets stay sealed)."""

    id: int
    name: str
    url: str
    format: str
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None
    created_at: datetime


def load_hooks(conn: Connection) -> list[Hook]:
    with conn.cursor() as cur:
        cur.execute("SELECT id, name, url, format, enabled, disabled_reason, failing_since, "
                    "created_at FROM alert_hooks ORDER BY id")
        return [Hook(*row) for row in cur.fetchall()]


@dataclass(frozen=True)
class RecentAlert:
    id: int
    rule: str
    user_id: int
    kind: str
    value: str
    previous: str | None
    occurred_at: datetime
    delivery: str    # waiting (for its group), no hook, sending (retries), delivered, failed


def recent_alerts(conn: Connection, limit: int = 50) -> list[RecentAlert]:
    """The newest alerts with where their delivery stands."""
    with conn.cursor() as cur:
        cur.execute("""
SELECT a.id, r.name, a.user_id, a.kind, a.value, a.previous, a.occurred_at,
       CASE WHEN a.notification_id IS NULL THEN 'waiting'
            WHEN count(d.id) = 0 THEN 'no hook'
            WHEN bool_or(d.state = 'failed') THEN 'failed'
            WHEN bool_and(d.state = 'delivered') THEN 'delivered' ELSE 'sending' END
FROM alerts a JOIN alert_rules r ON r.id = a.rule_id
LEFT JOIN alert_deliveries d ON d.notification_id = a.notification_id
GROUP BY a.id, r.name ORDER BY a.occurred_at DESC, a.id DESC LIMIT %s""", (limit,))
        return [RecentAlert(*row) for row in cur.fetchall()]


def add_hook(conn: Connection, name: str, url: str, fmt: str, sealed: bytes) -> int:
    """A new enabled hook (its URL checked by the caller); returns its id."""
    if fmt not in FORMATS:
        raise InvalidRule(f"the format is one of {', '.join(FORMATS)}")
    with conn.cursor() as cur:
        cur.execute("INSERT INTO alert_hooks (name, url, format, secret) VALUES (%s, %s, %s, %s)"
                    " ON CONFLICT (name) DO NOTHING RETURNING id", (name, url, fmt, sealed))
        found = cur.fetchone()
    conn.commit()
    if found is None:
        raise InvalidRule(f"a hook named {name!r} exists already")
    return cast(int, found[0])


def rotate_hook(conn: Connection, name: str, sealed: bytes) -> bool:
    """Give hook ``name`` a new secret; the current one keeps signing beside it."""
    with conn.cursor() as cur:
        cur.execute("UPDATE alert_hooks SET previous_secret = secret, secret = %s "
                    "WHERE name = %s", (sealed, name))
        found = cur.rowcount == 1
    conn.commit()
    return found


def set_hook_enabled(conn: Connection, name: str, enabled: bool) -> bool:
    """Enable (clearing the failure record) or disable hook ``name``."""
    with conn.cursor() as cur:
        cur.execute("UPDATE alert_hooks SET enabled = %s, disabled_reason = CASE WHEN %s "
                    "THEN NULL ELSE 'disabled by an operator' END, failing_since = NULL "
                    "WHERE name = %s", (enabled, enabled, name))
        found = cur.rowcount == 1
    conn.commit()
    return found


def remove_hook(conn: Connection, name: str) -> bool:
    with conn.cursor() as cur:
        cur.execute("DELETE FROM alert_hooks WHERE name = %s", (name,))
        found = cur.rowcount == 1
    conn.commit()
    return found


def resend(conn: Connection, notification_id: str) -> int:
    """Send notification ``notification_id`` again to every hook it went to (same id and
    body, a fresh give-up age); returns the deliveries put back."""
    with conn.cursor() as cur:
        cur.execute("UPDATE alert_deliveries SET state = 'pending', next_attempt_at = now(), "
                    "created_at = now(), finished_at = NULL, leased_until = NULL "
                    "WHERE notification_id = %s", (notification_id,))
        count = cur.rowcount
    conn.commit()
    return count


@dataclass(frozen=True)
class Attempt:
    attempt: int
    started_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None


@dataclass(frozen=True)
class Delivery:
    """One hook's delivery of a notification, with its attempts."""

    id: int
    notification_id: str
    hook: str
    state: str
    attempts: list[Attempt]
    next_attempt_at: datetime | None      # while pending
    last_error: str | None


def deliveries_of(conn: Connection, alert_id: int) -> list[Delivery] | None:
    """The deliveries of the notification holding alert ``alert_id`` (None: no such
    alert; empty: not notified yet, or no hook)."""
    with conn.cursor() as cur:
        cur.execute("SELECT notification_id FROM alerts WHERE id = %s", (alert_id,))
        found = cur.fetchone()
        if found is None:
            return None
        cur.execute("""
SELECT d.id, d.notification_id, h.name, d.state,
       CASE WHEN d.state = 'pending' THEN d.next_attempt_at END, d.last_error
FROM alert_deliveries d JOIN alert_hooks h ON h.id = d.hook_id
WHERE d.notification_id = %s ORDER BY d.id""", (found[0],))
        rows = cur.fetchall()
        cur.execute("SELECT delivery_id, attempt, started_at, duration_ms, status_code, error "
                    "FROM alert_attempts WHERE delivery_id = ANY(%s) ORDER BY attempt",
                    ([r[0] for r in rows],))
        attempts: dict[int, list[Attempt]] = {}
        for delivery_id, *attempt in cur.fetchall():
            attempts.setdefault(delivery_id, []).append(Attempt(*attempt))
    conn.commit()
    return [Delivery(id_, note, hook, state, attempts.get(id_, []), due, error)
            for id_, note, hook, state, due, error in rows]



def update_hook(conn: Connection, hook_id: int, name: str, url: str, fmt: str) -> bool:
    """Change hook ``hook_id``'s name, URL (checked by the caller) and format."""
    if fmt not in FORMATS:
        raise InvalidRule(f"the format is one of {', '.join(FORMATS)}")
    try:
        with conn.cursor() as cur:
            cur.execute("UPDATE alert_hooks SET name = %s, url = %s, format = %s WHERE id = %s",
                        (name, url, fmt, hook_id))
            found = cur.rowcount == 1
    except psycopg2.errors.UniqueViolation:
        conn.rollback()
        raise InvalidRule(f"a hook named {name!r} exists already") from None
    conn.commit()
    return found
