"""Deterministic generator of realistic Amazon Neptune audit logs, with ground truth.

Used by ``neptune-audit demo``, by the test suite (which compares what the parser reports
with :class:`SampleTruth`) and by the benchmark (about 1 GB: 2.4 M records in 9 files).
Every line follows the shapes of section 3 of the field guide
(``/work/shared/spec/neptune-audit-log.md``): real logs, not the AWS documentation.

Layout: the cluster ``demo-cluster`` has a writer ``demo-writer-1`` and two readers
``demo-reader-1`` and ``demo-reader-2``; each writes ``<dir>/<instance>/audit.log.<k>``.
Records are split 50/25/25 between them (the writer is busiest).

- ``demo-writer-1``: server host in Java form ``ip-10-0-3-215.ec2.internal/10.0.3.215:8182``;
  IAM on, auth context in Java map form ``{authenticationSucceeded=true}``; 13-digit ms.
- ``demo-reader-1``: ``10.0.3.87:8182``; IAM on, auth context as JSON
  ``"{""authenticationSucceeded"":true}"``; 13-digit ms.
- ``demo-reader-2``: ``10.0.3.142:8183`` (not 8182); IAM off: ARN ``[unknown]`` (2 % ``null``),
  auth ``[unknown]``, no SigV4 headers; 16-digit µs timestamps (the documented form).
- Everywhere: health probes have ``[unknown]`` server host, ARN and auth; 0.5 % of the
  authenticated requests fail (``authenticationSucceeded=false``); clients come from ~40
  addresses with Zipf-like popularity, one of them the IPv6 ``2600:1f18:0:0:0:0:0:1a``
  (0.25 %), probes from 3 load-balancer addresses; ports are ephemeral (32768-60999).

Mix of request shapes, in percent of an instance's records (``_WRITER_MIX``,
``_READER_MIX``; readers take no writes: no SPARQL update, ``/loader``, ``/system`` and no
mutating Gremlin or openCypher)::

    shape                                 writer  readers  payload field
    Gremlin over Websocket                  40      42     "RequestMessage{, requestId=...}"
    Gremlin HTTP_POST /gremlin             3.5     3.5     "{""gremlin"": ""...""}"
    Gremlin HTTP_POST /gremlin/explain     0.5     0.5     same
    Gremlin HTTP_POST /gremlin/profile     0.5     0.5     same
    SPARQL HTTP_POST /sparql, query=         7       8     query=SELECT+... (form)
    SPARQL HTTP_POST /sparql, update=      2.5       -     update=INSERT+DATA+... (form)
    SPARQL HTTP_GET /sparql?query=           3       4     /sparql?query=... (path + query)
    openCypher over Bolt                    31      31     plain text, quoted if it has , or "
    openCypher HTTP_POST /openCypher, form   3     2.5     query=MATCH+...
    openCypher HTTP_POST /openCypher, JSON   3     2.5     "{""query"": ..., ""parameters"": ...}"
    health probe HTTP_GET /status          5.5     5.5     /status
    bulk load HTTP_POST /loader            0.3       -     "{""source"": ""s3://..."", ...}"
    reset HTTP_POST /system               0.15       -     action=initiateDatabaseReset
    reset HTTP_POST /system               0.05       -     action=performDatabaseReset&token=...

The mix keeps the average line near 430 bytes (IAM-signed HTTP lines are ~950 bytes,
WebSocket ~350, Bolt ~220). Each instance's pool of variants is allocated to these
proportions exactly (largest remainder), so even a few thousand records hold every shape.

Order: each instance produces a chronological stream (a Poisson-like arrival process with a
few bursts), assigns each record to one of its files at random and writes them sorted by
*time + U(0, 4 s)*, so every file is out of order by up to a few seconds (a file that would
come out in order anyway gets two neighbours swapped).

Speed: each instance draws a pool of fully rendered record "variants" (query text, caller,
client agent, headers, quoting all done once); each record then only picks a variant, a
client address and port, and fills in its timestamp, and for signed requests its
``X-Amz-Date`` and signature, for WebSocket requests its ``requestId``.
"""

from __future__ import annotations

import bisect
import gzip
import itertools
import json
import math
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from io import BufferedWriter
from pathlib import Path
from urllib.parse import quote_plus

__all__ = [
    "append_live",
    "CLUSTER",
    "DEFAULT_END_US",
    "INSTANCES",
    "SampleTruth",
    "iter_lines",
    "write_sample",
]

CLUSTER = "demo-cluster"
"""The cluster every sample belongs to."""

DEFAULT_END_US = int(datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC).timestamp()) * 1_000_000
"""Time of the newest record when ``end_us`` is not given: 2026-11-24T12:00:00Z."""

_CHUNK = 32_768
"""Records generated, shuffled and written per batch."""
_JITTER_S = 4.0
"""Write order is time + U(0, _JITTER_S) seconds."""
_POOL_MIN = 4096
"""Distinct variants per instance: ``min(n, _POOL_MIN + n // _POOL_DIV)``."""
_POOL_DIV = 64
_AUTH_FAILURES = 0.005
"""Share of authenticated requests whose authentication fails."""


@dataclass
class SampleTruth:
    """What the parser must report for the files :func:`write_sample` wrote."""

    files: list[Path]
    records: int
    malformed: int
    lines: int
    first_us: int | None
    last_us: int | None
    by_type: Counter[str] = field(default_factory=Counter)
    by_lang: Counter[str] = field(default_factory=Counter)
    by_auth: Counter[str] = field(default_factory=Counter)
    by_client: Counter[str] = field(default_factory=Counter)
    by_user: Counter[str] = field(default_factory=Counter)
    by_path: Counter[str] = field(default_factory=Counter)
    per_file_records: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------------------
# Fixed world: instances, clients, callers, agents.


