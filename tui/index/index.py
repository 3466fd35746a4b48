"""The index: compact columns for every entry of many log files, merged in time order.

Entries are committed span by span, in file order per source, by whoever reads the files
(``tui.sources``). Each commit translates the scanner's codes into the index's value tables,
resolves lines a span could not place on its own (continuations of the previous span's last
entry), gives malformed entries a time next to their neighbours, and queues the span's
entries for the merged order. Nothing here keeps a Python object per entry; a full record is
parsed only when asked for, from bytes read through the ``Reader`` the index is handed (the
files and their descriptors belong to ``tui.sources``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from tui.index.columns import ColumnStore, release_free_memory
from tui.index.scan import Scanner, SpanData, ValueTable
from tui.index.schema import (
    AUTH_NONE,
    COLUMNS,
    DICT_COLUMNS,
    KIND_FRAGMENT,
    KIND_MALFORMED,
    KIND_RECORD,
    NARROW_CODES,
    NO_TIME,
    SPAN_COLUMNS,
)
from tui.model.fields import server_instance_names
from tui.model.parser import decode_entry_bytes, parse_entry
from tui.model.record import Entry, Malformed, Record

if TYPE_CHECKING:
    from tui.index.insight import Insight

#: Columns a commit copies from the span as they are (codes already translated).
_COPIED = tuple(name for name in COLUMNS if name not in ("offset", "length", "line", "source"))

#: Why an entry has no text: its file was truncated after it was read.
GONE_REASON = "its file was truncated after this entry was read; the text is no longer there"

#: Sources an index can hold (the ``source`` column is 16 bits wide).
MAX_SOURCES = int(np.iinfo(np.uint16).max)

#: Continuation lines make an entry at most this long; beyond, they are entries of their
#: own (a file of one endless line is indexed in bounded pieces).
MAX_ENTRY_BYTES = 16 << 20

#: Above this share of new entries, the merged order is rebuilt rather than merged into
#: (chosen when both cost 40 ms for 3 % new of 2.4 M entries; since rebuilds merge their
#: runs with a timsort, a rebuild takes 55 ms there and merging 2 % or 3 % 17 or 24 ms).
_REBUILD_SHARE = 0.02

#: ``entries`` reads entries of a file at once when less than this many bytes apart...
_GAP = 64 << 10
#: ...up to this many bytes in one read.
_RUN = 8 << 20


class Reader(Protocol):
    """Where the index reads entry bytes from (``tui.sources.files.FileReader``)."""

    def read_range(self, source: int, offset: int, length: int) -> bytes | None:
        """Bytes ``[offset, offset + length)`` of a source (shorter if it shrank), or None
        once the source's text is gone."""
        ...

    def why_gone(self, source: int) -> str | None:
        """Why a source's text is gone, when it is."""
        ...

    def close(self) -> None:
        """Release the files (the index is done with)."""
        ...


class NoReader:
    """The reader of an index built from spans alone: it has no text."""

    def read_range(self, source: int, offset: int, length: int) -> bytes | None:
        """Nothing: there are no files behind this index."""
        return None

    def why_gone(self, source: int) -> str | None:
        """There never was text."""
        return None

    def close(self) -> None:
        """Nothing to release."""


@dataclass
class Source:
    """One log file of the index."""

    id: int
    name: str  # as shown to the user
    instance: str | None = None  # Neptune instance, when the file's location says it
    end: int = 0  # bytes indexed so far
    lines: int = 0
    blank_lines: int = 0
    last_entry: int = -1
    last_record_time: int | None = None
    runs: list[npt.NDArray[np.int32]] = field(default_factory=list)  # entry ids by time


def _is_identity(remap: npt.NDArray[np.uint32]) -> bool:
    """Whether a code map keeps every code as it is."""
    return bool((remap == np.arange(len(remap), dtype=remap.dtype)).all())


#: Positions are packed into sort keys this many at a time.
_POSITIONS_BLOCK = 1 << 16


