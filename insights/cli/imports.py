"""``insights import``: history from files of contract events, produced through Kafka.

Each event is checked as the consumer checks it (``contract.decode``) and sent with
its key to its topic, like a live event, so the consumers' exactly-once path
applies: importing a file again adds nothing (events without an ``event_id`` get a
stable one, ``insights.events.files``). Refused lines are counted per reason,
listed, and kept in a rejects file (JSON Lines: source, line, reason, detail, text).
"""

from __future__ import annotations

import io
import sys
import time
import zlib
from collections import Counter
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Annotated, Any
from urllib.parse import urlsplit, urlunsplit

import msgspec
import psycopg2
import typer
from kafka.errors import KafkaError
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn
from rich.table import Table

from insights import logs
from insights.database import Connection, connect
from insights.endpoints import resolve
from insights.events import contract, files, kafka, reference
from insights.events.producer import Emitter, InvalidEvent, encode
from insights.settings import Settings

console = Console(stderr=True, soft_wrap=True)   # messages whole, for people and scripts
DEFAULT_REJECTS = Path("insights-import-rejects.jsonl")


@dataclass
class Tally:
    """What an import did: events sent (or that would be), and refusals per reason."""

    sent: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    examples: list[tuple[str, int, str, str]] = field(default_factory=list)

    def refuse(self, source: str, line: files.Line, reason: str, detail: str) -> None:
        self.refused[reason] += 1
        if len(self.examples) < 10:
            self.examples.append((source, line.number, reason, detail[:160]))


class _Counted(io.RawIOBase):
    """A binary stream that reports the bytes read from it (for the progress bar)."""

    def __init__(self, inner: IO[bytes], progress: Progress, task: TaskID) -> None:
        self._inner, self._progress, self._task = inner, progress, task

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._inner.read(len(buffer))
        buffer[:len(data)] = data
        self._progress.advance(self._task, len(data))
        return len(data)


def import_events(
    paths: Annotated[list[str] | None, typer.Argument(
        metavar="[FILE]...", help="JSON Lines or CSV files, plain or gzip; - for stdin")] = None,
    *,
    fmt: Annotated[str | None, typer.Option(
        "--format", help="jsonl or csv (default: from the file name; stdin: jsonl)")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="check and count the events, produce nothing")] = False,
    rejects: Annotated[Path | None, typer.Option(
        help=f"where refused lines are kept (default: ./{DEFAULT_REJECTS} when any)")] = None,
    from_db: Annotated[str | None, typer.Option(
        "--from-db", help="the reference application's PostgreSQL URL, instead of files")
    ] = None,
    schema: Annotated[str, typer.Option(help="its schema (with --from-db)")] = "public",
) -> None:
    """Import history from files of contract events, or from the reference application's
    database, through Kafka (a second run adds nothing); exit 1 when some lines or rows
    were refused (they are in the rejects file)."""
    if fmt is not None and fmt not in files.FORMATS:
        raise _fail(f"--format is one of {', '.join(files.FORMATS)}")
    if bool(paths) == bool(from_db):
        raise _fail("give files, or --from-db URL (not both)")
    sources = [(p, _format(p, fmt)) for p in paths or []]
    settings = Settings()
    logs.configure(settings.log_level)
    started = time.monotonic()
    try:
        importer = _run(settings, sources, from_db, schema, dry_run=dry_run,
                        rejects=rejects or DEFAULT_REJECTS)
    except KafkaError as exc:
        raise _fail(f"Kafka: {type(exc).__name__}: {exc}. Run the import again once the "
                    "broker answers: events already sent are not counted twice (stable "
                    "ids)") from None
    _report(importer.tally, time.monotonic() - started, dry_run, importer.kept)
    if importer.tally.refused:
        raise typer.Exit(1)


def _run(settings: Settings, sources: list[tuple[str, files.Format]], from_db: str | None,
         schema: str, *, dry_run: bool, rejects: Path) -> Importer:
    """Every source through one importer (and one producer unless a dry run)."""
    with ExitStack() as stack:
        emitter = None
        if not dry_run:
            urls = resolve(settings)
            kafka.ensure_topics(urls.kafka_bootstrap, settings.topics().values(),
                                settings.partitions)
            emitter = stack.enter_context(Emitter(urls.kafka_bootstrap, settings.topics(),
                                                  max_bytes=settings.max_message_bytes))
        importer = Importer(emitter, settings, rejects)
        stack.callback(importer.kept.close)
        for path, source_format in sources:
            importer.file(path, source_format)
        if from_db:
            importer.database(from_db, schema)
    return importer


def _format(path: str, given: str | None) -> files.Format:
    if given is not None:
        return given  # type: ignore[return-value]
    if path == "-":
        return "jsonl"
    found = files.format_of(path)
    if found is None:
        raise _fail(f"{path}: say --format jsonl or --format csv (the name does not tell)")
    if not Path(path).is_file():
        raise _fail(f"{path}: no such file")
    return found


