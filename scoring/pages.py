"""The pages tab's rules: sections, slow pages, averages, and the profile's key pages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Final

SectionMap = Mapping[str, Sequence[str]]

# The reference's section_map: names and order are part of the API (pages tab).
DEFAULT_SECTIONS: Final[SectionMap] = MappingProxyType(
    {
        "Strona główna": ("/",),
        "Profile firm": ("/company/",),
        "Forum": ("/forum",),
        "Chat": ("/chat",),
        "Wyszukiwarka": ("/search", "/szukaj"),
        "Wydarzenia": ("/events", "/wydarzenia"),
        "Ogłoszenia": ("/classifieds", "/ogloszenia"),
        "Członkostwo": ("/membership", "/czlonkostwo"),
        "Admin": ("/admin",),
    }
)
SLOW_PAGE_MS: Final = 3000
KEY_PAGES: Final[tuple[str, ...]] = (
    "/",
    "/forum",
    "/chat",
    "/search",
    "/admin",
    "/events",
    "/membership",
)
# Any path holding this is a key page too (company profiles live under it).
KEY_FRAGMENT: Final = "/company/"
_HOME: Final = "/"


def sections_of(path: str, sections: SectionMap = DEFAULT_SECTIONS) -> list[str]:
    """Names of the sections ``path`` belongs to, in map order (semantics 17).

    A section matches when the path starts with one of its prefixes
    (case-sensitive; prefixes are literal text, ``%`` and ``_`` included). A
    section whose prefixes are exactly ``['/']`` matches only ``/`` itself. A path
    may fall in several sections, and counts in each.
    """
    return [name for name, prefixes in sections.items() if _matches(path, prefixes)]


def _matches(path: str, prefixes: Sequence[str]) -> bool:
    # A bare string is a Sequence[str] of its characters: it would match almost anything.
    if isinstance(prefixes, str):
        raise TypeError(f"section prefixes must be a list of strings, got {prefixes!r}")
    if list(prefixes) == [_HOME]:
        return path == _HOME
    return any(path.startswith(prefix) for prefix in prefixes)


def is_slow(load_time_ms: int | None) -> bool:
    """Whether a page view loaded slowly: over 3000 ms; an unknown load time is not slow."""
    return load_time_ms is not None and load_time_ms > SLOW_PAGE_MS


def truncated_mean(total: int, count: int) -> int:
    """Mean of ``count`` known values adding up to ``total``, truncated; 0 for none.

    Integer arithmetic, so it is exact at any size (the reference truncates
    PostgreSQL's exact numeric average); rounds toward zero like ``int()``.
    """
    if count < 0:
        raise ValueError(f"a number of values cannot be negative, got {count}")
    if count == 0:
        return 0
    quotient = abs(total) // count
    return quotient if total >= 0 else -quotient


def is_key_page(path: str) -> bool:
    """Whether a page view belongs on the profile's timeline (semantics 27).

    A key path itself, or below it (``path.startswith(key + '/')``, so below ``/``
    means paths starting with ``//``), or any path containing ``/company/``.
    """
    return KEY_FRAGMENT in path or any(
        path == key or path.startswith(key + "/") for key in KEY_PAGES
    )
