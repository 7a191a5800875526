"""The paths tab's formulas: session-length buckets and drop-off exit rates."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Final

LENGTH_BUCKETS: Final[tuple[str, ...]] = (
    "1 page",
    "2 pages",
    "3-5 pages",
    "6-10 pages",
    "10+ pages",
)
# A page needs this many views in the window to be listed under drop-off (semantics 22).
DROPOFF_MIN_VIEWS: Final = 5

_TENTH = Decimal("0.1")


def length_bucket(views: int) -> str:
    """The bucket of a session with ``views`` page views (>= 1) in the window."""
    if views < 1:
        raise ValueError(f"a session in the paths tab has at least 1 view, got {views}")
    if views <= 2:
        return LENGTH_BUCKETS[views - 1]
    if views <= 5:
        return LENGTH_BUCKETS[2]
    if views <= 10:
        return LENGTH_BUCKETS[3]
    return LENGTH_BUCKETS[4]


def exit_rate(exits: int, views: int) -> float:
    """Share of a page's views that ended their session, in percent, 1 decimal.

    Rounded half away from zero like PostgreSQL's ``ROUND(numeric, 1)`` (1/16 is
    6.25 % -> 6.3, where Python's ``round`` gives 6.2), computed in ``Decimal`` so
    that ties are exact. ``views`` must be positive.
    """
    if views <= 0:
        raise ValueError(f"exit rate needs a positive view count, got {views}")
    # A private context: the caller's decimal settings must not change the result.
    with localcontext() as context:
        context.prec = 50
        rate = Decimal(exits) * 100 / Decimal(views)
        return float(rate.quantize(_TENTH, rounding=ROUND_HALF_UP))
