"""The one regex engine of filters and searches: RE2, which runs in time linear in the text.

Python's ``re`` backtracks: ``/(a+)+b/`` against a long run of ``a`` takes minutes and holds
the GIL. Every regex a user types goes through ``compile_regex`` instead, which compiles it
with RE2 (``google-re2``; it also lets other threads run while it searches). The constructs
RE2 lacks, because only backtracking can run them, are refused with a short message and the
offset of the construct (``RegexError``).

Semantics, the same for the per-record predicate, the block search and highlighting, since
all three use the ``Pattern`` made here (RE2 syntax, leftmost-first like Perl):

- text is matched as UTF-8; ``.`` is one character (any but ``\\n``; ``(?s)``: any);
- ``\\d``, ``\\w``, ``\\s``, ``\\b`` and ``[[:alpha:]]`` are ASCII only; ``\\pL``, ``\\p{Greek}``
  are Unicode;
- ``/.../i`` and ``(?i)`` fold case the Unicode way (``é`` matches ``É``; ``ß`` not ``SS``);
- ``^``/``$`` match at the start/end of the whole text (of each line with ``(?m)``), and
  ``$`` never just before a final newline; ``\\A`` and ``\\z`` always mean the whole text;
- flags ``i``, ``m``, ``s``, ``U`` (swap greedy and lazy) exist; ``x``, ``a``, ``u``, ``L`` do not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import re2

__all__ = [
    "BlockRegex",
    "Matcher",
    "Pattern",
    "Spans",
    "RegexError",
    "byte_matcher",
    "compile_regex",
    "escape",
    "escape_bytes",
]

#: Memory RE2 may use for one compiled pattern (program and lazily built DFA); beyond it a
#: pattern is refused as too large, and a search falls back to RE2's slower linear NFA.
MAX_MEM = 16 << 20

#: RE2's largest ``{n,m}`` (a bigger count that overflows would silently be literal text).
MAX_REPEAT = 1000

_LINEAR = "regexes run in linear time"


class RegexError(ValueError):
    """A regex RE2 cannot run; ``offset`` is where in the pattern, when known."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


def _options(ignore_case: bool, *, latin1: bool = False) -> re2.Options:
    options = re2.Options()
    options.max_mem = MAX_MEM
    options.case_sensitive = not ignore_case
    options.never_capture = True  # only whole-match spans are ever asked for: faster
    options.log_errors = False  # RE2 would print to stderr, under the TUI
    if latin1:
        options.encoding = re2.Options.Encoding.LATIN1
    return options


def _compile(source: str, ignore_case: bool) -> Any:
    """An RE2 regexp, or RegexError with RE2's reason (and where, when it says)."""
    try:
        return re2.compile(source, _options(ignore_case))
    except re2.error as exc:
        raise _re2_error(source, exc) from None
    except UnicodeEncodeError:
        raise RegexError("invalid regex: it holds a lone surrogate") from None


def _re2_error(source: str, exc: Exception) -> RegexError:
    raw = exc.args[0] if exc.args else ""
    reason = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    if reason.startswith("pattern too large"):
        return RegexError(f"regex too large: RE2 would need more than {MAX_MEM >> 20} MiB")
    # "missing ): (a", "invalid escape sequence: \\e": what is wrong, then where.
    what, _, argument = reason.partition(": ")
    if not argument or argument == source:
        return RegexError(f"invalid regex: {what}")
    offset = source.find(argument)
    return RegexError(f"invalid regex: {what} ({argument})", offset if offset >= 0 else None)


