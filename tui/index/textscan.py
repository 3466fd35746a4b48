"""Searching the raw text of many entries at file-reading speed.

Entries of each source are read in large blocks and searched whole by RE2 over the raw bytes
(``byte_matcher``: a pattern that starts with a literal byte skips ahead at ``memchr``
speed). Each hit is mapped to its entry with a binary search and the search goes on after
that entry, so an entry costs one probe however often it matches. A word that turns out to be
common (a hit every few kB) is found a block at a time instead: Python's ``re`` returns
every match in one pass in C, and arrays map them to entries. What a hit means is the
``finder``'s to say: it proves its entry, or it sends the entry to be decoded and tested
alone with the ``str`` predicate (the reference meaning).

Words (``literal_query``): ``word in text.lower()`` with ``word`` lower-cased. For an ASCII
word that holds a character other than whitespace and no CR or LF, a hit of the word in any
ASCII case proves its entry, and only such a hit does: decoding keeps ASCII bytes as they
are (a bad byte becomes U+FFFD, never an ASCII character), the text drops only CRs before
LFs, line ends and blank lines (none of which a hit holds), and lower-casing makes ASCII of
no other character but KELVIN SIGN (``k``) and I WITH DOT ABOVE (``i``), whose entries are
tested alone when the word has that letter. The word is searched from its rarest byte (in
the first block read), in both cases of that byte when it is a letter, or with one pattern
in any case when no byte is rare. Any other word (non-ASCII, whitespace, line ends) is found
through one of its characters: an entry's text holds a character whose lower case holds it,
so the entries holding the bytes of one of those are tested alone.

A regex runs on the block with RE2 (``tui.query.regex.BlockRegex``), in linear time. A
clean entry (UTF-8, no CR) reads in the block exactly like its text, and ``(?m)`` makes
``^``/``$`` hold at every entry's start and end. A match proves its entry when it stays
inside the entry's text (not into its line end, trailing blank lines or the next entry)
and, for a pattern with anchors, the entry is one line (inner lines have anchors of their
own in the block). Unclean entries, and entries a match touched without proving, are tested
alone. Every match of the reference lies inside an entry's text, so the block finds it or an
earlier match that settles that entry: the answer is exactly the reference one. A pattern
with a literal every match holds skips RE2's scan of the block: the entries holding the
literal are found first, and RE2 looks at each of those alone.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Protocol

import numpy as np
import numpy.typing as npt

from tui.index.index import Index
from tui.model.parser import decode_entry_bytes
from tui.query.regex import BlockRegex, Pattern, Spans, byte_matcher, escape_bytes

Bool = npt.NDArray[np.bool_]
I64 = npt.NDArray[np.int64]

#: Bytes of entries read and searched at once: small enough that the searches' passes over
#: a block find it still in the core's cache (8 MB blocks came from memory each pass: a
#: regex led by a literal took 20 % longer, a rare word 12 %).
BLOCK_BYTES = 1 << 20
#: Below this share of a source's entries, candidates are read and tested one by one
#: instead of searched in blocks; for a test that parses fields, below the second share.
#: On the 1 GB set, from 0.25 for both: `AnalyticsRole p-50897` 2.8 -> 1.1 CPU s,
#: `AnalyticsRole -agent:python-requests` 5.9 -> 1.3, `user:alice agent:curl` 2.0 -> 0.9;
#: a word after 5-10 % of the entries went either way (`user:alice zyzzyva` 0.70 -> 0.23,
#: `type:Bolt AnalyticsRole` 0.71 -> 0.80), so words stop at 0.1.
SPARSE_SHARE = 0.1
PARSED_SPARSE_SHARE = 0.03
#: A regex searches a block this many bytes (whole entries) at a time: RE2 may read ahead
#: past a match to settle its end, and a bounded window keeps repeated searches linear.
WINDOW_BYTES = 64 << 10
#: Reading one entry alone costs about what reading this many bytes of a block costs.
_ALONE_READ_BYTES = 16 << 10
#: Bytes of the first block whose byte counts choose where a word is searched from.
SAMPLE_BYTES = 1 << 18


class Cancelled(Exception):
    """The caller asked a long evaluation to stop."""


class Finder(Protocol):
    """Finds the entries of a block that a query may match."""

    def scan(self, block: Block) -> tuple[list[int], list[int]]:
        """(positions of entries that match, positions of entries to test alone)."""
        ...


@dataclass(frozen=True)
class TextQuery:
    """What to look for in raw entry text.

    ``test`` is the reference predicate on decoded text. ``finder`` finds, block by block,
    the entries that match and the ones to test alone; every other entry does not match.
    With no finder, every entry is tested alone. ``parses``: the test parses the entry's
    fields (a few times dearer than a word's), so blocks pay off for fewer candidates.
    """

    test: Callable[[str], bool]
    finder: Finder | None
    parses: bool = False


class Block:
    """Consecutive entries of one file read at once: entry ``k`` is
    ``data[starts[k]:bounds[k]]`` (``bounds`` cut at the end of what could be read) and is
    the index's entry ``ids[k]``."""

    def __init__(self, data: bytes, relative_starts: I64, relative_ends: I64, ids: I64) -> None:
        self.data = data
        self._starts = relative_starts
        self._ends = relative_ends
        self.ids = ids

    @cached_property
    def starts(self) -> list[int]:
        """Where each entry starts (a list: a search with few hits never makes it)."""
        starts: list[int] = self._starts.tolist()
        return starts

    @cached_property
    def bounds(self) -> list[int]:
        """Where each entry ends, within ``data``."""
        bounds: list[int] = np.minimum(self._ends, len(self.data)).tolist()
        return bounds

    def __len__(self) -> int:
        return len(self._starts)

    def piece(self, position: int) -> bytes:
        """The raw bytes of one entry."""
        return self.data[self.starts[position] : self.bounds[position]]


def literal_query(value: str) -> TextQuery:
    """Case-insensitive substring: ``value.lower() in text.lower()``."""
    wanted = value.lower()
    return TextQuery(test=lambda text: wanted in text.lower(), finder=word_finder(wanted))


def regex_query(pattern: Pattern) -> TextQuery:
    """Regex search: ``pattern.search`` on each entry's text."""
    block = pattern.block_regex()
    return TextQuery(test=pattern.search, finder=RegexFinder(block) if block else None)


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
    finder = query.finder
    for source, ids, wanted in _sources(index, size, candidates):
        share = PARSED_SPARSE_SHARE if query.parses else SPARSE_SHARE
        if finder is None or len(wanted) < share * len(ids):
            for count, entry in enumerate(wanted.tolist()):
                if count % 1024 == 0:
                    _check_cancel(cancel)
                if query.test(index.text(entry)):
                    result[entry] = True
            continue
        # Dense: search every entry of the file, whole blocks at a time.
        for block_ids, data, starts, ends in _blocks(index, source, ids, cancel):
            block = Block(data, starts, ends, block_ids)
            proven, alone = finder.scan(block)
            found = set(proven)
            for position in alone:
                if position not in found and query.test(decode_entry_bytes(block.piece(position))):
                    found.add(position)
            if found:
                result[block_ids[sorted(found)]] = True
    result &= candidates
    return result


# -- words -------------------------------------------------------------------------------

#: Nanoseconds a search spends per byte of a block: RE2 matching a pattern in any case;
#: skipping to a byte with memchr; and per occurrence of that byte, where RE2 tries the
#: rest of the word (measured on audit logs).
_ANY_CASE_NS = 0.75
_SKIP_NS = 0.07
_STOP_NS = 35.0

#: Characters whose lower case is or holds an ASCII letter: K (KELVIN SIGN) and İ.
ODD_BYTES = {ord("k"): "\u212a".encode(), ord("i"): "\u0130".encode()}


def word_finder(wanted: str) -> Finder:
    """The finder of a lower-cased word."""
    if not wanted:
        return _Everything()
    if wanted.isascii() and not wanted.isspace() and "\r" not in wanted and "\n" not in wanted:
        return _Word(wanted.encode())
    return _Characters(wanted)


class _Everything:
    """Every entry matches (the empty word)."""

    def scan(self, block: Block) -> tuple[list[int], list[int]]:
        return list(range(len(block))), []


#: Characters RE2's case folding makes equal to an ASCII letter: K (KELVIN SIGN) and ſ.
_RE2_FOLDS = {ord("k"): "\u212a".encode(), ord("s"): "\u017f".encode()}


#: A block with a hit in fewer bytes than this (in the block before) is searched whole:
#: skipping from hit to hit costs about 3 us a hit, comparing the whole block with arrays
#: about 0.5 ns a byte (``_entries_spelled``). From a hit in 4 kB instead, a header value
#: found every 6 kB took 1.16-1.21 CPU s instead of 0.85-1.0 on the 1 GB set.
DENSE_BYTES_PER_HIT = 8192
#: ``_entries_spelled`` compares this many of a word's bytes one at a time, at the places
#: left by the one before (the rarest first), then the rest at once.
_COMPARED_ALONE = 4

#: ASCII lower and upper case of each byte.
_LOWER = np.arange(256, dtype=np.uint8)
_LOWER[ord("A") : ord("Z") + 1] += 32
_UPPER = np.arange(256, dtype=np.uint8)
_UPPER[ord("a") : ord("z") + 1] -= 32


class _Word:
    """Entries holding an ASCII word in any case; exact (see the module doc). ``odd``: for
    the letters of the word, characters whose lower case (or folding) holds them, whose
    entries are the reference's to decide. A word found often (a hit every few kB) is
    searched a block at a time (``_entries_spelled``)."""

    def __init__(self, word: bytes, odd: dict[int, bytes] = ODD_BYTES) -> None:
        self.word = word
        self.odd = [byte_matcher(escape_bytes(o)) for byte, o in odd.items() if byte in word]
        self._plan: list[tuple[Spans, int]] | None = None
        self._rarest: list[int] = []  # the word's places, its rarest bytes first
        self._dense = False  # whether the next block is searched whole

    def plan(self, sample: bytes) -> list[tuple[Spans, int]]:
        """(pattern, how many bytes of the word come before where it starts), from byte
        counts of a sample: the word's rarest byte in each case, or the word in any case.
        Also orders the word's places by rarity, for whole blocks (``_entries_spelled``)."""
        counts = np.bincount(np.frombuffer(sample, np.uint8), minlength=256) + 1
        share = counts / counts.sum()
        word = self.word
        # (a byte in either case: its share and its upper case's, unless it is its own)
        cased = share + np.where(_UPPER != np.arange(256), share[_UPPER], 0.0)
        self._rarest = sorted(range(len(word)), key=lambda at: float(cased[word[at]]))
        best = (_ANY_CASE_NS, -1)
        for at in range(len(word) - min(len(word), 3) + 1):  # at least 3 bytes from there
            cases = {bytes((word[at],)), bytes((word[at],)).upper()}
            cost = sum(_SKIP_NS + _STOP_NS * float(share[case[0]]) for case in cases)
            best = min(best, (cost, at))
        at = best[1]
        if at < 0:
            return [(byte_matcher(b"(?i)" + escape_bytes(word)), 0)]
        rest = escape_bytes(word[at + 1 :])
        return [
            (byte_matcher(escape_bytes(case) + (b"(?i:" + rest + b")" if rest else b"")), at)
            for case in sorted({word[at : at + 1], word[at : at + 1].upper()})
        ]

    def scan(self, block: Block) -> tuple[list[int], list[int]]:
        if self._plan is None:
            self._plan = self.plan(block.data[:SAMPLE_BYTES])
        proven: set[int] = set()
        if self._dense:
            proven.update(_entries_spelled(self.word, self._rarest, block))
        else:
            for search, before in self._plan:
                proven.update(_entries_with(search, block, self.word[:before]))
        self._dense = len(proven) * DENSE_BYTES_PER_HIT > len(block.data)
        alone: set[int] = set()
        for search in self.odd:
            alone.update(_entries_with(search, block))
        return list(proven), list(alone - proven)


def _entries_spelled(word: bytes, rarest: list[int], block: Block) -> list[int]:
    """``_entries_with`` for a block where ``word`` (ASCII, lower case) is common, with
    arrays and no Python step per hit: every place of its rarest byte in either case, where
    its other bytes are then compared in any ASCII case (the rarer first). Every place is
    tried, overlapping ones too. ``rarest``: the word's places, rarest byte first."""
    if not len(block):
        return []
    data, length, first = block.data, len(word), int(block._starts[0])
    if len(data) - first < length:
        return []
    raw = np.frombuffer(data, np.uint8)
    at = rarest[0]
    byte = word[at]
    searched = raw[first + at : len(raw) - (length - 1 - at)]  # where the whole word fits
    found = searched == byte
    if _UPPER[byte] != byte:
        found |= searched == _UPPER[byte]
    places = np.flatnonzero(found) + first  # where the word would start
    wanted = np.frombuffer(word, np.uint8)
    for offset in rarest[1:_COMPARED_ALONE]:
        places = places[_LOWER[raw[places + offset]] == wanted[offset]]
    rest = np.array(rarest[_COMPARED_ALONE:], np.intp)
    if len(rest) and len(places):
        window = _LOWER[raw[places[:, np.newaxis] + rest]]
        places = places[(window == wanted[rest]).all(axis=1)]
    entries = np.searchsorted(block._starts, places, side="right") - 1
    inside = places + length <= np.minimum(block._ends[entries], len(raw))
    spelled: list[int] = _distinct(entries[inside]).tolist()
    return spelled


def _distinct(ordered: I64) -> I64:
    """The distinct values of a non-decreasing array."""
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    distinct: I64 = ordered[keep]
    return distinct


def _entries_with(search: Spans, block: Block, head: bytes = b"") -> list[int]:
    """Positions of the entries that hold a match of ``search`` lying inside them (and,
    with ``head``, right after ``head`` in any ASCII case), in order; the search skips to
    the next entry after each one found."""
    data = block.data
    found: list[int] = []
    if not len(block):
        return found
    end = len(data)
    pos = int(block._starts[0])  # bytes before the first entry belong to none
    start, stop = search(data, pos, end)[0]
    if start < 0:
        return found  # the usual answer for a rare word: no lists made
    starts, bounds = block.starts, block.bounds
    entry = 0
    while start >= 0:
        entry = bisect_right(starts, start, entry) - 1
        begin = start - len(head)
        if (
            stop > bounds[entry]
            or begin < starts[entry]
            or (head and data[begin:start].lower() != head)
        ):
            pos = start + 1
        else:
            found.append(entry)
            pos = max(bounds[entry], start + 1)
        if pos >= end:
            break
        start, stop = search(data, pos, end)[0]
    return found


#: Literals at least this long are found with ``bytes.find``.
_LONG_LITERAL = 12


def _entries_holding(literal: bytes, block: Block) -> list[int]:
    """Positions of the entries whose bytes hold ``literal`` (no CR or LF in it), in order."""
    data = block.data
    found: list[int] = []
    if not len(block):
        return found
    start = data.find(literal, int(block._starts[0]))
    if start < 0:
        return found
    starts, bounds = block.starts, block.bounds
    entry = 0
    while start >= 0:
        entry = bisect_right(starts, start, entry) - 1
        if start + len(literal) <= bounds[entry]:
            found.append(entry)
            start = data.find(literal, max(bounds[entry], start + 1))
        else:
            start = data.find(literal, start + 1)
    return found


class PatternFinder:
    """Entries holding a match of any of some byte patterns (``byte_matcher``) that each
    match the same ASCII text in an entry's text as in its bytes: a pattern of ASCII
    characters that matches neither CR nor LF and always holds one that is not whitespace."""

    def __init__(self, patterns: list[bytes]) -> None:
        self.searches = [byte_matcher(pattern) for pattern in patterns]

    def scan(self, block: Block) -> tuple[list[int], list[int]]:
        found: set[int] = set()
        for search in self.searches:
            found.update(_entries_with(search, block))
        return list(found), []


class AnyOf:
    """Entries that any of some finders finds."""

    def __init__(self, finders: tuple[Finder, ...]) -> None:
        self.finders = finders

    def scan(self, block: Block) -> tuple[list[int], list[int]]:
        proven: set[int] = set()
        alone: set[int] = set()
        for finder in self.finders:
            matched, untold = finder.scan(block)
            proven.update(matched)
            alone.update(untold)
        return list(proven), list(alone - proven)


class _Characters:
    """Entries that may hold a word no byte pattern can decide: those holding, for one of
    its characters (the rarest), a character whose lower case holds it; all tested alone."""

    def __init__(self, wanted: str) -> None:
        self.wanted = wanted
        self._plan: list[Spans] | None = None

    def plan(self, sample: bytes) -> list[Spans]:
        """Patterns for the encodings of the character found in the fewest sample bytes,
        one per leading byte (so each skips ahead with memchr)."""
        counts = np.bincount(np.frombuffer(sample, np.uint8), minlength=256) + 1
        best: tuple[float, list[bytes]] | None = None
        for char in sorted(set(self.wanted)):
            if char == "\ufffd":  # what bad bytes decode to: any byte above 0x7F may be one
                cost = float(counts[0x80:].sum())
                patterns = [b"[\\x80-\\xff]"]
            else:
                by_lead: dict[int, list[bytes]] = {}
                for source in _lower_sources(char):
                    encoding = source.encode()
                    by_lead.setdefault(encoding[0], []).append(escape_bytes(encoding))
                cost = float(sum(counts[lead] for lead in by_lead))
                patterns = [b"|".join(sorted(pieces)) for pieces in by_lead.values()]
            if best is None or cost < best[0]:
                best = (cost, patterns)
        assert best is not None
        return [byte_matcher(pattern) for pattern in best[1]]

    def scan(self, block: Block) -> tuple[list[int], list[int]]:
        if self._plan is None:
            self._plan = self.plan(block.data[:SAMPLE_BYTES])
        alone: set[int] = set()
        for search in self._plan:
            alone.update(_entries_with(search, block))
        return [], list(alone)


def _lower_sources(char: str) -> list[str]:
    """The characters whose lower case holds ``char`` (itself among them)."""
    found = {char, *_lower_inverse().get(char, ())}
    if char in "σς":  # lower() writes Σ as ς at the end of a word
        found.add("Σ")
    return sorted(found)


@cache
def _lower_inverse() -> dict[str, list[str]]:
    """For each character some other character's lower case holds, those characters."""
    inverse: dict[str, list[str]] = {}
    for code in range(_LAST_CASED + 1):
        if 0xD800 <= code < 0xE000:
            continue
        char = chr(code)
        lower = char.lower()
        if lower != char:
            for part in set(lower):
                inverse.setdefault(part, []).append(char)
    return inverse


#: No character above this one changes under lower() (Unicode 15: ADLAM CAPITAL SHA).
_LAST_CASED = 0x1E921


# -- regexes -----------------------------------------------------------------------------


class RegexFinder:
    """Entries matching a regex (see the module doc)."""

    def __init__(self, regex: BlockRegex) -> None:
        self.regex = regex
        literal = regex.literal
        # A long literal is found fastest by bytes.find (it skips ahead by its length);
        # a short one by RE2 (memchr to its first byte).
        self.literal = byte_matcher(escape_bytes(literal)) if literal else None
        self.long_literal = literal if len(literal) >= _LONG_LITERAL else b""
        # A case-insensitive pattern's literal: found as a word in any case.
        self.folded = _Word(regex.folded, _RE2_FOLDS) if len(regex.folded) >= 3 else None

    def scan(self, block: Block) -> tuple[list[int], list[int]]:
        if self.literal is not None or self.folded is not None:
            return self._literal_entries(block)
        alone = _unclean_entries(block)
        return self._windows(block, alone), list(alone)

    def _literal_entries(self, block: Block) -> tuple[list[int], list[int]]:
        """Only an entry holding the pattern's literal can match: find those, then ask RE2
        about each alone, in place."""
        matched: list[int] = []
        alone: list[int] = []
        data = block.data
        spans, anchored = self.regex.spans, self.regex.line_anchored
        if self.folded is not None:
            entries = sorted(set().union(*self.folded.scan(block)))
        elif self.long_literal:
            entries = _entries_holding(self.long_literal, block)
        else:
            assert self.literal is not None
            entries = _entries_with(self.literal, block)
        if not entries:
            return matched, alone
        starts, bounds = block.starts, block.bounds
        for entry in entries:
            start, bound = starts[entry], bounds[entry]
            piece = data[start:bound]
            if b"\r" in piece or not (piece.isascii() or _utf8(piece)):
                alone.append(entry)
                continue
            end = spans(data, start, bound)[0][1]
            if end < 0:
                continue
            # Inlined _proves for the usual one-line entry, which is most of the work here.
            newline = piece.find(b"\n")
            if newline == len(piece) - 1 or newline < 0:
                proven = newline < 0 or end - start <= newline
            else:
                proven = _proves(anchored, piece, end - start)
            (matched if proven else alone).append(entry)
        return matched, alone

    def _windows(self, block: Block, alone: set[int]) -> list[int]:
        """Run RE2 along the block, a window at a time: each match proves its entry or sends
        the entries it touches to ``alone`` (which holds the unclean ones already)."""
        regex = self.regex
        anchored = regex.line_anchored
        data, starts, bounds = block.data, block.starts, block.bounds
        matched: list[int] = []
        window_first = 0
        while window_first < len(starts):
            after = max(
                window_first + 1,
                bisect_left(starts, starts[window_first] + WINDOW_BYTES, window_first + 1),
            )
            window_end = bounds[after - 1]
            pos = starts[window_first]
            spans = regex.spans
            while pos < window_end:
                start, end = spans(data, pos, window_end)[0]
                if start < 0 or start >= window_end:
                    break
                first = bisect_right(starts, start, window_first) - 1
                bound = bounds[first]
                if end <= bound and first not in alone:
                    # _proves, inlined for the usual one-line entry: most of the work here.
                    begin = starts[first]
                    newline = data.find(b"\n", begin, bound)
                    if newline < 0 or newline == bound - 1:
                        proven = newline < 0 or end <= newline
                    else:
                        proven = _proves(anchored, data[begin:bound], end - begin)
                    if proven:
                        matched.append(first)
                        pos = max(bound, pos + 1)
                        continue
                last = bisect_right(starts, max(end - 1, start), first) - 1
                alone.update(range(first, last + 1))
                pos = max(bounds[last], pos + 1)
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


#: Bytes per row, then per piece of a row, whose lowest signed value tells whether it holds
#: a byte above 0x7F (a row first: most are ASCII, and a long row is cheaper to reduce).
_ROW = 4096
_PIECE = 64


def _unclean_entries(block: Block) -> set[int]:
    """Positions of the entries that are not ``_clean``."""
    data = block.data
    suspects: set[int] = set()
    if not len(block):
        return suspects
    starts = block.starts
    pos = data.find(b"\r", starts[0])  # one byte: memchr
    while pos >= 0:
        entry = bisect_right(starts, pos) - 1
        suspects.add(entry)
        pos = data.find(b"\r", max(block.bounds[entry], pos + 1))
    if data.isascii():
        return suspects
    # Where bytes above 0x7F are, to a piece: rows of the block, then pieces of those rows.
    whole = len(data) // _ROW * _ROW
    rows = np.frombuffer(data, np.int8, whole).reshape(-1, _ROW)
    marked = np.flatnonzero(rows.min(axis=1) < 0)
    lowest = rows[marked].reshape(-1, _PIECE).min(axis=1)
    pieces = np.flatnonzero(lowest < 0)
    offsets = marked[pieces // (_ROW // _PIECE)] * _ROW + pieces % (_ROW // _PIECE) * _PIECE
    if whole < len(data):
        offsets = np.append(offsets, np.arange(whole, len(data), _PIECE))
    relative_starts = block._starts
    first = np.searchsorted(relative_starts, offsets, side="right") - 1
    last = np.searchsorted(relative_starts, offsets + _PIECE - 1, side="right") - 1
    high: set[int] = set()
    for low, top in zip(first.tolist(), last.tolist(), strict=True):
        high.update(range(max(low, 0), top + 1))
    suspects.update(_bad_utf8(block, sorted(high)))
    return {entry for entry in suspects if not _clean(block.piece(entry))}


def _bad_utf8(block: Block, entries: list[int]) -> list[int]:
    """Those of ``entries`` (in order) whose bytes are not UTF-8: all of them decoded at
    once, and again after each one that fails (whole entries end at character bounds)."""
    bad: list[int] = []
    while entries:
        pieces = [block.piece(entry) for entry in entries]
        try:
            b"".join(pieces).decode("utf-8")
        except UnicodeDecodeError as error:
            ends = np.cumsum([len(piece) for piece in pieces])
            failed = int(np.searchsorted(ends, error.start, side="right"))
            bad.append(entries[failed])
            entries = entries[failed + 1 :]
            continue
        break
    return bad


def entry_texts(
    index: Index, size: int, candidates: Bool, *, cancel: threading.Event | None = None
) -> Iterator[tuple[int, str]]:
    """(entry, decoded text) for every candidate, file by file: dense candidates are read in
    large blocks, sparse ones one by one."""
    for entry, data in entry_bytes(index, size, candidates, cancel=cancel):
        yield entry, decode_entry_bytes(data)


def entry_bytes(
    index: Index, size: int, candidates: Bool, *, cancel: threading.Event | None = None
) -> Iterator[tuple[int, bytes]]:
    """(entry, raw bytes) for every candidate, as ``entry_texts`` reads them."""
    for source, _, wanted in _sources(index, size, candidates):
        if len(wanted) * _ALONE_READ_BYTES < index.sources[source].end:
            for count, entry in enumerate(wanted.tolist()):
                if count % 1024 == 0:
                    _check_cancel(cancel)
                yield entry, index.read(entry) or b""
            continue
        for block_ids, data, starts, ends in _blocks(index, source, wanted, cancel):
            for entry, start, end in zip(
                block_ids.tolist(), starts.tolist(), ends.tolist(), strict=True
            ):
                yield entry, data[start:end]


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled()
