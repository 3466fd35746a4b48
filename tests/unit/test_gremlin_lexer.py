"""Tests for ``tui.model.gremlin_lexer``: token types, round-tripping, robustness, rendering."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pygments.token import (
    Comment,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Token,
)
from rich.console import Console
from rich.syntax import Syntax

from tui.model.gremlin_lexer import GremlinLexer, analyse_text

PREDICATE = Name.Builtin.Pseudo

Expected = list[tuple[str, Any]]

EXAMPLES: list[tuple[str, Expected]] = [
    (
        """g.V().has("person","name",'ann').out('knows').limit(5)""",
        [
            ("g", Name.Builtin),
            (".", Punctuation),
            ("V", Name.Function),
            ("has", Name.Function),
            ('"person"', String.Double),
            ("'ann'", String.Single),
            ("out", Name.Function),
            ("limit", Name.Function),
            ("5", Number.Integer),
        ],
    ),
    (
        "g.V().hasLabel('airport').has('code', within('AUS','DFW')).outE('route')"
        ".has('dist', gt(500)).inV().values('city').dedup()",
        [
            ("hasLabel", Name.Function),
            ("within", PREDICATE),
            ("'DFW'", String.Single),
            ("outE", Name.Function),
            ("gt", PREDICATE),
            ("500", Number.Integer),
            ("values", Name.Function),
            ("dedup", Name.Function),
        ],
    ),
    (
        "g.V().has('airport','code','HKG').repeat(__.out('route').simplePath()).times(2)"
        ".path().by('code').limit(10)",
        [
            ("repeat", Name.Function),
            ("__", Name.Builtin),
            ("out", Name.Function),
            ("simplePath", Name.Function),
            ("times", Name.Function),
            ("2", Number.Integer),
            ("by", Name.Function),
        ],
    ),
    (
        "g.V(1).as('a').out().as('b').select('a','b').by(valueMap(true))",
        [
            ("1", Number.Integer),
            ("as", Name.Function),
            ("select", Name.Function),
            ("valueMap", Name.Function),
            ("true", Keyword.Constant),
        ],
    ),
    (
        "g.E().groupCount().by(T.label).order(local).by(values, Order.desc)",
        [
            ("E", Name.Function),
            ("T", Name.Constant),
            (".", Punctuation),
            ("label", Name.Constant),
            ("local", Name.Constant),
            ("values", Name.Constant),
            ("Order", Name.Constant),
            ("desc", Name.Constant),
        ],
    ),
    (
        "g.V().filter{ it.get().value('age') > 30 }.map{ it -> it.get().id() }.toList()",
        [
            ("filter", Name.Function),
            ("{", Punctuation),
            ("it", Keyword),
            ("get", Name.Function),
            (">", Operator),
            ("30", Number.Integer),
            ("}", Punctuation),
            ("map", Name.Function),
            ("it", Keyword),
            ("->", Operator),
            ("id", Name.Function),
            ("toList", Name.Function),
        ],
    ),
    (
        "g.addV('person').property(id, 'p-1').property('name', \"Zoë\").property(list, 'tag', 'a')",
        [
            ("addV", Name.Function),
            ("id", Name.Constant),
            ("'p-1'", String.Single),
            ('"Zoë"', String.Double),
            ("list", Name.Constant),
        ],
    ),
    (
        "g.inject(1,2,3).math('_ * 2').sum()",
        [
            ("inject", Name.Function),
            ("3", Number.Integer),
            ("'_ * 2'", String.Single),
            ("sum", Name.Function),
        ],
    ),
    (
        "g.V().has('age', between(20, 30)).has('name', TextP.startingWith('a')).count()",
        [
            ("between", PREDICATE),
            ("20", Number.Integer),
            ("TextP", PREDICATE),
            ("startingWith", PREDICATE),
            ("count", Name.Function),
        ],
    ),
    (
        "g.V().coalesce(__.has('x', 1), __.constant(-1.5e3)).project('a','b').by(id).by(label)",
        [
            ("coalesce", Name.Function),
            ("__", Name.Builtin),
            ("has", Name.Function),
            ("constant", Name.Function),
            ("-1.5e3", Number.Float),
            ("project", Name.Function),
            ("id", Name.Constant),
            ("label", Name.Constant),
        ],
    ),
    ("// a comment", [("// a comment", Comment.Single)]),
]
ALL_EXAMPLES = "\n".join(code for code, _ in EXAMPLES)


def lex(code: str) -> list[tuple[Any, str]]:
    """``(token type, text)`` pairs, without Pygments' newline preprocessing."""
    return [(token, value) for _, token, value in GremlinLexer().get_tokens_unprocessed(code)]


