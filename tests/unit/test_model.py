"""Behavioural tests of the record model (``tui.model``), written from the field guide
(``neptune-audit-log.md``): every line shape of its section 3, the documented forms, and
the small parsers (time, hosts, ARNs, auth context, HTTP header, payload) one by one."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.model import (
    FRAGMENT_REASON,
    GREMLIN,
    OPENCYPHER,
    SPARQL,
    Host,
    HttpRequest,
    Malformed,
    Principal,
    Query,
    Record,
    auth_succeeded,
    decode_entry_bytes,
    decode_query,
    inert,
    language_for,
    parse_arn,
    parse_auth_context,
    parse_entry,
    parse_header,
    parse_host,
    sniff_language,
    starts_record,
    timestamp_us,
)

# --------------------------------------------------------------------------------------
# Helpers

#: Netty's request summary, as real header fields start (it contains ", " and ": ").
NETTY = (
    "HttpObjectAggregator$AggregatedFullHttpRequest(decodeResult: success, version: HTTP/1.1,"
    " content: CompositeByteBuf(ridx: 0, widx: 57, cap: 57, components=1))"
)
#: The shorter summary the field guide's synthetic lines use.
NETTY_SHORT = "HttpObjectAggregator$AggregatedFullHttpRequest(...)"

T_MS = "1700000000123"
T_US = 1_700_000_000_123_000
#: 2023-11-14T22:13:20Z in microseconds.
INSTANT_US = 1_700_000_000 * 1_000_000

# The five synthetic lines of the field guide's section 3, verbatim.
SPEC_SPARQL_FORM = (
    "1700000000123, 10.0.1.18:34266, 10.0.3.215:8182, HTTP_POST, [unknown], [unknown], "
    '"HttpObjectAggregator$AggregatedFullHttpRequest(decodeResult: success, version: HTTP/1.1, '
    "content: CompositeByteBuf(ridx: 0, widx: 57, cap: 57, components=1)) POST /sparql HTTP/1.1 "
    "Host: db.cluster-abc.us-east-1.neptune.amazonaws.com:8182 User-Agent: python-requests/2.31.0 "
    'Accept: */* Content-Length: 57 Content-Type: application/x-www-form-urlencoded", '
    "query=SELECT+%3Fs+WHERE+%7B+%3Fs+%3Fp+%3Fo+%7D+LIMIT+10"
)
SPEC_WEBSOCKET = (
    "1700000000456, 10.0.1.19:40112, 10.0.3.215:8182, Websocket, [unknown], [unknown], "
    "[unknown], \"RequestMessage{, requestId=6f1c..., op='eval', processor='', "
    'args={gremlin=g.V().has(""person"",""name"",\'ann\').out(\'knows\').limit(5) , '
    'aliases={g=g}}}"'
)
SPEC_GREMLIN_JSON = (
    "1700000000789, 10.0.1.20:51000, ip-10-0-3-215.ec2.internal/10.0.3.215:8182, HTTP_POST, "
    "arn:aws:sts::123456789012:assumed-role/AppRole/worker-7, {authenticationSucceeded=true}, "
    '"HttpObjectAggregator$AggregatedFullHttpRequest(...) POST /gremlin HTTP/1.1 Host: ... '
    'Content-Type: application/json", "{""gremlin"": ""g.V().count()""}"'
)
SPEC_STATUS = (
    "1700000000999, 10.0.1.21:47148, [unknown], HTTP_GET, [unknown], [unknown], "
    '"HttpObjectAggregator$AggregatedFullHttpRequest(...) GET /status HTTP/1.1 Host: ... '
    'content-length: 0", /status'
)
SPEC_BOLT = (
    "1700000001000, 10.0.1.22:7687, 10.0.3.215:8182, Bolt, [unknown], [unknown], [unknown], "
    "MATCH (p:person)-[:knows]->(f) RETURN f.name LIMIT 10"
)


def record(text: str) -> Record:
    """``parse_entry(text)``, which must be a Record."""
    entry = parse_entry(text)
    assert isinstance(entry, Record), entry
    assert entry.raw == text
    return entry


def malformed(text: str) -> Malformed:
    """``parse_entry(text)``, which must be a Malformed entry keeping the text whole."""
    entry = parse_entry(text)
    assert isinstance(entry, Malformed), entry
    assert entry.raw == text
    return entry


def entry_line(
    conn: str = "HTTP_POST",
    header: str = "[unknown]",
    payload: str | None = None,
    *,
    ts: str = T_MS,
    client: str = "10.0.1.18:34266",
    server: str = "10.0.3.215:8182",
    arn: str = "[unknown]",
    auth: str = "[unknown]",
) -> str:
    """A record line from its fields (written as logged: quote them yourself)."""
    fields = [ts, client, server, conn, arn, auth, header]
    if payload is not None:
        fields.append(payload)
    return ", ".join(fields)


def http_header(request_line: str, headers: str = "Host: h:8182") -> str:
    """A quoted header field: Netty summary, request line, headers."""
    return f'"{NETTY_SHORT} {request_line} HTTP/1.1 {headers}"'


def host_tuple(host: Host | None) -> tuple[str | None, str | None, int | None] | None:
    return None if host is None else (host.name, host.address, host.port)


# --------------------------------------------------------------------------------------
# 1. The line shapes of the field guide's section 3


def test_spec_sparql_form_post() -> None:
    r = record(SPEC_SPARQL_FORM)
    assert r.epoch_us == T_US
    assert r.client == Host("10.0.1.18:34266", None, "10.0.1.18", 34266)
    assert r.server == Host("10.0.3.215:8182", None, "10.0.3.215", 8182)
    assert r.conn_type == "HTTP_POST"
    assert r.type_known
    assert r.principal is None and r.arn is None
    assert r.auth_raw is None and r.auth_context is None and r.auth_ok is None
    assert r.method == "POST"
    assert r.path == "/sparql"
    assert r.lang == SPARQL
    assert r.payload == "query=SELECT+%3Fs+WHERE+%7B+%3Fs+%3Fp+%3Fo+%7D+LIMIT+10"
    assert r.query == Query(text="SELECT ?s WHERE { ?s ?p ?o } LIMIT 10", form="form")
    req = r.request
    assert req is not None
    assert req.summary == NETTY
    assert (req.method, req.target, req.path, req.query_string, req.version) == (
        "POST",
        "/sparql",
        "/sparql",
        None,
        "HTTP/1.1",
    )
    assert req.headers == (
        ("Host", "db.cluster-abc.us-east-1.neptune.amazonaws.com:8182"),
        ("User-Agent", "python-requests/2.31.0"),
        ("Accept", "*/*"),
        ("Content-Length", "57"),
        ("Content-Type", "application/x-www-form-urlencoded"),
    )
    # The summary's own "name: value" pairs are not taken for headers.
    assert req.header("decodeResult") is None
    assert req.header("version") is None
    assert req.header("content-type") == "application/x-www-form-urlencoded"
    assert r.user_agent == "python-requests/2.31.0"
    assert r.header_raw is not None and r.header_raw.startswith(NETTY)


def test_spec_websocket_request_message() -> None:
    r = record(SPEC_WEBSOCKET)
    assert r.epoch_us == 1_700_000_000_456_000
    assert host_tuple(r.client) == (None, "10.0.1.19", 40112)
    assert host_tuple(r.server) == (None, "10.0.3.215", 8182)
    assert r.conn_type == "Websocket"
    assert r.principal is None and r.auth_ok is None
    # The header is "[unknown]" for WebSocket: no request, no method, no path.
    assert r.header_raw is None and r.request is None
    assert r.method is None and r.path is None
    assert r.user_agent is None
    # The quoted payload is unquoted and its doubled quotes un-doubled.
    assert r.payload is not None
    assert r.payload.startswith("RequestMessage{, requestId=6f1c...")
    assert 'has("person","name",\'ann\')' in r.payload
    assert '""' not in r.payload
    assert r.query is not None
    assert r.query.text == "g.V().has(\"person\",\"name\",'ann').out('knows').limit(5)"
    assert r.query.form == "request-message"
    assert r.lang == GREMLIN


def test_spec_gremlin_json_with_iam() -> None:
    r = record(SPEC_GREMLIN_JSON)
    assert r.epoch_us == 1_700_000_000_789_000
    assert host_tuple(r.client) == (None, "10.0.1.20", 51000)
    assert r.server == Host(
        "ip-10-0-3-215.ec2.internal/10.0.3.215:8182",
        "ip-10-0-3-215.ec2.internal",
        "10.0.3.215",
        8182,
    )
    assert r.conn_type == "HTTP_POST"
    assert r.arn == "arn:aws:sts::123456789012:assumed-role/AppRole/worker-7"
    p = r.principal
    assert p is not None
    assert (p.account, p.kind, p.name, p.session) == ("123456789012", "role", "AppRole", "worker-7")
    assert p.short == "role/AppRole/worker-7"
    assert r.auth_raw == "{authenticationSucceeded=true}"
    assert r.auth_context is not None
    assert auth_succeeded(r.auth_context) is True
    assert r.auth_ok is True
    assert r.method == "POST" and r.path == "/gremlin"
    assert r.request is not None
    assert r.request.summary == NETTY_SHORT
    assert r.request.headers == (("Host", "..."), ("Content-Type", "application/json"))
    assert r.payload == '{"gremlin": "g.V().count()"}'
    assert r.query == Query(text="g.V().count()", form="json")
    assert r.lang == GREMLIN


def test_spec_status_probe() -> None:
    r = record(SPEC_STATUS)
    assert r.epoch_us == 1_700_000_000_999_000
    assert host_tuple(r.client) == (None, "10.0.1.21", 47148)
    assert r.server is None  # "[unknown]" for health probes
    assert r.conn_type == "HTTP_GET"
    assert r.method == "GET" and r.path == "/status"
    assert r.request is not None
    assert r.request.summary == NETTY_SHORT
    assert r.request.headers == (("Host", "..."), ("content-length", "0"))
    assert r.request.header("Content-Length") == "0"
    assert r.payload == "/status"
    assert r.query is None
    assert r.lang is None


def test_spec_bolt_plain_text() -> None:
    r = record(SPEC_BOLT)
    assert r.epoch_us == 1_700_000_001_000_000
    assert host_tuple(r.client) == (None, "10.0.1.22", 7687)
    assert host_tuple(r.server) == (None, "10.0.3.215", 8182)
    assert r.conn_type == "Bolt"
    assert r.request is None and r.method is None and r.path is None
    assert r.payload == "MATCH (p:person)-[:knows]->(f) RETURN f.name LIMIT 10"
    assert r.query == Query(
        text="MATCH (p:person)-[:knows]->(f) RETURN f.name LIMIT 10", form="text"
    )
    assert r.lang == OPENCYPHER


def test_source_line_and_offset_are_kept() -> None:
    entry = parse_entry(SPEC_BOLT, source="a.log", line=42, offset=4096)
    assert isinstance(entry, Record)
    assert (entry.source, entry.line, entry.offset) == ("a.log", 42, 4096)
    bad = parse_entry("garbage", source="b.log", line=3, offset=7)
    assert isinstance(bad, Malformed)
    assert (bad.source, bad.line, bad.offset) == ("b.log", 3, 7)


# --------------------------------------------------------------------------------------
# 2. The documented forms


def test_documented_microsecond_timestamp() -> None:
    r = record(entry_line("Bolt", "", "RETURN 1", ts="1700000000123456"))
    assert r.epoch_us == 1_700_000_000_123_456


def test_documented_empty_arn_and_auth_context() -> None:
    r = record(entry_line("Bolt", "", "RETURN 1", arn="", auth=""))
    assert r.principal is None and r.arn is None
    assert r.auth_raw is None and r.auth_context is None and r.auth_ok is None
    assert r.payload == "RETURN 1"
    assert r.lang == OPENCYPHER


@pytest.mark.parametrize(
    ("auth", "raw", "ok"),
    [
        ('"{""authenticationSucceeded"":false}"', '{"authenticationSucceeded":false}', False),
        ('"{""authenticationSucceeded"": true}"', '{"authenticationSucceeded": true}', True),
        (
            '"{""authenticationSucceeded"": true, ""x"": 1}"',
            '{"authenticationSucceeded": true, "x": 1}',
            True,
        ),
    ],
)
def test_documented_json_auth_context_quoted(auth: str, raw: str, ok: bool) -> None:
    r = record(
        entry_line(
            header=http_header("POST /openCypher"),
            payload="query=MATCH+%28n%29+RETURN+n",
            arn="arn:aws:iam::123456789012:user/alice",
            auth=auth,
        )
    )
    assert r.auth_raw == raw
    assert r.auth_context is not None
    assert r.auth_context["authenticationSucceeded"] is ok
    assert r.auth_ok is ok
    # The fields after it are unaffected.
    assert r.path == "/openCypher"
    assert r.query == Query(text="MATCH (n) RETURN n", form="form")
    assert r.lang == OPENCYPHER


def test_unquoted_json_auth_context_with_comma_space() -> None:
    r = record(
        entry_line(
            header=http_header("POST /gremlin"),
            payload="g.V()",
            auth='{"authenticationSucceeded": false, "x": 1}',
        )
    )
    assert r.auth_raw == '{"authenticationSucceeded": false, "x": 1}'
    assert r.auth_ok is False
    assert r.path == "/gremlin"
    assert r.payload == "g.V()"


def test_java_map_auth_context_with_several_entries() -> None:
    r = record(
        entry_line(
            header=http_header("POST /gremlin"),
            payload='{"gremlin": "g.V()"}',
            arn="arn:aws:iam::123456789012:user/alice",
            auth="{authenticationSucceeded=true, foo=bar}",
        )
    )
    assert r.auth_raw == "{authenticationSucceeded=true, foo=bar}"
    assert r.auth_context is not None
    assert dict(r.auth_context) == {"authenticationSucceeded": "true", "foo": "bar"}
    assert r.auth_ok is True
    # The ", " inside the braces did not shift the following fields.
    assert r.request is not None and r.request.path == "/gremlin"
    assert r.query == Query(text="g.V()", form="json")


def test_java_map_auth_context_nested_in_a_line() -> None:
    r = record(
        entry_line(
            header=http_header("POST /sparql"),
            payload="query=ASK+%7B%7D",
            auth="{authenticationSucceeded=false, iam={arn=x, policy={a=b, c=d}}}",
        )
    )
    assert r.auth_ok is False
    assert r.auth_context is not None
    assert r.auth_context["iam"] == "{arn=x, policy={a=b, c=d}}"
    assert r.path == "/sparql"
    assert r.query is not None and r.query.text == "ASK {}"


def test_null_means_absent() -> None:
    r = record(entry_line("HTTP_POST", "null", "null", client="null", arn="null", auth="null"))
    assert r.client is None
    assert r.principal is None
    assert r.auth_raw is None and r.auth_ok is None
    assert r.header_raw is None and r.request is None
    assert r.payload is None and r.query is None
    assert r.method == "POST"  # from the connection type


@pytest.mark.parametrize("header", ["", '""', "[unknown]", "null"])
@pytest.mark.parametrize(
    ("conn", "payload", "lang"),
    [
        ("Websocket", "RequestMessage{, op='eval', args={gremlin=g.V(), aliases={g=g}}}", GREMLIN),
        ("Bolt", "MATCH (n) RETURN n", OPENCYPHER),
    ],
)
def test_documented_empty_header_for_websocket_and_bolt(
    header: str, conn: str, payload: str, lang: str
) -> None:
    r = record(entry_line(conn, header, payload))
    assert r.header_raw is None and r.request is None
    assert r.method is None and r.path is None
    assert r.lang == lang
    assert r.query is not None and r.query.text in ("g.V()", "MATCH (n) RETURN n")


# --------------------------------------------------------------------------------------
# 3. Timestamps: the width decides the unit


@pytest.mark.parametrize(
    "digits",
    ["1700000000", "1700000000000", "1700000000000000", "1700000000000000000"],
    ids=["s", "ms", "us", "ns"],
)
def test_timestamp_widths_give_the_same_instant(digits: str) -> None:
    assert timestamp_us(digits) == INSTANT_US
    assert record(entry_line("Bolt", "", "RETURN 1", ts=digits)).epoch_us == INSTANT_US


@pytest.mark.parametrize(
    ("digits", "expected"),
    [
        ("1700000001", 1_700_000_001_000_000),
        ("1700000000123", 1_700_000_000_123_000),
        ("1700000000123456", 1_700_000_000_123_456),
        ("1700000000123456789", 1_700_000_000_123_456),  # nanoseconds truncated
        ("1700000000123456999", 1_700_000_000_123_456),  # truncated, not rounded
        ("0000000000", 0),
    ],
)
def test_timestamp_units(digits: str, expected: int) -> None:
    assert timestamp_us(digits) == expected
    assert record(entry_line("Bolt", "", "RETURN 1", ts=digits)).epoch_us == expected


@pytest.mark.parametrize("width", [1, 9, 11, 12, 14, 15, 17, 18, 20, 25])
def test_other_timestamp_widths_are_malformed(width: int) -> None:
    digits = ("1700000000123456789" + "0" * 10)[:width]
    assert timestamp_us(digits) is None
    bad = malformed(entry_line("Bolt", "", "RETURN 1", ts=digits))
    assert f"{width} digits" in bad.reason


# --------------------------------------------------------------------------------------
# 4. Hosts


@pytest.mark.parametrize(
    ("raw", "name", "address", "port", "key"),
    [
        ("10.0.1.18:34266", None, "10.0.1.18", 34266, "10.0.1.18"),
        (
            "ip-10-0-3-215.ec2.internal/10.0.3.215:8182",
            "ip-10-0-3-215.ec2.internal",
            "10.0.3.215",
            8182,
            "10.0.3.215",
        ),
        ("/10.0.3.215:8182", None, "10.0.3.215", 8182, "10.0.3.215"),
        ("db.example.com:8182", "db.example.com", None, 8182, "db.example.com"),
        ("[2001:db8::1]:8182", None, "2001:db8::1", 8182, "2001:db8::1"),
        ("0:0:0:0:0:0:0:1:8182", None, "0:0:0:0:0:0:0:1", 8182, "0:0:0:0:0:0:0:1"),
        (
            "ip6-localhost/0:0:0:0:0:0:0:1:8182",
            "ip6-localhost",
            "0:0:0:0:0:0:0:1",
            8182,
            "0:0:0:0:0:0:0:1",
        ),
        ("2001:db8::1", None, "2001:db8::1", None, "2001:db8::1"),
        ("10.0.0.1", None, "10.0.0.1", None, "10.0.0.1"),
        ("10.0.1.18:1", None, "10.0.1.18", 1, "10.0.1.18"),
        ("10.0.1.18:65535", None, "10.0.1.18", 65535, "10.0.1.18"),
    ],
)
def test_parse_host(
    raw: str, name: str | None, address: str | None, port: int | None, key: str
) -> None:
    host = parse_host(raw)
    assert host.raw == raw
    assert (host.name, host.address, host.port) == (name, address, port)
    assert host.key == key


@pytest.mark.parametrize("raw", ["10.0.0.1:99999", "10.0.0.1:65536", "[2001:db8::1]:99999"])
def test_parse_host_invalid_port(raw: str) -> None:
    host = parse_host(raw)
    assert host.raw == raw
    assert host.port is None
    assert host.key  # still identifies something
    assert host.address in (None, "10.0.0.1", "2001:db8::1")


def test_host_key_groups_ephemeral_ports() -> None:
    a = parse_host("10.0.1.18:34266")
    b = parse_host("10.0.1.18:40112")
    assert a.key == b.key and a != b


def test_hosts_in_a_record() -> None:
    r = record(
        entry_line(
            "Bolt",
            "",
            "RETURN 1",
            client="[2001:db8::1]:51000",
            server="ip-10-0-3-215.ec2.internal/0:0:0:0:0:0:0:1:8182",
        )
    )
    assert host_tuple(r.client) == (None, "2001:db8::1", 51000)
    assert host_tuple(r.server) == ("ip-10-0-3-215.ec2.internal", "0:0:0:0:0:0:0:1", 8182)


# --------------------------------------------------------------------------------------
# 5. ARNs


@pytest.mark.parametrize(
    ("arn", "partition", "service", "account", "kind", "name", "session", "short"),
    [
        (
            "arn:aws:iam::123456789012:user/alice",
            "aws",
            "iam",
            "123456789012",
            "user",
            "alice",
            None,
            "user/alice",
        ),
        (
            "arn:aws:iam::123456789012:user/division/bob",
            "aws",
            "iam",
            "123456789012",
            "user",
            "bob",
            None,
            "user/bob",
        ),
        (
            "arn:aws:sts::123456789012:assumed-role/AppRole/worker-7",
            "aws",
            "sts",
            "123456789012",
            "role",
            "AppRole",
            "worker-7",
            "role/AppRole/worker-7",
        ),
        (
            "arn:aws:iam::123456789012:role/AppRole",
            "aws",
            "iam",
            "123456789012",
            "role",
            "AppRole",
            None,
            "role/AppRole",
        ),
        (
            "arn:aws:sts::123456789012:federated-user/carol",
            "aws",
            "sts",
            "123456789012",
            "federated-user",
            "carol",
            None,
            "federated-user/carol",
        ),
        (
            "arn:aws:iam::123456789012:root",
            "aws",
            "iam",
            "123456789012",
            "root",
            "123456789012",
            None,
            "root/123456789012",
        ),
        (
            "arn:aws-cn:iam::123456789012:user/alice",
            "aws-cn",
            "iam",
            "123456789012",
            "user",
            "alice",
            None,
            "user/alice",
        ),
        (
            "arn:aws-us-gov:sts::123456789012:assumed-role/GovRole/s-1",
            "aws-us-gov",
            "sts",
            "123456789012",
            "role",
            "GovRole",
            "s-1",
            "role/GovRole/s-1",
        ),
    ],
)
def test_parse_arn(
    arn: str,
    partition: str,
    service: str,
    account: str,
    kind: str,
    name: str,
    session: str | None,
    short: str,
) -> None:
    p = parse_arn(arn)
    assert p.arn == arn
    assert (p.partition, p.service, p.account, p.kind, p.name, p.session) == (
        partition,
        service,
        account,
        kind,
        name,
        session,
    )
    assert p.short == short
    expected_parts = {arn, short, account, name} | ({session} if session else set())
    assert set(p.parts) == expected_parts
    assert p.parts[0] == arn


@pytest.mark.parametrize("raw", ["alice", "arn:aws:iam", "not:an:arn:at:all:really", "AROAEXAMPLE"])
def test_parse_arn_non_arn(raw: str) -> None:
    p = parse_arn(raw)
    assert p == Principal(arn=raw)
    assert (p.partition, p.service, p.account, p.kind, p.name, p.session) == (None,) * 6
    assert p.short == raw
    assert set(p.parts) == {raw}


def test_principal_in_a_record() -> None:
    r = record(
        entry_line("Bolt", "", "RETURN 1", arn="arn:aws:iam::123456789012:user/division/bob")
    )
    assert r.arn == "arn:aws:iam::123456789012:user/division/bob"
    assert r.principal is not None
    assert r.principal.name == "bob"
    assert "bob" in r.principal.parts and "123456789012" in r.principal.parts


# --------------------------------------------------------------------------------------
# 6. Auth context


@pytest.mark.parametrize(
    ("raw", "ok"),
    [
        ('{"authenticationSucceeded": true}', True),
        ('{"authenticationSucceeded":false}', False),
        ("{authenticationSucceeded=true}", True),
        ("{authenticationSucceeded=false}", False),
        ("{authenticationSucceeded=true, foo=bar}", True),
        ("{foo=bar, authenticationSucceeded=false}", False),
        ("{authenticationSucceeded=true, iam={arn=x, y=z}}", True),
        ('{"authenticationSucceeded": false, "iam": {"arn": "x", "y": [1, 2]}}', False),
        ('{"authenticationSucceeded": "TRUE"}', True),
        ("{authenticationSucceeded=TRUE}", True),
        ("{authenticationSucceeded=False}", False),
        ("  {authenticationSucceeded=true}  ", True),
        ("{foo=bar}", None),
        ('{"foo": true}', None),
        ("{}", None),
        ('{"authenticationSucceeded": 1}', None),
        ('{"authenticationSucceeded": null}', None),
        ("{authenticationSucceeded=maybe}", None),
    ],
)
def test_auth_succeeded(raw: str, ok: bool | None) -> None:
    context = parse_auth_context(raw)
    assert context is not None
    assert auth_succeeded(context) is ok


def test_auth_context_maps() -> None:
    assert parse_auth_context("{authenticationSucceeded=true, foo=bar}") == {
        "authenticationSucceeded": "true",
        "foo": "bar",
    }
    nested = parse_auth_context("{authenticationSucceeded=true, iam={arn=x, y=z}, tail=1}")
    assert nested == {"authenticationSucceeded": "true", "iam": "{arn=x, y=z}", "tail": "1"}
    assert parse_auth_context('{"authenticationSucceeded": true, "n": 2}') == {
        "authenticationSucceeded": True,
        "n": 2,
    }


@pytest.mark.parametrize(
    "raw",
    ["garbage", "", "[unknown]", "authenticationSucceeded=true", "{not a map}", "{a=b", "[1, 2]"],
)
def test_auth_context_garbage(raw: str) -> None:
    assert parse_auth_context(raw) is None
    assert auth_succeeded(parse_auth_context(raw)) is None


def test_auth_succeeded_none() -> None:
    assert auth_succeeded(None) is None


def test_garbage_auth_context_in_a_record_keeps_raw_text() -> None:
    r = record(entry_line("Bolt", "", "RETURN 1", auth="something-else"))
    assert r.auth_raw == "something-else"
    assert r.auth_context is None
    assert r.auth_ok is None


# --------------------------------------------------------------------------------------
# 7. The HTTP header field


def test_header_request_line_after_netty_summary() -> None:
    req = parse_header(f"{NETTY} POST /sparql HTTP/1.1 Host: a:8182 Accept: */*")
    assert req.summary == NETTY
    assert (req.method, req.target, req.path, req.query_string, req.version) == (
        "POST",
        "/sparql",
        "/sparql",
        None,
        "HTTP/1.1",
    )
    assert req.headers == (("Host", "a:8182"), ("Accept", "*/*"))


def test_header_starting_with_request_line() -> None:
    req = parse_header("POST /gremlin HTTP/1.1 Host: h:8182 Content-Type: application/json")
    assert req.summary is None
    assert (req.method, req.path, req.version) == ("POST", "/gremlin", "HTTP/1.1")
    assert req.headers == (("Host", "h:8182"), ("Content-Type", "application/json"))


def test_header_starting_with_request_line_and_paren_in_a_value() -> None:
    req = parse_header("POST /gremlin HTTP/1.1 Host: h User-Agent: tool/1.0 (Linux) GET /x")
    assert (req.method, req.path, req.summary) == ("POST", "/gremlin", None)
    assert req.user_agent == "tool/1.0 (Linux) GET /x"


def test_header_request_line_only() -> None:
    req = parse_header("GET /status HTTP/1.1")
    assert (req.method, req.path, req.version, req.headers) == ("GET", "/status", "HTTP/1.1", ())


def test_header_get_target_with_query_string() -> None:
    req = parse_header(f"{NETTY} GET /sparql?query=SELECT%20*%20WHERE%20%7B%7D HTTP/1.1 Host: h")
    assert req.method == "GET"
    assert req.target == "/sparql?query=SELECT%20*%20WHERE%20%7B%7D"
    assert req.path == "/sparql"
    assert req.query_string == "query=SELECT%20*%20WHERE%20%7B%7D"
    assert req.headers == (("Host", "h"),)


def test_header_values_with_spaces_and_commas() -> None:
    authorization = (
        "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20231114/us-east-1/neptune-db/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=abc123"
    )
    req = parse_header(
        f"{NETTY} POST /sparql HTTP/1.1 Host: a:8182 "
        "User-Agent: Apache-HttpClient/4.5.13 (Java/17.0.9) "
        f"Authorization: {authorization} "
        "content-length: 0"
    )
    assert req.headers == (
        ("Host", "a:8182"),
        ("User-Agent", "Apache-HttpClient/4.5.13 (Java/17.0.9)"),
        ("Authorization", authorization),
        ("content-length", "0"),
    )
    assert req.user_agent == "Apache-HttpClient/4.5.13 (Java/17.0.9)"
    assert req.header("AUTHORIZATION") == authorization
    assert req.header("Content-Length") == "0"
    assert req.header("X-Missing") is None


def test_header_user_agent_through_a_record() -> None:
    r = record(
        entry_line(
            header=f'"{NETTY} POST /gremlin HTTP/1.1 User-Agent: Apache-HttpClient/4.5.13 '
            '(Java/17.0.9) Content-Type: application/json"',
            payload='{"gremlin": "g.V().limit(1)"}',
        )
    )
    assert r.user_agent == "Apache-HttpClient/4.5.13 (Java/17.0.9)"
    assert r.request is not None and r.request.summary == NETTY


@pytest.mark.parametrize(
    "raw",
    ["something weird here", "HttpObjectAggregator$Something(partial", "post /lower HTTP/1.1"],
)
def test_header_unrecognised_text_stays_in_summary(raw: str) -> None:
    req = parse_header(raw)
    assert req.raw == raw
    assert req.summary == raw
    assert (req.method, req.target, req.path, req.query_string, req.version) == (None,) * 5
    assert req.headers == ()


def test_unrecognised_header_in_a_record_falls_back_to_connection_type() -> None:
    r = record(entry_line("HTTP_POST", '"opaque header text"', "query=ASK+%7B%7D"))
    assert r.request is not None and r.request.summary == "opaque header text"
    assert r.method == "POST"
    assert r.path is None
    assert r.query is not None and r.query.text == "ASK {}"
    assert r.lang == SPARQL  # sniffed: the path does not decide


def test_header_is_an_http_request() -> None:
    assert isinstance(parse_header("GET /status HTTP/1.1"), HttpRequest)


# --------------------------------------------------------------------------------------
# 8. Payload decoding and language


@pytest.mark.parametrize(
    ("payload", "query_string", "expected"),
    [
        (
            "query=SELECT+*+WHERE+%7B%0A%3Fs+%3Fp+%3Fo%0A%7D",
            None,
            Query("SELECT * WHERE {\n?s ?p ?o\n}", "form"),
        ),
        (
            "update=INSERT+DATA+%7B%3Ca%3E+%3Cb%3E+%3Cc%3E%7D",
            None,
            Query("INSERT DATA {<a> <b> <c>}", "form"),
        ),
        (
            "query=MATCH+%28n%29+RETURN+n&explain=dynamic",
            None,
            Query("MATCH (n) RETURN n", "form", (("explain", "dynamic"),)),
        ),
        ('{"gremlin": "g.V().count()"}', None, Query("g.V().count()", "json")),
        (
            '{"gremlin": "g.V().has(\'a\')\\n.count()"}',
            None,
            Query("g.V().has('a')\n.count()", "json"),
        ),
        (
            '{"query": "MATCH (n) WHERE n.x = $x RETURN n", "parameters": {"x": 1}}',
            None,
            Query("MATCH (n) WHERE n.x = $x RETURN n", "json", (("parameters", '{"x": 1}'),)),
        ),
        (
            "RequestMessage{, requestId=abc, op='eval', processor='', "
            "args={gremlin=g.V().has('name',   'x').count()  , aliases={g=g}}}",
            None,
            Query("g.V().has('name',   'x').count()", "request-message", (("op", "eval"),)),
        ),
        (
            "RequestMessage{, requestId=abc, op='bytecode', processor='traversal', "
            "args={gremlin=[[], [V(), has(person, name, ann), count()]], aliases={g=g}}}",
            None,
            Query("g.V().has(person, name, ann).count()", "bytecode", (("op", "bytecode"),)),
        ),
        (
            "/sparql?query=SELECT+*+WHERE+%7B%7D",
            None,
            Query("SELECT * WHERE {}", "query-string"),
        ),
        (None, "query=SELECT+*+WHERE+%7B%7D", Query("SELECT * WHERE {}", "query-string")),
        ("", "query=SELECT+*+WHERE+%7B%7D", Query("SELECT * WHERE {}", "query-string")),
        ("MATCH (a), (b) RETURN a, b", None, Query("MATCH (a), (b) RETURN a, b", "text")),
        ("/status", None, None),
        ('{"source": "s3://bucket/key", "format": "csv", "iamRoleArn": "x"}', None, None),
        ("action=initiateDatabaseReset", None, None),
        (None, None, None),
        ("", None, None),
    ],
)
def test_decode_query(
    payload: str | None, query_string: str | None, expected: Query | None
) -> None:
    assert decode_query(payload, query_string) == expected


@pytest.mark.parametrize(
    ("conn", "path", "lang"),
    [
        ("Websocket", None, GREMLIN),
        ("Bolt", None, OPENCYPHER),
        ("HTTP_POST", "/gremlin", GREMLIN),
        ("HTTP_POST", "/gremlin/explain", GREMLIN),
        ("HTTP_POST", "/gremlin/profile", GREMLIN),
        ("HTTP_POST", "/sparql", SPARQL),
        ("HTTP_GET", "/sparql", SPARQL),
        ("HTTP_POST", "/openCypher", OPENCYPHER),
        ("HTTP_GET", "/status", None),
        ("HTTP_GET", "/sparql/status", None),
        ("HTTP_GET", "/gremlin/status", None),
        ("HTTP_GET", "/openCypher/status", None),
        ("HTTP_POST", "/loader", None),
        ("HTTP_GET", "/loader/abc-123", None),
        ("HTTP_POST", "/system", None),
    ],
)
def test_language_for_endpoint(conn: str, path: str | None, lang: str | None) -> None:
    assert language_for(conn, path) == lang


@pytest.mark.parametrize(
    ("conn", "path"),
    [("HTTP_POST", "/unknown-endpoint"), ("HTTP_POST", None), ("Carrier_Pigeon", None)],
)
def test_language_for_undecided_falls_back_to_the_payload(conn: str, path: str | None) -> None:
    # The type and path do not decide: the answer is not one of the languages nor "none".
    assert language_for(conn, path) not in (GREMLIN, SPARQL, OPENCYPHER, None)


@pytest.mark.parametrize(
    ("query", "lang"),
    [
        (Query("g.V().count()", "text"), GREMLIN),
        (Query("  g.E().limit(1)", "text"), GREMLIN),
        (Query("anything", "request-message"), GREMLIN),
        (Query("anything", "bytecode"), GREMLIN),
        (Query("SELECT * WHERE { ?s ?p ?o }", "form"), SPARQL),
        (Query("PREFIX ex: <http://e/> ASK {}", "form"), SPARQL),
        (Query("insert data { <a> <b> <c> }", "form"), SPARQL),
        (Query("MATCH (n) RETURN n", "text"), OPENCYPHER),
        (Query("OPTIONAL MATCH (n) RETURN n", "json"), OPENCYPHER),
        (Query("hello world", "text"), None),
        (None, None),
    ],
)
def test_sniff_language(query: Query | None, lang: str | None) -> None:
    assert sniff_language(query) == lang


def test_record_form_body_with_plus_and_newlines() -> None:
    r = record(
        entry_line(
            header=http_header("POST /sparql"),
            payload="query=SELECT+%3Fs%0AWHERE+%7B+%3Fs+%3Fp+%3Fo+%7D",
        )
    )
    assert r.query == Query("SELECT ?s\nWHERE { ?s ?p ?o }", "form")
    assert r.lang == SPARQL


def test_record_sparql_update() -> None:
    r = record(entry_line(header=http_header("POST /sparql"), payload="update=CLEAR+GRAPH+%3Cg%3E"))
    assert r.query == Query("CLEAR GRAPH <g>", "form")
    assert r.lang == SPARQL


def test_record_opencypher_json_keeps_parameters() -> None:
    r = record(
        entry_line(
            header=http_header("POST /openCypher"),
            payload='"{""query"": ""MATCH (n {name: $name}) RETURN n"", '
            '""parameters"": {""name"": ""ann""}}"',
        )
    )
    assert r.query is not None
    assert r.query.text == "MATCH (n {name: $name}) RETURN n"
    assert r.query.form == "json"
    assert dict(r.query.parameters) == {"parameters": '{"name": "ann"}'}
    assert r.lang == OPENCYPHER


@pytest.mark.parametrize("path", ["/gremlin/explain", "/gremlin/profile"])
def test_record_gremlin_explain_and_profile(path: str) -> None:
    r = record(entry_line(header=http_header(f"POST {path}"), payload='{"gremlin": "g.V()"}'))
    assert r.path == path
    assert r.lang == GREMLIN
    assert r.query == Query("g.V()", "json")


def test_record_websocket_eval_keeps_runs_of_spaces() -> None:
    payload = (
        "\"RequestMessage{, requestId=1, op='eval', processor='', "
        "args={gremlin=g.V().hasLabel('a')    .out()   , bindings={}, aliases={g=g}}}\""
    )
    r = record(entry_line("Websocket", "[unknown]", payload))
    assert r.query is not None
    assert r.query.text == "g.V().hasLabel('a')    .out()"
    assert r.query.form == "request-message"
    assert r.lang == GREMLIN


def test_record_websocket_bytecode() -> None:
    payload = (
        "\"RequestMessage{, requestId=2, op='bytecode', processor='traversal', "
        'args={gremlin=[[], [V(), hasLabel(person), out(knows), count()]], aliases={g=g}}}"'
    )
    r = record(entry_line("Websocket", "", payload))
    assert r.query is not None
    assert r.query.text == "g.V().hasLabel(person).out(knows).count()"
    assert r.query.form == "bytecode"
    assert r.lang == GREMLIN


GET_SPARQL_HEADER = http_header("GET /sparql?query=SELECT+%2A+WHERE+%7B%7D", "Host: h")


@pytest.mark.parametrize(
    "payload",
    ["/sparql?query=SELECT+%2A+WHERE+%7B%7D", "", '""', "[unknown]", None],
    ids=["target", "empty", "quoted-empty", "unknown", "absent"],
)
def test_record_get_sparql(payload: str | None) -> None:
    r = record(entry_line("HTTP_GET", GET_SPARQL_HEADER, payload))
    assert r.method == "GET"
    assert r.path == "/sparql"
    assert r.request is not None
    assert r.request.query_string == "query=SELECT+%2A+WHERE+%7B%7D"
    assert r.query == Query("SELECT * WHERE {}", "query-string")
    assert r.lang == SPARQL


def test_record_get_sparql_payload_is_bare_path() -> None:
    r = record(entry_line("HTTP_GET", GET_SPARQL_HEADER, "/sparql"))
    assert r.query == Query("SELECT * WHERE {}", "query-string")


def test_record_get_sparql_without_header() -> None:
    r = record(entry_line("HTTP_GET", "[unknown]", "/sparql?query=ASK+%7B%7D"))
    assert (r.method, r.path) == ("GET", "/sparql")
    assert r.query == Query("ASK {}", "query-string")
    assert r.lang == SPARQL


def test_record_status_has_no_query() -> None:
    r = record(entry_line("HTTP_GET", http_header("GET /status"), "/status"))
    assert r.query is None
    assert r.lang is None


def test_record_loader_json() -> None:
    r = record(
        entry_line(
            header=http_header("POST /loader", "Content-Type: application/json"),
            payload='"{""source"": ""s3://bucket/data/"", ""format"": ""csv"", '
            '""region"": ""us-east-1""}"',
        )
    )
    assert r.path == "/loader"
    assert r.payload == '{"source": "s3://bucket/data/", "format": "csv", "region": "us-east-1"}'
    assert r.query is None
    assert r.lang is None


def test_record_system_form() -> None:
    r = record(
        entry_line(header=http_header("POST /system"), payload="action=initiateDatabaseReset")
    )
    assert r.path == "/system"
    assert r.lang is None


def test_record_sparql_status() -> None:
    r = record(entry_line("HTTP_GET", http_header("GET /sparql/status"), "/sparql/status"))
    assert r.path == "/sparql/status"
    assert r.lang is None


def test_record_opencypher_form() -> None:
    r = record(entry_line(header=http_header("POST /openCypher"), payload="query=RETURN+1+AS+x"))
    assert r.lang == OPENCYPHER
    assert r.query == Query("RETURN 1 AS x", "form")


def test_bolt_payload_with_separator_inside() -> None:
    payload = 'MATCH (a), (b) WHERE a.x = "1, 2" RETURN a, b, {k: [1, 2]}'
    r = record(entry_line("Bolt", "[unknown]", payload))
    assert r.payload == payload
    assert r.query == Query(payload, "text")
    assert r.lang == OPENCYPHER


def test_quoted_payload_is_unquoted_and_undoubled() -> None:
    r = record(entry_line("Bolt", "", '"RETURN ""a, b"" AS s, 1"'))
    assert r.payload == 'RETURN "a, b" AS s, 1'
    assert r.query is not None and r.query.text == 'RETURN "a, b" AS s, 1'


def test_unknown_connection_type_is_kept_and_sniffed() -> None:
    r = record(entry_line("Carrier_Pigeon", "[unknown]", "g.V().count()"))
    assert r.conn_type == "Carrier_Pigeon"
    assert not r.type_known
    assert r.method is None
    assert r.lang == GREMLIN
    r2 = record(entry_line("HTTP_PUT", "[unknown]", "query=SELECT+*+%7B%7D"))
    assert r2.conn_type == "HTTP_PUT" and not r2.type_known
    assert r2.lang == SPARQL


@pytest.mark.parametrize("conn", ["Websocket", "HTTP_POST", "HTTP_GET", "Bolt"])
def test_known_connection_types(conn: str) -> None:
    assert record(entry_line(conn, "", "x")).type_known


def test_absent_connection_type_is_not_flagged() -> None:
    assert record(entry_line("[unknown]", "", "g.V()")).type_known


def test_http_record_with_unknown_header_takes_path_from_payload() -> None:
    r = record(entry_line("HTTP_GET", "[unknown]", "/status"))
    assert r.request is None
    assert r.method == "GET"
    assert r.path == "/status"
    assert r.query is None
    assert r.lang is None


# --------------------------------------------------------------------------------------
# 9. Input robustness


def test_crlf_entry() -> None:
    text = decode_entry_bytes(SPEC_BOLT.encode() + b"\r\n")
    assert text == SPEC_BOLT
    r = record(text)
    assert r.payload == "MATCH (p:person)-[:knows]->(f) RETURN f.name LIMIT 10"


def test_crlf_multiline_entry_and_trailing_blank_lines() -> None:
    data = b"1700000000123, a:1, b:2, Bolt, , , , MATCH (n)\r\nRETURN n\r\n\r\n  \r\n"
    text = decode_entry_bytes(data)
    assert text == "1700000000123, a:1, b:2, Bolt, , , , MATCH (n)\nRETURN n"
    assert record(text).payload == "MATCH (n)\nRETURN n"


def test_invalid_utf8_is_replaced() -> None:
    data = b"1700000000123, a:1, b:2, Bolt, , , , RETURN '\xff\xfe\xc3' AS x\n"
    text = decode_entry_bytes(data)
    assert "\ufffd" in text
    r = record(text)
    assert r.payload is not None and "\ufffd" in r.payload
    assert r.lang == OPENCYPHER


@pytest.mark.parametrize("data", [b"\xff\xfe\xfd", b"\x80" * 100, b"", b"\r\n\r\n", b"\xc3"])
def test_decode_entry_bytes_never_raises(data: bytes) -> None:
    text = decode_entry_bytes(data)
    assert isinstance(text, str)
    assert isinstance(parse_entry(text), Record | Malformed)


def test_multiline_entry_keeps_raw_newline_in_payload() -> None:
    text = entry_line("HTTP_POST", http_header("POST /gremlin"), "g.V()\n  .count()")
    r = record(text)
    assert r.payload == "g.V()\n  .count()"
    assert r.query == Query("g.V()\n  .count()", "text")
    assert r.lang == GREMLIN


def test_multiline_quoted_payload() -> None:
    r = record(entry_line("Bolt", "", '"MATCH (n)\nRETURN ""n"""'))
    assert r.payload == 'MATCH (n)\nRETURN "n"'


