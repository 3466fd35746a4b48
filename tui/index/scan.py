"""Vectorised scanning of a byte span of an audit log into compact per-entry columns.

The scanner works on whole spans (megabytes) with numpy and never builds a Python object
per record. It finds line starts, timestamps and the field separators of every line at
once; the small fields (client, server, type, ARN, auth, path) are hashed where they lie and
looked up in a per-scanner cache that maps each distinct raw value to its column code, so
each distinct value is parsed in Python once.

A line the fast path cannot prove ordinary (quoted small fields, an odd header, an unknown
endpoint, IPv6, a field longer than its window...) goes to the reference parser in
``tui.model`` instead. Both paths give the same columns; tests check it on every shape.

Column codes are local to the scanner; each SpanData carries the values the scanner added
since its previous span, so the index can translate codes (scanners may live in worker
processes).

A 64-bit hash identifies a distinct raw field value. Two different values colliding needs
about 2**32 distinct values of one field for an even chance; the risk is accepted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from tui.index.schema import (
    AUTH_NONE,
    DICT_COLUMNS,
    KIND_FRAGMENT,
    KIND_MALFORMED,
    KIND_RECORD,
    LANG_CODES,
    NO_TIME,
    SPAN_COLUMNS,
    auth_code,
)
from tui.model.fields import (
    RECORD_START,
    US_PER_UNIT,
    absent,
    auth_succeeded,
    balanced_brace_end,
    is_ip,
    parse_auth_context,
    parse_host,
    quoted_field,
    timestamp_us,
)
from tui.model.parser import FRAGMENT_REASON, decode_entry_bytes, parse_entry
from tui.model.payload import SNIFF, language_for
from tui.model.record import Entry, Malformed

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
U8 = npt.NDArray[np.uint8]
Bool = npt.NDArray[np.bool_]

#: Zero bytes appended to a span so fixed-width windows never run off its end.
PAD = 512

_REJECT = -(1 << 40)  # a cache value meaning "this raw value needs the reference parser"
_MASKS = np.array(
    [0] + [(1 << (8 * k)) - 1 for k in range(1, 8)] + [0xFFFFFFFFFFFFFFFF], dtype=np.uint64
)
_P1 = np.uint64(0x9E3779B97F4A7C15)
_P2 = np.uint64(0xBF58476D1CE4E5B9)
_S31 = np.uint64(31)
_HTTP_TYPES = frozenset({"HTTP_GET", "HTTP_POST"})


class ValueTable:
    """Interned values of one column: code 0 is None, codes are stable once given."""

    def __init__(self) -> None:
        self.values: list[str | None] = [None]
        self._codes: dict[str | None, int] = {None: 0}

    def code(self, value: str | None) -> int:
        """The code of ``value``, adding it when new."""
        found = self._codes.get(value)
        if found is None:
            found = len(self.values)
            self._codes[value] = found
            self.values.append(value)
        return found

    def __len__(self) -> int:
        return len(self.values)


class _RowTable:
    """Rows of codes added one at a time and read as an array, rebuilt only when rows were
    added since it was last read (once per span, not once per row)."""

    def __init__(self, width: int) -> None:
        self._rows: list[tuple[int, ...]] = []
        self._array: I64 = np.empty((0, width), np.int64)

    def add(self, *row: int) -> int:
        """Add a row; returns its number."""
        self._rows.append(row)
        return len(self._rows) - 1

    def array(self) -> I64:
        """The rows as an array."""
        if len(self._array) != len(self._rows):
            self._array = np.array(self._rows, np.int64).reshape(len(self._rows), -1)
        return self._array


class _HashCache:
    """Maps 64-bit hashes of raw field bytes to an integer (a code, or _REJECT)."""

    def __init__(self, compute: Callable[[bytes], int]) -> None:
        self._compute = compute
        self._keys: U64 = np.empty(0, np.uint64)
        self._vals: I64 = np.empty(0, np.int64)

    def _find(self, hashes: U64) -> tuple[npt.NDArray[np.intp], Bool]:
        if not len(self._keys):
            return np.zeros(len(hashes), np.intp), np.zeros(len(hashes), bool)
        idx = np.searchsorted(self._keys, hashes)
        np.minimum(idx, len(self._keys) - 1, out=idx)
        return idx, self._keys[idx] == hashes

    def lookup(self, hashes: U64, raw_at: Callable[[int], bytes]) -> I64:
        """Values for ``hashes``; ``raw_at(i)`` gives the bytes behind ``hashes[i]``."""
        idx, hit = self._find(hashes)
        if not hit.all():
            missing = np.flatnonzero(~hit)
            new_keys, first = np.unique(hashes[missing], return_index=True)
            new_vals = np.array(
                [self._compute(raw_at(int(missing[i]))) for i in first], dtype=np.int64
            )
            keys = np.concatenate([self._keys, new_keys])
            vals = np.concatenate([self._vals, new_vals])
            order = np.argsort(keys, kind="stable")
            self._keys, self._vals = keys[order], vals[order]
            idx, hit = self._find(hashes)
        return self._vals[idx]


@dataclass
class SpanData:
    """What scanning one span yields: per-entry columns in file order, plus counts."""

    start: int
    end: int
    lines: int
    blank_lines: int
    columns: dict[str, npt.NDArray[np.generic]]
    new_values: dict[str, tuple[int, list[str | None]]] = field(default_factory=dict)
    scanner_id: int = 0
    slow_records: int = 0
    #: Set by ``Index.prepare``: codes are the index's own and, when no entry lacked a
    #: time, the entries' order by time within the span.
    translated: bool = False
    local_order: npt.NDArray[np.int64] | None = None

    @property
    def size(self) -> int:
        """Number of entries."""
        return len(self.columns["offset"])


def _hash(buf: U8, start: I64, length: I64, width: int, shortest: int = 0) -> U64:
    """Hash ``length`` bytes at ``start`` (``shortest <= length <= width``, ``width`` a
    multiple of 8); words that every run fills need no mask."""
    rows = sliding_window_view(buf, width)[start].view("<u8")
    h = length.astype(np.uint64) * _P1
    for k in range(width // 8):
        if 8 * (k + 1) <= shortest:
            h ^= rows[:, k]
        else:
            h ^= rows[:, k] & _MASKS[np.clip(length - 8 * k, 0, 8)]
        h *= _P2
        h ^= h >> _S31
    return h


class Scanner:
    """Turns spans of log bytes into SpanData, keeping value tables across spans."""

    _serial = 0

    def __init__(self, *, fast: bool = True) -> None:
        Scanner._serial += 1
        self.scanner_id = Scanner._serial
        self.fast = fast
        self.tables: dict[str, ValueTable] = {name: ValueTable() for name in DICT_COLUMNS}
        self._reported: dict[str, int] = {name: 1 for name in DICT_COLUMNS}
        self._client = _HashCache(self._client_code)
        # server, type, arn and auth hashed as one run: few distinct combinations.
        self._combo = _RowTable(5)
        self._combo_cache = _HashCache(self._combo_code)
        # "METHOD /path" of the request line, hashed as one run.
        self._request = _RowTable(2)
        self._request_cache = _HashCache(self._request_code)
        self._lang_table: I64 = np.empty((0, 0), np.int64)
        self._mask: Bool = np.empty(0, bool)
        self._any: Bool = np.empty(0, bool)

    # -- values of distinct raw runs --------------------------------------------------

    def _client_code(self, raw: bytes) -> int:
        """Code of the client column from the part before the port's colon."""
        if not raw:
            return _REJECT  # ":port" keeps its raw text as the key: the parser's case
        text = _text(raw)
        if ":" in text and not (text.count(":") == 7 and is_ip(text)):
            # Java writes IPv6 unbracketed with all eight groups, the port a ninth; only
            # that form splits the same way without seeing the whole field.
            return _REJECT
        return self.tables["client"].code(parse_host(text).key)

    def _combo_code(self, raw: bytes) -> int:
        """Codes of ``server, type, arn, auth`` (and whether the type is HTTP) as a row of
        the combo table."""
        parts = _text(raw).split(", ")
        server, conn_type, arn = (absent(p) for p in parts[:3])
        auth = _whole_field(parts[3])
        if auth is None:
            return _REJECT  # a quoted auth context that does not end at this separator
        auth_value = _auth_value(absent(auth))
        if auth_value == _REJECT:
            return _REJECT
        tables = self.tables
        return self._combo.add(
            tables["server"].code(server),
            tables["type"].code(conn_type),
            tables["principal"].code(arn),
            auth_value,
            int(conn_type in _HTTP_TYPES),
        )

    def _request_code(self, raw: bytes) -> int:
        """Codes of ``METHOD /path`` as a row of the request table."""
        method, _, path = _text(raw).partition(" ")
        if not _METHOD.fullmatch(method) or any(char.isspace() for char in path):
            return _REJECT
        return self._request.add(self.tables["method"].code(method), self.tables["path"].code(path))

    def _lang_codes(self, type_codes: I64, path_codes: I64) -> I64:
        """Language codes of (type, path) pairs; _REJECT where the payload must decide.
        A dense (type × path) table, grown as the value tables grow, makes it one gather."""
        types, paths = len(self.tables["type"]), len(self.tables["path"])
        if self._lang_table.shape != (types, paths):
            table = np.empty((types, paths), np.int64)
            for type_code, type_value in enumerate(self.tables["type"].values):
                for path_code, path_value in enumerate(self.tables["path"].values):
                    lang = language_for(type_value, path_value)
                    table[type_code, path_code] = _REJECT if lang == SNIFF else LANG_CODES[lang]
            self._lang_table = table
        codes: I64 = self._lang_table[type_codes, path_codes]
        return codes

    # -- scanning ---------------------------------------------------------------------

    def _word_hits(self, buf: U8, n: int, byte: int) -> tuple[U64, I64]:
        """Where ``byte`` is in ``buf[:n]``: a mask read as 8-byte words, and the indices of
        the words that are not zero. Finding the few nonzero words of a mask is several
        times cheaper than finding its nonzero bytes. The arrays are reused (a fresh 16 MB
        array per call costs thousands of page faults)."""
        size = -(-n // 8) * 8
        if len(self._mask) < size:
            self._mask = np.empty(max(size, 1 << 20), bool)
            self._any = np.empty(len(self._mask) // 8, bool)
        mask = self._mask[:size]
        mask[n:] = False
        np.equal(buf[:n], byte, out=mask[:n])
        words: U64 = mask.view(np.uint64)
        nonzero = self._any[: size // 8]
        np.not_equal(words, 0, out=nonzero)
        return words, np.flatnonzero(nonzero)

    def _positions(self, buf: U8, n: int, byte: int) -> I64:
        """Offsets of ``byte`` in ``buf[:n]``, in order."""
        words, hits = self._word_hits(buf, n, byte)
        lanes = np.flatnonzero(words[hits].view(np.uint8))
        positions: I64 = hits[lanes >> 3] * 8 + (lanes & 7)
        return positions

    def _next_positions(self, buf: U8, n: int, byte: int, targets: I64) -> I64:
        """For each target, the offset of the first ``byte`` at or after it in ``buf[:n]``
        (a value past the end where there is none), without listing every offset."""
        words, hits = self._word_hits(buf, n, byte)
        out = np.full(len(targets), _FAR, np.int64)
        if not len(hits):
            return out
        target_word = targets >> 3
        at = np.searchsorted(hits, target_word)
        word = hits[np.minimum(at, len(hits) - 1)]
        bits = words[word]
        shift = ((targets & 7) * 8).astype(np.uint64)
        # Lanes before the target in its own word do not count; if none is left, the next
        # nonzero word has one (all its lanes are after the target).
        bits = np.where(word == target_word, bits >> shift << shift, bits)
        empty = bits == 0
        following = hits[np.minimum(at + 1, len(hits) - 1)]
        word = np.where(empty, following, word)
        bits = np.where(empty, words[following], bits)
        none = (at >= len(hits)) | (empty & (at + 1 >= len(hits)))
        lowest = bits & (~bits + np.uint64(1))  # 1 << (8 * lane) of the first lane set
        lane = (np.frexp(lowest.astype(np.float64))[1] - 1) >> 3
        out[~none] = (word * 8 + lane)[~none]
        return out

    def scan(self, data: bytes, *, file_offset: int, at_file_start: bool, final: bool) -> SpanData:
        """Scan ``data``, which starts at a line start; without ``final`` it must end
        just after a newline (a partial last line is the caller's to hold back)."""
        padded = bytearray(len(data) + PAD)
        padded[: len(data)] = data
        return self.scan_padded(
            padded, len(data), file_offset=file_offset, at_file_start=at_file_start, final=final
        )

    def scan_padded(
        self, padded: bytearray, n: int, *, file_offset: int, at_file_start: bool, final: bool
    ) -> SpanData:
        """Like ``scan`` for ``padded[:n]``; ``padded`` has at least PAD zero bytes after n."""
        if len(padded) < n + PAD:
            raise ValueError("the buffer needs PAD zero bytes after the data")
        if not final and n and padded[n - 1] != 10:
            raise ValueError("a non-final span must end with a newline")
        buf = np.frombuffer(padded, dtype=np.uint8)
        begin = 3 if at_file_start and padded[:3] == b"\xef\xbb\xbf" else 0
        newlines = self._positions(buf, n, 10)
        starts = np.concatenate([np.array([begin], np.int64), newlines + 1])
        ends = np.concatenate([newlines, np.array([n], np.int64)])
        if n == 0 or padded[n - 1] == 10:  # ends with a newline: no last partial line
            starts, ends = starts[:-1], ends[:-1]
        line_count = len(starts)
        has_cr = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == 13)
        ends = ends - has_cr

        kinds, widths, epochs, blank = self._classify(padded, buf, starts, ends)
        entry_lines = np.flatnonzero(kinds >= 0)
        count = len(entry_lines)
        cols: dict[str, npt.NDArray[np.generic]] = {
            name: np.zeros(count, dtype) for name, dtype in SPAN_COLUMNS.items()
        }
        entry_starts = starts[entry_lines]
        cols["offset"][:] = entry_starts + file_offset
        cols["line"][:] = entry_lines
        cols["kind"][:] = kinds[entry_lines]
        cols["epoch_us"][:] = NO_TIME
        cols["auth"][:] = AUTH_NONE
        # Each entry's bytes run to the next entry (continuation and blank lines included).
        entry_ends = np.append(entry_starts[1:], n)

        records = np.flatnonzero(cols["kind"] == KIND_RECORD)
        slow = _ints(records)
        if len(records) and self.fast:
            line_idx = entry_lines[records]
            slow = self._fast_records(
                padded,
                buf,
                n,
                starts[line_idx],
                ends[line_idx],
                widths[line_idx],
                epochs[line_idx],
                records,
                cols,
            )
        fragments = np.flatnonzero(cols["kind"] == KIND_FRAGMENT)
        if len(fragments):
            cols["reason"][fragments] = self.tables["reason"].code(FRAGMENT_REASON)
        for entry in slow:
            raw = bytes(padded[entry_starts[entry] : entry_ends[entry]])
            self.store(parse_entry(decode_entry_bytes(raw)), entry, cols)
        return SpanData(
            start=file_offset,
            end=file_offset + n,
            lines=line_count,
            blank_lines=blank,
            columns=cols,
            new_values=self._take_new_values(),
            scanner_id=self.scanner_id,
            slow_records=len(slow),
        )

    def _classify(
        self, data: bytearray, buf: U8, starts: I64, ends: I64
    ) -> tuple[I64, I64, I64, int]:
        """Per line: KIND_RECORD for a record start, KIND_FRAGMENT for a non-blank line
        before the span's first record start, -1 for blank and continuation lines; the
        width of the leading digit run, and the epoch it gives (-1 where it gives none)."""
        kinds = np.full(len(starts), -1, np.int64)
        widths = np.zeros(len(starts), np.int64)
        epochs = np.full(len(starts), -1, np.int64)
        if not len(starts):
            return kinds, widths, epochs, 0
        first = buf[starts]
        digit_lead = (first >= 48) & (first <= 57) & (ends > starts)
        lead_idx = np.flatnonzero(digit_lead)
        window = sliding_window_view(buf, 24)[starts[lead_idx]]
        is_digit = (window >= 48) & (window <= 57)
        width = np.where(is_digit.all(axis=1), 24, np.argmin(is_digit, axis=1))
        widths[lead_idx] = width
        epochs[lead_idx] = _epoch_us(_word_view(data), starts[lead_idx], width)
        rows = np.arange(len(window))
        comma = window[rows, np.minimum(width, 23)] == 44
        space = window[rows, np.minimum(width + 1, 23)] == 32
        short = width < 22
        opens = np.zeros(len(starts), bool)
        opens[lead_idx] = short & comma & space
        blank = ends == starts
        # Long digit runs and lines that may be whitespace-only are decided in Python.
        for i in lead_idx[~short].tolist():
            opens[i] = RECORD_START.match(_text(data[starts[i] : ends[i]])) is not None
        maybe_space = (~digit_lead) & (ends > starts) & _WHITESPACE_LUT[first]
        for i in np.flatnonzero(maybe_space).tolist():
            blank[i] = not _text(data[starts[i] : ends[i]]).strip()
        kinds[opens] = KIND_RECORD
        open_lines = np.flatnonzero(opens)
        first_open = int(open_lines[0]) if len(open_lines) else len(starts)
        lead = np.arange(first_open)
        kinds[lead[~blank[:first_open]]] = KIND_FRAGMENT
        return kinds, widths, epochs, int(blank.sum())

    def _fast_records(
        self,
        data: bytearray,
        buf: U8,
        n: int,
        ls: I64,
        le: I64,
        width: I64,
        epoch: I64,
        records: I64,
        cols: dict[str, npt.NDArray[np.generic]],
    ) -> list[int]:
        """Fill the columns of the record entries the fast path can prove ordinary (lines
        ``[ls, le)``, ``epoch`` from a timestamp of ``width`` digits, -1 when the width is
        not one the format defines); return the entries left for the parser."""
        n_rec = len(records)
        # The ", " after the timestamp is where the classification found it; the five
        # after it end client, server, type, ARN and auth, on the record's first line.
        sep0 = ls + width
        live = np.flatnonzero(epoch >= 0)
        seps, found = _separators(buf, sep0[live] + 2, 5)
        ok = found & (seps[:, 4] < le[live])
        ok &= buf[sep0[live] + 2] != 34  # client, server, type and arn never quoted
        for k in range(3):  # (auth may be)
            ok &= buf[seps[:, k] + 2] != 34
        if not ok.all():
            live, seps = live[ok], seps[ok]
        if not len(live):
            return _ints(records)
        le = le[live]

        def codes(cache: _HashCache, start: I64, end: I64, tiers: tuple[int, ...]) -> I64:
            return _lookup_runs(cache, buf, data, start, end, tiers)

        # Client: "address:port" with the port's 1-5 digits read back from the separator.
        cstart, cend = sep0[live] + 2, seps[:, 0]
        tail = sliding_window_view(buf, 7)[cend - 7]
        colon_at = (tail[:, :6] == 58)[:, ::-1]
        has_colon = colon_at.any(axis=1)
        colon_pos = 5 - np.argmax(colon_at, axis=1)  # last colon within the 6 bytes
        port_len = 6 - colon_pos
        digits = tail[:, 2:].astype(np.int64) - 48  # tail[7 - k] is the k-th digit from the right
        in_port = np.arange(5, 0, -1) <= port_len[:, None]
        port_ok = has_colon & (port_len <= 5) & (cend - port_len - 1 > cstart)
        port_ok &= ((digits >= 0) & (digits <= 9) | ~in_port).all(axis=1)
        port = np.where(in_port, digits, 0) @ _POWERS[-5:]
        port_ok &= port <= 65535
        client_c = codes(self._client, cstart, cend - port_len - 1, (16, 24, 40))
        client_c[~port_ok] = _REJECT

        # Header: quoted (a request line inside), or an absent marker hashed with the combo.
        h = seps[:, 4] + 2
        quoted = buf[h] == 34
        # A bare header must be exactly "[unknown]" followed by the payload separator.
        bare = ~quoted & (h + 9 < le) & (_words_at(buf, h) == _UNKNOWN_WORD)
        bare &= (buf[h + 8] == 93) & (buf[h + 9] == 44) & (buf[h + 10] == 32)
        combo = np.full(len(live), _REJECT, np.int64)
        method_c = np.zeros(len(live), np.int64)
        path_c = np.zeros(len(live), np.int64)
        rows_with_combo = np.flatnonzero(quoted | bare)
        combo[rows_with_combo] = codes(
            self._combo_cache, seps[rows_with_combo, 0] + 2, seps[rows_with_combo, 4], _COMBO_TIERS
        )
        # HTTP without a header takes its path from the payload: the parser's job.
        known = np.flatnonzero(bare & (combo >= 0))
        combo_lut = self._combo.array()
        combo[known[combo_lut[combo[known], 4] == 1]] = _REJECT
        q_rows = np.flatnonzero(quoted & (combo >= 0))
        if len(q_rows):
            request = self._requests(data, buf, n, h[q_rows], le[q_rows])
            good = request >= 0
            rows = self._request.array()[request[good]]
            method_c[q_rows[good]] = rows[:, 0]
            path_c[q_rows[good]] = rows[:, 1]
            combo[q_rows[~good]] = _REJECT

        fine = (combo >= 0) & (client_c >= 0)
        f_idx = np.flatnonzero(fine)
        combo_rows = combo_lut[combo[f_idx]] if len(f_idx) else np.empty((0, 5), np.int64)
        lang_c = self._lang_codes(combo_rows[:, 1], path_c[f_idx])
        good = lang_c != _REJECT
        f_idx, combo_rows, lang_c = f_idx[good], combo_rows[good], lang_c[good]

        done = records[live[f_idx]]
        cols["epoch_us"][done] = epoch[live[f_idx]]
        cols["client"][done] = client_c[f_idx]
        cols["port"][done] = port[f_idx]
        cols["server"][done] = combo_rows[:, 0]
        cols["type"][done] = combo_rows[:, 1]
        cols["principal"][done] = combo_rows[:, 2]
        cols["auth"][done] = combo_rows[:, 3]
        cols["lang"][done] = lang_c
        cols["method"][done] = method_c[f_idx]
        cols["path"][done] = path_c[f_idx]
        header_at = h[f_idx] - ls[live[f_idx]]
        cols["header_at"][done] = np.where(header_at <= _HINT_MAX, header_at, 0)
        handled = np.zeros(n_rec, bool)
        handled[live[f_idx]] = True
        return _ints(records[~handled])

    def _requests(self, data: bytearray, buf: U8, n: int, h: I64, le: I64) -> I64:
        """Request-table rows for quoted headers opening at ``h`` (-1 where the fast path
        does not apply): the header must close with ``", `` on the line, and its request
        line is the first ``) X`` (X upper case) inside it, ``METHOD /path`` up to a space
        or ``?``."""
        close = self._next_positions(buf, n, 34, h + 1)
        last = len(buf) - 1
        good = (buf[np.minimum(close + 1, last)] == 44) & (buf[np.minimum(close + 2, last)] == 32)
        good &= close < le
        rows = np.arange(len(h))
        # The request line follows the first ") X" (X upper case) in the header's opening:
        # the few ")" of each window are found at once, then checked.
        window = sliding_window_view(buf, _ANCHOR_WINDOW)[h + 1]
        span = _ANCHOR_WINDOW
        paren = np.flatnonzero(window[:, : span - 2] == 41)
        row = paren // (span - 2)
        at = paren + row * 2  # index into the flat window
        flat = window.ravel()
        after = flat[at + 2]
        anchor = (flat[at + 1] == 32) & (after >= 65) & (after <= 90)
        row, at = row[anchor], at[anchor]
        first = np.flatnonzero(np.diff(row, prepend=-1))  # first anchor of each row
        req = close.copy()
        req[row[first]] = h[row[first]] + 1 + (at[first] - row[first] * span) + 2
        # A header that itself starts with "METHOD /" has its request line there: rare, and
        # the parser's to read.
        lead_window = window[:, :_LEAD_WINDOW]
        upper = (lead_window >= 65) & (lead_window <= 90)
        lead = np.argmin(upper, axis=1)
        at_start = (lead > 0) & (lead_window[rows, lead] == 32)
        at_start &= window[rows, lead + 1] == 47
        good &= ~at_start & ~upper.all(axis=1)
        good &= req < close
        req = np.minimum(req, len(buf) - _REQUEST_WINDOW)
        window = sliding_window_view(buf, _REQUEST_WINDOW)[req]
        space = window == 32
        method_end = np.argmax(space, axis=1)
        after_method = window[rows, np.minimum(method_end + 1, _REQUEST_WINDOW - 1)]
        good &= space.any(axis=1) & (after_method == 47)
        stop = (space | (window == 63)) & (np.arange(_REQUEST_WINDOW) > method_end[:, None])
        good &= stop.any(axis=1)
        end = req + np.argmax(stop, axis=1)
        good &= end < close
        out = np.full(len(h), -1, np.int64)
        pick = np.flatnonzero(good)
        if len(pick):
            found = _lookup_runs(
                self._request_cache, buf, data, req[pick], end[pick], (16, 32, _REQUEST_WINDOW)
            )
            out[pick] = np.where(found >= 0, found, -1)
        return out

    def scan_entry(self, parsed: Entry) -> SpanData:
        """The one-row span of an entry parsed again (one that grew continuation lines)."""
        cols = {name: np.zeros(1, dtype) for name, dtype in SPAN_COLUMNS.items()}
        cols["auth"][0] = AUTH_NONE
        self.store(parsed, 0, cols)
        return SpanData(0, 0, 0, 0, cols, self._take_new_values(), self.scanner_id)

    def store(self, parsed: Entry, entry: int, cols: dict[str, npt.NDArray[np.generic]]) -> None:
        """Store the columns of a parsed entry at row ``entry``."""
        tables = self.tables
        if isinstance(parsed, Malformed):
            cols["kind"][entry] = KIND_MALFORMED
            cols["reason"][entry] = tables["reason"].code(parsed.reason)
            cols["epoch_us"][entry] = _leading_timestamp(parsed.raw)
            return
        cols["kind"][entry] = KIND_RECORD
        cols["epoch_us"][entry] = parsed.epoch_us
        cols["type"][entry] = tables["type"].code(parsed.conn_type)
        cols["client"][entry] = tables["client"].code(parsed.client.key if parsed.client else None)
        cols["port"][entry] = (parsed.client.port or 0) if parsed.client else 0
        cols["server"][entry] = tables["server"].code(parsed.server.raw if parsed.server else None)
        cols["principal"][entry] = tables["principal"].code(parsed.arn)
        cols["auth"][entry] = auth_code(parsed.auth_ok)
        cols["lang"][entry] = LANG_CODES[parsed.lang]
        cols["method"][entry] = tables["method"].code(parsed.method)
        cols["path"][entry] = tables["path"].code(parsed.path)

    def _take_new_values(self) -> dict[str, tuple[int, list[str | None]]]:
        """Values added to each table since the previous span, with their first code."""
        delta: dict[str, tuple[int, list[str | None]]] = {}
        for name, table in self.tables.items():
            first = self._reported[name]
            if len(table) > first:
                delta[name] = (first, table.values[first:])
                self._reported[name] = len(table)
        return delta


#: The farthest ``header_at`` a record keeps (its column is 16 bits wide).
_HINT_MAX = int(np.iinfo(np.uint16).max)
_COMBO_TIERS = (32, 48, 64, 96, 128, 160, 192, 256)
_UNKNOWN_WORD = np.frombuffer(b"[unknown", "<u8")[0]
_POWERS = 10 ** np.arange(4, -1, -1, dtype=np.int64)  # 10**4 .. 10**0: port digits
_FAR = np.iinfo(np.int64).max // 2  # a position past any span


def _separators(buf: U8, start: I64, count: int) -> tuple[I64, Bool]:
    """The first ``count`` ", " at or after each ``start`` (rows of positions), and whether
    all of them lie within the search windows. The separators of all windows are found at
    once; each row's first one is found by its window's offset among them."""
    seps = np.zeros((len(start), count), np.int64)
    found = np.zeros(len(start), bool)
    todo: I64 | None = None
    for width in _SEP_WINDOWS:
        at = start if todo is None else start[todo]
        if not len(at):
            break
        window = sliding_window_view(buf, width + 1)[at]  # a byte more: the space after
        is_sep = window[:, :width] == 44
        is_sep &= window[:, 1:] == 32
        hits = np.flatnonzero(is_sep)
        row_offsets = np.arange(len(at) + 1) * width
        first = np.searchsorted(hits, row_offsets)
        picks = first[:-1, None] + np.arange(count)
        enough = picks[:, -1] < first[1:]
        if not len(hits):
            picked = np.zeros_like(picks)
        else:
            picked = hits[np.minimum(picks, len(hits) - 1)] - row_offsets[:-1, None] + at[:, None]
        if todo is None:
            seps, found = picked, enough
            todo = np.flatnonzero(~enough)
        else:
            seps[todo[enough]] = picked[enough]
            found[todo[enough]] = True
            todo = todo[~enough]
    return seps, found


def _words_at(buf: U8, positions: I64) -> U64:
    """The little-endian 8-byte words starting at ``positions``."""
    words: U64 = sliding_window_view(buf, 8)[positions].view("<u8").ravel()
    return words


def _word_view(data: bytearray) -> U64:
    """Every (unaligned, overlapping) little-endian 8-byte word of ``data``, by offset."""
    return np.ndarray((len(data) - 7,), np.dtype("<u8"), buffer=data, strides=(1,))


def _parse8(words: U64) -> I64:
    """The numbers that words of 8 ASCII digits spell (first digit in the lowest byte),
    by adding neighbouring digits, then pairs, then quads."""
    x = words - np.uint64(0x3030303030303030)
    x = (x * np.uint64(10) + (x >> np.uint64(8))) & np.uint64(0x00FF00FF00FF00FF)
    x = (x * np.uint64(100) + (x >> np.uint64(16))) & np.uint64(0x0000FFFF0000FFFF)
    x = (x * np.uint64(10000) + (x >> np.uint64(32))) & np.uint64(0xFFFFFFFF)
    return x.astype(np.int64)


def _parse_head(words: U64, digits: int) -> I64:
    """The number the first ``digits`` (at most 8) ASCII digits of words spell: shifted to
    the end of the word behind zeros."""
    shift = np.uint64(8 * (8 - digits))
    zeros = np.uint64(0x3030303030303030 >> (8 * digits)) if digits < 8 else np.uint64(0)
    return _parse8((words << shift) | zeros)


def _epoch_us(words: U64, starts: I64, width: I64) -> I64:
    """Epoch microseconds from leading digit runs of ``width`` digits at ``starts`` (all
    digits), -1 for widths the format does not define (and for 19-digit nanoseconds from
    9e18 on, which would overflow)."""
    out = np.full(len(width), -1, np.int64)
    for digits, scale in US_PER_UNIT.items():
        rows = np.flatnonzero(width == digits)
        if not len(rows):
            continue
        at = starts[rows]
        low = _parse8(words[at + digits - 8])  # the last 8 digits
        head = digits - 8
        if head <= 8:
            value = _parse_head(words[at], head) * 10**8 + low
        else:
            top = _parse_head(words[at], head - 8)
            value = (top * 10**8 + _parse8(words[at + head - 8])) * 10**8 + low
            keep = top < 900  # from 9e18 on, nanoseconds overflow int64
            rows, value = rows[keep], value[keep]
        out[rows] = value * scale if scale > 0 else value // -scale
    return out


_REQUEST_WINDOW = 48
_ANCHOR_WINDOW = 256
_LEAD_WINDOW = 16  # a method at the very start of a header is shorter than this
#: Widths of the windows the separators after the timestamp are looked for in: almost every
#: line has all five in the first; the others get the second (longer runs are rejected
#: later anyway: the combo's longest tier is 256 bytes).
_SEP_WINDOWS = (192, 320)
_METHOD = re.compile(r"[A-Z]+")
_WHITESPACE_LUT = np.zeros(256, bool)
_WHITESPACE_LUT[list(b"\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \xc2\xe1\xe2\xe3")] = True


def _lookup_runs(
    cache: _HashCache, buf: U8, data: bytearray, start: I64, end: I64, tiers: tuple[int, ...]
) -> I64:
    """Cache values of the byte runs ``[start, end)``, hashing each run with the smallest
    tier width that holds it; runs longer than the last tier get _REJECT."""
    length = end - start
    hashes = np.zeros(len(start), np.uint64)
    fits = np.zeros(len(start), bool)
    lower = -1
    for tier in tiers:
        rows = np.flatnonzero((length > lower) & (length <= tier))
        if len(rows):
            hashes[rows] = _hash(buf, start[rows], length[rows], tier, lower + 1)
            fits[rows] = True
        lower = tier
    out = np.full(len(start), _REJECT, np.int64)
    pick = np.flatnonzero(fits)
    if len(pick):
        s, e = start[pick], end[pick]
        out[pick] = cache.lookup(hashes[pick], lambda i: bytes(data[s[i] : e[i]]))
    return out


def _ints(array: I64) -> list[int]:
    values: list[int] = array.tolist()
    return values


def _text(raw: bytes | bytearray) -> str:
    return raw.decode("utf-8", errors="replace")


def _whole_field(part: str) -> str | None:
    """A field's value when ``part`` is all of it: unquoted as is, or exactly one quoted
    field (the JSON auth form, ``"{""authenticationSucceeded"":true}"``)."""
    if not part.startswith('"'):
        return part
    end, value = quoted_field(part, 0)
    return value if end == len(part) else None


def _auth_value(text: str | None) -> int:
    """The auth column value of an auth field, or _REJECT when the reference split could
    differ (a ``{...}`` map whose first ``", "`` is inside the braces)."""
    if text is None:
        return AUTH_NONE
    if text.startswith("{") and balanced_brace_end(text, 0) != len(text) - 1:
        return _REJECT
    return auth_code(auth_succeeded(parse_auth_context(text)))


def _leading_timestamp(raw: str) -> int:
    """A malformed entry's own timestamp when it has a valid one, else NO_TIME."""
    match = RECORD_START.match(raw)
    if match:
        value = timestamp_us(match.group(1))
        if value is not None:
            return value
    return int(NO_TIME)
