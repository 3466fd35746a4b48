"""Searching the raw text of many entries at file-reading speed.

Entries of each source are read in large blocks. A block of pure ASCII is searched whole with
a bytes pattern (lower-cased for a case-insensitive literal), and match positions are mapped
to entries with a binary search; a block holding other bytes, or a pattern that cannot be
searched that way (anchors, non-ASCII), is decoded entry by entry and tested with the ``str``
predicate, which is the reference meaning. Both give the same answer.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
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

    ``test`` is the reference predicate on decoded text. ``block`` is an equivalent bytes
    pattern for ASCII blocks (None: always use ``test``); with ``lower`` the block is
    lower-cased first.
    """

    test: Callable[[str], bool]
    block: re.Pattern[bytes] | None
    lower: bool = False


def literal_query(value: str) -> TextQuery:
    """Case-insensitive substring."""
    wanted = value.lower()
    block = None
    if wanted.isascii() and wanted:
        block = re.compile(re.escape(wanted.encode()) + rb"[^\n]*")
    return TextQuery(test=lambda text: wanted in text.lower(), block=block, lower=True)


_ANCHORS = re.compile(r"(?<!\\)(?:\^|\$)|\\[AZ]|\(\?<[=!]")


def regex_query(pattern: re.Pattern[str]) -> TextQuery:
    """Regex search (``re.search`` semantics on each entry's text)."""
    block: re.Pattern[bytes] | None = None
    source = pattern.pattern
    if source.isascii() and not _ANCHORS.search(source):
        try:
            block = re.compile(
                b"(?:" + source.encode() + rb")[^\n]*",
                pattern.flags & (re.IGNORECASE | re.DOTALL | re.VERBOSE),
            )
        except re.error:
            block = None
    return TextQuery(test=lambda text: pattern.search(text) is not None, block=block)


def source_entries(index: Index, size: int, source: int) -> I64:
    """Entry ids of a source among the first ``size``, in file order."""
    sources = index.column("source")[:size]
    ids: I64 = np.flatnonzero(sources == source).astype(np.int64)
    return ids


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
    offsets = index.column("offset")[:size]
    lengths = index.column("length")[:size]
    for source in range(len(index.sources)):
        ids = source_entries(index, size, source)
        wanted = ids[candidates[ids]]
        if not len(wanted):
            continue
        if query.block is None or len(wanted) < SPARSE_SHARE * len(ids):
            for entry in wanted.tolist():
                _check_cancel(cancel)
                if query.test(index.text(entry)):
                    result[entry] = True
            continue
        starts = offsets[ids].astype(np.int64)
        ends = starts + lengths[ids].astype(np.int64)
        begin = 0
        while begin < len(ids):
            _check_cancel(cancel)
            limit = starts[begin] + BLOCK_BYTES
            stop = max(begin + 1, int(np.searchsorted(starts, limit, side="left")))
            block_start = int(starts[begin])
            data = index.read_range(source, block_start, int(ends[stop - 1]) - block_start)
            found = _search_block(
                index, query, data, ids[begin:stop], starts[begin:stop] - block_start
            )
            result[found] = True
            begin = stop
    result &= candidates
    return result


def _search_block(
    index: Index, query: TextQuery, data: bytes, ids: I64, relative_starts: I64
) -> I64:
    """Entry ids of a block that match."""
    if not data.isascii() or query.block is None:
        hits = [
            entry
            for entry, start, end in zip(
                ids.tolist(),
                relative_starts.tolist(),
                [*relative_starts[1:].tolist(), len(data)],
                strict=True,
            )
            if query.test(decode_entry_bytes(data[start:end]))
        ]
        return np.array(hits, np.int64)
    haystack = data.lower() if query.lower else data
    spans = [match.span() for match in query.block.finditer(haystack)]
    if not spans:
        return np.empty(0, np.int64)
    bounds = np.array(spans, np.int64)
    first = np.searchsorted(relative_starts, bounds[:, 0], side="right") - 1
    last = np.searchsorted(relative_starts, bounds[:, 1] - 1, side="right") - 1
    matched = set(np.unique(first[first == last]).tolist())
    # A match running into a following entry proves nothing: test those entries alone.
    entry_ends = [*relative_starts[1:].tolist(), len(data)]
    for low, high in zip(first[first != last].tolist(), last[first != last].tolist(), strict=True):
        for position in range(low, high + 1):
            text = decode_entry_bytes(data[relative_starts[position] : entry_ends[position]])
            if query.test(text):
                matched.add(position)
    positions = np.array(sorted(matched), np.int64)
    return ids[positions] if len(positions) else np.empty(0, np.int64)


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled()
