"""Making log text inert: control characters become visible escapes.

Log text must never drive the terminal. ESC, BEL and the other C0/C1 controls, DEL and the
Unicode bidi overrides are replaced by ``\\xHH`` / ``\\uHHHH`` escapes wherever log text is
shown; markup is a display concern (the UI builds ``rich.text.Text``, which never parses it).
"""

from __future__ import annotations

import re

_BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x2028, 0x2029)


def _escape(code: int) -> str:
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_SINGLE_LINE: dict[int, str] = {
    code: _escape(code) for code in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *_BIDI)
}
_SINGLE_LINE[0x09] = "\\t"
_SINGLE_LINE[0x0A] = "\\n"
_SINGLE_LINE[0x0D] = "\\r"
_MULTI_LINE: dict[int, str] = {k: v for k, v in _SINGLE_LINE.items() if k not in (0x09, 0x0A)}

_NEEDS_ESCAPE = re.compile("[" + "".join(re.escape(chr(c)) for c in _SINGLE_LINE) + "]")


def inert(text: str, *, multiline: bool = False) -> str:
    """``text`` with every terminal-affecting character replaced by a visible escape.

    With ``multiline`` newlines and tabs are kept (a detail pane shows decoded queries on
    several lines); otherwise they are escaped too, for one-line cells.
    """
    if not _NEEDS_ESCAPE.search(text):
        return text
    return text.translate(_MULTI_LINE if multiline else _SINGLE_LINE)
