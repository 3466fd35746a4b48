"""Making log text inert: invisible and terminal-affecting characters become visible markers.

Log text must never drive the terminal, nor hide what it says. Every character in
``ESCAPED`` (C0/C1 controls, DEL, bidi controls, zero-width and other default-ignorable
characters, lone surrogates) is shown as a marker in single guillemets: well-known C0
controls by name (``‹ESC›``, ``‹LF›``), every other one by code point (``‹U+202E›``).
A backslash sequence typed in the data (``\\x1b``) is text and stays as it is, so it can no
longer pass for a real escape. A guillemet marker typed in the data (``‹ESC›``) is left as it
is too: in plain text it equals the marker for a real ESC, which is accepted; ``ESCAPE_MARKER``
lets a UI style markers apart. Markup is a display concern (the UI builds
``rich.text.Text``, which never parses it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

#: C0 controls (and DEL) shown by name; every other escaped character shows as ``‹U+XXXX›``.
CONTROL_NAMES: dict[int, str] = {
    0x00: "NUL",
    0x07: "BEL",
    0x08: "BS",
    0x09: "TAB",
    0x0A: "LF",
    0x0B: "VT",
    0x0C: "FF",
    0x0D: "CR",
    0x1B: "ESC",
    0x7F: "DEL",
}

_RANGES: tuple[tuple[int, int], ...] = (  # inclusive ranges of escaped code points
    (0x0000, 0x001F),  # C0 controls
    (0x007F, 0x009F),  # DEL and C1 controls (U+009B is a one-byte CSI)
    (0x00AD, 0x00AD),  # soft hyphen
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x061C, 0x061C),  # Arabic letter mark (bidi)
    (0x115F, 0x1160),  # Hangul fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels (invisible)
    (0x180E, 0x180E),  # Mongolian vowel separator
    (0x200B, 0x200F),  # zero-width space, non-joiner, joiner; LRM, RLM
    (0x2028, 0x2029),  # line and paragraph separators
    (0x202A, 0x202E),  # bidi embeddings and overrides
    (0x2060, 0x206F),  # word joiner, invisible operators, bidi isolates, deprecated formats
    (0x3164, 0x3164),  # Hangul filler
    (0xD800, 0xDFFF),  # lone surrogates (cannot even be encoded for the terminal)
    (0xFEFF, 0xFEFF),  # zero-width no-break space (BOM)
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xFFF0, 0xFFFB),  # unassigned default-ignorables; interlinear annotation controls
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical symbol format controls
    (0xE0000, 0xE00FF),  # tag characters (and the unassigned rest of their block)
)
# Variation selectors (U+FE00-FE0F, U+E0100-E01EF, Mongolian FVS) are kept: they only pick a
# glyph form of the character before them and are needed by emoji and CJK text.

#: Every code point ``inert`` replaces by a marker.
ESCAPED: frozenset[int] = frozenset(c for low, high in _RANGES for c in range(low, high + 1))

#: Matches one marker ``inert`` produces, so a UI can style markers apart from the text.
ESCAPE_MARKER: re.Pattern[str] = re.compile(
    "‹(?:" + "|".join(sorted(set(CONTROL_NAMES.values()))) + r"|U\+[0-9A-F]{4,6})›"
)

_ELLIPSIS = "…"
_MARKER_MAX = len("‹U+10FFFF›")


def _marker(code: int) -> str:
    name = CONTROL_NAMES.get(code)
    return f"‹{name}›" if name else f"‹U+{code:04X}›"


def _char_class(codes: Iterable[int]) -> re.Pattern[str]:
    """One character class of the code points in ``codes``, written as ranges."""
    ranges: list[list[int]] = []
    for code in sorted(codes):
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    parts = (
        f"\\U{low:08x}" if low == high else f"\\U{low:08x}-\\U{high:08x}" for low, high in ranges
    )
    return re.compile("[" + "".join(parts) + "]")


#: What ``inert`` keeps, on one line and on several.
_KEPT: dict[bool, frozenset[int]] = {False: frozenset(), True: frozenset((0x09, 0x0A))}
# ASCII text (most log text; ``str.isascii`` is O(1)) is checked with a short class, which
# the regex engine scans several times faster than one with astral ranges.
_ASCII_CHECK: dict[bool, re.Pattern[str]] = {
    multiline: _char_class(c for c in ESCAPED if c < 0x80 and c not in kept)
    for multiline, kept in _KEPT.items()
}


@cache
def _escapes(multiline: bool) -> tuple[re.Pattern[str], dict[int, str]]:
    """The check for any text and the translation table, made when first needed: building
    them takes longer than a small command spends on text otherwise."""
    codes = ESCAPED - _KEPT[multiline]
    return _char_class(codes), {code: _marker(code) for code in codes}


def inert(text: str, *, multiline: bool = False) -> str:
    """``text`` with every character in ``ESCAPED`` replaced by its visible marker.

    With ``multiline`` LF and TAB are kept (a detail pane shows decoded queries on several
    lines); CR is always escaped. Linear in the length of ``text``; text with nothing to
    escape (almost every cell) costs one regex scan and is returned as is.
    """
    if text.isascii() and _ASCII_CHECK[multiline].search(text) is None:
        return text
    check, table = _escapes(multiline)
    return text if check.search(text) is None else text.translate(table)


def inert_line(text: str, limit: int | None = None) -> str:
    """``text`` inert on one line, for a message (stderr, a notification).

    A newline in the text (a file name, an error from the log) shows as ``‹LF›``, so it can
    never fake a second message line. With ``limit``, a longer result is cut to ``limit``
    characters ending in ``…``, never in the middle of a marker.
    """
    if limit is None:
        return inert(text)
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    # Each character gives at least one, so the first limit + 1 decide the result.
    shown = inert(text[: limit + 1])
    if len(shown) <= limit:
        return shown
    cut = limit - 1
    opening = shown.rfind("‹", max(0, cut - _MARKER_MAX), cut)
    if opening >= 0:
        marker = ESCAPE_MARKER.match(shown, opening)
        if marker is not None and marker.end() > cut:
            cut = opening
    return shown[:cut] + _ELLIPSIS


_FORMULA_STARTS = frozenset("=+-@\t\r")


def csv_cell(text: str, *, guard: bool = True) -> str:
    """``text`` inert on one line for a CSV cell, guarded against formula injection.

    Spreadsheets (Excel, LibreOffice, Google Sheets) run a cell that starts with ``=``,
    ``+``, ``-`` or ``@`` as a formula, and some skip a leading TAB or CR first; a log
    line can then exfiltrate data or run commands when an export is opened (OWASP "CSV
    Injection"). With ``guard`` such a cell, judged by the original first character, is
    prefixed with ``'``, which spreadsheets read as "text" (a number like ``-1`` becomes
    ``'-1``). Quoting the cell (RFC 4180) stays the CSV writer's job.
    """
    cell = inert(text)
    if guard and text[:1] in _FORMULA_STARTS:
        return "'" + cell
    return cell
