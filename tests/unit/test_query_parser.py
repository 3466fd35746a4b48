"""Tests for ``tui.query.parse_filter``: every production, every error and its position."""

from __future__ import annotations

import re
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.query import (
    FIELDS,
    And,
    FieldMatch,
    FilterError,
    Last,
    MatchAll,
    Node,
    Not,
    Or,
    Regex,
    Span,
    Text,
    TimeBound,
    parse_filter,
)
from tui.query.ast import MatchOp
from tui.query.parser import MAX_DEPTH
from tui.query.regex import compile_regex

T0_US = 1_700_000_000 * 1_000_000  # 2023-11-14T22:13:20Z


def err(text: str) -> FilterError:
    """The FilterError ``parse_filter(text)`` raises."""
    with pytest.raises(FilterError) as info:
        parse_filter(text)
    return info.value


def txt(value: str, start: int, end: int | None = None) -> Text:
    """A Text node; ``end`` defaults to ``start + len(value)`` (an unquoted word)."""
    return Text(value, Span(start, start + len(value) if end is None else end))


def shape(node: Node) -> object:
    """Structure without spans, for precedence tests: nested tuples of texts and operators."""
    if isinstance(node, Text):
        return node.value
    if isinstance(node, Not):
        return ("NOT", shape(node.operand))
    if isinstance(node, And):
        return ("AND", *(shape(child) for child in node.operands))
    if isinstance(node, Or):
        return ("OR", *(shape(child) for child in node.operands))
    return node


# Empty input and bare values


@pytest.mark.parametrize("text", ["", " ", "   ", "\t\n "])
def test_blank_text_matches_all(text: str) -> None:
    assert parse_filter(text) == MatchAll(Span(0, len(text)))


def test_word() -> None:
    assert parse_filter("error") == txt("error", 0)


def test_word_surrounded_by_whitespace() -> None:
    assert parse_filter("  error\t") == txt("error", 2)


@pytest.mark.parametrize(
    "word",
    ["10.0.1.18:34266", "*/*", "a|b", "||", "a-b", "g.V", "10=3", ":x", "=x", "é:x", "/"],
)
def test_words_that_are_plain_text(word: str) -> None:
    assert parse_filter(word) == txt(word, 0)


@pytest.mark.parametrize("word", ["and", "or", "not", "And", "Or", "nOT"])
def test_lower_case_keywords_are_words(word: str) -> None:
    assert parse_filter(f"a {word} b") == And(
        (txt("a", 0), txt(word, 2), txt("b", 3 + len(word))), Span(0, 4 + len(word))
    )


def test_word_keeps_inner_parentheses_and_stops_at_quotes() -> None:
    assert shape(parse_filter('a(b)c"d"e')) == ("AND", "a(b)c", "d", "e")
    assert shape(parse_filter("(a)b")) == ("AND", "a", "b")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('"hello world"', "hello world"),
        ('""', ""),
        ('"a \\"quoted\\" word"', 'a "quoted" word'),
        ('"back\\\\slash"', "back\\slash"),
        ('"keep \\n and \\d"', "keep \\n and \\d"),
        ('"trailing \\\\"', "trailing \\"),
        ('"OR"', "OR"),
        ('"a (b) c"', "a (b) c"),
        ('"foo:bar"', "foo:bar"),
        ('"/gremlin/"', "/gremlin/"),
        ('"-"', "-"),
    ],
)
def test_quoted(text: str, value: str) -> None:
    assert parse_filter(text) == Text(value, Span(0, len(text)))


def test_quoted_touching_words_are_separate_terms() -> None:
    assert parse_filter('a"b c"d') == And(
        (txt("a", 0), Text("b c", Span(1, 6)), txt("d", 6)), Span(0, 7)
    )


# Regex values


