"""The event contract: every type decodes, every kind of bad input gets its reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from insights.events import contract, payload
from insights.events.contract import Invalid, decode
from tests.poison import POISON

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
TS = "2026-11-25T10:15:00.123Z"

VALID = {
    "user_upsert": {"user_id": 7, "email": "a@b.pl", "name": "Ala", "role": "MEMBER",
                    "is_active": True, "created_at": "2026-01-01T00:00:00Z", "company": "X"},
    "session_start": {"session_id": "s1", "user_id": 7, "device_type": "mobile",
                      "browser": "Firefox"},
    "session_end": {"session_id": "s1", "duration_seconds": 120, "clicks_count": 4},
    "pageview": {"pageview_id": "p1", "session_id": "s1", "path": "/forum", "load_time_ms": 3500},
    "page_leave": {"pageview_id": "p1", "time_on_page_seconds": 9, "scroll_depth_percent": 80},
    "js_error": {"session_id": "s1", "message": "TypeError: x is undefined", "source": "app.js",
                 "line": 12},
    "login_succeeded": {"user_id": 7},
    "login_failed": {"user_id": 7},
    "security_alert": {"user_email": "a@b.pl", "alert_type": "brute_force", "severity": "high"},
    "account_locked": {"user_id": 7, "locked_until": "2026-11-25T13:00:00Z"},
    "account_unlocked": {"user_id": 7},
    "password_reset": {"user_id": 7},
    "search": {"query": "biuro rachunkowe", "user_id": 7},
    "conversion": {"event_type": "registration", "session_id": "s1"},
}


def message(type_: str, **override: object) -> bytes:
    body: dict[str, object] = {"event_id": f"e-{type_}", "type": type_, "ts": TS,
                               **VALID[type_], **override}
    return msgspec.json.encode({k: v for k, v in body.items() if v is not DROP})


DROP = object()


@pytest.mark.parametrize("type_", sorted(VALID))
def test_every_contract_type_decodes(type_: str) -> None:
    event = decode(message(type_), now=NOW)
    assert not isinstance(event, Invalid), event
    assert contract.event_type(event) == type_
    assert event.ts == datetime(2026, 11, 25, 10, 15, 0, 123000, tzinfo=UTC)
    assert contract.TOPIC_OF_TYPE[type_] in ("sessions", "pageviews", "errors", "security",
                                             "activity", "users")


@pytest.mark.parametrize(("raw", "reason"), [
    (b"{not json", "bad_json"),
    (b"\xff\xfe", "bad_json"),
    (b'{"event_id": "a", "type": "search", "ts": "' + TS.encode() + b'", "query": "\xff"}',
     "bad_json"),
    (b"[1, 2]", "not_object"),
    (b'"text"', "not_object"),
    (message("pageview", path=DROP), "missing_field"),
    (message("pageview", event_id=DROP), "missing_field"),
    (message("pageview", type=DROP), "missing_field"),
    (message("pageview", load_time_ms="slow"), "wrong_type"),
    (message("login_failed", user_id="7"), "wrong_type"),
    (message("login_failed", user_id=True), "wrong_type"),
    (message("pageview", type="teleport"), "unknown_type"),
    (message("pageview", path="forum"), "invalid_value"),
    (message("pageview", event_id=""), "invalid_value"),
    (message("pageview", event_id="x" * 65), "invalid_value"),
    (message("page_leave", scroll_depth_percent=101), "invalid_value"),
    (message("session_start", device_type="tv"), "invalid_value"),
    (message("login_failed", user_id=2**63), "invalid_value"),
    (message("pageview", ts="yesterday"), "invalid_value"),
    (message("search", query="a\u0000b"), "invalid_value"),
    (message("search", ts="2026-11-25T12:05:01Z"), "future_ts"),
])
def test_bad_input_is_rejected_with_its_reason(raw: bytes, reason: str) -> None:
    verdict = decode(raw, now=NOW)
    assert isinstance(verdict, Invalid)
    assert verdict.reason == reason, verdict
    assert verdict.detail


def test_oversize_is_rejected_before_parsing() -> None:
    raw = message("search", query="q", padding="x" * 70_000)
    verdict = decode(raw, now=NOW, max_bytes=64 * 1024)
    assert verdict == Invalid("oversize", f"message is {len(raw)} bytes; the limit is 65536")


def test_ts_within_the_skew_is_accepted() -> None:
    assert not isinstance(decode(message("search", ts="2026-11-25T12:04:59Z"), now=NOW), Invalid)


def test_timestamps_without_offset_are_utc_and_offsets_are_converted() -> None:
    naive = decode(message("account_locked", ts="2026-11-25T10:00:00",
                           locked_until="2026-11-25T11:00:00"), now=NOW)
    assert isinstance(naive, contract.AccountLocked)
    assert naive.ts == datetime(2026, 11, 25, 10, tzinfo=UTC)
    assert naive.locked_until == datetime(2026, 11, 25, 11, tzinfo=UTC)
    shifted = decode(message("search", ts="2026-11-25T12:00:00+02:00"), now=NOW)
    assert not isinstance(shifted, Invalid)
    assert shifted.ts == datetime(2026, 11, 25, 10, tzinfo=UTC)
    assert shifted.ts.tzinfo is UTC


def test_extra_fields_are_allowed_and_absent_profile_fields_are_unset() -> None:
    event = decode(message("user_upsert", name=DROP, role=None, custom={"a": 1}), now=NOW)
    assert isinstance(event, contract.UserUpsert)
    assert event.name is contract.UNSET
    assert event.role is None


@pytest.mark.parametrize(("type_", "override", "key"), [
    ("pageview", {}, "s1"),
    ("pageview", {"session_id": None, "user_id": 9}, "9"),       # semantics 33
    ("session_start", {"user_id": None}, "s1"),
    ("login_failed", {}, "7"),
    ("security_alert", {}, "a@b.pl"),                            # no user: by e-mail
    ("security_alert", {"user_id": 3}, "3"),
    ("search", {"user_id": None, "session_id": "s9"}, "s9"),     # anonymous: by session
    ("user_upsert", {}, "7"),
])
def test_message_key(type_: str, override: dict[str, object], key: str) -> None:
    event = decode(message(type_, **override), now=NOW)
    assert not isinstance(event, Invalid)
    assert contract.message_key(event) == key


@given(st.binary(max_size=300))
def test_decode_never_raises_on_arbitrary_bytes(raw: bytes) -> None:
    verdict = decode(raw, now=NOW)
    assert isinstance(verdict, Invalid) or contract.event_type(verdict) in contract.EVENT_TYPES


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
                    max_leaves=10))
def test_decode_never_raises_on_arbitrary_json(value: object) -> None:
    verdict = decode(msgspec.json.encode(value), now=NOW)
    assert isinstance(verdict, Invalid) and verdict.reason in contract.REASONS


def test_future_limit_follows_the_clock() -> None:
    raw = message("search", ts="2026-11-25T12:10:00Z")
    assert isinstance(decode(raw, now=NOW), Invalid)
    assert not isinstance(decode(raw, now=NOW + timedelta(minutes=6)), Invalid)


@pytest.mark.parametrize(("raw", "reason"), [(raw, reason) for _, raw, reason in POISON],
                         ids=[name for name, _, _ in POISON])
def test_poison_is_rejected_with_a_precise_reason(raw: bytes, reason: str) -> None:
    verdict = decode(raw, now=NOW)
    assert isinstance(verdict, Invalid), verdict
    assert verdict.reason == reason, verdict
    assert verdict.detail


def test_extras_within_the_limits_are_kept_as_sent() -> None:
    nested: object = "leaf"
    for _ in range(payload.MAX_DEPTH - 1):      # with the event itself: MAX_DEPTH levels
        nested = [nested]
    raw = message("search", deep=nested, big=2**63 - 1, small=-(2**63), text="ż" * 4096,
                  spaced=" \t", **{"n" * 256: None})
    assert not isinstance(decode(raw, now=NOW), Invalid)
    spaced = b'{ "event_id" : "e", "type" : "search", "ts" : "%s", "query" : "q" }' % TS.encode()
    assert not isinstance(decode(spaced, now=NOW), Invalid)


def test_one_level_deeper_is_refused() -> None:
    nested: object = "leaf"
    for _ in range(payload.MAX_DEPTH):
        nested = [nested]
    verdict = decode(message("search", deep=nested), now=NOW)
    assert isinstance(verdict, Invalid) and verdict.reason == "oversize"


def test_brackets_inside_strings_are_not_nesting() -> None:
    raw = message("search", query="[" * 100 + "{" * 100, x="\\\"[[[[")
    assert payload.nesting(raw) == 1
    assert not isinstance(decode(raw, now=NOW), Invalid)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=5), inner, max_size=4),
                    max_leaves=40))
def test_any_extra_field_is_either_accepted_whole_or_refused(extra: object) -> None:
    try:
        raw = message("search", extra=extra)
    except (msgspec.EncodeError, UnicodeEncodeError, OverflowError):
        return                                        # no JSON text for it at all
    verdict = decode(raw, now=NOW)
    if isinstance(verdict, Invalid):
        assert verdict.reason in contract.REASONS
        return
    stored = msgspec.json.decode(raw)["extra"]
    assert msgspec.json.encode(stored) == msgspec.json.encode(msgspec.json.decode(
        msgspec.json.encode(extra)))
    assert "\x00" not in raw.decode()


@given(st.binary(max_size=2000).map(lambda tail: message("search")[:-1] + b', "x": ' + tail))
def test_decode_never_raises_on_mangled_extras(raw: bytes) -> None:
    verdict = decode(raw, now=NOW)
    assert isinstance(verdict, Invalid) or contract.event_type(verdict) == "search"
