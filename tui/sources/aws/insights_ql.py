"""Compiling the filter language into a CloudWatch Logs Insights query (pure: no boto3).

One ``parse @message`` with a regex of named captures splits the eight fields of an audit
line exactly as ``tui.model.parser`` does (13/16-digit stamps, ``[unknown]``, quoted or bare
fields, host or IP servers); a few more ``parse`` commands pick the request line out of the
header, a path out of the payload, a canonical IPv4 client and the instance out of the
stream name. Each term of the filter then becomes two Insights conditions:

- *possible*: true for every event the term may match (a superset of its matches);
- *sure*: true only for events the term certainly matches (a subset).

They are the same for the terms Insights can express exactly (``TermPlan.mode`` "exact").
A term Insights expresses only in part is "approximated" (e.g. a quoted ARN, ``agent``,
``query``, whose text must be decoded); one it cannot express at all is "local"
(``source``: a file name exists only here). ``NOT`` swaps the two, so a whole filter also
has a possible and a sure condition. Queries ask for the possible events and re-check them
here with the whole filter, so results are exact; counts are taken by Insights over the
sure events, and the uncertain rest (possible but not sure) is counted here.

Text comparisons follow our language, not Insights': case-insensitive terms become regexes
of explicit character classes built from ``str.lower`` (``k`` also matches the Kelvin sign
``K``, as ``"K".lower()`` is ``k``), so they mean the same in any regex engine; regexes are
translated, with the meaning the filters' engine (RE2) gives them, construct by construct
into a syntax Java, RE2 and Python read alike (``.`` is ``[^\\n]``, ``\\d`` is ``[0-9]``,
``$`` is ``\\z``, a case-insensitive letter the class of its RE2 case folding); ``\\b`` has
no equivalent and is dropped, which widens the match, and the term is then approximated
(RE2 refuses lookarounds and backreferences when the filter is parsed).

Assumptions, as Neptune writes and exports audit logs: one audit line per event (no line
breaks inside), and the event's time is the record's time in milliseconds. Time terms use
the event time; the local re-check uses the record's own.

Reference: Logs Insights query syntax,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax.html
"""

from __future__ import annotations

import importlib
import re
import string
import warnings
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any, Literal

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
from tui.query.predicate import split_client_value, text_matches
from tui.query.regex import MAX_REPEAT, RegexError, compile_regex, escape

# Python's own parse of a pattern (private modules without type stubs).
_sre_parse: Any = importlib.import_module("re._parser")
_sre_constants: Any = importlib.import_module("re._constants")
_sre_module: Any = importlib.import_module("_sre")
_sre_casefix: dict[int, tuple[int, ...]] = importlib.import_module("re._casefix")._EXTRA_CASES

#: Longest query string StartQuery accepts.
MAX_QUERY_CHARS = 10_000

# -- conditions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Atom:
    """One Insights comparison or function call, e.g. ``ctype =~ /^Bolt$/``."""

    text: str


@dataclass(frozen=True, slots=True)
class Const:
    """``true`` or ``false`` (folded away before rendering)."""

    value: bool


@dataclass(frozen=True, slots=True)
class All:
    """Every item holds (``and``)."""

    items: tuple[Cond, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    """Some item holds (``or``)."""

    items: tuple[Cond, ...]


@dataclass(frozen=True, slots=True)
class Neg:
    """The item does not hold (``not``)."""

    item: Cond


@dataclass(frozen=True, slots=True)
class Owned:
    """The condition of one filter term (``term`` indexes ``Compiled.terms``), so an error
    Insights reports at an offset can name the term."""

    term: int
    item: Cond


Cond = Atom | Const | All | AnyOf | Neg | Owned
TRUE = Const(True)
FALSE = Const(False)


def conj(*items: Cond) -> Cond:
    """``a and b ...`` with constants folded and nested ``and`` flattened."""
    flat: list[Cond] = []
    for item in items:
        if item == FALSE:
            return FALSE
        if item == TRUE:
            continue
        for part in item.items if isinstance(item, All) else (item,):
            if part not in flat:
                flat.append(part)
    if not flat:
        return TRUE
    return flat[0] if len(flat) == 1 else All(tuple(flat))


def disj(*items: Cond) -> Cond:
    """``a or b ...`` with constants folded and nested ``or`` flattened."""
    flat: list[Cond] = []
    for item in items:
        if item == TRUE:
            return TRUE
        if item == FALSE:
            continue
        for part in item.items if isinstance(item, AnyOf) else (item,):
            if part not in flat:
                flat.append(part)
    if not flat:
        return FALSE
    return flat[0] if len(flat) == 1 else AnyOf(tuple(flat))


def neg(item: Cond) -> Cond:
    """``not item``."""
    if isinstance(item, Const):
        return Const(not item.value)
    if isinstance(item, Neg):
        return item.item
    return Neg(item)


def owned(term: int, item: Cond) -> Cond:
    """``item`` marked as the condition of term ``term`` (constants stay constants)."""
    return item if isinstance(item, Const) else Owned(term, item)


def render(cond: Cond) -> tuple[str, list[tuple[int, int, int]]]:
    """The condition as Insights QL, and (start, end, term) for every owned part."""
    out: list[str] = []
    spans: list[tuple[int, int, int]] = []

    def emit(node: Cond, nested: bool) -> None:
        if isinstance(node, Const):
            # Folding leaves constants only at the top, where a caller drops the filter.
            out.append("1 = 1" if node.value else "1 = 0")
        elif isinstance(node, Atom):
            out.append(node.text)
        elif isinstance(node, Owned):
            start = sum(len(part) for part in out)
            emit(node.item, nested)
            spans.append((start, sum(len(part) for part in out), node.term))
        elif isinstance(node, Neg):
            out.append("not (")
            emit(node.item, False)
            out.append(")")
        else:
            word = " and " if isinstance(node, All) else " or "
            if nested:
                out.append("(")
            for index, item in enumerate(node.items):
                if index:
                    out.append(word)
                emit(item, True)
            if nested:
                out.append(")")

    emit(cond, False)
    return "".join(out), spans


@dataclass(frozen=True, slots=True)
class Pair:
    """What one term compiles to: a superset and a subset of its matches."""

    possible: Cond
    sure: Cond

    @staticmethod
    def exact(cond: Cond) -> Pair:
        return Pair(cond, cond)


MAYBE = Pair(TRUE, FALSE)
NEVER = Pair.exact(FALSE)


def pair_and(*pairs: Pair) -> Pair:
    return Pair(conj(*(p.possible for p in pairs)), conj(*(p.sure for p in pairs)))


def pair_or(*pairs: Pair) -> Pair:
    return Pair(disj(*(p.possible for p in pairs)), disj(*(p.sure for p in pairs)))


def pair_not(pair: Pair) -> Pair:
    return Pair(neg(pair.sure), neg(pair.possible))


def guarded(guard: Cond, pair: Pair) -> Pair:
    """``guard and pair`` (the guard itself exact)."""
    return Pair(conj(guard, pair.possible), conj(guard, pair.sure))


# -- regex text -------------------------------------------------------------------------------

#: Characters escaped with a backslash (RE2 refuses escapes of some other punctuation, _).
_SPECIAL = frozenset("\\.^$|?*+()[]{}/-&")
#: Python's ``\s`` (str patterns), also what ``str.split()`` splits on.
PY_SPACE_CHARS = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000"
)


def regex_char(char: str) -> str:
    """One character as regex text that Java, RE2 and Python read alike (inside a class
    too): punctuation escaped, controls and invisible characters as ``\\x{..}``."""
    if char in _SPECIAL:
        return "\\" + char
    if char.isascii():
        return char if char.isprintable() else f"\\x{ord(char):02x}"
    if char.isprintable() and not char.isspace():
        return char
    return f"\\x{{{ord(char):x}}}"


