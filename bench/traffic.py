"""Compact seeded traffic for the read benchmark: many users, a month of sessions, exactly N events.

The simulator in ``insights.simulator.traffic`` is realistic but sends hundreds of events
per user and month, far more than 5,000,000 events allow at 100,000 users. This
generator spends a fixed budget instead: a ``user_upsert`` for every user, then
sessions over the last ``days`` days by a share of them (heavy-tailed activity,
busier in the daytime) and by anonymous visitors, then a tail of security
trouble (failed logins left standing, locks, alerts, password resets). Pure:
everything comes from the seed and ``now``; every timestamp is at or before ``now``.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

Event = dict[str, Any]

ROLES = (("MEMBER", 80), ("OFFICE_MANAGER", 8), ("ADMIN", 3), ("UNAFFILIATED", 8), (None, 1))
DEVICES = (("desktop", 55), ("mobile", 35), ("tablet", 7), (None, 3))
BROWSERS = {"desktop": ("Chrome", "Firefox", "Edge", "Safari"), "mobile": (
    "Chrome Mobile", "Safari Mobile", "Samsung Internet"), "tablet": ("Safari", "Chrome"),
    None: ("Other",)}
FIRST = ("Anna", "Katarzyna", "Magdalena", "Ewa", "Zofia", "Piotr", "Tomasz", "Paweł",
         "Michał", "Łukasz", "Jakub", "Grzegorz")
LAST = ("Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kamiński", "Lewandowski", "Zieliński",
        "Szymański", "Woźniak", "Dąbrowski", "Mazur", "Król")
ERRORS = ("TypeError: Cannot read properties of undefined (reading 'id')",
          "ReferenceError: $ is not defined", "TypeError: Failed to fetch", "Script error.")
QUERIES = ("biuro rachunkowe", "logistics", "catering firmowy", "doradztwo podatkowe",
           "IT outsourcing", "coworking", "radca prawny", "targi branżowe", "leasing")
CONVERSIONS = ("registration", "contact_click", "event_signup", "newsletter_signup")
# Hour-of-day weights (UTC): quiet nights, busy office hours.
HOURS = (1, 1, 1, 1, 1, 2, 4, 7, 10, 10, 10, 9, 8, 9, 10, 10, 9, 7, 6, 5, 4, 3, 2, 1)


def rfc3339(t: float) -> str:
    """Epoch seconds as the contract's UTC timestamp, to the millisecond."""
    stamp = datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def catalogue() -> tuple[list[str], list[float]]:
    """About 220 paths over the reference's sections and a few outside them, with
    Zipf-like cumulative weights (fixed, so every run walks the same site)."""
    paths = ["/", "/forum", "/chat", "/search", "/szukaj", "/events", "/wydarzenia",
             "/classifieds", "/ogloszenia", "/membership", "/czlonkostwo", "/admin",
             "/membership/renew", "/czlonkostwo/korzysci", "/admin/users",
             "/admin/user-insights", "/profile", "/settings", "/about", "/kontakt", "/login"]
    paths += [f"/company/firma-{n}" for n in range(70)]
    paths += [f"/forum/topic/{n}" for n in range(50)]
    paths += [f"/chat/{room}" for room in ("ogolny", "biznes", "it", "eksport", "hr")]
    paths += [f"/events/{n}" for n in range(25)] + [f"/wydarzenia/{n}" for n in range(10)]
    paths += [f"/classifieds/{n}" for n in range(30)] + [f"/ogloszenia/{n}" for n in range(10)]
    order = random.Random(7).sample(paths[1:], len(paths) - 1)
    ranked = ["/", *order]
    weights = itertools.accumulate(1 / (rank + 1) ** 0.9 for rank in range(len(ranked)))
    return ranked, list(weights)


@dataclass(frozen=True)
class Shape:
    """How much traffic: users, the exact event count, and who is active."""

    users: int = 100_000
    events: int = 5_000_000
    days: int = 30
    active_share: float = 0.4       # users with sessions in the window
    anonymous_share: float = 0.25   # of sessions
    troubled_share: float = 0.1     # of active users: many JS errors and slow pages
    seed: int = 42


