"""A Pygments lexer for Gremlin, the Apache TinkerPop traversal language (Groovy flavour).

Token mapping:

- ``Name.Builtin``: traversal sources ``g`` (when followed by ``.``) and ``__``.
- ``Name.Function``: steps, a name after ``.`` followed by ``(`` or a closure ``{``
  (``.out(``, ``__.has(``, ``.map{``); also bare calls such as ``valueMap(true)``.
- ``Name.Attribute``: any other name after ``.`` (``it.name``).
- ``Name.Builtin.Pseudo``: predicates called bare (``gt(``, ``within(``, ``startingWith(``)
  and ``P.x`` / ``TextP.x`` (namespace and member; the dot is ``Punctuation``).
- ``Name.Constant``: enums ``T.label``, ``Order.desc``, ``Cardinality.list`` ... (namespace and
  member) and their bare short forms (``id``, ``label``, ``local``, ``values`` ...) when not
  followed by ``(``.
- ``Keyword.Constant``: ``true false null``; ``Keyword``: Groovy keywords (``def if else return
  new`` ..., and ``in it as`` when not called); ``Name.Class``: the class after ``new``.
- ``String.Single`` / ``String.Double``: ``'...'``, ``'''...'''`` / ``"..."``, triple-double.
- ``Number.Integer`` (``5``, ``-1``, ``7L``), ``Number.Hex`` (``0xff``), ``Number.Float``
  (``2.5``, ``-1.5e3``, ``3d``, ``1f``); a ``-`` after an operand stays an ``Operator``.
- ``Comment.Single`` / ``Comment.Multiline``: ``//`` / ``/* */``.
- ``Punctuation``: ``. , ( ) [ ] { } : ; @``; ``Operator``: ``-> == != <= >= < > + - * / % && ||
  !`` and Groovy's others.
- ``Name``: other identifiers; ``Whitespace``; ``Text``: any other character.

A step is recognised by what precedes it (``.``) and follows it (``(`` or a closure ``{``);
predicates and enum short forms only when not after a ``.``, so ``.values('x')`` is a step
while ``by(values)`` is the ``Column.values`` constant. Lambda bodies are lexed with the same
rules. A catch-all rule means the lexer never emits ``Token.Error``; an unterminated ``'`` or
``"`` string runs to the end of its line, an unterminated ``/*`` comment to the end of the text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pygments.lexer import RegexLexer, bygroups, default, include, words
from pygments.token import (
    Comment,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Text,
    Whitespace,
)

__all__ = ["GremlinLexer", "analyse_text"]

_bygroups: Callable[..., Any] = bygroups  # unannotated in types-Pygments

_IDENT = r"(?:[^\W\d]|\$)[\w$]*"
_END = r"(?![\w$])"  # the end of a word (``$`` is an identifier character in Groovy)
_CALLED = r"(?=\s*\()"
_NOT_CALLED = r"(?!\s*\()"

PREDICATES = (
    "gt", "lt", "gte", "lte", "eq", "neq", "within", "without", "between", "inside", "outside",
    "not", "test", "and", "or",
    "startingWith", "endingWith", "containing", "notStartingWith", "notEndingWith",
    "notContaining", "regex", "notRegex",
)  # fmt: skip
PREDICATE_NAMESPACES = ("P", "TextP")
ENUM_NAMESPACES = (
    "T", "Order", "Scope", "Column", "Pop", "Cardinality", "Direction", "Operator", "Pick",
    "Merge", "WithOptions", "Barrier", "DT",
)  # fmt: skip
ENUM_SHORT_FORMS = (
    "id", "label", "key", "value", "local", "global", "asc", "desc", "shuffle", "keys", "values",
    "single", "list", "set", "first", "last", "all", "mixed", "incr", "decr", "OUT", "IN", "BOTH",
)  # fmt: skip
KEYWORDS = (
    "def", "if", "else", "return", "new", "for", "while", "do", "switch", "case", "default",
    "break", "continue", "try", "catch", "finally", "throw", "instanceof", "this", "super",
)  # fmt: skip
SOFT_KEYWORDS = ("in", "it", "as")  # steps too (``__.in()``, ``as('a')``) when called

_SIGN = r"(?:(?<![\w$)\]}'\"])-)?"  # a ``-`` that cannot be binary minus belongs to the number
_DIGITS = r"[0-9][0-9_]*"
_EXPONENT = rf"[eE][+-]?{_DIGITS}"


def _namespaced(namespaces: tuple[str, ...], token: Any) -> tuple[str, Any]:
    """A rule for ``Namespace.member`` with all three parts typed ``token``."""
    alternatives = "|".join(sorted(namespaces, key=len, reverse=True))
    regex = rf"(?<![\w$])({alternatives})(\s*)(\.)(\s*)({_IDENT})"
    return regex, _bygroups(token, Whitespace, Punctuation, Whitespace, token)


_START = re.compile(r"\s*(?:g|__)\s*\.\s*[A-Za-z_]")
_SOURCE_STEP = re.compile(r"\s*g\s*\.\s*(?:V|E|addV|addE|inject|mergeV|mergeE|io|call|union)\(")
_GRAPH_STEP = re.compile(r"\.\s*[VE]\s*\(")


def analyse_text(text: str) -> float:
    """How likely ``text`` is a Gremlin traversal, from 0.0 to 1.0."""
    if _SOURCE_STEP.match(text):
        return 1.0
    if _START.match(text):
        return 0.9
    if _GRAPH_STEP.search(text):
        return 0.8
    return 0.0


class GremlinLexer(RegexLexer):
    """Highlights Gremlin traversals, including Groovy lambdas."""

    name = "Gremlin"
    url = "https://tinkerpop.apache.org/gremlin.html"
    aliases = ["gremlin"]
    filenames = ["*.gremlin"]
    mimetypes = ["text/x-gremlin"]

    analyse_text = staticmethod(analyse_text)

    tokens = {
        "root": [
            (r"\s+", Whitespace),
            include("comments"),
            include("strings"),
            include("numbers"),
            (r"\.", Punctuation, "member"),
            _namespaced(PREDICATE_NAMESPACES, Name.Builtin.Pseudo),
            _namespaced(ENUM_NAMESPACES, Name.Constant),
            (rf"__{_END}", Name.Builtin),
            (rf"g{_END}(?=\s*\.)", Name.Builtin),
            (words(("true", "false", "null"), suffix=_END), Keyword.Constant),
            (
                rf"(new)(\s+)({_IDENT}(?:\.{_IDENT})*)",
                _bygroups(Keyword, Whitespace, Name.Class),
            ),
            (words(KEYWORDS, suffix=_END), Keyword),
            (words(SOFT_KEYWORDS, suffix=_END + _NOT_CALLED), Keyword),
            (words(PREDICATES, suffix=_END + _CALLED), Name.Builtin.Pseudo),
            (words(ENUM_SHORT_FORMS, suffix=_END + _NOT_CALLED), Name.Constant),
            (rf"{_IDENT}(?=\s*[({{])", Name.Function),
            (_IDENT, Name),
            include("operators"),
            (r"[,()\[\]{}:;@]", Punctuation),
            (r"[\s\S]", Text),  # anything else, so that no input yields Token.Error
        ],
        "member": [  # just after a ``.``
            (r"\s+", Whitespace),
            include("comments"),
            (rf"{_IDENT}(?=\s*[({{])", Name.Function, "#pop"),
            (_IDENT, Name.Attribute, "#pop"),
            default("#pop"),
        ],
        "comments": [
            (r"//.*", Comment.Single),
            (r"/\*[\s\S]*?(?:\*/|\Z)", Comment.Multiline),
        ],
        "strings": [
            (r'"""(?:[^"\\]|\\[\s\S]|"(?!""))*"""', String.Double),
            (r"'''(?:[^'\\]|\\[\s\S]|'(?!''))*'''", String.Single),
            (r'"(?:[^"\\\n]|\\[\s\S])*"?', String.Double),
            (r"'(?:[^'\\\n]|\\[\s\S])*'?", String.Single),
        ],
        "numbers": [
            (rf"{_SIGN}0[xX][0-9a-fA-F][0-9a-fA-F_]*[lLiIgG]?", Number.Hex),
            (
                rf"{_SIGN}(?:{_DIGITS}\.{_DIGITS}(?:{_EXPONENT})?|{_DIGITS}{_EXPONENT})[fFdDgG]?",
                Number.Float,
            ),
            (rf"{_SIGN}{_DIGITS}[fFdD]", Number.Float),
            (rf"{_SIGN}{_DIGITS}[lLiIgG]?", Number.Integer),
        ],
        "operators": [
            (r"->|==~|=~|<=>|\?:|\*\*|&&|\|\||\+\+|--|<<|>>|[-+*/%&|^!=<>]=", Operator),
            (r"[-+*/%&|^!=<>~?]", Operator),
        ],
    }

    def __init__(self, **options: Any) -> None:
        """Like any lexer, but keeping leading and trailing blank lines (as Rich's own do)."""
        options.setdefault("stripnl", False)
        super().__init__(**options)
