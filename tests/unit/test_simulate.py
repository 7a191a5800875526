"""The traffic simulator: valid, ordered, deterministic events; history; bad input; pacing."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from insights.cli import simulate as simulate_cli
from insights.events import contract, kafka
from insights.events.producer import InvalidEvent
from insights.settings import Settings
from insights.simulator.runner import TokenBucket, run
from insights.simulator.traffic import BAD_REASONS, Population, TrafficModel, break_event
from insights.simulator.traffic.visits import LOCK_AFTER

Event = dict[str, Any]
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday
SESSION_TYPES = {"session_start", "session_end", "pageview", "page_leave", "js_error"}
LOGIN_TYPES = {"login_succeeded", "login_failed", "account_locked", "account_unlocked"}
SECTIONS = ("/", "/company/", "/forum", "/chat", "/search", "/szukaj", "/events", "/wydarzenia",
            "/classifieds", "/ogloszenia", "/membership", "/czlonkostwo", "/admin")


def generate(seed: int = 1, *, users: int = 40, days: float = 0, live_s: float = 0,
             rate: float | None = 20.0, step_s: float = 1.0) -> list[Event]:
    """Everything a model yields from ``start(NOW, days)`` and ``live_s`` seconds of ``take``."""
    rng = random.Random(seed)
    model = TrafficModel(Population(users, rng, NOW), rng, rate=rate)
    events = list(model.start(NOW, days))
    elapsed = 0.0
    while elapsed < live_s:
        elapsed += step_s
        events += model.take(NOW + timedelta(seconds=elapsed))
    return events


def ts(event: Mapping[str, Any], field: str = "ts") -> datetime:
    return datetime.fromisoformat(str(event[field]))


def decode(event: Mapping[str, Any], now: datetime) -> contract.Event | contract.Invalid:
    return contract.decode(msgspec.json.encode(event), now=now)


@pytest.fixture(scope="module")
def big() -> list[Event]:
    """Two weeks of history for 150 users, then five minutes live."""
    return generate(seed=7, users=150, days=14, live_s=300)


def test_every_event_is_valid_and_every_type_occurs(big: list[Event]) -> None:
    end = NOW + timedelta(seconds=300)
    verdicts = [decode(e, end) for e in big]
    assert [v for v in verdicts if isinstance(v, contract.Invalid)] == []
    assert {e["type"] for e in big} == contract.EVENT_TYPES
    assert max(ts(e) for e in big) <= end


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), users=st.integers(1, 25), days=st.integers(0, 2),
       live_s=st.sampled_from([0, 20]))
def test_any_seed_and_size_gives_valid_unique_events(seed: int, users: int, days: int,
                                                     live_s: int) -> None:
    events = generate(seed, users=users, days=days, live_s=live_s, rate=5.0)
    end = NOW + timedelta(seconds=live_s)
    assert all(not isinstance(decode(e, end), contract.Invalid) for e in events)
    assert all(ts(e) <= end for e in events)
    assert len({e["event_id"] for e in events}) == len(events)
    assert len({e["user_id"] for e in events if e["type"] == "user_upsert"}) >= users


def test_ids_are_unique(big: list[Event]) -> None:
    assert len({e["event_id"] for e in big}) == len(big)
    views = [e["pageview_id"] for e in big if e["type"] == "pageview"]
    assert len(set(views)) == len(views)
    starts = [e["session_id"] for e in big if e["type"] == "session_start"]
    assert len(set(starts)) == len(starts)


def sessions(events: list[Event]) -> dict[str, list[Event]]:
    grouped: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        if event.get("session_id") and event["type"] in SESSION_TYPES | {"search", "conversion"}:
            grouped[event["session_id"]].append(event)
    return grouped


def test_session_events_come_in_order(big: list[Event]) -> None:
    grouped = sessions(big)
    assert len(grouped) > 1000
    for events in grouped.values():
        types = [e["type"] for e in events]
        assert types[0] == "session_start"
        assert types.count("session_start") == 1
        assert "session_end" not in types[:-1]
        assert [ts(e) for e in events] == sorted(ts(e) for e in events)
        viewed: set[str] = set()
        left: set[str] = set()
        for event in events:
            if event["type"] == "pageview":
                viewed.add(event["pageview_id"])
            elif event["type"] == "page_leave":
                assert event["pageview_id"] in viewed and event["pageview_id"] not in left
                left.add(event["pageview_id"])
        assert len(viewed) >= 1
        assert len(viewed - left) <= 1  # an ongoing session's current page has no leave yet


def test_session_fields_are_consistent(big: list[Event]) -> None:
    for events in sessions(big).values():
        start = events[0]
        assert {e["user_id"] for e in events} == {start["user_id"]}
        if events[-1]["type"] == "session_end":
            end = events[-1]
            assert end["duration_seconds"] == int((ts(end) - ts(start)).total_seconds())


def test_every_user_is_upserted_before_their_other_events(big: list[Event]) -> None:
    upserted: set[int] = set()
    for event in big:
        if event["type"] == "user_upsert":
            upserted.add(event["user_id"])
        elif event.get("user_id") is not None:
            assert event["user_id"] in upserted, event


def test_login_events_follow_the_lockout_rules_per_user(big: list[Event]) -> None:
    failed: Counter[int] = Counter()
    locked: dict[int, datetime] = {}
    last_login: dict[int, str] = {}
    last_ts: dict[int, datetime] = {}
    for event in big:
        uid, kind, at = event.get("user_id"), event["type"], ts(event)
        if uid is None:
            continue
        if kind in LOGIN_TYPES:
            assert last_ts.get(uid, at) <= at
            last_ts[uid] = at
        if kind == "login_failed":
            failed[uid] += 1
            last_login[uid] = kind
        elif kind == "account_locked":
            assert failed[uid] >= LOCK_AFTER and ts(event, "locked_until") > at
            locked[uid] = ts(event, "locked_until")
        elif kind == "account_unlocked":
            assert locked.pop(uid) > at
        elif kind == "login_succeeded":
            assert locked.get(uid, at) <= at, "logged in while locked"
            failed[uid] = 0
            last_login[uid] = kind
        elif kind == "session_start":
            assert last_login[uid] == "login_succeeded"
    assert sum(failed.values()) > 0  # some counters stay up (users who gave up)


def test_a_locked_account_gets_an_alert_with_the_exact_email(big: list[Event]) -> None:
    emails = {e["user_id"]: e["email"] for e in big if e["type"] == "user_upsert"}
    per_user: dict[int, list[Event]] = defaultdict(list)
    for event in big:
        if event.get("user_id") is not None and event["type"] != "user_upsert":
            per_user[event["user_id"]].append(event)
    locks = 0
    for uid, events in per_user.items():
        for i, event in enumerate(events):
            if event["type"] == "account_locked":
                locks += 1
                alert = events[i + 1]
                assert alert["type"] == "security_alert"
                assert alert["user_email"] == emails[uid]
                assert alert["alert_type"] in ("brute_force", "account_locked")
    assert locks >= 3
    orphans = [e for e in big if e["type"] == "security_alert" and "user_id" not in e]
    assert all(e["user_email"] not in emails.values() for e in orphans)


def test_backfill_spreads_history_over_the_days_with_a_diurnal_pattern() -> None:
    events = [e for e in generate(seed=3, users=120, days=21) if e["type"] != "user_upsert"]
    times = [ts(e) for e in events]
    assert min(times) >= NOW - timedelta(days=21) and max(times) <= NOW
    assert len({t.date() for t in times}) == 22
    starts = [ts(e) for e in events if e["type"] == "session_start"]
    office = sum(1 for t in starts if t.weekday() < 5 and 8 <= t.hour < 16)
    night = sum(1 for t in starts if t.weekday() < 5 and 0 <= t.hour < 5)
    assert office > 5 * night * 8 / 5  # per hour, office hours are far busier
    weekday = sum(1 for t in starts if t.weekday() < 5) / 15
    weekend = sum(1 for t in starts if t.weekday() >= 5) / 6
    assert weekend < 0.7 * weekday


def sessions_by_day(events: list[Event], first: datetime, days: int) -> list[int]:
    """Sessions started on each of ``days`` 24-hour spans from ``first``."""
    counts = [0] * days
    for event in events:
        if event["type"] == "session_start":
            day = int((ts(event) - first).total_seconds() // 86400)
            if 0 <= day < days:
                counts[day] += 1
    return counts


def test_live_traffic_without_a_rate_keeps_the_history_s_daily_rhythm() -> None:
    # 14 days of history, then 7 days "live": the live days look like the history's days
    # (what the demo's 30-day chart shows), not a spike on the day the demo started.
    events = generate(seed=21, users=400, days=14, live_s=7 * 86400, rate=None, step_s=600)
    history = sessions_by_day(events, NOW - timedelta(days=14), 14)
    live = sessions_by_day(events, NOW, 7)
    assert min(history[1:]) > 0
    for day in range(7):  # the same weekday, one and two weeks before
        before = (history[day] + history[day + 7]) / 2
        assert 0.6 < live[day] / before < 1.6, (day, live, history)
    office = sum(1 for e in events if e["type"] == "session_start" and ts(e) > NOW
                 and ts(e).weekday() < 5 and 8 <= ts(e).hour < 16)
    night = sum(1 for e in events if e["type"] == "session_start" and ts(e) > NOW
                and ts(e).weekday() < 5 and 0 <= ts(e).hour < 5)
    assert office > 5 * night * 8 / 5


def test_a_flat_rate_is_a_spike_beside_the_history() -> None:
    # The contrast that shows the test above can fail: a load-test rate swamps the history.
    events = generate(seed=21, users=100, days=3, live_s=600, rate=20.0, step_s=10)
    history = sessions_by_day(events, NOW - timedelta(days=3), 3)
    live = sum(1 for e in events if e["type"] == "session_start" and ts(e) > NOW)
    # Ten minutes against whole days (the last day holds the warm-up, at the flat rate too).
    assert live > 3 * max(history[:-1])


def test_a_month_of_history_leaves_users_at_risk_and_dormant() -> None:
    # Status by the last log-in (docs/semantics.md): 8-30 days ago is at risk, more than 30
    # days or never is dormant; a demo should show a realistic share of both.
    users, days = 300, 35
    events = generate(seed=4, users=users, days=days, rate=None)
    active = {e["user_id"] for e in events if e["type"] == "user_upsert" and e["is_active"]}
    last: dict[int, datetime] = {}
    for event in events:
        if event["type"] == "login_succeeded":
            last[event["user_id"]] = max(last.get(event["user_id"], NOW - timedelta(days=99)),
                                         ts(event))
    ages = [(NOW - last[u]).days if u in last else None for u in active]
    at_risk = sum(1 for age in ages if age is not None and 8 <= age <= 30)
    dormant = sum(1 for age in ages if age is None or age > 30)
    assert 0.05 < at_risk / len(active) < 0.4, at_risk
    assert 0.02 < dormant / len(active) < 0.3, dormant


def test_drifting_users_came_more_often_before() -> None:
    rng = random.Random(11)
    population = Population(150, rng, NOW)
    model = TrafficModel(population, rng)
    drifting = {u.user_id for u in population if u.profile.name == "drifting"}
    starts = [ts(e) for e in model.start(NOW, 28)
              if e["type"] == "session_start" and e["user_id"] in drifting]
    recent = sum(1 for t in starts if t > NOW - timedelta(days=10))
    assert recent * 3 < len(starts) - recent


def test_same_seed_same_events_and_another_seed_others() -> None:
    first = generate(seed=5, users=30, days=1, live_s=30)
    assert generate(seed=5, users=30, days=1, live_s=30) == first
    assert generate(seed=6, users=30, days=1, live_s=30) != first


def test_population_mix(big: list[Event]) -> None:
    upserts = [e for e in big if e["type"] == "user_upsert"]
    assert {e["role"] for e in upserts} == {"MEMBER", "OFFICE_MANAGER", "ADMIN", "UNAFFILIATED"}
    assert any(not e["is_active"] for e in upserts)
    month = NOW.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    assert any(ts(e, "created_at") >= month for e in upserts)
    assert len({e["email"] for e in upserts}) == len(upserts)


def test_traffic_mix(big: list[Event]) -> None:
    starts = [e for e in big if e["type"] == "session_start"]
    assert {e["device_type"] for e in starts} == {"desktop", "mobile", "tablet", None}
    anonymous = sum(1 for e in starts if e["user_id"] is None)
    assert 0.2 < anonymous / len(starts) < 0.95
    ended = {e["session_id"] for e in big if e["type"] == "session_end"}
    assert 0.8 < len(ended) / len(starts) < 0.99
    views = [e for e in big if e["type"] == "pageview"]
    slow = sum(1 for e in views if (e["load_time_ms"] or 0) > 3000)
    assert 0.01 < slow / len(views) < 0.2
    kinds = {e["event_type"] for e in big if e["type"] == "conversion"}
    assert {"registration", "contact_click", "event_signup"} <= kinds
    queries = {e["query"] for e in big if e["type"] == "search"}
    assert {"biuro rachunkowe", "logistics"} & queries


def test_walks_cover_every_section_of_the_reference(big: list[Event]) -> None:
    paths = Counter(e["path"] for e in big if e["type"] == "pageview")
    for prefix in SECTIONS:
        hits = paths["/"] if prefix == "/" else sum(
            n for p, n in paths.items() if p.startswith(prefix))
        assert hits > 0, prefix
    assert sum(1 for n in paths.values() if n < 5) > 20  # a long tail of rarely seen pages


def test_live_traffic_flows_at_the_requested_rate() -> None:
    rng = random.Random(2)
    model = TrafficModel(Population(300, rng, NOW), rng, rate=30.0)
    for _ in model.start(NOW):
        pass
    per_minute = [sum(len(model.take(NOW + timedelta(seconds=60 * m + s + 1)))
                      for s in range(60)) / 60 for m in range(8)]
    assert all(0.75 * 30 < r < 1.3 * 30 for r in per_minute), per_minute


def test_take_respects_its_limit_and_keeps_time_order() -> None:
    rng = random.Random(4)
    model = TrafficModel(Population(20, rng, NOW), rng, rate=40.0)
    list(model.start(NOW))
    later = NOW + timedelta(seconds=30)
    first = model.take(later, 10)
    rest = model.take(later)
    assert len(first) == 10 and len(rest) > 100
    times = [ts(e) for e in first + rest]
    assert times == sorted(times) and times[-1] <= later


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), reason=st.sampled_from(BAD_REASONS))
def test_bad_messages_are_rejected_with_their_reason(seed: int, reason: str) -> None:
    rng = random.Random(seed)
    event = rng.choice(_SAMPLE)
    bad = break_event(event, rng, NOW, reason)
    verdict = contract.decode(bad.value, now=NOW)
    assert isinstance(verdict, contract.Invalid) and verdict.reason == reason, verdict
    valid = decode(event, NOW)
    assert not isinstance(valid, contract.Invalid)
    assert bad.kind == contract.TOPIC_OF_TYPE[event["type"]]
    assert bad.key == contract.message_key(valid).encode()


_SAMPLE = generate(seed=9, users=15, days=1)


def test_break_event_refuses_an_invalid_original() -> None:
    with pytest.raises(ValueError, match="valid event"):
        break_event({"type": "pageview"}, random.Random(1), NOW)


def test_token_bucket_grants_the_rate_and_caps_bursts() -> None:
    bucket = TokenBucket(10.0, 0.0, burst=5)
    assert bucket.grant(0.1) == 1
    bucket.spend(1)
    assert bucket.grant(0.35) == 2
    assert bucket.grant(100.0) == 5


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> datetime:
        return NOW + timedelta(seconds=self.t)

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(seconds, 0.001)


class FakeSink:
    """Validates like ``Emitter`` and records what was sent, with the fake time."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.valid: list[tuple[float, Event]] = []
        self.raw: list[tuple[float, str, bytes]] = []
        self.flushed = False

    def emit(self, event: Mapping[str, Any]) -> None:
        verdict = decode(event, self.clock.now())
        if isinstance(verdict, contract.Invalid):
            raise InvalidEvent(verdict.reason, verdict.detail)
        self.valid.append((self.clock.t, dict(event)))

    def send_raw(self, kind: str, key: bytes | None, value: bytes) -> None:
        assert key
        self.raw.append((self.clock.t, kind, value))

    def flush(self, timeout_s: float | None = None) -> None:
        self.flushed = True


