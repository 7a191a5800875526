"""Alert hooks end to end: real broker, PostgreSQL and Redis, a real HTTP receiver on loopback.

A user locked out after two failed log-ins crosses two default rules (problem
score >= 60, account locked). Each crossing reaches the receiver once, signed
(checked here with an independent HMAC), with the same ``webhook-id`` on the
attempts the receiver failed first. The whole topic replayed through the
consumer again records no second alert and sends nothing more; unlocking the
account sends the resolution.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
import redis
from cryptography.fernet import Fernet
from prometheus_client import generate_latest
from pydantic import SecretStr

from consumers import backfill
from consumers.pipeline import Pipeline
from consumers.projection import RedisProjection
from harness.factories import event, stream
from harness.services import (
    ConsumerProcess,
    in_use,
    redis_records,
    stored_records,
    unique,
    wait_for,
)
from insights.alerts import outbox, sealing, signing, store
from insights.alerts.dispatcher import Dispatcher
from insights.database import connect
from insights.events.producer import Emitter
from insights.readmodel.keys import Keys
from insights.settings import Settings
from tests.read_model import wait_ingested
from tests.receiver import Receiver, receiving, verifies


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving(fail_first=2) as got:
        yield got


@pytest.fixture
def alerting(settings: Settings) -> Settings:
    return settings.model_copy(update={
        "secret_key": SecretStr(Fernet.generate_key().decode()), "hooks_allow": "127.0.0.1",
        "alerts_group_s": 0.0, "alerts_retry_base_s": 0.1, "alerts_retry_max_s": 0.5,
        "alerts_metrics_port": 0})


@pytest.fixture
def dispatching(alerting: Settings) -> Iterator[Callable[[], Dispatcher]]:
    running: list[tuple[Dispatcher, threading.Thread]] = []

    def start() -> Dispatcher:
        dispatcher = Dispatcher(alerting, alerting.postgres_url or "")
        thread = threading.Thread(target=dispatcher.run, daemon=True)
        thread.start()
        running.append((dispatcher, thread))
        return dispatcher

    yield start
    for dispatcher, thread in running:
        dispatcher.stop.set()
        thread.join(30)


def _lock_six(emitter: Emitter, now: datetime) -> list[dict[str, Any]]:
    """User 6 tracked, then locked for an hour (crossing "account locked"); the events."""
    events = [event("user_upsert", now - timedelta(days=3), user_id=6, role="MEMBER",
                    email="six@example.com"),
              event("account_locked", now, user_id=6,
                    locked_until=(now + timedelta(hours=1)).isoformat())]
    for body in events:
        emitter.emit(body)
    emitter.flush()
    return events


def _locked_out(emitter: Emitter, user_id: int, *, at: datetime, until: datetime,
                name: str) -> list[dict[str, Any]]:
    """A tracked user (created three days before ``at``) failing to log in twice and
    locked at ``at`` until ``until``; the events, sent."""
    events = [event("user_upsert", at - timedelta(days=3), user_id=user_id, role="MEMBER",
                    email=f"{name.lower()}@example.com", name=name),
              event("login_failed", at, user_id=user_id),
              event("login_failed", at, user_id=user_id),
              event("account_locked", at, user_id=user_id, locked_until=until.isoformat())]
    for body in events:
        emitter.emit(body)
    emitter.flush()
    return events


def alert_rows(settings: Settings) -> list[tuple[str, int, int, str]]:
    with closing(connect(settings.postgres_url or "")) as conn, conn.cursor() as cur:
        cur.execute("SELECT r.name, a.user_id, a.crossing, a.kind FROM alerts a "
                    "JOIN alert_rules r ON r.id = a.rule_id ORDER BY a.id")
        return cur.fetchall()


def test_a_crossing_reaches_the_hook_once_signed_and_retried_under_one_id(
        alerting: Settings, emitter: Emitter, run_pipeline: Callable[..., Pipeline],
        dispatching: Callable[[], Dispatcher], receiver: Receiver) -> None:
    secret = signing.new_secret()
    with closing(connect(alerting.postgres_url or "")) as conn:
        store.add_hook(conn, "ops", receiver.url, "json",
                       sealing.seal(secret, sealing.key(alerting)))
    now = datetime.now(UTC)
    events = _locked_out(emitter, 5, at=now, until=now + timedelta(hours=1), name="Five")
    run_pipeline(alerting)
    dispatching()
    wait_ingested(alerting, len(events))
    wait_for(lambda: len(receiver.delivered()) == 2, 60, "two alerts delivered")

    fired = sorted(alert_rows(alerting))
    assert fired == [("account locked", 5, 1, "firing"), ("problem score >= 60", 5, 1, "firing")]
    ids = [h["webhook-id"] for h, _ in receiver.delivered()]
    assert len(set(ids)) == 2
    # The two failed attempts were retries of deliveries that then arrived, under their id.
    assert {h["webhook-id"] for h, _, status in receiver.requests if status == 500} <= set(ids)
    for headers, body in receiver.delivered():
        assert verifies(secret, headers, body)
        document = msgspec.json.decode(body)
        assert document["type"] == "alert.firing" and document["count"] == 1
        alert = document["alerts"][0]
        assert alert["user"]["email"] == "five@example.com"
        assert alert["link"].endswith("/#/users/5")
        assert {c["name"] for c in alert["components"]} >= {"failed_logins", "is_locked"}
    scores = {msgspec.json.decode(b)["rule"]["name"]: msgspec.json.decode(b)["alerts"][0]
              for _, b in receiver.delivered()}
    assert scores["problem score >= 60"]["value"] == "60"


def test_a_replayed_topic_records_and_sends_nothing_twice_and_the_unlock_resolves(
        alerting: Settings, emitter: Emitter, run_pipeline: Callable[..., Pipeline],
        dispatching: Callable[[], Dispatcher], receiver: Receiver) -> None:
    receiver.fail_first = 0
    with closing(connect(alerting.postgres_url or "")) as conn:
        store.add_hook(conn, "ops", receiver.url, "json",
                       sealing.seal(signing.new_secret(), sealing.key(alerting)))
    now = datetime.now(UTC)
    events = _lock_six(emitter, now)
    first = run_pipeline(alerting)
    dispatching()
    wait_ingested(alerting, len(events))
    wait_for(lambda: len(receiver.delivered()) == 1, 60, "the lock's alert delivered")
    first.stop()

    # The projection forgets how far it got: the next consumer replays every record.
    client = redis.Redis.from_url(alerting.redis_url or "")
    client.delete(in_use(client, alerting.redis_prefix).offsets)
    # A group of its own: where it reads from is the stages' offsets, not the group's.
    run_pipeline(alerting.model_copy(update={"consumer_group": unique("g")}))
    wait_for(lambda: client.hlen(in_use(client, alerting.redis_prefix).offsets) > 0, 60,
             "the replay projected")
    wait_ingested(alerting, len(events))
    assert alert_rows(alerting) == [("account locked", 6, 1, "firing")]

    emitter.emit(event("account_unlocked", now + timedelta(seconds=1), user_id=6))
    emitter.flush()
    wait_for(lambda: len(receiver.delivered()) == 2, 60, "the resolution delivered")
    kinds = [msgspec.json.decode(b)["type"] for _, b in receiver.delivered()]
    assert kinds == ["alert.firing", "alert.resolved"]
    assert alert_rows(alerting) == [("account locked", 6, 1, "firing"),
                                    ("account locked", 6, 1, "resolved")]


def test_history_fires_nothing_and_a_user_still_past_a_rule_alerts_at_their_next_event(
        alerting: Settings, emitter: Emitter, run_pipeline: Callable[..., Pipeline]) -> None:
    # Imported history, or a backlog older than the news horizon: the rules observe it but
    # announce nothing. User 7 was locked two days ago until tomorrow; their first recent
    # event is news, and "account locked" fires then, once.
    now = datetime.now(UTC)
    old = now - timedelta(days=2)
    history = _locked_out(emitter, 7, at=old, until=now + timedelta(days=1), name="Seven")
    run_pipeline(alerting)
    wait_ingested(alerting, len(history))
    assert alert_rows(alerting) == []
    emitter.emit(event("password_reset", now, user_id=7))
    emitter.flush()
    wait_ingested(alerting, len(history) + 1)
    assert ("account locked", 7, 1, "firing") in alert_rows(alerting)
    emitter.emit(event("password_reset", now + timedelta(seconds=1), user_id=7))
    emitter.flush()
    wait_ingested(alerting, len(history) + 2)
    names = [name for name, _, _, _ in alert_rows(alerting)]
    assert len(names) == len(set(names))      # each rule once: still past, not again


@pytest.mark.parametrize("rebuilt_by", ["the consumer", "an online backfill"])
def test_a_rebuilt_read_model_fires_no_alert_again(
        alerting: Settings, emitter: Emitter, run_pipeline: Callable[..., Pipeline],
        rebuilt_by: str) -> None:
    settings = alerting.model_copy(update={"redis_rebuild": "auto"})
    now = datetime.now(UTC)
    events = _lock_six(emitter, now)
    run_pipeline(settings)
    wait_ingested(settings, len(events))
    wait_for(lambda: len(alert_rows(settings)) == 1, 60, "the lock's alert recorded")
    client = redis.Redis.from_url(settings.redis_url or "", decode_responses=True)
    keys = Keys(settings.redis_prefix)
    before = client.get(keys.generation)
    if rebuilt_by == "the consumer":
        client.delete(keys.generation)                    # Redis lost the read model
    else:                                                 # while the consumer runs
        sink = RedisProjection(settings.redis_url or "", settings.postgres_url or "",
                               settings.redis_prefix)
        with closing(connect(settings.postgres_url or "")) as conn, closing(sink):
            backfill.rebuild(sink, conn, datetime.now(UTC))
    wait_for(lambda: client.get(keys.generation) not in (None, before), 60,
             f"{rebuilt_by} rebuilt the read model")
    emitter.emit(event("login_failed", now, user_id=7))  # and goes on
    emitter.flush()
    wait_ingested(settings, len(events) + 1)
    assert alert_rows(settings) == [("account locked", 6, 1, "firing")]


def test_many_users_crossing_together_make_one_notification_and_later_ones_wait(
        alerting: Settings, emitter: Emitter, run_pipeline: Callable[..., Pipeline],
        dispatching: Callable[[], Dispatcher], receiver: Receiver) -> None:
    receiver.fail_first = 0
    grouped = alerting.model_copy(update={"alerts_group_s": 600.0})
    with closing(connect(grouped.postgres_url or "")) as conn:
        store.add_hook(conn, "ops", receiver.url, "slack",
                       sealing.seal(signing.new_secret(), sealing.key(grouped)))
    now = datetime.now(UTC)
    until = (now + timedelta(hours=1)).isoformat()
    wave = [event("user_upsert", now - timedelta(days=3), user_id=u, role="MEMBER",
                  email=f"u{u}@example.com") for u in range(10, 40)]
    wave += [event("account_locked", now, user_id=u, locked_until=until) for u in range(10, 35)]
    for body in wave:
        emitter.emit(body)
    emitter.flush()
    run_pipeline(grouped.model_copy(update={"batch_linger_ms": 3000}))
    wait_ingested(grouped, len(wave))
    dispatcher = Dispatcher(grouped, grouped.postgres_url or "")
    thread = threading.Thread(target=dispatcher.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: len(receiver.delivered()) == 1, 60, "one notification")
        text = msgspec.json.decode(receiver.delivered()[0][1])["text"]
        assert "account locked fired for 25 users" in text
        assert "and 5 more" in text                       # 20 named, all counted
        # A later crossing of the same rule waits for the group interval.
        emitter.emit(event("account_locked", now, user_id=39, locked_until=until))
        emitter.flush()
        wait_for(lambda: len(alert_rows(grouped)) == 26, 60, "the later alert recorded")
        with closing(connect(grouped.postgres_url or "")) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM alerts WHERE notification_id IS NULL")
            assert cur.fetchone() == (1,)
        assert len(receiver.requests) == 1
    finally:
        dispatcher.stop.set()
        thread.join(30)


def _queue(settings: Settings, hook_id: int, n: int) -> list[str]:
    """``n`` test notifications for one hook, straight into the outbox."""
    with closing(connect(settings.postgres_url or "")) as conn:
        return [str(outbox.queue_test(conn, hook_id, settings.dashboard_url))
                for _ in range(n)]


def test_two_dispatchers_never_send_one_delivery_twice_and_a_late_receiver_gets_all(
        alerting: Settings, dispatching: Callable[[], Dispatcher], receiver: Receiver) -> None:
    receiver.fail_first = 0
    # Nothing listens on the hook's port at first: connections are refused.
    dead = f"http://127.0.0.1:{_free_port()}/hook"
    with closing(connect(alerting.postgres_url or "")) as conn:
        hook = store.add_hook(conn, "ops", dead, "json",
                              sealing.seal(signing.new_secret(), sealing.key(alerting)))
    ids = _queue(alerting, hook, 30)
    dispatching()
    dispatching()
    wait_for(lambda: _attempts(alerting) >= 30, 60, "every delivery tried")
    assert receiver.requests == []
    with closing(connect(alerting.postgres_url or "")) as conn, conn.cursor() as cur:
        cur.execute("UPDATE alert_hooks SET url = %s", (receiver.url,))    # the receiver is up
        conn.commit()
    wait_for(lambda: len(receiver.delivered()) >= 30, 60, "every delivery arrived")
    got = [h["webhook-id"] for h, _ in receiver.delivered()]
    assert sorted(got) == sorted(ids)                  # each once, none twice
    # A dispatcher records a delivery once the receiver has answered: a moment after.
    wait_for(lambda: _states(alerting) == [("delivered", 30)], 30, "every delivery recorded")
    with closing(connect(alerting.postgres_url or "")) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM alert_attempts WHERE error LIKE 'connection refused%'")
        assert cur.fetchone()[0] >= 30  # type: ignore[index]


def test_a_hook_failing_for_too_long_is_disabled_and_its_delivery_failed(
        alerting: Settings, receiver: Receiver) -> None:
    receiver.fail_first = 10**6                        # always 500
    quick = alerting.model_copy(update={"alerts_give_up_s": 1.0, "alerts_disable_after_s": 1.0})
    with closing(connect(quick.postgres_url or "")) as conn:
        store.add_hook(conn, "flaky", receiver.url, "json",
                       sealing.seal(signing.new_secret(), sealing.key(quick)))
        hook = store.load_hooks(conn)[0]
    _queue(quick, hook.id, 1)
    dispatcher = Dispatcher(quick, quick.postgres_url or "")
    thread = threading.Thread(target=dispatcher.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: not _hook(quick).enabled, 60, "the hook disabled")
    finally:
        dispatcher.stop.set()
        thread.join(30)
    assert "every delivery failed" in (_hook(quick).disabled_reason or "")
    with closing(connect(quick.postgres_url or "")) as conn, conn.cursor() as cur:
        cur.execute("SELECT state, last_error FROM alert_deliveries")
        assert cur.fetchall() == [("failed", "HTTP 500")]
    assert len({h["webhook-id"] for h, _, _ in receiver.requests}) == 1
    text = generate_latest(dispatcher.metrics.registry).decode()
    assert 'insights_alert_attempts_total{outcome="retry"}' in text
    assert "insights_alert_hooks_disabled 1.0" in text
    assert "insights_alert_deliveries_pending 0.0" in text


def _hook(settings: Settings) -> store.Hook:
    with closing(connect(settings.postgres_url or "")) as conn:
        return store.load_hooks(conn)[0]


def _states(settings: Settings) -> list[tuple[str, int]]:
    with closing(connect(settings.postgres_url or "")) as conn, conn.cursor() as cur:
        cur.execute("SELECT state, count(*) FROM alert_deliveries GROUP BY 1 ORDER BY 1")
        return cur.fetchall()


def _attempts(settings: Settings) -> int:
    with closing(connect(settings.postgres_url or "")) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(DISTINCT delivery_id) FROM alert_attempts")
        return int(cur.fetchone()[0])  # type: ignore[index]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Clock:
    """A clock the test sets; the pipeline reads it for every batch and tick."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def test_the_midnight_roll_alone_turns_an_engaged_user_at_risk(
        alerting: Settings, emitter: Emitter, run_pipeline: Callable[..., Pipeline]) -> None:
    """Last log-in 7 days ago at 23:59 (active, 25 points), 8 days ago a minute later:
    the rule fires from the clock, with no new event."""
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    clock = Clock(midnight - timedelta(seconds=30))
    day = timedelta(days=1)
    events = [event("user_upsert", midnight - 40 * day, user_id=8, role="MEMBER",
                    email="eight@example.com"),
              event("login_succeeded", midnight - 8 * day + timedelta(hours=12), user_id=8),
              event("session_start", midnight - 3 * day, session_id="s8", user_id=8),
              *(event("pageview", midnight - 3 * day, pageview_id=f"p8-{n}", session_id="s8",
                      user_id=8, path="/jobs") for n in range(25))]
    for body in events:
        emitter.emit(body)
    emitter.flush()
    run_pipeline(alerting, clock)
    wait_ingested(alerting, len(events))
    with closing(connect(alerting.postgres_url or "")) as conn, conn.cursor() as cur:
        wait_for(lambda: _status_of(cur, 8) == "active", 30, "the user seen active")
        assert alert_rows(alerting) == []
        clock.at = midnight + timedelta(seconds=30)         # the next tick rolls the windows
        wait_for(lambda: _status_of(cur, 8) == "at_risk", 60, "the user seen at risk")
    assert alert_rows(alerting) == [("engaged user now at risk", 8, 1, "firing")]