@pytest.mark.parametrize(
    ("text", "pattern", "ignore_case"),
    [
        ("/gremlin/", "gremlin", False),
        ("/Gremlin/i", "Gremlin", True),
        ("/a\\/b/", "a/b", False),  # \/ is a literal slash
        ("/\\//", "/", False),
        ("/a\\d+\\./", "a\\d+\\.", False),  # other escapes pass through to RE2
        ("/\\\\/", "\\\\", False),  # an escaped backslash, then the closing slash
        ("/a\\ b/", "a\\ b", False),  # an escaped space is part of the pattern
        ("/(a|b)/", "(a|b)", False),  # parentheses inside a regex
        ('/say "hi"/', None, False),  # unescaped space: not a regex (checked below)
        ('/"hi"/', '"hi"', False),
        ("/a/b/", "a/b", False),  # an inner slash not at a word end stays in the pattern
        ("//a/", "/a", False),
        ("///", "/", False),
    ],
)
def test_bare_regex(text: str, pattern: str | None, ignore_case: bool) -> None:
    node = parse_filter(text)
    if pattern is None:
        assert not isinstance(node, Regex)
        return
    assert node == Regex(compile_regex(pattern, ignore_case=ignore_case), Span(0, len(text)))
    assert isinstance(node, Regex) and node.pattern.ignore_case == ignore_case


@pytest.mark.parametrize("word", ["/status", "/gremlin/profile", "//", "/a/ix", "/a/I", "/a\\/"])
def test_slash_words_that_are_not_regexes(word: str) -> None:
    assert parse_filter(word) == txt(word, 0)


def test_unterminated_regex_is_a_word() -> None:
    # No closing slash before the space: "/a" and "b/" are two words.
    assert parse_filter("/a b/") == And((txt("/a", 0), txt("b/", 3)), Span(0, 5))


def test_regex_ends_before_parenthesis_and_quote() -> None:
    assert parse_filter("(/x/)") == Regex(compile_regex("x"), Span(1, 4))
    assert parse_filter('/x/"y"') == And(
        (Regex(compile_regex("x"), Span(0, 3)), Text("y", Span(3, 6))), Span(0, 6)
    )


def test_regex_is_case_sensitive_without_i() -> None:
    node = parse_filter("/abc/")
    assert isinstance(node, Regex)
    assert not node.pattern.search("ABC")
    node = parse_filter("/abc/i")
    assert isinstance(node, Regex)
    assert node.pattern.search("xABCx")


# Operators and precedence


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a b", ("AND", "a", "b")),
        ("a AND b", ("AND", "a", "b")),
        ("a OR b", ("OR", "a", "b")),
        ("a | b", ("OR", "a", "b")),
        ("NOT a", ("NOT", "a")),
        ("-a", ("NOT", "a")),
        ("a b c", ("AND", "a", "b", "c")),
        ("a AND b c", ("AND", "a", "b", "c")),
        ("a AND b AND c", ("AND", "a", "b", "c")),
        ("a OR b | c", ("OR", "a", "b", "c")),
        ("a OR b c", ("OR", "a", ("AND", "b", "c"))),
        ("a b OR c", ("OR", ("AND", "a", "b"), "c")),
        ("a AND b OR c AND d", ("OR", ("AND", "a", "b"), ("AND", "c", "d"))),
        ("NOT a b", ("AND", ("NOT", "a"), "b")),
        ("NOT a OR b", ("OR", ("NOT", "a"), "b")),
        ("-a -b", ("AND", ("NOT", "a"), ("NOT", "b"))),
        ("a -b OR c", ("OR", ("AND", "a", ("NOT", "b")), "c")),
        ("(a OR b) c", ("AND", ("OR", "a", "b"), "c")),
        ("a (b OR c)", ("AND", "a", ("OR", "b", "c"))),
        ("NOT (a OR b)", ("NOT", ("OR", "a", "b"))),
        ("-(a OR b)", ("NOT", ("OR", "a", "b"))),
        ("NOT NOT a", ("NOT", ("NOT", "a"))),
        ("--a", ("NOT", ("NOT", "a"))),
        ("-NOT a", ("NOT", ("NOT", "a"))),
        ("NOT -a", ("NOT", ("NOT", "a"))),
        ("(a b) c", ("AND", ("AND", "a", "b"), "c")),  # parentheses are not flattened
        ("((a))", "a"),
        ("(a)(b)", ("AND", "a", "b")),
        ("NOT(a)", ("NOT", "a")),
        ("a OR(b)", ("OR", "a", "b")),
        ('-"a b"', ("NOT", "a b")),
        ("a-b -c-", ("AND", "a-b", ("NOT", "c-"))),
        ("a or b", ("AND", "a", "or", "b")),
    ],
)
def test_precedence_and_flattening(text: str, expected: object) -> None:
    assert shape(parse_filter(text)) == expected


