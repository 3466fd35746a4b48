"""The RE2 regex engine: what it refuses and where, its semantics, and that the index's block
search gives the reference answer on entries of every awkward shape."""

from __future__ import annotations

import pickle
import tempfile
import threading
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import build_index
from tui.index import textscan
from tui.index.filtering import evaluate
from tui.index.index import Index
from tui.query import FieldMatch, FilterError, Regex, Span, parse_filter
from tui.query.predicate import matches, text_matches
from tui.query.regex import Pattern, RegexError, compile_regex, escape

# What RE2 refuses: the pattern, where (offset in it) and the start of the message.
UNSUPPORTED = [
    (r"(a)\1", 3, "backreferences (\\1) are not supported: regexes run in linear time"),
    (r"(?P<x>a)(?P=x)", 8, "backreferences (?P=…) are not supported"),
    (r"a(?=b)", 1, "lookahead (?=…) is not supported: regexes run in linear time"),
    (r"a(?!b)", 1, "negative lookahead (?!…) is not supported"),
    (r"(?<=a)b", 0, "lookbehind (?<=…) is not supported: regexes run in linear time"),
    (r"(?<!a)b", 0, "negative lookbehind (?<!…) is not supported"),
    (r"(?>a+)b", 0, "atomic groups (?>…) are not supported"),
    (r"a*+b", 1, "possessive quantifiers (*+) are not supported"),
    (r"xa{2}+", 2, "possessive quantifiers ({2}+) are not supported"),
    (r"(a)?(?(1)b|c)", 4, "conditionals (?(…)…|…) are not supported"),
    (r"(a(?1)?)", 2, "recursion (?1) is not supported"),
    (r"end\Z", 3, "\\Z is not supported: write \\z"),
    (r"\u00e9", 0, "\\u escapes are not supported"),
    (r"a\C", 1, "\\C (any byte) is not supported"),
    (r"(?x)a#b", 2, "flag x is not supported"),
    (r"a(?#note)", 1, "comments (?#…) are not supported"),
    (r"a{1001}", 1, "a repetition count is at most 1000"),
]


@pytest.mark.parametrize(("source", "offset", "message"), UNSUPPORTED)
def test_unsupported_constructs_are_refused_where_they_are(
    source: str, offset: int, message: str
) -> None:
    with pytest.raises(RegexError) as caught:
        compile_regex(source)
    assert caught.value.offset == offset
    assert caught.value.message.startswith(message)


@pytest.mark.parametrize(("source", "offset", "message"), UNSUPPORTED)
def test_the_parser_points_at_the_construct(source: str, offset: int, message: str) -> None:
    # The filter text escapes each "/" of the pattern; the position is in the filter text.
    text = "lang:gremlin agent:/" + source.replace("/", "\\/") + "/i"
    with pytest.raises(FilterError) as caught:
        parse_filter(text)
    assert caught.value.position == len("lang:gremlin agent:/") + offset
    assert caught.value.message.startswith(message)


def test_positions_count_escaped_slashes() -> None:
    with pytest.raises(FilterError) as caught:
        parse_filter(r"/a\/b\/(?<=c)/")
    assert caught.value.position == 7  # at "(?<=", after two "\/"


def test_other_errors_are_re2s_and_point_at_the_regex_or_what_it_names() -> None:
    with pytest.raises(FilterError) as caught:
        parse_filter("x /a(b/")
    assert (caught.value.position, caught.value.message) == (2, "invalid regex: missing )")
    with pytest.raises(FilterError) as caught:
        parse_filter("/ab\\e/")
    assert caught.value.position == 3
    assert caught.value.message == "invalid regex: invalid escape sequence (\\e)"


def test_a_too_large_pattern_is_a_clear_error() -> None:
    with pytest.raises(RegexError, match="regex too large"):
        compile_regex(r"\pL{1000}\pL{1000}")


@pytest.mark.parametrize(
    "source",
    [r"a+?", r"a{2}?", r"\101", r"\0", r"[(?=]", r"\Q(?=a*+\E", r"\x{41}+", r"(?P<n>a)",
     r"(?<n>a)", r"(?i:a)b", r"(?s).", r"(?U)a+", r"\pL+", r"a\z", r"\Aa", r"a{2,}"],
)  # fmt: skip
def test_what_looks_close_but_is_fine(source: str) -> None:
    compile_regex(source)


# Semantics


def test_classes_are_ascii_but_case_folding_is_unicode() -> None:
    assert not compile_regex(r"\w").search("é") and not compile_regex(r"\d").search("٣")
    assert not compile_regex(r"\bé").search("é")  # é is no word character to \b
    assert compile_regex(r"\pL").search("é")
    assert compile_regex("zoë", ignore_case=True).search("ZOË")
    assert compile_regex("(?i)k").search("\u212a")  # KELVIN SIGN folds to k
    assert not compile_regex("ß", ignore_case=True).search("SS")


