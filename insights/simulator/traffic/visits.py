"""One visit, scripted: log-in attempts (and lock-outs), then a session walking the site.

A ``VisitWriter`` turns (user or anonymous, start time) into contract events
with their times, keeping each user's log-in state (failed attempts, lock) and
when they are next free, so one user's visits never overlap.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from insights.simulator.traffic import site
from insights.simulator.traffic.population import (
    ANONYMOUS,
    DEVICES,
    Population,
    Profile,
    User,
    rfc3339,
    weighted,
)

Event = dict[str, Any]
Timed = tuple[datetime, Event]

#: Consecutive failed log-ins (the user's counter) that lock the account.
LOCK_AFTER: Final = 5
LOCK_FOR: Final = tuple(timedelta(minutes=m) for m in (15, 30, 60, 24 * 60))
#: Chance that a session has no ``session_end`` (tab left open, beacon lost).
ONGOING_P: Final = 0.07
#: A user is not picked again until this long after their last event.
REST: Final = timedelta(minutes=2)
_ANON_ACTIONS: Final = frozenset({"contact_click", "event_signup", "registration",
                                  "newsletter_signup"})


def new_id(rng: random.Random) -> str:
    """A uuid4 as 32 hex digits, from ``rng`` (so a seed repeats it)."""
    return uuid.UUID(int=rng.getrandbits(128), version=4).hex


@dataclass
class UserState:
    """What the site remembers about a user's log-ins, and when they are free again."""

    busy_until: datetime
    failed: int = 0
    locked_until: datetime | None = None


@dataclass
class Script:
    """The events of one visit laid out on the visit's own clock ``t``."""

    rng: random.Random
    t: datetime
    events: list[Timed] = field(default_factory=list)

    def add(self, type_: str, **fields: Any) -> None:
        """An event of ``type_`` at the current time."""
        event = {"event_id": new_id(self.rng), "type": type_, "ts": rfc3339(self.t), **fields}
        self.events.append((self.t, event))

    def wait(self, seconds: float) -> None:
        """Move the visit's clock on (to the millisecond)."""
        self.t += timedelta(milliseconds=int(seconds * 1000))


@dataclass(frozen=True)
class _Session:
    session_id: str
    user_id: int | None
    profile: Profile
    lang: str
    role: str | None


