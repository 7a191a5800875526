"""The simulated site: its sections and pages, how visitors walk them, and what they type.

The sections are the reference dashboard's ``section_map`` (``/``, ``/company/``,
``/forum``, ``/chat``, ``/search`` & ``/szukaj``, ``/events`` & ``/wydarzenia``,
``/classifieds`` & ``/ogloszenia``, ``/membership`` & ``/czlonkostwo``,
``/admin``) plus a few pages outside every section. Pure functions of a
``random.Random``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final

from insights.simulator.traffic.population import Company, weighted

#: Section -> (English root, Polish root).
ROOTS: Final[dict[str, tuple[str, str]]] = {
    "home": ("/", "/"), "company": ("/company/", "/company/"), "forum": ("/forum", "/forum"),
    "chat": ("/chat", "/chat"), "search": ("/search", "/szukaj"),
    "events": ("/events", "/wydarzenia"), "classifieds": ("/classifieds", "/ogloszenia"),
    "membership": ("/membership", "/czlonkostwo"), "admin": ("/admin", "/admin"),
    "other": ("/about", "/o-nas"),
}  # fmt: skip
#: Where a walk goes next (and, for anonymous visitors, where it starts).
NEXT: Final = (
    ("home", 12), ("company", 14), ("forum", 16), ("chat", 8), ("search", 10), ("events", 10),
    ("classifieds", 8), ("membership", 5), ("other", 2),
)  # fmt: skip
ENTRY: Final = (
    ("home", 50), ("company", 14), ("forum", 12), ("events", 10), ("classifieds", 7),
    ("membership", 4), ("search", 2), ("other", 1),
)  # fmt: skip
_STAFF: Final = frozenset({"ADMIN", "OFFICE_MANAGER"})
_OTHER: Final = (
    "/profile", "/settings", "/notifications", "/login", "/about", "/o-nas", "/kontakt",
    "/regulamin", "/polityka-prywatnosci", "/help", "/newsletter", "/mapa-strony",
)  # fmt: skip
_CHAT_ROOMS: Final = ("ogolny", "biznes", "it", "eksport", "hr", "networking")
#: Section -> its detail pages: (English path, Polish path, weight); ``{n}`` is an item
#: number drawn log-uniformly below ``_ITEMS`` (a few popular items, a long tail).
_DETAIL: Final[dict[str, tuple[tuple[str, str, int], ...]]] = {
    "forum": (("/forum/topic/{n}", "/forum/topic/{n}", 9), ("/forum/new", "/forum/new", 1)),
    "events": (("/events/{n}", "/wydarzenia/{n}", 1),),
    "classifieds": (("/classifieds/{n}", "/ogloszenia/{n}", 8),
                    ("/classifieds/new", "/ogloszenia/nowe", 1)),
    "membership": (("/membership/renew", "/czlonkostwo/przedluz", 1),
                   ("/membership/benefits", "/czlonkostwo/korzysci", 1)),
    "admin": (("/admin/users", "/admin/users", 3),
              ("/admin/user-insights", "/admin/user-insights", 3),
              ("/admin/companies", "/admin/companies", 1), ("/admin/events", "/admin/events", 1)),
}  # fmt: skip
_ITEMS: Final = {"forum": 400, "events": 80, "classifieds": 300}

SEARCH_QUERIES: Final = (
    "biuro rachunkowe", "księgowość", "transport międzynarodowy", "logistics", "catering firmowy",
    "doradztwo podatkowe", "tax advisory", "szkolenia BHP", "marketing B2B", "IT outsourcing",
    "software house", "fotowoltaika", "leasing samochodów", "wynajem biura", "coworking Warszawa",
    "tłumaczenia przysięgłe", "legal services", "radca prawny", "HR consulting", "rekrutacja",
    "eksport do Niemiec", "networking", "konferencja", "targi branżowe", "dotacje unijne",
    "EU funding", "ubezpieczenia firmowe", "cyberbezpieczeństwo", "drukarnia",
    "agencja reklamowa", "meble biurowe", "nieruchomości komercyjne", "automatyka przemysłowa",
    "e-commerce", "franczyza", "mentoring", "inwestor", "venture capital", "ISO 9001",
    "faktoring", "spedycja", "event Kraków", "śniadanie biznesowe", "członkostwo cena",
)  # fmt: skip
JS_ERRORS: Final = (
    "TypeError: Cannot read properties of undefined (reading 'id')",
    "TypeError: null is not an object (evaluating 'el.classList')",
    "ReferenceError: $ is not defined",
    "Uncaught (in promise) Error: Network Error",
    "ChunkLoadError: Loading chunk 42 failed.",
    "SyntaxError: Unexpected token '<', \"<!DOCTYPE \" is not valid JSON",
    "ResizeObserver loop completed with undelivered notifications.",
    "Script error.",
    "TypeError: Failed to fetch",
    "WebSocket connection to 'wss://chat/ws' failed",
)
JS_SOURCES: Final = ("/static/js/app.3f9c2e1.js", "/static/js/chat.js",
                     "/static/js/forum-editor.js", "/static/js/vendor.min.js", None)
BROWSERS: Final[dict[str | None, tuple[tuple[str | None, int], ...]]] = {
    "desktop": (("Chrome", 62), ("Firefox", 14), ("Edge", 14), ("Safari", 8), ("Opera", 2)),
    "mobile": (("Chrome Mobile", 55), ("Safari Mobile", 35), ("Samsung Internet", 10)),
    "tablet": (("Safari", 60), ("Chrome", 40)),
    None: (("Other", 50), (None, 50)),
}
#: (section, detail page?) -> (conversion event_type, chance per view).
CONVERSIONS: Final[dict[tuple[str, bool], tuple[str, float]]] = {
    ("company", True): ("contact_click", 0.12), ("events", True): ("event_signup", 0.10),
    ("classifieds", True): ("classified_post", 0.08), ("membership", True): ("membership_renewal",
                                                                           0.15),
    ("membership", False): ("registration", 0.06), ("home", False): ("newsletter_signup", 0.01),
}  # fmt: skip


@dataclass(frozen=True)
class Page:
    """One page view's target: its path, its section, and whether it is a detail page."""

    path: str
    section: str
    detail: bool