class Pattern:
    """A compiled filter or search regex (immutable; equal when source and case flag are).

    ``search`` is the reference meaning of a regex term on one text. ``finditer_spans``
    gives what to highlight. ``block_regex`` is the form that searches the raw bytes of many
    entries at once (``tui.index.textscan``).
    """

    __slots__ = ("_block", "_first", "_ignore_case", "_regex", "_shape", "_source")

    def __init__(self, source: str, ignore_case: bool, regex: Any, shape: _Shape) -> None:
        self._source = source
        self._ignore_case = ignore_case
        self._regex = regex
        self._first = _matcher(regex)
        self._shape = shape
        self._block: BlockRegex | None = None

    @property
    def source(self) -> str:
        """The pattern as written."""
        return self._source

    @property
    def ignore_case(self) -> bool:
        """Compiled case-insensitive (``/.../i``)."""
        return self._ignore_case

    def search(self, text: str) -> bool:
        """Whether the pattern matches anywhere in ``text``."""
        data = _utf8(text)
        return self._first(data, 0, len(data)) is not None

    def finditer_spans(self, text: str) -> Iterator[tuple[int, int]]:
        """``(start, end)`` character offsets of the non-empty, non-overlapping matches in
        ``text``, left to right (what a view highlights)."""
        data = _utf8(text)
        plain = len(data) == len(text)  # ASCII: byte offsets are character offsets
        pos = 0
        chars_before = 0  # characters in data[:pos]
        while pos <= len(data):
            span = self._first(data, pos, len(data))
            if span is None:
                return
            start, end = span
            if end == start:
                # Step over one character, not one byte, so offsets stay on boundaries.
                step = 1 if plain else _char_bytes(data, start)
                if not plain:
                    chars_before += _chars(data, pos, start + step)
                pos = start + step
                continue
            if plain:
                yield start, end
            else:
                first = chars_before + _chars(data, pos, start)
                last = first + _chars(data, start, end)
                yield first, last
                chars_before = last
            pos = end

    def block_regex(self) -> BlockRegex | None:
        """The form for searching many entries' raw bytes at once, or None when a block
        cannot say what the pattern means per entry (a flag group sets or clears ``m``)."""
        shape = self._shape
        if shape.sets_multiline:
            return None
        if self._block is None:
            regex = self._regex
            if shape.line_anchored:
                block_source = "(?m)" + _rewrite(self._source, shape.text_anchors)
                regex = _compile(block_source, self._ignore_case)
            literal = "" if self._ignore_case else _required_literal(self._source)
            if any(char in literal for char in "\r\n\ufffd"):
                literal = ""  # these differ between raw bytes and decoded text
            leads = not self._ignore_case and _leads_with_literal(self._source)
            folded = "" if literal else _folded_literal(self._source, self._ignore_case)
            self._block = BlockRegex(
                regex, shape.line_anchored, literal.encode(), leads, folded.encode()
            )
        return self._block

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Pattern):
            return NotImplemented
        return (self._source, self._ignore_case) == (other._source, other._ignore_case)

    def __hash__(self) -> int:
        return hash((Pattern, self._source, self._ignore_case))

    def __repr__(self) -> str:
        flag = ", ignore_case=True" if self._ignore_case else ""
        return f"Pattern({self._source!r}{flag})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_unpickle, (self._source, self._ignore_case))


def _unpickle(source: str, ignore_case: bool) -> Pattern:
    return compile_regex(source, ignore_case=ignore_case)


class BlockRegex:
    """A pattern for a block of raw entry bytes (UTF-8, entries ending in ``\\n``).

    It is compiled with ``(?m)`` and ``\\A``/``\\z`` read as ``^``/``$``, so on a block an anchor
    holds at the start and end of every line: of every entry, exactly as on the entry's own
    text, but also of the inner lines of a multi-line entry. ``line_anchored`` says the
    pattern has anchors, so a match inside a multi-line entry proves nothing. ``literal``,
    when not empty, is in every match (case and all) and in the raw bytes of any entry
    whose text matches. ``leads``: every match starts with one same character.
    """

    __slots__ = ("folded", "leads", "line_anchored", "literal", "search", "spans")

    def __init__(
        self,
        regex: Any,
        line_anchored: bool,
        literal: bytes = b"",
        leads: bool = False,
        folded: bytes = b"",
    ) -> None:
        self.line_anchored = line_anchored
        self.literal = literal
        #: Of a case-insensitive pattern: ASCII every match holds in some case (lower case
        #: here), its letters ``k`` and ``s`` also as RE2 folds them (U+212A, U+017F).
        self.folded = folded
        #: Every match starts with one same character (as written): RE2 skips ahead to it
        #: at ``memchr`` speed by itself.
        self.leads = leads
        #: ``search(data, pos, endpos)``: span of the leftmost match that starts at or after
        #: ``pos`` and ends by ``endpos`` (the bytes beyond still count for anchors and
        #: ``\\b``), or None.
        self.search: Matcher = _matcher(regex)
        #: The same as ``spans(data, pos, endpos)[0]``, ``(-1, -1)`` for none: no Python
        #: call in between, for loops over many matches.
        self.spans: Spans = _spans(regex)


Matcher = Callable[[bytes, int, int], "tuple[int, int] | None"]
#: ``spans(data, pos, endpos)[0]`` is the span of the first match, ``(-1, -1)`` for none.
Spans = Callable[[bytes, int, int], Sequence[tuple[int, int]]]


