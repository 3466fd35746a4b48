"""Inert text (``tui.model.text``): every invisible or terminal-affecting character becomes
a visible marker, one-line messages stay on one line, CSV cells cannot run formulas."""

from __future__ import annotations

import csv
import io
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tui.model.text as text_module
from tests.hostile import HOSTILE_TEXTS
from tui.model.text import CONTROL_NAMES, ESCAPE_MARKER, ESCAPED, csv_cell, inert, inert_line

# --------------------------------------------------------------------------------------
# Helpers


def unmark(shown: str) -> str:
    """Undo ``inert`` for text that had no ``‹`` of its own."""
    by_name = {f"‹{name}›": chr(code) for code, name in CONTROL_NAMES.items()}

    def original(marker: re.Match[str]) -> str:
        token = marker.group(0)
        return by_name.get(token) or chr(int(token[3:-1], 16))

    return ESCAPE_MARKER.sub(original, shown)


def escaped_in(text: str) -> set[str]:
    return {c for c in text if ord(c) in ESCAPED}


# Text drawn mostly from the escaped set and its neighbours, so examples are interesting.
_SPICY = st.sampled_from(
    sorted(chr(c) for c in ESCAPED)[:200]
    + [chr(c) for c in (0xE0041, 0xE007F, 0xD800, 0xFE0F, 0xE0100, 0x1F600, 0x200A, 0xA0)]
    + ["‹", "›", "\\", "x", "U", "+", "…", "=", "-"]
)
TEXT = st.one_of(st.text(), st.lists(st.one_of(_SPICY, st.text(max_size=3))).map("".join))


# --------------------------------------------------------------------------------------
# 1. Every class of character


@pytest.mark.parametrize(
    ("char", "marker"),
    [
        ("\x00", "‹NUL›"),
        ("\x07", "‹BEL›"),
        ("\x08", "‹BS›"),
        ("\x09", "‹TAB›"),
        ("\x0a", "‹LF›"),
        ("\x0b", "‹VT›"),
        ("\x0c", "‹FF›"),
        ("\x0d", "‹CR›"),
        ("\x1b", "‹ESC›"),
        ("\x7f", "‹DEL›"),
        ("\x01", "‹U+0001›"),
        ("\x1f", "‹U+001F›"),
    ],
)
def test_c0_controls_and_del(char: str, marker: str) -> None:
    assert inert(f"a{char}b") == f"a{marker}b"


@pytest.mark.parametrize(
    ("name", "codes"),
    [
        ("C1 controls", [0x80, 0x85, 0x9B, 0x9D, 0x9F]),
        ("bidi marks", [0x061C, 0x200E, 0x200F]),
        ("bidi embeddings and overrides", [0x202A, 0x202B, 0x202C, 0x202D, 0x202E]),
        ("bidi isolates", [0x2066, 0x2067, 0x2068, 0x2069]),
        ("line and paragraph separators", [0x2028, 0x2029]),
        ("zero-width", [0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF]),
        ("soft hyphen and Mongolian vowel separator", [0x00AD, 0x180E]),
        ("invisible operators", [0x2061, 0x2062, 0x2063, 0x2064]),
        ("deprecated format controls", [0x206A, 0x206B, 0x206C, 0x206D, 0x206E, 0x206F]),
        ("interlinear annotation", [0xFFF9, 0xFFFA, 0xFFFB]),
        ("fillers", [0x115F, 0x1160, 0x3164, 0xFFA0, 0x034F]),
        ("tag characters", [0xE0000, 0xE0001, 0xE0020, 0xE0041, 0xE007F]),
        ("lone surrogates", [0xD800, 0xDFFF]),
    ],
)
def test_invisible_and_reordering_characters(name: str, codes: list[int]) -> None:
    for code in codes:
        assert code in ESCAPED, name
        expected = f"x‹U+{code:04X}›y"
        assert inert(f"x{chr(code)}y") == expected
        assert inert(f"x{chr(code)}y", multiline=True) == expected


