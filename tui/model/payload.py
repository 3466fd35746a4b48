"""Decoding a payload into the query it carries, and deciding its language.

The payload is the raw request body: a URL-encoded form, a JSON document, a TinkerPop
``RequestMessage{...}``, a GET target, or plain text (Bolt). The language follows from the
connection type and path; only when those do not decide it is the payload's shape used.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Final
from urllib.parse import parse_qsl

from tui.model.fields import split_top_level
from tui.model.record import Query

GREMLIN: Final = "gremlin"
SPARQL: Final = "sparql"
OPENCYPHER: Final = "opencypher"

#: The query languages, in the order lists show them (the one table of their names).
LANGUAGES: Final = (GREMLIN, SPARQL, OPENCYPHER)

#: ``language_for`` result meaning "the type and path do not decide; look at the payload".
SNIFF: Final = "?"

_BY_ENDPOINT: dict[str, str] = {lang: lang for lang in LANGUAGES}
_NO_LANGUAGE_ENDPOINTS: frozenset[str] = frozenset(
    {"status", "loader", "system", "propertygraph", "rdf", "ml", "streams", "stream"}
)

#: Form and JSON keys that hold a query, in priority order.
_QUERY_KEYS: tuple[str, ...] = ("gremlin", "query", "update", "cypher")

_FORM_BODY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*=[^\s]*\Z", re.DOTALL)
_SPARQL_START = re.compile(
    r"\s*(?:PREFIX|BASE|SELECT|ASK|CONSTRUCT|DESCRIBE|INSERT|DELETE|WITH|LOAD|CLEAR|DROP|CREATE\s+GRAPH)\b",
    re.IGNORECASE,
)
_CYPHER_START = re.compile(
    r"\s*(?:MATCH|OPTIONAL\s+MATCH|CREATE|MERGE|RETURN|UNWIND|WITH|CALL|EXPLAIN|PROFILE)\b",
    re.IGNORECASE,
)
_REQUEST_MESSAGE_END = (
    ", aliases={",
    ", bindings={",
    ", language=",
    ", batchSize=",
    ", evaluationTimeout=",
    ", userAgent=",
)


def language_for(conn_type: str | None, path: str | None) -> str | None:
    """The language a connection type and HTTP path imply, None for none, or ``SNIFF``."""
    if conn_type == "Websocket":
        return GREMLIN
    if conn_type == "Bolt":
        return OPENCYPHER
    if conn_type not in ("HTTP_POST", "HTTP_GET") or path is None:
        return SNIFF
    segments = [s for s in path.split("/") if s]
    if not segments:
        return SNIFF
    first = segments[0].lower()
    if first in _NO_LANGUAGE_ENDPOINTS:
        return None
    lang = _BY_ENDPOINT.get(first)
    if lang is None:
        return SNIFF
    if len(segments) > 1 and segments[-1].lower() == "status":
        return None
    return lang


def sniff_language(query: Query | None) -> str | None:
    """Guess the language from a decoded query when the endpoint did not say."""
    if query is None:
        return None
    if query.form in ("request-message", "bytecode"):
        return GREMLIN
    text = query.text
    if text.lstrip().startswith(("g.", "g.V", "g.E")):
        return GREMLIN
    if _SPARQL_START.match(text):
        return SPARQL
    if _CYPHER_START.match(text):
        return OPENCYPHER
    return None


#: Payloads up to this many characters have their decoded query kept (the same queries
#: recur: a log's callers send a few shapes with a few values); longer ones are not kept.
_KEPT_CHARS = 2048


def decode_query(payload: str | None, query_string: str | None = None) -> Query | None:
    """The query a payload (or a GET query string) carries, or None (``/status``, ``/loader``).

    ``query_string`` is the request target's ``?...`` part, used for GET requests whose
    payload is the target itself or empty.
    """
    if len(payload or "") + len(query_string or "") <= _KEPT_CHARS:
        return _decode_kept(payload, query_string)
    return _decode(payload, query_string)


@lru_cache(maxsize=4096)
def _decode_kept(payload: str | None, query_string: str | None) -> Query | None:
    return _decode(payload, query_string)


def _decode(payload: str | None, query_string: str | None) -> Query | None:
    if payload is not None:
        text = payload.strip()
        if text.startswith("RequestMessage{"):
            return _request_message(text)
        if text.startswith("{"):
            return _json_body(text)
        if text.startswith("/"):
            _, sep, params = text.partition("?")
            if sep:
                return _form(params, "query-string")
            return _form(query_string, "query-string") if query_string else None
        if _FORM_BODY.match(text):
            return _form(text, "form")
        if text:
            return Query(text=payload, form="text")
    if query_string:
        return _form(query_string, "query-string")
    return None


def _stringify(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _form(encoded: str, form: str) -> Query | None:
    pairs = parse_qsl(encoded, keep_blank_values=True)
    values = dict(pairs)
    for key in _QUERY_KEYS:
        if key in values:
            rest = tuple((k, v) for k, v in pairs if k != key)
            return Query(text=values[key], form=form, parameters=rest)
    return None


def _json_body(text: str) -> Query | None:
    """The query a JSON object carries; None for an object without one (a ``/loader`` job),
    the text as sent when it is not JSON after all."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return Query(text=text, form="text")
    if not isinstance(document, dict):
        return None
    for key in _QUERY_KEYS:
        value = document.get(key)
        if isinstance(value, str):
            rest = tuple((k, _stringify(v)) for k, v in document.items() if k != key)
            return Query(text=value, form="json", parameters=rest)
    return None


def _request_message(text: str) -> Query | None:
    """Unpack ``RequestMessage{, requestId=..., op='eval', ..., args={gremlin=..., ...}}``."""
    op_match = re.search(r"\bop='([^']*)'", text)
    args = text.find("args={")
    key = text.find("gremlin=", args if args >= 0 else 0)
    if key < 0:
        return None
    start = key + len("gremlin=")
    ends = [i for i in (text.find(marker, start) for marker in _REQUEST_MESSAGE_END) if i >= 0]
    script = text[start : min(ends)] if ends else text[start:].rstrip("}")
    script = script.strip()
    parameters = (("op", op_match.group(1)),) if op_match else ()
    if op_match and op_match.group(1) == "bytecode":
        return Query(text=bytecode_to_traversal(script), form="bytecode", parameters=parameters)
    return Query(text=script, form="request-message", parameters=parameters)


def bytecode_to_traversal(bytecode: str) -> str:
    """Render TinkerPop bytecode ``[[], [V(), has(person, name, ann), count()]]`` as
    ``g.V().has(person, name, ann).count()``; unrecognised text is returned unchanged."""
    text = bytecode.strip()
    if not (text.startswith("[[") and text.endswith("]]")):
        return bytecode
    depth = 0
    groups: list[str] = []
    begin = 0
    for index, char in enumerate(text[1:-1], start=1):
        if char in "[(":
            if depth == 0 and char == "[":
                begin = index + 1
            depth += 1
        elif char in "])":
            depth -= 1
            if depth == 0 and char == "]":
                groups.append(text[begin:index])
    steps: list[str] = []
    for group in groups:
        steps.extend(step for step in split_top_level(group, "([", ")]") if step)
    if not steps:
        return bytecode
    return "g." + ".".join(steps)
