"""Generated audit lines and filters for the Insights tests: every shape the parser reads,
and the awkward ones (quotes, commas, braces, non-ASCII, absent values, broken lines)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

from tests.fakes.insights import Event, run_query
from tui.model.parser import parse_entry
from tui.model.record import Record
from tui.query import parse_filter
from tui.query.ast import Node
from tui.query.predicate import matches
from tui.sources.aws.cloudwatch import stream_file
from tui.sources.aws.insights_ql import (
    ROW_FIELDS,
    Compiled,
    _assemble,
    compile_filter,
    substitute_last,
)

BASE_MS = 1795518000000
STREAMS = ("demo-writer-1", "demo-reader-1/audit", "db-Reader.2", ".hidden", "a b/c")

STAMPS = st.sampled_from(("13", "13", "13", "16", "10", "19", "12"))
CLIENTS = st.sampled_from(
    (
        "10.0.1.18:34266",
        "10.0.2.5:4000",
        "10.0.1.5",
        "192.168.0.255:65535",
        "010.0.0.1:80",
        "10.0.0.1:0",
        "10.0.0.1:080",
        "10.0.0.1:99999",
        "host.example:1234",
        "ip-10-0-3-215/10.0.1.9:4000",
        "[2001:db8::1]:8182",
        "0:0:0:0:0:0:0:1:8182",
        "[unknown]",
        "null",
        "",
        '"10.0.9.9:1"',
        '"[unknown]"',
        "10.0.1.18:34266 ",
    )
)
SERVERS = st.sampled_from(
    (
        "10.0.3.215:8182",
        "ip-10-0-3-215.ec2.internal/10.0.3.215:8182",
        "[unknown]",
        "host:99",
        '"a, b"',
        "Ω-host",
    )
)
TYPES = st.sampled_from(
    (
        "Websocket",
        "HTTP_POST",
        "HTTP_GET",
        "Bolt",
        "Weird",
        "",
        "[unknown]",
        '"HTTP_GET"',
        "http_get",
        "null",
    )
)
ARNS = st.sampled_from(
    (
        "arn:aws:iam::123456789012:user/alice",
        "arn:aws:iam::123456789012:user/path/to/bob",
        "arn:aws:iam::123456789012:role/App",
        "arn:aws:iam::123456789012:role/a/b/Deep",
        "arn:aws:sts::123456789012:assumed-role/AppRole/worker-7",
        "arn:aws:sts::123456789012:assumed-role/OnlyRole",
        "arn:aws:sts::123456789012:assumed-role/R/sess/with/slash",
        "arn:aws:sts::123456789012:assumed-role//s",
        "arn:aws:iam::123456789012:root",
        "arn:aws:iam::123456789012:root/x",
        "arn:aws:iam::999:federated-user/fu",
        "arn:aws:iam::999:group/g",
        "arn:aws:iam::999:Role/x/y",
        "arn:aws:iam::999:USER/Ann",
        "arn:aws:iam::999:weird/thing/x",
        "arn:aws:iam::999:user/",
        "arn:aws:iam::999:user/p/",
        "arn:aws:iam::999:kind:with:colons/x",
        "arn:aws:iam:::user/noaccount",
        "ARN:aws:iam::1:user/upper",
        "not-an-arn",
        "[unknown]",
        "null",
        "",
        '"arn:aws:iam::123456789012:user/quoted"',
        "arn:aws:iam::1:user/İlker",
        "arn:aws:iam::1:user/ΑΣ",
        "arn:aws:iam::1:user/\u212aelvin",
    )
)
AUTHS = st.sampled_from(
    (
        "{authenticationSucceeded=true}",
        "{authenticationSucceeded=false}",
        '"{""authenticationSucceeded"": true}"',
        '"{""authenticationSucceeded"": false}"',
        '{"authenticationSucceeded":true}',
        "{authenticationSucceeded=TRUE}",
        "{ authenticationSucceeded = true }",
        "{a=1, authenticationSucceeded=true}",
        "{a={b=c}, authenticationSucceeded=false}",
        '"{""authenticationSucceeded"": ""\\u0074rue""}"',
        "{authenticationSucceeded=true, authenticationSucceeded=false}",
        "[unknown]",
        "null",
        "",
        "{broken",
        "{x=1, y}",
        "{}",
    )
)
AGENTS = ("python-requests/2.31.0", "curl/8.1", "Mozilla/5.0 (X11)", "", 'a"quote')
HEADERS = st.one_of(
    st.sampled_from(("[unknown]", "null", "", "GET /status HTTP/1.1", "no request line here")),
    st.builds(
        lambda summary, method, target, version, agent, quote, tail: _header(
            summary, method, target, version, agent, quote, tail
        ),
        st.sampled_from(("", "HttpObjectAggregator$Req(decodeResult: success, content: X) ")),
        st.sampled_from(("GET", "POST", "PUT", "get")),
        st.sampled_from(
            (
                "/sparql",
                "/sparql?query=SELECT+%3Fs",
                "/gremlin",
                "/gremlin/status",
                "/openCypher",
                "/OPENCYPHER/explain/status/",
                "/status",
                "/loader",
                "/",
                "//gremlin",
                "/unknown/path",
                '/with"quote',
                "/caf\u00e9",
                "/sparql\u00a0x",
            )
        ),
        st.sampled_from((" HTTP/1.1", "", " HTTP/2")),
        st.sampled_from(AGENTS),
        st.booleans(),
        st.sampled_from(("", " Content-Type: application/json", " x-user-agent: no")),
    ),
)
PAYLOADS = st.sampled_from(
    (
        None,
        "query=SELECT+%3Fs+WHERE+%7B+%3Fs+%3Fp+%3Fo+%7D",
        "update=DROP+ALL",
        '"{""gremlin"": ""g.V().drop()""}"',
        "\"RequestMessage{, requestId=1, op='eval', processor='', args={gremlin=g.V().count() , "
        'aliases={g=g}}}"',
        "/status",
        '"/status"',
        '"/a""b"',
        "/status?x=1 trailing",
        "MATCH (n) RETURN n",
        "drop()",
        "café İstanbul ΑΣ \u212a ſ",
        "q=%41%42",
        '{"query": "\\u0041SK {}"}',
        "",
        "[unknown]",
        "a, b, c",
    )
)
WORDS = (
    "alice",
    "bob",
    "worker-7",
    "AppRole",
    "role/AppRole/worker-7",
    "123456789012",
    "10.0.1",
    "10.0.1.18:34266",
    "10.0.1.18",
    "8182",
    "sparql",
    "gremlin",
    "status",
    "/status",
    "drop()",
    "http",
    "HTTP_GET",
    "websocket",
    "python",
    "unknown",
    "[unknown]",
    "null",
    "true",
    "é",
    "İ",
    "i",
    "k",
    "σ",
    "ς",
    'a"quote',
    "a, b",
    "",
    "user/alice",
    "root/123456789012",
    "role/App",
    "USER/Ann",
    "Role/x/y",
    "ip-10-0-3-215",
    "demo-writer-1",
    "db-Reader.2",
    "x",
    "?s ?p ?o",
    "g.V().count()",
)
#: Regexes as filters take them (RE2): its own syntax too; RE2 refuses backreferences,
#: lookarounds, possessive repeats and counts over 1000 when the filter is parsed.
REGEXES = (
    "drop\\(\\)",
    "^1795",
    "\\bbob\\b",
    "\\d{3}",
    "[a-z]+-[0-9]",
    ".*status$",
    "sparql|gremlin",
    "[^\\x00-\\x7f]",
    "\\s{2}",
    "K",
    "ſ",
    "é",
    "(?i)ROLE",
    "(?i)[i-k]",
    "x{1000}",
    "x{,2}",
    "^$",
    "\\w+@",
    "\\D\\S",
    "[\\w.]+:\\d+",
    "(?s).",
    "(?m)^G",
    "(?U)a+?b",
    "\\Aarn",
    "1\\z",
    "[[:alpha:]]",
    "[[:^alnum:] ]{2}",
    "\\Qa, b\\E",
    "\\x{212a}",
    "\\pL\\pN",
    "(?P<n>x)(?<m>y)?",
    "[A-Z]",
    "[\\W_]",
    "/",
)


def _header(
    summary: str,
    method: str,
    target: str,
    version: str,
    agent: str,
    quote: bool,
    tail: str,
) -> str:
    text = f"{summary}{method} {target}{version} Host: db:8182"
    if agent:
        text += f" User-Agent: {agent}"
    text += tail
    return '"' + text.replace('"', '""') + '"' if quote else text


@dataclass(frozen=True)
class Line:
    """One generated event: its message, stream and time."""

    message: str
    stream: str
    epoch_ms: int


@st.composite
def lines(draw: st.DrawFn) -> Line:
    """A generated audit line (or a broken one) and its event."""
    offset_ms = draw(st.integers(0, 5_000))
    width = draw(STAMPS)
    sub = draw(st.integers(0, 999))
    epoch_ms = BASE_MS + offset_ms
    stamp = {
        "13": str(epoch_ms),
        "16": str(epoch_ms * 1000 + sub),
        "10": str(epoch_ms // 1000),
        "19": str((epoch_ms * 1000 + sub) * 1000),
        "12": str(epoch_ms)[:12],
    }[width]
    if width == "10":
        epoch_ms = epoch_ms // 1000 * 1000
    stream = draw(st.sampled_from(STREAMS))
    if draw(st.integers(0, 15)) == 0:
        broken = draw(
            st.sampled_from(
                (
                    "garbage line",
                    f"{stamp}, 10.0.0.1:1, [cut",
                    f'{stamp}, "unterminated, x, y, z, a, b, c',
                    f'{stamp}, a, b, c, d, e, "h"x, p',
                    "",
                )
            )
        )
        return Line(broken, stream, epoch_ms)
    fields = [
        draw(CLIENTS),
        draw(SERVERS),
        draw(TYPES),
        draw(ARNS),
        draw(AUTHS),
        draw(HEADERS),
    ]
    text = stamp + ", " + ", ".join(fields)
    payload = draw(PAYLOADS)
    if payload is not None:
        text += ", " + payload
    return Line(text, stream, epoch_ms)


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _value(value: str) -> str:
    """A value as filter text: bare when the lexer reads it back as is, else quoted."""
    if value and re.fullmatch(r"[A-Za-z0-9_.\-:@\[\]]+", value) and not value.startswith("-"):
        return value
    return _quoted(value)


FIELDS = (
    "type",
    "client",
    "server",
    "user",
    "method",
    "path",
    "agent",
    "query",
    "header",
    "source",
    "instance",
)


@st.composite
def terms(draw: st.DrawFn) -> str:
    """One term of the filter language, as text."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return _value(draw(st.sampled_from(WORDS))) if draw(st.booleans()) else "x"
    if kind == 1:
        pattern = draw(st.sampled_from(REGEXES)).replace("/", "\\/")
        return f"/{pattern}/" + ("i" if draw(st.booleans()) else "")
    if kind == 2:
        return "auth:" + draw(st.sampled_from(("ok", "failed", "none")))
    if kind == 3:
        return "lang:" + draw(st.sampled_from(("gremlin", "sparql", "opencypher", "none")))
    if kind == 4:
        bound = BASE_MS + draw(st.integers(-10, 5_010))
        digits = (
            str(bound) if draw(st.booleans()) else str(bound * 1000 + draw(st.integers(0, 999)))
        )
        return draw(st.sampled_from(("after:", "before:"))) + digits
    if kind == 5:
        return "last:" + draw(st.sampled_from(("1s", "2s", "500ms", "1h")))
    name = draw(st.sampled_from(FIELDS))
    if draw(st.integers(0, 3)) == 0:
        pattern = draw(st.sampled_from(REGEXES)).replace("/", "\\/")
        return f"{name}:/{pattern}/" + ("i" if draw(st.booleans()) else "")
    op = draw(st.sampled_from((":", "=")))
    return f"{name}{op}{_value(draw(st.sampled_from(WORDS)))}"


