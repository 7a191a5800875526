"""The event contract v1 (``docs/events.md``) as typed structs, one decoder and its verdicts.

``decode`` is the single gate every message passes, on the consumer side and
in ``insights.events.producer.emit``: it returns a typed event or an ``Invalid`` with
a stable reason code and a human-readable detail, and never raises. Unknown
extra fields are allowed and stored with the message as sent, so they are held
to the same rules as the rest of it (``insights.events.payload``); they are not
interpreted here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Final, Literal, NamedTuple

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from insights.events import payload

# Field types. Integer bounds are PostgreSQL's, so a valid event always stores.
EventId = Annotated[str, Meta(min_length=1, max_length=64)]
UserId = Annotated[int, Meta(ge=0, le=2**63 - 1)]
Count = Annotated[int, Meta(ge=0, le=2**31 - 1)]
Percent = Annotated[int, Meta(ge=0, le=100)]
# A path has no control characters (a browser sends them percent-encoded): a tab
# would split the paths tab's "from<TAB>to" transition pairs in the wrong place.
Path = Annotated[str, Meta(min_length=1, max_length=2048, pattern="^/[^\x00-\x1f\x7f]*$")]
Text = Annotated[str, Meta(max_length=4096)]
Name = Annotated[str, Meta(min_length=1, max_length=256)]
Device = Literal["desktop", "mobile", "tablet"]
Severity = Literal["low", "medium", "high", "critical"]


class Envelope(Struct, kw_only=True, tag_field="type"):
    """Fields every event carries; ``type`` is the tag."""

    event_id: EventId
    ts: datetime
    user_id: UserId | None = None
    session_id: EventId | None = None
    v: Annotated[int, Meta(ge=1)] = 1


class UserUpsert(Envelope, tag="user_upsert"):
    user_id: UserId
    email: Name
    name: str | UnsetType | None = UNSET
    role: str | UnsetType | None = UNSET
    is_active: bool | UnsetType = UNSET
    created_at: datetime | UnsetType | None = UNSET
    company: str | UnsetType | None = UNSET


class SessionStart(Envelope, tag="session_start"):
    session_id: EventId
    device_type: Device | None = None
    browser: str | None = None


class SessionEnd(Envelope, tag="session_end"):
    session_id: EventId
    duration_seconds: Count | None = None
    clicks_count: Count | None = None


class PageView(Envelope, tag="pageview"):
    pageview_id: EventId
    path: Path
    load_time_ms: Count | None = None


class PageLeave(Envelope, tag="page_leave"):
    pageview_id: EventId
    time_on_page_seconds: Count | None = None
    scroll_depth_percent: Percent | None = None


class JsError(Envelope, tag="js_error"):
    session_id: EventId
    message: Text
    source: str | None = None
    line: Count | None = None


class LoginSucceeded(Envelope, tag="login_succeeded"):
    user_id: UserId


class LoginFailed(Envelope, tag="login_failed"):
    user_id: UserId


class SecurityAlert(Envelope, tag="security_alert"):
    user_email: Name
    alert_type: Name
    severity: Severity | None = None


class AccountLocked(Envelope, tag="account_locked"):
    user_id: UserId
    locked_until: datetime


class AccountUnlocked(Envelope, tag="account_unlocked"):
    user_id: UserId


class PasswordReset(Envelope, tag="password_reset"):
    user_id: UserId


class Search(Envelope, tag="search"):
    query: Annotated[str, Meta(max_length=1024)]


class Conversion(Envelope, tag="conversion"):
    event_type: Name


Event = (
    UserUpsert | SessionStart | SessionEnd | PageView | PageLeave | JsError | LoginSucceeded
    | LoginFailed | SecurityAlert | AccountLocked | AccountUnlocked | PasswordReset | Search
    | Conversion
)

#: Event type -> topic kind (see ``insights.settings.TOPIC_KINDS``).
TOPIC_OF_TYPE: Final[dict[str, str]] = {
    "session_start": "sessions", "session_end": "sessions",
    "pageview": "pageviews", "page_leave": "pageviews",
    "js_error": "errors",
    "login_succeeded": "security", "login_failed": "security", "security_alert": "security",
    "account_locked": "security", "account_unlocked": "security", "password_reset": "security",
    "search": "activity", "conversion": "activity",
    "user_upsert": "users",
}  # fmt: skip
EVENT_TYPES: Final = frozenset(TOPIC_OF_TYPE)

#: Reason codes ``decode`` gives (stable; stored in ``rejected_events.reason``).
REASONS: Final = (
    "oversize", "bad_json", "not_object", "missing_field", "wrong_type",
    "unknown_type", "invalid_value", "future_ts",
)  # fmt: skip


class Invalid(NamedTuple):
    """Why a message was rejected: a code from ``REASONS`` and a precise detail."""

    reason: str
    detail: str


_decoder: Final[msgspec.json.Decoder[Event]] = msgspec.json.Decoder(Event)


def decode(
    raw: bytes, *, now: datetime, max_bytes: int = 64 * 1024, max_future_s: float = 300
) -> Event | Invalid:
    """Validate one message value against the contract; never raises on any input.

    ``now`` is the clock of the caller (UTC); a ``ts`` more than ``max_future_s``
    seconds after it is rejected. Timestamps without an offset are taken as UTC;
    every time must lie within ``TIME_RANGE`` once converted to UTC. The whole
    message, extra fields included, must pass ``insights.events.payload.check``.
    """
    if len(raw) > max_bytes:
        return Invalid("oversize", f"message is {len(raw)} bytes; the limit is {max_bytes}")
    if not raw:
        return Invalid("bad_json", "the message is empty")
    problem = payload.check(raw)
    if problem is not None:
        return Invalid(*problem)
    try:
        event = _decoder.decode(raw)
    except msgspec.ValidationError as exc:
        return classify(str(exc))
    except msgspec.DecodeError as exc:
        return Invalid("bad_json", str(exc))
    wrong_time = _to_utc(event)
    if wrong_time is not None:
        return wrong_time
    if event.ts > now + timedelta(seconds=max_future_s):
        return Invalid("future_ts", f"ts {event.ts.isoformat()} is more than "
                       f"{max_future_s:g} s after the consumer's clock {now.isoformat()}")
    return event


def decode_accepted(raw: bytes) -> Event:
    """The event of a value ``decode`` accepted before, without judging it again.

    For a later stage of the same batch (the consumer's projection): ``decode`` is
    deterministic for a given clock and limits, so a value it accepted needs only
    the typed decoding and the times put in UTC, not the whole-message checks. A
    value that was not accepted raises ``ValueError``.
    """
    event = _decoder.decode(raw)
    if _to_utc(event) is not None:
        raise ValueError("the event's times were refused when it was decoded")
    return event


def classify(message: str) -> Invalid:
    """Map msgspec's validation message to a reason code, keeping the message as detail."""
    if message.startswith("Expected `object`, got") and " - at " not in message:
        return Invalid("not_object", message)
    if message.startswith("Object missing required field"):
        return Invalid("missing_field", message)
    if message.startswith("Invalid value") and message.endswith("`$.type`"):
        return Invalid("unknown_type", message)
    if message.startswith("Expected `") and ", got `" in message:
        return Invalid("wrong_type", message)
    return Invalid("invalid_value", message)


#: Every time of an event, once in UTC, lies in [start, end).
TIME_RANGE: Final = (datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC))