def test_dot_newline_and_anchors() -> None:
    assert not compile_regex("a.b").search("a\nb") and compile_regex("(?s)a.b").search("a\nb")
    assert not compile_regex("a$").search("a\n")  # unlike Python's re: no final-newline $
    assert compile_regex("(?m)a$").search("a\nb") and not compile_regex("a$").search("a\nb")
    assert compile_regex(r"\Ab").search("b") and not compile_regex(r"(?m)\Ab").search("a\nb")


def test_lone_surrogates_are_one_character() -> None:
    assert compile_regex("a.b").search("a\ud800b")
    assert list(compile_regex("b").finditer_spans("\ud800b")) == [(1, 2)]


def test_finditer_spans_are_character_offsets_of_nonempty_matches() -> None:
    pattern = compile_regex("é+|x*", ignore_case=True)
    text = "aÉéb x😀xx é"
    spans = list(pattern.finditer_spans(text))
    assert spans == [(1, 3), (5, 6), (7, 9), (10, 11)]
    assert [text[start:end] for start, end in spans] == ["Éé", "x", "xx", "é"]
    assert list(compile_regex("a|").finditer_spans("banana")) == [(1, 2), (3, 4), (5, 6)]
    assert list(compile_regex("q").finditer_spans("")) == []


def test_patterns_compare_by_source_and_case_and_pickle() -> None:
    pattern = compile_regex("a+", ignore_case=True)
    assert pattern == compile_regex("a+", ignore_case=True)
    assert pattern != compile_regex("a+") and pattern != compile_regex("a")
    assert len({pattern, compile_regex("a+", ignore_case=True)}) == 1
    assert (pattern.source, pattern.ignore_case) == ("a+", True)
    assert pickle.loads(pickle.dumps(pattern)) == pattern
    assert Regex(pattern, Span(0, 5)) == parse_filter("/a+/i")


@given(st.text(max_size=30))
def test_escape_matches_the_text_itself(text: str) -> None:
    pattern = compile_regex(escape(text))
    assert pattern.search("<" + text + ">")
    assert list(pattern.finditer_spans(text))[:1] == ([(0, len(text))] if text else [])


# Catastrophic backtracking: every one of these takes Python's re minutes or more.

CATASTROPHIC = ["/(a+)+b/", "/(a|aa)*c/", "/(.*a){20}x/", "/^(a|a?)+$b/", "/(\\w+\\s?)*!/"]


