"""Evaluating a filter over the whole index at once.

Field terms become lookups: the term is tested once per distinct value of the column and the
result is spread over all entries through their codes, so ``client:10.0.1`` over millions of
entries costs one gather. Time bounds compare the time column. Bare words and regexes search
the raw text (``textscan``). ``agent``, ``query`` and ``header`` have no column: they are
searched like words, for the value's raw text where it must appear, and each entry found has
its field read from the block, from where the scanner saw its header open (or, where it did
not, from its parsed text); after the cheaper terms of an AND have narrowed the candidates.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tui.index.index import Index
from tui.index.schema import AUTH_BY_NAME, KIND_RECORD, LANG_CODES
from tui.index.textscan import (
    ODD_BYTES,
    AnyOf,
    Block,
    Cancelled,
    Finder,
    PatternFinder,
    TextQuery,
    literal_query,
    regex_query,
    search,
    word_finder,
)
from tui.model.fields import parse_arn
from tui.model.parser import hinted_text_field, text_field
from tui.query.ast import And, FieldMatch, Last, MatchAll, Node, Not, Or, Regex, Text, TimeBound
from tui.query.predicate import split_client_value, text_matches, user_equals
from tui.query.regex import escape_bytes

Bool = npt.NDArray[np.bool_]
I32 = npt.NDArray[np.int32]

__all__ = ["Cancelled", "FilterResult", "evaluate", "extend", "filtered_order"]

_DICT_FIELDS = {
    "type": "type",
    "client": "client",
    "server": "server",
    "user": "principal",
    "method": "method",
    "path": "path",
}
_PARSED_FIELDS = frozenset({"agent", "query", "header"})
_INSIGHT_FIELDS = frozenset({"op", "fp"})
#: Percent-encoded or JSON-escaped letters and digits, over raw bytes: a query decoded from
#: these may hold a word its raw text does not.
_ENCODED_FINDER = PatternFinder(
    [rb"%(?:3[0-9]|[46][1-9a-fA-F]|[57][0-9aA])", rb"\\[uU]00(?:3[0-9]|[4-7][0-9a-fA-F])"]
)


@dataclass(frozen=True)
class FilterResult:
    """Entries that passed, as a mask over the first ``size`` entries."""

    mask: Bool
    size: int


def evaluate(
    index: Index,
    node: Node,
    *,
    size: int | None = None,
    start: int = 0,
    cancel: threading.Event | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> FilterResult:
    """Evaluate a filter over entries ``[start, size)`` (default: all); the mask covers the
    first ``size`` entries and is False before ``start``. Raises Cancelled."""
    n = index.size if size is None else size
    evaluator = _Evaluator(index, n, cancel)
    candidates = np.zeros(n, bool)
    candidates[start:] = True
    mask = evaluator.eval(node, candidates)
    if on_progress is not None:
        on_progress(1.0)
    return FilterResult(mask=mask, size=n)


def extend(
    index: Index,
    node: Node,
    previous: FilterResult,
    *,
    size: int | None = None,
    cancel: threading.Event | None = None,
) -> FilterResult:
    """``previous`` grown to cover entries added since (``last:`` is evaluated again in
    full: its reference point, the newest record, may have moved)."""
    n = index.size if size is None else size
    if n == previous.size:
        return previous
    if _uses_newest(node):
        return evaluate(index, node, size=n, cancel=cancel)
    added = evaluate(index, node, size=n, start=previous.size, cancel=cancel)
    mask = added.mask
    mask[: previous.size] = previous.mask
    return FilterResult(mask=mask, size=n)


def _uses_newest(node: Node) -> bool:
    if isinstance(node, Last):
        return True
    if isinstance(node, Not):
        return _uses_newest(node.operand)
    if isinstance(node, (And, Or)):
        return any(_uses_newest(child) for child in node.operands)
    return False


def filtered_order(index: Index, result: FilterResult) -> I32:
    """Entry ids that passed, in time order."""
    order = index.order()
    if len(order) > result.size:
        order = order[order < result.size]
    if result.mask[: result.size].all():  # (no filter: no gather of the mask)
        return order
    selected: I32 = order[result.mask[order]]
    return selected


class _Evaluator:
    def __init__(self, index: Index, size: int, cancel: threading.Event | None) -> None:
        self.index = index
        self.size = size
        self.cancel = cancel
        self.is_record = index.column("kind")[:size] == KIND_RECORD
        self._newest: int | None = None

    def col(self, name: str) -> npt.NDArray[Any]:
        return self.index.column(name)[: self.size]

    def eval(self, node: Node, candidates: Bool) -> Bool:
        """Entries among ``candidates`` that satisfy ``node``."""
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled()
        if isinstance(node, MatchAll):
            return candidates.copy()
        if isinstance(node, And):
            result = candidates
            for child in sorted(node.operands, key=_cost):
                if not result.any():
                    break
                result = self.eval(child, result)
            return result
        if isinstance(node, Or):
            result = np.zeros(self.size, bool)
            for child in sorted(node.operands, key=_cost):
                rest = candidates & ~result
                if not rest.any():
                    break
                result |= self.eval(child, rest)
            return result
        if isinstance(node, Not):
            return candidates & ~self.eval(node.operand, candidates)
        if isinstance(node, TimeBound):
            times = self.col("epoch_us")
            if node.op == "after":
                return candidates & (times >= node.epoch_us)
            return candidates & (times < node.epoch_us)
        if isinstance(node, Last):
            return candidates & (self.col("epoch_us") >= self.newest() - node.duration_us)
        if isinstance(node, Text):
            return search(
                self.index, self.size, literal_query(node.value), candidates, cancel=self.cancel
            )
        if isinstance(node, Regex):
            return search(
                self.index, self.size, regex_query(node.pattern), candidates, cancel=self.cancel
            )
        return self.field(node, candidates)

    def newest(self) -> int:
        """Time of the newest record (what ``last:`` counts back from)."""
        if self._newest is None:
            times = self.col("epoch_us")[self.is_record]
            self._newest = int(times.max()) if len(times) else 0
        return self._newest

    def field(self, node: FieldMatch, candidates: Bool) -> Bool:
        if node.field == "source":
            names = [source.name for source in self.index.sources]
            lut = np.array([text_matches(node, name) for name in names], bool)
            return _mask(candidates & lut[self.col("source")])
        candidates = candidates & self.is_record
        if node.field == "instance":
            return self.instance(node, candidates)
        if node.field in _INSIGHT_FIELDS:
            return self.insight_field(node, candidates)
        if node.field == "auth":
            return _mask(candidates & (self.col("auth") == AUTH_BY_NAME[node.value]))
        if node.field == "lang":
            code = LANG_CODES[None if node.value == "none" else node.value]
            return _mask(candidates & (self.col("lang") == code))
        if node.field in _PARSED_FIELDS:
            return self.parsed_field(node, candidates)
        column = _DICT_FIELDS[node.field]
        if node.field == "client" and node.op != "equals":
            return self.client_text(node, candidates)
        if node.field == "client" and node.op == "equals":
            address, port = split_client_value(node.value)
            if port is not None:  # client=10.0.1.18:34266: the address, and the port
                node = FieldMatch(node.field, node.op, address, None, node.span)
                candidates = candidates & (self.col("port") == port)
        values = self.index.tables[column].values
        lut = np.array([_value_matches(node, value) for value in values], bool)
        return _mask(candidates & lut[self.col(column)])

    def client_text(self, node: FieldMatch, candidates: Bool) -> Bool:
        """``client:`` and ``client:/re/`` on ``address:port``: for addresses without a colon,
        from tables over the address codes and the 65,536 ports; for the others (IPv6), over
        each distinct (address, port) pair."""
        keys = self.index.tables["client"].values
        codes, ports = self.col("client"), self.col("port")
        colon = np.array([key is not None and ":" in key for key in keys], bool)
        result = np.zeros(self.size, bool)
        rest = candidates
        wanted = node.value.lower()
        if node.op == "contains" and wanted.count(":") <= 1:
            plain = candidates & ~colon[codes]
            lowered = [(key or "").lower() if key is not None else None for key in keys]
            has_port = ports > 0
            if ":" not in wanted:  # within the address, or within the port
                by_key = np.array([key is not None and wanted in key for key in lowered], bool)
                by_port = np.array([wanted in str(port) for port in range(_PORTS)], bool)
                hit = by_key[codes] | (by_port[ports] & has_port)
            else:  # across the colon: the address ends with the head, the port starts with the tail
                head, tail = wanted.split(":")
                by_key = np.array([key is not None and key.endswith(head) for key in lowered], bool)
                by_port = np.array([str(port).startswith(tail) for port in range(_PORTS)], bool)
                hit = by_key[codes] & by_port[ports] & has_port
            result |= plain & hit
            rest = candidates & colon[codes]
        if rest.any():
            pairs = (codes[rest].astype(np.int64) << 17) | ports[rest].astype(np.int64)
            distinct, where = np.unique(pairs, return_inverse=True)
            texts = [_client_text(keys[pair >> 17], int(pair & 0x1FFFF)) for pair in distinct]
            lut = np.array([t is not None and text_matches(node, t) for t in texts], bool)
            result[np.flatnonzero(rest)] = lut[where]
        return result

    def insight_field(self, node: FieldMatch, candidates: Bool) -> Bool:
        """``op`` and ``fp``: the insight columns (classified first where they are not yet)."""
        insight = self.index.insight
        insight.fill(self.size, cancel=self.cancel)
        matches = insight.codes_matching(node.field, lambda value: text_matches(node, value))
        codes = (insight.op if node.field == "op" else insight.fp)[: self.size]
        return _mask(candidates & matches[codes])

    def instance(self, node: FieldMatch, candidates: Bool) -> Bool:
        """The file's instance when its place names one, else the server's instance name."""
        named = [source.instance for source in self.index.sources]
        has_name = np.array([name is not None for name in named], bool)
        by_source = np.array([_value_matches(node, name) for name in named], bool)
        by_server = np.array([_value_matches(node, n) for n in self.index.server_instances()])
        sources = self.col("source")
        servers = self.col("server")
        if len(by_server) == 0:
            by_server = np.zeros(1, bool)
        servers = np.minimum(servers, len(by_server) - 1, dtype=np.int64)
        matched = np.where(has_name[sources], by_source[sources], by_server[servers])
        return _mask(candidates & matched)

    def parsed_field(self, node: FieldMatch, candidates: Bool) -> Bool:
        """Fields with no column: derived from the raw text of the entries that may hold
        the value (``_FieldFinder``)."""
        query = _field_query(self.index, node, candidates)
        return search(self.index, self.size, query, candidates, cancel=self.cancel)


_PORTS = 65_536


def _client_text(key: str | None, port: int) -> str | None:
    """The searched text of a client address code and port (see ``client_text``)."""
    if key is None:
        return None
    return f"{key}:{port}" if port else key


def _mask(values: Any) -> Bool:
    mask: Bool = np.asarray(values, dtype=bool)
    return mask


def _value_matches(node: FieldMatch, value: str | None) -> bool:
    """A field term against one distinct column value."""
    if value is None:
        return False
    if node.field == "user" and node.op == "equals":
        return user_equals(parse_arn(value), node.value)
    return text_matches(node, value)


def _field_query(index: Index, node: FieldMatch, candidates: Bool) -> TextQuery:
    """The search for a ``header``, ``agent`` or ``query`` term among ``candidates``: the
    reference test on an entry's text, and a finder of the entries whose raw text may hold
    the value."""
    name = node.field

    def test(text: str) -> bool:
        return _value_matches(node, text_field(text, name))

    finder = _raw_finder(node)
    return TextQuery(test=test, finder=_FieldFinder(index, node, candidates, finder), parses=True)


class _FieldFinder:
    """Entries whose field holds a value: of the ``candidates`` that ``finder`` finds (every
    one without a finder), those whose header the scanner located have their field read
    from the block (``hinted_text_field``); the others are tested alone."""

    def __init__(
        self,
        index: Index,
        node: FieldMatch,
        candidates: Bool,
        finder: Finder | None,
    ) -> None:
        self.node = node
        self.candidates = candidates
        self.finder = finder
        self.hints = index.column("header_at")
        self.types = index.column("type")
        self.type_names = index.tables["type"].values

    def scan(self, block: Block) -> tuple[list[int], list[int]]:
        alone: list[int]
        if self.finder is None:
            found, alone = list(range(len(block))), []
        else:
            found, alone = self.finder.scan(block)
        node = self.node
        ids = block.ids[found]
        wanted = self.candidates[ids]
        if not wanted.all():  # (a block holds every entry of its stretch of the file)
            found, ids = np.asarray(found)[wanted].tolist(), ids[wanted]
        hints = self.hints[ids].tolist()
        types = self.types[ids].tolist()
        names = self.type_names
        proven: list[int] = []
        data, starts, bounds = block.data, block.starts, block.bounds
        for position, at, code in zip(found, hints, types, strict=True):
            if not at:
                alone.append(position)
                continue
            start, end = starts[position], bounds[position]
            value = hinted_text_field(data, start + at, names[code], node.field, end=end)
            if value is not None and text_matches(node, value):  # (_value_matches, inlined)
                proven.append(position)
        return proven, alone


def _raw_finder(node: FieldMatch) -> Finder | None:
    """A finder of the entries whose raw text may hold a field's value, when one is known
    (for ``query:``, by the value's spellings where they are known)."""
    if node.op == "regex":
        return None
    if node.field == "query":
        spellings = _spellings(node)
        if spellings is not None:
            return spellings.finder()
        runs = re.findall(r"[A-Za-z0-9_]+", node.value)
        if not runs:
            return None
        return AnyOf((word_finder(max(runs, key=len).lower()), _ENCODED_FINDER))
    # agent and header text appear verbatim, except that a quote is doubled in the log.
    pieces = [piece for piece in node.value.split('"') if piece]
    if not pieces:
        return None
    return word_finder(max(pieces, key=len).lower())


#: What a query holds though its raw text may not show it: an encoded letter or digit, a
#: bytecode request (rendered, not written).
_HELD_ANYWAY = (_ENCODED_FINDER, word_finder("op='bytecode'"))
#: A value's spellings are searched one by one up to this many, else all in one pattern.
_MAX_FORMS = 16
#: How else a payload may write a character, besides ``%xx`` and ``\\u00xx``: a space as
#: ``+`` (forms); a quote doubled (CSV), escaped (JSON) or both; a slash or a backslash
#: escaped (JSON).
_SPELLED: dict[str, tuple[str, ...]] = {
    " ": ("+",),
    '"': ('""', '\\"', '\\""'),
    "/": ("\\/",),
    "\\": ("\\\\",),
}


class _Spellings:
    """The ways the raw text of an entry whose decoded query holds VALUE (in any case) may
    write it: letters and digits as they are, each other character as written or as a
    payload may encode it (``%xx``, ``\\u00xx``, ``_SPELLED``). ``forms``: every whole
    spelling, when there are few."""

    def __init__(self, value: str) -> None:
        self.value = value.lower()
        self.spellings = [
            [char]
            if char.isalnum()
            else [char, f"%{ord(char):02x}", f"\\u00{ord(char):02x}", *_SPELLED.get(char, ())]
            for char in self.value
        ]
        count = 1
        for forms in self.spellings:
            count *= len(forms)
        self.forms = (
            ["".join(chosen) for chosen in itertools.product(*self.spellings)]
            if count <= _MAX_FORMS
            else None
        )

    def finder(self) -> Finder:
        """The entries whose raw text spells VALUE, and those whose query may hold it though
        their text does not show it (``_HELD_ANYWAY``)."""
        if self.forms is not None:
            finders = [word_finder(form) for form in self.forms]
        else:  # all at once, with the characters whose lower case is an ASCII letter
            odd = [escape_bytes(o) for byte, o in ODD_BYTES.items() if chr(byte) in self.value]
            finders = [PatternFinder([self.byte_pattern(), *odd])]
        return AnyOf((*finders, *_HELD_ANYWAY))

    def byte_pattern(self) -> bytes:
        """Every spelling over raw bytes (``byte_matcher``), ASCII in any case."""
        return b"(?i)" + b"".join(
            b"(?:" + b"|".join(escape_bytes(form.encode()) for form in forms) + b")"
            for forms in self.spellings
        )


def _spellings(node: FieldMatch) -> _Spellings | None:
    """The ``_Spellings`` of a ``query:`` term's value; None where they are not known
    (other fields, regexes, non-ASCII or control characters, no letter or digit)."""
    value = node.value
    if node.field != "query" or node.op == "regex" or not value.isascii():
        return None
    if not any(char.isalnum() for char in value) or any(not char.isprintable() for char in value):
        return None
    return _Spellings(value)


def _cost(node: Node) -> int:
    """Rough cost, to evaluate cheap terms of an AND or OR first."""
    if isinstance(node, (MatchAll, TimeBound, Last)):
        return 0
    if isinstance(node, FieldMatch):
        return 3 if node.field in _PARSED_FIELDS | _INSIGHT_FIELDS else 1
    if isinstance(node, (Text, Regex)):
        return 2
    if isinstance(node, Not):
        return _cost(node.operand)
    if isinstance(node, (And, Or)):
        return max(_cost(child) for child in node.operands)
    return 3