@pytest.mark.parametrize(
    "text", ["not a record", "", "  1700000000123, a", "RETURN n", ", 1700000000123", "abc, def"]
)
def test_fragment(text: str) -> None:
    assert not starts_record(text)
    bad = malformed(text)
    assert bad.reason == FRAGMENT_REASON


def test_starts_record() -> None:
    assert starts_record(SPEC_BOLT)
    assert starts_record("1, anything")
    assert not starts_record("1700000000123,no-space")


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("1700000000123, a", 2),
        ("1700000000123, a, b, c", 4),
        ("1700000000123, a, b, c, d", 5),
        ("1700000000123, a, b, c, d, e", 6),
    ],
)
def test_too_few_fields(text: str, found: int) -> None:
    bad = malformed(text)
    assert "8" in bad.reason
    assert str(found) in bad.reason


def test_seven_fields_is_a_record_without_payload() -> None:
    r = record(entry_line("HTTP_GET", http_header("GET /status")))
    assert r.payload is None
    assert r.path == "/status"


def test_unterminated_quoted_header() -> None:
    bad = malformed(f'{T_MS}, a:1, b:2, HTTP_POST, , , "{NETTY_SHORT} POST /sparql HTTP/1.1')
    assert "unterminated" in bad.reason
    assert "header" in bad.reason


