"""The problem score: how much trouble a user is in (0..100)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Final

from scoring.components import Component

# Points per unit, in the reference's order; is_locked counts 1 when locked.
PROBLEM_WEIGHTS: Final[Mapping[str, int]] = MappingProxyType(
    {
        "failed_logins": 10,
        "password_resets": 15,
        "js_errors": 3,
        "slow_pages": 2,
        "security_alerts": 20,
        "is_locked": 40,
    }
)
PROBLEM_CAP: Final = 100


@dataclass(frozen=True)
class ProblemCounts:
    """What a user's problem score is made of (semantics 5-9 say which window).

    ``failed_logins`` is the current ``failed_login_attempts`` counter;
    ``password_resets`` always counts the month window; ``js_errors``,
    ``slow_pages`` and ``security_alerts`` count the window in use (the selected
    period on the tab, the week window on the profile); ``is_locked`` is whether
    ``locked_until`` is still ahead of now. Counts are never negative.
    """

    failed_logins: int
    password_resets: int
    js_errors: int
    slow_pages: int
    security_alerts: int
    is_locked: bool

    def __post_init__(self) -> None:
        for field in fields(self):
            if getattr(self, field.name) < 0:
                raise ValueError(f"{field.name} cannot be negative: {getattr(self, field.name)}")


def problem_components(counts: ProblemCounts) -> list[Component]:
    """One component per entry of ``PROBLEM_WEIGHTS``, in its order (points, uncapped)."""
    return [
        Component(name, _units(counts, name), weight, _units(counts, name) * weight)
        for name, weight in PROBLEM_WEIGHTS.items()
    ]


def problem_score(counts: ProblemCounts) -> int:
    """Problem score in points, 0..100: the weighted counts summed, capped at 100."""
    total = sum(_units(counts, name) * weight for name, weight in PROBLEM_WEIGHTS.items())
    return min(PROBLEM_CAP, total)


def _units(counts: ProblemCounts, name: str) -> int:
    # is_locked is a bool worth one unit when set.
    return int(getattr(counts, name))