def assert_in_order(code: str, expected: Expected) -> None:
    """``expected`` ``(text, token type)`` pairs occur among the tokens of ``code``, in order."""
    remaining = iter((value, token) for token, value in lex(code))
    for pair in expected:
        assert pair in remaining, f"{pair!r} missing (or out of order) in {lex(code)!r}"


@pytest.mark.parametrize(("code", "expected"), EXAMPLES, ids=[c[:30] for c, _ in EXAMPLES])
def test_example_tokens(code: str, expected: Expected) -> None:
    assert_in_order(code, expected)


@pytest.mark.parametrize("code", [code for code, _ in EXAMPLES] + [ALL_EXAMPLES])
def test_examples_have_no_errors_and_round_trip(code: str) -> None:
    tokens = lex(code)
    assert all(token is not Token.Error for token, _ in tokens)
    assert "".join(value for _, value in tokens) == code


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("P.gt(3).and(P.lt(9))", [("P", PREDICATE), ("gt", PREDICATE), ("and", Name.Function)]),
        ("where(neq('a'))", [("where", Name.Function), ("neq", PREDICATE)]),
        ("__.not(has('x'))", [("not", Name.Function), ("has", Name.Function)]),
        ("is(not(eq(1)))", [("not", PREDICATE), ("eq", PREDICATE)]),
        ("has('name', regex('a.*'))", [("regex", PREDICATE)]),
        ("has('name', TextP.notContaining('x'))", [("notContaining", PREDICATE)]),
        (
            "valueMap().by(Column.values).by(values('x'))",
            [("values", Name.Constant), ("values", Name.Function)],
        ),
        ("by(values('x'))", [("values", Name.Function)]),
        ("by(values ('x'))", [("values", Name.Function)]),
        ("property(Cardinality.single, 'a', 1)", [("single", Name.Constant)]),
        ("select(Pop.last, 'a').order().by(Order.shuffle)", [("last", Name.Constant)]),
        ("toE(Direction.OUT).otherV()", [("Direction", Name.Constant), ("OUT", Name.Constant)]),
        ("sack(Operator.sum)", [("sum", Name.Constant)]),
        ("select(first, 'a')", [("first", Name.Constant)]),
        ("sack(incr)", [("incr", Name.Constant)]),
        ("true false null", [("true", Keyword.Constant), ("null", Keyword.Constant)]),
        (
            "{ def x = new java.util.Date(); if (x in y) return x else null }",
            [
                ("def", Keyword),
                ("new", Keyword),
                ("java.util.Date", Name.Class),
                ("if", Keyword),
                ("in", Keyword),
                ("return", Keyword),
                ("else", Keyword),
            ],
        ),
        ("__.in('knows')", [("in", Name.Function)]),
        ("it.name", [("it", Keyword), ("name", Name.Attribute)]),
        ("g.V().\n  out()", [("g", Name.Builtin), ("out", Name.Function)]),
        ("g.V()\n  .out() // hop\n", [("out", Name.Function), ("// hop", Comment.Single)]),
        ("/* a\n b */ g", [("/* a\n b */", Comment.Multiline), ("g", Name)]),
        ("g.V() /* open", [("/* open", Comment.Multiline)]),
        ("'''a\n'b'\n'''", [("'''a\n'b'\n'''", String.Single)]),
        ('"""x"""', [('"""x"""', String.Double)]),
        (r"'it\'s' ", [(r"'it\'s'", String.Single)]),
        (r'"a\"b" ', [(r'"a\"b"', String.Double)]),
        ("'open\ng", [("'open", String.Single), ("g", Name)]),
        (
            "limit(7L).is(2.5d).is(3f).is(0xFF).is(1e10).is(1_000)",
            [
                ("7L", Number.Integer),
                ("2.5d", Number.Float),
                ("3f", Number.Float),
                ("0xFF", Number.Hex),
                ("1e10", Number.Float),
                ("1_000", Number.Integer),
            ],
        ),
        ("x-1", [("x", Name), ("-", Operator), ("1", Number.Integer)]),
        ("x - -1", [("-", Operator), ("-1", Number.Integer)]),
        (
            "a == b != c <= d && !e || f % 2",
            [("==", Operator), ("!=", Operator), ("<=", Operator), ("&&", Operator)]
            + [("!", Operator), ("||", Operator), ("%", Operator)],
        ),
        ("[a: 1]", [("[", Punctuation), (":", Punctuation), ("]", Punctuation)]),
    ],
)
def test_more_tokens(code: str, expected: Expected) -> None:
    assert_in_order(code, expected)


