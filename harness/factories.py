"""Event factories: contract-valid event dicts with fresh ids and sensible defaults."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

Event = dict[str, Any]
_ids = itertools.count()

DEFAULTS: dict[str, dict[str, Any]] = {
    "user_upsert": {"email": "user@example.com"},
    "session_start": {"device_type": "desktop", "browser": "Firefox"},
    "session_end": {"duration_seconds": 60, "clicks_count": 3},
    "pageview": {"path": "/", "load_time_ms": 300},
    "page_leave": {"time_on_page_seconds": 10, "scroll_depth_percent": 50},
    "js_error": {"message": "TypeError: x is undefined", "source": "app.js", "line": 1},
    "security_alert": {"alert_type": "brute_force", "severity": "high"},
    "search": {"query": "biuro"},
    "conversion": {"event_type": "registration"},
}


def event(type_: str, ts: datetime | None = None, **fields: Any) -> Event:
    """One event of ``type_``; ``fields`` override the defaults."""
    body: Event = {"event_id": f"ev-{next(_ids)}-{random.getrandbits(32):08x}", "type": type_,
                   "ts": (ts or datetime.now(UTC)).isoformat().replace("+00:00", "Z")}
    body.update(DEFAULTS.get(type_, {}))
    body.update(fields)
    return body


def stream(n: int, *, users: int = 200, seed: int = 1, start: datetime | None = None
           ) -> Iterator[Event]:
    """``n`` events of every type in a plausible order (per session and per user)."""
    rng = random.Random(seed)
    t0 = start or datetime.now(UTC) - timedelta(days=2)
    produced = 0
    for user in range(1, users + 1):
        yield event("user_upsert", t0, user_id=user, email=f"u{user}@example.com", name=f"U{user}")
        produced += 1
    for s in itertools.count():
        uid = rng.randint(1, users) if rng.random() < 0.8 else None
        for e in _session(rng, f"S{seed}-{s}", uid, t0 + timedelta(seconds=s)):
            if produced >= n:
                return
            produced += 1
            yield e


def _session(rng: random.Random, sid: str, uid: int | None, ts: datetime) -> Iterator[Event]:
    if uid is not None and rng.random() < 0.2:
        yield event("login_failed", ts, user_id=uid)
    if uid is not None:
        yield event("login_succeeded", ts, user_id=uid)
    yield event("session_start", ts, session_id=sid, user_id=uid)
    for v in range(rng.randint(1, 6)):
        pid = f"{sid}-{v}"
        path = rng.choice(["/", "/forum", "/company/acme", "/search", "/events/1", "/chat"])
        yield event("pageview", ts, pageview_id=pid, session_id=sid, user_id=uid, path=path,
                    load_time_ms=rng.choice([200, 800, 3500]))
        yield event("page_leave", ts, pageview_id=pid, session_id=sid, user_id=uid)
    if rng.random() < 0.1:
        yield event("js_error", ts, session_id=sid, user_id=uid)
    if rng.random() < 0.1:
        yield event("search", ts, session_id=sid, user_id=uid)
    if uid is not None and rng.random() < 0.03:
        yield event("password_reset", ts, user_id=uid)
        yield event("account_locked", ts, user_id=uid,
                    locked_until=(ts + timedelta(hours=1)).isoformat())
        yield event("security_alert", ts, user_id=uid, user_email=f"u{uid}@example.com")
    if rng.random() < 0.05:
        yield event("conversion", ts, session_id=sid, user_id=uid)
    yield event("session_end", ts, session_id=sid, user_id=uid)
