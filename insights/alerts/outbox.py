"""The outbox in PostgreSQL: alerts grouped into notifications, one delivery per hook.

``group`` turns the alerts no notification holds yet into one notification per
rule and kind (firing, resolved): the first one of a rule goes out at once, and
what comes within ``alerts_group_s`` of a rule's last notification waits and
goes out together (a deploy that breaks log-in for a hundred users makes two
notifications, not a hundred). Each enabled hook gets a delivery holding the
body in its format, so every retry sends the same bytes under the same id.

``claim`` leases due deliveries to one dispatcher (``FOR UPDATE SKIP LOCKED``: two
dispatchers never take the same one), ``finish`` records an attempt and decides
what follows: delivered on 2xx; a retry after an exponential, jittered delay on
no answer, 5xx, 408 or 429; failed at once on 3xx (redirects are not followed)
and other 4xx, or once the delivery is older than ``alerts_give_up_s``. A hook
failing every attempt for ``alerts_disable_after_s`` is disabled. PostgreSQL's
clock schedules everything, so dispatchers on several machines agree.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from insights.alerts import payloads
from insights.alerts.destination import Answer
from insights.alerts.rules import Rule
from insights.alerts.store import load_rules
from insights.database import Connection
from insights.settings import Settings

log = logging.getLogger(__name__)
LEASE_S = 60          # longer than any attempt (timeout + connect)

_WAITING = """
SELECT id, rule_id, kind, user_id, value, previous, detail, occurred_at FROM alerts
WHERE notification_id IS NULL ORDER BY id LIMIT 5000 FOR UPDATE SKIP LOCKED"""
_LAST = """
SELECT rule_id, kind, max(created_at) > now() - make_interval(secs => %s)
FROM alert_notifications WHERE rule_id = ANY(%s) GROUP BY rule_id, kind"""


def group(conn: Connection, settings: Settings) -> int:
    """Make notifications and deliveries of the waiting alerts; returns how many
    notifications were made (committed)."""
    with conn.cursor() as cur:
        cur.execute(_WAITING)
        waiting: dict[tuple[int, str], list[tuple[Any, ...]]] = defaultdict(list)
        for row in cur.fetchall():
            waiting[row[1], row[2]].append(row)
        if not waiting:
            conn.rollback()
            return 0
        cur.execute(_LAST, (settings.alerts_group_s, list({r for r, _ in waiting})))
        recent = {(rule, kind) for rule, kind, young in cur.fetchall() if young}
        cur.execute("SELECT now()")
        now = cur.fetchone()[0]  # type: ignore[index]
    rules = {r.id: r for r in load_rules(conn)}
    made = 0
    for (rule_id, kind), rows in waiting.items():
        if (rule_id, kind) in recent or rule_id not in rules:
            continue                      # held for the group interval
        _notify(conn, settings, rules[rule_id], kind, rows, now=now)
        made += 1
    conn.commit()
    return made


def _notify(conn: Connection, settings: Settings, rule: Rule, kind: str,
            rows: list[tuple[Any, ...]], *, now: datetime) -> None:
    items = [payloads.Item(user, value, previous, at, detail)
             for _, _, _, user, value, previous, detail, at in rows]
    notice = payloads.Notice(f"msg_{uuid.uuid4().hex}", rule, kind,  # type: ignore[arg-type]
                             now, len(items), items[:settings.alerts_group_max_users])
    with conn.cursor() as cur:
        cur.execute("INSERT INTO alert_notifications (id, rule_id, kind, created_at) "
                    "VALUES (%s, %s, %s, %s)", (notice.id, rule.id, kind, now))
        cur.execute("UPDATE alerts SET notification_id = %s WHERE id = ANY(%s)",
                    (notice.id, [row[0] for row in rows]))
        add_deliveries(cur, notice, settings.dashboard_url)
    log.info("notification %s: %s %s for %d users", notice.id, rule.name, kind, len(items))


def add_deliveries(cur: Any, notice: payloads.Notice, dashboard_url: str,
                   hooks: list[int] | None = None) -> None:
    """One delivery of ``notice`` per enabled hook (or per hook in ``hooks``)."""
    if hooks is None:
        cur.execute("SELECT id, format FROM alert_hooks WHERE enabled ORDER BY id")
    else:
        cur.execute("SELECT id, format FROM alert_hooks WHERE id = ANY(%s)", (hooks,))
    for hook_id, fmt in cur.fetchall():
        cur.execute("INSERT INTO alert_deliveries (notification_id, hook_id, body) "
                    "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                    (notice.id, hook_id, payloads.body(notice, fmt, dashboard_url)))


@dataclass(frozen=True)
class Claimed:
    """A delivery leased to this dispatcher, with what it takes to send it."""

    id: int
    notification_id: str
    body: bytes
    attempt: int
    hook_id: int
    url: str
    secrets: tuple[bytes, ...]      # sealed: the current secret, then the previous one
    enabled: bool
    now: datetime


_CLAIM = f"""
WITH due AS (
  SELECT id FROM alert_deliveries
  WHERE state = 'pending' AND next_attempt_at <= now()
    AND (leased_until IS NULL OR leased_until < now())
  ORDER BY next_attempt_at LIMIT %s FOR UPDATE SKIP LOCKED)