def _spans(regex: Any) -> Spans:
    """RE2's own call for the first match span (see ``Spans``)."""
    binding = getattr(regex, "_regexp", None)
    if binding is None or not hasattr(binding, "Match"):
        search = _matcher(regex)

        def public(data: bytes, pos: int, endpos: int) -> Sequence[tuple[int, int]]:
            return [search(data, pos, endpos) or (-1, -1)]

        return public
    spans: Spans = partial(binding.Match, _UNANCHORED)
    return spans


def _matcher(regex: Any) -> Matcher:
    """The fastest way to ask ``regex`` for its first match span in a range of bytes."""
    binding = getattr(regex, "_regexp", None)
    if binding is None or not hasattr(binding, "Match"):

        def public(data: bytes, pos: int, endpos: int) -> tuple[int, int] | None:
            match = regex.search(data, pos, endpos)
            return None if match is None else match.span()

        return public

    # google-re2's own binding: its public wrapper adds a generator and a match object to
    # every call, 40 % of a block search with many matches.
    def direct(data: bytes, pos: int, endpos: int) -> tuple[int, int] | None:
        start, end = binding.Match(_UNANCHORED, data, pos, endpos)[0]
        return None if start < 0 else (start, end)

    return direct


_UNANCHORED = re2._Anchor.UNANCHORED


def byte_matcher(pattern: bytes) -> Spans:
    """The ``Spans`` of a pattern over raw bytes (RE2 in Latin-1 mode: one byte is one
    character, so ``\\xHH`` is the byte HH and ``(?i)`` folds ASCII letters only), for the
    searches the program builds itself. A pattern that starts with a literal byte is
    searched at ``memchr`` speed."""
    return _spans(re2.compile(pattern, _options(False, latin1=True)))


def escape_bytes(data: bytes) -> bytes:
    """A byte pattern (``byte_matcher``) matching ``data`` itself."""
    return b"".join(
        bytes((byte,)) if chr(byte).isascii() and chr(byte).isalnum() else b"\\x%02x" % byte
        for byte in data
    )


def compile_regex(source: str, *, ignore_case: bool = False) -> Pattern:
    """Compile a regex for filters and searches; RegexError (a ValueError) when RE2 cannot
    run it, with its offset in ``source`` when known."""
    shape = _inspect(source)
    return Pattern(source, ignore_case, _compile(source, ignore_case), shape)


def escape(text: str) -> str:
    """A pattern matching ``text`` literally (with ``ignore_case``: in any case)."""
    return "".join(_ESCAPED.get(char, char) for char in text)


#: RE2 takes any ASCII character but a letter, a digit or "_" after a backslash as itself.
_ESCAPED = {
    chr(code): "\\x00" if code == 0 else "\\" + chr(code)
    for code in range(128)
    if not (chr(code).isalnum() or chr(code) == "_")
}


def _utf8(text: str) -> bytes:
    # A lone surrogate (from a JSON escape) is kept as three bytes: one character to RE2.
    return text.encode("utf-8", "surrogatepass")


def _char_bytes(data: bytes, pos: int) -> int:
    """Length of the UTF-8 character starting at ``pos`` (1 past the end)."""
    if pos >= len(data):
        return 1
    lead = data[pos]
    return 1 if lead < 0xC0 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4


def _chars(data: bytes, start: int, end: int) -> int:
    """Characters in ``data[start:end]``, a piece cut at character boundaries."""
    return len(data[start:end].decode("utf-8", "surrogatepass"))


# Inspection: what RE2 lacks, with positions, and where the anchors are.


@dataclass(frozen=True)
class _Shape:
    """What the block form needs to know about a pattern."""

    line_anchored: bool  # has ^ $ \A or \z
    text_anchors: tuple[tuple[int, str], ...]  # offsets of \A and \z, and what they become
    sets_multiline: bool  # a flag group sets or clears m


