"""Query fingerprints: a query reduced to its shape, and a short stable id for the shape.

Like ``pt-fingerprint`` and ``pg_stat_statements`` do for SQL, a query is lexed (with the
Gremlin lexer and Pygments' SPARQL and Cypher lexers, see :mod:`tui.insight.lexers`, run by
:class:`~tui.insight.fastlex.FastLexer`) and rebuilt from its tokens: comments and whitespace
go, keyword case is folded, literals become ``?``. What stays is what makes two queries
different work:

- **Gremlin**: steps, predicates, enums (``desc``, ``T.id`` as ``id``), ``true false null``
  and the traversal's punctuation. Strings, numbers, list literals and variables (script
  bindings, and bytecode's unquoted arguments) become ``?``; the ids and values given to
  ``V E hasId inject within without`` become one ``?`` however many there are; ``__.``,
  ``P.`` and ``TextP.`` prefixes and enum namespaces are dropped, as bytecode renders them.
- **SPARQL**: variables (``$x`` as ``?x``), keywords (upper case), functions, predicates, the
  classes after ``a`` and graph names. Strings (with language tags), numbers, booleans,
  ``VALUES`` data and ``IN`` lists become ``?``, and so does every IRI in a subject or object
  position (a resource, like a row id). ``PREFIX`` and ``BASE`` lines are dropped and
  prefixed names expanded (``foaf:name`` is ``<http://xmlns.com/foaf/0.1/name>``, also when
  only the common ``rdf rdfs xsd owl`` prefixes are used undeclared); ``rdf:type`` is ``a``.
- **openCypher**: labels, relationship types, property keys, variables, keywords (upper case)
  and functions (lower case). Strings, numbers, booleans, list literals and ``$params``
  become ``?``.

``LIMIT``/``range``/``limit()``/``times()`` counts are numbers, so they are abstracted too.

The id is 8 hex digits of a BLAKE2b digest of the language and the normalised token
sequence: the same on every run and machine. The shape is that sequence written out to read.
Queries above ``MAX_SHAPE_CHARS`` are shaped from their first ``MAX_SHAPE_CHARS`` characters;
the rest enters the id as written (so such queries share an id only when equal past the cut).

A fingerprint also says what the query does: ``read``, ``write`` or ``delete`` (the strongest
of its steps or clauses; see :mod:`tui.insight.operations`), or ``unknown`` without a language.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Final

from pygments.token import (
    Comment,
    Keyword,
    Name,
    Number,
    Operator,
    String,
    _TokenType,
    is_token_subtype,
)

from tui.insight.fastlex import FastLexer
from tui.insight.lexers import OpenCypherLexer, SparqlLexer
from tui.model.fields import split_top_level
from tui.model.gremlin_lexer import (
    ENUM_NAMESPACES,
    ENUM_SHORT_FORMS,
    PREDICATE_NAMESPACES,
    GremlinLexer,
)
from tui.model.payload import GREMLIN, OPENCYPHER, SPARQL, bytecode_to_traversal
from tui.model.record import DELETE, READ, UNKNOWN, WRITE, Record

__all__ = [
    "CACHE_SIZE",
    "MAX_SHAPE_CHARS",
    "Fingerprint",
    "cache_clear",
    "cache_info",
    "fingerprint",
    "record_fingerprint",
    "shape_of",
]

#: Queries longer than this are shaped from their start (a token costs a few µs: the first
#: 32 K characters of a dense traversal take about 0.1 s).
MAX_SHAPE_CHARS: Final = 32_768
#: Distinct (query, language) pairs the cache keeps; texts above ``_CACHED_CHARS`` get their
#: own small cache so that a few huge queries cannot hold much memory.
CACHE_SIZE: Final = 1 << 16
_CACHED_CHARS: Final = 16_384
_BIG_CACHE_SIZE: Final = 64

PLACEHOLDER: Final = "?"

# Kinds of normalised tokens: word (name, variable, IRI, enum), keyword, function or step,
# placeholder, punctuation or operator.
_W, _K, _F, _Q, _P = "w", "k", "f", "?", "p"
_WORDISH = frozenset((_W, _K, _F, _Q))

_Token = tuple[str, str]  # (kind, text)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """A query's shape, the shape's stable id, and what the query does.

    ``id`` is 8 lowercase hex digits; ``shape`` the normalised query, e.g.
    ``g.V().has(?,?,?).out(?).limit(?)``; ``lang`` the language it was read as (None: the
    text as sent, only whitespace collapsed); ``operation`` is ``read``, ``write``,
    ``delete`` or ``unknown``.
    """

    id: str
    shape: str
    lang: str | None
    operation: str


def fingerprint(query_text: str, lang: str | None, *, bytecode: bool = False) -> Fingerprint:
    """The fingerprint of a decoded query in ``lang`` (``gremlin``, ``sparql``,
    ``opencypher`` or None), from a bounded cache. ``bytecode``: the text is TinkerPop
    bytecode rendered as a traversal (``Query.form == "bytecode"``), whose arguments are
    unquoted; they are read as literals unless they are traversals, predicates or enums."""
    if len(query_text) > _CACHED_CHARS:
        return _big_cached(query_text, lang, bytecode)
    return _cached(query_text, lang, bytecode)


def record_fingerprint(record: Record) -> Fingerprint | None:
    """The fingerprint of a parsed record's query; None when it carries none."""
    query = record.query
    if query is None:
        return None
    return fingerprint(query.text, record.lang, bytecode=query.form == "bytecode")


