"""The oracle: what PostgreSQL must hold after a stream, recomputed from the produced events.

Like Kafka's own EOS verifier, it folds the input independently of the code under
test and the test compares the two; any lost write, duplicate or replayed
state change shows up as a difference.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

TABLE_OF_TYPE = {
    "session_start": "user_sessions", "pageview": "page_views", "js_error": "js_errors",
    "security_alert": "security_alerts", "password_reset": "email_logs",
    "search": "search_queries", "conversion": "conversion_events",
}  # fmt: skip
EPOCH = date(1970, 1, 1)


def expected_counts(events: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Rows per event table, plus ``state_events`` for the events that change rows.

    Page leaves are left out: each is on its view's row or waiting in state_events
    (``assert_exactly`` checks them by id).
    """
    counts: Counter[str] = Counter()
    for e in events:
        if e["type"] != "page_leave":
            counts[TABLE_OF_TYPE.get(e["type"], "state_events")] += 1
    return dict(counts)


def expected_failed_logins(events: Iterable[dict[str, Any]]) -> dict[int, int]:
    """``failed_login_attempts`` per user: +1 per failure, 0 after a success, in order."""
    failed: dict[int, int] = {}
    for e in events:
        if e["type"] == "login_failed":
            failed[e["user_id"]] = failed.get(e["user_id"], 0) + 1
        elif e["type"] == "login_succeeded":
            failed[e["user_id"]] = 0
    return failed


def expected_unended(events: Iterable[dict[str, Any]]) -> int:
    """Sessions started in ``events`` that no ``session_end`` of ``events`` closes."""
    started, ended = set(), set()
    for e in events:
        if e["type"] == "session_start":
            started.add(e["session_id"])
        elif e["type"] == "session_end":
            ended.add(e["session_id"])
    return len(started - ended)


# user_day_counts' columns, and the event type each counts (page views count twice: all
# of them, and the slow ones).
DAY_COUNTS = ("pv", "sp", "cv", "sq", "pr")
_DAY_COUNTED = {"conversion": "cv", "search": "sq", "password_reset": "pr"}


def expected_day_counts(events: Iterable[dict[str, Any]]) -> dict[tuple[int, int], list[int]]:
    """``user_day_counts``: per (user, UTC day number), page views, slow ones (> 3000 ms),
    conversions, searches and password resets of the events that have a user."""
    found: dict[tuple[int, int], Counter[str]] = {}
    for e in events:
        column = "pv" if e["type"] == "pageview" else _DAY_COUNTED.get(e["type"])
        if column is None or e.get("user_id") is None:
            continue
        day = (datetime.fromisoformat(e["ts"]).astimezone(UTC).date() - EPOCH).days
        counts = found.setdefault((e["user_id"], day), Counter())
        counts[column] += 1
        if column == "pv" and (e.get("load_time_ms") or 0) > 3000:
            counts["sp"] += 1
    return {key: [counts[c] for c in DAY_COUNTS] for key, counts in found.items()}


def actual_state(url: str) -> dict[str, Any]:
    """The same figures read from PostgreSQL."""
    from harness.services import query

    counts = {table: int(query(url, f"SELECT count(*) FROM {table}")[0][0])  # type: ignore[call-overload]
              for table in TABLE_OF_TYPE.values()}
    counts["state_events"] = int(query(  # type: ignore[call-overload]
        url, "SELECT count(*) FROM state_events WHERE type <> 'page_leave'")[0][0])
    on_views = [str(r[0]) for r in query(
        url, "SELECT leave_event_id FROM page_views WHERE leave_event_id IS NOT NULL")]
    waiting = [str(r[0]) for r in query(
        url, "SELECT event_id FROM state_events WHERE type = 'page_leave'")]
    return {
        "counts": {t: n for t, n in counts.items() if n},
        "day_counts": {(int(r[0]), int(r[1])): [int(v) for v in r[2:]] for r in query(
            url, f"SELECT user_id, day, {', '.join(DAY_COUNTS)} FROM user_day_counts")},
        "failed": {int(u): int(n) for u, n in query(  # type: ignore[call-overload]
            url, "SELECT id, failed_login_attempts FROM users WHERE id IN"
                 " (SELECT DISTINCT user_id FROM state_events WHERE type LIKE 'login_%')")},
        "ledger": {str(r[0]) for r in query(url, "SELECT event_id FROM event_ledger")},
        "leaves": sorted(on_views + waiting),
        "rejected": int(query(url, "SELECT count(*) FROM rejected_events")[0][0]),  # type: ignore[call-overload]
        "unended": int(query(url, "SELECT count(*) FROM user_sessions"  # type: ignore[call-overload]
                                  " WHERE duration_seconds IS NULL")[0][0]),
    }


def assert_exactly(url: str, events: list[dict[str, Any]]) -> None:
    """PostgreSQL holds exactly the effects of ``events``: none lost, none twice."""
    state = actual_state(url)
    assert state["rejected"] == 0
    assert state["ledger"] == {e["event_id"] for e in events}
    assert state["counts"] == expected_counts(events)
    assert state["day_counts"] == expected_day_counts(events)
    assert state["leaves"] == sorted(e["event_id"] for e in events if e["type"] == "page_leave")
    assert state["failed"] == expected_failed_logins(events)
    assert state["unended"] == expected_unended(events), _unended(url)


def _unended(url: str) -> list[tuple[object, ...]]:
    """Diagnostics: sessions left without their end, beside their stored end events."""
    from harness.services import query

    return query(url, "SELECT u.session_id, u.event_id, l.\"partition\", l.\"offset\","
                      " s.event_id, le.\"offset\" FROM user_sessions u"
                      " JOIN event_ledger l ON l.event_id = u.event_id"
                      " LEFT JOIN state_events s ON s.session_id = u.session_id"
                      " AND s.type = 'session_end'"
                      " LEFT JOIN event_ledger le ON le.event_id = s.event_id"
                      " WHERE u.duration_seconds IS NULL LIMIT 10")