_LOOKAROUND = {
    "(?=": "lookahead (?=…)",
    "(?!": "negative lookahead (?!…)",
    "(?<=": "lookbehind (?<=…)",
    "(?<!": "negative lookbehind (?<!…)",
}
_GROUP_PREFIXES: tuple[tuple[str, str], ...] = (
    *((prefix, f"{name} is not supported: {_LINEAR}") for prefix, name in _LOOKAROUND.items()),
    ("(?>", f"atomic groups (?>…) are not supported: {_LINEAR}"),
    ("(?(", f"conditionals (?(…)…|…) are not supported: {_LINEAR}"),
    ("(?P=", f"backreferences (?P=…) are not supported: {_LINEAR}"),
    ("(?P>", f"recursion (?P>…) is not supported: {_LINEAR}"),
    ("(?&", f"recursion (?&…) is not supported: {_LINEAR}"),
    ("(?R", f"recursion (?R) is not supported: {_LINEAR}"),
    ("(?|", "branch reset (?|…) is not supported"),
    ("(?#", "comments (?#…) are not supported"),
)
_RECURSION = re.compile(r"\(\?[+-]?[0-9]")
_FLAGS = re.compile(r"\(\?([A-Za-z-]*)[:)]")
_NAMED_GROUP = re.compile(r"\(\?P?<[A-Za-z_][A-Za-z0-9_]*>")
_COUNTED = re.compile(r"\{([0-9]+)(?:,([0-9]*))?\}")
_BRACED_ESCAPE = re.compile(r"\\[xpP]\{[^}]*\}?")
_ESCAPES: dict[str, str] = {
    "Z": "\\Z is not supported: write \\z for the end of the text",
    "u": "\\u escapes are not supported: write \\x{…} (for example \\x{e9})",
    "U": "\\U escapes are not supported: write \\x{…} (for example \\x{1F600})",
    "N": "\\N{…} names are not supported: write \\x{…}",
    "C": "\\C (any byte) is not supported: regexes match characters",
    "G": "\\G is not supported",
    "K": "\\K is not supported",
}


def _inspect(source: str) -> _Shape:
    """Walk the pattern once: refuse what RE2 lacks (RegexError at the construct) and note
    the anchors. Anything else wrong is left for RE2 to report."""
    line_anchored = False
    sets_multiline = False
    text_anchors: list[tuple[int, str]] = []
    quantifier_start: int | None = None  # where a quantifier that just ended began
    pos = 0
    while pos < len(source):
        char = source[pos]
        previous_quantifier, quantifier_start = quantifier_start, None
        if char == "\\":
            escaped = source[pos + 1 : pos + 2]
            if escaped == "Q":  # \Q...\E is literal text
                end = source.find("\\E", pos + 2)
                pos = len(source) if end < 0 else end + 2
                continue
            if escaped in _ESCAPES:
                raise RegexError(_ESCAPES[escaped], pos)
            if escaped and escaped in "123456789" and not _is_octal(source, pos + 1):
                raise RegexError(f"backreferences (\\{escaped}) are not supported: {_LINEAR}", pos)
            if escaped in ("A", "z"):
                line_anchored = True
                text_anchors.append((pos, "^" if escaped == "A" else "$"))
            pos = _escape_end(source, pos)
        elif char == "[":
            pos = _class_end(source, pos)
        elif source.startswith("(?", pos):
            pos, flags = _group_start(source, pos)
            sets_multiline = sets_multiline or "m" in flags
        elif char == "+" and previous_quantifier is not None:
            quantifier = source[previous_quantifier : pos + 1]
            raise RegexError(
                f"possessive quantifiers ({quantifier}) are not supported: {_LINEAR}",
                previous_quantifier,
            )
        elif char in "*+?":
            # A "?" right after a quantifier makes it lazy and ends it.
            if not (char == "?" and previous_quantifier is not None):
                quantifier_start = pos
            pos += 1
        elif (counted := _COUNTED.match(source, pos)) is not None:
            if any(int(count) > MAX_REPEAT for count in counted.groups() if count):
                raise RegexError(f"a repetition count is at most {MAX_REPEAT}", pos)
            quantifier_start = pos
            pos = counted.end()
        else:
            line_anchored = line_anchored or char in "^$"
            pos += 1
    return _Shape(line_anchored, tuple(text_anchors), sets_multiline)


def _group_start(source: str, pos: int) -> tuple[int, str]:
    """Check the ``(?`` group opening at ``pos``: where scanning goes on, and the flags it
    sets or clears."""
    for prefix, message in _GROUP_PREFIXES:
        if source.startswith(prefix, pos):
            raise RegexError(message, pos)
    if _RECURSION.match(source, pos):
        raise RegexError(f"recursion (?1) is not supported: {_LINEAR}", pos)
    named = _NAMED_GROUP.match(source, pos)
    if named is not None:
        return named.end(), ""
    flags = _FLAGS.match(source, pos)
    if flags is None:
        return pos + 2, ""  # RE2 reports whatever else follows "(?"
    letters = flags.group(1)
    for offset, letter in enumerate(letters, start=pos + 2):
        if letter not in "imsU-":
            raise RegexError(f"flag {letter} is not supported (RE2 has i, m, s and U)", offset)
    return flags.end(), letters


def _is_octal(source: str, pos: int) -> bool:
    """Three octal digits at ``pos``: an octal escape, not a backreference."""
    digits = source[pos : pos + 3]
    return len(digits) == 3 and all(digit in "01234567" for digit in digits)


