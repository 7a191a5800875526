"""How many WebSockets one web process holds: in all, and per log-in session or API token.

A socket over either cap is accepted and closed at once with a close code saying why
(closing before the accept would only show the client an HTTP 403): :data:`SERVER_BUSY`
(1013, "try again later": the page retries with its backoff) when the process is full,
:data:`TOO_MANY_FOR_CREDENTIAL` (4429, as HTTP 429) when the log-in or token already holds
its share. The sockets already open are not disturbed. Counted per process, in its event
loop (no lock needed).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Final

SERVER_BUSY: Final = 1013
TOO_MANY_FOR_CREDENTIAL: Final = 4429


@dataclass(frozen=True)
class Refusal:
    """A close code and its reason (at most 123 bytes: a control frame's room)."""

    code: int
    reason: str


BUSY: Final = Refusal(SERVER_BUSY, "too many sockets on this server; try again later")


class SocketQuota:
    """Open sockets in all and per credential (``web.auth.identity.credential_of``)."""

    def __init__(self, total: int, per_credential: int) -> None:
        self.total, self.per_credential = total, per_credential
        self._open: Counter[str] = Counter()
        self._count = 0

    def full(self) -> bool:
        """True when no socket may open (checked before the credentials are looked up)."""
        return self._count >= self.total

    def take(self, credential: str | None) -> Refusal | None:
        """Count a socket of ``credential``; the refusal when a cap is reached (nothing
        counted then). Each socket taken is given back with :meth:`release`."""
        key = credential or ""
        if self.full():
            return BUSY
        if self._open[key] >= self.per_credential:
            return Refusal(TOO_MANY_FOR_CREDENTIAL,
                           f"this log-in already has {self.per_credential} sockets open")
        self._open[key] += 1
        self._count += 1
        return None

    def release(self, credential: str | None) -> None:
        """A socket taken by :meth:`take` closed."""
        key = credential or ""
        self._open[key] -= 1
        if self._open[key] <= 0:
            del self._open[key]
        self._count -= 1

    def open(self) -> int:
        """Sockets counted now."""
        return self._count
