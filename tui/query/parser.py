"""Recursive-descent parser for the filter language: text in, syntax tree or ``FilterError`` out.

Grammar (precedence NOT > AND > OR; ``AND``/``OR``/``NOT`` are keywords only in upper case)::

    expr     := or_expr
    or_expr  := and_expr ( ("OR" | "|") and_expr )*
    and_expr := unary ( ["AND"] unary )*          -- juxtaposition is AND
    unary    := ("NOT" | "-") unary | primary     -- "-" must touch what follows
    primary  := "(" expr ")" | term
    term     := FIELD (":" | "=") value | value
    value    := WORD | QUOTED | REGEX

Spans: a node's span covers its own source text. Parentheses around a node are *not* part of
that node's span, but they are part of any enclosing node's span: in ``-(a b)`` the ``And`` spans
``a b`` and the ``Not`` spans all six characters.

Nesting (parentheses plus ``NOT``/``-``) is capped at ``MAX_DEPTH`` levels so neither this
parser nor a recursive evaluator can exhaust the stack.
"""

from __future__ import annotations

from collections.abc import Callable

from tui.query.ast import (
    AUTH_VALUES,
    FIELDS,
    LANG_VALUES,
    OP_VALUES,
    And,
    FieldMatch,
    Last,
    MatchAll,
    MatchOp,
    Node,
    Not,
    Or,
    Regex,
    Span,
    Text,
    TimeBound,
)
from tui.query.errors import FilterError
from tui.query.lexer import Lexer, Token
from tui.query.regex import Pattern, RegexError, compile_regex
from tui.query.timeparse import parse_duration, parse_time

#: Alternative field names, resolved to the canonical name stored in ``FieldMatch.field``.
FIELD_ALIASES: dict[str, str] = {
    "arn": "user",
    "principal": "user",
    "ip": "client",
    "language": "lang",
    "ua": "agent",
    "useragent": "agent",
}

#: Field-like names that produce time nodes rather than a ``FieldMatch``.
TIME_FIELDS: tuple[str, ...] = ("after", "before", "last")

#: Extra spellings accepted for ``lang:`` values.
_LANG_ALIASES: dict[str, str] = {"cypher": "opencypher"}

#: Deepest nesting of parentheses and negations accepted.
MAX_DEPTH = 100

_STARTS_UNARY = frozenset({"(", "NOT", "-", "WORD", "QUOTED", "REGEX", "FIELD"})

_KNOWN_FIELDS_HINT = (
    f"one of {', '.join(FIELDS + TIME_FIELDS)} (quote the word to search for it as text)"
)

#: ``parse_time`` or ``parse_duration``.
_Converter = Callable[[str], int]

_VALUE_EXPECTED = 'a word, a "quoted phrase" or a /regex/'
_TIME_EXPECTED = "an ISO 8601 time or epoch digits"
_DURATION_EXPECTED = "a duration like 15m, 2h, 1d"


def parse_filter(text: str) -> Node:
    """Parse a filter expression; empty or blank text is ``MatchAll``.

    Raises ``FilterError`` (with a 0-based position and what was expected there) for any text
    that is not a valid expression; no other exception escapes.
    """
    if not text.strip():
        return MatchAll(Span(0, len(text)))
    return _Parser(text).parse()


def _operator_name(token: Token) -> str:
    """How error messages name an operator token: ``OR``, ``'|'``, ``NOT``, ``'-'``."""
    return token.text if token.text.isalpha() else f"'{token.text}'"