def _to_utc(event: Event) -> Invalid | None:
    """Give naive times the UTC zone and convert aware ones to UTC (the contract's rule);
    an Invalid when one falls outside ``TIME_RANGE`` (or outside any date) in UTC."""
    times: list[tuple[str, datetime]] = [("ts", event.ts)]
    if isinstance(event, AccountLocked):
        times.append(("locked_until", event.locked_until))
    elif isinstance(event, UserUpsert) and isinstance(event.created_at, datetime):
        times.append(("created_at", event.created_at))
    for name, moment in times:
        try:
            utc = as_utc(moment)
        except OverflowError:
            utc = None
        if utc is None or not TIME_RANGE[0] <= utc < TIME_RANGE[1]:
            return Invalid("invalid_value", f"{name} {moment.isoformat()} is outside the "
                           f"supported range in UTC ({TIME_RANGE[0]:%Y-%m-%d} to "
                           f"{TIME_RANGE[1]:%Y-%m-%d}, end excluded)")
        setattr(event, name, utc)
    return None


def as_utc(moment: datetime) -> datetime:
    """The same instant in UTC; a naive value is taken as UTC."""
    if moment.tzinfo is UTC:          # what msgspec gives for "Z": the common case
        return moment
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def event_type(event: Event) -> str:
    """The contract ``type`` of a decoded event."""
    tag = type(event).__struct_config__.tag
    assert isinstance(tag, str)
    return tag


def message_key(event: Event) -> str:
    """The Kafka message key of an event: the contract's rule, then semantics 33's fallbacks."""
    kind = TOPIC_OF_TYPE[event_type(event)]
    user = None if event.user_id is None else str(event.user_id)
    if kind in ("sessions", "pageviews", "errors"):
        candidates = (event.session_id, user)
    elif isinstance(event, SecurityAlert):
        candidates = (user, event.user_email)
    else:
        candidates = (user, event.session_id)
    return next((c for c in candidates if c), event.event_id)
