"""CloudWatch Logs Insights for moto: the query language subset neptune-audit sends, run for real.

moto's own query engine knows ``fields``, ``sort`` and ``limit`` only, and runs every query
to completion inside StartQuery. This module is a small Insights written from the AWS
documentation of each command (cited on each function below), and a service layer that
tests patch into moto's server (``FakeInsights.install``): StartQuery, GetQueryResults
(queries run for a few polls, with statistics), StopQuery and GetLogRecord, with an account
row limit, a limit on concurrent queries (LimitExceededException) and hooks that make a
query fail, time out or be cancelled. A query the engine cannot read is refused with
MalformedQueryException and the offset of the problem, as the service does.

The language, as implemented (query syntax:
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax.html):

- commands separated by ``|``: ``fields``, ``display``, ``parse`` (regex mode), ``filter``,
  ``stats``, ``sort``, ``limit``;
- expressions: field names (``@message``, ``ts``, backticked), numbers, strings in double or
  single quotes, regexes in slashes (``\\/`` for a slash), ``and``/``or``/``not``, comparisons
  ``= != < <= > >=``, ``like``/``=~`` with a string (substring) or a regex (search),
  ``in [...]``/``not in [...]``, parentheses and the functions ``ispresent``, ``toMillis``,
  ``coalesce``, ``tolower``, ``toupper``, ``strlen``, ``bin``;
- a comparison with a missing field is null, and ``and``/``or``/``not`` use three-valued
  logic: ``filter`` keeps the events whose condition is true;
- regexes: Java-style syntax as our compiler writes it, run with Python's ``re`` after
  ``(?<name>`` became ``(?P<name>``, ``\\x{..}`` a character, ``\\p{L}``/``\\p{N}``/
  ``\\p{Nd}`` Unicode classes and ``\\z`` the end.
"""

from __future__ import annotations

import base64
import bisect
import json
import re
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from moto.core.exceptions import JsonRESTError

Value = str | float | bool | None
Row = dict[str, Any]


class QueryError(Exception):
    """A query the engine cannot read (MalformedQueryException), at ``offset``."""

    def __init__(self, message: str, offset: int = 0, end: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.end = offset + 1 if end is None else end


# -- regexes -----------------------------------------------------------------------------------


@cache
def _category_class(name: str) -> str:
    """The body of a Python character class for a Unicode general category prefix."""
    ranges: list[tuple[int, int]] = []
    for code in range(0x110000):
        if unicodedata.category(chr(code)).startswith(name):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges
    )


_PROPERTY = re.compile(r"\\([pP])\{(\w+)\}")


@cache
def python_regex(source: str) -> re.Pattern[str]:
    """An Insights regex (Java-like syntax, as documented for ``parse`` and ``filter``)
    compiled for Python."""
    out: list[str] = []
    index = 0
    in_class = False
    while index < len(source):
        char = source[index]
        if char == "\\" and index + 1 < len(source):
            following = source[index + 1]
            if following == "x" and source.startswith("{", index + 2):
                close = source.index("}", index)
                out.append(re.escape(chr(int(source[index + 3 : close], 16))))
                index = close + 1
                continue
            prop = _PROPERTY.match(source, index)
            if prop:
                negated, name = prop.group(1) == "P", prop.group(2)
                if name == "Nd":  # Python's \d is Unicode category Nd
                    out.append("\\D" if negated else "\\d")
                else:
                    members = _category_class(name)
                    if in_class and not negated:
                        out.append(members)
                    else:
                        out.append(("[^" if negated else "[") + members + "]")
                index = prop.end()
                continue
            if following == "z":
                out.append("\\Z")
                index += 2
                continue
            out.append(source[index : index + 2])
            index += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
            out.append(char)
        elif char == "[":
            in_class = True
            out.append(char)
            if source.startswith("^", index + 1):
                out.append("^")
                index += 1
            if source.startswith("]", index + 1):
                out.append("\\]")
                index += 1
        elif source.startswith("(?<", index) and not source.startswith(("(?<=", "(?<!"), index):
            out.append("(?P<")
            index += 3
            continue
        else:
            out.append(char)
        index += 1
    return re.compile("".join(out))


# -- tokens ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str  # name, number, string, regex, op, end
    text: str
    start: int
    value: Any = None