@dataclass(frozen=True)
class _Instance:
    name: str
    ip: str
    server: str  # the server-host field as written
    host: str  # Host header for application requests
    iam: str  # "map" | "json" | "off"
    micros: bool  # 16-digit timestamps instead of 13
    writes: bool  # receives mutations
    mix: tuple[tuple[str, float], ...]


_WRITER_MIX: tuple[tuple[str, float], ...] = (
    ("ws_gremlin", 40),
    ("http_gremlin", 3.5),
    ("http_gremlin_explain", 0.5),
    ("http_gremlin_profile", 0.5),
    ("sparql_post_query", 7),
    ("sparql_post_update", 2.5),
    ("sparql_get", 3),
    ("bolt_cypher", 31),
    ("http_cypher_form", 3),
    ("http_cypher_json", 3),
    ("status", 5.5),
    ("loader", 0.3),
    ("system", 0.15),  # action=initiateDatabaseReset
    ("system_perform", 0.05),  # action=performDatabaseReset&token=...
)
_READER_MIX: tuple[tuple[str, float], ...] = (
    ("ws_gremlin", 42),
    ("http_gremlin", 3.5),
    ("http_gremlin_explain", 0.5),
    ("http_gremlin_profile", 0.5),
    ("sparql_post_query", 8),
    ("sparql_get", 4),
    ("bolt_cypher", 31),
    ("http_cypher_form", 2.5),
    ("http_cypher_json", 2.5),
    ("status", 5.5),
)

_ENDPOINT = "abc123.us-east-1.neptune.amazonaws.com"
_INSTANCES: tuple[_Instance, ...] = (
    _Instance(
        name="demo-writer-1",
        ip="10.0.3.215",
        server="ip-10-0-3-215.ec2.internal/10.0.3.215:8182",
        host=f"{CLUSTER}.cluster-{_ENDPOINT}:8182",
        iam="map",
        micros=False,
        writes=True,
        mix=_WRITER_MIX,
    ),
    _Instance(
        name="demo-reader-1",
        ip="10.0.3.87",
        server="10.0.3.87:8182",
        host=f"{CLUSTER}.cluster-ro-{_ENDPOINT}:8182",
        iam="json",
        micros=False,
        writes=False,
        mix=_READER_MIX,
    ),
    _Instance(
        name="demo-reader-2",
        ip="10.0.3.142",
        server="10.0.3.142:8183",
        host=f"{CLUSTER}.cluster-ro-{_ENDPOINT}:8183",
        iam="off",
        micros=True,
        writes=False,
        mix=_READER_MIX,
    ),
)
_BY_NAME = {inst.name: inst for inst in _INSTANCES}

INSTANCES = tuple(inst.name for inst in _INSTANCES)
"""Instance identifiers, writer first; each gets its own directory of files."""


def _client_pool() -> tuple[list[str], list[float]]:
    """~40 application clients with Zipf-like popularity, plus one rare IPv6 client."""
    fixed = random.Random(20261124)
    hosts = fixed.sample(range(11, 250), 40)
    ips = [f"10.0.{1 + (k % 3 == 2)}.{h}" for k, h in enumerate(hosts)]
    weights = [1.0 / (rank + 1) ** 1.1 for rank in range(len(ips))]
    total = sum(weights)
    ips.append("2600:1f18:0:0:0:0:0:1a")  # Java's form: uncompressed, no brackets
    weights.append(total * 0.0025 / (1 - 0.0025))  # a handful: 0.25 % of app records
    return ips, list(itertools.accumulate(weights))


_APP_CLIENTS, _APP_CUM = _client_pool()
_PROBE_CLIENTS = ("10.0.0.37", "10.0.0.149", "10.0.0.201")  # load balancer nodes

# (ARN, weight, access key id)
_CALLERS: tuple[tuple[str, float, str], ...] = (
    ("arn:aws:iam::123456789012:user/alice", 9, "AKIA5E7YQ2LZK3WJH4MA"),
    ("arn:aws:iam::123456789012:user/bob", 5, "AKIA2XQ7RLM4N6P3T5VB"),
    *(
        (
            f"arn:aws:sts::123456789012:assumed-role/AppRole/worker-{n}",
            5,
            f"ASIA3WRK{n:02d}7QH2LMPZ6E",
        )
        for n in range(1, 13)
    ),
    *(
        (
            f"arn:aws:sts::123456789012:assumed-role/AnalyticsRole/etl-{n}",
            6,
            f"ASIA6ETL{n:02d}K4VR9XD2NQ",
        )
        for n in range(1, 5)
    ),
)
_CALLER_CUM = list(itertools.accumulate(c[1] for c in _CALLERS))

_UA_PY = "python-requests/2.31.0"
_UA_HC = "Apache-HttpClient/4.5.13 (Java/17.0.9)"
_UA_SDK = (
    "aws-sdk-java/2.21.0 Linux/5.10.199-190.747.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.9+8-LTS"
    " Java/17.0.9 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy"
)
_UA_CURL = "curl/8.4.0"
_UA_ELB = "ELB-HealthChecker/2.0"

_FORM = "application/x-www-form-urlencoded"
_JSON = "application/json"
_NETTY = (
    "HttpObjectAggregator$AggregatedFullHttpRequest(decodeResult: success, version: HTTP/1.1, "
    "content: CompositeByteBuf(ridx: 0, widx: {n}, cap: {n}, components=1))"
)
_NETTY_EMPTY = (
    "HttpObjectAggregator$AggregatedFullHttpRequest(decodeResult: success, version: HTTP/1.1, "
    "content: EmptyByteBufBE)"
)