def test_get_tokens_keeps_blank_lines_for_rich() -> None:
    code = "\n\ng.V()\n\n"
    assert "".join(value for _, value in GremlinLexer().get_tokens(code)) == code


def test_lexer_metadata() -> None:
    lexer = GremlinLexer()
    assert lexer.name == "Gremlin"
    assert lexer.aliases == ["gremlin"]
    assert lexer.filenames == ["*.gremlin"]
    assert lexer.mimetypes == ["text/x-gremlin"]


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("g.V().count()", 1.0),
        ("  g.addE('x')", 1.0),
        ("g.tx().commit()", 0.9),
        ("__.out", 0.9),
        ("g.", 0.0),
        ("graph.traversal().V(1)", 0.8),
        ("SELECT * FROM t", 0.0),
        ("MATCH (n) RETURN n", 0.0),
        ("", 0.0),
    ],
)
def test_analyse_text(text: str, score: float) -> None:
    assert analyse_text(text) == score
    assert GremlinLexer.analyse_text(text) == score  # as Pygments' guess_lexer calls it


GREMLIN_FRAGMENTS = [
    "g", "__", ".", "V", "out", "(", ")", "{", "}", "[", "]", "'", '"', "'''", '"""', "\\",
    "/", "*", "//", "/*", "*/", "-", "->", "1", "2.5", "e3", "L", "0x", "T", "P", "TextP",
    "label", "values", "gt", "it", "in", "new", " ", "\n", "\r\n", "\t", "$", "ë", "_", ":",
]  # fmt: skip


@settings(max_examples=300)
@given(st.text() | st.lists(st.sampled_from(GREMLIN_FRAGMENTS)).map("".join))
def test_arbitrary_text_round_trips_without_errors(text: str) -> None:
    position = 0
    for index, token, value in GremlinLexer().get_tokens_unprocessed(text):
        assert index == position
        assert value
        assert token is not Token.Error
        position += len(value)
    assert position == len(text)


@pytest.mark.parametrize("code", [ALL_EXAMPLES, "", "g.V(", "'''", "\x00\x1b[31m"])
def test_rich_syntax_renders(code: str) -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=80, force_terminal=True, color_system="truecolor")
    console.print(Syntax(code, lexer=GremlinLexer()))
    output = buffer.getvalue()
    if code:
        assert output
    if code == ALL_EXAMPLES:
        assert "\x1b[" in output  # styled
        assert "simplePath" in output


def test_rich_highlight_styles_steps_differently_from_strings() -> None:
    code = "g.V().out('knows')"
    text = Syntax(code, lexer=GremlinLexer(), theme="monokai").highlight(code)
    assert text.plain.rstrip("\n") == code

    def style_at(offset: int) -> str:
        return " ".join(str(s.style) for s in text.spans if s.start <= offset < s.end)

    assert style_at(code.index("out")) != style_at(code.index("'knows'"))
