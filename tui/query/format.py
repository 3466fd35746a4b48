"""Writing a filter tree back as filter text: the one place values become expression text.

``format_filter(node)`` gives text that ``parse_filter`` reads back into the same tree (spans
aside): values are written bare only when the lexer would read them back unchanged, and
quoted otherwise. The viewer uses it to show and edit filters it built from values (quick
filters, the probe toggle) without hand-made quoting.
"""

from __future__ import annotations

from tui.query.ast import (
    And,
    FieldMatch,
    Last,
    MatchAll,
    Node,
    Not,
    Or,
    Regex,
    Span,
    Text,
    TimeBound,
)
from tui.query.errors import FilterError
from tui.query.lexer import Lexer
from tui.query.timeparse import format_time_us

#: The span of nodes built from values rather than parsed.
NO_SPAN = Span(0, 0)

_DURATION_UNITS: tuple[tuple[str, int], ...] = (
    ("w", 7 * 86_400_000_000),
    ("d", 86_400_000_000),
    ("h", 3_600_000_000),
    ("m", 60_000_000),
    ("s", 1_000_000),
    ("ms", 1_000),
)


def quote(value: str) -> str:
    """``value`` as a quoted phrase (``"`` and ``\\`` escaped)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _reads_back(text: str, kind: str, value: str) -> bool:
    """Whether the lexer reads ``text`` as exactly one token of ``kind`` holding ``value``."""
    try:
        lexer = Lexer(text)
        token = lexer.advance()
        if token.kind == "FIELD":
            token = token.operand if token.operand is not None else token
        return token.kind == kind and token.value == value and lexer.advance().kind == "EOF"
    except FilterError:
        return False


def format_value(value: str, prefix: str = "") -> str:
    """A word or field value as written after ``prefix`` (``""`` or ``field:``)."""
    if value and _reads_back(prefix + value, "WORD", value):
        return prefix + value
    return prefix + quote(value)


def format_regex(source: str, ignore_case: bool) -> str:
    """``/source/`` (``/i`` when ignoring case), its slashes escaped."""
    out: list[str] = []
    position = 0
    while position < len(source):
        char = source[position]
        if char == "\\" and position + 1 < len(source):
            out.append(source[position : position + 2])
            position += 2
            continue
        out.append("\\/" if char == "/" else char)
        position += 1
    return "/" + "".join(out) + "/" + ("i" if ignore_case else "")


def format_duration(duration_us: int) -> str:
    """``1h30m`` for 90 minutes (whole milliseconds, as ``last:`` takes them)."""
    parts: list[str] = []
    rest = duration_us
    for unit, size in _DURATION_UNITS:
        amount, rest = divmod(rest, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts) or "0ms"


def format_filter(node: Node) -> str:
    """Filter text that parses back into ``node`` (spans aside); ``""`` for MatchAll."""
    if isinstance(node, MatchAll):
        return ""
    if isinstance(node, Text):
        return format_value(node.value)
    if isinstance(node, Regex):
        return format_regex(node.pattern.source, node.pattern.ignore_case)
    if isinstance(node, FieldMatch):
        if node.op == "regex" and node.pattern is not None:
            return f"{node.field}:" + format_regex(node.value, node.pattern.ignore_case)
        return format_value(node.value, f"{node.field}{'=' if node.op == 'equals' else ':'}")
    if isinstance(node, TimeBound):
        return f"{node.op}:{format_time_us(node.epoch_us)}"
    if isinstance(node, Last):
        return f"last:{format_duration(node.duration_us)}"
    if isinstance(node, Not):
        inner = format_filter(node.operand)
        return f"-({inner})" if isinstance(node.operand, (And, Or)) else f"-{inner}"
    if isinstance(node, And):
        return " ".join(
            f"({format_filter(child)})" if isinstance(child, Or) else format_filter(child)
            for child in node.operands
        )
    return " OR ".join(format_filter(child) for child in node.operands)


def all_of(nodes: list[Node]) -> Node:
    """The AND of ``nodes`` without MatchAll terms (MatchAll when none is left); an And
    operand is flattened into the result."""
    terms: list[Node] = []
    for node in nodes:
        if isinstance(node, MatchAll):
            continue
        terms.extend(node.operands if isinstance(node, And) else (node,))
    if not terms:
        return MatchAll(NO_SPAN)
    return terms[0] if len(terms) == 1 else And(tuple(terms), NO_SPAN)


def field_term(field: str, value: str, *, exclude: bool = False) -> Node:
    """``field=value`` (or its exclusion) built from a value, with no quoting round trip."""
    term: Node = FieldMatch(field, "equals", value, None, NO_SPAN)
    return Not(term, NO_SPAN) if exclude else term
