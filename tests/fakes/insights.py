"""Logs Insights for moto: the query subset ``stats --cloudwatch`` sends, evaluated for real.

moto's own query engine knows ``fields``, ``sort`` and ``limit`` only. Tests patch
``moto.logs.models.execute_query`` with ``execute_query`` here, which evaluates ``parse``
(regexes with named groups), ``filter`` (``ispresent(f)``, ``f != "v"``, ``toMillis(@timestamp)``
compared with ``>=``/``<=``/``<``/``>`` to a number, joined by ``and``),
``stats count(*)/min(f)/max(f) ... by f, ...``, ``sort f desc|asc`` and ``limit n`` over
the events in the time range, so the counts are checked against what was put.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterator
from typing import Any

_AGGREGATE = re.compile(r"(count|min|max)\(([^)]*)\)\s+as\s+(\w+)")
_COMPARE = re.compile(r"toMillis\(@timestamp\)\s*(>=|<=|<|>)\s*(-?[0-9]+)")
_OPERATORS = {">=": operator.ge, "<=": operator.le, "<": operator.lt, ">": operator.gt}


def _commands(query: str) -> Iterator[str]:
    """Split a query at ``|`` outside regexes and quotes."""
    current: list[str] = []
    in_regex = in_quote = escaped = False
    for char in query:
        if escaped:
            escaped = False
            current.append(char)
            continue
        if char == "\\":
            escaped = True
            current.append(char)
            continue
        if char == "/" and not in_quote:
            in_regex = not in_regex
        elif char == '"' and not in_regex:
            in_quote = not in_quote
        if char == "|" and not in_regex and not in_quote:
            yield "".join(current).strip()
            current = []
        else:
            current.append(char)
    if "".join(current).strip():
        yield "".join(current).strip()


def _parse(command: str, rows: list[dict[str, str]]) -> list[dict[str, str]]:
    match = re.fullmatch(r"parse\s+(\S+)\s+/(.*)/", command, re.DOTALL)
    assert match, command
    source, pattern = match.groups()
    regex = re.compile(re.sub(r"\(\?<(\w+)>", r"(?P<\1>", pattern))
    for row in rows:
        found = regex.search(row.get(source, ""))
        if found:
            row.update({k: v for k, v in found.groupdict().items() if v is not None})
    return rows


def _filter(command: str, rows: list[dict[str, str]]) -> list[dict[str, str]]:
    conditions = [c.strip() for c in command.removeprefix("filter").split(" and ")]

    def keep(row: dict[str, str]) -> bool:
        for condition in conditions:
            present = re.fullmatch(r"ispresent\((\w+)\)", condition)
            if present:
                if present.group(1) not in row:
                    return False
                continue
            compared = _COMPARE.fullmatch(condition)
            if compared:
                symbol, bound = compared.groups()
                if not _OPERATORS[symbol](int(row["@timestamp"]), int(bound)):
                    return False
                continue
            differs = re.fullmatch(r'(\w+)\s*!=\s*"(.*)"', condition)
            assert differs, condition
            if row.get(differs.group(1)) == differs.group(2):
                return False
        return True

    return [row for row in rows if keep(row)]


def _stats(command: str, rows: list[dict[str, str]]) -> list[dict[str, str]]:
    body = command.removeprefix("stats").strip()
    aggregates_text, _, by_text = body.partition(" by ")
    aggregates = _AGGREGATE.findall(aggregates_text)
    keys = [k.strip() for k in by_text.split(",") if k.strip()]
    groups: dict[tuple[str, ...], list[dict[str, str]]] = {}
    for row in rows:
        groups.setdefault(tuple(row.get(k, "") for k in keys), []).append(row)
    out = []
    for group_key, members in groups.items():
        result = dict(zip(keys, group_key, strict=True))
        for function, argument, name in aggregates:
            if function == "count":
                result[name] = str(len(members))
            else:
                values = [m[argument] for m in members if argument in m]
                chosen = (min if function == "min" else max)(values, key=lambda v: (len(v), v))
                result[name] = chosen
        out.append(result)
    return out


def execute_query(
    log_groups: list[Any], query: str, start_time: int, end_time: int
) -> list[dict[str, str]]:
    """Evaluate ``query`` over the groups' events in ``[start_time, end_time]`` (seconds)."""
    rows: list[dict[str, str]] = []
    for group in log_groups:
        for stream in group.streams.values():
            for event in stream.events:
                if start_time * 1000 <= event.timestamp <= end_time * 1000 + 999:
                    rows.append({"@message": event.message, "@timestamp": str(event.timestamp)})
    for command in _commands(query):
        verb = command.split(None, 1)[0]
        if verb == "parse":
            rows = _parse(command, rows)
        elif verb == "filter":
            rows = _filter(command, rows)
        elif verb == "stats":
            rows = _stats(command, rows)
        elif verb == "sort":
            field, _, direction = command.removeprefix("sort").strip().partition(" ")
            rows.sort(key=lambda r: int(r.get(field, "0") or 0), reverse=direction != "asc")
        elif verb == "limit":
            rows = rows[: int(command.split()[1])]
        else:
            raise AssertionError(f"unsupported Insights command: {command}")
    return rows