def _class_end(source: str, pos: int) -> int:
    """Just past the ``]`` closing the class opened at ``pos`` (the end if none)."""
    walk = pos + 1
    if source.startswith("^", walk):
        walk += 1
    if source.startswith("]", walk):
        walk += 1
    while walk < len(source):
        char = source[walk]
        if char == "\\":
            walk += 2
        elif source.startswith("[:", walk):
            end = source.find(":]", walk + 2)
            walk = walk + 1 if end < 0 else end + 2
        elif char == "]":
            return walk + 1
        else:
            walk += 1
    return len(source)


def _rewrite(source: str, anchors: tuple[tuple[int, str], ...]) -> str:
    """``source`` with each ``\\A``/``\\z`` at the given offsets replaced."""
    pieces: list[str] = []
    previous = 0
    for offset, replacement in anchors:
        pieces.append(source[previous:offset])
        pieces.append(replacement)
        previous = offset + 2
    pieces.append(source[previous:])
    return "".join(pieces)


_SPECIAL = frozenset(".^$*+?()[]{}|\\")
_FLAGS_WITH_I = re.compile(r"\(\?[A-Za-z]*i[A-Za-z-]*[:)]")


def _required_literal(source: str) -> str:
    """The longest run of plain characters every match holds, from the pattern's top-level
    sequence (none with a top-level ``|`` or an ``i`` flag)."""
    if _FLAGS_WITH_I.search(source):
        return ""
    runs: list[str] = []
    run: list[str] = []
    depth = 0
    pos = 0
    while pos < len(source):
        char = source[pos]
        end = pos + 1
        literal: str | None = None
        if char == "\\":
            if source.startswith("\\Q", pos):
                return ""  # rare: not worth reading
            end = _escape_end(source, pos)
            escaped = source[pos + 1 : end]
            if escaped in _ESCAPED:  # punctuation: itself
                literal = escaped
        elif char == "[":
            end = _class_end(source, pos)
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            return ""
        elif char in "*+?" or (char == "{" and _COUNTED.match(source, pos)):
            counted = _COUNTED.match(source, pos)
            end = counted.end() if counted else end
            if run:
                run.pop()  # the quantified character may repeat or vanish
        elif char not in _SPECIAL:
            literal = char
        if literal is not None and depth == 0:
            run.append(literal)
        else:
            runs.append("".join(run))
            run = []
        pos = end
    runs.append("".join(run))
    return max(runs, key=len)


def _folded_literal(source: str, ignore_case: bool) -> str:
    """Of a pattern matched in any case as a whole (``/.../i``, or ``(?i)`` first and no
    other flags), the longest ASCII run of plain characters every match holds, lower-cased;
    empty for others."""
    if not ignore_case:
        if not source.startswith("(?i)"):
            return ""
        source = source[len("(?i)") :]
    if _FLAGS.search(source):
        return ""
    literal = _required_literal(source)
    if not literal.isascii() or any(char in literal for char in "\r\n"):
        return ""
    return literal.lower()


def _leads_with_literal(source: str) -> bool:
    """Whether the pattern starts with one plain character (or escaped punctuation) that
    no quantifier makes optional or repeats, and has no top-level ``|``."""
    if not source:
        return False
    char = source[0]
    if char == "\\":
        end = _escape_end(source, 0)
        if source[1:end] not in _ESCAPED:
            return False
    elif char in _SPECIAL:
        return False
    else:
        end = 1
    following = source[end : end + 1]
    if following and (following in "*?{" or following == "+"):
        return False
    return not _has_top_level_bar(source)


def _has_top_level_bar(source: str) -> bool:
    depth = 0
    pos = 0
    while pos < len(source):
        char = source[pos]
        if char == "\\":
            pos = _escape_end(source, pos)
            continue
        if char == "[":
            pos = _class_end(source, pos)
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            return True
        pos += 1
    return False


def _escape_end(source: str, pos: int) -> int:
    """Just past the escape sequence starting with the backslash at ``pos``."""
    braced = _BRACED_ESCAPE.match(source, pos)
    if braced is not None:
        return braced.end()
    escaped = source[pos + 1 : pos + 2]
    if escaped == "x":
        return pos + 4  # \xHH
    if escaped in ("p", "P"):
        return pos + 3  # \pL
    if escaped and escaped in "01234567":
        end = pos + 2
        while end < min(pos + 4, len(source)) and source[end] in "01234567":
            end += 1
        return end
    return pos + 2