def test_markers_have_four_to_six_upper_case_hex_digits() -> None:
    assert inert("\u200b") == "‹U+200B›"
    assert inert("\U000e0041") == "‹U+E0041›"
    assert inert("\x9b") == "‹U+009B›"
    for code in ESCAPED:
        assert re.fullmatch(r"‹(?:[A-Z]+|U\+[0-9A-F]{4,6})›", inert(chr(code)))


def test_a_zero_width_space_no_longer_hides_in_a_name() -> None:
    shown = inert("al\u200bice")
    assert shown == "al‹U+200B›ice"
    assert shown != "alice"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "g.V().has('name', 'ann')",
        "SELECT ?s WHERE { ?s ?p ?o }",
        "[bold]not bold[/bold] [@click=quit]quit[/]",
        "héllo 日本語 ✓ \u00a0nbsp \u200a hair space",
        "👍🏽 family: 👨\u200d👩\u200d👧"[:5],  # skin tone modifier, no joiner
        "✔\ufe0f \u845b\U000e0100",  # variation selectors are kept
    ],
)
def test_ordinary_text_is_returned_as_is(text: str) -> None:
    assert inert(text) == text
    assert inert(text, multiline=True) == text


def test_multiline_keeps_lf_and_tab_but_not_cr() -> None:
    assert inert("a\nb\tc\r\nd", multiline=True) == "a\nb\tc‹CR›\nd"
    assert inert("a\nb\tc\r\nd") == "a‹LF›b‹TAB›c‹CR›‹LF›d"


def test_old_escape_pattern_is_gone() -> None:
    assert not hasattr(text_module, "ESCAPE_PATTERN")


# --------------------------------------------------------------------------------------
# 2. Real escapes and text that looks like them


def test_a_backslash_sequence_in_the_data_stays_text() -> None:
    """``\\x1b`` typed in a query is four characters of text; a real ESC is a marker. They
    can no longer be confused."""
    typed = "\\x1b[31m \\u202e \\n \\t"
    assert inert(typed) == typed
    assert inert("\x1b[31m") == "‹ESC›[31m"
    assert inert(typed) != inert("\x1b[31m \u202e \n \t")


def test_a_typed_marker_equals_a_real_one_in_plain_text() -> None:
    """Accepted: ``‹ESC›`` typed in the data and a real ESC read the same in plain text
    (``inert`` does not escape guillemets, which are ordinary punctuation). ``ESCAPE_MARKER``
    matches both; only a real ESC ever changes the text."""
    assert inert("‹ESC›") == "‹ESC›" == inert("\x1b")
    assert ESCAPE_MARKER.fullmatch(inert("‹ESC›"))


@given(TEXT)
def test_markers_say_exactly_which_characters_were_there(text: str) -> None:
    """Without guillemets of its own, the original text can be read back from the output:
    each marker stands for one escaped character and nothing else changed."""
    if "‹" in text:
        return
    shown = inert(text)
    assert unmark(shown) == text
    assert len(ESCAPE_MARKER.findall(shown)) == sum(ord(c) in ESCAPED for c in text)


# --------------------------------------------------------------------------------------
# 3. Properties


@given(TEXT)
def test_output_has_no_escaped_character(text: str) -> None:
    assert not escaped_in(inert(text))
    assert escaped_in(inert(text, multiline=True)) <= {"\n", "\t"}


@given(TEXT)
def test_multiline_keeps_every_newline_and_tab(text: str) -> None:
    shown = inert(text, multiline=True)
    assert shown.count("\n") == text.count("\n")
    assert shown.count("\t") == text.count("\t")
    assert shown.split("\n") == [inert(line, multiline=True) for line in text.split("\n")]


@given(TEXT)
def test_inert_is_idempotent(text: str) -> None:
    assert inert(inert(text)) == inert(text)
    assert inert(inert(text, multiline=True), multiline=True) == inert(text, multiline=True)


def test_escape_marker_matches_each_marker_once() -> None:
    for code in ESCAPED:
        assert ESCAPE_MARKER.fullmatch(inert(chr(code)))
    assert ESCAPE_MARKER.findall(inert("\x1b[2J\u202e\x00")) == ["‹ESC›", "‹U+202E›", "‹NUL›"]
    for text in ("\\x1b", "‹esc›", "‹U+12›", "‹U+1234567›", "<ESC>", "‹ ESC›"):
        assert ESCAPE_MARKER.search(text) is None


