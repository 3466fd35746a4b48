"""Writing records and stats for scripts: JSON Lines, CSV and a plain-text table.

JSON Lines is the stable export format: one object per record with exactly the keys in
``RECORD_KEYS`` (absent values are ``null``). No format lets log text drive a terminal:
JSON is ASCII-escaped, CSV cells and the table are made inert (and CSV cells that a
spreadsheet would run as a formula are prefixed with ``'``). Credentials are masked unless
the writer is told to reveal them.
"""

from __future__ import annotations

import csv
import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tui.index.stats import Stats, Timeline, sparkline
from tui.model.record import Malformed, Record
from tui.model.secrets import mask_entry, mask_text, mask_written
from tui.model.text import csv_cell, inert
from tui.query.timeparse import format_time_us

if TYPE_CHECKING:
    from tui.index.index import Index

#: Keys of a JSON Lines record, in order (also the CSV columns).
RECORD_KEYS: tuple[str, ...] = (
    "time",
    "epoch_us",
    "client",
    "server",
    "instance",
    "type",
    "arn",
    "auth_ok",
    "method",
    "path",
    "lang",
    "query",
    "fingerprint",
    "op",
    "payload",
    "header",
    "source",
    "line",
)

#: Extra CSV columns written with ``--malformed``.
MALFORMED_KEYS: tuple[str, ...] = ("malformed", "error", "raw")

#: Export formats by file name suffix (the viewer's ``w``).
FORMAT_BY_SUFFIX: dict[str, str] = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}


def record_object(record: Record) -> dict[str, Any]:
    """The export form of a record."""
    return {
        "time": format_time_us(record.epoch_us),
        "epoch_us": record.epoch_us,
        "client": record.client.raw if record.client else None,
        "server": record.server.raw if record.server else None,
        "instance": record.instance,
        "type": record.conn_type,
        "arn": record.arn,
        "auth_ok": record.auth_ok,
        "method": record.method,
        "path": record.path,
        "lang": record.lang,
        "query": record.query.text if record.query else None,
        **_insight_keys(record),
        "payload": record.payload,
        "header": record.header_raw,
        "source": record.source,
        "line": record.line,
    }


def _insight_keys(record: Record) -> dict[str, Any]:
    """The ``fingerprint`` and ``op`` keys (the query lexers load on the first export)."""
    from tui.insight import operation, record_fingerprint

    shape = record_fingerprint(record)
    return {"fingerprint": shape.id if shape is not None else None, "op": operation(record)}


def malformed_object(entry: Malformed) -> dict[str, Any]:
    """The export form of a malformed entry."""
    return {
        "malformed": True,
        "error": entry.reason,
        "raw": entry.raw,
        "source": entry.source,
        "line": entry.line,
    }


class Writer:
    """Writes records and malformed entries to ``out`` in one format, credentials masked
    unless ``reveal``."""

    def __init__(self, out: IO[str], *, reveal: bool = False) -> None:
        self.out = out
        self.reveal = reveal

    def record(self, record: Record) -> None:
        """Write one record."""
        self.write_record(record if self.reveal else mask_written(record))

    def malformed(self, entry: Malformed) -> None:
        """Write one malformed entry."""
        shown = entry if self.reveal else mask_entry(entry)
        assert isinstance(shown, Malformed)
        self.write_malformed(shown)

    def write_record(self, record: Record) -> None:
        """Write one record as it is."""
        raise NotImplementedError

    def write_malformed(self, entry: Malformed) -> None:
        """Write one malformed entry as it is."""
        raise NotImplementedError

    def close(self) -> None:
        """Flush what was written."""
        self.out.flush()


class JsonLinesWriter(Writer):
    """One JSON object per line; ASCII-only, so no control character reaches a terminal."""

    def write_record(self, record: Record) -> None:
        self.out.write(json.dumps(record_object(record)) + "\n")

    def write_malformed(self, entry: Malformed) -> None:
        self.out.write(json.dumps(malformed_object(entry)) + "\n")


