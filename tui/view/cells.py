"""What a table row shows: cell texts for an entry, and which columns fit the width.

Cells come mostly from the index's columns (no parse); the query cell needs the entry's text
and is computed only for rows on screen, then cached. Every text from the log is inert.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass

from tui.index.index import Index
from tui.index.schema import AUTH_FAILED, AUTH_OK, KIND_MALFORMED, KIND_RECORD, LANG_NAMES, OP_NAMES
from tui.insight import fingerprint, operation_of
from tui.model.fields import parse_arn
from tui.model.parser import query_field
from tui.model.record import DELETE, KNOWN_TYPES, Query
from tui.model.secrets import mask_text
from tui.model.text import inert
from tui.query import display_time


@dataclass(frozen=True)
class Column:
    """A table column: ``width`` cells (the query column takes what is left); when the
    terminal is too narrow for all, the lowest ``priority`` goes first."""

    key: str
    title: str
    width: int
    priority: int


#: The columns, left to right. Who and from where matter most: the principal outlasts the
#: client, the instance and the type as the terminal narrows.
COLUMNS: tuple[Column, ...] = (
    Column("time", "TIME (UTC)", 23, 100),
    Column("instance", "INSTANCE", 14, 75),
    Column("client", "CLIENT", 15, 85),
    Column("type", "TYPE", 9, 65),
    Column("user", "USER", 20, 95),
    Column("auth", "A", 1, 90),
    Column("lang", "LANG", 7, 70),
    Column("op", "OP", 3, 68),
    Column("path", "REQUEST", 16, 30),
    Column("fp", "SHAPE", 8, 25),
    Column("query", "QUERY", 0, 100),
)
COLUMN_KEYS: tuple[str, ...] = tuple(column.key for column in COLUMNS)
#: Columns the user may hide or pin (time and query always show).
CHOOSABLE: tuple[Column, ...] = tuple(c for c in COLUMNS if c.key not in ("time", "query"))
QUERY_MIN_WIDTH = 28  # the query column's width before unpinned columns go
QUERY_FLOOR = 12  # ...and before pinned ones go
_COMPACT_TIME_BELOW = 110  # terminal width under which the time loses its year
_QUERY_CELL_LIMIT = 2000
#: Bytes of an entry read for its cells: a multi-megabyte query costs no more than this.
CELL_READ_LIMIT = 64 * 1024
_LANG_SHORT = {"gremlin": "gremlin", "sparql": "sparql", "opencypher": "cypher"}
_OP_SHORT = {
    "read": "r",
    "write": "W",
    "delete": "DEL",
    "admin": "adm",
    "health": "hp",
    "unknown": "?",
}


_SPACES = re.compile(r"[ \t\n]+")


def collapse_spaces(text: str) -> str:
    """``text`` on one line: runs of spaces, tabs and newlines become one space, the ends
    stripped. Other separators (CR, U+2028...) stay, for ``inert`` to show as markers."""
    return _SPACES.sub(" ", text).strip(" ")


def compact_time(width: int) -> bool:
    """Whether the time column drops the year at this terminal width."""
    return width < _COMPACT_TIME_BELOW


def fit_columns(
    width: int,
    time_width: int,
    hidden: frozenset[str] = frozenset(),
    pinned: frozenset[str] = frozenset(),
) -> list[tuple[Column, int]]:
    """Columns to show at ``width`` with their widths: the ones not ``hidden``, dropping the
    lowest priorities until the rest and a query column of at least QUERY_MIN_WIDTH fit.
    ``pinned`` columns (ticked by the user) stay: the query narrows for them down to
    QUERY_FLOOR, and only when even that cannot fit does the lowest pinned one go."""
    chosen = [c for c in COLUMNS if c.key not in hidden or c.key in ("time", "query")]

    def used(columns: list[Column]) -> int:
        return sum(
            (time_width if c.key == "time" else c.width) + 1 for c in columns if c.key != "query"
        )

    def drop(keep: frozenset[str], query_width: int) -> None:
        while used(chosen) + query_width > width:
            droppable = [c for c in chosen if c.key not in keep]
            if not droppable:
                return
            chosen.remove(min(droppable, key=lambda c: c.priority))

    drop(pinned | {"query", "time"}, QUERY_MIN_WIDTH)
    drop(frozenset({"query", "time"}), QUERY_FLOOR)
    fitted: list[tuple[Column, int]] = []
    for column in chosen:
        if column.key == "query":
            fitted.append((column, max(1, width - used(chosen))))
        else:
            fitted.append((column, time_width if column.key == "time" else column.width))
    return fitted


@dataclass(frozen=True)
class Row:
    """The cells of one entry, and how to style it."""

    cells: dict[str, str]
    malformed: bool
    failed_auth: bool
    unknown_type: bool
    delete: bool = False


class RowFormatter:
    """Cell texts for entries of an index, cached for the rows recently shown."""

    def __init__(self, index: Index, *, cache_size: int = 4096) -> None:
        self.index = index
        self.local_time = False
        self.compact_time = False
        self.reveal = False  # credentials in clear (masked unless the user asks)
        self._cache: OrderedDict[int, Row] = OrderedDict()
        self._cache_size = cache_size
        self._short_user: dict[int, str] = {}
        self._instance: dict[tuple[int, int], str] = {}
        self._microseconds = False  # what the cached rows' times were written with

    def clear(self) -> None:
        """Forget cached rows (after a change of time zone or format)."""
        self._cache.clear()

    def clear_instances(self) -> None:
        """Forget instance names (new files arrived)."""
        self._instance.clear()

    @property
    def microseconds(self) -> bool:
        """Whether any record has sub-millisecond time, so times show microseconds (the
        index learns it as spans arrive; rows cached before are written again)."""
        self._same_precision()
        return self._microseconds

    def _same_precision(self) -> None:
        """Keep the cached rows only while the times' precision is what they were written
        with."""
        found = self.index.sub_ms_times
        if found != self._microseconds:
            self._microseconds = found
            self._cache.clear()

    def time_text(self, epoch_us: int) -> str:
        """A record time as the table shows it."""
        return display_time(
            epoch_us,
            local=self.local_time,
            digits=6 if self.microseconds and not self.compact_time else 3,
            compact=self.compact_time,
        )

    def row(self, entry: int) -> Row:
        """The cells of an entry."""
        self._same_precision()
        cached = self._cache.get(entry)
        if cached is not None:
            self._cache.move_to_end(entry)
            return cached
        row = self._build(entry)
        self._cache[entry] = row
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return row

    def _build(self, entry: int) -> Row:
        index = self.index
        source_id = int(index.column("source")[entry])
        time = self.time_text(int(index.column("epoch_us")[entry]))
        if int(index.column("kind")[entry]) == KIND_MALFORMED:
            reason = index.value("reason", int(index.column("reason")[entry])) or "malformed"
            raw = self._secret(index.text(entry, CELL_READ_LIMIT))
            raw = collapse_spaces(raw)[:_QUERY_CELL_LIMIT]
            cells = dict.fromkeys(COLUMN_KEYS, "")
            cells.update(
                time=time.replace(" ", "≈", 1),  # borrowed from the record before it
                instance=self._instance_of(source_id, 0),
                type="MALFORMED",
                query=inert(f"{reason}: {raw}"),
            )
            return Row(cells, malformed=True, failed_auth=False, unknown_type=False)
        conn_type = index.value("type", int(index.column("type")[entry]))
        method = index.value("method", int(index.column("method")[entry]))
        path = index.value("path", int(index.column("path")[entry]))
        auth = int(index.column("auth")[entry])
        lang = LANG_NAMES[int(index.column("lang")[entry])]
        cut = int(index.column("length")[entry]) > CELL_READ_LIMIT
        decoded = query_field(index.text(entry, CELL_READ_LIMIT), cut=cut)
        query = decoded.text if decoded else None
        op, shape = self._insight(entry, path, lang, decoded)
        cells = {
            "time": time,
            "instance": self._instance_of(source_id, int(index.column("server")[entry])),
            "client": inert(index.value("client", int(index.column("client")[entry])) or ""),
            "type": inert(conn_type or ""),
            "user": self._user(int(index.column("principal")[entry])),
            "auth": "✓" if auth == AUTH_OK else "✗" if auth == AUTH_FAILED else "",
            "lang": _LANG_SHORT.get(lang or "", ""),
            "path": inert(" ".join(p for p in (method, path) if p)),
            "op": _OP_SHORT.get(op, "?"),
            "fp": shape,
            "query": inert(collapse_spaces(self._secret(query or ""))[:_QUERY_CELL_LIMIT]),
        }
        return Row(
            cells,
            malformed=False,
            failed_auth=auth == AUTH_FAILED,
            unknown_type=conn_type is not None and conn_type not in KNOWN_TYPES,
            delete=op == DELETE,
        )

    def _insight(
        self, entry: int, path: str | None, lang: str | None, query: Query | None
    ) -> tuple[str, str]:
        """(operation class, shape id) of a record: from the index's insight columns once
        classified, else from the query decoded for the row."""
        insight = self.index.insight
        if entry < insight.done:
            code = int(insight.fp[entry])
            shape = insight.shapes[code]
            return OP_NAMES[int(insight.op[entry])] or "", shape.id if shape else ""
        if query is None:
            return operation_of(path, lang, None), ""
        bytecode = query.form == "bytecode"
        found = fingerprint(query.text, lang, bytecode=bytecode)
        return operation_of(path, lang, query.text, bytecode=bytecode), found.id

    def _secret(self, text: str) -> str:
        return text if self.reveal else mask_text(text)

    def instance(self, entry: int) -> str:
        """The instance an entry belongs to (from the columns)."""
        index = self.index
        is_record = int(index.column("kind")[entry]) == KIND_RECORD
        server = int(index.column("server")[entry]) if is_record else 0
        return self._instance_of(int(index.column("source")[entry]), server)

    def _user(self, code: int) -> str:
        short = self._short_user.get(code)
        if short is None:
            arn = self.index.value("principal", code)
            short = inert(parse_arn(arn).short) if arn else ""
            self._short_user[code] = short
        return short

    def _instance_of(self, source_id: int, server_code: int) -> str:
        """The instance: from the file's place, else the server's instance name."""
        key = (source_id, server_code)
        name = self._instance.get(key)
        if name is None:
            named = self.index.sources[source_id].instance
            if named is None and server_code:
                servers = self.index.server_instances()
                named = servers[server_code] if server_code < len(servers) else None
            name = inert(named or "")
            self._instance[key] = name
        return name
