"""Pygments' SPARQL and Cypher lexers, corrected where fingerprints depend on them.

- :class:`SparqlLexer`: a triple-quoted string (``\"\"\"...\"\"\"``, ``'''...'''``) ends at its
  closing quotes (Pygments' own runs to the end of the text).
- :class:`OpenCypherLexer`: a ``$name`` parameter is one ``Name.Variable.Magic`` token, a
  number with its sign one ``Number`` token (``-1``, ``2.5``, ``1e3``, ``0xff``), ``/* */``
  a comment; the operators Pygments leaves as bare names (``AND OR XOR NOT IS DETACH EXISTS``
  ...) are keywords; a relationship pattern ``-[...]->`` is lexed in place (the same tokens,
  without a nested lexer per relationship).
"""

from __future__ import annotations

from pygments.lexer import inherit, words
from pygments.lexers.graph import CypherLexer
from pygments.lexers.rdf import SparqlLexer as PygmentsSparqlLexer
from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String

__all__ = ["CYPHER_KEYWORDS", "OpenCypherLexer", "SparqlLexer"]

#: openCypher words Pygments lexes as plain names; keywords all the same.
CYPHER_KEYWORDS = (
    "and", "or", "xor", "not", "is", "detach", "exists", "else", "contains", "starts", "ends",
    "on", "optional", "order", "by", "union", "all", "case", "when", "then", "end",
)  # fmt: skip


#: Where a number may start: not inside a name or after a ``.``; a ``-`` is its sign unless it
#: follows an operand (``a.x -1`` is ``a.x`` and ``-1``, ``a.x - 1`` a subtraction).
_SIGN = r"(?:(?<![\w.)\]}'\"`])-|(?<![\w.]))"


class SparqlLexer(PygmentsSparqlLexer):
    """SPARQL 1.1, with triple-quoted strings that end where they end."""

    tokens = {
        "triple-double-quoted-string": [
            (r'"""', String, "end-of-string"),
            (r'(?:[^"\\]|"(?!""))+', String),
            (r"\\", String, "string-escape"),
        ],
        "triple-single-quoted-string": [
            (r"'''", String, "end-of-string"),
            (r"(?:[^'\\]|'(?!''))+", String),
            (r"\\", String.Escape, "string-escape"),
        ],
    }


class OpenCypherLexer(CypherLexer):
    """openCypher as Neptune takes it: parameters, decimals, block comments, all operators."""

    name = "openCypher"
    aliases = ["opencypher"]
    filenames = []

    tokens = {
        "root": [
            (r"/\*[\s\S]*?(?:\*/|\Z)", Comment.Multiline),
            (r"\$(?:`(?:``|[^`])*`|\w+)", Name.Variable.Magic),
            (rf"{_SIGN}(?:\d+\.\d+(?:e[+-]?\d+)?|\d+e[+-]?\d+)\b", Number.Float),
            (rf"{_SIGN}(?:0x[0-9a-f]+|\d+)\b", Number.Integer),
            (words(CYPHER_KEYWORDS, prefix=r"(?<![\w$`])", suffix=r"\b"), Keyword),
            inherit,
        ],
        "strings": [  # Pygments' rule without its backreference, so FastLexer can join it
            (r"'(?:\\[tbnrf'\"\\]|[^\\])*?'", String),
            (r'"(?:\\[tbnrf\'"\\]|[^\\])*?"', String),
            (r"`(?:``|[^`])+`", Name.Variable),
        ],
        "relations": [
            (r"<-\[|-\[", Operator),
            (r"\]->|\]-", Operator),
            (r"-->|<--|\[|\]", Operator),
            (r"<>|<=|>=|=>|<|>|=|\(|\)|\||:|,|;", Punctuation),
            (r"[.*{}]", Punctuation),
        ],
    }
