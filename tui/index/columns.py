"""Growable numpy columns: appends are amortised O(1) and readers never see torn data."""

from __future__ import annotations

import functools
import mmap
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt


class ColumnStore:
    """Named columns of equal length that grow by appending.

    Capacity doubles when full. A reader that reads ``size`` and then a column gets at
    least ``size`` valid rows: rows are written before ``size`` moves, and a grown array is
    filled before it replaces the old one, so a builder thread can append while a UI thread
    reads.
    """

    def __init__(
        self,
        dtypes: dict[str, type[np.generic]],
        capacity: int = 1024,
        *,
        widen: dict[str, type[np.generic]] | None = None,
    ) -> None:
        self._dtypes = dict(dtypes)
        #: Integer columns that take the wider type when a value does not fit theirs.
        self._wider = dict(widen or {})
        self._arrays: dict[str, npt.NDArray[np.generic]] = {
            name: np.zeros(capacity, dtype) for name, dtype in dtypes.items()
        }
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def column(self, name: str) -> npt.NDArray[Any]:
        """The first ``size`` rows of a column (a view: do not write through it)."""
        return self._arrays[name][: self.size]

    def reserve(self, capacity: int, *, sure: int = 0) -> None:
        """Make room for ``capacity`` rows at once (untouched memory costs nothing); the
        next ``sure`` rows will be written (see ``_zeros``)."""
        current = len(next(iter(self._arrays.values())))
        if capacity > current:
            self._grow(capacity, sure)

    def _grow(self, capacity: int, sure: int = 0) -> None:
        grown = {}
        for name, array in self._arrays.items():
            dtype = np.dtype(self._dtypes[name])
            filled = (self.size * dtype.itemsize, (self.size + sure) * dtype.itemsize)
            bigger = _zeros(capacity, dtype, filled if sure else None)
            bigger[: self.size] = array[: self.size]
            grown[name] = bigger
        self._arrays = grown

    def append(self, rows: dict[str, npt.NDArray[np.generic]]) -> range:
        """Append rows (every column, equal lengths); returns the new row numbers."""
        count = len(next(iter(rows.values())))
        start = self.size
        needed = start + count
        capacity = len(next(iter(self._arrays.values())))
        if needed > capacity:
            self._grow(max(needed, capacity * 2))
        for name in self._wider.keys() & rows.keys():
            # (values of a type no wider than the column's always fit)
            if count and rows[name].dtype.itemsize > self._arrays[name].dtype.itemsize:
                self._fit(name, int(rows[name].max()))
        for name, array in self._arrays.items():
            array[start:needed] = rows[name]
        self.size = needed
        return range(start, needed)

    def set(self, name: str, row: int, value: int) -> None:
        """Overwrite one cell (used when a later span changes an earlier entry)."""
        if name in self._wider:
            self._fit(name, value)
        self._arrays[name][row] = value

    def _fit(self, name: str, largest: int) -> None:
        """Widen a column whose type cannot hold ``largest``; readers keep what they read."""
        if largest > np.iinfo(np.dtype(self._dtypes[name])).max:
            wider = self._wider.pop(name)
            self._dtypes[name] = wider
            self._arrays[name] = self._arrays[name].astype(wider)

    def itemsize(self) -> int:
        """Bytes a row takes."""
        return sum(np.dtype(dtype).itemsize for dtype in self._dtypes.values())

    def nbytes(self) -> int:
        """Bytes the used rows take."""
        return self.itemsize() * self.size


#: Linux's madvise(MADV_POPULATE_WRITE) (5.14 and later; not in Python's mmap before 3.13):
#: the pages of a range are made at once, as writing would make them one fault at a time.
_POPULATE_WRITE = getattr(mmap, "MADV_POPULATE_WRITE", 23)
#: Arrays smaller than this are not worth a memory map of their own.
_MAPPED_FROM = 4 << 20


def _zeros(capacity: int, dtype: np.dtype[Any], filled: tuple[int, int] | None) -> npt.NDArray[Any]:
    """A zeroed array; the pages of its bytes ``filled`` (sure to be written soon) are made
    at once. Writing fresh memory faults once per 4 kB page, which costs more than the copy
    into it: writing the 113 MB of a re-opened 1 GB set's rows took 58 ms, 44 with the
    pages made first. (Huge pages took 27 ms, but now and then several times as long: the
    kernel compacts memory to find them.) Only where rows are sure to come: a page made
    for nothing is memory held for nothing."""
    nbytes = capacity * dtype.itemsize
    if filled is None or nbytes < _MAPPED_FROM or not hasattr(mmap.mmap, "madvise"):
        return np.zeros(capacity, dtype)
    memory = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    array = np.frombuffer(memory, dtype, capacity)
    first = -(-filled[0] // mmap.PAGESIZE) * mmap.PAGESIZE
    last = min(filled[1], nbytes) // mmap.PAGESIZE * mmap.PAGESIZE
    if last > first:
        try:
            memory.madvise(_POPULATE_WRITE, first, last - first)
        except OSError:  # (a kernel before 5.14)
            pass
    return array


def release_free_memory() -> None:
    """Hand memory freed by big temporaries back to the system now. glibc keeps freed heap
    memory for reuse, and after a big load that is a sixth of the process's memory; other
    C libraries need nothing done."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        function: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None
    return function
