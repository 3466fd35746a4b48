"""Searching the raw text of many entries at file-reading speed.

Entries of each source are read in large blocks and searched whole; match positions are
mapped to entries with a binary search, and the entries a block cannot speak for are decoded
and tested one by one with the ``str`` predicate (the reference meaning).

A literal is a bytes pattern over the block (ASCII lower-cased for a case-insensitive
literal): exact on pure-ASCII entries; entries holding other bytes and entries a match runs
into from the one before are tested alone. It also sees the CR bytes and trailing blank lines
an entry's decoded text drops; nothing else differs.

A regex runs on the block with RE2 (``tui.query.regex.BlockRegex``), in linear time. A
clean entry (UTF-8, no CR) reads in the block exactly like its text, and ``(?m)`` makes
``^``/``$`` hold at every entry's start and end. A match proves its entry when it stays
inside the entry's text (not into its line end, trailing blank lines or the next entry)
and, for a pattern with anchors, the entry is one line (inner lines have anchors of their
own in the block). Unclean entries, and entries a match touched without proving, are tested
alone. Every match of the reference lies inside an entry's text, so the block finds it or an
earlier match that settles that entry: the answer is exactly the reference one. A pattern
with a literal every match holds skips RE2's scan: ``bytes.find`` locates the entries holding
the literal and RE2 looks at each of those alone.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tui.index.index import Index
from tui.model.parser import decode_entry_bytes
from tui.query.regex import BlockRegex, Pattern

Bool = npt.NDArray[np.bool_]
I64 = npt.NDArray[np.int64]

BLOCK_BYTES = 16 << 20
#: A regex searches a block this many bytes (whole entries) at a time: RE2 may read ahead
#: past a match to settle its end, and a bounded window keeps repeated searches linear.
WINDOW_BYTES = 64 << 10
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
    only the others need a look. ``regex`` is an RE2 form of the test for whole blocks
    (instead of ``block``). With none, every entry is tested alone.
    """

    test: Callable[[str], bool]
    block: re.Pattern[bytes] | None
    lower: bool = False
    never_ascii: bool = False
    also: tuple[re.Pattern[bytes], ...] = ()  # more block patterns: a match of any counts
    regex: BlockRegex | None = None


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


def regex_query(pattern: Pattern) -> TextQuery:
    """Regex search: ``pattern.search`` on each entry's text."""
    return TextQuery(test=pattern.search, block=None, regex=pattern.block_regex())


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
        blockwise = query.block is not None or query.regex is not None
        if not blockwise or len(wanted) < SPARSE_SHARE * len(ids):
            for entry in wanted.tolist():
                _check_cancel(cancel)
                if query.test(index.text(entry)):
                    result[entry] = True
            continue
        # Dense: search every entry of the file, whole blocks at a time.
        for block_ids, data, starts, _ in _blocks(index, source, ids, cancel):
            if query.regex is not None:
                found = _regex_block(query.regex, query.test, data, starts)
            else:
                found = _search_block(query, data, starts)
            result[block_ids[found]] = True
    result &= candidates
    return result


def _search_block(query: TextQuery, data: bytes, relative_starts: I64) -> I64:
    """Positions (in the block) of the entries that match a literal query."""
    entry_ends = [*relative_starts[1:].tolist(), len(data)]
    alone: set[int] = set()  # positions (in this block) of entries to test one by one
    matched: set[int] = set()
    if query.block is None and not query.never_ascii:
        alone.update(range(len(relative_starts)))
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
    return np.array(sorted(matched), np.int64)


def _regex_block(
    regex: BlockRegex, test: Callable[[str], bool], data: bytes, relative_starts: I64
) -> I64:
    """Positions (in the block) of the entries that match a regex (see the module doc)."""
    starts: list[int] = np.minimum(relative_starts, len(data)).tolist()
    bounds = [*starts[1:], len(data)]  # entry k is data[starts[k]:bounds[k]]
    if regex.literal:
        matched, alone = _search_literal_entries(regex, data, starts, bounds)
    else:
        alone = _unclean_entries(data, starts, bounds)
        matched = _search_windows(regex, data, starts, bounds, alone)
    for position in alone:
        if test(decode_entry_bytes(data[starts[position] : bounds[position]])):
            matched.append(position)
    return np.array(sorted(set(matched)), np.int64)