class Session(NamedTuple):
    """One planned session; its event count is fixed at planning time."""

    start: float                # epoch seconds
    user: int | None
    pages: int
    fails: int                  # login_failed before the login
    login: bool                 # a login_succeeded at the start
    ended: bool                 # has a session_end (and a leave for its last page)
    errors: int
    search: bool
    conversion: bool
    alert: bool                 # a brute_force alert after repeated failures

    def size(self) -> int:
        """How many events the session sends."""
        leaves = self.pages if self.ended else max(0, self.pages - 1)
        return (self.fails + self.login + 1 + self.pages + leaves + self.ended + self.errors
                + self.search + self.conversion + self.alert)


class Traffic:
    """The events of one benchmark run, in send order (see the module docstring)."""

    def __init__(self, shape: Shape, now: datetime) -> None:
        self.shape, self.now = shape, now
        self._rng = random.Random(shape.seed)
        self._ids = itertools.count()
        self._t_now = now.timestamp()
        self._t_start = (now - timedelta(days=shape.days)).timestamp()
        self._paths, self._weights = catalogue()
        n = shape.users
        self.active = sorted(self._rng.sample(range(1, n + 1), int(n * shape.active_share)))
        self.troubled = set(self._rng.sample(self.active,
                                             int(len(self.active) * shape.troubled_share)))
        self._tail = list(self._trouble_tail())
        budget = shape.events - n - len(self._tail)
        if budget < 0:
            raise ValueError(f"{shape.events} events cannot cover {n} users' upserts")
        self.sessions = self._plan(budget)

    def events(self) -> Iterator[Event]:
        """Every event: upserts, sessions in start order, then the trouble tail."""
        for uid in range(1, self.shape.users + 1):
            yield self._upsert(uid)
        for index, session in enumerate(self.sessions):
            yield from self._session(index, session)
        yield from self._tail

    # -- planning -------------------------------------------------------------------
    def _plan(self, budget: int) -> list[Session]:
        rng, shape = self._rng, self.shape
        cum = list(itertools.accumulate(min(40.0, rng.paretovariate(1.3)) for _ in self.active))
        plans: list[Session] = []
        while budget > 0:
            anonymous = rng.random() < shape.anonymous_share
            user = None if anonymous else rng.choices(self.active, cum_weights=cum)[0]
            session = self._draw(user)
            if session.size() > budget:    # the last few events: bounces without a view
                session = Session(self._start(), None, 0, 0, False, False, 0, False, False,
                                  False)
            plans.append(session)
            budget -= session.size()
        plans.sort(key=lambda p: p.start)
        return plans

    def _draw(self, user: int | None) -> Session:
        rng = self._rng
        logged = user is not None
        fails = rng.randint(1, 3) if logged and rng.random() < 0.05 else 0
        error_p = 0.3 if user in self.troubled else 0.02
        errors = (rng.random() < error_p) + (rng.random() < error_p / 3)
        return Session(self._start(), user, rng.choice((1, 1, 2, 2, 3, 3, 4, 5, 6, 8, 10)),
                       fails, logged and rng.random() < 0.85, rng.random() < 0.95, errors,
                       rng.random() < (0.15 if logged else 0.08),
                       rng.random() < (0.05 if logged else 0.015),
                       fails >= 2 and rng.random() < 0.4)

    def _start(self) -> float:
        """A start time in the window, by rejection on the hour-of-day weights."""
        rng, top = self._rng, max(HOURS)
        while True:
            t = rng.uniform(self._t_start, self._t_now)
            if rng.random() * top < HOURS[int(t // 3600) % 24]:
                return t

    # -- events ---------------------------------------------------------------------
    def _event(self, type_: str, t: float, **fields: Any) -> Event:
        return {"event_id": f"b{self.shape.seed}-{next(self._ids)}", "type": type_,
                "ts": rfc3339(t), **fields}

    def email(self, uid: int) -> str:
        return f"user{uid}@firma{uid % 997}.pl"

    def _upsert(self, uid: int) -> Event:
        rng = self._rng
        role = rng.choices([r for r, _ in ROLES], [w for _, w in ROLES])[0]
        if rng.random() < 0.03:         # joined this calendar month
            first = self.now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
            created: str | None = rfc3339(rng.uniform(first.timestamp(), self._t_now))
        else:
            created = (None if rng.random() < 0.01
                       else rfc3339(self._t_now - rng.uniform(30, 1100) * 86400))
        return self._event("user_upsert", self._t_start - 86400, user_id=uid,
                           email=self.email(uid), name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                           role=role, is_active=rng.random() < 0.97, created_at=created,
                           company=None if role == "UNAFFILIATED" else f"Firma {uid % 997}")

    def _session(self, index: int, s: Session) -> Iterator[Event]:
        rng, sid = self._rng, f"bs{self.shape.seed}-{index}"
        offsets, t = [], rng.uniform(0.5, 3.0)
        for _ in range(s.pages + 1):        # the last offset is the session's end
            offsets.append(t)
            t += min(600.0, rng.expovariate(1 / 45) + 1)
        start = min(s.start, self._t_now - offsets[-1])   # never after now
        uid = s.user
        for i in range(s.fails):
            yield self._event("login_failed", start - 30 + i, user_id=uid)
        if s.alert:
            yield self._event("security_alert", start - 1, user_id=uid, user_email=self.email(
                uid or 0), alert_type="brute_force", severity=rng.choice(("medium", "high")))
        if s.login:
            yield self._event("login_succeeded", start, user_id=uid)
        device = rng.choices([d for d, _ in DEVICES], [w for _, w in DEVICES])[0]
        yield self._event("session_start", start, session_id=sid, user_id=uid,
                          device_type=device, browser=rng.choice(BROWSERS[device]))
        yield from self._views(sid, s, start, offsets)
        yield from self._extras(sid, s, start + offsets[-2] if s.pages else start)
        if s.ended:
            yield self._event("session_end", start + offsets[-1], session_id=sid, user_id=uid,
                              duration_seconds=int(offsets[-1]),
                              clicks_count=rng.randint(0, 4 * s.pages))

    def _views(self, sid: str, s: Session, start: float, offsets: list[float]
               ) -> Iterator[Event]:
        rng = self._rng
        slow_p = 0.2 if s.user in self.troubled else 0.03
        for i in range(s.pages):
            pid = f"{sid}-{i}"
            if i == 0 and rng.random() < 0.4:
                path = "/"
            elif rng.random() < 1 / 20_000:     # a long tail of rarely seen pages
                path = f"/forum/topic/{rng.randint(1000, 99_999)}"
            else:
                path = rng.choices(self._paths, cum_weights=self._weights)[0]
            load = (rng.randint(3001, 9000) if rng.random() < slow_p
                    else int(rng.lognormvariate(6.2, 0.5)))
            yield self._event("pageview", start + offsets[i], pageview_id=pid, session_id=sid,
                              user_id=s.user, path=path,
                              load_time_ms=None if rng.random() < 0.03 else load)
            if i < s.pages - 1 or s.ended:
                yield self._event("page_leave", start + offsets[i + 1], pageview_id=pid,
                                  session_id=sid, user_id=s.user,
                                  time_on_page_seconds=int(offsets[i + 1] - offsets[i]),
                                  scroll_depth_percent=rng.randint(0, 100))

    def _extras(self, sid: str, s: Session, t: float) -> Iterator[Event]:
        rng = self._rng
        for _ in range(s.errors):
            yield self._event("js_error", t, session_id=sid, user_id=s.user,
                              message=rng.choice(ERRORS), source="/static/js/app.js",
                              line=rng.randint(1, 4000))
        if s.search:
            yield self._event("search", t, session_id=sid, user_id=s.user,
                              query=rng.choice(QUERIES))
        if s.conversion:
            yield self._event("conversion", t, session_id=sid, user_id=s.user,
                              event_type=rng.choice(CONVERSIONS))

    def _trouble_tail(self) -> Iterator[Event]:
        """Failures after the users' last logins, locks (current and expired), resets,
        and alerts for e-mails of nobody; sent last so no later login resets them."""
        rng, now = self._rng, self._t_now
        for uid in rng.sample(self.active, len(self.active) // 100):
            fails = rng.randint(1, 6)
            for i in range(fails):
                yield self._event("login_failed", now - 600 + i, user_id=uid)
            if fails >= 3:
                yield self._event("security_alert", now - 590, user_id=uid,
                                  user_email=self.email(uid), alert_type="account_locked",
                                  severity="high")
                until = now + rng.uniform(-7200, 7200)   # half of the locks have expired
                yield self._event("account_locked", now - 590, user_id=uid,
                                  locked_until=rfc3339(until))
        for uid in rng.sample(self.active, len(self.active) // 50):
            yield self._event("password_reset", rng.uniform(self._t_start, now), user_id=uid)
        for k in range(max(1, self.shape.users // 2000)):
            yield self._event("security_alert", rng.uniform(self._t_start, now),
                              user_email=f"intruder{k}@example.net",
                              alert_type=rng.choice(("brute_force", "suspicious_login")),
                              severity="critical")
