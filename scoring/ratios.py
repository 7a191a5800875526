"""Bar widths and intensities: the reference's ``int(value / max * 100)``."""

from __future__ import annotations

PERCENT_CAP = 100


def bar_pct(value: float, maximum: float) -> int:
    """Width of a bar in percent (0..100 for 0 <= value <= maximum), truncated.

    Floating point on purpose, as the reference does: ``bar_pct(29, 100)`` is 28
    because ``29 / 100 * 100`` is 28.999999999999996. A maximum below 1 (an empty
    list, a zero count) is taken as 1, so nothing divides by zero (semantics 25).
    """
    denominator = maximum if maximum >= 1 else 1
    return int(value / denominator * 100)


def capped_pct(value: float, maximum: float) -> int:
    """:func:`bar_pct` capped at 100 percent (the pages tab's section intensity)."""
    return min(PERCENT_CAP, bar_pct(value, maximum))
