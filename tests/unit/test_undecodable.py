"""Record batches the Kafka client cannot decode become placeholder records, by offset.

The batches are built with kafka-python's own record builder, then damaged the
way a hostile producer or a missing codec would leave them, and read through the
fetcher's record reader that the consumer installs (no broker needed: this is
kafka-python's parsing of bytes it was handed).
"""

from __future__ import annotations

import struct

import pytest
from kafka.record import MemoryRecords
from kafka.record.memory_records import MemoryRecordsBuilder
from kafka.record.util import calc_crc32c
from kafka.structs import TopicPartition

from insights.events.undecodable import TolerantPartitionRecords, Undecodable

TP = TopicPartition("t", 0)
GZIP, NONE = 1, 0
_ATTRIBUTES, _CRC, _HEADER = 21, 17, 61       # v2 batch layout: CRC covers attributes onward


def batch(first: int, count: int, codec: int = GZIP) -> bytearray:
    builder = MemoryRecordsBuilder(magic=2, compression_type=codec, batch_size=1 << 20)
    for offset in range(first, first + count):
        builder.append(timestamp=1_700_000_000_000, key=b"k",
                       value=b'{"n": %d, "pad": "%s"}' % (offset, b"x" * 200))
    builder.close()
    data = bytearray(builder.buffer())
    struct.pack_into(">q", data, 0, first)    # the base offset the broker gives (outside the CRC)
    return data


def resealed(data: bytearray) -> bytearray:
    """The batch with its CRC made right again (a producer that means harm can do it)."""
    struct.pack_into(">I", data, _CRC, calc_crc32c(bytes(data[_ATTRIBUTES:])))
    return data


Read = list[tuple[int, bytes | None, object]]


def read(buffer: bytes | bytearray, fetch_offset: int = 0) -> Read:
    records = TolerantPartitionRecords(fetch_offset, TP, MemoryRecords(bytes(buffer)))
    return [(r.offset, r.value, r.checksum) for r in records.take()]


def test_good_batches_read_as_they_are() -> None:
    got = read(batch(0, 3) + batch(3, 2, NONE))
    assert [offset for offset, _, _ in got] == [0, 1, 2, 3, 4]
    assert all(not isinstance(mark, Undecodable) for _, _, mark in got)
    assert got[4][1] is not None and got[4][1].startswith(b'{"n": 4')


@pytest.mark.parametrize("damage", ["payload", "codec", "crc"])
def test_a_damaged_batch_becomes_one_placeholder_per_offset(damage: str) -> None:
    bad = batch(3, 4)
    if damage == "payload":
        bad[_HEADER + 10:_HEADER + 40] = b"\xaa" * 30        # gzip body garbled, CRC resealed
        resealed(bad)
    elif damage == "codec":
        bad[_ATTRIBUTES + 1] |= 0x07                          # codec id 7: none such
        resealed(bad)
    else:
        bad[_HEADER + 10] ^= 0xFF                             # CRC left wrong
    got = read(batch(0, 3) + bad + batch(7, 2))
    assert [offset for offset, _, _ in got] == list(range(9))
    for offset, value, mark in got:
        if 3 <= offset <= 6:
            assert isinstance(mark, Undecodable) and mark.reason == "undecodable"
            assert "offsets 3..6" in mark.detail
            assert value == (bytes(bad) if offset == 3 else b"")    # the batch kept once
        else:
            assert not isinstance(mark, Undecodable)


def test_a_fetch_starting_inside_a_damaged_batch_marks_from_there() -> None:
    bad = resealed(batch(10, 5))
    bad[_ATTRIBUTES + 1] |= 0x07
    resealed(bad)
    got = read(bad, fetch_offset=12)
    assert [offset for offset, _, _ in got] == [12, 13, 14]
    assert got[0][1] == bytes(bad)


def test_unreadable_framing_moves_on_one_offset() -> None:
    good = batch(0, 2)
    broken = bytearray(batch(2, 2))
    struct.pack_into(">i", broken, 8, 3)       # a batch length below any batch's header
    got = read(good + broken)
    assert [offset for offset, _, _ in got] == [0, 1, 2]
    assert isinstance(got[2][2], Undecodable) and "framing" in got[2][2].detail