# Slots filled per record; every other byte of a line comes from its variant.
_SLOT_DATE = "\x00D\x00"  # X-Amz-Date, 20261124T115959Z
_SLOT_DAY = "\x00d\x00"  # credential scope date, 20261124
_SLOT_SIG = "\x00S\x00"  # 64 hex digits
_SLOT_UUID = "\x00U\x00"  # WebSocket requestId

# --------------------------------------------------------------------------------------
# Query texts: a social graph and air routes. ``{{name}}`` marks a literal drawn per variant.

_NAMES = (
    "ann", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
    "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter",
    "wendy", "Zoë", "José", "Søren", "Łukasz",
)  # fmt: skip
_CODES = (
    "SEA", "SFO", "LAX", "JFK", "ORD", "ATL", "DFW", "DEN", "BOS", "MIA", "AUS", "LHR",
    "CDG", "FRA", "AMS", "MAD", "NRT", "HND", "SYD", "YYZ", "DXB", "SIN", "HKG", "GRU",
)  # fmt: skip
_COUNTRIES = ("US", "GB", "FR", "DE", "JP", "AU", "CA", "MX", "BR", "IN", "ES", "IT")

_GREMLIN: tuple[tuple[str, bool], ...] = (  # (script, mutates)
    ("g.V().has(\"person\",\"name\",'{{name}}').out('knows').limit({{n}})", False),
    ("g.V().has('airport','code','{{code}}').out('route').values('code').fold()", False),
    (
        "g.V().has('airport','code','{{code}}').outE('route').has('dist',gt({{dist}}))"
        ".inV().values('city').dedup()",
        False,
    ),
    ("g.V().hasLabel('airport').has('country','{{country}}').count()", False),
    ("g.V('{{vid}}').valueMap(true)", False),
    (
        "g.V().has('person','name','{{name}}').both('knows').dedup().has('age',gt({{age}}))"
        ".values('name')",
        False,
    ),
    (
        "g.V().has('airport','code','{{code}}').repeat(out('route').simplePath()).times(2)"
        ".has('code','{{code2}}').path().by('code').limit({{n}})",
        False,
    ),
    (
        "g.V().hasLabel('airport').   has('code','{{code}}').   out('route').   "
        "order().by('code').   limit({{n}}).   valueMap('code','city')",
        False,
    ),
    ("g.E().hasLabel('route').has('dist',lt({{dist}})).count()", False),
    (
        'g.V().has("person","name","{{name}}").out("posted").order().by("ts",desc)'
        ".limit({{n}}).elementMap()",
        False,
    ),
    (
        'g.V().has("airport","code","{{code}}").as(\'a\').out(\'route\')'
        ".has('country','{{country}}').as('b').select('a','b').by('city')",
        False,
    ),
    ("g.V().has('airport', 'code', '{{code}}').out('route').count()", False),
    (
        "g.V().hasLabel('person').groupCount().by('city').order(local).by(values,desc)"
        ".limit(local,{{n}})",
        False,
    ),
    (
        "g.addV('person').property(id,'{{pid}}').property('name',\"{{name}}\")"
        ".property('age',{{age}})",
        True,
    ),
    ("g.V('{{pid}}').property(single,'lastSeen',{{epoch}})", True),
    (
        "g.V().has('person','name','{{name}}').as('a').V().has('person','name','{{name2}}')"
        ".addE('knows').from('a')",
        True,
    ),
    ("g.V('{{pid}}').drop()", True),
)

_FOAF = "PREFIX foaf: <http://xmlns.com/foaf/0.1/>\n"
_AR = (
    "PREFIX ar: <http://kelvinlawrence.net/air-routes/objectProperty/>\n"
    "PREFIX dp: <http://kelvinlawrence.net/air-routes/datatypeProperty/>\n"
)
_SPARQL: tuple[tuple[str, bool], ...] = (  # (query, short enough for GET)
    ("SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT {{n}}", True),
    (
        _FOAF + 'SELECT ?friend ?name WHERE {\n  ?p foaf:name "{{name}}" .\n'
        "  ?p foaf:knows ?friend .\n  ?friend foaf:name ?name .\n}\nLIMIT {{n}}",
        False,
    ),
    (
        _AR + 'SELECT ?dest WHERE {\n  ?a dp:code "{{code}}" .\n  ?a ar:route ?d .\n'
        "  ?d dp:code ?dest .\n}",
        False,
    ),
    (
        "SELECT (COUNT(*) AS ?n) WHERE {"
        " ?a a <http://kelvinlawrence.net/air-routes/class/Airport> }",
        True,
    ),
    (
        _AR + "SELECT ?city (COUNT(?a) AS ?airports) WHERE {\n"
        '  ?a dp:country "{{country}}" ;\n     dp:city ?city .\n}\n'
        "GROUP BY ?city ORDER BY DESC(?airports) LIMIT {{n}}",
        False,
    ),
    ("ASK { <http://example.org/person/{{pid}}> ?p ?o }", True),
    ("DESCRIBE <http://example.org/person/{{pid}}>", True),
    (
        _FOAF + "SELECT ?name ?age WHERE {\n  ?p foaf:name ?name ;\n     foaf:age ?age .\n"
        "  FILTER(?age > {{age}})\n}\nORDER BY ?name LIMIT {{n}}",
        False,
    ),
    (
        _AR + 'CONSTRUCT { ?a ar:route ?b } WHERE {\n  ?a dp:code "{{code}}" ;\n'
        "     ar:route ?b .\n} LIMIT {{n}}",
        False,
    ),
)
_SPARQL_UPDATE: tuple[str, ...] = (
    "INSERT DATA { <http://example.org/person/{{pid}}>"
    ' <http://xmlns.com/foaf/0.1/name> "{{name}}" ; <http://xmlns.com/foaf/0.1/age> {{age}} . }',
    "INSERT DATA {\n  <http://example.org/person/{{pid}}> <http://xmlns.com/foaf/0.1/knows>"
    " <http://example.org/person/{{pid2}}> .\n}",
    _FOAF + "DELETE WHERE { <http://example.org/person/{{pid}}> foaf:age ?age }",
)