def _status_of(cur: Any, user_id: int) -> str | None:
    cur.execute("SELECT s.value FROM alert_states s JOIN alert_rules r ON r.id = s.rule_id "
                "WHERE r.metric = 'status' AND s.user_id = %s", (user_id,))
    row = cur.fetchone()
    cur.connection.commit()
    return None if row is None else str(row[0])


@pytest.mark.slow
def test_sigkilled_consumers_record_each_crossing_once_and_lose_none(
        settings: Settings, emitter: Emitter,
        consumer_process: Callable[[], ConsumerProcess]) -> None:
    """Forty users cross two rules each, among 10,000 events of background traffic,
    while the consumer is SIGKILLed three times: every crossing is recorded, once."""
    now = datetime.now(UTC)
    until = (now + timedelta(hours=2)).isoformat()
    crossing = [e for u in range(10_000, 10_040) for e in (
        event("user_upsert", now - timedelta(days=3), user_id=u, email=f"c{u}@example.com"),
        event("login_failed", now, user_id=u), event("login_failed", now, user_id=u),
        event("account_locked", now, user_id=u, locked_until=until))]
    background = list(stream(10_000, users=300, seed=3))
    mixed = background[:]
    for n, e in enumerate(crossing):                       # spread through the stream
        mixed.insert((n + 1) * len(background) // (len(crossing) + 1) + n, e)
    rng = random.Random(5)
    consumer = consumer_process().start()
    sender = threading.Thread(target=_send, args=(emitter, mixed, 3000), daemon=True)
    sender.start()
    for _ in range(3):
        time.sleep(rng.uniform(1.0, 2.5))
        consumer.kill()
        consumer.start()
    sender.join(120)
    wait_for(lambda: stored_records(settings) >= len(mixed) and redis_records(settings)
             >= len(mixed), 180, "every record in both stages")
    assert consumer.terminate() == 0, consumer.log()[-3000:]
    with closing(connect(settings.postgres_url or "")) as conn, conn.cursor() as cur:
        cur.execute("SELECT r.name, a.user_id, count(*), max(a.crossing) FROM alerts a "
                    "JOIN alert_rules r ON r.id = a.rule_id "
                    "WHERE a.user_id >= 10000 AND a.kind = 'firing' GROUP BY 1, 2")
        found = {(rule, user): (n, top) for rule, user, n, top in cur.fetchall()}
    want = {(rule, u) for u in range(10_000, 10_040)
            for rule in ("account locked", "problem score >= 60")}
    assert set(found) == want
    assert set(found.values()) == {(1, 1)}


def _send(emitter: Emitter, events: list[dict[str, Any]], rate: float) -> None:
    started = time.monotonic()
    for n, body in enumerate(events):
        emitter.emit(body)
        ahead = n / rate - (time.monotonic() - started)
        if ahead > 0.01:
            time.sleep(ahead)
    emitter.flush()


def test_a_dispatcher_round_that_moved_deliveries_is_announced_to_the_web_app(
        alerting: Settings, receiver: Receiver) -> None:
    from insights.alerts.dispatcher import Announcer

    receiver.fail_first = 0
    with closing(connect(alerting.postgres_url or "")) as conn:
        hook = store.add_hook(conn, "ops", receiver.url, "json",
                              sealing.seal(signing.new_secret(), sealing.key(alerting)))
    client = redis.Redis.from_url(alerting.redis_url or "")
    keys = Keys(alerting.redis_prefix)
    listener = client.pubsub()
    listener.subscribe(keys.changes)
    assert listener.get_message(timeout=5)["type"] == "subscribe"  # type: ignore[index]
    dispatcher = Dispatcher(alerting, alerting.postgres_url or "", Announcer(client, keys.changes))
    with closing(connect(alerting.postgres_url or "")) as conn:
        assert dispatcher.round(conn) is False
        assert listener.get_message(timeout=0.5) is None       # nothing moved, nothing said
        _queue(alerting, hook, 1)
        assert dispatcher.round(conn) is True
    message = listener.get_message(timeout=5)
    assert message is not None
    assert msgspec.json.decode(message["data"])["users"] == []
    assert len(receiver.delivered()) == 1
    listener.close()
