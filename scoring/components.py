"""One term of a score, for explaining where the points come from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Component:
    """One weighted term of a score, before the score's cap.

    ``name`` is the field of the counts it comes from (``"failed_logins"``,
    ``"page_views"``...). ``count`` is how many units there are: events, or 1/0 for
    ``is_locked``; for the engagement time term (``"seconds"``) it is the session
    *seconds*, while the reference scores minutes (2 points a minute), so its
    ``weight`` is 2/60 points per second. ``points`` is ``count * weight``, computed
    the reference's way (``seconds / 60 * 2`` for time) so that the components add up
    to exactly the float the score is truncated from.
    """

    name: str
    count: float
    weight: float
    points: float


def as_json(components: list[Component]) -> list[dict[str, str | float]]:
    """The components as JSON objects ``{name, count, weight, points}`` (points unrounded)."""
    return [{"name": c.name, "count": c.count, "weight": c.weight, "points": c.points}
            for c in components]
