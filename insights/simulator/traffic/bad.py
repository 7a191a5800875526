"""Deliberately broken messages, made from valid events, for exercising the dead-letter path.

They are raw bytes (``Emitter.emit`` would refuse them), each with the topic
kind and key its valid original would have, and the reason code the
contract's ``decode`` gives it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final, NamedTuple

import msgspec

from insights.events import contract
from insights.simulator.traffic.population import rfc3339


class BadMessage(NamedTuple):
    """One broken message: where it goes, its bytes, and why ``decode`` rejects it."""

    kind: str  # topic kind, see ``insights.settings.TOPIC_KINDS``
    key: bytes | None
    value: bytes
    reason: str  # the reason code ``contract.decode`` gives


_UNKNOWN_TYPES: Final = ("page_scroll", "mouse_move", "session_resume", "PageView")


def _bad_json(event: dict[str, Any], rng: random.Random, now: datetime) -> bytes:
    raw = msgspec.json.encode(event)
    return raw[: rng.randrange(1, len(raw))]  # every proper prefix of an object is invalid


def _not_object(event: dict[str, Any], rng: random.Random, now: datetime) -> bytes:
    return msgspec.json.encode(rng.choice(([event], event["type"], 42)))


def _missing_field(event: dict[str, Any], rng: random.Random, now: datetime) -> bytes:
    dropped = rng.choice(("event_id", "ts", "type"))
    return msgspec.json.encode({k: v for k, v in event.items() if k != dropped})


def _wrong_type(event: dict[str, Any], rng: random.Random, now: datetime) -> bytes:
    field = rng.choice(("ts", "event_id"))
    return msgspec.json.encode({**event, field: rng.randrange(1, 2**31)})


def _unknown_type(event: dict[str, Any], rng: random.Random, now: datetime) -> bytes:
    return msgspec.json.encode({**event, "type": rng.choice(_UNKNOWN_TYPES)})


def _future_ts(event: dict[str, Any], rng: random.Random, now: datetime) -> bytes:
    later = now + timedelta(hours=rng.uniform(1, 48))
    return msgspec.json.encode({**event, "ts": rfc3339(later)})


_BREAKERS: Final[dict[str, Callable[[dict[str, Any], random.Random, datetime], bytes]]] = {
    "bad_json": _bad_json, "not_object": _not_object, "missing_field": _missing_field,
    "wrong_type": _wrong_type, "unknown_type": _unknown_type, "future_ts": _future_ts,
}  # fmt: skip
#: The reason codes ``break_event`` produces (a subset of ``contract.REASONS``).
BAD_REASONS: Final = tuple(_BREAKERS)


def break_event(event: Mapping[str, Any], rng: random.Random, now: datetime,
                reason: str | None = None) -> BadMessage:
    """A broken copy of the valid ``event``; ``reason`` (default: drawn) picks how.

    ``now`` is the consumer's clock as the caller knows it: a ``future_ts``
    message lies at least an hour after it.
    """
    reason = reason or rng.choice(BAD_REASONS)
    valid = contract.decode(msgspec.json.encode(event), now=now)
    if isinstance(valid, contract.Invalid):
        raise ValueError(f"break_event needs a valid event, got {valid.reason}: {valid.detail}")
    kind = contract.TOPIC_OF_TYPE[contract.event_type(valid)]
    value = _BREAKERS[reason](dict(event), rng, now)
    return BadMessage(kind, contract.message_key(valid).encode(), value, reason)
