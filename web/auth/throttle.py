"""Log-in throttling: attempts counted per e-mail and per client address.

Every attempt is counted *before* its password is checked, atomically (one
``MULTI``: ``INCR`` and ``EXPIRE NX`` of both counters), so concurrent requests
cannot all slip under the limit; a right password gives its attempt back.
Counted per *submitted* e-mail whether or not an account has it, and answered
the same way, so throttling reveals no account. Fixed windows: a burst is
refused until its window ends.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import redis

from insights.readmodel.keys import Keys


@dataclass(frozen=True)
class Policy:
    """``per_email`` / ``per_ip`` attempts allowed per ``window_s`` seconds."""

    per_email: int = 5
    per_ip: int = 30
    window_s: int = 900


def _digest(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]


class Throttle:
    """Takes attempts, gives back the successful ones, says how long to wait."""

    def __init__(self, client: redis.Redis, keys: Keys, policy: Policy) -> None:
        self._redis, self._keys, self._policy = client, keys, policy

    def _subjects(self, email: str, ip: str) -> list[tuple[str, int]]:
        return [(self._keys.login_failures("email", _digest(email)), self._policy.per_email),
                (self._keys.login_failures("ip", _digest(ip)), self._policy.per_ip)]

    def attempt(self, email: str, ip: str) -> int:
        """Count one attempt; 0 when it may go on, else the seconds to wait (refused)."""
        subjects = self._subjects(email, ip)
        pipe = self._redis.pipeline(transaction=True)
        for key, _ in subjects:
            pipe.incr(key)
            pipe.expire(key, self._policy.window_s, nx=True)
            pipe.ttl(key)
        answers = pipe.execute()
        wait = 0
        for n, (_, limit) in enumerate(subjects):
            count, ttl = int(answers[3 * n]), int(answers[3 * n + 2])
            if count > limit:
                wait = max(wait, ttl if ttl > 0 else self._policy.window_s)
        return wait

    def succeeded(self, email: str, ip: str) -> None:
        """A right password: the e-mail starts afresh, the address gets its attempt back."""
        email_key, ip_key = (key for key, _ in self._subjects(email, ip))
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(email_key)
        pipe.decr(ip_key)
        pipe.execute()
