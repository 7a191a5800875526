"""Fuzzing as a standing test: adversarial messages through the real consumer and servers.

One ``insights consume`` process runs for the whole test; each hypothesis
example produces a list of messages from ``tests.fuzz`` (random bytes, mutated
events, extreme numbers and times, deep nesting, odd encodings, duplicate
names, huge fields), interleaved with valid canary events, as raw bytes with
random keys. Once both sinks' offsets cover everything produced, every offset
must be either applied (``event_ledger``, and the event's row in its table) or
dead-lettered (``rejected_events``, with a documented reason), with the verdict
the contract's decoder gives, and every canary applied exactly once. The
consumer must still run. After the last example, every tab and profile read
from Redis must equal the SQL reference over what PostgreSQL holds.

A dead letter the decoder cannot predict (``conflict``, ``unstorable``,
``unprocessable``) for a message it accepts is a finding: the test fails and
prints the message. Size: ``INSIGHTS_FUZZ_EXAMPLES`` examples (default 15) of
10 to ``INSIGHTS_FUZZ_MESSAGES`` messages (default 30); ``make chaos`` runs 200.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, cast

import msgspec
import pytest
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from consumers import rows
from harness.factories import event
from harness.services import ConsumerProcess, query, redis_records, stored_records, wait_for
from insights.events import contract
from insights.events.kafka import EventProducer
from insights.settings import Settings
from tests import fuzz
from tests.fuzz_text import Message
from tests.read_model import (
    assert_same,
    assert_same_profile,
    documents,
    profiles,
    steady_now,
)

pytestmark = pytest.mark.chaos
log = logging.getLogger(__name__)
EXAMPLES = int(os.environ.get("INSIGHTS_FUZZ_EXAMPLES", "15"))
MESSAGES = int(os.environ.get("INSIGHTS_FUZZ_MESSAGES", "30"))
CANARY_EVERY = 4
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)
#: The reasons only the sinks give: the decoder cannot foresee them.
SINK_REASONS = frozenset({"conflict", "unstorable", "unprocessable"})
#: Every reason docs/events.md lists.
DOCUMENTED = frozenset({"undecodable", *contract.REASONS, *SINK_REASONS})
#: Canary type -> (table, column holding its marker, fields that carry the marker).
CANARIES: dict[str, tuple[str, str, Callable[[str], dict[str, Any]]]] = {
    "search": ("search_queries", "query", lambda m: {"query": m, "user_id": 3}),
    "pageview": ("page_views", "path", lambda m: {"path": "/" + m, "pageview_id": m,
                                                   "session_id": m}),
    "js_error": ("js_errors", "message", lambda m: {"message": m, "session_id": m}),
    "conversion": ("conversion_events", "event_type", lambda m: {"event_type": m}),
    # First in each example: the session the example's views may share (``Slot.shared``).
    "session_start": ("user_sessions", "session_id", lambda m: {"session_id": m, "user_id": 3}),
}
CYCLE = ("search", "pageview", "js_error", "conversion")


class Sent(NamedTuple):
    """One produced message: where, what, how it was made; ``canary``: its marker."""

    topic: str
    key: bytes | None
    value: bytes
    label: str
    canary: str | None = None

    def show(self) -> str:
        return f"[{self.label}] topic={self.topic} key={self.key!r:.60} value={self.value!r:.600}"


@pytest.mark.timeout(max(300, EXAMPLES * 40))
def test_every_fuzzed_message_is_applied_or_dead_lettered_and_the_consumer_stays_up(
        settings: Settings, raw_producer: EventProducer,
        consumer_process: Callable[[], ConsumerProcess]) -> None:
    consumer = consumer_process().start()
    run = FuzzRun(settings, raw_producer, consumer)

    # One consumer for every example: the fixtures are made once, outside hypothesis. No
    # shrinking: an example takes a second of real servers, and a failure already names
    # each message that went wrong.
    @hypothesis_settings(max_examples=EXAMPLES, deadline=None, phases=NO_SHRINK,
                         suppress_health_check=[
                             HealthCheck.too_slow, HealthCheck.data_too_large,
                             HealthCheck.large_base_example, HealthCheck.function_scoped_fixture])
    @given(st.lists(fuzz.messages(), min_size=max(1, MESSAGES // 3), max_size=MESSAGES))
    def example(messages: list[Message]) -> None:
        run.check(messages)

    example()
    consumer.check_alive()
    # Whatever valid events came through among the rest, the read model tells the truth.
    now = steady_now(settings)
    for what, got, want in documents(settings, now):
        assert_same(what, got, want)
    for what, got, want in profiles(settings, now):
        assert_same_profile(what, got, want)
    log.info("%d messages produced in %d examples: %s", run.produced, EXAMPLES,
             dict(run.outcomes.most_common()))
    assert run.outcomes["applied"] > 0 and len(run.outcomes) > 3
    assert consumer.terminate() == 0


class FuzzRun:
    """Produces examples through the running consumer and checks each one."""

    def __init__(self, settings: Settings, producer: EventProducer,
                 consumer: ConsumerProcess) -> None:
        self.settings, self.producer, self.consumer = settings, producer, consumer
        self.db = settings.postgres_url or ""
        self.topics = settings.topics()
        self.produced = 0
        self.ids: set[str] = set()         # event ids the decoder accepted, whole run
        self.outcomes: Counter[str] = Counter()

    def check(self, messages: list[Message]) -> None:
        sent = self._interleave(messages)
        before = self._offsets()
        first = datetime.now(UTC)
        for message in sent:
            self.producer.send_raw(message.topic, message.key, message.value)
        self.producer.flush(60)
        self.produced += len(sent)
        self._settle(self.produced)
        last = datetime.now(UTC)
        problems = Verdicts(self, before, self._offsets(), sent, (first, last)).problems()
        self.consumer.check_alive()
        assert not problems, "\n".join(problems)

    def _interleave(self, messages: list[Message]) -> list[Sent]:
        """The messages, with canaries first (the shared session's start), after every
        few and last."""
        shared = f"canary-{uuid.uuid4().hex}"
        sent = [self._canary("session_start", shared), self._canary(CYCLE[0])]
        for n, message in enumerate(messages, 1):
            sent.append(Sent(self.topics[message.kind], message.key,
                             message.render(uuid.uuid4().hex, shared), message.label))
            if n % CANARY_EVERY == 0:
                sent.append(self._canary(CYCLE[n // CANARY_EVERY % len(CYCLE)]))
        return [*sent, self._canary(CYCLE[-1])]

    def _canary(self, type_: str, marker: str | None = None) -> Sent:
        marker = marker or f"canary-{uuid.uuid4().hex}"
        body = event(type_, datetime.now(UTC) - timedelta(minutes=5),
                     **CANARIES[type_][2](marker))
        valid = contract.decode(msgspec.json.encode(body), now=datetime.now(UTC))
        assert not isinstance(valid, contract.Invalid), valid
        return Sent(self.topics[contract.TOPIC_OF_TYPE[type_]],
                    contract.message_key(valid).encode(), msgspec.json.encode(body),
                    f"canary {type_}", marker)

    def _offsets(self) -> dict[tuple[str, int], int]:
        got = cast(list[tuple[str, int, int]], query(
            self.db, "SELECT topic, \"partition\", next_offset FROM sink_offsets"
            " WHERE sink = 'postgres'"))
        return {(t, p): o for t, p, o in got}

    def _settle(self, total: int) -> None:
        def done() -> bool:
            self.consumer.check_alive()
            return (stored_records(self.settings) >= total
                    and redis_records(self.settings) >= total)
        wait_for(done, 120, f"{total} records in both sinks")


Position = tuple[str, int, int]


class Verdicts:
    """What one example did, against what the decoder says it must have done."""

    def __init__(self, run: FuzzRun, before: dict[tuple[str, int], int],
                 after: dict[tuple[str, int], int], sent: list[Sent],
                 clocks: tuple[datetime, datetime]) -> None:
        self.run, self.sent, self.clocks = run, sent, clocks
        self.new = {p: (before.get(p, 0), end) for p, end in after.items()
                    if end > before.get(p, 0)}
        ledger = self._rows('SELECT event_id, topic, "partition", "offset" FROM event_ledger')
        self.ledger = {str(r[0]): (str(r[1]), int(r[2]), int(r[3])) for r in ledger}
        self.rejected: dict[Position, tuple[bytes | None, bytes, str, str]] = {
            (str(r[0]), int(r[1]), int(r[2])): (
                None if r[3] is None else bytes(r[3]), bytes(r[4]), str(r[5]), str(r[6]))
            for r in self._rows('SELECT topic, "partition", "offset", key, value, reason,'
                                " detail FROM rejected_events")}
        self.out: list[str] = []

    def _rows(self, select: str) -> list[tuple[Any, ...]]:
        """Rows of this example's offsets."""
        where = " OR ".join('(topic = %s AND "partition" = %s AND "offset" >= %s'
                            ' AND "offset" < %s)' for _ in self.new)
        params = [x for (t, p), (lo, hi) in self.new.items() for x in (t, p, lo, hi)]
        if not self.new:
            return []
        return cast(list[tuple[Any, ...]], query(self.run.db, f"{select} WHERE {where}", *params))

    def problems(self) -> list[str]:
        total = sum(hi - lo for lo, hi in self.new.values())
        if total != len(self.sent):
            self.out.append(f"{len(self.sent)} messages sent but {total} offsets stored")
        applied = self._match()
        self._coverage(applied)
        self._rows_exist(applied)
        self._canaries()
        return self.out

    def _expected(self, sent: Sent) -> tuple[set[str], contract.Event | None]:
        """The outcomes the decoder allows (its verdict at the first and last clock: a
        ``ts`` near the future limit may pass in between), and the event if accepted."""
        outcomes, accepted = set(), None
        for now in self.clocks:
            verdict = contract.decode(sent.value, now=now,
                                      max_bytes=self.run.settings.max_message_bytes,
                                      max_future_s=self.run.settings.max_future_seconds)
            if isinstance(verdict, contract.Invalid):
                outcomes.add(verdict.reason)
            else:
                outcomes.add("applied")
                accepted = verdict
        return outcomes, accepted

    def _match(self) -> dict[Position, tuple[Sent, contract.Event]]:
        """Each message against the decoder: applied, or dead-lettered with its reason."""
        pool: Counter[tuple[str, bytes | None, bytes]] = Counter(
            (p[0], key, value) for p, (key, value, _, _) in self.rejected.items())
        reasons = {(p[0], key, value): (reason, detail)
                   for p, (key, value, reason, detail) in self.rejected.items()}
        applied: dict[Position, tuple[Sent, contract.Event]] = {}
        for sent in self.sent:
            outcomes, accepted = self._expected(sent)
            found = (sent.topic, sent.key, sent.value)
            verdicts = []
            if accepted is not None and accepted.event_id in self.ledger:
                applied[self.ledger[accepted.event_id]] = (sent, accepted)
                self._once(accepted)
                verdicts.append(("applied", ""))
            if pool[found] > 0:
                pool[found] -= 1
                verdicts.append(reasons[found])
            if not verdicts:
                self.out.append(f"neither applied nor dead-lettered: {sent.show()}")
            for actual, detail in verdicts:
                self.run.outcomes[actual] += 1
                if actual != "applied" and actual not in DOCUMENTED:
                    self.out.append(f"undocumented reason {actual!r}: {sent.show()}")
                if len(verdicts) == 1 and actual in outcomes:
                    continue
                if actual in SINK_REASONS and "applied" in outcomes:
                    self.out.append(f"FINDING: the decoder accepts it, a sink dead-lettered it "
                                    f"as {actual} ({detail}): {sent.show()}")
                elif actual not in outcomes or len(verdicts) > 1:
                    self.out.append(f"verdict {actual} {detail!r:.300} where the decoder says "
                                    f"{sorted(outcomes)}: {sent.show()}")
        return applied

    def _once(self, accepted: contract.Event) -> None:
        if accepted.event_id in self.run.ids:
            self.out.append(f"the generator repeated event id {accepted.event_id!r}: "
                            "tests/fuzz.py must make every id unique")
        self.run.ids.add(accepted.event_id)

    def _coverage(self, applied: dict[Position, Any]) -> None:
        """Every offset of the example is applied or dead-lettered, never both or neither."""
        want = {(t, p, o) for (t, p), (lo, hi) in self.new.items() for o in range(lo, hi)}
        ledger = set(self.ledger.values())
        both = ledger & set(self.rejected)
        if both:
            self.out.append(f"applied and dead-lettered: {sorted(both)} "
                            f"({[self.rejected[p][2:] for p in sorted(both)]})")
        missing = want - ledger - set(self.rejected)
        if missing:
            self.out.append(f"offsets neither applied nor dead-lettered: {sorted(missing)}")
        strays = ledger - set(applied)
        if strays:
            self.out.append(f"applied, but the decoder refuses what was sent: {sorted(strays)}")

    def _rows_exist(self, applied: dict[Position, tuple[Sent, contract.Event]]) -> None:
        """Each applied event has its row (a page_leave may sit on its view's row)."""
        tables: dict[str, set[str]] = {}
        for sent, accepted in applied.values():
            table = rows.table_row(accepted, sent.value)[0]
            tables.setdefault(table, set()).add(accepted.event_id)
        for table, ids in tables.items():
            found = {str(r[0]) for r in query(
                self.run.db, f"SELECT event_id FROM {table} WHERE event_id = ANY(%s)", list(ids))}
            if table == "state_events":
                found |= {str(r[0]) for r in query(
                    self.run.db, "SELECT leave_event_id FROM page_views"
                    " WHERE leave_event_id = ANY(%s)", list(ids))}
            if ids - found:
                self.out.append(f"applied without a row in {table}: {sorted(ids - found)}")

    def _canaries(self) -> None:
        """Every canary applied exactly once (counted by its marker)."""
        for type_, (table, column, _) in CANARIES.items():
            markers = [s.canary for s in self.sent if s.canary and s.label == f"canary {type_}"]
            if not markers:
                continue
            wanted = [("/" if type_ == "pageview" else "") + m for m in markers]
            counts: dict[str, int] = dict(cast(list[tuple[str, int]], query(
                self.run.db, f"SELECT {column}, count(*) FROM {table}"
                f" WHERE {column} = ANY(%s) GROUP BY 1", wanted)))
            for marker in markers:
                key = ("/" if type_ == "pageview" else "") + marker
                if counts.get(key) != 1:
                    self.out.append(f"canary {type_} {marker}: {counts.get(key, 0)} rows")
