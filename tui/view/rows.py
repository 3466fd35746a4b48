"""The rows the viewer shows: a filter's result over the index, in time order, and its counts.

``compute_rows`` runs in a worker thread over a snapshot of the index (its first ``size``
entries). Given the previous result it extends it to the entries added since, and says where
the new rows went (``RowsUpdate.placed``), so the UI thread can keep its cursor and count the
rows that appeared below it in time independent of the number of rows.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tui.index.filtering import FilterResult, evaluate, extend, filtered_order
from tui.index.index import Index
from tui.index.schema import KIND_MALFORMED, KIND_RECORD
from tui.query import Node

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]

EMPTY_IDS: I32 = np.empty(0, np.int32)


@dataclass(frozen=True)
class Counts:
    """What a snapshot holds, by one definition used everywhere: *records* are entries that
    parsed as records, *malformed* the others; *shown* ones are those the filter keeps."""

    size: int = 0  # entries in the snapshot (records + malformed)
    records: int = 0
    malformed: int = 0
    shown_records: int = 0
    shown_malformed: int = 0
    first_us: int | None = None  # time span of the snapshot's records
    last_us: int | None = None


@dataclass(frozen=True)
class RowsRequest:
    """What a worker needs to compute the rows: the tree, and the previous answer to extend
    (None: compute from scratch). ``anchor`` is the entry to find in the new rows."""

    generation: int
    node: Node
    previous: FilterResult | None
    previous_ids: I32
    previous_counts: Counts
    anchor: int | None
    only: frozenset[int] | None = None  # keep only these entries (the marked ones)
    #: Without ``previous``: what the filter bar's preview found for this tree, extended
    #: instead of computing the rows from scratch.
    seed: FilterResult | None = None


@dataclass(frozen=True)
class RowsUpdate:
    """The rows a filter keeps, in time order, over the first ``result.size`` entries.

    ``placed`` is set when the rows are the previous rows with others inserted: for each
    inserted row (in order), how many previous rows come before it. ``anchor_row`` is where
    the request's anchor entry is now (or the first row at or after its time).
    """

    generation: int
    result: FilterResult
    ids: I32
    counts: Counts
    placed: I64 | None
    anchor_row: int | None


def compute_rows(
    index: Index, request: RowsRequest, cancel: threading.Event | None = None
) -> RowsUpdate:
    """The request's rows over every entry indexed now (raises Cancelled)."""
    previous = request.previous
    start = previous if previous is not None else request.seed
    if start is None:
        result = evaluate(index, request.node, cancel=cancel)
    else:
        result = extend(index, request.node, start, cancel=cancel)
    if request.only is not None:
        kept = np.zeros(result.size, bool)
        chosen = np.fromiter(request.only, np.int64, len(request.only))
        kept[chosen[chosen < result.size]] = True
        result = FilterResult(result.mask & kept, result.size)
    ids = filtered_order(index, result)
    placed = _placed(ids, result, previous, request.previous_ids)
    counts = _counts(index, result, request.previous_counts if placed is not None else None)
    anchor_row = None
    if request.anchor is not None and request.anchor < result.size:
        anchor_row = row_of(index, ids, request.anchor)
    return RowsUpdate(request.generation, result, ids, counts, placed, anchor_row)


def row_of(index: Index, ids: I32, entry: int) -> int:
    """The row of ``entry`` in ``ids``, or of the first entry at or after its time."""
    found = np.flatnonzero(ids == entry)
    if len(found):
        return int(found[0])
    times = index.column("epoch_us")
    return int(np.searchsorted(times[ids], times[entry], side="left"))


def moved_row(row: int, placed: I64) -> int:
    """Where previous row ``row`` is after the rows of ``placed`` were inserted."""
    return row + int(np.searchsorted(placed, row, side="right"))


def inserted_after(row: int, placed: I64) -> int:
    """How many of the inserted rows went below previous row ``row``."""
    return len(placed) - int(np.searchsorted(placed, row, side="right"))


def _placed(
    ids: I32, result: FilterResult, previous: FilterResult | None, previous_ids: I32
) -> I64 | None:
    """For each row new since ``previous``, how many previous rows precede it; None when the
    rows are not the previous ones with rows inserted (a new filter, ``last:`` moved, an
    entry re-read with a new time)."""
    if previous is None:
        return None
    fresh = ids >= previous.size  # (every id in the rows passed the filter)
    rows: I64 = np.flatnonzero(fresh).astype(np.int64)
    if len(ids) - len(rows) != len(previous_ids):
        return None
    if not np.array_equal(ids[~fresh], previous_ids):
        return None
    placed: I64 = rows - np.arange(len(rows), dtype=np.int64)
    return placed


def _counts(index: Index, result: FilterResult, previous: Counts | None) -> Counts:
    """The snapshot's counts; the time span is extended from ``previous`` when given."""
    size = result.size
    kinds = index.column("kind")[:size]
    records = kinds == KIND_RECORD
    malformed = kinds == KIND_MALFORMED
    start = previous.size if previous is not None else 0
    first_us = previous.first_us if previous is not None else None
    last_us = previous.last_us if previous is not None else None
    new_times = index.column("epoch_us")[start:size][records[start:]]
    if len(new_times):
        low, high = int(new_times.min()), int(new_times.max())
        first_us = low if first_us is None else min(first_us, low)
        last_us = high if last_us is None else max(last_us, high)
    return Counts(
        size=size,
        records=int(np.count_nonzero(records)),
        malformed=int(np.count_nonzero(malformed)),
        shown_records=int(np.count_nonzero(result.mask & records)),
        shown_malformed=int(np.count_nonzero(result.mask & malformed)),
        first_us=first_us,
        last_us=last_us,
    )


def count_matches(
    index: Index, node: Node, cancel: threading.Event | None = None
) -> tuple[FilterResult, Counts]:
    """What a filter would keep of every entry indexed now, and its counts (the filter
    preview; the result seeds the rows if the filter is then applied)."""
    result = evaluate(index, node, cancel=cancel)
    return result, _counts(index, result, None)


def arrivals(
    index: Index, node: Node, previous: FilterResult, cancel: threading.Event | None = None
) -> tuple[FilterResult, I64]:
    """The entries indexed since ``previous`` that pass the filter, in the merged order (the
    batch ``query --follow`` prints), and the result to extend next time."""
    result = extend(index, node, previous, cancel=cancel)
    fresh = np.flatnonzero(result.mask[previous.size :]).astype(np.int64) + previous.size
    return result, index.in_order(fresh)