def test_multi_megabyte_text() -> None:
    """Linear work: a few megabytes with controls at both ends and in between."""
    middle = "g.V().has('name','ann') 日本 " * 35_000
    text = "\x1b" + middle + "\u200b" + middle + "\x07"
    shown = inert(text)
    assert shown.startswith("‹ESC›g.V()") and shown.endswith("‹BEL›")
    assert len(shown) == len(text) - 3 + len("‹ESC›‹U+200B›‹BEL›")
    assert inert(middle) == middle


@pytest.mark.parametrize("name", sorted(HOSTILE_TEXTS))
def test_hostile_texts(name: str) -> None:
    text = HOSTILE_TEXTS[name]
    shown = inert(text)
    assert not escaped_in(shown)
    assert "\x1b" not in shown and "\x9b" not in shown and "\n" not in shown
    if "‹" not in text:
        assert unmark(shown) == text


# --------------------------------------------------------------------------------------
# 4. One-line messages


def test_a_newline_in_a_file_name_cannot_fake_a_second_line() -> None:
    name = HOSTILE_TEXTS["newline_file_name"]
    message = inert_line(f"cannot read {name}")
    assert "\n" not in message and "‹LF›neptune-audit: error" in message


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", None, "short"),
        ("short", 5, "short"),
        ("shorter", 5, "shor…"),
        ("a\nb", 10, "a‹LF›b"),
        ("a\nb", 5, "a…"),  # the marker is not cut in half
        ("ab\x1bc", 8, "ab‹ESC›c"),
        ("ab\x1bc", 7, "ab…"),
        ("ab\x1bcd", 8, "ab‹ESC›…"),
        ("\u202e" * 3, 9, "‹U+202E›…"),
        ("x", 1, "x"),
        ("xy", 1, "…"),
    ],
)
def test_inert_line_cuts_to_the_limit(text: str, limit: int | None, expected: str) -> None:
    assert inert_line(text, limit) == expected


def test_inert_line_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        inert_line("x", 0)


@given(TEXT, st.integers(min_value=1, max_value=40))
def test_inert_line_is_a_prefix_of_inert(text: str, limit: int) -> None:
    full = inert(text)
    line = inert_line(text, limit)
    assert not escaped_in(line)
    if len(full) <= limit:
        assert line == full
    else:
        assert len(line) <= limit and line.endswith("…")
        assert full.startswith(line[:-1])
        assert len(line) >= limit - len("‹U+10FFFF›")


def test_inert_line_of_a_huge_text_reads_only_its_start() -> None:
    assert inert_line("\x1b" * 5_000_000, 12) == "‹ESC›‹ESC›…"


# --------------------------------------------------------------------------------------
# 5. CSV cells


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1+1", "'‹TAB›=1+1"),  # judged by the original first character
        ("\r=1+1", "'‹CR›=1+1"),
        ("a=1", "a=1"),
        ("", ""),
        (" =1", " =1"),
        ("\u200b=1", "‹U+200B›=1"),  # starts with a marker, not a formula
        ("line\nbreak\x1b", "line‹LF›break‹ESC›"),
    ],
)
def test_csv_cell(text: str, cell: str) -> None:
    assert csv_cell(text) == cell


def test_csv_cell_without_guard() -> None:
    assert csv_cell("-1", guard=False) == "-1"
    assert csv_cell("\t=1", guard=False) == "‹TAB›=1"


@given(st.lists(TEXT, min_size=1, max_size=5))
def test_csv_cells_round_trip_through_a_csv_writer(texts: list[str]) -> None:
    out = io.StringIO()
    csv.writer(out).writerow([csv_cell(t) for t in texts])
    (row,) = list(csv.reader(io.StringIO(out.getvalue())))
    assert row == [csv_cell(t) for t in texts]
    for cell in row:
        assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r") and "\n" not in cell