def literal(text: str) -> str:
    """Case-sensitive regex text matching exactly ``text``."""
    return "".join(regex_char(c) for c in text)


def char_class(chars: Iterable[str], *, negate: bool = False) -> str:
    """``[...]`` of the characters (a lone character as itself when not negated)."""
    members = sorted(set(chars))
    if len(members) == 1 and not negate:
        return regex_char(members[0])
    return ("[^" if negate else "[") + "".join(regex_char(c) for c in members) + "]"


PY_SPACE = char_class(PY_SPACE_CHARS)
PY_NOT_SPACE = char_class(PY_SPACE_CHARS, negate=True)


@cache
def _lowered_from() -> dict[str, frozenset[str]]:
    """Every character ``x`` by the one character ``x.lower()`` gives (when it differs);
    built once, on the first non-ASCII value that needs it."""
    found: dict[str, set[str]] = {}
    for code in range(0x110000):
        char = chr(code)
        low = char.lower()
        if low != char and len(low) == 1:
            found.setdefault(low, set()).add(char)
    return {low: frozenset(chars) for low, chars in found.items()}


_ASCII_LOWERED_FROM: dict[str, frozenset[str]] = {
    c: frozenset({c.upper(), "\u212a"} if c == "k" else {c.upper()}) for c in string.ascii_lowercase
}
_DOTTED_I = "\u0130"  # İ: lower() gives "i" + U+0307, two characters
_COMBINING_DOT = "\u0307"
_SIGMAS = frozenset("σς")  # Σ lowers to either, by its place in the word


def _lower_class(char: str) -> frozenset[str]:
    """The characters whose ``lower()`` is ``char`` (itself included)."""
    if char.isascii():
        return _ASCII_LOWERED_FROM.get(char, frozenset()) | {char}
    extra = _lowered_from().get(char, frozenset())
    if char in _SIGMAS:
        extra = extra | {"Σ"}
    return extra | {char}


def ci_literal(text: str, *, anchored: bool) -> tuple[str, str]:
    """Regex text for ``text.lower() in s.lower()`` (``anchored``: ``==``), as (superset,
    subset): equal unless ``text`` holds a Greek sigma, whose lowercase depends on context."""
    wanted = text.lower()
    possible: list[str] = []
    sure: list[str] = []
    index = 0
    while index < len(wanted):
        char = wanted[index]
        pair = wanted[index : index + 2] == "i" + _COMBINING_DOT
        if pair:
            piece = f"(?:[Ii]{regex_char(_COMBINING_DOT)}|{regex_char(_DOTTED_I)})"
            possible.append(piece)
            sure.append(piece)
            index += 2
            continue
        chars = set(_lower_class(char))
        if not anchored and char == "i" and index == len(wanted) - 1:
            chars.add(_DOTTED_I)  # "İ".lower() starts with "i"
        if not anchored and char == _COMBINING_DOT and index == 0:
            chars.add(_DOTTED_I)  # ... and ends with U+0307
        possible.append(char_class(chars))
        sure.append(char_class(chars - {"Σ"}) if char in _SIGMAS else char_class(chars))
        index += 1
    return "".join(possible), "".join(sure)


def csv_escaped(text: str) -> str:
    """How ``text`` reads inside a quoted CSV field (``"`` doubled)."""
    return text.replace('"', '""')


def slashed(regex: str) -> str:
    """A regex as an Insights ``/.../`` literal (a bare ``/`` escaped)."""
    out: list[str] = []
    escaped = False
    for char in regex:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            out.append(char)
            escaped = True
        elif char == "/":
            out.append("\\/")
        else:
            out.append(char)
    return "/" + "".join(out) + "/"


def match(field_name: str, regex: str) -> Atom:
    """``field =~ /regex/``."""
    return Atom(f"{field_name} =~ {slashed(regex)}")


def present(field_name: str) -> Atom:
    """``ispresent(field)``: the field exists (a ``parse`` that did not match adds none)."""
    return Atom(f"ispresent({field_name})")


# -- translating a regex of the filter --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Translation:
    """A filter regex for Insights: ``text`` matches a superset of what the original matches
    (None: any text may match); ``exact`` when it matches the same."""

    text: str | None
    exact: bool
    note: str = ""


_C = _sre_constants
_MAXREPEAT = _C.MAXREPEAT
#: ``\d``, ``\w``, ``\s`` as the filters' engine (RE2) reads them: ASCII only.
_CATEGORY_CODES = {
    _C.CATEGORY_DIGIT: frozenset(range(0x30, 0x3A)),
    _C.CATEGORY_WORD: frozenset(ord(c) for c in string.ascii_letters + string.digits + "_"),
    _C.CATEGORY_SPACE: frozenset(map(ord, "\t\n\f\r ")),
}
_NOT_CATEGORY = {
    _C.CATEGORY_NOT_DIGIT: _C.CATEGORY_DIGIT,
    _C.CATEGORY_NOT_WORD: _C.CATEGORY_WORD,
    _C.CATEGORY_NOT_SPACE: _C.CATEGORY_SPACE,
}


@cache
def _simple_lowered_from() -> dict[int, frozenset[int]]:
    """Code points by the simple lowercase ``re`` folds them to (its IGNORECASE tables)."""
    lower = _sre_module.unicode_tolower
    found: dict[int, set[int]] = {}
    for code in range(0x110000):
        found.setdefault(lower(code), set()).add(code)
    return {low: frozenset(codes) for low, codes in found.items() if len(codes) > 1}


def _codes_text(codes: Iterable[int]) -> str:
    """The inside of a class holding exactly ``codes`` (runs as ranges)."""
    ordered = sorted(set(codes))
    pieces: list[str] = []
    index = 0
    while index < len(ordered):
        end = index
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        low, high = chr(ordered[index]), chr(ordered[end])
        pieces.append(regex_char(low) if low == high else f"{regex_char(low)}-{regex_char(high)}")
        index = end + 1
    return "".join(pieces)


def _complement(codes: Iterable[int]) -> frozenset[int]:
    """Every code point but ``codes`` (as ranges: use with ``_codes_text``)."""
    return frozenset(range(0x110000)) - frozenset(codes)


def _simple_case_orbit(char: str) -> set[str]:
    """Characters related to ``char`` by a case mapping: those with the same simple
    lowercase, its upper, lower, folded and swapped forms and ``re``'s extra cases (``s`` and
    ``ſ``, ``k`` and the Kelvin sign, ...)."""
    low = _sre_module.unicode_tolower(ord(char))
    codes = set(_simple_lowered_from().get(low, frozenset({low}))) | {low, ord(char)}
    for code in list(codes):
        codes.update(_sre_casefix.get(code, ()))
    forms = {char.lower(), char.upper(), char.casefold(), char.swapcase()}
    return {chr(code) for code in codes} | {form for form in forms if len(form) == 1}


@cache
def _cased_codes() -> list[int]:
    """The code points with another case (in order)."""
    return [
        code
        for code in range(0x110000)
        if code in _sre_casefix or len({chr(code).lower(), chr(code).upper(), chr(code)}) > 1
    ]


@cache
def _re2_case_variants(char: str) -> frozenset[str]:
    """The characters RE2 matches for ``char`` ignoring case (Unicode simple case folding):
    candidates from the closure of the case mappings, each confirmed by RE2 itself (where
    Python's tables differ: ``i`` and ``İ`` are not one case in RE2, ``ϑ`` and ``ϴ`` are)."""
    candidates = {char}
    todo = [char]
    while todo:
        for related in _simple_case_orbit(todo.pop()):
            if related not in candidates:
                candidates.add(related)
                todo.append(related)
    try:
        probe = compile_regex(f"^(?:{escape(char)})\\z", ignore_case=True)
    except RegexError:  # a lone surrogate: only itself
        return frozenset({char})
    return frozenset(c for c in candidates if c == char or probe.search(c))