class VisitWriter:
    """Scripts visits of the ``population`` on the reference site."""

    def __init__(self, rng: random.Random, population: Population) -> None:
        self._rng = rng
        self._population = population
        self._site = site.Site(population.companies)
        self._states: dict[int, UserState] = {}

    def upsert(self, user: User) -> Event:
        """The ``user_upsert`` that creates ``user`` (at their ``created_at``)."""
        script = Script(self._rng, user.created_at)
        script.add("user_upsert", **user.upsert_fields())
        return script.events[0][1]

    def idle(self, user: User, t: datetime) -> bool:
        """Whether ``user`` can start a visit at ``t`` (not in one already)."""
        state = self._states.get(user.user_id)
        return state is None or state.busy_until <= t

    def visit(self, user: User | None, t: datetime) -> list[Timed]:
        """The events of one visit starting at ``t``, in time order."""
        script = Script(self._rng, t)
        if user is None:
            self._session(script, None)
            return script.events
        state = self._states.setdefault(user.user_id, UserState(t))
        if self._unlocked(script, user, state) and self._login(script, user, state):
            self._session(script, user)
        state.busy_until = script.t + REST + (timedelta(minutes=30) if self._left_open(script)
                                              else timedelta())
        return script.events

    def attack(self, t: datetime) -> list[Timed]:
        """Alerts about log-in attempts on an address no user has (count on the card only)."""
        script = Script(self._rng, t)
        company = self._rng.choice(self._population.companies)
        mailbox = self._rng.choice(("admin", "biuro", "kontakt", "info", "test"))
        email = f"{mailbox}@{company.domain}"  # users' addresses all have a dot before the @
        for _ in range(self._rng.choice((1, 1, 2, 3))):
            script.add("security_alert", user_email=email, alert_type="brute_force",
                       severity=self._rng.choice(("high", "critical")))
            script.wait(self._rng.uniform(5, 90))
        return script.events

    @staticmethod
    def _left_open(script: Script) -> bool:
        """True when the visit left a session open (no ``session_end``)."""
        types = [e["type"] for _, e in script.events]
        return "session_start" in types and "session_end" not in types

    def _unlocked(self, s: Script, user: User, state: UserState) -> bool:
        """A locked user either asks for a password reset and leaves, or gets unlocked."""
        if state.locked_until is None or state.locked_until <= s.t:
            return True
        if self._rng.random() < 0.5:
            s.add("password_reset", user_id=user.user_id)
            return False
        s.add("account_unlocked", user_id=user.user_id)  # the office unlocked it on request
        state.locked_until = None
        s.wait(self._rng.uniform(30, 600))
        return True

    def _login(self, s: Script, user: User, state: UserState) -> bool:
        """Wrong passwords (maybe a lock-out or giving up), a reset, then success."""
        rng, uid = self._rng, user.user_id
        if rng.random() < user.profile.login_trouble_p:
            for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4, 6))):
                s.add("login_failed", user_id=uid)
                state.failed += 1
                s.wait(rng.uniform(4, 40))
                if state.failed >= LOCK_AFTER:
                    self._lock(s, user, state)
                    return False
            if rng.random() < 0.25:
                return False  # gives up; the counter stays
            if rng.random() < 0.3:
                s.add("password_reset", user_id=uid)
                s.wait(rng.uniform(60, 600))
        s.add("login_succeeded", user_id=uid)
        state.failed = 0
        if user.profile.name == "troubled" and rng.random() < 0.03:
            s.add("security_alert", user_id=uid, user_email=user.email,
                  alert_type="suspicious_login", severity="low")
        s.wait(rng.uniform(1, 5))
        return True

    def _lock(self, s: Script, user: User, state: UserState) -> None:
        """The account locks; an alert names the user's exact e-mail; maybe a reset follows."""
        rng = self._rng
        until = s.t + rng.choice(LOCK_FOR)
        s.add("account_locked", user_id=user.user_id, locked_until=rfc3339(until))
        brute = rng.random() < 0.5
        s.add("security_alert", user_id=user.user_id, user_email=user.email,
              alert_type="brute_force" if brute else "account_locked",
              severity="high" if brute else "medium")
        state.locked_until = until
        if rng.random() < 0.5:
            s.wait(rng.uniform(30, 300))
            s.add("password_reset", user_id=user.user_id)

    def _session(self, s: Script, user: User | None) -> None:
        """``session_start``, a walk over the site, and usually ``session_end``."""
        rng = self._rng
        device = user.device if user and rng.random() < 0.8 else weighted(rng, DEVICES)
        ctx = _Session(new_id(rng), user.user_id if user else None,
                       user.profile if user else ANONYMOUS,
                       user.lang if user else rng.choice(("pl", "en")), user.role if user else None)
        start = s.t
        s.add("session_start", session_id=ctx.session_id, user_id=ctx.user_id,
              device_type=device, browser=site.browser(rng, device))
        pages = min(40, 1 + int(rng.expovariate(1 / max(ctx.profile.pages - 1, 0.5))))
        ongoing = rng.random() < ONGOING_P
        page, clicks = self._site.entry(rng, ctx.lang, ctx.role), 0
        for n in range(pages):
            clicks += self._view(s, ctx, page, leave=not (ongoing and n == pages - 1))
            page = self._site.follow(rng, page, ctx.lang, ctx.role)
        if not ongoing:
            s.wait(rng.uniform(0.5, 3))
            s.add("session_end", session_id=ctx.session_id, user_id=ctx.user_id,
                  duration_seconds=int((s.t - start).total_seconds()), clicks_count=clicks)

    def _view(self, s: Script, ctx: _Session, page: site.Page, *, leave: bool) -> int:
        """One page view (and what happens on it); returns its clicks."""
        rng, ids = self._rng, {"session_id": ctx.session_id, "user_id": ctx.user_id}
        pageview_id, load = new_id(rng), site.load_time_ms(rng, ctx.profile.slow_p)
        s.add("pageview", pageview_id=pageview_id, path=page.path, load_time_ms=load, **ids)
        s.wait((load if load is not None else 500) / 1000)
        shown, dwell = s.t, min(int(rng.expovariate(1 / ctx.profile.dwell_s)), 1800)
        if rng.random() < ctx.profile.js_error_p:
            s.wait(rng.uniform(0, min(dwell, 10)))
            s.add("js_error", message=rng.choice(site.JS_ERRORS),
                  source=rng.choice(site.JS_SOURCES), line=rng.randrange(1, 4000), **ids)
        self._actions(s, ctx, page)
        s.t = max(s.t, shown + timedelta(seconds=dwell))
        seconds = int((s.t - shown).total_seconds())
        if leave:
            depth = min(100, int(100 * rng.betavariate(2, 2) + seconds / 3))
            s.add("page_leave", pageview_id=pageview_id, time_on_page_seconds=seconds,
                  scroll_depth_percent=depth, **ids)
        s.wait(rng.uniform(0.3, 2.5))
        return rng.randint(0, 1 + seconds // 20)

    def _actions(self, s: Script, ctx: _Session, page: site.Page) -> None:
        """Searches on search pages (and the home page's box); conversions where they happen."""
        rng, ids = self._rng, {"session_id": ctx.session_id, "user_id": ctx.user_id}
        if page.section == "search" or (page.section == "home" and rng.random() < 0.08):
            for _ in range(rng.choice((1, 1, 1, 2, 3))):
                s.wait(rng.uniform(2, 15))
                s.add("search", query=self._query(), **ids)
        kind, chance = site.CONVERSIONS.get((page.section, page.detail), ("", 0.0))
        allowed = (kind in _ANON_ACTIONS) if ctx.user_id is None else kind != "registration"
        if allowed and rng.random() < chance * ctx.profile.convert_factor:
            s.wait(rng.uniform(3, 30))
            s.add("conversion", event_type=kind, **ids)
            if kind == "registration":
                user = self._population.register(rng, s.t)
                self._states[user.user_id] = UserState(s.t + REST)
                s.add("user_upsert", **user.upsert_fields())

    def _query(self) -> str:
        if self._rng.random() < 0.2:
            return self._rng.choice(self._population.companies).name.split()[0]
        query = self._rng.choice(site.SEARCH_QUERIES)
        return query.lower() if self._rng.random() < 0.5 else query