class _Parser:
    """One parse: a lexer with one token of lookahead and the current nesting depth."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lexer = Lexer(text)
        self.depth = 0

    def error(self, message: str, position: int, expected: str = "") -> FilterError:
        return FilterError(message, text=self.text, position=position, expected=expected)

    def parse(self) -> Node:
        node, _ = self.or_expr()
        token = self.lexer.peek()
        if token.kind == ")":
            raise self.error("unmatched ')'", token.start, "a term or the end of the filter")
        assert token.kind == "EOF", token  # or_expr stops only at ")" or the end
        return node

    # Each production returns (node, extent): extent is the node's span widened to any
    # parentheses around it, which is what an enclosing node's span is built from.

    def or_expr(self) -> tuple[Node, Span]:
        operands = [self.and_expr()]
        while self.lexer.peek().kind == "OR":
            operator = self.lexer.advance()
            self.require_operand(operator, f"nothing after {_operator_name(operator)}", "a term")
            operands.append(self.and_expr())
        return self.combine(Or, operands)

    def and_expr(self) -> tuple[Node, Span]:
        operands = [self.unary()]
        while True:
            token = self.lexer.peek()
            if token.kind == "AND":
                self.lexer.advance()
                self.require_operand(token, "nothing after AND", "a term")
            elif token.kind not in _STARTS_UNARY:
                break
            operands.append(self.unary())
        return self.combine(And, operands)

    @staticmethod
    def combine(kind: type[And] | type[Or], operands: list[tuple[Node, Span]]) -> tuple[Node, Span]:
        """A single operand as is; several as one flat ``And``/``Or`` spanning all of them."""
        if len(operands) == 1:
            return operands[0]
        span = Span(operands[0][1].start, operands[-1][1].end)
        return kind(tuple(node for node, _ in operands), span), span

    def unary(self) -> tuple[Node, Span]:
        # Iterative, so a long run of negations cannot exhaust the stack.
        negations: list[Token] = []
        while self.lexer.peek().kind in ("NOT", "-"):
            operator = self.lexer.advance()
            name = _operator_name(operator)
            after = operator.end
            if operator.kind == "-" and after < len(self.text) and self.text[after].isspace():
                raise self.error(
                    "'-' must touch the term it negates", operator.start, f"a term after {name}"
                )
            self.require_operand(operator, f"nothing after {name}", f"a term after {name}")
            negations.append(operator)
            self.enter(operator)
        node, extent = self.primary()
        for operator in reversed(negations):
            extent = Span(operator.start, extent.end)
            node = Not(node, extent)
        self.depth -= len(negations)
        return node, extent

    def primary(self) -> tuple[Node, Span]:
        token = self.lexer.advance()
        if token.kind == "(":
            self.enter(token)
            if self.lexer.peek().kind == ")":
                raise self.error("empty parentheses", self.lexer.peek().start, "a term")
            node, _ = self.or_expr()
            close = self.lexer.peek()
            if close.kind != ")":
                raise self.error(
                    f"missing ')' for the '(' at column {token.start + 1}", len(self.text), "')'"
                )
            self.lexer.advance()
            self.depth -= 1
            return node, Span(token.start, close.end)
        if token.kind in ("OR", "AND"):
            raise self.error(f"nothing before {_operator_name(token)}", token.start, "a term")
        if token.kind == ")":
            raise self.error("unmatched ')'", token.start, "a term")
        if token.kind == "EOF":
            raise self.error("missing term", token.start, "a term")
        node = self.term(token)
        return node, node.span

    def require_operand(self, operator: Token, message: str, expected: str) -> None:
        """Raise at ``operator`` unless the next token can start an operand."""
        if self.lexer.peek().kind not in _STARTS_UNARY:
            raise self.error(message, operator.start, expected)

    def enter(self, token: Token) -> None:
        """Count one level of nesting opened by ``token``; refuse beyond ``MAX_DEPTH``."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(
                "expression nested too deeply",
                token.start,
                f"at most {MAX_DEPTH} levels of parentheses and NOT",
            )

    # Terms.

    def term(self, token: Token) -> Node:
        span = Span(token.start, token.end)
        if token.kind == "REGEX":
            return Regex(self.compile(token), span)
        if token.kind == "FIELD":
            return self.field(token, span)
        return Text(token.value, span)

    def compile(self, token: Token) -> Pattern:
        """Compile a REGEX token; an error points at the construct RE2 refuses when known,
        else at the opening ``/``."""
        try:
            return compile_regex(token.value, ignore_case=token.ignore_case)
        except RegexError as exc:
            position = token.start
            if exc.offset is not None:
                position = self.regex_position(token, exc.offset)
            raise self.error(exc.message, position, "a valid regular expression") from None

    def regex_position(self, token: Token, offset: int) -> int:
        """Where character ``offset`` of a REGEX token's pattern is in the filter text (the
        lexer turned each ``\\/`` into ``/``)."""
        position = token.start + 1
        produced = 0
        while produced < offset and position < token.end:
            if self.text[position] == "\\":
                produced += 1 if self.text[position + 1] == "/" else 2
                position += 2
            else:
                produced += 1
                position += 1
        return position - (produced - offset)

    def field(self, token: Token, span: Span) -> Node:
        name = token.name.lower()
        name = FIELD_ALIASES.get(name, name)
        if name not in FIELDS and name not in TIME_FIELDS:
            raise self.error(f"unknown field '{token.name}'", token.start, _KNOWN_FIELDS_HINT)
        operand = token.operand
        if operand is None:
            raise self.error(
                f"missing value after '{token.name}{token.op}'",
                token.end,
                _TIME_EXPECTED
                if name in ("after", "before")
                else _DURATION_EXPECTED
                if name == "last"
                else _VALUE_EXPECTED,
            )
        if name == "after" or name == "before":
            epoch_us = self.value_of(operand, parse_time, _TIME_EXPECTED)
            return TimeBound("after" if name == "after" else "before", epoch_us, span)
        if name == "last":
            return Last(self.value_of(operand, parse_duration, _DURATION_EXPECTED), span)
        if name in ("auth", "lang", "op"):
            return self.enum_field(name, operand, span)
        if operand.kind == "REGEX":
            return FieldMatch(name, "regex", operand.value, self.compile(operand), span)
        op: MatchOp = "contains" if token.op == ":" else "equals"
        return FieldMatch(name, op, operand.value, None, span)

    def value_of(self, operand: Token, convert: _Converter, expected: str) -> int:
        """Run ``parse_time``/``parse_duration`` on a value, positioning any error at it."""
        if operand.kind == "REGEX":
            raise self.error("a regex is not allowed here", operand.start, expected)
        try:
            return convert(operand.value)
        except ValueError as exc:
            raise self.error(str(exc), operand.start, expected) from None

    def enum_field(self, name: str, operand: Token, span: Span) -> FieldMatch:
        """``auth:``, ``lang:`` and ``op:`` take one of a fixed set of values, compared for
        equality."""
        allowed = {"auth": AUTH_VALUES, "lang": LANG_VALUES, "op": OP_VALUES}[name]
        expected = f"one of {', '.join(allowed)}"
        if operand.kind == "REGEX":
            raise self.error(f"{name}: does not take a regex", operand.start, expected)
        value = operand.value.lower()
        if name == "lang":
            value = _LANG_ALIASES.get(value, value)
        if value not in allowed:
            raise self.error(f"unknown {name} value '{operand.value}'", operand.start, expected)
        return FieldMatch(name, "equals", value, None, span)
