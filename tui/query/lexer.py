"""Tokens of the filter language, produced on demand so errors surface left to right.

The lexer only decides shapes (word, quoted phrase, regex, ``name:value``, operator); whether a
field name is known or a value is valid is the parser's business, so the first problem in the
text is the one reported.

Word rules, in short: a WORD is a run of characters other than whitespace and ``"`` that
does not start with ``(`` or ``)``; inside a word, balanced parentheses belong to it (so
``query:g.V().count()`` is one value) and a ``)`` with no ``(`` before it in the word ends it
(so ``(client:x)`` groups). A token starting with ``/`` is a REGEX when a later unescaped
``/`` (optionally followed by ``i``) ends where a word would end, with at least one character
in between and no unescaped whitespace; otherwise it is a plain WORD. So ``/status`` and
``/gremlin/profile`` are words but ``/gremlin/`` is the regex ``gremlin`` (quote it,
``"/gremlin/"``, to search for the text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from tui.query.errors import FilterError

TokenKind = Literal["(", ")", "OR", "AND", "NOT", "-", "WORD", "QUOTED", "REGEX", "FIELD", "EOF"]

#: Words that are operators when they stand alone (upper case only).
KEYWORDS: dict[str, TokenKind] = {"OR": "OR", "|": "OR", "AND": "AND", "NOT": "NOT"}

#: ``name:`` or ``name=`` at the start of a word: a field term (known or not).
_FIELD_PREFIX = re.compile(r"([A-Za-z_][A-Za-z_-]*)([:=])")


@dataclass(frozen=True, slots=True)
class Token:
    """One token; ``start``/``end`` are a half-open range in the expression text.

    ``value`` is the unescaped text of a WORD or QUOTED, or the pattern source of a REGEX (with
    ``\\/`` turned into ``/``); ``ignore_case`` is the REGEX ``i`` flag. A FIELD carries the
    field ``name`` as written, its ``op`` (``:`` or ``=``) and its ``operand`` token, which is
    None when nothing follows the operator (then ``end`` is just after the operator).
    """

    kind: TokenKind
    start: int
    end: int
    text: str
    value: str = ""
    ignore_case: bool = False
    name: str = ""
    op: str = ""
    operand: Token | None = None


def is_word_char(char: str) -> bool:
    """True for characters a WORD may contain."""
    return not (char.isspace() or char in '()"')


class Lexer:
    """Splits a filter expression into tokens, one ``peek``/``advance`` at a time."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._pos = 0
        self._peeked: Token | None = None

    def peek(self) -> Token:
        """The next token, without consuming it."""
        if self._peeked is None:
            self._peeked = self._scan()
        return self._peeked

    def advance(self) -> Token:
        """The next token, consumed."""
        token = self.peek()
        self._peeked = None
        return token

    def _scan(self) -> Token:
        text = self.text
        pos = self._pos
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            self._pos = pos
            return Token("EOF", pos, pos, "")
        char = text[pos]
        if char in "()-":
            # "-" is always negation at a token start; the parser checks it touches a term.
            token = Token("(" if char == "(" else ")" if char == ")" else "-", pos, pos + 1, char)
        elif char == '"':
            token = self._quoted(pos)
        elif char == "/":
            token = self._regex(pos) or self._word(pos)
        else:
            token = self._field(pos) or self._word(pos)
            if token.kind == "WORD" and token.text in KEYWORDS:
                token = Token(KEYWORDS[token.text], token.start, token.end, token.text)
        self._pos = token.end
        return token

    def _word(self, start: int) -> Token:
        text = self.text
        end = start
        depth = 0
        while end < len(text):
            char = text[end]
            if char == "(" and end > start:
                if depth == 0 and text[start:end] in KEYWORDS:
                    break  # "NOT(a)", "a OR(b)": the keyword stays an operator
                depth += 1
            elif char == ")" and depth > 0:
                depth -= 1
            elif not is_word_char(char):
                break
            end += 1
        word = self.text[start:end]
        return Token("WORD", start, end, word, value=word)

    def _quoted(self, start: int) -> Token:
        """``"..."``: ``\\"`` and ``\\\\`` are escapes, any other backslash is kept."""
        text = self.text
        chars: list[str] = []
        pos = start + 1
        while pos < len(text):
            char = text[pos]
            if char == '"':
                return Token("QUOTED", start, pos + 1, text[start : pos + 1], value="".join(chars))
            if char == "\\" and pos + 1 < len(text) and text[pos + 1] in '"\\':
                chars.append(text[pos + 1])
                pos += 2
                continue
            chars.append(char)
            pos += 1
        raise FilterError("unterminated quote", text=text, position=start, expected='closing "')

    def _regex(self, start: int) -> Token | None:
        """``/.../`` or ``/.../i`` starting at ``start``, or None when it is a plain word."""
        text = self.text
        chars: list[str] = []
        pos = start + 1
        while pos < len(text):
            char = text[pos]
            if char == "\\":
                if pos + 1 >= len(text):
                    return None
                escaped = text[pos + 1]
                chars.append("/" if escaped == "/" else char + escaped)
                pos += 2
                continue
            if char.isspace():
                return None
            if char == "/" and chars:
                end = pos + 1
                ignore_case = end < len(text) and text[end] == "i"
                if ignore_case:
                    end += 1
                if end >= len(text) or not is_word_char(text[end]):
                    return Token(
                        "REGEX",
                        start,
                        end,
                        text[start:end],
                        value="".join(chars),
                        ignore_case=ignore_case,
                    )
            chars.append(char)
            pos += 1
        return None

    def _field(self, start: int) -> Token | None:
        """``name:value`` / ``name=value`` starting at ``start``, or None for any other word."""
        match = _FIELD_PREFIX.match(self.text, start)
        if match is None:
            return None
        name, op = match.groups()
        value_start = match.end()
        operand: Token | None = None
        if value_start < len(self.text):
            char = self.text[value_start]
            if char == '"':
                operand = self._quoted(value_start)
            elif char == "/":
                operand = self._regex(value_start) or self._word(value_start)
            elif is_word_char(char):
                operand = self._word(value_start)
        end = operand.end if operand is not None else value_start
        return Token("FIELD", start, end, self.text[start:end], name=name, op=op, operand=operand)
