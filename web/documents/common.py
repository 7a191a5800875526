"""What several documents share: ``freshness``, a user reference, a score's components,
and the health answer."""

from __future__ import annotations

from typing import Annotated

from msgspec import UNSET, Meta, Struct, UnsetType

from scoring.components import Component


def about(description: str) -> Meta:
    """A field's description in the published schema."""
    return Meta(description=description)


Score = Annotated[int, Meta(ge=0, le=100)]
Time = Annotated[str, Meta(description="RFC 3339 in UTC with a Z")]
Day = Annotated[str, Meta(description="a UTC day, YYYY-MM-DD")]


class Freshness(Struct, kw_only=True):
    """How fresh the read model behind the document is (every tab and profile has it)."""

    newest_event_at: Annotated[Time | None, about(
        "the newest ts among the events applied so far (never later than the moment it was"
        " applied); null before the first")]
    applied_at: Annotated[Time | None, about(
        "when the consumers last applied a batch; null before the first")]
    lag: Annotated[int | None, about(
        "records the consumers are behind, summed over partitions, from the partitions whose"
        " consumer reported within the last 60 s; null when none did")]


#: The envelope field of every tab and profile document: UNSET until the route (or live
#: view) reads it, after the document, and so not encoded before.
Fresh = Annotated[Freshness | UnsetType, about(
    "how fresh the read model is, read after the document")]


class UserRef(Struct, kw_only=True):
    """The tracked user a row is about."""

    id: Annotated[int, about("the user's id (users.id)")]
    name: Annotated[str | None, about("the user's name, null when none was sent")]
    email: Annotated[str | None, about("the user's e-mail address, null when none was sent")]


class ScoreComponent(Struct, kw_only=True):
    """One term of a score: the score is the sum of the points, capped at 100."""

    name: Annotated[str, about(
        "the counted field: failed_logins, password_resets, js_errors, slow_pages,"
        " security_alerts, is_locked (problem score); sessions, page_views, clicks, seconds,"
        " conversions, searches (engagement score)")]
    count: Annotated[float, about(
        "how many units over the score's window: events, 1/0 for is_locked, seconds for"
        " seconds")]
    weight: Annotated[float, about("points per unit (2/60 per second for seconds)")]
    points: Annotated[float, about("count * weight, not rounded and not capped")]


def components_of(components: list[Component]) -> list[ScoreComponent]:
    """A score's terms (``scoring.components``) as the documents list them."""
    return [ScoreComponent(name=c.name, count=c.count, weight=c.weight, points=c.points)
            for c in components]


ServerState = Annotated[str, about(
    "ok, or what is wrong: unreachable, timeout, busy (no pooled connection came free),"
    " error (it answered wrongly)")]


class Health(Struct, kw_only=True):
    """``GET /healthz``: each server's state and the read model's; 503 with ``Retry-After``
    when one is not ok."""

    postgres: ServerState
    redis: ServerState
    read_model: Annotated[str | UnsetType, about(
        "ok, rebuilding when Redis does not hold the read model PostgreSQL vouches for (or"
        " what is wrong reading it); left out when a server is not ok")] = UNSET


class ServiceUnavailable(Struct, kw_only=True):
    """The 503 of every ``/api`` route: a server the answer needs is down or too slow, or
    the read model is being rebuilt; ``Retry-After`` says when to try again."""

    detail: Annotated[str, about("what is wrong, in English")]
    unavailable: Annotated[list[str], about("the parts down: redis, postgres or read model")]
    retry_after: Annotated[int, about("seconds to wait before trying again")]
