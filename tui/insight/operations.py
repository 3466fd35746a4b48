"""Operation classes: what a request does to the database, from its path and its query.

Neptune's own endpoints are classified by path; a query endpoint (``/gremlin``, ``/sparql``,
``/openCypher``, and WebSocket and Bolt, which have no path) by its query, with the strongest
class any of its steps or clauses needs (``delete`` over ``write`` over ``read``), as
Neptune's IAM actions ``ReadDataViaQuery``, ``WriteDataViaQuery`` and ``DeleteDataViaQuery``
do. Paths match case-insensitively, without a trailing ``/``.

============================================  =========  ======================================
request                                       class      why
============================================  =========  ======================================
``/status``                                   health     the engine health probe
``/gremlin/explain`` ``/gremlin/profile``     read       plans or profiles, authorised as
``/opencypher/explain`` (any ``/<q>/explain`` ...)       ``ReadDataViaQuery``
``/gremlin/status`` ``/sparql/status`` ...    admin      query status and cancellation
other ``/<q>/...`` (``/sparql/stream`` ...)   admin      Neptune's own endpoints
``/loader`` ``/system`` ``/propertygraph``    admin      bulk load, reset, streams, statistics,
``/pg`` ``/rdf`` ``/ml`` ``/stream(s)`` ...              graph summary, ML
``/gremlin`` ``/sparql`` ``/opencypher``,     by query   see below
WebSocket, Bolt (no path)
anything else                                 unknown
a query endpoint without a query              unknown    (a WebSocket ``authentication``)
============================================  =========  ======================================

By query (tokens, never text inside strings or IRIs):

- Gremlin: ``drop()`` is delete; ``addV addE property mergeV mergeE`` are write.
- SPARQL: ``DELETE`` (``DATA``, ``WHERE``, with ``INSERT``), ``CLEAR``, ``DROP``, ``MOVE``,
  ``COPY`` (it empties the target) are delete; ``INSERT``, ``LOAD``, ``CREATE``, ``ADD``
  write.
- openCypher: ``DELETE`` and ``DETACH DELETE`` are delete; ``CREATE MERGE SET REMOVE`` write.
- anything else in a known language is read; a query in no known language is unknown.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from tui.insight.fingerprints import fingerprint
from tui.model.payload import LANGUAGES
from tui.model.record import ADMIN, DELETE, HEALTH, OPERATIONS, READ, UNKNOWN, WRITE, Record

__all__ = [
    "ADMIN",
    "DELETE",
    "HEALTH",
    "OPERATIONS",
    "READ",
    "UNKNOWN",
    "WRITE",
    "BY_QUERY",
    "operation",
    "operation_of",
    "path_operation",
]


#: ``path_operation`` result meaning "the query decides".
BY_QUERY: Final = "query"

_QUERY_ENDPOINTS = frozenset(LANGUAGES)
_PLAN_ENDPOINTS = frozenset({"explain", "profile"})
_ADMIN_ENDPOINTS = frozenset(
    {"loader", "system", "propertygraph", "pg", "rdf", "ml", "stream", "streams", "statistics"}
)


@lru_cache(maxsize=1024)
def path_operation(path: str | None) -> str:
    """The class a path decides (``health``, ``admin``, ``read``, ``unknown``), or
    ``BY_QUERY`` when the query decides (a query endpoint, or no path at all)."""
    if path is None:
        return BY_QUERY
    segments = [segment.lower() for segment in path.split("/") if segment]
    if not segments:
        return UNKNOWN
    first = segments[0]
    if first == "status" and len(segments) == 1:
        return HEALTH
    if first in _QUERY_ENDPOINTS:
        if len(segments) == 1:
            return BY_QUERY
        return READ if segments[1] in _PLAN_ENDPOINTS else ADMIN
    if first in _ADMIN_ENDPOINTS:
        return ADMIN
    return UNKNOWN


def operation_of(
    path: str | None, lang: str | None, query_text: str | None, *, bytecode: bool = False
) -> str:
    """The operation class from the pieces the index has per record: the HTTP path (None
    for WebSocket and Bolt), the language and the decoded query text."""
    by_path = path_operation(path)
    if by_path != BY_QUERY:
        return by_path
    if query_text is None or lang is None:
        return UNKNOWN
    return fingerprint(query_text, lang, bytecode=bytecode).operation


def operation(record: Record) -> str:
    """The operation class of a parsed record, one of ``OPERATIONS``."""
    query = record.query
    return operation_of(
        record.path,
        record.lang,
        query.text if query else None,
        bytecode=query is not None and query.form == "bytecode",
    )