def test_negated_regex_and_field() -> None:
    assert parse_filter("-/x/") == Not(Regex(compile_regex("x"), Span(1, 4)), Span(0, 4))
    assert parse_filter("-path:/status") == Not(
        FieldMatch("path", "contains", "/status", None, Span(1, 13)), Span(0, 13)
    )


# Spans


def test_spans_of_and_or_not() -> None:
    assert parse_filter("ab OR NOT cd ef") == Or(
        (
            txt("ab", 0),
            And((Not(txt("cd", 10), Span(6, 12)), txt("ef", 13)), Span(6, 15)),
        ),
        Span(0, 15),
    )


def test_parentheses_belong_to_the_enclosing_span_not_the_inner_node() -> None:
    assert parse_filter(" (a b) ") == And((txt("a", 2), txt("b", 4)), Span(2, 5))
    assert parse_filter("-(a b)") == Not(And((txt("a", 2), txt("b", 4)), Span(2, 5)), Span(0, 6))
    assert parse_filter("(a OR b) c") == And(
        (Or((txt("a", 1), txt("b", 6)), Span(1, 7)), txt("c", 9)), Span(0, 10)
    )
    assert parse_filter("c ((a))") == And((txt("c", 0), txt("a", 4)), Span(0, 7))


def test_field_span_covers_name_and_quoted_value() -> None:
    assert parse_filter('x query:"g.V()" y') == And(
        (
            txt("x", 0),
            FieldMatch("query", "contains", "g.V()", None, Span(2, 15)),
            txt("y", 16),
        ),
        Span(0, 17),
    )


# Field terms


@pytest.mark.parametrize("field", [f for f in FIELDS if f not in ("auth", "lang", "op")])
def test_every_free_text_field(field: str) -> None:
    assert parse_filter(f"{field}:abc") == FieldMatch(
        field, "contains", "abc", None, Span(0, len(field) + 4)
    )
    assert parse_filter(f"{field}=abc") == FieldMatch(
        field, "equals", "abc", None, Span(0, len(field) + 4)
    )


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("arn", "user"),
        ("principal", "user"),
        ("ip", "client"),
        ("ua", "agent"),
        ("useragent", "agent"),
        ("USER", "user"),
        ("Type", "type"),
        ("UserAgent", "agent"),
        ("IP", "client"),
        ("Path", "path"),
    ],
)
def test_field_aliases_and_case(name: str, canonical: str) -> None:
    node = parse_filter(f"{name}:x")
    assert node == FieldMatch(canonical, "contains", "x", None, Span(0, len(name) + 2))


def test_language_alias() -> None:
    assert parse_filter("language:sparql") == FieldMatch(
        "lang", "equals", "sparql", None, Span(0, 15)
    )


@pytest.mark.parametrize(
    ("text", "op", "value"),
    [
        ("path:/status", "contains", "/status"),
        ("path:/gremlin/profile", "contains", "/gremlin/profile"),
        ('path:"/gremlin/"', "contains", "/gremlin/"),
        ('path="/gremlin"', "equals", "/gremlin"),
        ("client:10.0.1.18:34266", "contains", "10.0.1.18:34266"),
        ("header:x=y", "contains", "x=y"),
        ("type==query", "equals", "=query"),
        ("type:-x", "contains", "-x"),
        ("type:OR", "contains", "OR"),
        ('query:"g.V().has(\\"name\\", \\"x\\")"', "contains", 'g.V().has("name", "x")'),
        ('user:""', "contains", ""),
        ('user=""', "equals", ""),
        ("path:/x", "contains", "/x"),
        ("path:/", "contains", "/"),
        ("path://", "contains", "//"),
    ],
)
def test_field_values(text: str, op: MatchOp, value: str) -> None:
    field = re.split("[:=]", text)[0]
    assert parse_filter(text) == FieldMatch(field, op, value, None, Span(0, len(text)))