_NAME_START = re.compile(r"[@A-Za-z_]")
_NAME = re.compile(r"@?[A-Za-z_][A-Za-z0-9_.@]*")
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_PERIOD = re.compile(r"[0-9]+(?:ms|s|m|h|d)(?![A-Za-z0-9_])")
_OPERATORS = ("=~", "!=", "<=", ">=", "=", "<", ">", "(", ")", ",", "[", "]", "*", "|")


def tokenize(text: str) -> list[Token]:
    """The tokens of a whole query (``|`` included)."""
    tokens: list[Token] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char.isspace():
            index += 1
            continue
        if char == "#":  # a comment runs to the end of the line
            newline = text.find("\n", index)
            index = len(text) if newline < 0 else newline
            continue
        if char in "\"'":
            value, end = _quoted(text, index)
            tokens.append(Token("string", text[index:end], index, value))
            index = end
            continue
        if char == "/":
            pattern, end = _regex(text, index)
            tokens.append(Token("regex", text[index:end], index, pattern))
            index = end
            continue
        if char == "`":
            end = text.find("`", index + 1)
            if end < 0:
                raise QueryError("unterminated backtick", index)
            tokens.append(Token("name", text[index : end + 1], index, text[index + 1 : end]))
            index = end + 1
            continue
        period = _PERIOD.match(text, index)
        if period:  # bin(5m)
            tokens.append(Token("period", period.group(), index, period.group()))
            index = period.end()
            continue
        number = _NUMBER.match(text, index)
        if number and (char != "-" or not tokens or tokens[-1].kind == "op"):
            tokens.append(Token("number", number.group(), index, float(number.group())))
            index = number.end()
            continue
        if _NAME_START.match(char):
            name = _NAME.match(text, index)
            assert name is not None
            tokens.append(Token("name", name.group(), index, name.group()))
            index = name.end()
            continue
        for operator in _OPERATORS:
            if text.startswith(operator, index):
                tokens.append(Token("op", operator, index, operator))
                index += len(operator)
                break
        else:
            raise QueryError(f"unexpected character {char!r}", index)
    tokens.append(Token("end", "", len(text)))
    return tokens