def filters() -> st.SearchStrategy[str]:
    """Filter texts from the grammar: terms, negations, AND, OR and groups."""
    return st.recursive(
        terms(),
        lambda inner: st.one_of(
            inner.map(lambda t: f"-{t}" if not t.startswith("-") else t),
            inner.map(lambda t: f"NOT ({t})"),
            st.lists(inner, min_size=2, max_size=3).map(" ".join),
            st.lists(inner, min_size=2, max_size=3).map(" OR ".join),
            inner.map(lambda t: f"({t})"),
        ),
        max_leaves=5,
    )


# -- evaluating both ways ------------------------------------------------------------------------


def events_of(generated: list[Line]) -> list[Event]:
    return [
        Event(line.epoch_ms, line.message, line.stream, "g", str(index))
        for index, line in enumerate(generated)
    ]


def newest_record_us(generated: list[Line]) -> int | None:
    times = [
        entry.epoch_us
        for entry in (parse_entry(line.message) for line in generated)
        if isinstance(entry, Record)
    ]
    return max(times) if times else None


def local_matches(node: Node, generated: list[Line], newest_us: int | None) -> set[int]:
    """Indices of the events the reference predicate keeps (as files of ``stream_file``)."""
    kept: set[int] = set()
    for index, line in enumerate(generated):
        path = stream_file(Path("/cw"), line.stream)
        entry = parse_entry(line.message, source=str(path), line=1)
        if isinstance(entry, Record):
            from dataclasses import replace

            entry = replace(entry, instance=path.parent.name)
            epoch_us = entry.epoch_us
        else:
            epoch_us = line.epoch_ms * 1000
        if matches(node, entry, line.message, epoch_us=epoch_us, newest_us=newest_us or 0):
            kept.add(index)
    return kept


def insights_matches(compiled: Compiled, events: list[Event], which: str) -> set[int]:
    """Indices of the events the compiled condition keeps, run by the fake."""
    text = _assemble(compiled, which, 0, 2**42, (ROW_FIELDS,)).text  # type: ignore[arg-type]
    outcome = run_query(text, events, 0, 2**41, row_limit=10**9)
    return {int(row["@ptr"]) for row in outcome.rows}


def compiled_for(text: str, newest_us: int | None) -> tuple[Node, Compiled]:
    node = substitute_last(parse_filter(text), newest_us)
    return node, compile_filter(node, text)
