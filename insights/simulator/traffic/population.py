"""The simulated users of a Polish business-network site: members, office staff, admins.

Each user has a behaviour ``Profile`` (engaged, casual, drifting, troubled, lapsed) that
drives how often they come, how long they stay and how much goes wrong for
them. Pure: everything comes from the ``random.Random`` and the times passed in.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, TypeVar

#: Drifting users came often before this many days ago and rarely since.
RECENT_DAYS: Final = 10

T = TypeVar("T")


@dataclass(frozen=True)
class Profile:
    """How one kind of visitor behaves; rates are per visit or per page."""

    name: str
    share: float  # fraction of the population
    sessions_per_day: float  # natural visit frequency (history)
    recent_factor: float  # frequency multiplier over the last RECENT_DAYS
    pages: float  # mean pages per session
    dwell_s: float  # mean seconds on a page
    js_error_p: float  # per page
    slow_p: float  # per page: load time over 3 s
    login_trouble_p: float  # per visit: at least one wrong password
    convert_factor: float  # multiplier of the conversion chances

    def weight(self, days_ago: float) -> float:
        """Visits per day at a moment ``days_ago`` days before the present."""
        recent = days_ago < RECENT_DAYS
        return self.sessions_per_day * (self.recent_factor if recent else 1.0)

    @property
    def max_weight(self) -> float:
        """The highest ``weight`` at any moment (for drawing users by rejection)."""
        return self.sessions_per_day * max(1.0, self.recent_factor)


PROFILES: Final[dict[str, Profile]] = {
    p.name: p
    for p in (
        Profile("engaged", 0.19, 1.4, 1.0, 8.0, 55.0, 0.005, 0.02, 0.03, 1.5),
        Profile("casual", 0.40, 0.3, 1.0, 4.0, 35.0, 0.005, 0.03, 0.06, 1.0),
        Profile("drifting", 0.14, 0.8, 0.06, 3.0, 25.0, 0.01, 0.04, 0.08, 0.5),
        Profile("troubled", 0.19, 0.6, 1.0, 5.0, 40.0, 0.12, 0.20, 0.35, 0.8),
        # Signed up, came once or twice, and forgot the site (dormant, at most at risk).
        Profile("lapsed", 0.08, 0.02, 1.0, 3.0, 30.0, 0.01, 0.04, 0.25, 0.3),
    )
}
#: Visitors who are not logged in.
ANONYMOUS: Final = Profile("anonymous", 0.0, 0.0, 1.0, 3.0, 30.0, 0.01, 0.05, 0.0, 1.0)

ROLES: Final = (("MEMBER", 80), ("OFFICE_MANAGER", 8), ("ADMIN", 3), ("UNAFFILIATED", 9))
DEVICES: Final = (("desktop", 55), ("mobile", 35), ("tablet", 7), (None, 3))

_FIRST: Final = (
    "Anna", "Katarzyna", "Magdalena", "Agnieszka", "Małgorzata", "Joanna", "Ewa", "Zofia",
    "Aleksandra", "Monika", "Piotr", "Krzysztof", "Tomasz", "Paweł", "Michał", "Marcin",
    "Łukasz", "Jakub", "Grzegorz", "Andrzej", "Wojciech", "Mateusz", "Bartosz", "Jan",
)  # fmt: skip
_LAST: Final = (
    "Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski",
    "Zieliński", "Szymański", "Woźniak", "Dąbrowski", "Kozłowski", "Jankowski", "Mazur",
    "Kwiatkowski", "Krawczyk", "Piotrowski", "Grabowski", "Nowakowski", "Pawłowski",
    "Michalski", "Adamczyk", "Dudek", "Zając", "Wieczorek", "Jabłoński", "Król", "Majewski",
)  # fmt: skip
_TRADE: Final = (
    "Logistyka", "Consulting", "Software", "Budownictwo", "Finanse", "Marketing", "Druk",
    "Energia", "Meble", "Transport", "Doradztwo Podatkowe", "Tłumaczenia", "Catering",
    "Automatyka", "Nieruchomości", "Opakowania", "Kancelaria Prawna", "Biuro Rachunkowe",
)  # fmt: skip
_FORM: Final = ("Sp. z o.o.", "S.A.", "sp.j.", "Sp. k.", "")
_FREEMAIL: Final = ("gmail.com", "wp.pl", "onet.pl", "o2.pl", "interia.pl")
_ASCII: Final = str.maketrans("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ", "acelnoszzACELNOSZZ")


def ascii_slug(text: str, sep: str = "-") -> str:
    """Lower-case ASCII words of ``text`` joined by ``sep`` (Polish letters folded)."""
    words = "".join(c if c.isalnum() else " " for c in text.translate(_ASCII)).split()
    return sep.join(w.lower() for w in words)


@dataclass(frozen=True)
class Company:
    """A member company; its ``slug`` is its profile page ``/company/<slug>``."""

    name: str
    slug: str
    domain: str


@dataclass(frozen=True)
class User:
    """One registered user as the web application's ``users`` table holds it."""

    user_id: int
    email: str
    name: str
    role: str
    company: Company | None
    created_at: datetime
    is_active: bool
    profile: Profile
    device: str | None  # the device they mostly use
    lang: str  # "pl" or "en": which path variants they use

    def upsert_fields(self) -> dict[str, Any]:
        """The ``user_upsert`` fields (besides the envelope) for this user."""
        return {
            "user_id": self.user_id, "email": self.email, "name": self.name, "role": self.role,
            "is_active": self.is_active, "created_at": rfc3339(self.created_at),
            "company": self.company.name if self.company else None,
        }  # fmt: skip