class Site:
    """Builds paths for a visitor language and role over the member companies."""

    def __init__(self, companies: list[Company]) -> None:
        self._companies = companies

    def entry(self, rng: random.Random, lang: str, role: str | None) -> Page:
        """The landing page of a session."""
        return self.page(rng, weighted(rng, ENTRY), lang, role)

    def follow(self, rng: random.Random, here: Page, lang: str, role: str | None) -> Page:
        """The next page after ``here``: often deeper in the same section, else elsewhere."""
        if here.section not in ("home", "other") and rng.random() < 0.4:
            return self.page(rng, here.section, lang, role)
        options = NEXT + ((("admin", 12),) if role in _STAFF else ())
        if role is None:
            options = tuple(o for o in options if o[0] != "chat")
        return self.page(rng, weighted(rng, options), lang, role)

    def page(self, rng: random.Random, section: str, lang: str, role: str | None) -> Page:
        """A page of ``section``: its root or one of its detail pages."""
        variant = 1 if lang == "pl" else 0
        if section == "other":
            return Page(rng.choice(_OTHER), section, detail=False)
        if section == "company":
            slug = rng.choice(self._companies).slug
            tail = rng.choice(("", "", "", "/kontakt", "/oferta"))
            return Page(f"/company/{slug}{tail}", section, detail=True)
        if section == "chat" and rng.random() < 0.6:
            return Page(f"/chat/{rng.choice(_CHAT_ROOMS)}", section, detail=True)
        details = _DETAIL.get(section, ())
        if details and rng.random() < 0.55:
            english, polish, _ = rng.choices(details, [d[2] for d in details])[0]
            template = polish if variant else english
            number = int(_ITEMS.get(section, 2) ** rng.random())
            return Page(template.format(n=number), section, detail=True)
        return Page(ROOTS[section][variant], section, detail=False)


def browser(rng: random.Random, device: str | None) -> str | None:
    """A browser name plausible for ``device``."""
    return weighted(rng, BROWSERS[device])


def load_time_ms(rng: random.Random, slow_p: float) -> int | None:
    """A page load time; ``slow_p`` of them over 3 s; a few are not measured (null)."""
    if rng.random() < 0.04:
        return None
    if rng.random() < slow_p:
        return int(rng.uniform(3001, 12000))
    return min(int(rng.lognormvariate(6.4, 0.5)), 3000)