_CYPHER: tuple[tuple[str, bool], ...] = (  # (query, mutates)
    ("MATCH (p:person)-[:knows]->(f) RETURN f.name LIMIT {{n}}", False),
    (
        "MATCH (p:person {name: '{{name}}'})-[:knows]->(f:person) "
        "RETURN f.name, f.age ORDER BY f.age DESC LIMIT {{n}}",
        False,
    ),
    ("MATCH (a:airport {code: '{{code}}'})-[:route]->(d:airport) RETURN d.code", False),
    (
        "MATCH (a:airport {code: '{{code}}'})-[r:route]->(d) WHERE r.dist > {{dist}} "
        "RETURN d.code, r.dist ORDER BY r.dist DESC",
        False,
    ),
    ("MATCH (a:airport) WHERE a.country = '{{country}}' RETURN count(a)", False),
    (
        "MATCH p = (a:airport {code: '{{code}}'})-[:route*1..2]->(b:airport {code: '{{code2}}'}) "
        "RETURN p LIMIT {{n}}",
        False,
    ),
    ("MATCH (n) WHERE id(n) = '{{vid}}' RETURN n", False),
    ('MATCH (p:person {name: "{{name}}"}) RETURN p.name AS name, p.age AS age', False),
    ("CREATE (p:person {name: '{{name}}', age: {{age}}}) RETURN id(p)", True),
    ("MATCH (p:person {name: '{{name}}'}) SET p.lastSeen = {{epoch}}", True),
)
# (query, parameter names, mutates) for the JSON body with "parameters".
_CYPHER_PARAM: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    (
        "MATCH (p:person {name: $name})-[:knows]->(f:person) RETURN f.name LIMIT $limit",
        ("name", "limit"),
        False,
    ),
    ("MATCH (a:airport {code: $code})-[:route]->(d) RETURN d.code, d.city", ("code",), False),
    ("MATCH (a:airport) WHERE a.country = $country RETURN count(a)", ("country",), False),
    ("MERGE (p:person {name: $name}) SET p.age = $age RETURN p", ("name", "age"), True),
)

_LITERAL = re.compile(r"\{\{(\w+)\}\}")


def _literal(key: str, rng: random.Random) -> str:
    base = key.rstrip("0123456789")
    if base == "name":
        return rng.choice(_NAMES)
    if base == "code":
        return rng.choice(_CODES)
    if base == "country":
        return rng.choice(_COUNTRIES)
    if base == "n":
        return str(rng.choice((5, 10, 10, 10, 20, 25, 50, 100, 1000)))
    if base == "age":
        return str(rng.randint(18, 80))
    if base == "dist":
        return str(rng.randrange(200, 8000, 50))
    if base == "vid":
        return str(rng.randint(1, 3748))
    if base == "pid":
        return f"p-{rng.randint(1, 99999):05d}"
    if base == "epoch":
        return str(1_790_000_000_000 + rng.randrange(10**10))
    raise KeyError(key)


def _fill(template: str, rng: random.Random) -> str:
    return _LITERAL.sub(lambda m: _literal(m.group(1), rng), template)


def _params(names: Sequence[str], rng: random.Random) -> dict[str, object]:
    out: dict[str, object] = {}
    for name in names:
        value = _literal("n" if name == "limit" else name, rng)
        out[name] = int(value) if value.isdigit() else value
    return out


# --------------------------------------------------------------------------------------
# Rendering one variant (everything after "timestamp, client:port, ").


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _csv(text: str) -> str:
    """A field as CSV writes it: quoted only when it has to be."""
    return _quote(text) if ('"' in text or ", " in text or "\n" in text) else text


def _weighted(rng: random.Random, options: Sequence[tuple[str, float]]) -> str:
    return rng.choices([o[0] for o in options], [o[1] for o in options])[0]


def _header(
    inst: _Instance,
    method: str,
    target: str,
    agent: str,
    *,
    body: str = "",
    ctype: str = "",
    accept: str = "*/*",
    key: str | None = None,
    host: str | None = None,
    before_agent: Sequence[str] = (),
    after_agent: Sequence[str] = (),
) -> str:
    """The HTTP header field: Netty summary, request line, headers; quoted."""
    length = len(body.encode("utf-8"))
    parts = [
        _NETTY.format(n=length) if method == "POST" else _NETTY_EMPTY,
        f"{method} {target} HTTP/1.1",
        f"Host: {host or inst.host}",
        *before_agent,
        f"User-Agent: {agent}",
        *after_agent,
    ]
    if accept:
        parts.append(f"Accept: {accept}")
    if method == "POST":
        parts += [f"Content-Length: {length}", f"Content-Type: {ctype}"]
    if key is not None:
        parts += [
            f"X-Amz-Date: {_SLOT_DATE}",
            f"Authorization: AWS4-HMAC-SHA256 Credential={key}/{_SLOT_DAY}/us-east-1/"
            f"neptune-db/aws4_request, SignedHeaders=host;x-amz-date, Signature={_SLOT_SIG}",
        ]
    if method == "GET":
        parts.append("content-length: 0")  # set by Netty's aggregator when absent
    return _quote(" ".join(parts))


# A variant: (kind, *literal parts). kind 0: one tail; 1: signed request, tail split around
# date, day and signature; 2: WebSocket, tail split around the requestId.
_Variant = tuple[int, str, str, str, str]
# Ground truth of a variant: (connection type, language, auth, ARN or "", path or "").
_Meta = tuple[str, str, str, str, str]
_KINDS = {(): 0, ("D", "d", "S"): 1, ("U",): 2}


