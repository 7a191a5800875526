"""Log-in throttling: failed attempts counted per e-mail and per client address.

Counted per *submitted* e-mail whether or not an account has it, and answered
the same way, so throttling reveals no account. Fixed windows in Redis
(``INCR`` + ``EXPIRE NX``): a burst is refused until its window ends.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import redis

from insights.keys import Keys


@dataclass(frozen=True)
class Policy:
    """``per_email`` / ``per_ip`` failures allowed per ``window_s`` seconds."""

    per_email: int = 5
    per_ip: int = 30
    window_s: int = 900


def _digest(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]


class Throttle:
    """Counts failures and says how long a subject must wait."""

    def __init__(self, client: redis.Redis, keys: Keys, policy: Policy) -> None:
        self._redis, self._keys, self._policy = client, keys, policy

    def _subjects(self, email: str, ip: str) -> list[tuple[str, int]]:
        return [(self._keys.login_failures("email", _digest(email)), self._policy.per_email),
                (self._keys.login_failures("ip", _digest(ip)), self._policy.per_ip)]

    def retry_after(self, email: str, ip: str) -> int:
        """Seconds until this e-mail and address may try again (0: now)."""
        subjects = self._subjects(email, ip)
        pipe = self._redis.pipeline(transaction=False)
        for key, _ in subjects:
            pipe.get(key)
            pipe.ttl(key)
        answers = pipe.execute()
        wait = 0
        for (_, limit), count, ttl in zip(subjects, answers[::2], answers[1::2], strict=True):
            if count is not None and int(count) >= limit:
                wait = max(wait, int(ttl) if int(ttl) > 0 else self._policy.window_s)
        return wait

    def failed(self, email: str, ip: str) -> None:
        """Count one failed attempt against both subjects."""
        pipe = self._redis.pipeline(transaction=False)
        for key, _ in self._subjects(email, ip):
            pipe.incr(key)
            pipe.expire(key, self._policy.window_s, nx=True)
        pipe.execute()

    def succeeded(self, email: str) -> None:
        """A right password clears the e-mail's count (not the address's)."""
        self._redis.delete(self._subjects(email, "")[0][0])