UPDATE alert_deliveries d
SET leased_until = now() + interval '{LEASE_S} seconds', attempts = d.attempts + 1
FROM due, alert_hooks h
WHERE d.id = due.id AND h.id = d.hook_id
RETURNING d.id, d.notification_id, d.body, d.attempts, h.id, h.url, h.secret,
          h.previous_secret, h.enabled, now()"""


def claim(conn: Connection, limit: int) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries (committed)."""
    with conn.cursor() as cur:
        cur.execute(_CLAIM, (limit,))
        rows = cur.fetchall()
    conn.commit()
    return [Claimed(id_, note, bytes(body), attempt, hook, url,
                    tuple(bytes(s) for s in (secret, previous) if s is not None), enabled, now)
            for id_, note, body, attempt, hook, url, secret, previous, enabled, now in rows]


RETRIED = frozenset({408, 429})


def verdict(answer: Answer) -> str:
    """delivered, retry or failed, from what the receiver answered."""
    if answer.status is None:
        return "retry"
    if 200 <= answer.status < 300:
        return "delivered"
    if answer.status >= 500 or answer.status in RETRIED:
        return "retry"
    return "failed"


def delay_s(attempt: int, settings: Settings) -> float:
    """Seconds before the next attempt: doubling from the base, capped, jittered by up
    to half (so receivers coming back are not hit by every retry at once)."""
    full = min(settings.alerts_retry_max_s, settings.alerts_retry_base_s * 2 ** (attempt - 1))
    return float(full * (0.5 + random.random() / 2))


_ATTEMPT = """
INSERT INTO alert_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error)
VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"""
_FINISH = """
UPDATE alert_deliveries SET
  state = CASE WHEN %(outcome)s = 'retry'
                AND created_at > now() - make_interval(secs => %(give_up)s)
               THEN 'pending' WHEN %(outcome)s = 'delivered' THEN 'delivered' ELSE 'failed' END,
  next_attempt_at = now() + make_interval(secs => %(delay)s), leased_until = NULL,
  last_error = %(error)s
WHERE id = %(id)s RETURNING state"""
_HOOK_OK = "UPDATE alert_hooks SET failing_since = NULL WHERE id = %s"
_HOOK_FAILED = """
UPDATE alert_hooks SET failing_since = coalesce(failing_since, now()),
  enabled = enabled AND coalesce(failing_since, now()) > now() - make_interval(secs => %s),
  disabled_reason = CASE WHEN enabled AND coalesce(failing_since, now())
                              <= now() - make_interval(secs => %s)
                         THEN %s ELSE disabled_reason END
WHERE id = %s RETURNING enabled"""


def finish(conn: Connection, claimed: Claimed, answer: Answer, settings: Settings) -> str:
    """Record the attempt and what follows it; returns the delivery's state (committed)."""
    outcome = verdict(answer)
    error = answer.error or (None if outcome == "delivered" else f"HTTP {answer.status}")
    with conn.cursor() as cur:
        cur.execute(_ATTEMPT, (claimed.id, claimed.attempt, claimed.now,
                               int(answer.seconds * 1000), answer.status, error))
        cur.execute(_FINISH, {"outcome": outcome, "give_up": settings.alerts_give_up_s,
                              "delay": delay_s(claimed.attempt, settings), "error": error,
                              "id": claimed.id})
        found = cur.fetchone()
        state = "failed" if found is None else str(found[0])
        if state != "pending":
            cur.execute("UPDATE alert_deliveries SET finished_at = now() WHERE id = %s",
                        (claimed.id,))
        if outcome == "delivered":
            cur.execute(_HOOK_OK, (claimed.hook_id,))
        else:
            after = settings.alerts_disable_after_s
            reason = f"every delivery failed for {after:g} s; the last: {error}"
            cur.execute(_HOOK_FAILED, (after, after, reason, claimed.hook_id))
            hook = cur.fetchone()
            if hook is not None and not hook[0]:
                log.error("hook %d disabled: %s", claimed.hook_id, reason)
    conn.commit()
    if state == "failed":
        log.warning("delivery %d of %s failed: %s", claimed.id, claimed.notification_id, error)
    return state


def fail_unsendable(conn: Connection, claimed: Claimed, why: str) -> None:
    """A delivery that cannot be attempted at all (its hook disabled): failed with ``why``."""
    with conn.cursor() as cur:
        cur.execute("UPDATE alert_deliveries SET state = 'failed', leased_until = NULL, "
                    "finished_at = now(), last_error = %s WHERE id = %s", (why, claimed.id))
    conn.commit()


def queue_test(conn: Connection, hook_id: int, dashboard_url: str) -> str | None:
    """A test notification to hook ``hook_id`` (None: no such hook); its id."""
    rules = load_rules(conn)
    with conn.cursor() as cur:
        cur.execute("SELECT now(), EXISTS (SELECT 1 FROM alert_hooks WHERE id = %s)",
                    (hook_id,))
        now, exists = cur.fetchone()  # type: ignore[misc]
        if not exists or not rules:
            conn.rollback()
            return None
        notice = payloads.Notice(f"msg_{uuid.uuid4().hex}", replace(rules[0], name="test"),
                                 "test", now, 0, [])
        cur.execute("INSERT INTO alert_notifications (id, rule_id, kind) VALUES "
                    "(%s, %s, 'test')", (notice.id, rules[0].id))
        add_deliveries(cur, notice, dashboard_url, [hook_id])
    conn.commit()
    return notice.id
