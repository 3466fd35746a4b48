"""Searching the raw text of many entries at file-reading speed.

Entries of each source are read in large blocks and searched whole with a bytes pattern
(after ASCII lower-casing for a case-insensitive literal); match positions are mapped to
entries with a binary search. On an entry of pure ASCII that is exactly what the ``str``
predicate (the reference meaning) says. The few entries holding other bytes, entries a match
runs into from the one before, and patterns whose meaning depends on where an entry starts
(anchors, lookbehind) are decoded and tested one by one instead. The block search also sees
the CR bytes and trailing blank lines an entry's decoded text drops; nothing else differs.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tui.index.index import Index
from tui.model.parser import decode_entry_bytes

Bool = npt.NDArray[np.bool_]
I64 = npt.NDArray[np.int64]

BLOCK_BYTES = 16 << 20
#: Below this share of a source's entries, candidates are read one by one instead.
SPARSE_SHARE = 0.25


class Cancelled(Exception):
    """The caller asked a long evaluation to stop."""


@dataclass(frozen=True)
class TextQuery:
    """What to look for in raw entry text.

    ``test`` is the reference predicate on decoded text. ``block`` is a bytes pattern that
    gives the same answer on ASCII entries (with the patterns in ``also``: any of them), each
    match running at most to the end of its line; with ``lower`` the block is ASCII
    lower-cased first. ``never_ascii``: no ASCII entry can match (a non-ASCII literal), so
    only the others need a look. With neither, every entry is tested alone.
    """

    test: Callable[[str], bool]
    block: re.Pattern[bytes] | None
    lower: bool = False
    never_ascii: bool = False
    also: tuple[re.Pattern[bytes], ...] = ()  # more block patterns: a match of any counts


def literal_query(value: str) -> TextQuery:
    """Case-insensitive substring."""
    wanted = value.lower()
    ascii_value = wanted.isascii()
    block = re.compile(re.escape(wanted.encode()) + rb"[^\n]*") if ascii_value and wanted else None
    return TextQuery(
        test=lambda text: wanted in text.lower(),
        block=block,
        lower=True,
        never_ascii=not ascii_value,
    )


_ANCHORS = re.compile(r"(?<![\\\[])\^|(?<!\\)\$|\\[AZ]|\(\?<[=!]")
_LEADING_FLAGS = re.compile(r"\(\?[aiLmsux]+\)")


def regex_query(pattern: re.Pattern[str]) -> TextQuery:
    """Regex search (``re.search`` semantics on each entry's text)."""
    block: re.Pattern[bytes] | None = None
    source = pattern.pattern
    flags = _LEADING_FLAGS.match(source)
    prefix, body = (flags.group(0), source[flags.end() :]) if flags else ("", source)
    usable = source.isascii() and "u" not in prefix and not pattern.flags & re.VERBOSE
    if usable and not _ANCHORS.search(body):
        try:
            block = re.compile(
                (prefix + "(?:" + body + r")[^\n]*").encode(),
                pattern.flags & (re.IGNORECASE | re.DOTALL | re.MULTILINE),
            )
        except re.error:
            block = None
    return TextQuery(test=lambda text: pattern.search(text) is not None, block=block)


def source_entries(index: Index, size: int, source: int) -> I64:
    """Entry ids of a source among the first ``size``, in file order."""
    sources = index.column("source")[:size]
    ids: I64 = np.flatnonzero(sources == source).astype(np.int64)
    return ids


def _sources(index: Index, size: int, candidates: Bool) -> Iterator[tuple[int, I64, I64]]:
    """(source, its entries in file order, those among the candidates), per source with any."""
    for source in range(len(index.sources)):
        ids = source_entries(index, size, source)
        wanted = ids[candidates[ids]]
        if len(wanted):
            yield source, ids, wanted


def _blocks(
    index: Index, source: int, ids: I64, cancel: threading.Event | None
) -> Iterator[tuple[I64, bytes, I64, I64]]:
    """Entries ``ids`` of a source (file order) read in blocks of about BLOCK_BYTES:
    (ids of the block, its bytes, where each entry starts and ends in them)."""
    starts = index.column("offset")[ids].astype(np.int64)
    ends = starts + index.column("length")[ids].astype(np.int64)
    begin = 0
    while begin < len(ids):
        _check_cancel(cancel)
        stop = max(begin + 1, int(np.searchsorted(starts, starts[begin] + BLOCK_BYTES)))
        base = int(starts[begin])
        data = index.reader.read_range(source, base, int(ends[stop - 1]) - base) or b""
        yield ids[begin:stop], data, starts[begin:stop] - base, ends[begin:stop] - base
        begin = stop


def search(
    index: Index,
    size: int,
    query: TextQuery,
    candidates: Bool,
    *,
    cancel: threading.Event | None = None,
) -> Bool:
    """Which of the ``candidates`` (a mask over the first ``size`` entries) match."""
    result = np.zeros(size, bool)
    for source, ids, wanted in _sources(index, size, candidates):
        if query.block is None or len(wanted) < SPARSE_SHARE * len(ids):
            for entry in wanted.tolist():
                _check_cancel(cancel)
                if query.test(index.text(entry)):
                    result[entry] = True
            continue
        # Dense: search every entry of the file, whole blocks at a time.
        for block_ids, data, starts, _ in _blocks(index, source, ids, cancel):
            result[_search_block(index, query, data, block_ids, starts)] = True
    result &= candidates
    return result


def _search_block(
    index: Index, query: TextQuery, data: bytes, ids: I64, relative_starts: I64
) -> I64:
    """Entry ids of a block that match."""
    entry_ends = [*relative_starts[1:].tolist(), len(data)]
    alone: set[int] = set()  # positions (in this block) of entries to test one by one
    matched: set[int] = set()
    if query.block is None and not query.never_ascii:
        alone.update(range(len(ids)))
    else:
        alone.update(_non_ascii_entries(data, relative_starts))
    if query.block is not None:
        haystack = data.lower() if query.lower else data
        spans = [
            match.span()
            for pattern in (query.block, *query.also)
            for match in pattern.finditer(haystack)
        ]
        if spans:
            bounds = np.array(spans, np.int64)
            first = np.searchsorted(relative_starts, bounds[:, 0], side="right") - 1
            ends = np.maximum(bounds[:, 1] - 1, bounds[:, 0])
            last = np.searchsorted(relative_starts, ends, side="right") - 1
            matched.update(np.unique(first[first == last]).tolist())
            # A match running into a following entry proves nothing: test those alone.
            for low, high in zip(
                first[first != last].tolist(), last[first != last].tolist(), strict=True
            ):
                alone.update(range(low, high + 1))
    matched -= alone
    for position in alone:
        text = decode_entry_bytes(data[relative_starts[position] : entry_ends[position]])
        if query.test(text):
            matched.add(position)
    positions = np.array(sorted(matched), np.int64)
    return ids[positions] if len(positions) else np.empty(0, np.int64)


def _non_ascii_entries(data: bytes, relative_starts: I64) -> list[int]:
    """Positions of the entries holding a byte above 0x7F."""
    if data.isascii():
        return []
    raw = np.frombuffer(data, np.uint8)
    high = np.flatnonzero(raw >= 0x80)
    owners: list[int] = np.unique(np.searchsorted(relative_starts, high, side="right") - 1).tolist()
    return owners


def entry_texts(
    index: Index, size: int, candidates: Bool, *, cancel: threading.Event | None = None
) -> Iterator[tuple[int, str]]:
    """(entry, decoded text) for every candidate, file by file: dense candidates are read in
    large blocks, sparse ones one by one."""
    for source, ids, wanted in _sources(index, size, candidates):
        if len(wanted) < SPARSE_SHARE * len(ids):
            for count, entry in enumerate(wanted.tolist()):
                if count % 1024 == 0:
                    _check_cancel(cancel)
                yield entry, index.text(entry)
            continue
        for block_ids, data, starts, ends in _blocks(index, source, wanted, cancel):
            for entry, start, end in zip(
                block_ids.tolist(), starts.tolist(), ends.tolist(), strict=True
            ):
                yield entry, decode_entry_bytes(data[start:end])


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled()