def shape_of(query_text: str, lang: str | None, *, bytecode: bool = False) -> Fingerprint:
    """:func:`fingerprint` without the cache (what a cache miss costs)."""
    return _shape(query_text, lang, bytecode)


def _shape(query_text: str, lang: str | None, bytecode: bool) -> Fingerprint:
    head, tail = query_text[:MAX_SHAPE_CHARS], query_text[MAX_SHAPE_CHARS:]
    if lang == GREMLIN:
        if bytecode:
            head = _quote_bytecode(head)
        tokens, operation = _gremlin(head)
    elif lang == SPARQL:
        tokens, operation = _sparql(head)
    elif lang == OPENCYPHER:
        tokens, operation = _cypher(head)
    else:
        tokens, operation = [(_W, word) for word in head.split()], UNKNOWN
    shape = _render(tokens, lang)
    key = "\x1f".join([lang or "", *[kind + text for kind, text in tokens]])
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=4)
    if tail:
        digest.update(("\x1e" + tail).encode("utf-8", "surrogatepass"))
        shape += " …"
    return Fingerprint(digest.hexdigest(), shape, lang, operation)


_cached = lru_cache(maxsize=CACHE_SIZE)(_shape)
_big_cached = lru_cache(maxsize=_BIG_CACHE_SIZE)(_shape)


def cache_info() -> tuple[int, int, int]:
    """(hits, misses, entries) of the fingerprint cache, both sizes together."""
    small, big = _cached.cache_info(), _big_cached.cache_info()
    return small.hits + big.hits, small.misses + big.misses, small.currsize + big.currsize


def cache_clear() -> None:
    """Empty the fingerprint cache (benchmarks, tests)."""
    _cached.cache_clear()
    _big_cached.cache_clear()


# --------------------------------------------------------------------------------------
# Shared helpers.


# Families of token types.
_STRING, _NUMBER, _COMMENT, _KEYWORD, _NAME, _OTHER = range(6)
_FAMILIES = ((String, _STRING), (Number, _NUMBER), (Comment, _COMMENT), (Keyword, _KEYWORD))


@cache
def _family(token: _TokenType) -> int:
    """Which family a token type belongs to (memoised: there are few types)."""
    for parent, family in _FAMILIES:
        if is_token_subtype(token, parent):
            return family
    return _NAME if is_token_subtype(token, Name) else _OTHER


def _significant(lexer: FastLexer, text: str) -> list[tuple[_TokenType, int, str]]:
    """The lexer's tokens, with their families, without whitespace and comments."""
    return [
        (token, family, value)
        for _, token, value in lexer.tokens(text)
        if (family := _family(token)) != _COMMENT and value.strip()
    ]