def test_text_after_closing_quote() -> None:
    bad = malformed(f'{T_MS}, a:1, b:2, HTTP_POST, , , "POST /sparql HTTP/1.1"junk, query=x')
    assert "header" in bad.reason
    assert "after" in bad.reason


def test_text_after_closing_quote_in_an_earlier_field() -> None:
    bad = malformed(f'{T_MS}, a:1, "b:2"x, Bolt, , , , RETURN 1')
    assert "server" in bad.reason


def test_five_megabyte_bolt_entry() -> None:
    query = "RETURN '" + "x, " * 1_700_000 + "'"
    r = record(entry_line("Bolt", "[unknown]", query))
    assert r.payload == query
    assert r.query == Query(query, "text")
    assert r.lang == OPENCYPHER


def test_five_megabyte_form_entry() -> None:
    r = record(
        entry_line(header=http_header("POST /sparql"), payload="query=" + "ASK+%7B%7D+" * 500_000)
    )
    assert r.payload is not None and len(r.payload) > 5_000_000
    assert r.query == Query("ASK {} " * 500_000, "form")
    assert r.lang == SPARQL


def test_five_megabyte_json_entry() -> None:
    script = "g.V()" + ".out()" * 850_000
    r = record(
        entry_line(header=http_header("POST /gremlin"), payload=f'"{{""gremlin"": ""{script}""}}"')
    )
    assert r.payload is not None and len(r.payload) > 5_000_000
    assert r.query == Query(script, "json")
    assert r.lang == GREMLIN