def test_run_paces_live_events_and_mixes_in_bad_messages() -> None:
    clock = FakeClock()
    sink = FakeSink(clock)
    counts = run(sink, users=30, rate=100.0, duration=3.0, progress=False, seed=5,
                 bad_ratio=0.2, clock=clock)
    assert sink.flushed and "refused" not in counts
    assert sum(counts.values()) == len(sink.valid) + len(sink.raw)
    assert sum(n for k, n in counts.items() if k.startswith("bad:")) == len(sink.raw)
    assert 0.15 < len(sink.raw) / (len(sink.valid) + len(sink.raw)) < 0.25
    live = [t for t, _ in sink.valid if t > 0] + [t for t, _, _ in sink.raw if t > 0]
    assert 0.8 * 300 < len(live) <= 300 + 20
    for second in range(3):
        assert sum(1 for t in live if second <= t < second + 1) <= 100 + 20
    for _, kind, value in sink.raw:
        verdict = contract.decode(value, now=NOW + timedelta(seconds=3))
        assert isinstance(verdict, contract.Invalid) and verdict.reason in BAD_REASONS
        assert kind in contract.TOPIC_OF_TYPE.values()


def test_run_without_a_rate_sends_live_events_as_they_come_due() -> None:
    # No token bucket: every event goes out in the tick it comes due, never early.
    clock = FakeClock()
    sink = FakeSink(clock)
    counts = run(sink, users=3000, rate=None, duration=600.0, progress=False, seed=8,
                 clock=clock, tick_s=1.0)
    # Both times are the fake clock's (no real time passes): an event is sent in the first
    # tick at or after its due time, never before it.
    live = [(tick, e) for tick, e in sink.valid if tick > 0]
    assert len(live) > 20 and "refused" not in counts
    for tick, event in live:
        due = (ts(event) - NOW).total_seconds()
        assert tick - 1.0 <= due <= tick


