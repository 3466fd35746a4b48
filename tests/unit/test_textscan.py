"""The block search of words gives the reference answer (``word.lower() in text.lower()``)
on entries of every awkward shape, whichever way it searches the word."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import build_index
from tests.unit.test_regex import record_line
from tui.index import textscan
from tui.index.filtering import evaluate
from tui.index.index import Index
from tui.query import Regex, Span, Text

#: Entry bodies: ASCII in both cases, characters whose lower case is ASCII (KELVIN SIGN,
#: I WITH DOT ABOVE) or changes with the context (final sigma), CRLF, bad bytes, blank and
#: whitespace lines after the text, continuation lines.
_PIECES = ["a", "B", "ab", "AB", "k", "\u212a", "i", "\u0130", "\u03a3", "é", "É", "ß"]
_PIECES += [" ", "\t", "\r", "\n", "\n \n", "\n  ab", "\udcff", "x1", "-", "%41", "\\u0041"]
_BODIES = st.lists(st.sampled_from(_PIECES), max_size=6).map("".join)
_WORDS = st.lists(
    st.sampled_from(["a", "b", "k", "i", "K", "\u212a", "\u0130", "σ", "ς", "é", " ", "x", "1"]),
    max_size=7,  # (longer than the bytes a dense search compares one at a time)
).map("".join)


def _reference(index: Index, word: str) -> list[bool]:
    return [word.lower() in index.text(entry).lower() for entry in range(index.size)]


def _words_over(index: Index, word: str) -> list[bool]:
    mask = evaluate(index, Text(word, Span(0, 1))).mask
    result: list[bool] = mask.tolist()
    return result


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    bodies=st.lists(_BODIES, min_size=1, max_size=12),
    crlf=st.booleans(),
    word=_WORDS,
    dense=st.booleans(),
)
def test_word_search_is_the_reference(
    bodies: list[str], crlf: bool, word: str, dense: bool
) -> None:
    ending = b"\r\n" if crlf else b"\n"
    data = b"".join(record_line(n, body, ending=ending) for n, body in enumerate(bodies))
    original = textscan.BLOCK_BYTES, textscan.DENSE_BYTES_PER_HIT
    with tempfile.TemporaryDirectory() as directory:
        (Path(directory) / "audit.log").write_bytes(data)
        index = build_index([directory], workers=1)
        try:
            textscan.BLOCK_BYTES = 120  # blocks end inside entries' neighbourhoods too
            if dense:  # after a block with a hit, the next is searched whole
                textscan.DENSE_BYTES_PER_HIT = 1 << 40
            found = _words_over(index, word)
        finally:
            textscan.BLOCK_BYTES, textscan.DENSE_BYTES_PER_HIT = original
        expected = _reference(index, word)
        index.close()
    assert found == expected, word


def test_a_common_word_searched_whole_blocks_checks_what_comes_before_its_rarest_byte() -> None:
    """ "axaxa" is searched from its rare "x": a match of "xaxa" proves its entry only after
    an "a", and an entry whose proving match overlaps one that proves nothing is still
    found (every place of the rare byte is tried, overlapping ones too)."""
    bodies = ["a" * 1000 + "axaxa", "xaxaxa", "bxaxa", "AXAXA", "xaxa", "aXaXa"] * 4
    data = b"".join(record_line(n, body) for n, body in enumerate(bodies))
    finder = textscan.word_finder("axaxa")
    assert isinstance(finder, textscan._Word)
    assert {before for _, before in finder.plan(data)} == {1}
    original = textscan.BLOCK_BYTES, textscan.DENSE_BYTES_PER_HIT
    with tempfile.TemporaryDirectory() as directory:
        (Path(directory) / "audit.log").write_bytes(data)
        index = build_index([directory], workers=1)
        try:
            textscan.BLOCK_BYTES, textscan.DENSE_BYTES_PER_HIT = 1200, 1 << 40
            found = _words_over(index, "axaxa")
            assert found == _reference(index, "axaxa")
            assert [n % 6 for n in np.flatnonzero(found)] == [0, 1, 3, 5] * 4
        finally:
            textscan.BLOCK_BYTES, textscan.DENSE_BYTES_PER_HIT = original
            index.close()


@pytest.fixture(scope="module")
def odd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Index]:
    """Entries whose text differs from their bytes, or lower-cases to other letters."""
    directory = tmp_path_factory.mktemp("odd")
    bodies = [
        "zyzzyva",
        "ZyZZyVA",
        "\u212aelvin",  # KELVIN SIGN: lower() is "k"
        "\u0130stanbul",  # I WITH DOT ABOVE: lower() is "i" and a combining dot
        "ΟΔΟΣ",  # a final sigma: lower() is "οδος"
        "x \n \n",  # blank lines after the text
        "a\r\n  b",  # CRLF inside
        "bad \udcff byte",
        "p-50897 P-50897",
    ]
    lines = [record_line(n, body) for n, body in enumerate(bodies)]
    (directory / "audit.log").write_bytes(b"".join(lines))
    index = build_index([directory], workers=1)
    yield index
    index.close()


@pytest.mark.parametrize(
    ("word", "entries"),
    [
        ("ZYZZYVA", [0, 1]),
        ("yzzyv", [0, 1]),
        ("kelvin", [2]),  # only through KELVIN SIGN
        ("istanbul", []),  # lower() puts a combining dot between i and s
        ("i", [2, 3]),
        ("\u0130", [3]),
        ("οδος", [4]),
        ("οδοσ", []),
        ("x  ", []),  # the blank line after "x " is no part of the text
        ("a\n  b", [6]),  # the CR is gone from the text
        ("\ufffd", [7]),
        ("p-50897", [8]),
        ("", list(range(9))),
    ],
)
def test_words_mean_the_text(odd: Index, word: str, entries: list[int]) -> None:
    assert np.flatnonzero(_words_over(odd, word)).tolist() == entries
    assert _words_over(odd, word) == _reference(odd, word)


def test_a_word_is_searched_from_its_rarest_byte() -> None:
    sample = b"aaaa eeee ssss llll " * 100 + b"v" * 10
    finder = textscan.word_finder("aslvsae")
    assert isinstance(finder, textscan._Word)
    plan = finder.plan(sample)
    assert len(plan) == 2 and {before for _, before in plan} == {3}  # from "v", both cases
    common = textscan.word_finder("see")
    assert isinstance(common, textscan._Word)
    assert [before for _, before in common.plan(sample)] == [0]  # one pattern in any case


#: Case-insensitive patterns whose literal is searched as a word: letters RE2 folds to
#: non-ASCII characters (k: KELVIN SIGN, s: LONG S), anchors, and a literal that is not ASCII.
_FOLDED_PATTERNS = ["ksab", "kab", "s.kab", "^abk", "abks$", "abk+s", "k\u017fab", "ab(k|s)ab"]
_FOLD_PIECES = [*_PIECES, "s", "S", "\u017f", "ks", "KS", "\u212a\u017f", "kab", "SAB"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    bodies=st.lists(st.lists(st.sampled_from(_FOLD_PIECES), max_size=6).map("".join), max_size=10),
    crlf=st.booleans(),
    pattern=st.sampled_from(_FOLDED_PATTERNS),
    flag=st.booleans(),
)
def test_case_insensitive_regex_search_is_the_reference(
    bodies: list[str], crlf: bool, pattern: str, flag: bool
) -> None:
    from tui.query import parse_filter

    ending = b"\r\n" if crlf else b"\n"
    data = b"".join(record_line(n, body, ending=ending) for n, body in enumerate(["x", *bodies]))
    node = parse_filter(f"/{pattern}/i" if flag else f"/(?i){pattern}/")
    assert isinstance(node, Regex)
    with tempfile.TemporaryDirectory() as directory:
        (Path(directory) / "audit.log").write_bytes(data)
        index = build_index([directory], workers=1)
        found = evaluate(index, node).mask.tolist()
        expected = [node.pattern.search(index.text(entry)) for entry in range(index.size)]
        index.close()
    assert found == expected, pattern


def test_a_case_insensitive_literal_is_searched_as_a_word() -> None:
    from tui.query import parse_filter

    def finder(text: str) -> textscan.RegexFinder:
        node = parse_filter(text)
        assert isinstance(node, Regex)
        block = node.pattern.block_regex()
        assert block is not None
        return textscan.RegexFinder(block)

    for text in ("/(?i)zyzzyva/", "/zyzzyva/i", "/(?i)[a-z]+ZYZZYVA\\d/"):
        word = finder(text).folded
        assert word is not None and word.word == b"zyzzyva", text
    for text in ("/(?i)zyz(?s)zyva/", "/(?i)zy|zyva/", "/zyzzyva/", "/(?i)zy/"):
        assert finder(text).folded is None, text