@pytest.mark.parametrize(
    ("text", "pattern", "ignore_case"),
    [
        ("path:/gremlin/", "gremlin", False),
        ("path=/gremlin/", "gremlin", False),
        ("agent:/curl|python/i", "curl|python", True),
        ("path:/a\\/b/", "a/b", False),
        ("query:/g\\.V\\(\\)/", "g\\.V\\(\\)", False),
        ("query:/(V|E)\\(/", "(V|E)\\(", False),
    ],
)
def test_field_regex(text: str, pattern: str, ignore_case: bool) -> None:
    node = parse_filter(text)
    assert isinstance(node, FieldMatch)
    assert node.op == "regex"
    assert node.value == pattern
    assert node.pattern == compile_regex(pattern, ignore_case=ignore_case)
    assert node.span == Span(0, len(text))


def test_field_regex_in_parentheses() -> None:
    node = parse_filter("(path:/x/)")
    assert node == FieldMatch("path", "regex", "x", compile_regex("x"), Span(1, 9))


def test_field_value_keeps_balanced_parentheses() -> None:
    # Gremlin reads naturally: balanced parentheses inside a word belong to it.
    assert parse_filter("query:g.V().count()") == FieldMatch(
        "query", "contains", "g.V().count()", None, Span(0, 19)
    )
    assert parse_filter("g.V(x)") == Text("g.V(x)", Span(0, 6))
    assert parse_filter("(query:g.V(x))") == FieldMatch(
        "query", "contains", "g.V(x)", None, Span(1, 13)
    )
    assert parse_filter("(type:query)") == FieldMatch(
        "type", "contains", "query", None, Span(1, 11)
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("auth:ok", "ok"),
        ("auth:failed", "failed"),
        ("auth:none", "none"),
        ("auth:OK", "ok"),
        ("auth=Failed", "failed"),
        ('auth:"none"', "none"),
    ],
)
def test_auth(text: str, value: str) -> None:
    assert parse_filter(text) == FieldMatch("auth", "equals", value, None, Span(0, len(text)))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("lang:gremlin", "gremlin"),
        ("lang:sparql", "sparql"),
        ("lang:opencypher", "opencypher"),
        ("lang:openCypher", "opencypher"),
        ("lang:cypher", "opencypher"),
        ("lang=Cypher", "opencypher"),
        ("lang:none", "none"),
        ("LANG:GREMLIN", "gremlin"),
    ],
)
def test_lang(text: str, value: str) -> None:
    assert parse_filter(text) == FieldMatch("lang", "equals", value, None, Span(0, len(text)))


@pytest.mark.parametrize(
    ("text", "position", "message", "expected"),
    [
        ("auth:maybe", 5, "unknown auth value 'maybe'", "one of ok, failed, none"),
        ("auth:/ok/", 5, "auth: does not take a regex", "one of ok, failed, none"),
        ('x auth:"o k"', 7, "unknown auth value 'o k'", "one of ok, failed, none"),
        ("lang:java", 5, "unknown lang value 'java'", "one of gremlin, sparql, opencypher, none"),
        ("lang=/g/", 5, "lang: does not take a regex", "one of gremlin, sparql, opencypher, none"),
    ],
)
def test_auth_and_lang_errors(text: str, position: int, message: str, expected: str) -> None:
    error = err(text)
    assert (error.position, error.message, error.expected) == (position, message, expected)


# Time terms

TIME = "an ISO 8601 time or epoch digits"
DURATION = "a duration like 15m, 2h, 1d"