def _agent(rng: random.Random, shape: str) -> str:
    if shape.startswith("sparql"):
        return _weighted(rng, ((_UA_PY, 50), (_UA_HC, 40), (_UA_CURL, 10)))
    if shape in ("loader", "system", "system_perform"):
        return _weighted(rng, ((_UA_CURL, 55), (_UA_PY, 30), (_UA_SDK, 15)))
    return _weighted(rng, ((_UA_PY, 55), (_UA_CURL, 25), (_UA_SDK, 20)))


def _request(
    inst: _Instance, shape: str, rng: random.Random, key: str | None
) -> tuple[str, str, str, str, str]:
    """(connection type, language, path, header field, payload field) of one request."""
    writes = inst.writes
    if shape == "ws_gremlin":
        script = _fill(rng.choice([g for g, m in _GREMLIN if writes or not m]), rng)
        message = (
            f"RequestMessage{{, requestId={_SLOT_UUID}, op='eval', processor='', "
            f"args={{gremlin={script} , aliases={{g=g}}}}}}"
        )
        return "Websocket", "gremlin", "", "[unknown]", _csv(message)
    if shape == "bolt_cypher":
        text = _fill(rng.choice([c for c, m in _CYPHER if writes or not m]), rng)
        return "Bolt", "opencypher", "", "[unknown]", _csv(text)
    if shape == "status":
        header = _header(
            inst,
            "GET",
            "/status",
            _UA_ELB,
            accept="",
            host=f"{inst.ip}:{inst.server.rsplit(':', 1)[1]}",
            before_agent=("Connection: close",),
            after_agent=("Accept-Encoding: gzip, compressed",),
        )
        return "HTTP_GET", "none", "/status", header, "/status"

    agent = _agent(rng, shape)
    ensure_ascii = agent == _UA_PY  # Python's json.dumps escapes, curl/Java send UTF-8
    if shape.startswith("http_gremlin"):
        path = {"http_gremlin": "/gremlin", "http_gremlin_explain": "/gremlin/explain"}.get(
            shape, "/gremlin/profile"
        )
        mutations = writes and path == "/gremlin"
        script = _fill(rng.choice([g for g, m in _GREMLIN if mutations or not m]), rng)
        body = json.dumps({"gremlin": script}, ensure_ascii=ensure_ascii)
        header = _header(inst, "POST", path, agent, body=body, ctype=_JSON, key=key)
        return "HTTP_POST", "gremlin", path, header, _csv(body)
    if shape == "sparql_post_query":
        body = "query=" + quote_plus(_fill(rng.choice(_SPARQL)[0], rng))
        accept = "application/sparql-results+json" if agent == _UA_HC else "*/*"
        header = _header(
            inst, "POST", "/sparql", agent, body=body, ctype=_FORM, accept=accept, key=key
        )
        return "HTTP_POST", "sparql", "/sparql", header, _csv(body)
    if shape == "sparql_post_update":
        body = "update=" + quote_plus(_fill(rng.choice(_SPARQL_UPDATE), rng))
        header = _header(inst, "POST", "/sparql", agent, body=body, ctype=_FORM, key=key)
        return "HTTP_POST", "sparql", "/sparql", header, _csv(body)
    if shape == "sparql_get":
        target = "/sparql?query=" + quote_plus(_fill(rng.choice([q for q, g in _SPARQL if g]), rng))
        accept = "application/sparql-results+json" if agent == _UA_HC else "*/*"
        header = _header(inst, "GET", target, agent, accept=accept, key=key)
        return "HTTP_GET", "sparql", "/sparql", header, _csv(target)
    if shape == "http_cypher_form":
        body = "query=" + quote_plus(
            _fill(rng.choice([c for c, m in _CYPHER if writes or not m]), rng)
        )
        header = _header(inst, "POST", "/openCypher", agent, body=body, ctype=_FORM, key=key)
        return "HTTP_POST", "opencypher", "/openCypher", header, _csv(body)
    if shape == "http_cypher_json":
        query, names, _ = rng.choice([c for c in _CYPHER_PARAM if writes or not c[2]])
        doc = {"query": query, "parameters": _params(names, rng)}
        body = json.dumps(doc, ensure_ascii=ensure_ascii)
        header = _header(inst, "POST", "/openCypher", agent, body=body, ctype=_JSON, key=key)
        return "HTTP_POST", "opencypher", "/openCypher", header, _csv(body)
    if shape == "loader":
        doc = {
            "source": f"s3://demo-graph-data/{rng.choice(('air-routes', 'social'))}/"
            f"batch-{rng.randint(1, 400):04d}/",
            "format": rng.choice(("csv", "opencypher", "ntriples")),
            "iamRoleArn": "arn:aws:iam::123456789012:role/NeptuneLoadFromS3",
            "region": "us-east-1",
            "failOnError": "FALSE",
            "parallelism": rng.choice(("MEDIUM", "HIGH", "OVERSUBSCRIBE")),
        }
        body = json.dumps(doc)
        header = _header(inst, "POST", "/loader", agent, body=body, ctype=_JSON, key=key)
        return "HTTP_POST", "none", "/loader", header, _csv(body)
    if shape in ("system", "system_perform"):
        if shape == "system":
            body = "action=initiateDatabaseReset"
        else:
            token = _uuid4(rng.getrandbits(128), rng.choice(_UUID_VARIANT))
            body = f"action=performDatabaseReset&token={token}"
        header = _header(inst, "POST", "/system", agent, body=body, ctype=_FORM, key=key)
        return "HTTP_POST", "none", "/system", header, _csv(body)
    raise ValueError(f"unknown shape {shape!r}")