def _collapse(tokens: list[_Token], runs_after: frozenset[str] = frozenset()) -> list[_Token]:
    """Merge adjacent placeholders, turn a bracketed list of placeholders (``[?,?]``) into
    one placeholder, and a parenthesised one after a name in ``runs_after`` into ``(?)``."""
    out: list[_Token] = []
    for token in tokens:
        if token[0] == _Q and out and out[-1][0] == _Q:
            continue
        out.append(token)
        closer = token[1]
        if token[0] != _P or closer not in ("]", ")"):
            continue
        opener = "[" if closer == "]" else "("
        start = len(out) - 2
        while start >= 0 and (out[start][0] == _Q or out[start] == (_P, ",")):
            start -= 1
        inner = len(out) - 2 - start
        if start < 0 or out[start] != (_P, opener) or inner == 0 or out[start + 1][0] != _Q:
            continue
        if opener == "[":
            del out[start:]
            if out and out[-1][0] == _Q:
                continue
            out.append((_Q, PLACEHOLDER))
        elif inner > 1 and start > 0 and out[start - 1][1] in runs_after:
            del out[start + 2 : -1]
    return out


def _render(tokens: list[_Token], lang: str | None) -> str:
    """The readable shape: Gremlin written tight, SPARQL and Cypher spaced like prose."""
    parts: list[str] = []
    previous: _Token | None = None
    tight_after, tight_before = _TIGHT.get(lang or "", (frozenset(), frozenset()))
    for token in tokens:
        kind, text = token
        if previous is not None:
            if lang == GREMLIN:
                space = previous[0] in _WORDISH and kind in _WORDISH
            else:
                space = not (
                    (previous[0] == _P and previous[1] in tight_after)
                    or (kind == _P and text in tight_before)
                    or (text == "(" and (previous[0] == _F or previous[1] in _CALL_LIKE))
                )
            if space:
                parts.append(" ")
        parts.append(text)
        previous = token
    return "".join(parts)


_CALL_LIKE = frozenset({"ASC", "DESC"})  # SPARQL keywords written like calls
_TIGHT: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    SPARQL: (frozenset({"(", "^^", "^"}), frozenset({")", ",", "^^"})),
    OPENCYPHER: (
        frozenset({"(", "[", ".", ":", "-[", "<-[", "]->", "]-", "-->", "<--", "*"}),
        frozenset({")", "]", ",", ".", ":", "-[", "<-[", "]->", "]-", "-->", "<--", "*"}),
    ),
}


# --------------------------------------------------------------------------------------
# Gremlin.

_GREMLIN = FastLexer(GremlinLexer())
_GREMLIN_WRITES = frozenset(
    {"addV", "addE", "property", "mergeV", "mergeE", "addVertex", "addEdge"}
)
_GREMLIN_DELETES = frozenset({"drop"})
#: Steps and predicates whose literal arguments are a set of ids or values.
_GREMLIN_VARARGS = frozenset({"V", "E", "hasId", "inject", "within", "without"})
_NAMESPACES = frozenset(PREDICATE_NAMESPACES) | frozenset(ENUM_NAMESPACES)


def _gremlin(text: str) -> tuple[list[_Token], str]:
    """Gremlin tokens normalised, and the traversal's operation class."""
    lexed = _significant(_GREMLIN, text)
    out: list[_Token] = []
    operation = READ
    skip_dot = False
    count = len(lexed)
    for index, (token, family, value) in enumerate(lexed):
        if skip_dot:
            skip_dot = False
            if value == ".":
                continue
        after = lexed[index + 1][2] if index + 1 < count else ""
        if family == _STRING or family == _NUMBER:
            out.append((_Q, PLACEHOLDER))
        elif token is Name.Function:
            out.append((_F, value))
            if value in _GREMLIN_DELETES:
                operation = DELETE
            elif value in _GREMLIN_WRITES and operation != DELETE:
                operation = WRITE
        elif token is Name:
            # A variable: a script binding, or one of bytecode's unquoted literals.
            out.append((_W, value) if after == "." else (_Q, PLACEHOLDER))
        elif (token is Name.Builtin and value == "__") or (
            value in _NAMESPACES
            and after == "."
            and (token is Name.Constant or token is Name.Builtin.Pseudo)
        ):
            skip_dot = True  # ``__.out()`` is ``out()``, ``P.gt`` ``gt``, ``T.id`` ``id``
        elif token is Name.Builtin.Pseudo:
            out.append((_F, value))
        elif family == _NAME or family == _KEYWORD:
            out.append((_W, value))
        else:
            out.append((_P, value))
    return _collapse(out, _GREMLIN_VARARGS), operation


_ENUM_WORDS = frozenset(ENUM_SHORT_FORMS) | {"true", "false", "null"}


