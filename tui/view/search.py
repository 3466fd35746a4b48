r"""Search in the viewer: an explicit spec (literal or regex, case), its matches, next/previous.

What the user types is a literal, matched in any case, unless the whole text is written as
a regex (``/re/``, case-sensitive, or ``/re/i``; ``\/`` for a slash, spaces allowed). The
spec is decided once, when the search starts, and the same spec drives the match count, the
jumps and the highlighting (``SearchSpec.spans``).

Matches are kept as a mask over entries: entries searched once keep their answer, so a
search extends to entries that arrive (loading, following) and maps onto whatever rows the
filter shows without searching again.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tui.index.index import Index
from tui.index.textscan import TextQuery, literal_query, regex_query, search
from tui.query.regex import Pattern, RegexError, compile_regex, escape

#: ``/source/`` or ``/source/i``: a regex.
_REGEX = re.compile(r"/(.+)/(i?)", re.DOTALL)
_LEADING_I = re.compile(r"\(\?[msU]*i[imsU]*\)")

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class SearchSpec:
    """What to find: ``text`` as typed; a regex or a case-insensitive literal."""

    text: str
    pattern: Pattern
    regex: bool

    @classmethod
    def parse(cls, text: str) -> SearchSpec:
        """The spec for typed text (a bad regex raises ValueError)."""
        stripped = text.strip()
        written = _REGEX.fullmatch(stripped)
        if written is not None:
            source = written.group(1).replace("\\/", "/")
            try:
                pattern = compile_regex(source, ignore_case=bool(written.group(2)))
            except RegexError as error:
                raise ValueError(error.message) from None  # it says "invalid regex: ..."
            return cls(stripped, pattern, regex=True)
        return cls(stripped, compile_regex(escape(stripped), ignore_case=True), regex=False)

    @property
    def ignore_case(self) -> bool:
        """Whether case is ignored (by ``/re/i`` or a leading ``(?i)``)."""
        return self.pattern.ignore_case or _LEADING_I.match(self.pattern.source) is not None

    def query(self) -> TextQuery:
        """The raw-text query the index searches with."""
        return regex_query(self.pattern) if self.regex else literal_query(self.text)

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        """Where ``text`` (a cell, a detail line) matches: non-empty (start, end) spans."""
        yield from self.pattern.finditer_spans(text)


@dataclass(frozen=True)
class SearchRequest:
    """Search the entries among ``ids`` not searched yet and map the matches onto ``ids``.
    ``found`` and ``searched`` are the answers so far (masks over entries)."""

    generation: int
    spec: SearchSpec
    ids: I32
    found: Bool
    searched: Bool
    jump: bool


@dataclass(frozen=True)
class SearchUpdate:
    """The answers over every entry searched so far and the matching rows of the request's
    ids, in row order."""

    generation: int
    found: Bool
    searched: Bool
    rows: I64
    jump: bool


def compute_search(
    index: Index, request: SearchRequest, cancel: threading.Event | None = None
) -> SearchUpdate:
    """Search the entries among ``ids`` that were not searched yet (raises Cancelled)."""
    ids = request.ids
    size = max(index.size, len(request.searched))
    searched = _grown(request.searched, size)
    candidates = np.zeros(size, bool)
    candidates[ids] = True
    candidates &= ~searched
    found = _grown(request.found, size)
    if candidates.any():
        found |= search(index, size, request.spec.query(), candidates, cancel=cancel)
        searched |= candidates
    rows: I64 = np.flatnonzero(found[ids]).astype(np.int64)
    return SearchUpdate(request.generation, found, searched, rows, request.jump)


def _grown(mask: Bool, size: int) -> Bool:
    grown = np.zeros(size, bool)
    grown[: len(mask)] = mask
    return grown


class SearchState:
    """The current search, its matches and the jumps between them (UI thread)."""

    def __init__(self) -> None:
        self.spec: SearchSpec | None = None
        self.generation = 0
        self.rows: I64 = np.empty(0, np.int64)
        self.pending = False
        self._found: Bool = np.zeros(0, bool)
        self._searched: Bool = np.zeros(0, bool)

    def start(self, spec: SearchSpec | None) -> None:
        """Search for ``spec`` from scratch (None: no search)."""
        self.spec = spec
        self.generation += 1
        self.pending = spec is not None  # no answer yet
        self.rows = np.empty(0, np.int64)
        self._found = np.zeros(0, bool)
        self._searched = np.zeros(0, bool)

    def request(self, ids: I32, *, jump: bool) -> SearchRequest | None:
        """A worker's job for the current search over ``ids`` (None without a search)."""
        if self.spec is None:
            return None
        return SearchRequest(self.generation, self.spec, ids, self._found, self._searched, jump)

    def apply(self, update: SearchUpdate) -> bool:
        """Take a worker's answer; False when it is stale (another search began)."""
        if update.generation != self.generation:
            return False
        self._found, self._searched, self.rows = update.found, update.searched, update.rows
        self.pending = False
        return True

    def next_row(self, cursor_row: int, direction: int) -> int | None:
        """The next (``direction`` 1) or previous (-1) matching row, wrapping around."""
        rows = self.rows
        if not len(rows):
            return None
        if direction > 0:
            position = int(np.searchsorted(rows, cursor_row, side="right"))
        else:
            position = int(np.searchsorted(rows, cursor_row, side="left")) - 1
        return int(rows[position % len(rows)])

    @property
    def matches(self) -> int:
        """Matching rows among those shown."""
        return len(self.rows)


def spec_or_error(text: str) -> SearchSpec | str:
    """The spec for typed text, or the error to show for it."""
    try:
        return SearchSpec.parse(text)
    except ValueError as error:
        return str(error)