class _Untranslatable(Exception):
    pass


class _Translator:
    """Walks Python's parse of a pattern and writes the portable regex."""

    def __init__(self, flags: int) -> None:
        self.exact = True
        self.notes: list[str] = []
        self.base_flags = flags

    def widen(self, what: str) -> None:
        self.exact = False
        if what not in self.notes:
            self.notes.append(what)

    def variants(self, char: str, flags: int) -> set[str]:
        """Characters the filters' engine (RE2) matches for ``char`` under ``flags``."""
        if not flags & re.IGNORECASE:
            return {char}
        return set(_re2_case_variants(char))

    def category(self, category: object, flags: int) -> frozenset[int]:
        """The code points RE2 matches for ``\\d``, ``\\w`` or ``\\s`` under ``flags``
        (ignoring case, ``\\w`` also holds ``ſ`` and the Kelvin sign)."""
        codes = set(_CATEGORY_CODES[category])
        if flags & re.IGNORECASE:
            for code in list(codes):
                codes.update(ord(c) for c in _re2_case_variants(chr(code)))
        return frozenset(codes)

    def sequence(self, items: Sequence[tuple[object, object]], flags: int) -> str:
        return "".join(self.item(op, av, flags) for op, av in items)

    def item(self, op: object, av: object, flags: int) -> str:
        if op is _C.LITERAL:
            assert isinstance(av, int)
            return char_class(self.variants(chr(av), flags))
        if op is _C.NOT_LITERAL:
            assert isinstance(av, int)
            return char_class(self.variants(chr(av), flags), negate=True)
        if op is _C.ANY:
            return "[\\s\\S]" if flags & re.DOTALL else "[^\\n]"
        if op is _C.IN:
            assert isinstance(av, list)
            return self.char_set(av, flags)
        if op in (_C.MAX_REPEAT, _C.MIN_REPEAT):
            assert isinstance(av, tuple)
            low, high, body = av
            inner = self.sequence(list(body), flags)
            if low > MAX_REPEAT or (high is not _MAXREPEAT and high > MAX_REPEAT):
                raise _Untranslatable("a repeat count RE2 refuses")
            if high is _MAXREPEAT:
                count = "*" if low == 0 else "+" if low == 1 else f"{{{low},}}"
            elif (low, high) == (0, 1):
                count = "?"
            elif low == high:
                count = f"{{{low}}}"
            else:
                count = f"{{{low},{high}}}"
            if count == "{1}":
                return inner
            lazy = "?" if op is _C.MIN_REPEAT else ""
            return f"(?:{inner}){count}{lazy}"
        if op is _C.SUBPATTERN:
            assert isinstance(av, tuple)
            _group, add_flags, del_flags, body = av
            inner_flags = (flags | add_flags) & ~del_flags
            return "(?:" + self.sequence(list(body), inner_flags) + ")"
        if op is _C.BRANCH:
            assert isinstance(av, tuple)
            _, branches = av
            return "(?:" + "|".join(self.sequence(list(b), flags) for b in branches) + ")"
        if op is _C.AT:
            return self.anchor(av, flags)
        # Lookarounds, backreferences, atomic groups, possessive repeats, conditionals: RE2
        # refuses them when the filter is parsed, so none comes from a filter.
        raise _Untranslatable(f"{op}")

    def anchor(self, where: object, flags: int) -> str:
        multiline = bool(flags & re.MULTILINE)
        if where is _C.AT_BEGINNING:
            return "(?m:^)" if multiline else "^"
        if where is _C.AT_BEGINNING_STRING:
            return "^"
        if where in (_C.AT_END, _C.AT_END_STRING):
            if multiline and where is _C.AT_END:
                return "(?m:$)"
            return "\\z"  # RE2's $ (without m) is the end of the text, as \z is
        self.widen("word boundaries are left out (engines disagree on them)")
        return ""

    def char_set(self, items: list[tuple[object, object]], flags: int) -> str:
        negate = False
        parts: list[str] = []
        chars: set[str] = set()
        for op, av in items:
            if op is _C.NEGATE:
                negate = True
            elif op is _C.LITERAL:
                assert isinstance(av, int)
                chars |= self.variants(chr(av), flags)
            elif op is _C.RANGE:
                assert isinstance(av, tuple)
                low, high = av
                if flags & re.IGNORECASE and high - low > 256:
                    # A wide range: itself, and the other cases of its cased characters.
                    parts.append(f"{regex_char(chr(low))}-{regex_char(chr(high))}")
                    cased = _cased_codes()
                    for code in cased[bisect_left(cased, low) : bisect_right(cased, high)]:
                        chars |= self.variants(chr(code), flags)
                elif flags & re.IGNORECASE:
                    for code in range(low, high + 1):
                        chars |= self.variants(chr(code), flags)
                else:
                    parts.append(f"{regex_char(chr(low))}-{regex_char(chr(high))}")
            elif op is _C.CATEGORY:
                if av in _NOT_CATEGORY:
                    codes = self.category(_NOT_CATEGORY[av], flags)
                    if len(items) == 1:  # \D alone: everything but the class
                        return "[^" + _codes_text(codes) + "]"
                    if negate:
                        raise _Untranslatable("a negated class with a negated category")
                    parts.append(_codes_text(_complement(codes)))
                else:
                    parts.append(_codes_text(self.category(av, flags)))
            else:
                raise _Untranslatable(f"{op} in a class")
        body = _codes_text(ord(c) for c in chars) + "".join(parts)
        if not body:
            return "[^\\s\\S]" if not negate else "[\\s\\S]"
        return ("[^" if negate else "[") + body + "]"


#: RE2's POSIX classes (``[[:alpha:]]``): ASCII only.
_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\x00-\x7f",
    "blank": "\t ",
    "cntrl": "\x00-\x1f\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@[-`{-~",
    "space": "\t\n\x0b\x0c\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
_POSIX = re.compile(r"\[:(\^?)([a-z]+):\]")
_REPEAT = re.compile(r"\{[0-9]+(?:,[0-9]*)?\}")
_HEX = re.compile(r"\\x\{([0-9A-Fa-f]+)\}")
_NAMED = re.compile(r"\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>")
_CASELESS = re.compile(r"\(\?[A-Za-z]*i")  # a flag group that ignores case
_FLAG_GROUP = re.compile(r"\(\?([A-Za-z]*)(?:-([A-Za-z]*))?([:)])")


def _posix_members(name: str, negated: bool) -> str | None:
    """A POSIX class as the inside of a Python class (its complement over all of Unicode
    when negated), or None for a name RE2 does not know."""
    ranges = _POSIX_CLASSES.get(name)
    if ranges is None:
        return None
    codes: set[int] = set()
    index = 0
    while index < len(ranges):
        if ranges[index + 1 : index + 2] == "-" and index + 2 < len(ranges):
            codes.update(range(ord(ranges[index]), ord(ranges[index + 2]) + 1))
            index += 3
        else:
            codes.add(ord(ranges[index]))
            index += 1
    chosen = set(range(128)) - codes if negated else codes
    spans: list[tuple[int, int]] = []
    for code in sorted(chosen):
        if spans and spans[-1][1] == code - 1:
            spans[-1] = (spans[-1][0], code)
        else:
            spans.append((code, code))
    body = "".join(f"\\x{low:02x}-\\x{high:02x}" for low, high in spans)
    return body + ("\\x80-\\U0010ffff" if negated else "")


