"""The filter language's syntax tree.

Every node records the character span it came from, so an evaluator or a UI can point at it.
Nodes are immutable and hold only plain values: evaluation lives elsewhere (``tui.index``
evaluates a tree over columns, ``tui.query.predicate`` over one parsed record).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tui.model.payload import LANGUAGES
from tui.model.record import AUTH_NAMES, OPERATIONS
from tui.query.regex import Pattern

#: Fields a ``field:value`` term may name, in the order the help lists them.
FIELDS: tuple[str, ...] = (
    "type",
    "client",
    "server",
    "user",
    "auth",
    "lang",
    "method",
    "path",
    "agent",
    "query",
    "header",
    "source",
    "instance",
    "op",
    "fp",
)

#: Values ``auth:`` accepts.
AUTH_VALUES: tuple[str, ...] = tuple(AUTH_NAMES.values())

#: Values ``op:`` accepts: the operation classes.
OP_VALUES: tuple[str, ...] = OPERATIONS

#: Values ``lang:`` accepts (``none``: records without a query language, such as ``/status``).
LANG_VALUES: tuple[str, ...] = (*LANGUAGES, "none")

MatchOp = Literal["contains", "equals", "regex"]


@dataclass(frozen=True, slots=True)
class Span:
    """Half-open character range ``[start, end)`` in the expression text."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class MatchAll:
    """The empty expression: every entry matches."""

    span: Span


@dataclass(frozen=True, slots=True)
class Text:
    """A bare word or quoted phrase: case-insensitive substring of the raw log text."""

    value: str
    span: Span


@dataclass(frozen=True, slots=True)
class Regex:
    """A bare ``/regex/``: searched in the raw log text (``/.../i`` ignores case)."""

    pattern: Pattern
    span: Span


@dataclass(frozen=True, slots=True)
class FieldMatch:
    """``field:value`` (case-insensitive substring), ``field=value`` (case-insensitive
    equality) or ``field:/regex/`` on one field of the parsed record."""

    field: str
    op: MatchOp
    value: str
    pattern: Pattern | None
    span: Span


@dataclass(frozen=True, slots=True)
class TimeBound:
    """``after:T`` (at or after T) or ``before:T`` (strictly before T), T in epoch microseconds."""

    op: Literal["after", "before"]
    epoch_us: int
    span: Span


@dataclass(frozen=True, slots=True)
class Last:
    """``last:15m``: records within this many microseconds of the newest record loaded."""

    duration_us: int
    span: Span


@dataclass(frozen=True, slots=True)
class Not:
    """``NOT x`` or ``-x``."""

    operand: Node
    span: Span


@dataclass(frozen=True, slots=True)
class And:
    """Implicit or explicit ``AND`` of two or more operands."""

    operands: tuple[Node, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Or:
    """``OR`` (or ``|``) of two or more operands."""

    operands: tuple[Node, ...]
    span: Span


Node = MatchAll | Text | Regex | FieldMatch | TimeBound | Last | Not | And | Or