class CsvWriter(Writer):
    """RFC 4180 CSV with a header row. Every cell is inert (piped or not), and a cell that
    starts like a formula gets a ``'`` in front, unless ``formulas`` (``--csv-raw``)."""

    def __init__(
        self,
        out: IO[str],
        *,
        with_malformed: bool,
        reveal: bool = False,
        formulas: bool = False,
    ) -> None:
        super().__init__(out, reveal=reveal)
        self.guard = not formulas
        self.keys = RECORD_KEYS + (MALFORMED_KEYS if with_malformed else ())
        self.writer = csv.writer(out, lineterminator="\n")
        self.writer.writerow(self.keys)

    def _row(self, values: dict[str, Any]) -> None:
        cells = []
        for key in self.keys:
            value = values.get(key)
            text = (
                ""
                if value is None
                else ("true" if value is True else "false" if value is False else str(value))
            )
            cells.append(csv_cell(text, guard=self.guard))
        self.writer.writerow(cells)

    def write_record(self, record: Record) -> None:
        self._row(record_object(record) | {"malformed": False})

    def write_malformed(self, entry: Malformed) -> None:
        self._row(malformed_object(entry))


class TableWriter(Writer):
    """Aligned columns for reading in a terminal; the query column takes the rest of the
    width and everything from the log is made inert."""

    COLUMNS: tuple[tuple[str, int], ...] = (
        ("TIME (UTC)", 27),
        ("CLIENT", 15),
        ("TYPE", 9),
        ("USER", 22),
        ("AUTH", 4),
        ("LANG", 10),
        ("REQUEST", 18),
    )

    def __init__(self, out: IO[str], *, width: int, reveal: bool = False) -> None:
        super().__init__(out, reveal=reveal)
        self.query_width = max(20, width - sum(w + 1 for _, w in self.COLUMNS))
        header = [name.ljust(w) for name, w in self.COLUMNS] + ["QUERY"]
        self.out.write(" ".join(header) + "\n")

    @staticmethod
    def _cell(text: str | None, width: int) -> str:
        value = inert(text or "")
        if len(value) > width:
            value = value[: width - 1] + "…"
        return value.ljust(width)

    def write_record(self, record: Record) -> None:
        auth = {True: "ok", False: "FAIL", None: ""}[record.auth_ok]
        request = " ".join(p for p in (record.method, record.path) if p)
        user = record.principal.short if record.principal else ""
        query = " ".join((record.query.text if record.query else "").split())
        cells = [
            format_time_us(record.epoch_us),
            record.client.key if record.client else "",
            record.conn_type or "",
            user,
            auth,
            record.lang or "",
            request,
        ]
        row = [self._cell(cell, w) for cell, (_, w) in zip(cells, self.COLUMNS, strict=True)]
        row.append(self._cell(query, self.query_width).rstrip())
        self.out.write(" ".join(row).rstrip() + "\n")

    def write_malformed(self, entry: Malformed) -> None:
        text = f"MALFORMED {entry.source}:{entry.line}: {entry.reason}: {entry.raw}"
        self.out.write(inert(text)[: self.query_width + 120] + "\n")


def stats_object(stats: Stats, *, reveal: bool = False) -> dict[str, Any]:
    """The JSON form of ``stats`` (values of the top lists masked unless ``reveal``)."""

    def shown(items: list[tuple[str, int]]) -> list[list[Any]]:
        return [[value if reveal else mask_text(value), count] for value, count in items]

    return {
        "lines": stats.lines,
        "records": stats.records,
        "malformed": stats.malformed,
        "first": format_time_us(stats.first_us) if stats.first_us is not None else None,
        "last": format_time_us(stats.last_us) if stats.last_us is not None else None,
        "by_type": stats.by_type,
        "by_lang": stats.by_lang,
        "by_auth": stats.by_auth,
        "top_clients": shown(stats.top_clients),
        "top_users": shown(stats.top_users),
        "top_paths": shown(stats.top_paths),
        "top_instances": shown(stats.top_instances),
        "failed_by_user": shown(stats.failed_by_user),
        "timeline": timeline_object(stats.timeline),
        **(
            {
                "by_op": stats.by_op,
                "top_fingerprints": [
                    [fp, count, example if reveal else mask_text(example)]
                    for fp, count, example in stats.top_fingerprints
                ],
            }
            if stats.by_op
            else {}
        ),
    }


def timeline_object(timeline: Timeline | None) -> dict[str, Any] | None:
    """The JSON form of a timeline."""
    if timeline is None:
        return None
    return {
        "start": format_time_us(timeline.start_us),
        "bucket_seconds": timeline.bucket_us / 1_000_000,
        "records": list(timeline.total),
        "failed_auth": list(timeline.failed),
        **({"deletes": list(timeline.deletes)} if timeline.deletes else {}),
    }