def _stable_time_order(keys: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
    """``np.argsort(keys, kind="stable")``, for times: when the span of the times and the
    number of keys fit in 64 bits together, each time is packed with its position and the
    packed words are sorted as numbers, about 3 times faster than an argsort of 10 M times.
    The keys are mostly runs already in order (the index's runs, one after the other), which
    numpy's stable sort of 64-bit words (a timsort) merges: the order of 2.4 M entries in 252
    runs took 0.05 s with it, 0.18 s with the default sort. ``keys`` is consumed."""
    count = len(keys)
    if not count:
        return np.empty(0, np.intp)
    low, high = int(keys.min()), int(keys.max())
    position_bits = max(1, (count - 1).bit_length())
    if (high - low) >> (64 - position_bits):  # (entries without a time are far apart)
        return np.argsort(keys, kind="stable")
    keys -= low
    packed = keys.view(np.uint64)
    packed <<= np.uint64(position_bits)
    # The positions a block at a time: no array as long as the keys is made (and faulted in
    # page by page, which while a viewer's scanners run took as long as the sort).
    block = np.arange(min(count, _POSITIONS_BLOCK), dtype=np.uint64)
    for start in range(0, count, _POSITIONS_BLOCK):
        part = packed[start : start + _POSITIONS_BLOCK]
        part |= block[: len(part)]
        block += np.uint64(_POSITIONS_BLOCK)
    packed.sort(kind="stable")  # (the words are distinct: any sort gives the same order)
    packed &= np.uint64((1 << position_bits) - 1)
    return packed.view(np.intp)


#: Times are checked for microseconds this many at a time (temporaries that stay cached).
_TIMES_BLOCK = 1 << 16


def _below_ms(times: npt.NDArray[Any]) -> bool:
    """Whether any of ``times`` (microseconds) has a part below the millisecond."""
    for start in range(0, len(times), _TIMES_BLOCK):
        part = times[start : start + _TIMES_BLOCK]
        if not np.array_equal(part // 1000 * 1000, part):
            return True
    return False


class Index:
    """Columns, value tables and merged order of every entry of a set of sources."""

    def __init__(self, reader: Reader | None = None) -> None:
        self.reader: Reader = reader if reader is not None else NoReader()
        self.store = ColumnStore(
            COLUMNS, widen={"offset": np.int64, **{name: np.uint32 for name in NARROW_CODES}}
        )
        self.tables: dict[str, ValueTable] = {name: ValueTable() for name in DICT_COLUMNS}
        self.sources: list[Source] = []
        self.records = 0
        self.malformed = 0
        #: Whether a record's time has a part below the millisecond (then times show
        #: microseconds); kept as spans arrive, so no reader scans every time for it.
        self.sub_ms_times = False
        self._remaps: dict[int, dict[str, npt.NDArray[np.uint32]]] = {}
        self._lock = threading.RLock()
        self._order: npt.NDArray[np.int32] = np.empty(0, np.int32)
        self._pending: list[npt.NDArray[np.int32]] = []
        self._rebuild = False
        self._scanner = Scanner()  # parses single entries again when they grow
        self._notes: dict[int, str] = {}  # entries that stand for a problem, not for bytes
        self._unreadable: dict[int, tuple[set[int], str]] = {}  # source -> (entries, why)
        self._server_instances: list[str | None] = []
        self._insight: Insight | None = None

    # -- reading ----------------------------------------------------------------------

    @property
    def size(self) -> int:
        """Number of entries (records and malformed)."""
        return self.store.size

    @property
    def lines(self) -> int:
        """Physical lines read."""
        return sum(source.lines for source in self.sources)

    @property
    def blank_lines(self) -> int:
        """Blank lines read (they belong to no entry)."""
        return sum(source.blank_lines for source in self.sources)

    def column(self, name: str) -> npt.NDArray[Any]:
        """A column over all entries (a read-only view)."""
        return self.store.column(name)

    def value(self, column: str, code: int) -> str | None:
        """The value a dictionary column's code stands for."""
        return self.tables[column].values[code]

    def read(self, entry: int, limit: int | None = None) -> bytes | None:
        """The raw bytes of an entry, continuation lines included, or its first ``limit``
        bytes (None: its text is gone)."""
        store = self.store
        length = int(store.column("length")[entry])
        return self.reader.read_range(
            int(store.column("source")[entry]),
            int(store.column("offset")[entry]),
            length if limit is None else min(length, limit),
        )

    def text(self, entry: int, limit: int | None = None) -> str:
        """An entry's text as parsed: UTF-8 with replacements, LF line ends ("" once gone);
        with ``limit``, the text of its first ``limit`` bytes only."""
        data = self.read(entry, limit)
        return decode_entry_bytes(data) if data is not None else ""

    def entry(self, entry: int) -> Entry:
        """Parse one entry fully (for display or export). An entry whose bytes are gone or
        are no longer what was indexed (its file shrank, was replaced or overwritten) is a
        ``Malformed`` saying so, and is counted in ``unreadable``."""
        return self._entry(entry, verify=True)

    def _entry(self, entry: int, *, verify: bool) -> Entry:
        store = self.store
        source_id = int(store.column("source")[entry])
        if entry in self._notes:
            return self._parse(entry, None, verify=verify)
        data = self.reader.read_range(
            source_id, int(store.column("offset")[entry]), int(store.column("length")[entry])
        )
        return self._parse(entry, data, verify=verify)

    def entries(
        self, ids: Sequence[int] | npt.NDArray[np.int64], *, chunk: int = 4096
    ) -> Iterator[tuple[int, Entry]]:
        """``(id, entry)`` parsed (and checked, as ``entry`` does) for each of ``ids`` in the
        order given (an export's time order), the bytes read ``chunk`` ids at a time: each
        file's entries among them with one read per run of nearby ones, rather than one read
        per entry."""
        for begin in range(0, len(ids), chunk):
            part = np.asarray(ids[begin : begin + chunk], dtype=np.int64)
            texts = self._read_many(part)
            for entry in part.tolist():
                yield entry, self._parse(entry, texts.get(entry), verify=True)

    def _read_many(self, ids: npt.NDArray[np.int64]) -> dict[int, bytes | None]:
        """The bytes of entries ``ids``: per source in file order, runs of entries less than
        ``_GAP`` bytes apart (up to ``_RUN`` bytes) read at once."""
        store = self.store
        source_column = store.column("source")[ids]
        offset_column = store.column("offset")[ids].astype(np.int64)
        end_column = offset_column + store.column("length")[ids].astype(np.int64)
        order: list[int] = np.lexsort((offset_column, source_column)).tolist()
        keys: list[int] = ids.tolist()
        sources: list[int] = source_column.tolist()
        offsets: list[int] = offset_column.tolist()
        ends: list[int] = end_column.tolist()
        found: dict[int, bytes | None] = {}
        run: list[int] = []  # entries (positions in ``ids``) read together, in file order

        def flush() -> None:
            base = offsets[run[0]]
            data = self.reader.read_range(sources[run[0]], base, ends[run[-1]] - base)
            for k in run:
                found[keys[k]] = None if data is None else data[offsets[k] - base : ends[k] - base]
            run.clear()

        for k in order:
            if run and (
                sources[k] != sources[run[-1]]
                or offsets[k] - ends[run[-1]] > _GAP
                or ends[k] - offsets[run[0]] > _RUN
            ):
                flush()
            run.append(k)
        if run:
            flush()
        return found

    def _parse(self, entry: int, data: bytes | None, *, verify: bool) -> Entry:
        """Parse an entry from its bytes (None: its text is gone), checking with ``verify``
        that they are still what was indexed."""
        store = self.store
        source_id = int(store.column("source")[entry])
        source = self.sources[source_id]
        line = int(store.column("line")[entry])
        offset = int(store.column("offset")[entry])
        note = self._notes.get(entry)
        if note is not None:
            return Malformed(note, "", source.name, line, offset)
        if data is None:
            why = self.reader.why_gone(source_id) or GONE_REASON
            return self._lost(entry, source, why, line, offset)
        parsed = parse_entry(
            decode_entry_bytes(data),
            source=source.name,
            line=line,
            offset=offset,
            instance=self.instance_of(entry),
        )
        if not verify:
            return parsed
        if len(data) < int(store.column("length")[entry]):
            why = f"{source.name} shrank after it was read"
            return self._lost(entry, source, why, line, offset)
        if int(store.column("kind")[entry]) == KIND_RECORD and (
            not isinstance(parsed, Record)
            or parsed.epoch_us != int(store.column("epoch_us")[entry])
        ):
            why = f"{source.name} changed after it was read: other bytes are at its place now"
            return self._lost(entry, source, why, line, offset)
        return parsed

    def _lost(self, entry: int, source: Source, why: str, line: int, offset: int) -> Malformed:
        """An entry whose text cannot be read back (``why``), counted per source."""
        if int(self.store.column("kind")[entry]) == KIND_RECORD:
            with self._lock:
                entries, _ = self._unreadable.setdefault(source.id, (set(), why))
                entries.add(entry)
        reason = why if why == GONE_REASON else f"{why}; this entry's text is no longer there"
        return Malformed(reason, "", source.name, line, offset)

    def unreadable(self) -> dict[int, tuple[int, str]]:
        """Sources with records whose text could not be read back when asked for:
        source id -> (how many, why the first one failed)."""
        with self._lock:
            return {source: (len(ids), why) for source, (ids, why) in self._unreadable.items()}

    @property
    def insight(self) -> Insight:
        """The operation classes and query shapes of the records (filled on demand)."""
        if self._insight is None:
            from tui.index.insight import Insight  # it reads the index: imported late

            self._insight = Insight(self)
        return self._insight

    def server_instances(self) -> list[str | None]:
        """The instance name of each server code (see ``server_instance_names``)."""
        values = self.tables["server"].values
        if len(self._server_instances) != len(values):
            self._server_instances = server_instance_names(list(values))
        return self._server_instances

    def instance_of(self, entry: int) -> str | None:
        """The instance of a record: the directory its file is in (``DIR/<instance>/file``),
        else the name its server field gives."""
        named = self.sources[int(self.store.column("source")[entry])].instance
        if named is not None:
            return named
        names = self.server_instances()
        code = int(self.store.column("server")[entry])
        return names[code] if code < len(names) else None

    def close(self) -> None:
        """Close the reader (the files and temporary copies behind the sources)."""
        self.reader.close()

    # -- building ---------------------------------------------------------------------

    def add_source(self, name: str, instance: str | None = None) -> Source:
        """Register a file; its spans are then committed with ``commit``."""
        with self._lock:
            if len(self.sources) >= MAX_SOURCES:
                raise ValueError(f"too many files: at most {MAX_SOURCES:,} can be read at once")
            source = Source(id=len(self.sources), name=name, instance=instance)
            self.sources.append(source)
            return source

    def reserve(self, entries: int, *, sure: int = 0) -> None:
        """Make room for about this many entries before a large load, the next ``sure`` of
        them known to come (a cache holds them)."""
        with self._lock:
            self.store.reserve(entries, sure=sure)

    def prepare(self, span: SpanData) -> SpanData:
        """Translate a span's codes into this index's, and sort it by time: work that may
        run in the scanning thread, in the order that scanner produced its spans."""
        if span.translated:
            return span
        with self._lock:
            remaps = self._apply_new_values(span)
        cols = dict(span.columns)
        for name in DICT_COLUMNS:
            known = remaps.get(name)
            codes = cols[name]
            if known is None:
                cols[name] = np.zeros(len(codes), np.uint32)
            elif not _is_identity(known):  # (often is: files list their values alike)
                cols[name] = known[codes]
        cols["reason"] = cols["reason"].astype(np.uint16, copy=False)
        # Each entry's bytes run to the next one's start, the last one's to the span's end
        # (in one pass: a cached span's offsets are 32 bits, its lengths too).
        offsets = cols["offset"]
        length = cols["length"] = np.empty(len(offsets), np.uint32)
        if len(offsets):
            np.subtract(offsets[1:], offsets[:-1], out=length[:-1], casting="unsafe")
            length[-1] = span.end - int(offsets[-1])
        times = cols["epoch_us"]
        local_order = span.local_order  # a cached span brings its own
        if local_order is None and not np.any(times == NO_TIME):
            local_order = np.argsort(times, kind="stable")
        return SpanData(
            span.start,
            span.end,
            span.lines,
            span.blank_lines,
            cols,
            {},
            span.scanner_id,
            span.slow_records,
            translated=True,
            local_order=local_order,
        )

    def commit(self, source_id: int, span: SpanData) -> range:
        """Add a scanned span of a source; spans of one source must come in file order,
        each starting where the previous one ended. Returns the new entry ids."""
        span = self.prepare(span)
        with self._lock:
            source = self.sources[source_id]
            if span.start != source.end:
                raise ValueError(f"span starts at {span.start}, expected {source.end}")
            cols = span.columns
            kind = cols["kind"]
            fragment = kind == KIND_FRAGMENT
            grew_previous = False
            if fragment.any():
                if self._continues(source, cols["offset"], fragment, span.end):
                    keep = ~fragment  # lines continuing the previous span's last entry
                    cols = {name: column[keep] for name, column in cols.items()}
                    grew_previous = True
                    span.local_order = None
                else:
                    kind[fragment] = KIND_MALFORMED
            offsets = cols["offset"]
            count = len(offsets)
            rows: dict[str, npt.NDArray[np.generic]] = {
                "offset": offsets,
                "length": cols["length"],  # (fragments cut from the start change no other)
                # (one pass into the column's type: a copy of a 2.4 M-entry set's lines
                # and a conversion of that cost a re-open 50 ms of fresh pages)
                "line": np.add(cols["line"], source.lines + 1, dtype=np.uint32, casting="unsafe"),
                "source": np.full(count, source_id, np.uint16),
            }
            for name in _COPIED:
                rows[name] = cols[name]
            rows["epoch_us"] = self._place_malformed(source, cols["epoch_us"])
            previous = source.last_entry
            if previous >= 0:
                first_end = int(offsets[0]) if count else span.end
                previous_offset = int(self.store.column("offset")[previous])
                self.store.set("length", previous, first_end - previous_offset)
            ids = self.store.append(rows) if count else range(self.size, self.size)
            if count:
                kinds = rows["kind"]
                is_record = kinds == KIND_RECORD
                records = int(np.count_nonzero(is_record))
                self.records += records
                self.malformed += count - records  # (fragments became malformed above)
                if records and not self.sub_ms_times:
                    times = rows["epoch_us"]
                    self.sub_ms_times = _below_ms(times if records == count else times[is_record])
                local = span.local_order
                if local is None:
                    local = np.argsort(rows["epoch_us"], kind="stable")
                run = local.astype(np.int32)
                run += ids.start
                source.runs.append(run)
                self._pending.append(run)
                source.last_entry = ids.stop - 1
                if records:
                    last_record = count - 1
                    if not is_record[-1]:  # (argmax over the reversed mask is a slow loop)
                        last_record -= int(np.argmax(is_record[::-1]))
                    source.last_record_time = int(rows["epoch_us"][last_record])
            source.end = span.end
            source.lines += span.lines
            source.blank_lines += span.blank_lines
            if grew_previous and previous >= 0:
                self._reparse(previous)
            return ids

    def note(self, source_id: int, reason: str) -> int:
        """Add a malformed entry that stands for a problem at the source's current end (a
        damaged or shrunken file, a gap in a followed file); it has no bytes of its own, and
        what follows it continues no entry. Returns its id."""
        with self._lock:
            source = self.sources[source_id]
            rows: dict[str, npt.NDArray[np.generic]] = {
                name: np.zeros(1, dtype) for name, dtype in COLUMNS.items()
            }
            rows["offset"][0] = source.end
            rows["line"][0] = source.lines + 1
            rows["source"][0] = source_id
            rows["kind"][0] = KIND_MALFORMED
            rows["auth"][0] = AUTH_NONE
            rows["reason"][0] = self.tables["reason"].code(reason)
            last = source.last_record_time
            rows["epoch_us"][0] = last if last is not None else NO_TIME
            ids = self.store.append(rows)
            self.malformed += 1
            run = np.arange(ids.start, ids.stop, dtype=np.int32)
            source.runs.append(run)
            self._pending.append(run)
            source.last_entry = -1
            self._notes[ids.start] = reason
            return ids.start

    def skip(self, source_id: int, end: int) -> None:
        """Move a source's end to ``end`` over bytes that hold no entries (the zeros a writer
        that does not append leaves after its file was truncated); what follows continues
        no entry."""
        with self._lock:
            source = self.sources[source_id]
            if end < source.end:
                raise ValueError(f"cannot skip back from {source.end} to {end}")
            source.end = end
            source.last_entry = -1

    def _continues(
        self,
        source: Source,
        offsets: npt.NDArray[np.generic],
        fragment: npt.NDArray[np.bool_],
        span_end: int,
    ) -> bool:
        """Whether a span's leading lines continue the source's last entry: one is open,
        and it stays within MAX_ENTRY_BYTES."""
        if source.last_entry < 0:
            return False
        records = np.flatnonzero(~fragment)
        grown_end = int(offsets[records[0]]) if len(records) else span_end
        start = int(self.store.column("offset")[source.last_entry])
        return grown_end - start <= MAX_ENTRY_BYTES

    def source_span(self, source_id: int) -> SpanData:
        """Everything indexed of a source as one span in the scanner's form (codes local to
        it, with their values): what a persistent cache keeps to commit it again later."""
        with self._lock:
            source = self.sources[source_id]
            runs = source.runs
            ids = np.sort(np.concatenate(runs)) if runs else np.empty(0, np.int64)
            store = self.store
            columns: dict[str, npt.NDArray[np.generic]] = {}
            new_values: dict[str, tuple[int, list[str | None]]] = {}
            for name, dtype in SPAN_COLUMNS.items():
                column = store.column(name)[ids]
                if name == "line":
                    column = column.astype(np.int64) - 1  # commit counts from 1
                if name in DICT_COLUMNS:
                    used, local = np.unique(column, return_inverse=True)
                    if len(used) and used[0] != 0:
                        used = np.concatenate([[0], used])
                        local = local + 1
                    values = self.tables[name].values
                    new_values[name] = (1, [values[int(code)] for code in used[1:]])
                    column = local
                columns[name] = np.asarray(column).astype(dtype)
            times = columns["epoch_us"]
            return SpanData(
                0,
                source.end,
                source.lines,
                source.blank_lines,
                columns,
                new_values,
                0,
                local_order=np.argsort(times, kind="stable").astype(np.int64),
            )

    def _apply_new_values(self, span: SpanData) -> dict[str, npt.NDArray[np.uint32]]:
        """Learn the values a span's scanner added; returns that scanner's code maps."""
        remaps = self._remaps.setdefault(span.scanner_id, {})
        for name, (first, values) in span.new_values.items():
            remap = remaps.get(name, np.zeros(1, np.uint32))
            if len(remap) < first + len(values):
                grown = np.zeros(first + len(values), np.uint32)
                grown[: len(remap)] = remap
                remap = grown
            table = self.tables[name]
            for i, value in enumerate(values):
                remap[first + i] = table.code(value)
            remaps[name] = remap
        return dict(remaps)

    def _place_malformed(
        self, source: Source, epoch_us: npt.NDArray[np.generic]
    ) -> npt.NDArray[np.int64]:
        """Times for entries without one: the time of the record before them in the file,
        else of the record after them, so malformed input shows where it was found."""
        times = np.asarray(epoch_us, dtype=np.int64)
        missing = times == NO_TIME
        if not missing.any():
            return times
        have = np.flatnonzero(~missing)
        index = np.where(~missing, np.arange(len(times)), -1)
        previous = np.maximum.accumulate(index)
        filled = np.where(previous >= 0, times[np.maximum(previous, 0)], NO_TIME)
        before = source.last_record_time
        fallback = before if before is not None else (int(times[have[0]]) if len(have) else None)
        if fallback is not None:
            filled = np.where(filled == NO_TIME, fallback, filled)
        return filled

    def _reparse(self, entry: int) -> None:
        """Parse an entry again after continuation lines were added to it."""
        # Codes from the index's private scanner, translated like any span's.
        parsed = self._entry(entry, verify=False)
        translated = self.prepare(self._scanner.scan_entry(parsed)).columns
        old_kind = int(self.store.column("kind")[entry])
        old_time = int(self.store.column("epoch_us")[entry])
        for name in _COPIED:
            if name != "epoch_us":
                self.store.set(name, entry, int(translated[name][0]))
        new_time = int(translated["epoch_us"][0])
        if new_time != NO_TIME and new_time != old_time:
            self.store.set("epoch_us", entry, new_time)
            self._rebuild = True
        new_kind = int(translated["kind"][0])
        if new_kind == KIND_RECORD and new_time % 1000:
            self.sub_ms_times = True
        if new_kind != old_kind:
            delta = 1 if new_kind == KIND_RECORD else -1
            self.records += delta
            self.malformed -= delta

    # -- order ------------------------------------------------------------------------

    def order(self) -> npt.NDArray[np.int32]:
        """Entry ids in time order; ties by source, then position in the file."""
        with self._lock:
            if not self._pending and not self._rebuild:
                return self._order
            times = self.store.column("epoch_us")
            added = sum(len(run) for run in self._pending)
            small = added <= _REBUILD_SHARE * len(self._order)
            if self._rebuild or not small:
                # Each run is sorted: the stable sort merges them. Temporaries are freed as
                # soon as they are used (they are the peak of a big load).
                runs = [run for source in self.sources for run in source.runs]
                perm = np.concatenate(runs) if runs else np.empty(0, np.int32)
                self._order = perm[_stable_time_order(times[perm])]
                del perm
                release_free_memory()
            else:
                new = np.concatenate(self._pending) if self._pending else np.empty(0, np.int32)
                self._order = self._merge(new, times).astype(np.int32)
            self._pending = []
            self._rebuild = False
            return self._order

    def in_order(self, ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """``ids`` sorted as the merged order sorts them: by time, then source, then
        position in the file."""
        store = self.store
        keys = (store.column("offset")[ids], store.column("source")[ids])
        ordered: npt.NDArray[np.int64] = ids[np.lexsort((*keys, store.column("epoch_us")[ids]))]
        return ordered

    def _merge(
        self, new: npt.NDArray[np.int32], times: npt.NDArray[np.generic]
    ) -> npt.NDArray[np.int64]:
        """Insert entries appended at the end of their files into the current order."""
        sources = self.store.column("source")
        added = self.in_order(new.astype(np.int64))
        current = self._order.astype(np.int64)
        current_times = times[current]
        new_times = times[added]
        low = np.searchsorted(current_times, new_times, side="left")
        high = np.searchsorted(current_times, new_times, side="right")
        positions = low.copy()
        # Equal times: after existing entries of a lower or the same source (the new ones
        # come later in their file), before those of a higher source.
        for i in np.flatnonzero(high > low).tolist():
            tied_sources = sources[current[low[i] : high[i]]]
            positions[i] += int(np.count_nonzero(tied_sources <= sources[added[i]]))
        return np.insert(current, positions, added)

    def nbytes_per_entry(self) -> int:
        """Bytes the index keeps per entry: its columns and its place in the order."""
        return self.store.itemsize() + np.dtype(np.int32).itemsize