def _variant(
    inst: _Instance, shape: str, rng: random.Random, *, failed: bool = False
) -> tuple[_Variant, _Meta]:
    """One rendered request; ``failed``: its IAM authentication fails."""
    if shape == "status" or inst.iam == "off":
        arn = "[unknown]"
        if shape != "status" and rng.random() < 0.02:
            arn = "null"
        auth_field, auth, key, user = "[unknown]", "none", None, ""
    else:
        arn, _, key_id = _CALLERS[bisect.bisect(_CALLER_CUM, rng.random() * _CALLER_CUM[-1])]
        ok = not failed
        auth = "ok" if ok else "failed"
        flag = "true" if ok else "false"
        if inst.iam == "json":
            auth_field = _csv(f'{{"authenticationSucceeded":{flag}}}')
        else:
            auth_field = f"{{authenticationSucceeded={flag}}}"
        key, user = key_id, arn
    server = "[unknown]" if shape == "status" else inst.server
    ctype, lang, path, header, payload = _request(inst, shape, rng, key)
    tail = f"{server}, {ctype}, {arn}, {auth_field}, {header}, {payload}\n"
    pieces = tail.split("\x00")
    kind = _KINDS[tuple(pieces[1::2])]
    lits = [*pieces[0::2], "", "", ""]
    return (kind, lits[0], lits[1], lits[2], lits[3]), (ctype, lang, auth, user, path)


def _allocate(total: int, mix: Sequence[tuple[str, float]]) -> list[str]:
    """``total`` shape names in the proportions of ``mix`` (largest remainder)."""
    weight = sum(w for _, w in mix)
    exact = [total * w / weight for _, w in mix]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(mix)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return [name for (name, _), c in zip(mix, counts, strict=True) for _ in range(c)]


def _pool(inst: _Instance, size: int, rng: random.Random) -> tuple[list[_Variant], list[_Meta]]:
    shapes = _allocate(size, inst.mix)
    rng.shuffle(shapes)
    # 0.5 % of authenticated requests fail; at least one in any pool of 100 or more.
    signed = [i for i, shape in enumerate(shapes) if shape != "status"] if inst.iam != "off" else []
    fails = round(len(signed) * _AUTH_FAILURES) or (1 if len(signed) >= 100 else 0)
    failing = set(rng.sample(signed, fails))
    variants: list[_Variant] = []
    metas: list[_Meta] = []
    for i, shape in enumerate(shapes):
        v, m = _variant(inst, shape, rng, failed=i in failing)
        variants.append(v)
        metas.append(m)
    return variants, metas


# --------------------------------------------------------------------------------------
# Time: a Poisson-like stream with a slow wave and a few bursts.


def _time_warp(rng: random.Random, knots: int = 2048) -> list[float]:
    """Inverse CDF table of the arrival density over [0, 1]."""
    phase = rng.random()
    bursts = [(rng.random(), 0.004 + rng.random() * 0.02, 1.5 + rng.random() * 3) for _ in range(4)]
    dens = []
    for k in range(knots):
        x = (k + 0.5) / knots
        d = 1.0 + 0.3 * math.sin(2 * math.pi * (1.5 * x + phase))
        d += sum(h * math.exp(-(((x - c) / w) ** 2)) for c, w, h in bursts)
        dens.append(d)
    cdf = [0.0, *itertools.accumulate(dens)]
    total = cdf[-1]
    cdf = [c / total for c in cdf]
    inverse = []
    for k in range(knots + 1):
        u = k / knots
        i = min(max(bisect.bisect_left(cdf, u) - 1, 0), knots - 1)
        span = cdf[i + 1] - cdf[i]
        inverse.append((i + ((u - cdf[i]) / span if span > 0 else 0.0)) / knots)
    inverse[-1] = 1.0
    return inverse


def _amz_date(second: int) -> tuple[str, str]:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(second))
    return stamp, stamp[:8]


# --------------------------------------------------------------------------------------
# One instance's stream.

_UUID_VARIANT = "89ab"


def _uuid4(bits: int, variant: str) -> str:
    """A version-4 UUID's text from 128 random bits and its variant digit."""
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"


_PORT_LOW, _PORT_COUNT = 32768, 61000 - 32768  # Linux ephemeral range 32768-60999
_APP_HOSTS = [f"{ip}:" for ip in _APP_CLIENTS]
_PROBE_HOSTS = [f"{ip}:" for ip in _PROBE_CLIENTS]


def _bad_line(line: str, kind: int, rng: random.Random) -> str:
    """A malformed entry derived from the well-formed ``line`` written just before it."""
    stamp, rest = line.split(", ", 1)
    if kind == 0:  # a record start cut short: "digits, " then fewer than seven separators
        fifth = [m.start() for m in re.finditer(", ", line)][4]
        low = len(stamp) + 3  # keep at least one character after the first separator
        return line[: rng.randint(low, fifth - 1)].rstrip(", ") + "\n"
    width = rng.choice((11, 12, 14, 15))  # no time unit has this many digits
    return (stamp + "000")[:width] + ", " + rest