def stats_text(stats: Stats, *, reveal: bool = False) -> str:
    """``stats`` as a readable report."""
    data = stats_object(stats, reveal=reveal)
    lines = [
        f"lines      {data['lines']:>12,}",
        f"records    {data['records']:>12,}",
        f"malformed  {data['malformed']:>12,}",
        f"first      {data['first'] or '-':>27}",
        f"last       {data['last'] or '-':>27}",
    ]

    def section(title: str, pairs: Iterable[tuple[str, int]]) -> None:
        items = list(pairs)
        if not items:
            return  # nothing to list: no heading either
        lines.append("")
        lines.append(title)
        for value, count in items:
            lines.append(f"  {count:>10,}  {inert(str(value))}")

    section("by type", stats.by_type.items())
    section("by language", stats.by_lang.items())
    section("by auth", stats.by_auth.items())
    section("by operation", stats.by_op.items())
    section("top clients", data["top_clients"])
    section("top users", data["top_users"])
    section("top instances", data["top_instances"])
    section("top paths", data["top_paths"])
    section("failed authentications by user", data["failed_by_user"])
    if stats.top_fingerprints:
        lines.append("")
        lines.append("top query shapes")
        for fp, count, example in data["top_fingerprints"]:
            shown = inert(example)
            shown = shown if len(shown) <= 100 else shown[:99] + "…"
            lines.append(f"  {count:>10,}  {fp}  {shown}")
    timeline = stats.timeline
    if timeline is not None and len(timeline.total) > 1:
        end = timeline.start_us + timeline.bucket_us * len(timeline.total)
        lines.append("")
        lines.append(f"timeline ({_bucket_words(timeline.bucket_us)} per mark)")
        lines.append(f"  {sparkline(timeline.total)}  records")
        if any(timeline.failed):
            lines.append(f"  {sparkline(timeline.failed)}  failed authentications")
        if any(timeline.deletes):
            lines.append(f"  {sparkline(timeline.deletes)}  deletes")
        lines.append(f"  {format_time_us(timeline.start_us)} → {format_time_us(end)}")
    return "\n".join(lines) + "\n"


def _bucket_words(bucket_us: int) -> str:
    seconds = bucket_us // 1_000_000
    for unit, size in (("day", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            amount = seconds // size
            return f"{amount} {unit}{'s' if unit == 'day' and amount > 1 else ''}"
    return f"{seconds} s"


def make_writer(
    form: str,
    out: IO[str],
    *,
    with_malformed: bool = False,
    reveal: bool = False,
    formulas: bool = False,
) -> Writer:
    """The writer of a file format (``jsonl`` or ``csv``) on ``out``."""
    if form == "csv":
        return CsvWriter(out, with_malformed=with_malformed, reveal=reveal, formulas=formulas)
    return JsonLinesWriter(out, reveal=reveal)


def partial_path(path: Path) -> Path:
    """Where an export is written until it is complete."""
    return path.with_name(f".{path.name}.partial")


def write_entries(
    index: Index,
    entries: npt.NDArray[np.int64],
    path: Path,
    form: str,
    *,
    reveal: bool,
    stop: threading.Event,
    on_progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write the records among ``entries`` (in that order) to ``path`` as ``form``: into its
    partial file first (made private by whoever claimed it), renamed when complete, removed
    when stopped (``stop``: InterruptedError) or failed (OSError). ``on_progress(done,
    total)`` at most five times a second. Returns the records written."""
    written = 0
    last = time.monotonic()
    partial = partial_path(path)
    try:
        with open(partial, "w", encoding="utf-8", newline="") as out:
            writer = make_writer(form, out, reveal=reveal)
            for number, (_, parsed) in enumerate(index.entries(entries)):
                if stop.is_set():
                    raise InterruptedError("stopped")
                if isinstance(parsed, Record):
                    writer.record(parsed)
                    written += 1
                if on_progress is not None and time.monotonic() - last > 0.2:
                    last = time.monotonic()
                    on_progress(number + 1, len(entries))
            writer.close()
        os.replace(partial, path)
    except OSError:
        partial.unlink(missing_ok=True)
        raise
    return written