def _quote_bytecode(text: str) -> str:
    """Bytecode rendered as ``g.V().has(person, name, Ann Smith)``, with every literal
    argument quoted (``has('?','?','?')``) and nested bytecode (``[[], [out(x)]]``) written
    as an anonymous traversal, so that it reads like the same traversal sent as a script."""
    if not text.startswith("g."):
        return text
    return "g." + _bytecode_chain(text[2:])


def _bytecode_chain(chain: str) -> str:
    """``V().has(a, b)`` with the arguments of each call quoted where literal."""
    steps: list[str] = []
    depth = 0
    begin = 0
    for index, char in enumerate(chain):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "." and depth == 0:
            steps.append(chain[begin:index])
            begin = index + 1
    steps.append(chain[begin:])
    return ".".join(_bytecode_call(step) for step in steps)


def _bytecode_call(step: str) -> str:
    name, paren, rest = step.partition("(")
    if not paren or not rest.endswith(")") or not name.strip().isidentifier():
        return step
    arguments = split_top_level(rest[:-1], "([", ")]")
    return f"{name}({', '.join(_bytecode_argument(a) for a in arguments)})"


def _bytecode_argument(argument: str) -> str:
    if argument.startswith("[[") and argument.endswith("]]"):
        traversal = bytecode_to_traversal(argument)
        if traversal.startswith("g."):
            return "__." + _bytecode_chain(traversal[2:])
    name, paren, rest = argument.partition("(")
    if paren and rest.endswith(")") and name.isidentifier():
        return _bytecode_call(argument)
    namespace, dot, member = argument.partition(".")
    if argument in _ENUM_WORDS or (dot and namespace in _NAMESPACES and member.isidentifier()):
        return argument
    return "'?'"


# --------------------------------------------------------------------------------------
# SPARQL.

_SPARQL = FastLexer(SparqlLexer())
_SPARQL_DELETES = frozenset({"DELETE", "CLEAR", "DROP", "MOVE", "COPY"})
_SPARQL_WRITES = frozenset({"INSERT", "LOAD", "CREATE", "ADD"})
#: Keywords after which an IRI names a graph (or a service) and is kept.
_GRAPH_KEYWORDS = frozenset(
    {"GRAPH", "FROM", "FROM NAMED", "NAMED", "WITH", "USING", "USING NAMED", "INTO", "TO"}
    | {"SERVICE", "ADD", "MOVE", "COPY"}
)
_RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
#: Prefixes Neptune (like most stores) knows without a declaration.
_COMMON_PREFIXES: dict[str, str] = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "owl": "http://www.w3.org/2002/07/owl#",
}

# Lexical items of SPARQL: keyword, function, variable, IRI, prefixed name, blank node,
# literal, datatype marker, the keyword ``a``, punctuation.
_KW, _FN, _VAR, _IRI, _PNAME, _BNODE, _LIT, _DT, _A, _PUNCT = range(10)
_Item = tuple[int, str]

# Triple positions inside a group pattern, and the kinds of bracket.
_SUBJECT, _PREDICATE, _OBJECT = range(3)
_GROUP, _BLANK, _PAREN = range(3)


def _sparql_items(text: str) -> Iterator[_Item]:
    """SPARQL tokens as terms: literals whole (language tags dropped), prefixed names whole."""
    lexed = _significant(_SPARQL, text)
    count = len(lexed)
    index = 0
    while index < count:
        token, family, value = lexed[index]
        index += 1
        if family == _STRING:
            # The body and the closing quote: the first plain String token equal to the
            # opening one (an escaped quote is a String.Escape token).
            while index < count and lexed[index][1] == _STRING:
                index += 1
                if lexed[index - 1][0] is String and lexed[index - 1][2] == value:
                    break
            yield _LIT, PLACEHOLDER
            if index + 1 < count and lexed[index][0] is Operator and lexed[index][2] == "@":
                index += 2  # a language tag
        elif family == _NUMBER or token is Keyword.Constant:
            yield _LIT, PLACEHOLDER
        elif token is Keyword:
            word = " ".join(value.split()).upper()
            yield (_A, "a") if value == "a" else (_KW, word)
        elif token is Name.Function:
            yield _FN, " ".join(value.split()).upper()
        elif token is Name.Variable:
            yield _VAR, "?" + value[1:]
        elif token is Name.Label:
            yield (_BNODE, value) if value.startswith("_:") else (_IRI, value)
        elif token is Name.Namespace or (token is Name.Tag) or value == ":":
            # ``prefix`` ``:`` ``local``, each part optional but the colon.
            prefix = value if token is Name.Namespace else ""
            if token is Name.Namespace:
                index += 1  # the colon
            local = ""
            if token is not Name.Tag and index < count and lexed[index][0] is Name.Tag:
                local = lexed[index][2]
                index += 1
            elif token is Name.Tag:
                local = value
            yield _PNAME, f"{prefix}:{local}"
        elif value == "^^":
            yield _DT, value
        else:
            yield _PUNCT, value


