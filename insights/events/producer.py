"""The producer side: ``Emitter.emit(event)`` validates an event against the contract and sends it.

It is what a Python web application would call, and what the simulator and the
tests use, so nothing reaches Kafka through our own code that the consumer
would reject.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import msgspec

from insights.events import contract
from insights.events.kafka import EventProducer


class InvalidEvent(ValueError):
    """The event breaks the contract; ``reason`` is one of ``contract.REASONS``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def encode(event: object) -> bytes:
    """``event`` as JSON text, or ``InvalidEvent`` for what has no JSON form."""
    if not isinstance(event, Mapping):
        raise InvalidEvent("not_object", f"an event is a mapping, not {type(event).__name__}")
    try:
        return msgspec.json.encode(event)
    except Exception as exc:   # unsupported types, cycles, lone surrogates, huge numbers
        raise InvalidEvent("bad_json", f"cannot be written as JSON: {type(exc).__name__}: "
                           f"{' '.join(str(exc).split())[:300]}") from None


class Emitter:
    """Sends contract events to their topics with their keys."""

    def __init__(self, bootstrap: str, topics: Mapping[str, str], *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 max_bytes: int = 64 * 1024) -> None:
        self._producer = EventProducer(bootstrap)
        self._topics = dict(topics)
        self._clock = clock
        self._max_bytes = max_bytes

    def emit(self, event: Mapping[str, Any]) -> None:
        """Validate and send one event (a dict per the contract; datetimes are allowed).

        Bad input raises ``InvalidEvent`` only, with the consumer's reason codes: what
        cannot be written as JSON at all is ``not_object`` (not a mapping) or ``bad_json``.
        """
        raw = encode(event)
        verdict = contract.decode(raw, now=self._clock(), max_bytes=self._max_bytes)
        if isinstance(verdict, contract.Invalid):
            raise InvalidEvent(verdict.reason, verdict.detail)
        topic = self._topics[contract.TOPIC_OF_TYPE[contract.event_type(verdict)]]
        self._producer.send(topic, contract.message_key(verdict), raw)

    def flush(self, timeout_s: float | None = None) -> None:
        self._producer.flush(timeout_s)

    def close(self) -> None:
        self._producer.flush()
        self._producer.close()

    def __enter__(self) -> Emitter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
