"""Run a Pygments ``RegexLexer``'s own rules faster: one regular expression per state.

Pygments tries a state's rules one by one from Python, about twenty ``match`` calls per
token. :class:`FastLexer` joins each state's rules into one alternation, tried in the same
order inside the regex engine, so a token costs one call; callbacks (``bygroups``, ``using``)
get their rule's own match, and states change as in ``RegexLexer.get_tokens_unprocessed``.
The tokens are the same (the tests compare both on every query shape); a state whose rules
cannot be joined (one with a backreference, whose group number would shift, or one that
does not compile joined) runs rule by rule as Pygments does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from pygments.lexer import RegexLexer
from pygments.token import Error, Whitespace, _TokenType

__all__ = ["FastLexer"]

_Rule = tuple[Callable[[str, int], re.Match[str] | None], Any, Any]  # pygments' processed rule
_Token = tuple[int, _TokenType, str]

#: A leading global inline flag group, ``(?i)``, which may not stand inside an alternation.
_GLOBAL_FLAGS = re.compile(r"\(\?([imsx]+)\)")
_BACKREFERENCE = re.compile(r"\\[1-9]|\(\?P=")
_FLAGS = ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"), (re.VERBOSE, "x"))


class FastLexer:
    """The tokens of ``lexer.get_tokens_unprocessed(text)``, one regex call per token."""

    def __init__(self, lexer: RegexLexer) -> None:
        self._lexer = lexer
        self._tokendefs: dict[Any, list[_Rule]] = type(lexer)._tokens  # type: ignore[attr-defined]
        self._joined: dict[Any, tuple[re.Pattern[str], list[_Rule]] | None] = {}

    def _state(self, name: Any) -> tuple[re.Pattern[str], list[_Rule]] | None:
        """The joined regex of a state, built once; None when it cannot be joined."""
        if name in self._joined:
            return self._joined[name]
        rules = self._tokendefs[name]
        patterns: list[str] = []
        for rexmatch, _, _ in rules:
            compiled: re.Pattern[str] = rexmatch.__self__  # type: ignore[attr-defined]
            pattern = compiled.pattern
            if _BACKREFERENCE.search(pattern):
                break
            leading = _GLOBAL_FLAGS.match(pattern)
            if leading:
                pattern = pattern[leading.end() :]
            # Each rule keeps its own flags (its lexer's, and any leading ``(?i)``).
            letters = "".join(letter for flag, letter in _FLAGS if compiled.flags & flag)
            scoped = f"(?{letters}:{_uncaptured(pattern)})"
            # The marker group goes last: a branch that starts with a literal or a character
            # set is then skipped at once when the text does not start with it.
            patterns.append(f"{scoped}()")
        joined = None
        if len(patterns) == len(rules):
            try:
                regex = re.compile("|".join(patterns))
            except re.error:  # a construct that does not survive joining: rule by rule
                regex = None
            if regex is not None and regex.groups == len(rules):
                joined = (regex, rules)  # only the markers capture: group k is rule k - 1
        self._joined[name] = joined
        return joined

    def joined_states(self) -> dict[Any, bool]:
        """Whether each state met so far runs as one regex (for tests and benchmarks)."""
        return {name: joined is not None for name, joined in self._joined.items()}

    def tokens(self, text: str) -> Iterator[_Token]:
        """Split ``text`` into (position, token type, value), as the lexer does."""
        lexer = self._lexer
        tokendefs = self._tokendefs
        stack: list[Any] = ["root"]
        state = self._state("root")
        rules = tokendefs["root"]
        pos = 0
        end = len(text)
        while True:
            rule: _Rule | None = None
            match: re.Match[str] | None = None
            if state is not None:
                match = state[0].match(text, pos)
                if match is not None:
                    rule = state[1][match.lastindex - 1]  # type: ignore[operator]
            else:
                for candidate in rules:
                    match = candidate[0](text, pos)
                    if match is not None:
                        rule = candidate
                        break
            if rule is None or match is None:
                if pos >= end:
                    return
                if text[pos] == "\n":  # at the end of a line, back to the root state
                    stack = ["root"]
                    state, rules = self._state("root"), tokendefs["root"]
                    yield pos, Whitespace, "\n"
                else:
                    yield pos, Error, text[pos]
                pos += 1
                continue
            rexmatch, action, new_state = rule
            if action is not None:
                if type(action) is _TokenType:
                    yield pos, action, match.group()
                else:
                    own = match if state is None else rexmatch(text, pos)
                    yield from action(lexer, own)
            pos = match.end()
            if new_state is not None:
                _transition(stack, new_state)
                state, rules = self._state(stack[-1]), tokendefs[stack[-1]]


def _transition(stack: list[Any], new_state: Any) -> None:
    """Change the state stack as ``RegexLexer.get_tokens_unprocessed`` does."""
    if isinstance(new_state, tuple):
        for name in new_state:
            if name == "#pop":
                if len(stack) > 1:
                    stack.pop()
            elif name == "#push":
                stack.append(stack[-1])
            else:
                stack.append(name)
    elif isinstance(new_state, int):
        if abs(new_state) >= len(stack):
            del stack[1:]
        else:
            del stack[new_state:]
    elif new_state == "#push":
        stack.append(stack[-1])


def _uncaptured(pattern: str) -> str:
    """``pattern`` with its capturing groups made non-capturing: the same matches, and a
    branch that starts with a literal or a set can then be skipped at once (a rule with a
    callback gets its groups from its own regex)."""
    out: list[str] = []
    index = 0
    in_set = False
    length = len(pattern)
    while index < length:
        char = pattern[index]
        if char == "\\":
            out.append(pattern[index : index + 2])
            index += 2
            continue
        if in_set:
            in_set = char != "]"
        elif char == "[":
            in_set = True
            if pattern.startswith("^]", index + 1) or pattern.startswith("]", index + 1):
                caret = pattern[index + 1] == "^"
                out.append("[^]" if caret else "[]")
                index += 3 if caret else 2
                continue
        elif char == "(" and not pattern.startswith("?", index + 1):
            out.append("(?:")
            index += 1
            continue
        elif char == "(" and pattern.startswith("?P<", index + 1):
            out.append("(?:")
            index = pattern.index(">", index) + 1
            continue
        out.append(char)
        index += 1
    return "".join(out)
