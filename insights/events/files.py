"""Contract events read from files: JSON Lines and CSV with a header, plain or gzip.

``insights import`` produces what this reads through Kafka, like live events. Each
line (or CSV row) becomes a ``Line``: its event as a JSON object ready for
``insights.events.producer.Emitter``, or the reason it cannot be one. Nothing is
dropped without a ``Line`` saying so.

- JSON Lines: one JSON object per line; blank lines are skipped.
- CSV: a header row naming contract fields (``type``, ``event_id``, ``ts``, ...);
  an empty cell is an absent field; numbers and ``true``/``false`` are read as
  the contract's field types say.
- gzip is recognised by its magic bytes, whatever the file is called.
- A CSV row the reader cannot take (a field over ``csv.field_size_limit``) is
  refused as ``bad_csv``; the rows after it are still read.

An event without ``event_id`` gets a stable one, ``imp-`` and 32 hex digits of
the SHA-256 of its other fields (sorted), so importing the same file again adds
nothing: the consumer's ledger takes each id once.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final, Literal

import msgspec

from insights.events import contract

Format = Literal["jsonl", "csv"]
FORMATS: Final = ("jsonl", "csv")
GZIP_MAGIC: Final = b"\x1f\x8b"
#: The longest line read; a longer one is refused (the consumer's limit is 64 KiB).
MAX_LINE: Final = 1024 * 1024


@dataclass(frozen=True)
class Line:
    """One line of a file: its event, or why it has none (``reason``, ``detail``)."""

    number: int
    event: dict[str, Any] | None
    reason: str = ""
    detail: str = ""
    text: str = ""


def format_of(name: str) -> Format | None:
    """The format a file name says (``.jsonl``, ``.ndjson``, ``.json``, ``.csv``, each
    optionally ``.gz``), or None."""
    base = name.lower().removesuffix(".gz")
    if base.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if base.endswith(".csv"):
        return "csv"
    return None


def opened(binary: io.BufferedReader) -> io.BufferedIOBase:
    """``binary`` decompressed when it starts with gzip's magic bytes."""
    if binary.peek(2)[:2] == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=binary)
    return binary


def stable_id(event: dict[str, Any]) -> str:
    """The event id of an event that has none: a hash of its other fields."""
    rest = {k: v for k, v in event.items() if k != "event_id"}
    digest = hashlib.sha256(msgspec.json.encode(rest, order="sorted")).hexdigest()
    return f"imp-{digest[:32]}"


def lines(binary: io.BufferedReader, fmt: Format) -> Iterator[Line]:
    """Every line of ``binary`` (plain or gzip) in format ``fmt``."""
    source = opened(binary)
    return _jsonl(source) if fmt == "jsonl" else _csv(source)


def _with_id(number: int, event: dict[str, Any], text: str) -> Line:
    if not event.get("event_id"):
        event = {**event, "event_id": stable_id(event)}
    return Line(number, event, text=text)


def _jsonl(source: io.BufferedIOBase) -> Iterator[Line]:
    for number, raw in enumerate(_bounded(source), start=1):
        text = raw.decode("utf-8", "replace").strip()
        if not text:
            continue
        if len(raw) > MAX_LINE:
            yield Line(number, None, "oversize", f"the line is over {MAX_LINE} bytes",
                       text[:200])
            continue
        try:
            value = msgspec.json.decode(raw)
        except msgspec.DecodeError as exc:
            yield Line(number, None, "bad_json", str(exc), text[:200])
            continue
        if not isinstance(value, dict):
            yield Line(number, None, "not_object", f"a line holds {type(value).__name__},"
                       " not an object", text[:200])
            continue
        yield _with_id(number, value, text[:200])


def _bounded(source: io.BufferedIOBase) -> Iterator[bytes]:
    """The lines of ``source``, each cut at ``MAX_LINE`` + 1 bytes (the rest of a longer
    line is skipped), so a file without newlines cannot fill the memory."""
    while True:
        raw = source.readline(MAX_LINE + 1)
        if not raw:
            return
        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
            while (rest := source.readline(MAX_LINE)) and not rest.endswith(b"\n"):
                pass
        yield raw


def _csv(source: io.BufferedIOBase) -> Iterator[Line]:
    text = io.TextIOWrapper(source, encoding="utf-8-sig", errors="replace",  # type: ignore[type-var]
                            newline="")
    rows = csv.reader(text)
    try:
        header = next(rows, None)
    except csv.Error as exc:
        yield Line(1, None, "bad_csv", f"the header cannot be read: {exc}")
        return
    if header is None:
        return
    names = [h.strip() for h in header]
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:      # a field over the limit: this row only
            yield Line(rows.line_num, None, "bad_csv", str(exc))
            continue
        number = rows.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(names):
            yield Line(number, None, "wrong_type", f"{len(row)} cells, the header has "
                       f"{len(names)}", ",".join(row)[:200])
            continue
        cells = {n: c for n, c in zip(names, row, strict=True) if c != ""}
        yield _typed(number, cells)


def _typed(number: int, cells: dict[str, str]) -> Line:
    """A CSV row's cells as the contract's types (``"42"`` an integer, ``"true"`` a bool)."""
    text = ",".join(f"{k}={v}" for k, v in cells.items())[:200]
    if cells.get("type") not in contract.EVENT_TYPES:
        return Line(number, None, "unknown_type", f"type {cells.get('type')!r} is not a "
                    "contract event type", text)
    probe = {**cells, "event_id": cells.get("event_id") or "probe"}
    try:
        typed = msgspec.convert(probe, type=contract.Event, strict=False)
    except msgspec.ValidationError as exc:
        refused = contract.classify(str(exc))
        return Line(number, None, refused.reason, refused.detail, text)
    event = {k: v for k, v in msgspec.to_builtins(typed).items() if k in cells}
    return _with_id(number, event, text)