def _quoted(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    out: list[str] = []
    index = start + 1
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            out.append(text[index + 1])
            index += 2
            continue
        if char == quote:
            return "".join(out), index + 1
        out.append(char)
        index += 1
    raise QueryError("unterminated string", start)


def _regex(text: str, start: int) -> tuple[re.Pattern[str], int]:
    out: list[str] = []
    index = start + 1
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            following = text[index + 1]
            out.append("/" if following == "/" else char + following)
            index += 2
            continue
        if char == "/":
            try:
                return python_regex("".join(out)), index + 1
            except (re.error, ValueError) as error:
                raise QueryError(f"invalid regex: {error}", start, index + 1) from None
        out.append(char)
        index += 1
    raise QueryError("unterminated regex", start)


# -- expressions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expr:
    kind: str  # field, literal, regex, call, compare, like, in, and, or, not, star
    value: Any = None
    args: tuple[Expr, ...] = ()
    start: int = 0


class _Parser:
    """Expressions: or > and > not > comparison > primary."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0

    def peek(self) -> Token:
        return self.tokens[self.index]

    def next(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def word(self, *words: str) -> bool:
        token = self.peek()
        return token.kind == "name" and token.text.lower() in words

    def expect(self, text: str) -> Token:
        token = self.next()
        if token.text != text:
            raise QueryError(f"expected {text!r}, found {token.text or 'the end'!r}", token.start)
        return token

    def expression(self) -> Expr:
        left = self.conjunction()
        while self.word("or"):
            start = self.next().start
            left = Expr("or", args=(left, self.conjunction()), start=start)
        return left

    def conjunction(self) -> Expr:
        left = self.negation()
        while self.word("and"):
            start = self.next().start
            left = Expr("and", args=(left, self.negation()), start=start)
        return left

    def negation(self) -> Expr:
        if self.word("not"):
            start = self.next().start
            return Expr("not", args=(self.negation(),), start=start)
        return self.comparison()

    def comparison(self) -> Expr:
        left = self.primary()
        token = self.peek()
        negate = False
        if self.word("not") and self.tokens[self.index + 1].text.lower() in ("like", "in"):
            self.next()
            negate = True
            token = self.peek()
        result: Expr | None = None
        if token.kind == "op" and token.text in ("=", "!=", "<", "<=", ">", ">="):
            self.next()
            result = Expr("compare", token.text, (left, self.primary()), token.start)
        elif token.text == "=~" or self.word("like"):
            self.next()
            right = self.primary()
            if right.kind not in ("literal", "regex"):
                raise QueryError("like and =~ take a string or a regex", token.start)
            result = Expr("like", None, (left, right), token.start)
        elif self.word("in"):
            self.next()
            self.expect("[")
            items: list[Expr] = []
            while self.peek().text != "]":
                items.append(self.primary())
                if self.peek().text == ",":
                    self.next()
            self.expect("]")
            result = Expr("in", None, (left, *items), token.start)
        if result is None:
            if negate:
                raise QueryError("expected like or in after not", token.start)
            return left
        return Expr("not", args=(result,), start=token.start) if negate else result

    def primary(self) -> Expr:
        token = self.next()
        if token.kind == "op" and token.text == "(":
            inner = self.expression()
            self.expect(")")
            return inner
        if token.kind == "op" and token.text == "*":
            return Expr("star", start=token.start)
        if token.kind in ("number", "string", "period"):
            return Expr("literal", token.value, start=token.start)
        if token.kind == "regex":
            return Expr("regex", token.value, start=token.start)
        if token.kind == "name":
            if self.peek().text == "(":
                self.next()
                args: list[Expr] = []
                while self.peek().text != ")":
                    args.append(self.expression())
                    if self.peek().text == ",":
                        self.next()
                    elif self.peek().text != ")":
                        raise QueryError("expected ',' or ')'", self.peek().start)
                self.expect(")")
                name = token.text.lower()
                if name not in _FUNCTIONS and name not in _SPECIAL_FUNCTIONS:
                    raise QueryError(f"unknown function {token.text}", token.start)
                return Expr("call", name, tuple(args), token.start)
            return Expr("field", token.value, start=token.start)
        raise QueryError(f"unexpected {token.text or 'end of query'!r}", token.start)


def _number(value: Value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        return value
    try:
        return float(value)
    except ValueError:
        return None


def _text(value: Value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    return str(value)


_PERIODS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def period_ms(text: str) -> int:
    """``5m`` -> 300000 (the periods ``bin`` takes)."""
    found = re.fullmatch(r"([0-9]+)(ms|s|m|h|d)", text)
    if not found:
        raise QueryError(f"bad period {text!r}")
    return int(found.group(1)) * _PERIODS[found.group(2)]


def _to_millis(value: Value) -> Value:
    number = _number(value)
    if number is not None:
        return number
    if isinstance(value, str):
        parsed = datetime.strptime(value, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
        return float(int(parsed.timestamp() * 1000))
    return None


_FUNCTIONS: dict[str, Callable[[list[Value]], Value]] = {
    "tomillis": lambda a: _to_millis(a[0]),
    "coalesce": lambda a: next((v for v in a if v is not None), None),
    "tolower": lambda a: None if a[0] is None else str(a[0]).lower(),
    "toupper": lambda a: None if a[0] is None else str(a[0]).upper(),
    "strlen": lambda a: None if a[0] is None else float(len(str(a[0]))),
}


#: Functions evaluated apart: presence, aggregates and ``bin`` (stats only).
_SPECIAL_FUNCTIONS = frozenset({"ispresent", "bin", "count", "min", "max", "sum"})


def evaluate(expr: Expr, row: Row) -> Value:
    """An expression's value for one event (None: null)."""
    kind = expr.kind
    if kind == "field":
        value = row.get(expr.value)
        return value
    if kind == "literal":
        return expr.value  # type: ignore[no-any-return]
    if kind == "call":
        if expr.value == "ispresent":
            target = expr.args[0]
            return target.kind == "field" and row.get(target.value) is not None
        return _FUNCTIONS[expr.value]([evaluate(a, row) for a in expr.args])
    if kind == "not":
        inner = evaluate(expr.args[0], row)
        return None if inner is None else not inner
    if kind == "and":
        left = evaluate(expr.args[0], row)
        if left is False:
            return False
        right = evaluate(expr.args[1], row)
        if right is False:
            return False
        return None if left is None or right is None else True
    if kind == "or":
        left = evaluate(expr.args[0], row)
        if left is True:
            return True
        right = evaluate(expr.args[1], row)
        if right is True:
            return True
        return None if left is None or right is None else False
    if kind == "compare":
        left, right = evaluate(expr.args[0], row), evaluate(expr.args[1], row)
        if left is None or right is None:
            return None
        a, b = _number(left), _number(right)
        pair: tuple[Any, Any] = (
            (a, b)
            if a is not None and b is not None
            else (
                _text(left),
                _text(right),
            )
        )
        op = str(expr.value)
        compared: bool = {
            "=": pair[0] == pair[1],
            "!=": pair[0] != pair[1],
            "<": pair[0] < pair[1],
            "<=": pair[0] <= pair[1],
            ">": pair[0] > pair[1],
            ">=": pair[0] >= pair[1],
        }[op]
        return compared
    if kind == "like":
        subject = _text(evaluate(expr.args[0], row))
        if subject is None:
            return None
        pattern = expr.args[1]
        if pattern.kind == "regex":
            return pattern.value.search(subject) is not None
        return str(pattern.value) in subject
    if kind == "in":
        subject = _text(evaluate(expr.args[0], row))
        if subject is None:
            return None
        return subject in {_text(evaluate(item, row)) for item in expr.args[1:]}
    raise QueryError(f"cannot evaluate {kind}", expr.start)


# -- commands ----------------------------------------------------------------------------------


@dataclass
class Command:
    verb: str
    tokens: list[Token]
    start: int


def split_commands(tokens: list[Token]) -> list[Command]:
    commands: list[Command] = []
    current: list[Token] = []
    for token in tokens:
        if token.kind in ("end",) or (token.kind == "op" and token.text == "|"):
            if not current:
                raise QueryError("empty command", token.start)
            verb = current[0]
            if verb.kind != "name":
                raise QueryError("expected a command", verb.start)
            commands.append(Command(verb.text.lower(), current[1:], verb.start))
            current = []
        else:
            current.append(token)
    return commands


def _parser(command: Command) -> _Parser:
    end = command.tokens[-1].start + len(command.tokens[-1].text) if command.tokens else 0
    return _Parser([*command.tokens, Token("end", "", end)])


def _named_list(parser: _Parser) -> list[tuple[Expr, str]]:
    """``expr [as name], ...`` (``fields``, ``display``, ``stats``, ``by``): a field keeps
    its name, another expression is named by its text unless ``as`` names it."""
    items: list[tuple[Expr, str]] = []
    while True:
        before = parser.index
        expr = parser.expression()
        name = (
            expr.value
            if expr.kind == "field"
            else " ".join(t.text for t in parser.tokens[before : parser.index])
        )
        if parser.word("as"):
            parser.next()
            alias = parser.next()
            if alias.kind != "name":
                raise QueryError("expected a name after as", alias.start)
            name = alias.value
        items.append((expr, str(name)))
        if parser.peek().text != ",":
            return items
        parser.next()


def cmd_parse(command: Command, rows: list[Row]) -> list[Row]:
    """``parse field /regex/``: named groups become fields; an event the pattern does not
    match keeps its fields and gets none (CWL_QuerySyntax-Parse.html)."""
    if len(command.tokens) != 2 or command.tokens[1].kind != "regex":
        raise QueryError("parse takes a field and a regex", command.start)
    source = command.tokens[0]
    if source.kind != "name":
        raise QueryError("parse takes a field", source.start)
    regex: re.Pattern[str] = command.tokens[1].value
    if not regex.groupindex:
        raise QueryError("the regex has no named group", command.tokens[1].start)
    key = (str(source.value), regex.pattern)
    for row in rows:
        text = row.get(source.value)
        if text is None:
            continue
        event: Event | None = row.get("") if key[0] in ("@message", "@logStream") else None
        if event is not None and key in event.memo:
            found = event.memo[key]
        else:
            found = regex.search(_text(text) or "")
            if event is not None:
                event.memo[key] = found
        if found:
            row.update({k: v for k, v in found.groupdict().items() if v is not None})
    return rows


def cmd_filter(command: Command, rows: list[Row]) -> list[Row]:
    """``filter expr``: the events for which the condition is true
    (CWL_QuerySyntax-Filter.html)."""
    parser = _parser(command)
    expr = parser.expression()
    if parser.peek().kind != "end":
        raise QueryError(f"unexpected {parser.peek().text!r}", parser.peek().start)
    return [row for row in rows if evaluate(expr, row) is True]


def cmd_fields(command: Command, rows: list[Row], shown: list[str]) -> list[Row]:
    """``fields expr [as name], ...``: computes fields and chooses those returned
    (CWL_QuerySyntax-Fields.html)."""
    parser = _parser(command)
    items = _named_list(parser)
    for row in rows:
        values = {name: evaluate(expr, row) for expr, name in items}
        row.update({k: v for k, v in values.items() if v is not None})
    shown[:] = [name for _, name in items]
    return rows


def cmd_stats(command: Command, rows: list[Row]) -> tuple[list[Row], list[str]]:
    """``stats agg(...) [as name], ... [by key, ...]`` with ``count(*)``, ``count(f)``,
    ``min``, ``max``, ``sum`` and ``bin(period)`` keys: one row per group; a key a
    group lacks is left out of its row (CWL_QuerySyntax-Stats.html)."""
    tokens = command.tokens
    by = next(
        (i for i, t in enumerate(tokens) if t.kind == "name" and t.text.lower() == "by"), None
    )
    head = Command("stats", tokens[:by] if by is not None else tokens, command.start)
    aggregates = _named_list(_parser(head))
    keys: list[tuple[Expr, str]] = []
    if by is not None:
        keys = _named_list(_parser(Command("by", tokens[by + 1 :], tokens[by].start)))
    for expr, _ in aggregates:
        if expr.kind != "call" or expr.value not in ("count", "min", "max", "sum"):
            raise QueryError("stats takes count, min, max or sum", expr.start)
    groups: dict[tuple[Value, ...], list[Row]] = {}
    for row in rows:
        key = tuple(_key(expr, row) for expr, _ in keys)
        groups.setdefault(key, []).append(row)
    out: list[Row] = []
    for key, members in groups.items():
        result: Row = {name: value for (_, name), value in zip(keys, key, strict=True)}
        result = {k: v for k, v in result.items() if v is not None}
        for expr, name in aggregates:
            result[name] = _aggregate(expr, members)
        out.append(result)
    names = [name for _, name in keys] + [name for _, name in aggregates]
    return out, names


def _key(expr: Expr, row: Row) -> Value:
    if expr.kind == "call" and expr.value == "bin":
        period = period_ms(str(expr.args[0].value) if expr.args else "")
        stamp = row["@timestamp"]
        return _timestamp_text(stamp - stamp % period)
    value = evaluate(expr, row)
    return _text(value) if value is not None else None


def _aggregate(expr: Expr, members: list[Row]) -> Value:
    name = expr.value
    argument = expr.args[0] if expr.args else Expr("star")
    if name == "count":
        if argument.kind == "star":
            return float(len(members))
        return float(sum(1 for m in members if evaluate(argument, m) is not None))
    values = [evaluate(argument, m) for m in members]
    present = [v for v in values if v is not None]
    if not present:
        return None
    if name == "sum":
        return float(sum(_number(v) or 0 for v in present))
    numbers = [_number(v) for v in present]
    if all(n is not None for n in numbers):
        chosen = (min if name == "min" else max)(range(len(present)), key=lambda i: numbers[i])  # type: ignore[arg-type,return-value]
        return present[chosen]
    return (min if name == "min" else max)(str(v) for v in present)


def cmd_sort(command: Command, rows: list[Row]) -> list[Row]:
    """``sort field [asc|desc], ...`` (CWL_QuerySyntax-Sort.html); numbers as numbers;
    the sort is stable, events without the field last."""
    parser = _parser(command)
    specs: list[tuple[Expr, bool]] = []
    while parser.peek().kind != "end":
        expr = parser.primary()
        descending = False
        if parser.word("asc", "desc"):
            descending = parser.next().text.lower() == "desc"
        specs.append((expr, descending))
        if parser.peek().text == ",":
            parser.next()
    for expr, descending in reversed(specs):
        present = [r for r in rows if evaluate(expr, r) is not None]
        missing = [r for r in rows if evaluate(expr, r) is None]

        def order(row: Row, expr: Expr = expr) -> tuple[int, float, str]:
            value = evaluate(expr, row)
            number = _number(value)
            return (0, number, "") if number is not None else (1, 0.0, _text(value) or "")

        present.sort(key=order, reverse=descending)
        rows = present + missing
    return rows


def cmd_limit(command: Command, rows: list[Row]) -> list[Row]:
    """``limit n`` (CWL_QuerySyntax-Limit.html)."""
    if len(command.tokens) != 1 or command.tokens[0].kind != "number":
        raise QueryError("limit takes a number", command.start)
    return rows[: int(command.tokens[0].value)]


@dataclass
class Event:
    """One log event, as the engine sees it."""

    timestamp: int  # ms
    message: str
    stream: str
    group: str
    pointer: str
    #: Matches of ``parse`` regexes on this event's own fields, by (field, pattern).
    memo: dict[tuple[str, str], re.Match[str] | None] = field(default_factory=dict)


@dataclass
class Outcome:
    """What a query returns: result rows (fields as text) and statistics."""

    rows: list[dict[str, str]]
    records_matched: int
    records_scanned: int
    bytes_scanned: int


def _timestamp_text(epoch_ms: int) -> str:
    moment = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{epoch_ms % 1000:03d}"


def check(query: str) -> None:
    """Raise QueryError for a query the engine cannot read."""
    run_query(query, [], 0, 0)


def run_query(
    query: str, events: Sequence[Event], start_s: int, end_s: int, row_limit: int = 10_000
) -> Outcome:
    """Run a query over the events of ``[start_s, end_s]`` (whole seconds, both included,
    as StartQuery takes them); results are capped at ``row_limit`` rows."""
    commands = split_commands(tokenize(query))
    low, high = start_s * 1000, end_s * 1000 + 999
    scanned = [e for e in events if low <= e.timestamp <= high]
    rows: list[Row] = [
        {
            "": e,  # the event itself, for parse results kept between queries
            "@timestamp": e.timestamp,
            "@message": e.message,
            "@logStream": e.stream,
            "@log": e.group,
            "@ptr": e.pointer,
        }
        for e in scanned
    ]
    shown: list[str] = []
    matched: int | None = None
    for command in commands:
        verb = command.verb
        if verb == "parse":
            rows = cmd_parse(command, rows)
        elif verb == "filter":
            rows = cmd_filter(command, rows)
        elif verb in ("fields", "display"):
            rows = cmd_fields(command, rows, shown)
        elif verb == "stats":
            matched = len(rows) if matched is None else matched
            rows, shown = cmd_stats(command, rows)
        elif verb == "sort":
            matched = len(rows) if matched is None else matched
            rows = cmd_sort(command, rows)
        elif verb == "limit":
            matched = len(rows) if matched is None else matched
            rows = cmd_limit(command, rows)
        else:
            raise QueryError(f"unknown command {verb}", command.start)
    matched = len(rows) if matched is None else matched
    fields = shown or ["@timestamp", "@message"]
    results: list[dict[str, str]] = []
    for row in rows[:row_limit]:
        out: dict[str, str] = {}
        for name in [*fields, "@ptr"]:
            value = row.get(name)
            if value is None:
                continue
            if name == "@timestamp" and isinstance(value, int):
                out[name] = _timestamp_text(value)
            else:
                out[name] = _text(value) or ""
        results.append(out)
    return Outcome(
        results,
        matched,
        len(scanned),
        sum(len(e.message.encode()) for e in scanned),
    )


def execute_query(
    log_groups: list[Any], query: str, start_time: int, end_time: int
) -> list[dict[str, str]]:
    """moto's ``execute_query`` hook (kept for the plain moto path)."""
    return run_query(query, list(moto_events(log_groups)), start_time, end_time).rows


def moto_events(groups: Sequence[Any]) -> Iterator[Event]:
    """The events of moto log groups."""
    for group in groups:
        for stream in group.streams.values():
            for event in stream.events:
                yield Event(
                    int(event.timestamp),
                    str(event.message),
                    str(stream.log_stream_name),
                    str(group.name),
                    pointer_of(group.name, stream.log_stream_name, int(event.event_id)),
                )


def pointer_of(group: str, stream: str, event_id: int) -> str:
    """An opaque ``@ptr`` for GetLogRecord."""
    raw = json.dumps([group, stream, event_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def pointer_parts(pointer: str) -> tuple[str, str, int]:
    padded = pointer + "=" * (-len(pointer) % 4)
    group, stream, event_id = json.loads(base64.urlsafe_b64decode(padded))
    return str(group), str(stream), int(event_id)


# -- the service -------------------------------------------------------------------------------


@dataclass
class FakeQuery:
    """A query the fake service knows."""

    id: str
    text: str
    groups: list[str]
    start_s: int
    end_s: int
    limit: int
    status: str = "Running"
    outcome: Outcome | None = None
    polls: int = 0
    started: float = field(default_factory=time.monotonic)
    stopped_by_user: bool = False


class ServiceError(Exception):
    """Raised by a hook: the service answers with this error code and message."""

    def __init__(self, code: str, message: str = "", status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class FakeInsights:
    """Logs Insights behind moto's server, configurable per test (``reset`` between)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Defaults: the documented limits, queries complete at the first poll."""
        with getattr(self, "lock", threading.Lock()):
            #: Rows a query returns at most (10,000 in AWS; tests force it lower).
            self.row_limit = 10_000
            #: Queries that may run at once (30 in AWS), then LimitExceededException.
            self.max_running = 30
            #: GetQueryResults answers "Running" this many times before "Complete".
            self.polls_to_complete = 0
            #: Called with each query string at StartQuery; may raise ServiceError (or
            #: QueryError: MalformedQueryException at its offset).
            self.on_start: Callable[[str], None] | None = None
            #: Called at each poll; a status it returns ("Failed", "Timeout", ...) ends it.
            self.on_poll: Callable[[FakeQuery], str | None] | None = None
            self.queries: dict[str, FakeQuery] = {}
            self.peak_running = 0
            self.limit_exceeded = 0
            self._cache: dict[str, tuple[int, list[Event], list[int]]] = {}

    # Statistics of what tests asked.
    @property
    def history(self) -> list[FakeQuery]:
        """Every query started, oldest first."""
        return sorted(self.queries.values(), key=lambda q: q.started)

    def running(self) -> int:
        return sum(1 for q in self.queries.values() if q.status in ("Running", "Scheduled"))

    def start(self, backend: Any, params: dict[str, Any]) -> str:
        names = list(params.get("logGroupNames") or [])
        if params.get("logGroupName"):
            names.append(params["logGroupName"])
        names += [
            str(i).split(":log-group:")[-1].removesuffix(":*")
            for i in params.get("logGroupIdentifiers") or []
        ]
        query = str(params.get("queryString", ""))
        for name in names:
            if name not in backend.groups:
                raise ServiceError(
                    "ResourceNotFoundException", f"Log group {name} does not exist", 400
                )
        if len(query) > 10_000:
            raise ServiceError("InvalidParameterException", "queryString is too long")
        limit = int(params.get("limit") or 10_000)
        if not 1 <= limit <= 10_000:
            raise ServiceError("InvalidParameterException", "limit must be 1 to 10000")
        try:
            if self.on_start is not None:
                self.on_start(query)
            check(query)
        except QueryError as error:
            raise _MalformedQuery(error) from None
        with self.lock:
            if self.running() >= self.max_running:
                self.limit_exceeded += 1
                raise ServiceError(
                    "LimitExceededException", "too many concurrent queries in this account"
                )
            fake = FakeQuery(
                str(uuid.uuid4()),
                query,
                names,
                int(params["startTime"]),
                int(params["endTime"]),
                limit,
            )
            self.queries[fake.id] = fake
            self.peak_running = max(self.peak_running, self.running())
        events = self.events(backend, names, fake.start_s, fake.end_s)
        fake.outcome = run_query(
            query, events, fake.start_s, fake.end_s, min(limit, self.row_limit)
        )
        return fake.id

    def events(self, backend: Any, names: list[str], start_s: int, end_s: int) -> list[Event]:
        """The groups' events in a range, from a cache kept sorted by time (rebuilt when
        a group gains events)."""
        found: list[Event] = []
        for name in names:
            group = backend.groups[name]
            size = sum(len(s.events) for s in group.streams.values())
            with self.lock:
                cached = self._cache.get(name)
            if cached is None or cached[0] != size:
                everything = sorted(moto_events([group]), key=lambda e: e.timestamp)
                cached = (size, everything, [e.timestamp for e in everything])
                with self.lock:
                    self._cache[name] = cached
            _, everything, stamps = cached
            low = bisect.bisect_left(stamps, start_s * 1000)
            high = bisect.bisect_right(stamps, end_s * 1000 + 999)
            found.extend(everything[low:high])
        return found

    def results(self, query_id: str) -> dict[str, Any]:
        with self.lock:
            fake = self.queries.get(query_id)
            if fake is None:
                raise ServiceError("ResourceNotFoundException", "no such query")
            if fake.status in ("Running", "Scheduled"):
                fake.polls += 1
                forced = self.on_poll(fake) if self.on_poll is not None else None
                if forced:
                    fake.status = forced
                elif fake.polls > self.polls_to_complete:
                    fake.status = "Complete"
            outcome = fake.outcome
            assert outcome is not None
            done = fake.status == "Complete"
            share = 1.0 if done else 0.5
            return {
                "status": fake.status,
                "results": [
                    [{"field": k, "value": v} for k, v in row.items()] for row in outcome.rows
                ]
                if done
                else [],
                "statistics": {
                    "recordsMatched": float(outcome.records_matched if done else 0),
                    "recordsScanned": float(int(outcome.records_scanned * share)),
                    "bytesScanned": float(int(outcome.bytes_scanned * share)),
                },
            }

    def stop(self, query_id: str) -> dict[str, Any]:
        with self.lock:
            fake = self.queries.get(query_id)
            if fake is None:
                raise ServiceError("ResourceNotFoundException", "no such query")
            if fake.status not in ("Running", "Scheduled"):
                raise ServiceError("InvalidParameterException", "the query is not running")
            fake.status = "Cancelled"
            fake.stopped_by_user = True
            return {"success": True}

    def log_record(self, backend: Any, pointer: str) -> dict[str, Any]:
        try:
            group, stream, event_id = pointer_parts(pointer)
            events = backend.groups[group].streams[stream].events
        except (ValueError, KeyError):
            raise ServiceError("InvalidParameterException", "bad log record pointer") from None
        ids = [e.event_id for e in events]
        at = bisect.bisect_left(ids, event_id)
        if at >= len(ids) or ids[at] != event_id:
            raise ServiceError("ResourceNotFoundException", "no such log record")
        event = events[at]
        return {
            "logRecord": {
                "@message": event.message,
                "@timestamp": str(event.timestamp),
                "@logStream": stream,
                "@log": group,
            }
        }

    # -- moto wiring ---------------------------------------------------------------------------

    def install(self) -> Callable[[], None]:
        """Patch moto's Logs responses (the server runs in this process); returns undo."""
        import moto.logs.models
        import moto.logs.responses

        fake = self
        responses = moto.logs.responses.LogsResponse
        saved = {
            name: getattr(responses, name, None)
            for name in ("start_query", "get_query_results", "stop_query", "get_log_record")
        }
        saved_execute = getattr(moto.logs.models, "execute_query")  # noqa: B009

        def answer(call: Callable[[], dict[str, Any]]) -> str:
            try:
                return json.dumps(call())
            except _MalformedQuery as error:
                raise _MotoMalformed(error.error) from None
            except ServiceError as error:
                raise JsonRESTError(error.code, error.message) from None

        def start_query(self: Any) -> str:
            params = {
                k: self._get_param(k)
                for k in (
                    "logGroupName",
                    "logGroupNames",
                    "logGroupIdentifiers",
                    "startTime",
                    "endTime",
                    "queryString",
                    "limit",
                )
            }
            return answer(lambda: {"queryId": fake.start(self.logs_backend, params)})

        def get_query_results(self: Any) -> str:
            return answer(lambda: fake.results(self._get_param("queryId")))

        def stop_query(self: Any) -> str:
            return answer(lambda: fake.stop(self._get_param("queryId")))

        def get_log_record(self: Any) -> str:
            return answer(
                lambda: fake.log_record(self.logs_backend, self._get_param("logRecordPointer"))
            )

        responses.start_query = start_query  # type: ignore[method-assign]
        responses.get_query_results = get_query_results  # type: ignore[method-assign]
        setattr(responses, "stop_query", stop_query)  # noqa: B010
        setattr(responses, "get_log_record", get_log_record)  # noqa: B010
        setattr(moto.logs.models, "execute_query", execute_query)  # noqa: B010

        def undo() -> None:
            for name, value in saved.items():
                if value is None:
                    delattr(responses, name)
                else:
                    setattr(responses, name, value)
            setattr(moto.logs.models, "execute_query", saved_execute)  # noqa: B010

        return undo


class _MalformedQuery(Exception):
    def __init__(self, error: QueryError) -> None:
        super().__init__(error.message)
        self.error = error


class _MotoMalformed(JsonRESTError):
    """MalformedQueryException with the documented ``queryCompileError``."""

    def __init__(self, error: QueryError) -> None:
        super().__init__("MalformedQueryException", error.message)
        self.description = json.dumps(
            {
                "__type": "MalformedQueryException",
                "message": error.message,
                "queryCompileError": {
                    "location": {"startCharOffset": error.offset, "endCharOffset": error.end},
                    "message": error.message,
                },
            }
        )
