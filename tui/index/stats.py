"""Summary counts over the index or a filtered part of it, straight from the columns.

``compute_stats`` is the one place counting happens: ``neptune-audit stats`` prints it and
the viewer's overview shows it. Everything is a ``bincount`` over compact columns, so the
whole 1 GB benchmark set is counted in well under a second.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from tui.index.index import Index
from tui.index.schema import (
    AUTH_BY_NAME,
    AUTH_FAILED,
    KIND_MALFORMED,
    KIND_RECORD,
    LANG_NAMES,
    OP_CODES,
)
from tui.model.record import DELETE

Bool = npt.NDArray[np.bool_]
I64 = npt.NDArray[np.int64]

TOP = 10
#: Buckets of a timeline: from a second to a day, the smallest that fits the span.
BUCKET_SIZES_US: tuple[int, ...] = tuple(
    seconds * 1_000_000
    for seconds in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600)
) + (43_200_000_000, 86_400_000_000)
_BARS = " ▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class Timeline:
    """Records per time bucket: ``total`` of them, ``failed`` authentications and
    ``deletes`` (delete operations); bucket ``i`` starts at ``start_us + i * bucket_us``."""

    start_us: int
    bucket_us: int
    total: tuple[int, ...]
    failed: tuple[int, ...]
    deletes: tuple[int, ...] = ()

    def bucket_of(self, epoch_us: int) -> int:
        """The bucket a time falls in (clamped to the timeline)."""
        return max(0, min(len(self.total) - 1, (epoch_us - self.start_us) // self.bucket_us))


def bucket_size(span_us: int, buckets: int) -> int:
    """The smallest bucket size (1 s ... 1 day, then whole days) that covers ``span_us`` in at
    most ``buckets`` buckets."""
    for size in BUCKET_SIZES_US:
        if span_us < size * buckets:
            return size
    day = BUCKET_SIZES_US[-1]
    return day * (span_us // (day * buckets) + 1)


def time_bounds(times: I64, records: Bool) -> tuple[int, int] | None:
    """The first and last of ``times[records]`` (None when no row is chosen), read a
    million rows at a time."""
    bounds: tuple[int, int] | None = None
    for start in range(0, len(records), _COUNT_CHUNK):
        part = _chosen(times[start : start + _COUNT_CHUNK], records[start : start + _COUNT_CHUNK])
        if len(part):
            low, high = int(part.min()), int(part.max())
            bounds = (low, high) if bounds is None else (min(bounds[0], low), max(bounds[1], high))
    return bounds


def compute_timeline(
    times: I64,
    records: Bool,
    failed: Bool,
    deletes: Bool | None,
    *,
    buckets: int,
    bounds: tuple[int, int],
) -> Timeline:
    """The timeline of ``times[records]`` over ``bounds`` (first and last) in at most
    ``buckets`` buckets; ``failed`` and ``deletes`` mark rows as ``records`` does. Read a
    million rows at a time: no temporary grows with the index."""
    first_us, last_us = bounds
    size = bucket_size(max(last_us - first_us, 1), max(buckets, 1))
    origin = first_us - first_us % size
    count = int((last_us - origin) // size) + 1
    sums = np.zeros((3, count), np.int64)
    for start in range(0, len(records), _COUNT_CHUNK):
        rows = slice(start, start + _COUNT_CHUNK)
        chosen = records[rows]
        slots = _chosen(times[rows], chosen) - origin
        np.floor_divide(slots, size, out=slots)
        sums[0] += np.bincount(slots, minlength=count)[:count]
        for row, marks in ((1, failed), (2, deletes)):
            if marks is not None:
                marked = _chosen(marks[rows], chosen)
                sums[row] += np.bincount(slots[marked], minlength=count)[:count]
    return Timeline(
        origin,
        size,
        tuple(sums[0].tolist()),
        tuple(sums[1].tolist()),
        tuple(sums[2].tolist()) if deletes is not None else (),
    )


def timeline_of(index: Index, mask: Bool, *, buckets: int) -> Timeline | None:
    """The timeline of the records in ``mask`` (None when there are none)."""
    size = len(mask)
    records = mask & (index.column("kind")[:size] == KIND_RECORD)
    times = index.column("epoch_us")[:size]
    bounds = time_bounds(times, records)
    if bounds is None:
        return None
    failed = index.column("auth")[:size] == AUTH_FAILED
    return compute_timeline(times, records, failed, None, buckets=buckets, bounds=bounds)


def sparkline(counts: tuple[int, ...] | list[int]) -> str:
    """Counts as a line of block characters (an empty bucket is a space)."""
    most = max(counts, default=0)
    if most <= 0:
        return " " * len(counts)
    top = len(_BARS) - 1
    return "".join(
        _BARS[0] if value <= 0 else _BARS[max(1, -(-value * top // most))] for value in counts
    )


@dataclass(frozen=True)
class Stats:
    """What ``neptune-audit stats`` reports. Counts are most common first, ties by value;
    ``lines`` counts every physical line read, whatever the filter."""

    lines: int
    records: int
    malformed: int
    first_us: int | None
    last_us: int | None
    by_type: dict[str, int]
    by_lang: dict[str, int]
    by_auth: dict[str, int]
    top_clients: list[tuple[str, int]]
    top_users: list[tuple[str, int]]
    top_paths: list[tuple[str, int]]
    top_instances: list[tuple[str, int]] = field(default_factory=list)
    failed_by_user: list[tuple[str, int]] = field(default_factory=list)
    timeline: Timeline | None = None
    by_op: dict[str, int] = field(default_factory=dict)
    top_fingerprints: list[tuple[str, int, str]] = field(default_factory=list)  # id, n, example


def _ranked(codes: I64, values: list[str | None], top: int) -> list[tuple[str, int]]:
    """The ``top`` most frequent values of ``codes`` (ties by value), absent ones left out."""
    return _top(np.bincount(codes, minlength=len(values)), values, top)


def _top(
    found: npt.NDArray[np.generic], values: list[str | None], top: int
) -> list[tuple[str, int]]:
    """The ``top`` values by their count in ``found`` (ties by value), absent ones left out."""
    present = [code for code in np.flatnonzero(found).tolist() if values[code] is not None]
    present.sort(key=lambda code: (-int(found[code]), str(values[code])))
    return [(str(values[code]), int(found[code])) for code in present[:top]]


#: Rows counted at a time by ``masked_bincount``.
_COUNT_CHUNK = 1 << 20


def _chosen(values: npt.NDArray[Any], mask: Bool) -> npt.NDArray[Any]:
    """``values[mask]``, without the copy when every row is chosen (stats of a whole set)."""
    return values if mask.all() else values[mask]


def _chosen_parts(values: npt.NDArray[Any], mask: Bool) -> Iterator[npt.NDArray[Any]]:
    """``_chosen`` a million rows at a time: no temporary grows with the index."""
    for start in range(0, len(mask), _COUNT_CHUNK):
        yield _chosen(values[start : start + _COUNT_CHUNK], mask[start : start + _COUNT_CHUNK])


#: Codes counted one by one when a column has at most this many (counting one code costs
#: a twentieth of ``np.bincount`` of them all, which widens every code first).
_FEW_CODES = 16


def masked_bincount(
    codes: npt.NDArray[Any], mask: Bool, minlength: int = 1
) -> npt.NDArray[np.int64]:
    """``np.bincount(codes[mask], minlength=minlength)``, counted a million rows at a time:
    no temporary grows with the index."""
    if minlength <= _FEW_CODES:
        few = _count_each(codes, mask, minlength)
        if few is not None:
            return few
    found = np.zeros(minlength, np.int64)
    for part in _chosen_parts(codes, mask):
        counted = np.bincount(part, minlength=minlength)
        if len(counted) > len(found):
            counted[: len(found)] += found
            found = counted
        else:
            found[: len(counted)] += counted
    return found


def _count_each(codes: npt.NDArray[Any], mask: Bool, number: int) -> npt.NDArray[np.int64] | None:
    """``masked_bincount`` of codes below ``number``, counted code by code; None when some
    code is not below it."""
    found = np.zeros(number, np.int64)
    chosen = 0
    for part in _chosen_parts(codes, mask):
        chosen += len(part)
        for code in range(number):
            found[code] += np.count_nonzero(part == code)
    return found if int(found.sum()) == chosen else None


def instance_counts(index: Index, records: Bool, top: int) -> list[tuple[str, int]]:
    """The ``top`` instances of the entries in ``records`` (a mask over the first entries),
    with their counts: an entry's instance is the name of its file's place where it has
    one, else its server's instance name. Counted per source and per server code, so no
    per-entry array of names is made."""
    size = len(records)
    names: list[str | None] = [None]
    code_of: dict[str, int] = {}

    def code(name: str | None) -> int:
        if name is None:
            return 0
        if name not in code_of:
            code_of[name] = len(names)
            names.append(name)
        return code_of[name]

    by_source = np.array([code(source.instance) for source in index.sources] or [0], np.int64)
    by_server = np.array([code(name) for name in index.server_instances()] or [0], np.int64)
    sources = index.column("source")[:size]
    per_source = masked_bincount(sources, records, len(by_source))[: len(by_source)]
    totals = np.bincount(by_source, weights=per_source, minlength=len(names))
    unplaced = by_source == 0
    if unplaced[np.flatnonzero(per_source)].any():
        which = records & unplaced[np.minimum(sources, len(by_source) - 1)]
        per_server = masked_bincount(index.column("server")[:size], which, len(by_server))
        # Codes the instance names do not cover yet count as the last one.
        per_server[len(by_server) - 1] += per_server[len(by_server) :].sum()
        totals += np.bincount(by_server, weights=per_server[: len(by_server)], minlength=len(names))
    return _top(totals, names, top)


def compute_stats(
    index: Index,
    mask: Bool | None = None,
    *,
    top: int = TOP,
    buckets: int = 60,
    shapes: bool = False,
    cancel: threading.Event | None = None,
) -> Stats:
    """Counts over the entries in ``mask`` (default: all), and their timeline in at most
    ``buckets`` buckets; with ``shapes``, operation classes and query shapes too (the
    records are classified first where they are not yet: that parses queries)."""
    size = index.size if mask is None else len(mask)
    kind = index.column("kind")[:size]
    selected = np.ones(size, bool) if mask is None else mask
    records = selected & (kind == KIND_RECORD)
    times = index.column("epoch_us")[:size]
    bounds = time_bounds(times, records)

    def counts(column: str) -> dict[str, int]:
        values = index.tables[column].values
        found = masked_bincount(index.column(column)[:size], records, len(values))
        pairs = [
            (str(values[code]), int(number))
            for code, number in enumerate(found.tolist())
            if number and values[code] is not None
        ]
        return dict(sorted(pairs, key=lambda pair: (-pair[1], pair[0])))

    def ranked(column: str) -> list[tuple[str, int]]:
        return list(counts(column).items())[:top]

    lang_counts = masked_bincount(index.column("lang")[:size], records, len(LANG_NAMES))
    auth_all = index.column("auth")[:size]
    auth = _chosen(auth_all, records)
    failed = auth_all == AUTH_FAILED
    failed_principals = index.column("principal")[:size][records & failed].astype(np.int64)
    by_op: dict[str, int] = {}
    top_fingerprints: list[tuple[str, int, str]] = []
    deletes = None
    if shapes:
        insight = index.insight
        insight.fill(size, only=records, cancel=cancel)
        by_op = insight.by_op(records)
        top_fingerprints = insight.top_shapes(records, top)
        deletes = insight.op[:size] == OP_CODES[DELETE]
    timeline = None
    if bounds is not None:
        timeline = compute_timeline(times, records, failed, deletes, buckets=buckets, bounds=bounds)
    return Stats(
        lines=index.lines,
        records=int(np.count_nonzero(records)),
        malformed=int(np.count_nonzero(selected & (kind == KIND_MALFORMED))),
        first_us=bounds[0] if bounds is not None else None,
        last_us=bounds[1] if bounds is not None else None,
        by_type=counts("type"),
        by_lang={
            (LANG_NAMES[code] or "none"): int(lang_counts[code])
            for code in np.argsort(-lang_counts, kind="stable").tolist()
            if lang_counts[code]
        },
        by_auth={
            name: int(np.count_nonzero(auth == value)) for name, value in AUTH_BY_NAME.items()
        },
        top_clients=ranked("client"),
        top_users=ranked("principal"),
        top_paths=ranked("path"),
        top_instances=instance_counts(index, records, top),
        failed_by_user=_ranked(failed_principals, index.tables["principal"].values, top),
        timeline=timeline,
        by_op=by_op,
        top_fingerprints=top_fingerprints,
    )