def _sparql(text: str) -> tuple[list[_Token], str]:
    """SPARQL tokens normalised, and the request's operation class."""
    terms = _expand(list(_sparql_items(text)))
    out: list[_Token] = []
    operation = READ
    frames: list[_Frame] = []
    previous: _Item = (_PUNCT, "")
    datatype = False  # the term after ``^^``
    values = 0  # 1: after VALUES; 2 and more: inside its data block, nesting depth + 1
    for kind, value in terms:
        if values >= 2:  # a VALUES data block is one placeholder
            if (kind, value) == (_PUNCT, "{"):
                values += 1
            elif (kind, value) == (_PUNCT, "}"):
                values -= 1
                if values == 1:
                    values = 0
                    out += [(_Q, PLACEHOLDER), (_P, "}")]
            continue
        pattern = frames[-1] if frames and frames[-1].context != _PAREN else None
        if kind == _KW:
            for word in value.split():
                if word in _SPARQL_DELETES:
                    operation = DELETE
                elif word in _SPARQL_WRITES and operation != DELETE:
                    operation = WRITE
            if value == "VALUES":
                values = 1
            if pattern is not None:
                pattern.position = _SUBJECT  # OPTIONAL, FILTER, GRAPH ... start anew
            out.append((_K, value))
        elif kind == _FN:
            out.append((_F, value))
        elif kind == _DT:
            datatype = True
            out.append((_P, value))
        elif kind == _PUNCT:
            _punctuation(value, frames, pattern, values)
            if value == "{" and values == 1:
                values = 2
            out.append((_P, value))
        else:  # a term
            graph_name = previous[0] == _KW and previous[1] in _GRAPH_KEYWORDS
            if kind == _LIT:
                out.append((_Q, PLACEHOLDER))
            elif kind in (_VAR, _BNODE, _A) or datatype or graph_name:
                out.append((_W, value))
            elif pattern is not None and pattern.keeps(kind):
                out.append((_W, value))
            else:
                out.append((_Q, PLACEHOLDER))
            if pattern is not None and not datatype and not graph_name:
                pattern.advance(kind)
            datatype = False
        previous = (kind, value)
    return _collapse(_trim_separators(out), frozenset({"IN", "NOT IN"})), operation


def _trim_separators(tokens: list[_Token]) -> list[_Token]:
    """Without the optional ``.`` before ``}`` and ``;`` before ``.`` or ``}``."""
    out: list[_Token] = []
    for token in tokens:
        if token == (_P, "}") or token == (_P, "."):
            while out and (out[-1] == (_P, ";") or (token[1] == "}" and out[-1] == (_P, "."))):
                out.pop()
        out.append(token)
    return out


def _expand(items: list[_Item]) -> list[_Item]:
    """Items without the prologue, prefixed names expanded with its ``PREFIX`` lines (or
    the common prefixes), ``rdf:type`` written ``a``."""
    prefixes = dict(_COMMON_PREFIXES)
    terms: list[_Item] = []
    index = 0
    while index < len(items):
        kind, value = items[index]
        following = items[index + 1 : index + 3]
        if (kind, value) == (_KW, "PREFIX") and [k for k, _ in following] == [_PNAME, _IRI]:
            prefixes[following[0][1].partition(":")[0]] = following[1][1][1:-1]
            index += 3
            continue
        if (kind, value) == (_KW, "BASE") and following[:1] and following[0][0] == _IRI:
            index += 2
            continue
        terms.append((kind, value))
        index += 1
    expanded: list[_Item] = []
    for kind, value in terms:
        if kind == _PNAME:
            prefix, _, local = value.partition(":")
            if prefix in prefixes:
                kind, value = _IRI, f"<{prefixes[prefix]}{local}>"
        if kind == _IRI and value == _RDF_TYPE:
            kind, value = _A, "a"
        expanded.append((kind, value))
    return expanded


