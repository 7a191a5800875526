"""Pure traffic generation for ``insights simulate``: users, site, visits, bad input.

Nothing here does I/O or reads a clock: time and a ``random.Random`` come in
from the caller, so the same seed and the same times give the same events.
The driver that paces and sends them is ``insights.simulator.runner``.
"""

from insights.simulator.traffic.bad import BAD_REASONS, BadMessage, break_event
from insights.simulator.traffic.model import TrafficModel
from insights.simulator.traffic.population import PROFILES, Population, Profile, User

__all__ = [
    "BAD_REASONS",
    "PROFILES",
    "BadMessage",
    "Population",
    "Profile",
    "TrafficModel",
    "User",
    "break_event",
]