def python_syntax(source: str, ignore_case: bool = False) -> str | None:
    """An RE2 pattern (as filters take it) written so that Python's ``re`` parser reads the
    same regex, or None where that is not done (``\\p`` classes, flags set mid-pattern,
    a negated POSIX class where case may be ignored: RE2 folds the class, then negates it).

    ``\\z`` becomes ``\\Z``, ``\\x{..}`` ``\\U........``, ``\\Q...\\E`` escaped text, ``(?<n>``
    ``(?P<n>``, POSIX classes ASCII ranges, ``{`` that starts no RE2 repeat (``a{,2}``) is
    a literal brace, and the ``U`` flag (lazy by default) goes: it changes which match is
    found, never whether there is one."""
    out: list[str] = []
    pos = 0
    in_class = False
    class_start = 0
    while pos < len(source):
        char = source[pos]
        if char == "\\":
            escaped = source[pos + 1 : pos + 2]
            hexadecimal = _HEX.match(source, pos)
            if hexadecimal is not None:
                out.append(f"\\U{int(hexadecimal.group(1), 16):08x}")
                pos = hexadecimal.end()
                continue
            if escaped in ("p", "P", "C"):
                return None
            if escaped == "Q":
                if in_class:
                    return None
                end = source.find("\\E", pos + 2)
                text = source[pos + 2 :] if end < 0 else source[pos + 2 : end]
                out.append("".join(re.escape(c) for c in text))
                pos = len(source) if end < 0 else end + 2
                continue
            out.append("\\Z" if escaped == "z" else source[pos : pos + 2])
            pos += 2
            continue
        if in_class:
            posix = _POSIX.match(source, pos)
            if posix is not None:
                negated = posix.group(1) == "^"
                if negated and (ignore_case or _CASELESS.search(source)):
                    return None
                members = _posix_members(posix.group(2), negated)
                if members is None:
                    return None
                out.append(members)
                pos = posix.end()
                continue
            if char == "]" and pos > class_start:
                in_class = False
            out.append("\\[" if char == "[" else char)
            pos += 1
            continue
        if char == "[":
            in_class = True
            out.append(char)
            pos += 1
            if source.startswith("^", pos):
                out.append("^")
                pos += 1
            class_start = pos  # a "]" right here is a member
            continue
        if char == "{":
            repeat = _REPEAT.match(source, pos)
            if repeat is None:
                out.append("\\{")
                pos += 1
            else:
                out.append(repeat.group())
                pos = repeat.end()
            continue
        if source.startswith("(?", pos):
            named = _NAMED.match(source, pos)
            if named is not None:
                out.append(f"(?P<{named.group(1)}>")
                pos = named.end()
                continue
            flags = _FLAG_GROUP.match(source, pos)
            if flags is not None:
                on = flags.group(1).replace("U", "")
                off = (flags.group(2) or "").replace("U", "")
                scoped = flags.group(3) == ":"
                if not scoped and (pos > 0 or off):
                    return None  # Python takes flags for the rest only at the start
                if on or off or scoped:
                    out.append(f"(?{on}{'-' + off if off else ''}{flags.group(3)}")
                pos = flags.end()
                continue
        out.append(char)
        pos += 1
    return "".join(out)


def translate_regex(source: str, ignore_case: bool) -> Translation:
    """The Insights form of a filter regex, meaning what RE2 makes of it (``\\d``, ``\\w``,
    ``\\s`` ASCII, ``$`` the end of the text, Unicode simple case folding): the pattern is
    written in Python's syntax (``python_syntax``) and read with Python's ``re`` parser;
    what that cannot say is left to the re-check here."""
    readable = python_syntax(source, ignore_case)
    if readable is None:
        return Translation(None, False, "the regex uses syntax only RE2 reads")
    flags = re.IGNORECASE if ignore_case else 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "possible nested set": nobody would see it
            parsed = _sre_parse.parse(readable, flags)
    except (re.error, OverflowError, RecursionError, ValueError):
        return Translation(None, False, "the regex cannot be read here")
    translator = _Translator(parsed.state.flags)
    try:
        text = translator.sequence(list(parsed), parsed.state.flags)
    except _Untranslatable:
        return Translation(None, False, "the regex has no Insights equivalent")
    except RecursionError:
        return Translation(None, False, "the regex is nested too deeply")
    if not text:
        return Translation(None, False, "; ".join(translator.notes))
    return Translation(text, translator.exact, "; ".join(translator.notes))


def regex_of(node: Regex | FieldMatch) -> tuple[str, bool]:
    """(source, ignore case) of a term's regex: the one place that reads compiled patterns."""
    pattern = node.pattern
    assert pattern is not None
    return pattern.source, pattern.ignore_case


# -- the record's fields ----------------------------------------------------------------------

_QUOTED = '"(?:[^"]|"")*"'
#: An unquoted field: no ``", "`` inside, not starting with a quote (or only commas).
_BARE = '(?:[^",]|,+[^, ])(?:[^,]|,+[^, ])*,*|,+'
_FIELD = f"(?:{_QUOTED}|{_BARE}|)"
_BRACES = "\\{(?:[^{}]|\\{(?:[^{}]|\\{[^{}]*\\})*\\})*\\}"
_AUTH = f"(?:{_QUOTED}|{_BRACES}|{_BARE}|)"
_STAMP = "[0-9]{19}|[0-9]{16}|[0-9]{13}|[0-9]{10}"

#: The parse of an audit line: exactly the lines ``tui.model.parser`` reads as records get
#: ``ts`` (fields keep their quotes; ``payload`` is absent when the line ends after the
#: header). Braces nest three deep at most, and an auth context in braces holding ``", "``
#: on a line broken further on may be read as a record: both re-checked here.
RECORD_REGEX = (
    f"^(?<ts>{_STAMP}), (?<client>{_FIELD}), (?<server>{_FIELD}), (?<ctype>{_FIELD}), "
    f"(?<arn>{_FIELD}), (?<auth>{_AUTH}), (?<header>{_FIELD})"
    "(?:, (?<payload>[\\s\\S]*))?[\\r\\n]*$"
)
#: The request line: at the start of the header, else the first after ``") "``.
REQUEST_REGEX = f'^"?(?:[\\s\\S]*?\\) )?(?<hmethod>[A-Z]+) (?<hpath>/(?:[^?"{PY_SPACE[1:-1]}]|"")*)'
#: A bare payload that is a path (``/status``), and a quoted one without inner quotes.
PAYLOAD_PATH_REGEX = f"^(?<ppath>/[^?{PY_SPACE[1:-1]}]*)"
PAYLOAD_QUOTED_PATH_REGEX = f'^"(?<ppq>/[^?"{PY_SPACE[1:-1]}]*)[^"]*"\\z'
#: The inside of a quoted header.
HEADER_INSIDE_REGEX = '^"(?<hq>[\\s\\S]*)"'
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_PORT = "(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
#: A client whose searched text is the field as logged: IPv4 (and port) in canonical form.
CLIENT_REGEX = f"^(?<cv4>{_OCTET}(?:\\.{_OCTET}){{3}})(?::{_PORT})?\\z"
#: The stamp by its width (units differ: first and last are taken per width).
STAMP_REGEX = "^(?:(?<ts19>[0-9]{19})|(?<ts16>[0-9]{16})|(?<ts13>[0-9]{13})|(?<ts10>[0-9]{10})), "
#: The instance a stream's file is filed under, when its name needs no escaping.
INSTANCE_REGEX = "^(?<inst>[A-Za-z0-9_-][A-Za-z0-9._-]{0,199})(?:/|\\z)"