def test_deeply_nested_json_payload_does_not_raise() -> None:
    deep = '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"
    entry = parse_entry(entry_line(header=http_header("POST /gremlin"), payload=deep))
    assert isinstance(entry, Record)


def test_deeply_nested_json_auth_context_does_not_raise() -> None:
    deep = '"{""a"": ' + "[" * 100_000 + "]" * 100_000 + '}"'
    entry = parse_entry(entry_line("Bolt", "", "RETURN 1", auth=deep))
    assert isinstance(entry, Record)
    assert entry.auth_ok is None


def test_non_ascii_digits_do_not_start_a_record() -> None:
    text = (
        "\u0661\u0667\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660, a, b, Bolt, , , , RETURN 1"
    )
    assert not starts_record(text)
    assert malformed(text).reason == FRAGMENT_REASON


# --------------------------------------------------------------------------------------
# 10. Inert text


@pytest.mark.parametrize(
    ("text", "single", "multi"),
    [
        ("a\x1b[31mred", "a‹ESC›[31mred", "a‹ESC›[31mred"),
        ("\x1b]0;title\x07", "‹ESC›]0;title‹BEL›", "‹ESC›]0;title‹BEL›"),
        ("bell\x07", "bell‹BEL›", "bell‹BEL›"),
        ("\x00\x01\x1f", "‹NUL›‹U+0001›‹U+001F›", "‹NUL›‹U+0001›‹U+001F›"),
        ("del\x7f", "del‹DEL›", "del‹DEL›"),
        ("csi\x9b2J", "csi‹U+009B›2J", "csi‹U+009B›2J"),
        ("\x80\x9f", "‹U+0080›‹U+009F›", "‹U+0080›‹U+009F›"),
        ("abc\u202edef", "abc‹U+202E›def", "abc‹U+202E›def"),
        ("\u2066x\u2069", "‹U+2066›x‹U+2069›", "‹U+2066›x‹U+2069›"),
        ("a\nb\tc", "a‹LF›b‹TAB›c", "a\nb\tc"),
        ("cr\r", "cr‹CR›", "cr‹CR›"),
    ],
)
def test_inert_escapes_controls(text: str, single: str, multi: str) -> None:
    assert inert(text) == single
    assert inert(text, multiline=True) == multi
    for result in (inert(text), inert(text, multiline=True)):
        assert "\x1b" not in result and "\x07" not in result and "\x9b" not in result