class Importer:
    """Sends (or, with no emitter, only checks) the events of files, keeping the tally and
    the refused lines."""

    def __init__(self, emitter: Emitter | None, settings: Settings, rejects: Path) -> None:
        self.emitter, self.settings = emitter, settings
        self.tally, self.kept = Tally(), _Rejects(rejects)

    def file(self, path: str, fmt: files.Format) -> None:
        """Every event of one file, with a progress bar over its bytes."""
        size = None if path == "-" else Path(path).stat().st_size
        columns = (TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
                   TextColumn("{task.fields[events]:,} events, {task.fields[rate]:,.0f}/s"))
        with ExitStack() as stack:
            raw = sys.stdin.buffer if path == "-" else stack.enter_context(open(path, "rb"))
            bar = stack.enter_context(Progress(*columns, console=console))
            task = bar.add_task("stdin" if path == "-" else Path(path).name, total=size,
                                events=0, rate=0.0)
            began, before = time.monotonic(), self.tally.sent
            read = files.lines(io.BufferedReader(_Counted(raw, bar, task)), fmt)
            line = files.Line(0, None)
            try:
                for n, line in enumerate(read):
                    self.line(path, line)
                    if n % 500 == 0:
                        self._show(bar, task, self.tally.sent - before, began)
            except (OSError, EOFError, zlib.error, UnicodeError) as exc:   # a truncated gzip...
                self._refuse(path, files.Line(line.number + 1, None), "unreadable",
                             f"the file cannot be read after line {line.number}: "
                             f"{type(exc).__name__}: {exc}")
            self._show(bar, task, self.tally.sent - before, began)
        if self.emitter is not None:
            self.emitter.flush()

    def database(self, url: str, schema: str) -> None:
        """Every table of the reference's database, mapped to events, a progress bar each."""
        try:
            conn = connect(url)
        except psycopg2.Error as exc:
            raise _fail(f"cannot connect to {_shown(url)}: {exc}") from None
        with closing(conn):
            try:
                wanted = [(t, reference.columns(conn, schema, t)) for t in reference.TABLES]
            except reference.MissingColumns as exc:
                raise _fail(f"{exc}: not the reference application's database?") from None
            for table, names in wanted:
                self._table(conn, schema, table, names)
        if self.emitter is not None:
            self.emitter.flush()

    def _table(self, conn: Connection, schema: str, table: reference.Table,
               names: list[str]) -> None:
        columns = (TextColumn("[bold]{task.description}"), BarColumn(),
                   TextColumn("{task.completed:,}/{task.total:,} rows"),
                   TextColumn("{task.fields[events]:,} events, {task.fields[rate]:,.0f}/s"))
        source, now = f"{schema}.{table.name}", datetime.now(UTC)
        with Progress(*columns, console=console) as bar:
            task = bar.add_task(source, total=reference.count(conn, schema, table),
                                events=0, rate=0.0)
            began, before = time.monotonic(), self.tally.sent
            for n, row in enumerate(reference.rows(conn, schema, table, names), start=1):
                mapped = table.mapper(row, now)
                text = str({k: v for k, v in row.items() if v is not None})[:200]
                if isinstance(mapped, reference.Unmapped):
                    self._refuse(source, files.Line(row["id"], None, text=text), "unmapped",
                                 mapped.reason)
                for event in [] if isinstance(mapped, reference.Unmapped) else mapped:
                    self.line(source, files.Line(row["id"], event, text=text))
                if n % 500 == 0:
                    bar.update(task, completed=n)
                    self._show(bar, task, self.tally.sent - before, began)
            bar.update(task, completed=bar.tasks[0].total)
            self._show(bar, task, self.tally.sent - before, began)
        conn.commit()

    @staticmethod
    def _show(bar: Progress, task: TaskID, done: int, began: float) -> None:
        bar.update(task, events=done, rate=done / max(time.monotonic() - began, 1e-3))

    def line(self, source: str, line: files.Line) -> None:
        """Check one line's event as the consumer would, and send it."""
        if line.event is None:
            self._refuse(source, line, line.reason, line.detail)
            return
        try:
            if self.emitter is not None:
                self.emitter.emit(line.event)
            else:
                verdict = contract.decode(encode(line.event), now=datetime.now(UTC),
                                          max_bytes=self.settings.max_message_bytes,
                                          max_future_s=self.settings.max_future_seconds)
                if isinstance(verdict, contract.Invalid):
                    raise InvalidEvent(verdict.reason, verdict.detail)
        except InvalidEvent as exc:
            self._refuse(source, line, exc.reason, exc.detail)
            return
        self.tally.sent += 1

    def _refuse(self, source: str, line: files.Line, reason: str, detail: str) -> None:
        self.tally.refuse(source, line, reason, detail)
        self.kept.write(source, line, reason, detail)


class _Rejects:
    """The rejects file, created at the first refused line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None
        self._encode = msgspec.json.Encoder().encode

    def write(self, source: str, line: files.Line, reason: str, detail: str) -> None:
        if self._file is None:
            self._file = self.path.open("wb")
        self._file.write(self._encode({"source": source, "line": line.number, "reason": reason,
                                       "detail": detail, "text": line.text}) + b"\n")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def _report(tally: Tally, seconds: float, dry_run: bool, kept: _Rejects) -> None:
    verb = "would be produced" if dry_run else "produced"
    rate = tally.sent / max(seconds, 1e-3)
    console.print(f"{tally.sent:,} events {verb} in {seconds:.1f} s ({rate:,.0f}/s); "
                  f"{sum(tally.refused.values()):,} lines refused")
    if not tally.refused:
        return
    table = Table("file", "line", "reason", "detail", title="first refused lines")
    for source, number, reason, detail in tally.examples:
        table.add_row(source, str(number), reason, detail)
    console.print(table)
    console.print("refused per reason: " + ", ".join(
        f"{reason} {n:,}" for reason, n in tally.refused.most_common()))
    console.print(f"every refused line is kept in {kept.path}")


def _shown(url: str) -> str:
    """``url`` with its password hidden, to be printed."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]{message}[/red]")
    return typer.Exit(2)