class _Stream:
    """The records of one instance, rendered batch by batch."""

    def __init__(
        self, inst: _Instance, n: int, seed: int, end_us: int, span_us: int, nfiles: int
    ) -> None:
        self.inst = inst
        self.n = n
        self.end_us = end_us
        self.span_us = span_us
        self.nfiles = nfiles
        self.rng = random.Random(f"neptune-audit-sample:{seed}:{inst.name}")
        size = min(n, _POOL_MIN + n // _POOL_DIV)
        self.variants, self.metas = _pool(inst, size, self.rng)
        self.warp = _time_warp(self.rng)
        # Ground truth, filled in while batches are produced.
        self.variant_uses: Counter[int] = Counter()
        self.client_uses: Counter[str] = Counter()
        self.per_file = [0] * nfiles
        self.first_us: int | None = None
        self.last_us: int | None = None

    def batches(self, bad: dict[int, int] | None = None) -> Iterator[list[list[str]]]:
        """Per batch, the lines of each file in write order.

        ``bad`` maps a record index (in time order) to the kind of malformed entry written
        right after that record: 0 cut short, 1 unsupported timestamp width.
        """
        bad = bad or {}
        bad_sorted = sorted(bad)
        inst, n, nfiles, rng = self.inst, self.n, self.nfiles, self.rng
        rand = rng.random
        grb = rng.getrandbits
        variants = self.variants
        size = len(variants)
        is_probe = [m[4] == "/status" for m in self.metas]
        div = 1 if inst.micros else 1000  # µs per written unit
        per_sec = 1_000_000 // div
        start_us = self.end_us - self.span_us
        span_us = self.span_us
        warp = self.warp
        knots = len(warp) - 1
        jitter = _JITTER_S * per_sec
        dates: dict[int, tuple[str, str]] = {}
        disordered = [False] * nfiles
        hosts, cum = _APP_HOSTS, _APP_CUM
        nibble = _UUID_VARIANT

        for a in range(0, n, _CHUNK):
            b = min(n, a + _CHUNK)
            m = b - a
            # Times of this batch's slice of the stream, in written units, ascending.
            u0, width = a / n, m / n
            stamps: list[int] = []
            for u in sorted([u0 + rand() * width for _ in range(m)]):
                x = u * knots
                k = min(int(x), knots - 1)
                w = warp[k] + (warp[k + 1] - warp[k]) * (x - k)
                stamps.append(int(start_us + w * span_us) // div)
            if b == n:
                stamps[-1] = self.end_us // div  # the newest record is at end_us
            # Variants: the pool in order first (each variant used), then random picks.
            direct = max(0, min(b, size) - a)
            picks = list(range(a, a + direct)) + [int(rand() * size) for _ in range(m - direct)]
            clients = rng.choices(hosts, cum_weights=cum, k=m)
            for i in [i for i in range(m) if is_probe[picks[i]]]:
                clients[i] = _PROBE_HOSTS[int(rand() * len(_PROBE_HOSTS))]
            # Write order: time plus jitter; each record to a random file.
            keys = [t + rand() * jitter for t in stamps]
            order = sorted(range(m), key=keys.__getitem__)
            seqs: list[list[int]] = [[] for _ in range(nfiles)]
            if nfiles == 1:
                seqs[0] = order
            else:
                adds = [s.append for s in seqs]
                for i in order:
                    adds[int(rand() * nfiles)](i)
            for f, seq in enumerate(seqs):
                if not disordered[f] and len(seq) > 1:
                    disordered[f] = self._disorder(seq, stamps)

            lo = bisect.bisect_left(bad_sorted, a)
            hi = bisect.bisect_left(bad_sorted, b)
            bad_here = {g - a: bad[g] for g in bad_sorted[lo:hi]}
            out: list[list[str]] = []
            for f, seq in enumerate(seqs):
                lines: list[str] = []
                add = lines.append
                for i in seq:
                    t = stamps[i]
                    v = variants[picks[i]]
                    head = f"{t}, {clients[i]}{int(rand() * _PORT_COUNT) + _PORT_LOW}, "
                    kind = v[0]
                    if kind == 0:
                        add(head + v[1])
                    elif kind == 1:
                        sec = t // per_sec
                        d = dates.get(sec)
                        if d is None:
                            d = dates[sec] = _amz_date(sec)
                        add(f"{head}{v[1]}{d[0]}{v[2]}{d[1]}{v[3]}{grb(256):064x}{v[4]}")
                    else:
                        r = grb(128)
                        add(f"{head}{v[1]}{_uuid4(r, nibble[r & 3])}{v[2]}")
                self.per_file[f] += len(seq)
                if bad_here and any(i in bad_here for i in seq):
                    mixed: list[str] = []
                    for i, line in zip(seq, lines, strict=True):
                        mixed.append(line)
                        if i in bad_here:
                            mixed.append(_bad_line(line, bad_here[i], rng))
                    lines = mixed
                out.append(lines)

            self.variant_uses.update(picks)
            self.client_uses.update(clients)
            first, last = stamps[0] * div, stamps[-1] * div
            self.first_us = first if self.first_us is None else min(self.first_us, first)
            self.last_us = last if self.last_us is None else max(self.last_us, last)
            yield out

    @staticmethod
    def _disorder(seq: list[int], stamps: Sequence[int]) -> bool:
        """Whether ``seq`` is out of time order, after swapping two neighbours if needed."""
        for p in range(len(seq) - 1):
            if stamps[seq[p]] > stamps[seq[p + 1]]:
                return True
        for p in range(len(seq) - 1):
            if stamps[seq[p]] != stamps[seq[p + 1]]:
                seq[p], seq[p + 1] = seq[p + 1], seq[p]
                return True
        return False


# --------------------------------------------------------------------------------------
# Public API.


def _split(records: int) -> list[int]:
    """Records per instance: 50 % writer, 25 % each reader."""
    writer = (records + 1) // 2
    reader1 = (records - writer + 1) // 2
    return [writer, reader1, records - writer - reader1]


def _end(end_us: int | None, span_s: float) -> tuple[int, int]:
    if span_s < 0:
        raise ValueError("span_s must not be negative")
    return (DEFAULT_END_US if end_us is None else int(end_us)), int(span_s * 1_000_000)


def iter_lines(
    records: int,
    seed: int = 1,
    *,
    instance: str = INSTANCES[0],
    end_us: int | None = None,
    span_s: float = 3600.0,
) -> Iterator[str]:
    """The ``records`` lines (without newline) of one instance writing one file, in write order.

    For sources that take events one by one (CloudWatch, live tail). The lines have the
    same shapes as :func:`write_sample` writes for that instance.
    """
    if instance not in _BY_NAME:
        raise ValueError(f"unknown instance {instance!r}; one of {', '.join(INSTANCES)}")
    if records < 0:
        raise ValueError("records must not be negative")
    end, span = _end(end_us, span_s)
    stream = _Stream(_BY_NAME[instance], records, seed, end, span, 1)
    for batch in stream.batches():
        for line in batch[0]:
            yield line[:-1]


def _open(path: Path, compressed: bool) -> gzip.GzipFile | BufferedWriter:
    if compressed:
        # mtime=0 keeps the bytes identical from run to run.
        return gzip.GzipFile(path, "wb", compresslevel=6, mtime=0)
    return path.open("wb")


def write_sample(
    directory: Path,
    records: int = 3000,
    seed: int = 1,
    *,
    malformed: int = 0,
    end_us: int | None = None,
    span_s: float = 3600.0,
    files_per_instance: int = 3,
    gzip_one: bool = False,
) -> SampleTruth:
    """Write a sample cluster's audit logs under ``directory`` and return the ground truth.

    Files are ``directory/<instance>/audit.log.<k>`` for ``k < files_per_instance``; with
    ``gzip_one``, reader-2's last file is written gzip-compressed as ``audit.log.<k>.gz``.
    Other ``audit.log.*`` files left in those instance directories by an earlier call are
    removed, so the directory holds exactly the sample. ``malformed`` entries (one line
    each, never first in a file, never adjacent) are added on top of ``records``.
    The same arguments always give the same bytes.
    """
    if records < 0 or malformed < 0:
        raise ValueError("records and malformed must not be negative")
    if malformed > records:
        raise ValueError("malformed entries each follow their own record: malformed <= records")
    if files_per_instance < 1:
        raise ValueError("files_per_instance must be at least 1")
    end, span = _end(end_us, span_s)
    directory = Path(directory)
    counts = _split(records)

    # Malformed entries: each right after a distinct record, so never first, never adjacent.
    placer = random.Random(f"neptune-audit-sample:{seed}:malformed")
    spots = placer.sample(range(records), malformed)
    kinds = [0] * (malformed - malformed // 2) + [1] * (malformed // 2)
    placer.shuffle(kinds)
    bad: list[dict[int, int]] = [{} for _ in _INSTANCES]
    offsets = list(itertools.accumulate([0, *counts]))
    for spot, kind in zip(spots, kinds, strict=True):
        which = bisect.bisect_right(offsets, spot) - 1
        bad[which][spot - offsets[which]] = kind

    truth = SampleTruth(
        files=[],
        records=records,
        malformed=malformed,
        lines=records + malformed,
        first_us=None,
        last_us=None,
    )
    streams: list[_Stream] = []
    for index, (inst, n) in enumerate(zip(_INSTANCES, counts, strict=True)):
        folder = directory / inst.name
        folder.mkdir(parents=True, exist_ok=True)
        paths = [folder / f"audit.log.{k}" for k in range(files_per_instance)]
        if gzip_one and inst is _INSTANCES[-1]:
            paths[-1] = paths[-1].with_name(paths[-1].name + ".gz")
        for stale in folder.glob("audit.log.*"):
            if stale not in paths and stale.is_file():
                stale.unlink()
        stream = _Stream(inst, n, seed, end, span, files_per_instance)
        handles = [_open(p, p.suffix == ".gz") for p in paths]
        try:
            for batch in stream.batches(bad[index]):
                for handle, lines in zip(handles, batch, strict=True):
                    if lines:
                        handle.write("".join(lines).encode("utf-8"))
        finally:
            for handle in handles:
                handle.close()
        streams.append(stream)
        truth.files += paths
        for written, count in zip(paths, stream.per_file, strict=True):
            truth.per_file_records[str(written)] = count

    for stream in streams:
        for idx, uses in stream.variant_uses.items():
            ctype, lang, auth, user, path = stream.metas[idx]
            truth.by_type[ctype] += uses
            truth.by_lang[lang] += uses
            truth.by_auth[auth] += uses
            if user:
                truth.by_user[user] += uses
            if path:
                truth.by_path[path] += uses
        for host, uses in stream.client_uses.items():
            truth.by_client[host[:-1]] += uses
        if stream.first_us is not None:
            first = stream.first_us
            truth.first_us = first if truth.first_us is None else min(truth.first_us, first)
        if stream.last_us is not None:
            last = stream.last_us
            truth.last_us = last if truth.last_us is None else max(truth.last_us, last)
    truth.files.sort()
    return truth


def append_live(
    directory: Path,
    stop: threading.Event,
    *,
    rate: float = 4.0,
    seed: int = 1,
    clock: Callable[[], float] = time.time,
) -> int:
    """Keep appending fresh records to the sample's files until ``stop`` is set: bursts of a
    few records at random moments, ``rate`` records per second on average, the writer busier
    than the readers. Returns how many records were written (for ``demo`` and live tests)."""
    rng = random.Random(seed)
    targets = {
        name: sorted(p for p in (directory / name).glob("audit.log.*") if p.suffix != ".gz")
        for name in INSTANCES
    }
    written = 0
    while not stop.is_set():
        burst = rng.choice((1, 1, 2, 3, 5, 8, 13))
        name = rng.choices(INSTANCES, weights=(2, 1, 1))[0]
        files = targets[name]
        if files:
            now_us = int(clock() * 1_000_000)
            lines = iter_lines(
                burst, seed=rng.randrange(1 << 30), instance=name, end_us=now_us, span_s=1.0
            )
            with open(rng.choice(files), "a", encoding="utf-8") as handle:
                handle.write("".join(line + "\n" for line in lines))
            written += burst
        stop.wait(burst / rate * rng.uniform(0.5, 1.5))
    return written