@pytest.mark.parametrize(
    ("text", "op", "epoch_us"),
    [
        ("after:2023-11-14T22:13:20Z", "after", T0_US),
        ("before:2023-11-14T22:13:20Z", "before", T0_US),
        ('after:"2023-11-14 22:13:20"', "after", T0_US),
        ("after=2023-11-14T23:13:20+01:00", "after", T0_US),
        ("AFTER:1700000000", "after", T0_US),
        ("before:1700000000123", "before", T0_US + 123_000),
        ("after:2023-11-14T22:13:20.5", "after", T0_US + 500_000),
    ],
)
def test_time_bounds(text: str, op: Literal["after", "before"], epoch_us: int) -> None:
    assert parse_filter(text) == TimeBound(op, epoch_us, Span(0, len(text)))


@pytest.mark.parametrize(
    ("text", "duration_us"),
    [
        ("last:15m", 15 * 60 * 1_000_000),
        ("last=2h", 2 * 3600 * 1_000_000),
        ("Last:1h30m", 90 * 60 * 1_000_000),
        ('last:"1d 12h"', 36 * 3600 * 1_000_000),
        ("last:500ms", 500_000),
    ],
)
def test_last(text: str, duration_us: int) -> None:
    assert parse_filter(text) == Last(duration_us, Span(0, len(text)))


def test_time_terms_combine() -> None:
    node = parse_filter("after:2023-11-14 before:2023-11-15 -last:1h")
    assert isinstance(node, And)
    assert [type(child) for child in node.operands] == [TimeBound, TimeBound, Not]


@pytest.mark.parametrize(
    ("text", "position", "message", "expected"),
    [
        ("after:yesterday", 6, "cannot read 'yesterday' as a time", TIME),
        ("x before:12345678901", 9, "ambiguous epoch: 11 digits", TIME),
        ("after:2023-02-30", 6, "invalid time: day is out of range for month", TIME),
        ('after:"2023-11-14  22:13"', 6, "cannot read", TIME),
        ("after:/2023/", 6, "a regex is not allowed here", TIME),
        ("last:15", 5, "missing unit after '15'", DURATION),
        ("last:0", 5, "missing unit after '0'", DURATION),
        ("last:5y", 5, "unknown unit 'y'", DURATION),
        ("last:/5m/", 5, "a regex is not allowed here", DURATION),
    ],
)
def test_time_errors(text: str, position: int, message: str, expected: str) -> None:
    error = err(text)
    assert error.position == position
    assert error.message.startswith(message)
    assert error.expected == expected


# Field errors


@pytest.mark.parametrize(
    ("text", "position", "name"),
    [
        ("foo:x", 0, "foo"),
        ("Foo=x", 0, "Foo"),
        ("a -foo:x", 3, "foo"),
        ("a  http://example.com", 3, "http"),
        ("user-agent:curl", 0, "user-agent"),
        ("_x:1", 0, "_x"),
        ("x=1", 0, "x"),
        ("foo:", 0, "foo"),  # the unknown name is reported before the missing value
        ('(bar:"x")', 1, "bar"),
    ],
)
def test_unknown_field(text: str, position: int, name: str) -> None:
    error = err(text)
    assert error.position == position
    assert error.message == f"unknown field '{name}'"
    assert error.expected.startswith("one of type, client, server, user")
    assert error.expected.endswith("after, before, last (quote the word to search for it as text)")


def test_quoting_an_unknown_field_searches_text() -> None:
    assert parse_filter('"foo:x"') == Text("foo:x", Span(0, 7))


@pytest.mark.parametrize(
    ("text", "position", "written"),
    [
        ("client:", 7, "client:"),
        ("client: x", 7, "client:"),
        ("a client=", 9, "client="),
        ("(client:)", 8, "client:"),
        ("IP:(x)", 3, "IP:"),
        ("after:", 6, "after:"),
        ("last: 5m", 5, "last:"),
    ],
)
def test_field_without_value(text: str, position: int, written: str) -> None:
    error = err(text)
    assert error.position == position
    assert error.message == f"missing value after '{written}'"
    assert error.expected and written not in error.expected  # says what, not where again


def test_field_with_unterminated_quote() -> None:
    error = err('client:"10.0')
    assert (error.position, error.message, error.expected) == (7, "unterminated quote", 'closing "')


# Structural errors