PARSES: dict[str, str] = {
    "record": f"parse @message {slashed(RECORD_REGEX)}",
    "request": f"parse header {slashed(REQUEST_REGEX)}",
    "ppath": f"parse payload {slashed(PAYLOAD_PATH_REGEX)}",
    "ppq": f"parse payload {slashed(PAYLOAD_QUOTED_PATH_REGEX)}",
    "hq": f"parse header {slashed(HEADER_INSIDE_REGEX)}",
    "client": f"parse client {slashed(CLIENT_REGEX)}",
    "instance": f"parse @logStream {slashed(INSTANCE_REGEX)}",
    "stamps": f"parse @message {slashed(STAMP_REGEX)}",
}
#: Which parses each one needs first.
_PARSE_NEEDS = {
    name: ("record",) for name in PARSES if name not in ("record", "instance", "stamps")
}

RECORD = present("ts")
_ABSENT_FORMS = ("", "[unknown]", "null")
# Values compared whole end with \z: $ would also match before a final newline (in Java and
# Python), and Java and RE2 both read \z.
_ABSENT_REGEX = (
    "^(?:" + "|".join(literal(a) + "|" + literal(f'"{a}"') for a in _ABSENT_FORMS) + ")\\z"
)


def is_absent(group: str) -> Atom:
    """The field is one of the log's ways to say "absent", quoted or not."""
    return match(group, _ABSENT_REGEX)


def is_quoted(group: str) -> Atom:
    return match(group, '^"')


def _could_be_absent(node: FieldMatch) -> bool:
    """Whether the term could hold for a value the log writes to mean "absent"."""
    if node.op == "regex":
        return True
    return any(text_matches(node, value) for value in _ABSENT_FORMS)


def type_is(name: str) -> Atom:
    """The connection type is exactly ``name`` (as ``_TYPE_METHOD`` and the language
    table compare it: case-sensitive)."""
    return match("ctype", f'^(?:{literal(name)}|"{literal(name)}")\\z')


_HTTP = match("ctype", '^(?:HTTP_(?:GET|POST)|"HTTP_(?:GET|POST)")\\z')