class _Frame:
    """An open bracket: a group pattern ``{}``, a blank node ``[]`` or parentheses, with the
    triple position the next term fills (patterns only)."""

    __slots__ = ("context", "position", "type_object")

    def __init__(self, context: int, position: int) -> None:
        self.context = context
        self.position = position
        self.type_object = False  # the predicate was ``a``: objects are classes

    def keeps(self, kind: int) -> bool:
        """Whether an IRI here is structure (a predicate, a class) rather than a value."""
        return self.position == _PREDICATE or (self.position == _OBJECT and self.type_object)

    def advance(self, kind: int) -> None:
        """A term filled the current position: move to the next."""
        if self.position == _SUBJECT:
            self.position = _PREDICATE
        elif self.position == _PREDICATE:
            self.type_object = kind == _A
            self.position = _OBJECT


def _punctuation(value: str, frames: list[_Frame], pattern: _Frame | None, values: int) -> None:
    """Open and close frames, and move through triples at ``.`` ``;`` ``,`` and paths."""
    if value == "{":
        if values != 1:
            frames.append(_Frame(_GROUP, _SUBJECT))
    elif value == "[" and pattern is not None:
        frames.append(_Frame(_BLANK, _PREDICATE))
    elif value in ("(", "["):
        frames.append(_Frame(_PAREN, _SUBJECT))
    elif value in ("}", "]", ")"):
        if frames:
            frames.pop()
        parent = frames[-1] if frames and frames[-1].context != _PAREN else None
        if parent is not None and value == "]":
            parent.advance(_BNODE)  # a blank node filled the position
        elif parent is not None and value == "}":
            parent.position = _SUBJECT
    elif pattern is not None:
        if value == ".":
            pattern.position = _SUBJECT
        elif value == ";":
            pattern.position = _PREDICATE
        elif value == ",":
            pattern.position = _OBJECT
        elif value in ("/", "|") and pattern.position == _OBJECT:
            pattern.position = _PREDICATE  # a property path goes on


# --------------------------------------------------------------------------------------
# openCypher.

_CYPHER = FastLexer(OpenCypherLexer())
_CYPHER_DELETES = frozenset({"DELETE", "DETACH"})
_CYPHER_WRITES = frozenset({"CREATE", "MERGE", "SET", "REMOVE"})
#: Functions Pygments lexes as keywords.
_CYPHER_FUNCTIONS = frozenset({"collect", "exists", "any", "all", "none", "single"})
_PARAMETER = Name.Variable.Magic


def _cypher(text: str) -> tuple[list[_Token], str]:
    """openCypher tokens normalised, and the query's operation class."""
    lexed = _significant(_CYPHER, text)
    out: list[_Token] = []
    operation = READ
    count = len(lexed)
    before = ""
    for index, (token, family, value) in enumerate(lexed):
        after = lexed[index + 1][2] if index + 1 < count else ""
        # After ``.`` or ``:``, or before ``:``: a property key, label, type or map key.
        identifier = before in (".", ":") or after == ":"
        if family == _STRING or family == _NUMBER or token is _PARAMETER:
            out.append((_Q, PLACEHOLDER))
        elif (
            family == _KEYWORD
            and not identifier
            and not (after == "(" and value.lower() in _CYPHER_FUNCTIONS)
        ):
            word = value.upper()
            if word in ("TRUE", "FALSE"):
                out.append((_Q, PLACEHOLDER))
            else:
                out.append((_K, word))
                if word in _CYPHER_DELETES:
                    operation = DELETE
                elif word in _CYPHER_WRITES and operation != DELETE:
                    operation = WRITE
        elif family == _NAME or family == _KEYWORD:
            if token is Name.Variable and value.startswith("`") and value[1:-1].isidentifier():
                value = value[1:-1]  # ```name``` is ``name``
            if after == "(" and not identifier:
                out.append((_F, value.lower()))
            else:
                out.append((_W, value))
        else:
            out.append((_P, value))
        before = value
    return _collapse(out), operation