def test_run_with_progress_and_without_users() -> None:
    clock = FakeClock()
    sink = FakeSink(clock)
    counts = run(sink, users=0, rate=20.0, duration=0.5, progress=True, seed=1, clock=clock)
    assert counts["session_start"] > 0
    kinds = Counter(e.get("event_type") for _, e in sink.valid)
    assert counts.get("user_upsert", 0) == kinds["registration"]  # only users who sign up


def test_run_is_deterministic_for_a_seed() -> None:
    def once() -> list[Event]:
        clock = FakeClock()
        sink = FakeSink(clock)
        run(sink, users=10, rate=50.0, duration=1.0, progress=False, seed=42, clock=clock)
        return [e for _, e in sink.valid]

    assert once() == once()


def test_simulate_command_wires_settings_servers_and_driver(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: dict[str, Any] = {}

    class Urls:
        kafka_bootstrap = "broker:9092"

    class Sink:
        def __init__(self, bootstrap: str, topics: Mapping[str, str]) -> None:
            calls["sink"] = (bootstrap, dict(topics))

        def __enter__(self) -> Sink:
            return self

        def __exit__(self, *exc: object) -> None:
            calls["closed"] = True

    def fake_run(sink: Sink, **options: Any) -> dict[str, int]:
        calls["run"] = options
        return {"pageview": 3}

    monkeypatch.setattr(simulate_cli, "resolve", lambda settings: Urls())
    monkeypatch.setattr(kafka, "ensure_topics",
                        lambda bootstrap, names, partitions: calls.setdefault("topics", [*names]))
    monkeypatch.setattr(simulate_cli, "KafkaSink", Sink)
    monkeypatch.setattr(simulate_cli, "run", fake_run)
    app = typer.Typer()
    app.command()(simulate_cli.simulate)
    app.command("noop")(lambda: None)
    result = CliRunner().invoke(app, ["simulate", "--users", "7", "--rate", "2.5",
                                      "--duration", "0", "--seed", "3", "--bad-ratio", "0.1"])
    assert result.exit_code == 0, result.output
    assert calls["run"] == {"users": 7, "rate": 2.5, "duration": 0.0, "seed": 3,
                            "backfill_days": 0, "bad_ratio": 0.1}
    assert calls["sink"][0] == "broker:9092" and calls["closed"]
    assert calls["topics"] == list(Settings().topics().values())