class _Needs:
    """The parse commands a compiled filter uses."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def add(self, *names: str) -> None:
        for name in names:
            self.names.update(_PARSE_NEEDS.get(name, ()))
            self.names.add(name)


def _value_pair(group: str, node: FieldMatch, *, escaped: bool) -> Pair:
    """A term on a field whose whole (unquoted) text is ``group``; ``escaped``: the text is
    as inside a quoted CSV field (``"`` doubled)."""
    value = csv_escaped(node.value) if escaped else node.value
    if node.op == "regex":
        source, ignore_case = regex_of(node)
        translation = translate_regex(source, ignore_case)
        if escaped:
            # A regex may match a quote: it runs on fields without one.
            no_quote = neg(match(group, '"'))
            inner = _regex_pair(group, translation)
            return Pair(
                disj(neg(no_quote), conj(no_quote, inner.possible)), conj(no_quote, inner.sure)
            )
        return _regex_pair(group, translation)
    if node.op == "contains" and not value:
        return Pair.exact(TRUE)
    possible, sure = ci_literal(value, anchored=node.op == "equals")
    if node.op == "equals":
        possible, sure = f"^{possible}\\z", f"^{sure}\\z"
    return Pair(match(group, possible), match(group, sure))


def _regex_pair(group: str, translation: Translation) -> Pair:
    if translation.text is None:
        return MAYBE
    cond = match(group, translation.text)
    return Pair(cond, cond if translation.exact else FALSE)


def _raw_field(group: str, node: FieldMatch, *, inside: str | None = None) -> Pair:
    """A term on one of the six small fields, captured with its quotes: a bare value is
    compared as it is, a quoted one in its escaped form (regexes: on ``inside``, the
    quoted value's text, when the caller parsed it; else such values are uncertain)."""
    quoted = is_quoted(group)
    value = node.value
    if node.op == "regex":
        source, ignore_case = regex_of(node)
        bare = _regex_pair(group, translate_regex(source, ignore_case))
        if inside is None:
            in_quotes = MAYBE
        else:
            in_quotes = _value_pair(inside, node, escaped=True)
    elif node.op == "contains":
        if not value:
            bare = in_quotes = Pair.exact(TRUE)
        else:
            possible, sure = ci_literal(value, anchored=False)
            bare = Pair(match(group, possible), match(group, sure))
            escaped_possible, escaped_sure = ci_literal(csv_escaped(value), anchored=False)
            prefix = '^"(?:[^"]|"")*?'
            in_quotes = Pair(
                match(group, prefix + escaped_possible), match(group, prefix + escaped_sure)
            )
    else:
        possible, sure = ci_literal(value, anchored=True)
        if value.startswith('"'):
            bare = NEVER  # a bare value never starts with a quote
        else:
            bare = Pair(match(group, f"^{possible}\\z"), match(group, f"^{sure}\\z"))
        escaped_possible, escaped_sure = ci_literal(csv_escaped(value), anchored=True)
        in_quotes = Pair(
            match(group, f'^"{escaped_possible}"\\z'), match(group, f'^"{escaped_sure}"\\z')
        )
    result = pair_or(guarded(neg(quoted), bare), guarded(quoted, in_quotes))
    if _could_be_absent(node):
        result = guarded(neg(is_absent(group)), result)
    return result


# -- user= -----------------------------------------------------------------------------------

_SPECIAL_KINDS = ("user", "role", "federated-user", "group")
_ALL_SPECIAL = (*_SPECIAL_KINDS, "assumed-role", "root")
_ARN_HEAD = "^arn:[^:]*:[^:]*:[^:]*:"  # partition, service, region
_ARN_RESOURCE = _ARN_HEAD + "[^:]*:"  # ... and the account


def _ci(text: str) -> str:
    """Case-insensitive text compared whole (the superset form when it holds a sigma)."""
    return ci_literal(text, anchored=True)[0]


def _variants_except(word: str, excluded: str) -> str:
    """Regex for strings equal to ``word`` ignoring case, but not exactly ``excluded``
    (its lower-case spelling): the kinds parse_arn compares case-sensitively."""
    alternatives: list[str] = []
    for index, char in enumerate(excluded):
        others = _lower_class(char) - {char}
        if not others:
            continue
        alternatives.append(
            literal(excluded[:index]) + char_class(others) + _ci(excluded[index + 1 :])
        )
    return "(?:" + "|".join(alternatives) + ")" if alternatives else "[^\\s\\S]"


def _user_equals(value: str) -> list[str]:
    """Regexes on a bare ARN field, any of which means ``user=value`` holds: the value is
    the ARN or one of its parts (``parse_arn``: account, name, session, the short form)."""
    if not value:
        return []
    forms = [f"^{_ci(value)}\\z"]  # the whole ARN (or the whole non-ARN text)
    if ":" not in value:
        forms.append(f"{_ARN_HEAD}{_ci(value)}:")  # the account (root's name too)
    if "/" not in value:
        forms.append(f"{_ARN_RESOURCE}assumed-role/{_ci(value)}(?:/[\\s\\S]*)?\\z")
        special = "(?:" + "|".join(literal(k) for k in _SPECIAL_KINDS) + ")"
        forms.append(f"{_ARN_RESOURCE}{special}/(?:[\\s\\S]*/)?{_ci(value)}\\z")
    forms.append(f"{_ARN_RESOURCE}assumed-role/[^/]*/{_ci(value)}\\z")  # the session
    kind, slash, rest = value.partition("/")
    if slash and kind:
        lowered = kind.lower()
        if lowered == "role" and rest:
            role, more, session = rest.partition("/")
            if role and more and session:
                forms.append(f"{_ARN_RESOURCE}assumed-role/{_ci(role)}/{_ci(session)}\\z")
            elif role and not more:
                forms.append(f"{_ARN_RESOURCE}assumed-role/{_ci(role)}/?\\z")
        if lowered in _SPECIAL_KINDS:
            if rest and "/" not in rest:
                forms.append(f"{_ARN_RESOURCE}{literal(lowered)}/(?:[\\s\\S]*/)?{_ci(rest)}\\z")
            elif not rest:
                forms.append(f"{_ARN_RESOURCE}{literal(lowered)}/[\\s\\S]*/\\z")
        if lowered == "root" and rest and ":" not in rest:
            forms.append(f"{_ARN_HEAD}{_ci(rest)}:root(?:/[\\s\\S]*)?\\z")
        if rest:
            # A kind compared as written: any spelling but the special ones'.
            kinds = _variants_except(kind, lowered) if lowered in _ALL_SPECIAL else _ci(kind)
            forms.append(f"{_ARN_RESOURCE}{kinds}/{_ci(rest)}\\z")
    return forms


def _user_pair(node: FieldMatch) -> Pair:
    forms = _user_equals(node.value)
    if not forms:
        return NEVER
    bare = conj(neg(is_quoted("arn")), disj(*(match("arn", form) for form in forms)))
    # A sigma lowers by its place in the word: the forms are then only a superset.
    certain = not _SIGMAS & set(node.value.lower())
    pair = Pair(disj(bare, is_quoted("arn")), bare if certain else FALSE)
    return guarded(neg(is_absent("arn")), pair)


# -- auth, client, method, path, lang, instance -----------------------------------------------


def _auth_pair(value: str) -> Pair:
    """``auth:ok|failed|none``: sure for the maps Neptune writes, ``{authenticationSucceeded=
    true}`` and the JSON form; possible for any auth context holding the word (or an
    escape that could spell it)."""
    spaces = "[ \\t\\n\\r]*"

    def outcome(word: str) -> Pair:
        java = f"\\{{authenticationSucceeded={word}\\}}"
        key = '"authenticationSucceeded"'
        json = f"\\{{{spaces}{key}{spaces}:{spaces}{word}{spaces}\\}}"
        quoted_json = json.replace(key, csv_escaped(key))
        sure = match("auth", f'^(?:{java}|"{java}"|{json}|"{quoted_json}")\\z')
        possible = match("auth", _ci(word) + "|\\\\u")
        return Pair(possible, sure)

    ok, failed = outcome("true"), outcome("false")
    if value == "ok":
        return ok
    if value == "failed":
        return failed
    return Pair(conj(neg(ok.sure), neg(failed.sure)), conj(neg(ok.possible), neg(failed.possible)))


def _client_pair(node: FieldMatch, needs: _Needs) -> Pair:
    """``client``: exact for clients logged as canonical IPv4 (and port), whose searched
    text is the field itself; other forms (names, IPv6, ``name/ip``) are re-checked here."""
    needs.add("client")
    canonical = present("cv4")
    if node.op == "regex":
        source, ignore_case = regex_of(node)
        known = _regex_pair("client", translate_regex(source, ignore_case))
    elif node.op == "contains":
        known = Pair.exact(TRUE) if not node.value else _value_pair("client", node, escaped=False)
    else:
        address, port = split_client_value(node.value)
        text = _ci(address)
        tail = f":{port}" if port is not None else "(?::[0-9]+)?"
        known = Pair.exact(match("client", f"^{text}{tail}\\z"))
    other = conj(neg(canonical), neg(is_absent("client")))
    return pair_or(guarded(canonical, known), Pair(other, FALSE))


def _method_pair(node: FieldMatch, needs: _Needs) -> Pair:
    """``method``: the request line's, else the one the connection type implies."""
    needs.add("request")
    request = present("hmethod")
    from_line = _value_pair("hmethod", node, escaped=False)
    by_type = disj(
        type_is("HTTP_GET") if text_matches(node, "GET") else FALSE,
        type_is("HTTP_POST") if text_matches(node, "POST") else FALSE,
    )
    return pair_or(guarded(request, from_line), Pair.exact(conj(neg(request), by_type)))


@dataclass(frozen=True)
class _PathCase:
    """One way a record gets its path: when ``guard`` holds, the path is the text of
    ``group`` (escaped: as inside quotes), or uncertain when ``group`` is None;
    ``http``: only for the HTTP connection types."""

    guard: Cond
    group: str | None
    escaped: bool = False
    http: bool = False


def _path_cases(needs: _Needs) -> list[_PathCase]:
    """The request line's path, else for HTTP types a payload that is a path (``/status``).
    The cases exclude each other; a record in none of them has no path."""
    needs.add("request", "ppath", "ppq")
    request = present("hmethod")
    header_ok = disj(is_quoted("header"), neg(match("header", '"')))
    quoted_payload_path = conj(match("payload", '^"/'), neg(present("ppq")))
    return [
        _PathCase(conj(request, header_ok), "hpath", escaped=True),
        _PathCase(conj(request, neg(header_ok)), None),
        _PathCase(conj(neg(request), present("ppath")), "ppath", http=True),
        _PathCase(conj(neg(request), present("ppq")), "ppq", http=True),
        _PathCase(conj(neg(request), quoted_payload_path), None, http=True),
    ]


def _path_pair(node: FieldMatch, needs: _Needs) -> Pair:
    pairs = []
    for case in _path_cases(needs):
        guard = conj(_HTTP, case.guard) if case.http else case.guard
        if case.group is None:
            pairs.append(Pair(guard, FALSE))
        else:
            pairs.append(guarded(guard, _value_pair(case.group, node, escaped=case.escaped)))
    return pair_or(*pairs)


_NO_LANGUAGE = ("status", "loader", "system", "propertygraph", "rdf", "ml", "streams", "stream")
_LANGUAGES = ("gremlin", "sparql", "opencypher")


def _segment(words: Sequence[str]) -> str:
    return "(?:" + "|".join(_ci(w) for w in words) + ")"


def _lang_pair(value: str, needs: _Needs) -> Pair:
    """``lang``, decided as ``language_for`` decides it: by the connection type, else for
    HTTP by the path's first segment; what the payload must decide is uncertain."""
    cases = _path_cases(needs)
    known = [case for case in cases if case.group is not None]
    first_any = f"^/+{_segment((*_NO_LANGUAGE, *_LANGUAGES))}(?:/|\\z)"
    decided = disj(*(conj(c.guard, match(str(c.group), first_any)) for c in known))

    def by_path(build: str) -> Cond:
        return disj(*(conj(c.guard, match(str(c.group), build)) for c in known))

    status_tail = f"(?:/+[^/]+)*/+{_ci('status')}/*\\z"
    if value == "none":
        ends_in_status = f"^/+{_segment(_LANGUAGES)}{status_tail}"
        no_language = f"^/+{_segment(_NO_LANGUAGE)}(?:/|\\z)"
        sure = conj(_HTTP, disj(by_path(no_language), by_path(ends_in_status)))
    else:
        first = f"^/+{_ci(value)}(?:/|\\z)"
        sure_path = disj(
            *(
                conj(
                    c.guard,
                    match(str(c.group), first),
                    neg(match(str(c.group), f"^/+{_ci(value)}{status_tail}")),
                )
                for c in known
            )
        )
        by_type = {"gremlin": type_is("Websocket"), "opencypher": type_is("Bolt")}.get(value, FALSE)
        sure = disj(by_type, conj(_HTTP, sure_path))
    typed = disj(type_is("Websocket"), type_is("Bolt"), _HTTP)
    uncertain = disj(conj(_HTTP, neg(decided)), neg(typed))
    return Pair(disj(sure, uncertain), sure)


def _instance_pair(node: FieldMatch, needs: _Needs) -> Pair:
    """``instance``: the stream's first name, which names the file's directory."""
    needs.add("instance")
    known = present("inst")
    return pair_or(
        guarded(known, _value_pair("inst", node, escaped=False)), Pair(neg(known), FALSE)
    )


# -- the decoded query and the agent ----------------------------------------------------------

#: Percent-encoded or JSON-escaped letters and digits: a decoded query may hold a word its
#: raw text does not (the same rule as the index's pre-filter).
_ENCODED_ALNUM = "%(?:3[0-9]|[46][1-9a-fA-F]|[57][0-9aA])|\\\\[uU]00(?:3[0-9]|[4-7][0-9a-fA-F])"


def _query_pair(node: FieldMatch) -> Pair:
    """``query``: decoding cannot be written in Insights; a word of the value must be in
    the raw line (or an encoded letter that could spell it)."""
    if node.op == "regex":
        return MAYBE
    runs = re.findall(r"[A-Za-z0-9_]+", node.value)
    if not runs:
        return MAYBE
    word = max(runs, key=len)
    return Pair(match("@message", _ci_search(word) + "|" + _ENCODED_ALNUM), FALSE)


def _ci_search(text: str) -> str:
    return ci_literal(text, anchored=False)[0]


def _agent_pair(node: FieldMatch) -> Pair:
    """``agent``: the header must name a User-Agent and, for a value, hold it."""
    has_agent = match("header", _ci("user-agent") + ": ")
    if node.op == "regex":
        return Pair(has_agent, FALSE)
    holds = _raw_field("header", replace(node, op="contains"))
    return Pair(conj(has_agent, holds.possible), FALSE)


# -- compiling a filter -----------------------------------------------------------------------

Mode = Literal["exact", "approximated", "local"]


@dataclass(frozen=True)
class TermPlan:
    """How one term of the filter runs."""

    text: str
    span: Span
    mode: Mode
    note: str = ""


@dataclass(frozen=True)
class Compiled:
    """A filter compiled for Logs Insights.

    ``possible`` and ``sure`` are conditions over the parsed fields (see the module doc);
    ``parses`` the parse commands they need, in order; ``since_us``/``until_us`` the event
    times the filter's top-level time terms allow (the query need not scan beyond them);
    ``terms`` one plan per term, in the order they are compiled.
    """

    possible: Cond
    sure: Cond
    parses: tuple[str, ...]
    terms: tuple[TermPlan, ...]
    since_us: int | None
    until_us: int | None
    uses_last: bool

    @property
    def exact(self) -> bool:
        """Whether Insights alone decides every event (nothing to re-check or count here)."""
        return self.possible == self.sure

    @property
    def local_terms(self) -> tuple[TermPlan, ...]:
        """Terms Insights cannot express, evaluated here on the narrowed result."""
        return tuple(term for term in self.terms if term.mode in ("approximated", "local"))

    def condition(self, which: Literal["possible", "sure", "uncertain"]) -> Cond:
        """The filter to send: the possible events, the sure ones, or those in between."""
        if which == "possible":
            return self.possible
        if which == "sure":
            return self.sure
        return conj(self.possible, neg(self.sure))


def substitute_last(node: Node, newest_us: int | None) -> Node:
    """``last:D`` as ``after:(newest - D)``, the newest record's time being known."""
    if isinstance(node, Last):
        return TimeBound("after", (newest_us or 0) - node.duration_us, node.span)
    if isinstance(node, Not):
        return Not(substitute_last(node.operand, newest_us), node.span)
    if isinstance(node, And):
        return And(tuple(substitute_last(c, newest_us) for c in node.operands), node.span)
    if isinstance(node, Or):
        return Or(tuple(substitute_last(c, newest_us) for c in node.operands), node.span)
    return node


def uses_last(node: Node) -> bool:
    """Whether the filter has a ``last:`` term (its start needs the newest record)."""
    if isinstance(node, Last):
        return True
    if isinstance(node, Not):
        return uses_last(node.operand)
    if isinstance(node, (And, Or)):
        return any(uses_last(child) for child in node.operands)
    return False


def _ms_ceil(epoch_us: int) -> int:
    return -(-epoch_us // 1000)


def _time_pair(node: TimeBound) -> Pair:
    """A time term on the event's millisecond: exact for a bound on a whole millisecond;
    else the records of the bound's own millisecond (with µs or ns stamps) are uncertain."""
    floor, ceil = node.epoch_us // 1000, _ms_ceil(node.epoch_us)
    stamp = "toMillis(@timestamp)"
    if node.op == "after":
        return Pair(Atom(f"{stamp} >= {floor}"), Atom(f"{stamp} >= {ceil}"))
    return Pair(Atom(f"{stamp} < {ceil}"), Atom(f"{stamp} < {floor}"))


class _Compiler:
    def __init__(self, text: str) -> None:
        self.text = text
        self.terms: list[TermPlan] = []
        self.pairs: list[Pair] = []
        self.needs = _Needs()
        self.forced_local: set[int] = set()

    def term_text(self, span: Span) -> str:
        return self.text[span.start : span.end] if self.text else ""

    def leaf(self, node: Node, pair: Pair, note: str = "") -> Pair:
        index = len(self.terms)
        if index in self.forced_local:
            pair, note = MAYBE, "left out of the query to keep it under 10,000 characters"
        if pair == MAYBE:
            mode: Mode = "local"
        elif pair.possible == pair.sure:
            mode = "exact"
        else:
            mode = "approximated"
        span = getattr(node, "span", Span(0, 0))
        self.terms.append(TermPlan(self.term_text(span), span, mode, note))
        self.pairs.append(pair)
        return Pair(owned(index, pair.possible), owned(index, pair.sure))

    def compile(self, node: Node) -> Pair:
        if isinstance(node, MatchAll):
            return Pair.exact(TRUE)
        if isinstance(node, Not):
            return pair_not(self.compile(node.operand))
        if isinstance(node, And):
            return pair_and(*(self.compile(child) for child in node.operands))
        if isinstance(node, Or):
            return pair_or(*(self.compile(child) for child in node.operands))
        if isinstance(node, Text):
            if not node.value:
                return self.leaf(node, Pair.exact(TRUE))
            self.needs.names.add("message")
            possible, sure = ci_literal(node.value, anchored=False)
            return self.leaf(node, Pair(match("@message", possible), match("@message", sure)))
        if isinstance(node, Regex):
            source, ignore_case = regex_of(node)
            translation = translate_regex(source, ignore_case)
            return self.leaf(node, _regex_pair("@message", translation), translation.note)
        if isinstance(node, TimeBound):
            return self.leaf(node, _time_pair(node))
        if isinstance(node, Last):
            return self.leaf(node, MAYBE, "the newest record's time is looked up first")
        assert isinstance(node, FieldMatch)
        pair, note = self.field(node)
        return self.leaf(node, pair, note)

    def field(self, node: FieldMatch) -> tuple[Pair, str]:
        name = node.field
        if name == "source":
            return MAYBE, "file names exist only here"
        self.needs.add("record")
        note = ""
        if name == "instance":  # a record's only: malformed lines have none
            pair = _instance_pair(node, self.needs)
            return guarded(RECORD, pair), "streams whose names need escaping are checked here"
        if name in ("type", "server") or (name == "user" and node.op != "equals"):
            group = {"type": "ctype", "server": "server", "user": "arn"}[name]
            pair = _raw_field(group, node)
            note = "quoted values are checked here" if node.op == "regex" else ""
        elif name == "user":
            pair = _user_pair(node)
            note = "quoted ARNs are checked here"
        elif name == "header":
            if node.op == "regex":
                self.needs.add("hq")
            pair = _raw_field("header", node, inside="hq" if node.op == "regex" else None)
        elif name == "auth":
            pair = _auth_pair(node.value)
            note = "auth contexts other than Neptune's two forms are checked here"
        elif name == "client":
            pair = _client_pair(node, self.needs)
            note = "clients not logged as IPv4:port are checked here"
        elif name == "method":
            pair = _method_pair(node, self.needs)
        elif name == "path":
            pair = _path_pair(node, self.needs)
            note = "paths in unusually quoted fields are checked here"
        elif name == "lang":
            pair = _lang_pair(node.value, self.needs)
            note = "languages sniffed from the payload are checked here"
        elif name == "agent":
            pair = _agent_pair(node)
            note = "the header is searched for the value; the User-Agent is checked here"
        elif name == "query":
            pair = _query_pair(node)
            note = "queries are decoded here; Insights looks for a word of the value"
        else:  # op and fp (classified here); the parser knows every other field
            if name in ("op", "fp"):
                return MAYBE, "operations and query shapes come from parsing the query here"
            return MAYBE, f"unknown field {name}"
        return guarded(RECORD, pair), note


def _top_level_range(node: Node) -> tuple[int | None, int | None]:
    """The range of event times the top-level AND's time terms allow, in µs (widened to
    whole milliseconds): the query's time range, which Insights need not scan beyond."""
    since: int | None = None
    until: int | None = None
    for operand in node.operands if isinstance(node, And) else (node,):
        if isinstance(operand, TimeBound):
            if operand.op == "after":
                start = operand.epoch_us // 1000 * 1000
                since = start if since is None else max(since, start)
            else:
                end = _ms_ceil(operand.epoch_us) * 1000
                until = end if until is None else min(until, end)
    return since, until


def compile_filter(node: Node, text: str = "") -> Compiled:
    """Compile a filter (``text``: its source, to name terms); ``last:`` terms must have
    been substituted (``substitute_last``) to narrow anything."""
    forced: set[int] = set()
    while True:
        compiled = _compile_once(node, text, forced)
        longest_query = _assemble(
            compiled, "uncertain", 0, 0, (ROW_FIELDS, "sort ms asc", "limit 10000"), tuple(PARSES)
        )
        candidates = [i for i in range(len(compiled.terms)) if i not in forced]
        if len(longest_query.text) <= MAX_QUERY_CHARS - 500 or not candidates:
            return compiled
        # Too long for StartQuery: leave the longest term to the re-check here.
        longest = max(candidates, key=lambda i: _term_size(compiled.possible, i))
        forced.add(longest)


def _term_size(cond: Cond, term: int) -> int:
    if isinstance(cond, Owned):
        return len(render(cond.item)[0]) if cond.term == term else _term_size(cond.item, term)
    if isinstance(cond, (All, AnyOf)):
        return sum(_term_size(item, term) for item in cond.items)
    if isinstance(cond, Neg):
        return _term_size(cond.item, term)
    return 0


def _compile_once(node: Node, text: str, forced: set[int]) -> Compiled:
    since, until = _top_level_range(node)
    compiler = _Compiler(text)
    compiler.forced_local = forced
    pair = compiler.compile(node)
    order = [name for name in PARSES if name in compiler.needs.names]
    return Compiled(
        possible=pair.possible,
        sure=pair.sure,
        parses=tuple(order),
        terms=tuple(compiler.terms),
        since_us=since,
        until_us=until,
        uses_last=uses_last(node),
    )


# -- query text ------------------------------------------------------------------------------


def filter_text(compiled: Compiled, which: Literal["possible", "sure", "uncertain"]) -> str:
    """``filter ...`` for one of the compiled conditions ("" when it keeps every event)."""
    cond = compiled.condition(which)
    if cond == TRUE:
        return ""
    return "filter " + render(cond)[0]


def time_filter(start_ms: int, end_ms: int) -> str:
    """The events of ``[start_ms, end_ms]`` (StartQuery itself takes whole seconds)."""
    return f"filter toMillis(@timestamp) >= {start_ms} and toMillis(@timestamp) <= {end_ms}"


@dataclass(frozen=True)
class QueryText:
    """A query string (its commands joined by ``|``), and where each term's condition is
    in it (for error reports)."""

    commands: tuple[str, ...]
    term_spans: tuple[tuple[int, int, int], ...] = field(default=())

    @property
    def text(self) -> str:
        return " | ".join(self.commands)

    def term_at(self, offset: int) -> int | None:
        """The term whose condition covers ``offset``, if any."""
        best: tuple[int, int] | None = None
        for start, end, term in self.term_spans:
            if start <= offset < end and (best is None or end - start < best[0]):
                best = (end - start, term)
        return best[1] if best else None


def assemble(
    cond: Cond,
    parses: Iterable[str],
    start_ms: int,
    end_ms: int,
    tail: Sequence[str],
) -> QueryText:
    """A query: the slice's time filter, the parse commands (and those they need), the
    condition (left out when it keeps everything) and ``tail``."""
    commands = [time_filter(start_ms, end_ms)]
    names: set[str] = set()
    for name in parses:
        names.update((*_PARSE_NEEDS.get(name, ()), name))
    commands.extend(PARSES[name] for name in PARSES if name in names)
    spans: list[tuple[int, int, int]] = []
    if cond != TRUE:
        cond_text, cond_spans = render(cond) if cond != FALSE else ("1 = 0", [])
        offset = len(" | ".join(commands)) + len(" | filter ")
        spans = [(offset + s, offset + e, t) for s, e, t in cond_spans]
        commands.append("filter " + cond_text)
    commands.extend(tail)
    return QueryText(tuple(commands), tuple(spans))


def _assemble(
    compiled: Compiled,
    which: Literal["possible", "sure", "uncertain"],
    start_ms: int,
    end_ms: int,
    tail: Sequence[str],
    extra_parses: Sequence[str] = (),
) -> QueryText:
    return assemble(
        compiled.condition(which), (*compiled.parses, *extra_parses), start_ms, end_ms, tail
    )


#: Fields each returned event carries.
ROW_FIELDS = "fields toMillis(@timestamp) as ms, @logStream, @ptr, @message"


def rows_query(
    compiled: Compiled,
    start_ms: int,
    end_ms: int,
    limit: int,
    which: Literal["possible", "uncertain"] = "possible",
) -> QueryText:
    """The events of ``[start_ms, end_ms]`` the filter may match, oldest first."""
    return _assemble(
        compiled, which, start_ms, end_ms, (ROW_FIELDS, "sort ms asc", f"limit {limit}")
    )


def countable() -> tuple[Cond, tuple[str, ...]]:
    """Records whose type, path, language and auth outcome follow from the fields a
    ``stats ... by`` can group on (and every malformed line): the rest must be read and
    counted here (a language sniffed from the payload, a path in oddly quoted fields)."""
    needs = _Needs()
    cases = _path_cases(needs)
    path_uncertain = disj(
        *(conj(_HTTP, c.guard) if c.http else c.guard for c in cases if c.group is None)
    )
    first_any = f"^/+{_segment((*_NO_LANGUAGE, *_LANGUAGES))}(?:/|\\z)"
    decided = disj(
        *(conj(c.guard, match(str(c.group), first_any)) for c in cases if c.group is not None)
    )
    language_known = disj(type_is("Websocket"), type_is("Bolt"), conj(_HTTP, decided))
    record_known = conj(neg(path_uncertain), language_known)
    return disj(neg(RECORD), record_known), tuple(sorted(needs.names))


def newest_query(start_ms: int, end_ms: int, limit: int = 100) -> QueryText:
    """The newest records of a range (``last:`` counts back from the newest one)."""
    tail = (ROW_FIELDS, "sort ms desc", f"limit {limit}")
    return assemble(RECORD, ("record",), start_ms, end_ms, tail)


def explain_condition(cond: Cond) -> str:
    """A condition as text (for ``--explain``)."""
    return render(cond)[0] if not isinstance(cond, Const) else ("all" if cond.value else "none")