def rfc3339(moment: datetime) -> str:
    """``2026-11-25T10:15:00.123Z`` for an aware UTC datetime."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def weighted(rng: random.Random, options: tuple[tuple[T, int], ...]) -> T:
    """One of ``options`` (value, weight) drawn by weight."""
    return rng.choices([v for v, _ in options], [w for _, w in options])[0]


class Population:
    """``size`` users with ids from ``base_id``, made at ``now``; ``register`` adds more."""

    def __init__(self, size: int, rng: random.Random, now: datetime, *, base_id: int = 1) -> None:
        self.companies = [_company(rng) for _ in range(max(3, size // 6))]
        self.users: list[User] = []
        self._emails: set[str] = set()
        self._cumulative: list[float] = []
        self._next_id = base_id
        month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        for _ in range(size):
            new = rng.random() < 0.12
            created = (_between(rng, month_start, now) if new
                       else _between(rng, now - timedelta(days=1100), month_start))
            self._add(rng, created, profile=_profile(rng), active=rng.random() > 0.04)

    def __len__(self) -> int:
        return len(self.users)

    def __iter__(self) -> Iterator[User]:
        return iter(self.users)

    def register(self, rng: random.Random, at: datetime) -> User:
        """A visitor who just signed up: a new active member created ``at``."""
        profile = PROFILES["engaged" if rng.random() < 0.3 else "casual"]
        return self._add(rng, at, profile=profile, active=True, role="MEMBER")

    @property
    def visits_per_day(self) -> float:
        """The sum of every user's ``max_weight``: the most visits per day they could make."""
        return self._cumulative[-1] if self._cumulative else 0.0

    def pick(self, rng: random.Random) -> User:
        """A user drawn in proportion to their profile's ``max_weight``."""
        point = rng.random() * self._cumulative[-1]
        return self.users[bisect.bisect_right(self._cumulative, point)]

    def _add(self, rng: random.Random, created: datetime, *, profile: Profile, active: bool,
             role: str | None = None) -> User:
        role = role or weighted(rng, ROLES)
        company = None if role == "UNAFFILIATED" else rng.choice(self.companies)
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        if first.endswith("a") and last.endswith("ski"):
            last = last[:-1] + "a"  # Kowalski -> Kowalska
        user = User(self._next_id, self._email(rng, first, last, company), f"{first} {last}",
                    role, company, created, active, profile, weighted(rng, DEVICES),
                    "pl" if rng.random() < 0.6 else "en")
        self._next_id += 1
        self.users.append(user)
        total = self._cumulative[-1] if self._cumulative else 0.0
        self._cumulative.append(total + profile.max_weight)
        return user

    def _email(self, rng: random.Random, first: str, last: str, company: Company | None) -> str:
        domain = company.domain if company else rng.choice(_FREEMAIL)
        local = f"{ascii_slug(first)}.{ascii_slug(last)}"
        if rng.random() < 0.1:
            local = f"{first.translate(_ASCII)}.{last.translate(_ASCII)}"  # mixed case, as typed
        email = f"{local}@{domain}"
        if email in self._emails:
            email = f"{local}{self._next_id}@{domain}"
        self._emails.add(email)
        return email


def _company(rng: random.Random) -> Company:
    name = f"{rng.choice(_LAST)} {rng.choice(_TRADE)} {rng.choice(_FORM)}".strip()
    slug = f"{ascii_slug(name)}-{rng.randrange(10, 1000)}"
    return Company(name, slug, f"{ascii_slug(name.split()[0])}-{ascii_slug(name.split()[1])}.pl")


def _profile(rng: random.Random) -> Profile:
    return weighted(rng, tuple((p, round(p.share * 100)) for p in PROFILES.values()))


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    span = max(0.0, (end - start).total_seconds())
    return start + timedelta(seconds=round(rng.uniform(0, span), 3))
