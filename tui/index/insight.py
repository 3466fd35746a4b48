"""Operation classes and query shapes of an index's records, as compact columns filled by a
pass over the files (``Insight.fill``), not while indexing.

Classifying a record needs its decoded query, which costs tens of microseconds to parse, so
the pass avoids parsing: a health probe (``/status``, which carries no query) is classified
from the path column; for the others the payload is cut out of the line (a
couple of string operations) and records with the same language, path and payload (a
WebSocket message's ``requestId`` aside) share one parse and one fingerprint. The answers
equal ``tui.insight.operation`` and ``record_fingerprint`` on each parsed record; the tests
check it record by record.

Columns: ``op`` (0 while not classified, else 1 + the index in ``OPERATIONS``) and ``fp``
(0 for no query, else a code into ``shapes``). Entries ``[0, done)`` are classified.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tui.index.index import Index
from tui.index.schema import KIND_RECORD, OP_CODES, OP_NAMES
from tui.index.textscan import Cancelled, entry_texts
from tui.insight import HEALTH, operation, path_operation, record_fingerprint
from tui.model.fields import quoted_field
from tui.model.parser import parse_entry
from tui.model.record import Record

Bool = npt.NDArray[np.bool_]

#: Longest example query kept per shape.
EXAMPLE_CHARS = 300

_REQUEST_ID = re.compile(r"requestId=[^,}]*")
_PROGRESS_EVERY = 65_536


@dataclass(frozen=True)
class Shape:
    """A query shape: its id, its normalised text, its language and one query of it."""

    id: str
    shape: str
    lang: str | None
    example: str


def payload_key(text: str) -> str | None:
    """The payload of a record line as a key for records that share a query (a WebSocket
    message's ``requestId`` removed), or None when the line needs a full parse to know
    (quoted small fields, a map auth context with several keys, a query in the header)."""
    parts = text.split(", ", 6)
    if len(parts) < 7:
        return None
    rest = parts[6]
    if text.find('"', 0, len(text) - len(rest)) >= 0:
        return None  # a quoted small field: the split may not have found the fields
    auth = parts[5]
    if auth[:1] == "{" and auth[-1:] != "}":
        return None
    if rest.startswith('"'):
        end, _ = quoted_field(rest, 0)
        if end < 0 or not rest.startswith(", ", end):
            return None
        payload = rest[end + 2 :]
    else:
        header, separator, payload = rest.partition(", ")
        if not separator:
            return None
    if not payload or (payload.startswith("/") and "?" not in payload):
        return None  # the query (if any) is in the request line's query string
    if "requestId=" in payload:
        payload = _REQUEST_ID.sub("", payload, count=1)
    return payload


class Insight:
    """The ``op`` and ``fp`` columns of an index, and the shapes ``fp`` codes stand for."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.op: npt.NDArray[np.uint8] = np.zeros(0, np.uint8)
        self.fp: npt.NDArray[np.uint32] = np.zeros(0, np.uint32)
        self.shapes: list[Shape | None] = [None]
        self.done = 0
        self._codes: dict[str, int] = {}
        self._by_payload: dict[tuple[int, str], tuple[int, int]] = {}
        self._lock = threading.Lock()

    def fill(
        self,
        stop: int | None = None,
        *,
        only: Bool | None = None,
        cancel: threading.Event | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """Classify the entries up to ``stop`` (default: all) not classified yet; with
        ``only`` (a mask over them), just those it selects. Raises ``Cancelled``; what was
        classified before stays."""
        with self._lock:
            index = self.index
            size = index.size if stop is None else stop
            start = self.done
            if size <= start:
                return
            self._grow(size)
            kinds = index.column("kind")[:size]
            records = np.zeros(size, bool)
            # Records a pass over a selection classified already have an operation.
            records[start:] = (kinds[start:] == KIND_RECORD) & (self.op[start:size] == 0)
            if only is not None:
                records &= only[:size]
            paths = index.column("path")[:size].astype(np.int64)
            probes = np.array(
                [path_operation(value) == HEALTH if value else False
                 for value in index.tables["path"].values],
                bool,
            )  # fmt: skip
            decided = records & probes[np.minimum(paths, len(probes) - 1)]
            self.op[:size][decided] = OP_CODES[HEALTH]
            needed = records & ~decided
            kinds_of = (index.column("lang")[:size].astype(np.int64) << 32) | paths
            total = int(np.count_nonzero(needed))
            entries: list[int] = []
            codes: list[tuple[int, int]] = []
            known = self._by_payload
            stored = 0  # entries classified and stored by this pass
            for entry, text in entry_texts(index, size, needed, cancel=cancel):
                key = payload_key(text)
                found = None
                if key is not None:
                    lookup = (int(kinds_of[entry]), key)
                    found = known.get(lookup)
                    if found is None:
                        found = known[lookup] = self._classify(text)
                else:
                    found = self._classify(text)
                entries.append(entry)
                codes.append(found)
                if cancel is not None and len(entries) % 4096 == 0 and cancel.is_set():
                    self._store(entries, codes)  # kept: a later pass finds them classified
                    raise Cancelled()
                if len(entries) >= _PROGRESS_EVERY:
                    self._store(entries, codes)
                    stored += len(entries)
                    if on_progress is not None:
                        on_progress(stored, total)
                    entries, codes = [], []
            self._store(entries, codes)
            if only is None or self.covers(np.ones(size, bool)):
                self.done = size
            if on_progress is not None:
                on_progress(total, total)

    def covers(self, mask: Bool) -> bool:
        """Whether every record ``mask`` selects is classified."""
        size, start = len(mask), self.done
        if size <= start:
            return True
        if len(self.op) < size:
            return False
        records = mask[start:] & (self.index.column("kind")[start:size] == KIND_RECORD)
        return not np.any(self.op[start:size][records] == 0)

    def _store(self, entries: list[int], codes: list[tuple[int, int]]) -> None:
        if entries:
            found = np.array(codes, np.int64).reshape(-1, 2)
            self.op[entries] = found[:, 0]
            self.fp[entries] = found[:, 1]

    def _classify(self, text: str) -> tuple[int, int]:
        """(op code, fp code) of one entry, from its full parse."""
        parsed = parse_entry(text)
        if not isinstance(parsed, Record):
            return OP_CODES["unknown"], 0
        found = record_fingerprint(parsed)
        code = 0
        if found is not None:
            code = self._codes.get(found.id, 0)
            if not code:
                code = self._codes[found.id] = len(self.shapes)
                query = parsed.query.text if parsed.query else ""
                example = " ".join(query.split())[:EXAMPLE_CHARS]
                self.shapes.append(Shape(found.id, found.shape, found.lang, example))
        return OP_CODES[operation(parsed)], code

    def _grow(self, size: int) -> None:
        if len(self.op) < size:
            capacity = max(size, 2 * len(self.op))
            op = np.zeros(capacity, np.uint8)
            fp = np.zeros(capacity, np.uint32)
            op[: len(self.op)] = self.op  # passes over a selection reach beyond ``done``
            fp[: len(self.fp)] = self.fp
            self.op, self.fp = op, fp

    # -- counting ----------------------------------------------------------------------------

    def by_op(self, records: Bool) -> dict[str, int]:
        """Records per operation class among ``records`` (a mask over classified entries),
        most first."""
        codes = self.op[: len(records)][records].astype(np.int64)
        found = np.bincount(codes, minlength=len(OP_NAMES))
        pairs = [(OP_NAMES[code], int(found[code])) for code in range(1, len(OP_NAMES))]
        return {name: n for name, n in sorted(pairs, key=lambda pair: -pair[1]) if name and n}

    def top_shapes(self, records: Bool, top: int) -> list[tuple[str, int, str]]:
        """The ``top`` most frequent shapes among ``records``: (id, count, example)."""
        codes = self.fp[: len(records)][records].astype(np.int64)
        found = np.bincount(codes, minlength=len(self.shapes))
        present = [code for code in np.flatnonzero(found).tolist() if code]
        present.sort(key=lambda code: (-int(found[code]), self.shapes[code].id))  # type: ignore[union-attr]
        out: list[tuple[str, int, str]] = []
        for code in present[:top]:
            shape = self.shapes[code]
            assert shape is not None
            out.append((shape.id, int(found[code]), shape.example))
        return out

    def codes_matching(self, field: str, test: Callable[[str], bool]) -> Bool:
        """Which codes of the ``op`` (``field == "op"``) or ``fp`` column pass ``test`` on
        their name or id."""
        if field == "op":
            return np.array([name is not None and test(name) for name in OP_NAMES], bool)
        return np.array([shape is not None and test(shape.id) for shape in self.shapes], bool)