def finishes(action: Callable[[], Any], seconds: float = 20.0) -> Any:
    """``action()``'s result, failing the test if it has not returned within ``seconds``."""
    results: list[Any] = []
    worker = threading.Thread(target=lambda: results.append(action()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert results, f"still running after {seconds} s"
    return results[0]


@pytest.mark.parametrize("text", CATASTROPHIC)
def test_catastrophic_patterns_finish_in_the_predicate(text: str) -> None:
    node = parse_filter(text)
    assert isinstance(node, Regex)
    pattern = node.pattern
    for length in (30_000, 1_000_000):
        assert finishes(partial(pattern.search, "a" * length)) is False
    field = parse_filter("agent:" + text)
    assert isinstance(field, FieldMatch)
    assert finishes(lambda: text_matches(field, "a" * 100_000)) is False


@pytest.fixture(scope="module")
def runs_of_a(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Index]:
    """Records whose text is mostly a long run of ``a``: 30 k, 200 k and 1 M of them."""
    directory = tmp_path_factory.mktemp("runs")
    lines = [record_line(n, "a" * length) for n, length in enumerate((30_000, 200_000, 10**6))]
    lines.append(record_line(3, "aaab"))
    (directory / "audit.log").write_bytes(b"".join(lines))
    index = build_index([directory])
    yield index
    index.close()


@pytest.mark.parametrize("text", CATASTROPHIC)
def test_catastrophic_patterns_finish_over_the_index(runs_of_a: Index, text: str) -> None:
    node = parse_filter(text)
    mask = finishes(lambda: evaluate(runs_of_a, node).mask)
    expected = [bool(matches(node, runs_of_a.entry(e), runs_of_a.text(e), epoch_us=0,
                             newest_us=0)) for e in range(runs_of_a.size)]  # fmt: skip
    assert mask.tolist() == expected
    assert mask.tolist()[:3] == [False, False, False]


# The block search against the reference, on entries of every shape.


def record_line(number: int, body: str, *, ending: bytes = b"\n") -> bytes:
    """One audit record line with ``body`` as its (last) field."""
    return f"17954352{number:05d}, 10.0.1.5:4000, 10.0.3.8:8182, Bolt, ".encode() + (
        body.encode("utf-8", "surrogateescape") + ending
    )


#: Entry bodies: continuation lines (multi-line entries), non-ASCII, CRLF, invalid UTF-8
#: (a surrogate-escaped byte), blank and whitespace lines after the text.
_BODY_PIECES = st.sampled_from(
    ["a", "b", "ab", "é", "É", "x1", " ", "\t", "\n  ab", "\nb é", "\r", "\udcff", "\n", "\n \n"]
)
_BODIES = st.lists(_BODY_PIECES, max_size=6).map("".join)

_ATOMS = st.sampled_from(
    ["a", "b", "é", "É", ".", r"\n", r"\s", r"\w", r"\d", "[ab]", "[^a]", "^", "$", r"\A",
     r"\z", r"\b", r"\r", "1, ", "x", "(?i:é)", "(?s:.)", r"\x{fffd}", "[ \t]"]
)  # fmt: skip
_QUANTIFIERS = st.sampled_from(["", "", "*", "+", "?", "{2}", "*?"])


@st.composite
def _patterns(draw: st.DrawFn) -> str:
    def sequence() -> str:
        pieces = draw(st.lists(st.tuples(_ATOMS, _QUANTIFIERS), min_size=1, max_size=4))
        return "".join(
            atom + (quantifier if atom not in "^$" and not atom.startswith("\\A") else "")
            for atom, quantifier in pieces
        )

    body = "|".join(sequence() for _ in range(draw(st.integers(1, 2))))
    return draw(st.sampled_from(["", "(?i)", "(?s)", "(?m)", "(?U)"])) + body


def _reference(index: Index, pattern: Pattern) -> list[bool]:
    return [pattern.search(index.text(entry)) for entry in range(index.size)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    bodies=st.lists(_BODIES, min_size=1, max_size=12),
    crlf=st.booleans(),
    source=_patterns(),
    ignore_case=st.booleans(),
    window=st.sampled_from([1, 40, 1 << 16]),
)
def test_block_search_is_the_reference(
    bodies: list[str], crlf: bool, source: str, ignore_case: bool, window: int
) -> None:
    try:
        pattern = compile_regex(source, ignore_case=ignore_case)
    except RegexError:
        return
    ending = b"\r\n" if crlf else b"\n"
    data = b"".join(record_line(n, body, ending=ending) for n, body in enumerate(bodies))
    original = textscan.WINDOW_BYTES, textscan.BLOCK_BYTES
    with tempfile.TemporaryDirectory() as directory:
        (Path(directory) / "audit.log").write_bytes(data)
        index = build_index([directory], workers=1)
        try:
            # Small windows and blocks: matches run across their edges too.
            textscan.WINDOW_BYTES, textscan.BLOCK_BYTES = window, max(window * 3, 200)
            found = evaluate(index, Regex(pattern, Span(0, 1))).mask
        finally:
            textscan.WINDOW_BYTES, textscan.BLOCK_BYTES = original
        expected = _reference(index, pattern)
        index.close()
    assert found.tolist() == expected, (source, ignore_case)


@pytest.mark.parametrize(
    "source",
    [r"^\d+, ", r"b$", r"\A17", r"é\z", r"ab\s+ab", r"\n", r"(?s)a.*b", r"^\s*$", r"É",
     r"[^a-z]$", r"\b1, ", r"a\r", r"\x{fffd}", "b é$", r"(?m)^\s+ab$", r"x1\n",
     r"b\s", r"ab\s*$", r"é\s"],
)  # fmt: skip
@pytest.mark.parametrize("ignore_case", [False, True])
def test_block_search_on_awkward_entries(awkward: Index, source: str, ignore_case: bool) -> None:
    pattern = compile_regex(source, ignore_case=ignore_case)
    found = evaluate(awkward, Regex(pattern, Span(0, 1))).mask
    assert found.tolist() == _reference(awkward, pattern)


@pytest.mark.parametrize(
    ("source", "entries"),
    [
        (r"x1\n", []),  # the blank lines after "x1" are no part of its text
        (r"(?m)^\s+ab$", [1, 8]),  # continuation lines, one with a CRLF
        (r"\x{fffd}", [5]),  # an invalid byte reads as U+FFFD
        (r"b$", [0, 1, 5, 8]),  # the CR before the LF is no part of the text
        (r"^\d+, ", list(range(9))),
    ],
)
def test_awkward_entries_mean_their_text(awkward: Index, source: str, entries: list[int]) -> None:
    found = evaluate(awkward, Regex(compile_regex(source), Span(0, 1))).mask
    assert np.flatnonzero(found).tolist() == entries


@pytest.fixture(scope="module")
def awkward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Index]:
    """Entries of every shape the block search must see through."""
    directory = tmp_path_factory.mktemp("awkward")
    bodies = ["ab", "ab\n  ab", "é\nb é", "x1\n\n \n", "É", "a\udcffb", "ab \n", ""]
    lines = [record_line(n, body) for n, body in enumerate(bodies)]
    lines.append(record_line(len(bodies), "ab\r\n  ab", ending=b"\r\n"))
    (directory / "audit.log").write_bytes(b"".join(lines))
    index = build_index([directory], workers=1)
    yield index
    index.close()