@pytest.mark.parametrize(
    "text",
    [
        "",
        "g.V().has('name', 'ann')",
        "SELECT ?s WHERE { ?s ?p ?o }",
        "[bold]not bold[/bold]",
        "[@click=quit]quit[/]",
        "héllo 日本語 ✓ \u00a0nbsp",
        "\\x1b already escaped text",
    ],
)
def test_inert_leaves_ordinary_text_alone(text: str) -> None:
    assert inert(text) == text
    assert inert(text, multiline=True) == text


_CONTROLS = frozenset(
    [chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))]
    + list("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)


@given(st.text())
def test_inert_output_has_no_controls(text: str) -> None:
    assert not set(inert(text)) & _CONTROLS
    assert not set(inert(text, multiline=True)) & (_CONTROLS - {"\n", "\t"})


# --------------------------------------------------------------------------------------
# 11. Property: parse_entry never raises

_ATOMS = st.sampled_from(
    [
        T_MS,
        "1700000000",
        ", ",
        '"',
        '""',
        "{",
        "}",
        "[",
        "]",
        "(",
        ")",
        "=",
        ":",
        "/",
        "?",
        "&",
        "%",
        "%zz",
        "+",
        " ",
        "\n",
        "\r",
        "[unknown]",
        "null",
        "HTTP_GET",
        "HTTP_POST",
        "Websocket",
        "Bolt",
        "arn:aws:sts::1:assumed-role/",
        "authenticationSucceeded",
        "RequestMessage{",
        "args={gremlin=",
        "op='bytecode'",
        "[[",
        "]]",
        ") GET /",
        "POST /sparql HTTP/1.1",
        "Host: ",
        "query=",
        '{"gremlin": ',
        "::",
        "8182",
        "\\",
        "\x00",
        "é",
    ]
)


@given(st.text())
def test_parse_entry_never_raises_on_text(text: str) -> None:
    entry = parse_entry(text)
    assert isinstance(entry, Record | Malformed)
    assert entry.raw == text


@settings(max_examples=300)
@given(st.lists(_ATOMS, max_size=40).map("".join))
def test_parse_entry_never_raises_on_record_like_text(body: str) -> None:
    for text in (body, f"{T_MS}, {body}"):
        entry = parse_entry(text)
        assert isinstance(entry, Record | Malformed)
        assert entry.raw == text


def test_instance_names_come_only_from_host_names() -> None:
    from tui.model.fields import is_host_name, parse_host, server_instance_names

    assert parse_host("a/b/10.0.0.1:8182").address == "10.0.0.1"
    assert is_host_name("ip-10-0-3-215.ec2.internal") and not is_host_name("[b]x[/b] y")
    names = server_instance_names(
        [
            "ip-10-0-3-215.ec2.internal/10.0.3.215:8182",
            "10.0.3.215:8182",
            "evil name/10.0.9.9:8182",  # not a host name: never learned for the address
            "10.0.9.9:8182",
            None,
        ]
    )
    assert names == ["ip-10-0-3-215", "ip-10-0-3-215", "10.0.9.9", "10.0.9.9", None]


_HEADER_PIECES = st.sampled_from(
    [
        "POST /sparql HTTP/1.1",
        f"{NETTY} GET /x?q=1",
        " HTTP/2",
        " Host: h:8182",
        " User-Agent: tool/1.0 (Linux)",
        " user-agent: other",
        " User-Agent: ",
        " X-Note: a User-Agent: b",
        " Note: User-Agent: b",  # Note's value: its ": " took the space before User-Agent
        " USER-AGENT: c",
        " U\u017fer-Agent: s",  # a long s: "user-agent" in Unicode case, not in ASCII
        ":",
        "a: ",
        " Accept: */*",
        ") PUT /y",
        " ",
        "User-Agent: first",
        "x",
    ]
)


@settings(max_examples=600)
@given(st.lists(_HEADER_PIECES, max_size=8).map("".join), st.sampled_from(["User-Agent", "Host"]))
def test_one_header_value_is_what_the_whole_parse_gives(raw: str, name: str) -> None:
    from tui.model.header import header_value

    assert header_value(raw, name) == parse_header(raw).header(name)