def _search_literal_entries(
    regex: BlockRegex, data: bytes, starts: list[int], bounds: list[int]
) -> tuple[list[int], set[int]]:
    """Only an entry holding the pattern's literal can match: find those, then ask RE2 about
    each alone. (entries that match, entries to test alone)"""
    matched: list[int] = []
    alone: set[int] = set()
    literal, search, anchored = regex.literal, regex.search, regex.line_anchored
    pos = 0
    entry = 0
    while (found := data.find(literal, pos)) >= 0:
        entry = bisect_right(starts, found, entry) - 1
        pos = bounds[entry]
        piece = data[starts[entry] : pos]
        if b"\r" in piece or not (piece.isascii() or _utf8(piece)):
            alone.add(entry)
        elif (span := search(piece, 0, len(piece))) is not None:
            # Inlined _proves for the usual one-line entry, which is most of the work here.
            newline = piece.find(b"\n")
            if newline == len(piece) - 1 or newline < 0:
                proven = newline < 0 or span[1] <= newline
            else:
                proven = _proves(anchored, piece, span[1])
            if proven:
                matched.append(entry)
            else:
                alone.add(entry)
    return matched, alone


def _search_windows(
    regex: BlockRegex, data: bytes, starts: list[int], bounds: list[int], alone: set[int]
) -> list[int]:
    """Run RE2 along the block, a window at a time: each match proves its entry or sends the
    entries it touches to ``alone`` (which holds the unclean ones already)."""
    matched: list[int] = []
    window_first = 0
    while window_first < len(starts):
        after = max(
            window_first + 1,
            bisect_left(starts, starts[window_first] + WINDOW_BYTES, window_first + 1),
        )
        window_end = bounds[after - 1]
        pos = starts[window_first]
        while pos < window_end:
            span = regex.search(data, pos, window_end)
            if span is None or span[0] >= window_end:
                break
            start, end = span
            first = bisect_right(starts, start, window_first) - 1
            last = bisect_right(starts, max(end - 1, start), first) - 1
            if (
                first == last
                and first not in alone
                and _proves(
                    regex.line_anchored, data[starts[first] : bounds[first]], end - starts[first]
                )
            ):
                matched.append(first)
            else:
                alone.update(range(first, last + 1))
            pos = bounds[last]
        window_first = after
    return matched


def _proves(line_anchored: bool, entry_bytes: bytes, end: int) -> bool:
    """Whether a match (of a pattern with anchors or not) ending at ``end`` in a clean
    entry's bytes, where it starts, is a match of the entry's text."""
    newline = entry_bytes.find(b"\n")
    if newline < 0:
        return True  # a last line without its newline: all text
    if newline == len(entry_bytes) - 1:
        return end <= newline  # one line
    # Several lines, or blank ones after: the text is a prefix of the bytes (clean entry).
    text_end = len(decode_entry_bytes(entry_bytes).encode())
    one_line = entry_bytes.find(b"\n", 0, text_end) < 0
    return end <= text_end and (one_line or not line_anchored)


def _clean(entry_bytes: bytes) -> bool:
    """Whether a regex reads an entry's bytes as its text: UTF-8, and no CR."""
    return b"\r" not in entry_bytes and (entry_bytes.isascii() or _utf8(entry_bytes))


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _unclean_entries(data: bytes, starts: list[int], bounds: list[int]) -> set[int]:
    """Positions of the entries that are not ``_clean``."""
    suspects: list[int] = []
    raw = np.frombuffer(data, np.uint8)
    if b"\r" in data:
        suspects += np.flatnonzero(raw == 0x0D).tolist()
    if not data.isascii():
        # Eight bytes at a time: bytes above 0x7F are few, so are the words holding one.
        whole = len(data) // 8
        words = np.frombuffer(data, np.uint64, whole)
        hits = np.flatnonzero(words & np.uint64(0x8080808080808080)) * 8
        suspects += hits.tolist()
        suspects += (hits + 7).tolist()  # a word may hold the end of one entry and the next
        suspects += range(whole * 8, len(data))  # the bytes after the last whole word
    owners = {bisect_right(starts, offset) - 1 for offset in suspects}
    return {entry for entry in owners if not _clean(data[starts[entry] : bounds[entry]])}


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
