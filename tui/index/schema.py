"""What the index's columns hold: entry kinds, fixed codes, dictionary columns and dtypes.

Everything that reads the index (filters, stats, the view, exports) names columns and codes
through this module; the names themselves (languages, auth outcomes) come from the model.
"""

from __future__ import annotations

import numpy as np

from tui.model.payload import LANGUAGES
from tui.model.record import AUTH_NAMES, OPERATIONS

#: Entry kinds.
KIND_RECORD = 0
KIND_MALFORMED = 1
KIND_FRAGMENT = 2  # a line before any record in the span: malformed unless a record is open

#: Epoch value of entries without a time of their own (filled in by the index).
NO_TIME = int(np.iinfo(np.int64).min)

#: Codes of the language column: 0 for none, then the model's languages in order.
LANG_NAMES: tuple[str | None, ...] = (None, *LANGUAGES)
LANG_CODES: dict[str | None, int] = {name: code for code, name in enumerate(LANG_NAMES)}

#: Values of the auth column.
AUTH_NONE, AUTH_FAILED, AUTH_OK = -1, 0, 1
_AUTH_CODES: dict[bool | None, int] = {True: AUTH_OK, False: AUTH_FAILED, None: AUTH_NONE}

#: Auth column values by the names ``auth:`` and ``stats`` use, in the order stats lists them.
AUTH_BY_NAME: dict[str, int] = {name: _AUTH_CODES[ok] for ok, name in AUTH_NAMES.items()}


def auth_code(auth_ok: bool | None) -> int:
    """The auth column value of a record's ``auth_ok``."""
    return _AUTH_CODES[auth_ok]


#: Codes of the ``op`` insight column: 0 while not classified, else 1 + the position in
#: ``OPERATIONS``.
OP_CODES: dict[str, int] = {name: code + 1 for code, name in enumerate(OPERATIONS)}
OP_NAMES: tuple[str | None, ...] = (None, *OPERATIONS)

#: Columns whose codes index a value table (code 0 is always None).
DICT_COLUMNS: tuple[str, ...] = (
    "type",
    "client",
    "server",
    "principal",
    "method",
    "path",
    "reason",
)

#: Numpy dtype of each per-entry column a scanned span carries.
SPAN_COLUMNS: dict[str, type[np.generic]] = {
    "offset": np.int64,
    "line": np.int64,
    "kind": np.uint8,
    "epoch_us": np.int64,
    "type": np.uint32,
    "client": np.uint32,
    "port": np.uint16,
    "server": np.uint32,
    "principal": np.uint32,
    "auth": np.int8,
    "lang": np.uint8,
    "method": np.uint32,
    "path": np.uint32,
    "reason": np.uint32,
    # Where a record's header field opens, from the entry's first byte, when the scanner
    # proved the fields before it plain (0: not known): ``header:``, ``agent:`` and
    # ``query:`` then read the header and payload without splitting the record again.
    "header_at": np.uint16,
}

#: Columns of value codes the index keeps 16 bits wide until a table outgrows them (a log
#: has few distinct values of each; 2 bytes a column per entry saved on millions).
NARROW_CODES: tuple[str, ...] = (*DICT_COLUMNS, "reason")

#: Per-entry columns the index keeps, with their types (bytes per entry: their sum + 4 for
#: the merged order): a span's columns, with ``length`` and ``source`` added and narrower
#: ``line`` and value codes (widened to 32 bits when needed).
COLUMNS: dict[str, type[np.generic]] = {
    # byte offset of the entry's first line in its source (widened to 64 bits for a file
    # over 4 GB)
    "offset": np.uint32,
    "length": np.uint32,  # bytes up to the next entry (continuation and blank lines too)
    "line": np.uint32,  # 1-based line number of the entry's first line
    "source": np.uint16,
    # epoch_us of malformed entries: the time of the record before them
    **{name: dtype for name, dtype in SPAN_COLUMNS.items() if name not in ("offset", "line")},
    **{name: np.uint16 for name in NARROW_CODES},
}