@pytest.mark.parametrize(
    ("text", "position", "message", "expected"),
    [
        ("a)", 1, "unmatched ')'", "a term or the end of the filter"),
        ("(a))", 3, "unmatched ')'", "a term or the end of the filter"),
        (")", 0, "unmatched ')'", "a term"),
        (") a", 0, "unmatched ')'", "a term"),
        ("(a", 2, "missing ')' for the '(' at column 1", "')'"),
        ("x ((a) b", 8, "missing ')' for the '(' at column 3", "')'"),
        ("()", 1, "empty parentheses", "a term"),
        ("a ( )", 4, "empty parentheses", "a term"),
        ('"abc', 0, "unterminated quote", 'closing "'),
        ('a "b\\"', 2, "unterminated quote", 'closing "'),
        ('a OR "b', 5, "unterminated quote", 'closing "'),
        ("a OR", 2, "nothing after OR", "a term"),
        ("a |", 2, "nothing after '|'", "a term"),
        ("a OR OR b", 2, "nothing after OR", "a term"),
        ("(a OR) b", 3, "nothing after OR", "a term"),
        ("a OR AND b", 2, "nothing after OR", "a term"),
        ("OR a", 0, "nothing before OR", "a term"),
        ("| a", 0, "nothing before '|'", "a term"),
        ("(OR a)", 1, "nothing before OR", "a term"),
        ("a AND", 2, "nothing after AND", "a term"),
        ("a AND AND b", 2, "nothing after AND", "a term"),
        ("a AND OR b", 2, "nothing after AND", "a term"),
        ("(a AND)", 3, "nothing after AND", "a term"),
        ("AND a", 0, "nothing before AND", "a term"),
        ("NOT", 0, "nothing after NOT", "a term after NOT"),
        ("a NOT", 2, "nothing after NOT", "a term after NOT"),
        ("(a NOT)", 3, "nothing after NOT", "a term after NOT"),
        ("NOT OR a", 0, "nothing after NOT", "a term after NOT"),
        ("NOT NOT", 4, "nothing after NOT", "a term after NOT"),
        ("-", 0, "nothing after '-'", "a term after '-'"),
        ("a -", 2, "nothing after '-'", "a term after '-'"),
        ("(a -)", 3, "nothing after '-'", "a term after '-'"),
        ("-OR a", 0, "nothing after '-'", "a term after '-'"),
        ("- a", 0, "'-' must touch the term it negates", "a term after '-'"),
        ("a - b", 2, "'-' must touch the term it negates", "a term after '-'"),
        ("-- a", 1, "'-' must touch the term it negates", "a term after '-'"),
        ("a -\tb", 2, "'-' must touch the term it negates", "a term after '-'"),
    ],
)
def test_structural_errors(text: str, position: int, message: str, expected: str) -> None:
    error = err(text)
    assert (error.position, error.message, error.expected) == (position, message, expected)
    assert error.text == text


@pytest.mark.parametrize(
    ("text", "position"),
    [("/(/", 0), ("a /[a/", 2), ("path:/*x/", 6), ("-(x agent=/a{2,1}/)", 12)],
)
def test_invalid_regex(text: str, position: int) -> None:
    error = err(text)
    assert error.position == position
    assert error.message.startswith("invalid regex: ")
    assert error.expected == "a valid regular expression"


def test_invalid_regex_carries_the_re2_message() -> None:
    assert err("/(/").message == "invalid regex: missing )"
    assert err("/a**/").message == "invalid regex: bad repetition operator (**)"


def test_first_error_from_the_left_wins() -> None:
    assert err('foo:x "unterminated').message == "unknown field 'foo'"
    assert err('a) "unterminated').message == "unmatched ')'"
    assert err("/(/ foo:x").message.startswith("invalid regex")


def test_error_describes_column_and_caret() -> None:
    error = err("type:query OR")
    assert str(error) == "column 12: nothing after OR (expected a term)"
    assert error.caret() == "type:query OR\n           ^"


# Nesting limit


