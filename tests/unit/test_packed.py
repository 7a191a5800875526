"""The trip of a batch to a writer process: ``Packed`` columns and ``decode_counted``.

``Packed`` must give back every record as it was, the client's verdict on an
undecodable one included, after pickling (what the process pool does).
``decode_counted`` trusts the records an earlier stage counted; a counted record
whose value the contract would not accept is still judged in full.
"""

from __future__ import annotations

import pickle
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from consumers.batch import Accepted, Packed, Rejected, decode, decode_counted
from insights.events.kafka import Record
from insights.events.undecodable import Undecodable

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
VIEW = (b'{"event_id":"e%d","type":"pageview","ts":"2026-12-06T11:00:00Z",'
        b'"pageview_id":"v%d","path":"/a","session_id":"s1","user_id":7}')

records = st.builds(
    Record, topic=st.sampled_from(["t.a", "t.b"]), partition=st.integers(0, 3),
    offset=st.integers(0, 2**40), key=st.none() | st.binary(max_size=8),
    value=st.binary(max_size=64), timestamp_ms=st.integers(-1, 2**41),
    failure=st.none() | st.builds(Undecodable, st.just("undecodable"), st.text(max_size=20)))


@given(st.lists(records, max_size=30))
def test_packed_records_come_back_as_they_were(batch: list[Record]) -> None:
    assert pickle.loads(pickle.dumps(Packed.of(batch))).records() == batch


def test_counted_records_skip_the_checks_and_others_are_judged_in_full() -> None:
    batch = [Record("t", 0, n, None, VIEW % (n, n), 0) for n in range(3)]
    batch.append(Record("t", 0, 3, None, b'{"type": "pageview"}', 0))
    items = decode_counted(batch, {("t", 0): {0, 2, 3}}, now=NOW, max_bytes=65536,
                           max_future_s=300)
    assert items == decode(batch, now=NOW, max_bytes=65536, max_future_s=300)
    assert [type(i) for i in items] == [Accepted, Accepted, Accepted, Rejected]
    assert items[3].reason == "missing_field"     # counted, yet refused: judged in full
