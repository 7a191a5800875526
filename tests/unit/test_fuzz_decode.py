"""The fuzz strategies (``tests.fuzz``) fed straight into the consumer's pure code.

Thousands of adversarial batches in a few seconds, no servers: ``batch.decode``
gives every record exactly one item, in order, with the contract decoder's
verdict (never ``unprocessable``: that would mean the decoder raised), the
projection's ``decode_counted`` gives the same items after the trip as
``Packed`` columns, and every
accepted event goes through the pure steps both sinks run before any I/O (table
rows, user changes, session ends, page leaves, the COPY text, the Redis
aggregates and touched sets) without an exception. The real consumer and
servers get the same strategies in ``tests/integration/test_fuzz.py``.
``INSIGHTS_FUZZ_UNIT_EXAMPLES`` sets the number of batches (default 500).
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumers import aggregates, batch, copy, rollups, rows, snapshots
from consumers.batch import Accepted, Rejected
from insights.events import contract
from insights.events.kafka import Record
from insights.readmodel.keys import Keys
from scoring.pages import DEFAULT_SECTIONS
from tests import fuzz
from tests.fuzz_text import Message

pytestmark = pytest.mark.chaos
EXAMPLES = int(os.environ.get("INSIGHTS_FUZZ_UNIT_EXAMPLES", "500"))
MAX_BYTES = 64 * 1024


@pytest.mark.timeout(max(300, EXAMPLES // 20))
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(st.lists(fuzz.messages(), min_size=1, max_size=4))
def test_every_record_gets_the_decoders_verdict_and_accepted_ones_make_rows(
        messages: list[Message]) -> None:
    now = datetime.now(UTC)
    records = [Record(m.kind, n % 3, n, m.key, m.render(uuid.uuid4().hex), 0)
               for n, m in enumerate(messages)]
    items = batch.decode(records, now=now, max_bytes=MAX_BYTES, max_future_s=300)
    assert [item.record for item in items] == records
    for item in items:
        verdict = contract.decode(item.record.value, now=now, max_bytes=MAX_BYTES)
        if isinstance(verdict, contract.Invalid):
            assert isinstance(item, Rejected), (item, verdict)
            assert (item.reason, item.detail) == verdict, item
        else:
            assert isinstance(item, Accepted), (item, verdict)
            assert item.event == verdict
    accepted = [item for item in items if isinstance(item, Accepted)]
    counted: dict[tuple[str, int], set[int]] = {}
    for n, item in enumerate(accepted):
        if n % 3:       # the projection's view: some accepted records were not counted
            counted.setdefault((item.record.topic, item.record.partition), set()).add(
                item.record.offset)
    # The projection's decoding, which trusts what was counted, gives the same items.
    assert batch.decode_counted(batch.Packed.of(records).records(), counted, now=now,
                                max_bytes=MAX_BYTES, max_future_s=300) == items
    sink_steps(accepted)


def sink_steps(accepted: list[Accepted]) -> None:
    """What the sinks compute from a batch's events before they touch a server."""
    events = [a.event for a in accepted]
    pairs = [(a.event, a.record.value) for a in accepted]
    ends, leaves = rows.session_ends(events), rows.page_leaves(pairs)
    made = [rows.table_row(event, raw, ends, leaves)[1] for event, raw in pairs]
    made += [change.row() for change in rows.user_changes(events)]
    copy.encode(made).getvalue().decode()
    aggregates.merged(aggregates.Increments(Keys("fuzz", "g"), DEFAULT_SECTIONS), events)
    rollups.touched_users(events)
    snapshots.touched_sessions(events)


def test_the_strategies_reach_every_verdict() -> None:
    """A guard on the generator: valid events and each decoder reason are all drawn
    (derandomized: a rare reason must not make it flaky)."""
    seen: set[str] = set()

    @settings(max_examples=1200, deadline=None, database=None, derandomize=True,
              suppress_health_check=[
        HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(fuzz.messages())
    def draw(message: Message) -> None:
        verdict = contract.decode(message.render(uuid.uuid4().hex), now=datetime.now(UTC))
        seen.add(verdict.reason if isinstance(verdict, contract.Invalid) else "valid")

    draw()
    assert seen >= {"valid", *contract.REASONS}, {"valid", *contract.REASONS} - seen