def test_nesting_up_to_the_limit_is_fine() -> None:
    depth = MAX_DEPTH // 2
    assert parse_filter("(" * depth + "-" * depth + "a" + ")" * depth) is not None


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1), MAX_DEPTH),
        ("-" * (MAX_DEPTH + 1) + "a", MAX_DEPTH),
        ("NOT " * (MAX_DEPTH + 1) + "a", 4 * MAX_DEPTH),
        ("(-" * 60 + "a" + ")" * 60, 100),
    ],
)
def test_nesting_beyond_the_limit_is_an_error(text: str, position: int) -> None:
    error = err(text)
    assert error.message == "expression nested too deeply"
    assert error.position == position


def test_deep_nesting_never_overflows_the_stack() -> None:
    assert err("(" * 100_000).message == "expression nested too deeply"
    assert err("-" * 100_000 + "a").message == "expression nested too deeply"


# Properties


def _check_spans(node: Node, text: str) -> None:
    """Every span lies within the text and within its parent's span."""
    assert 0 <= node.span.start <= node.span.end <= len(text)
    children: tuple[Node, ...] = ()
    if isinstance(node, Not):
        children = (node.operand,)
    elif isinstance(node, And | Or):
        children = node.operands
        assert len(children) >= 2
    for child in children:
        assert node.span.start <= child.span.start <= child.span.end <= node.span.end
        _check_spans(child, text)


def _check(text: str) -> None:
    try:
        node = parse_filter(text)
    except FilterError as error:
        assert 0 <= error.position <= len(text)
        assert error.text == text
        assert error.message
        return
    _check_spans(node, text)


@settings(max_examples=500)
@given(st.text())
def test_arbitrary_text_parses_or_raises_filter_error(text: str) -> None:
    _check(text)


_FRAGMENTS = st.sampled_from(
    [
        " ", "  ", "(", ")", '"', "\\", "/", "/i", "-", "|", ":", "=", "OR", "AND", "NOT",
        "or", "a", "x1", "*", ".", "{9999999999}", "[", "?", "type", "path", "auth", "lang",
        "after", "before", "last", "foo", "ip", "ok", "gremlin", "cypher", "15m", "1h30",
        "2023-11-14", "T22:13", "1700000000", "170000000012", "é", "\t",
    ]
)  # fmt: skip


@settings(max_examples=1000)
@given(st.lists(_FRAGMENTS, max_size=25).map("".join))
def test_syntax_heavy_text_parses_or_raises_filter_error(text: str) -> None:
    _check(text)


# -- writing filters back as text ---------------------------------------------------------


def _shape(node: object) -> object:
    """A tree with its spans dropped, for comparing a parse with a re-parse."""
    from dataclasses import fields, is_dataclass

    if isinstance(node, tuple):
        return tuple(_shape(child) for child in node)
    if is_dataclass(node) and not isinstance(node, type):
        return (type(node).__name__,) + tuple(
            _shape(getattr(node, f.name)) for f in fields(node) if f.name != "span"
        )
    if isinstance(node, re.Pattern):
        return (node.pattern, node.flags)
    return node


@pytest.mark.parametrize(
    "text",
    [
        "",
        "word",
        '"two words"',
        "client=10.0.1.18:34266 -type=Bolt",
        "user=arn:aws:iam::123:role/App lang:sparql OR auth:failed",
        "(a OR b) c",
        "-(a b) OR c",
        r"/ab\/c/i agent:x",
        r"query:/g\.V\(\)/",
        'header:"a \\"quoted\\" \\\\ value"',
        "after:2026-11-24T08:15:30.123456Z before:2026-11-25",
        "last:1h30m",
        '"OR" "-x" "name:value" "(x"',
        "source:/var/log/a.log path:/status",
    ],
)
def test_format_filter_round_trips(text: str) -> None:
    from tui.query.format import format_filter

    node = parse_filter(text)
    assert _shape(parse_filter(format_filter(node))) == _shape(node)


@given(st.text(min_size=0, max_size=30))
def test_any_value_round_trips_as_a_field_term(value: str) -> None:
    from tui.query.format import field_term, format_filter

    for exclude in (False, True):
        node = field_term("client", value, exclude=exclude)
        assert _shape(parse_filter(format_filter(node))) == _shape(node)
