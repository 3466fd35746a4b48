"""Filters over the index agree with the per-record reference semantics."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import Loaded, build_index
from tui.index.filtering import Cancelled, evaluate, filtered_order
from tui.index.schema import KIND_RECORD
from tui.index.stats import compute_stats
from tui.model.record import Entry
from tui.query import parse_filter
from tui.query.predicate import matches

EXPRESSIONS = [
    "",
    "type:websocket",
    "type=Bolt",
    "-type:http",
    "client:10.0.1",
    "client=10.0.1.221",
    "client:55",
    "client:221:4",
    "client:.221:",
    "client::1a:",
    "client:/^10\\.0\\.1\\.\\d+:3\\d{4}$/",
    "client:/:1a:\\d+$/",
    "client:2600:1f18",
    "instance:reader",
    "instance=demo-writer-1",
    "-instance:writer lang:sparql",
    "op:delete",
    "op=write OR op=admin",
    "-op:read -op:health",
    "op:unknown",
    "fp:0 OR fp:a",
    "lang:gremlin op:write",
    "server:ip-10-0-3-215",
    "server:8183",
    "user:alice",
    "user=alice",
    "user=worker-3",
    "user:AnalyticsRole -user:etl-1",
    "auth:failed",
    "auth:none OR auth:failed",
    "lang:sparql",
    "lang:none",
    "lang:opencypher method:POST",
    "method=GET",
    "path:/status",
    "-path:/status",
    "path=/gremlin",
    "path:/gremlin/",
    "source:reader-2",
    "agent:python-requests",
    "agent=curl/8.4.0",
    'header:"Content-Type: application/json"',
    "query:airport",
    'query:"?s ?p"',
    "query:/LIMIT \\d+$/",
    "query=g.V().count()",
    "ELB-HealthChecker",
    "route",
    '"assumed-role/AppRole"',
    "/worker-1[0-9]/",
    "/dist.,gt/i",
    "/^1795/",
    "(lang:gremlin OR lang:sparql) -auth:failed",
    "NOT (type:bolt OR type:websocket) client:10.0.2",
    "malformed OR digits",
    "ZOË",
    "/Søren|Zoë/",
    "/(?i)s.REN/",
    "query:zoë",
    "/[^a-z]route[s]?/",
    # Regexes run by RE2: anchors per entry, Unicode case folding, "." and newlines, matches
    # that would run from one entry into the next, and a pattern that backtracks in re.
    "/\\d{3}$/",
    "/\\A1795/",
    "/(?m)^\\s+\\S/",
    "/ZOË|SØREN/i",
    "/é/i",
    "/(?s)MATCH.*LIMIT/",
    "/LIMIT \\d+\\n/",
    "/\\n\\d/",
    "/\\s$/",
    "agent:/^curl/",
    "query:/(?i)^match/",
    "/(a|aa)*c/",
    # Phrases of queries: spaces and punctuation encoded in form and JSON payloads.
    'query:"LIMIT 10"',
    'query:"limit(10)"',
    "query:\"has('code','LAX')\"",
    'query:"ORDER BY DESC"',
    # Fields without a column among candidates other terms narrowed.
    "client:10.0.1 agent:python-requests",
    'lang:opencypher query:"LIMIT 10"',
    "-agent:curl type:http",
]


@dataclass
class Parsed:
    """Every entry of an index parsed once, with what ``matches`` needs besides the filter."""

    entries: list[tuple[Entry, str, int]]  # (entry, text, epoch_us), by entry id
    newest_us: int


@pytest.fixture(scope="module")
def parsed(sample: Loaded) -> Parsed:
    index = sample.index
    times = index.column("epoch_us")
    kinds = index.column("kind")
    newest = int(times[kinds == KIND_RECORD].max())
    entries = [(index.entry(e), index.text(e), int(times[e])) for e in range(index.size)]
    return Parsed(entries=entries, newest_us=newest)


def reference_mask(parsed: Parsed, text: str) -> np.ndarray:
    node = parse_filter(text)
    return np.array(
        [
            matches(node, entry, raw, epoch_us=epoch_us, newest_us=parsed.newest_us)
            for entry, raw, epoch_us in parsed.entries
        ]
    )


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_index_evaluation_matches_reference(sample: Loaded, parsed: Parsed, text: str) -> None:
    result = evaluate(sample.index, parse_filter(text))
    expected = reference_mask(parsed, text)
    assert np.array_equal(result.mask, expected), (
        f"{np.count_nonzero(result.mask)} vs {np.count_nonzero(expected)}"
    )


_PARSED_FIELD_EXPRESSIONS = [
    text for text in EXPRESSIONS if any(name in text for name in ("agent", "header", "query"))
]


@pytest.mark.parametrize("share", [0.0, 2.0])
@pytest.mark.parametrize("text", _PARSED_FIELD_EXPRESSIONS)
def test_fields_without_a_column_match_the_reference_in_blocks_and_alone(
    sample: Loaded, parsed: Parsed, text: str, share: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entries are searched in blocks when many are in question, else tested alone: here
    always one way, then always the other."""
    from tui.index import textscan

    monkeypatch.setattr(textscan, "PARSED_SPARSE_SHARE", share)
    result = evaluate(sample.index, parse_filter(text))
    assert np.array_equal(result.mask, reference_mask(parsed, text))


def test_time_filters(sample: Loaded) -> None:
    index, truth = sample.index, sample.truth
    assert truth.first_us is not None and truth.last_us is not None
    middle = (truth.first_us + truth.last_us) // 2
    from tui.query import format_time_us

    after = evaluate(index, parse_filter(f"after:{format_time_us(middle)}")).mask
    before = evaluate(index, parse_filter(f"before:{middle // 1000}")).mask  # epoch ms
    assert np.array_equal(after, ~before)
    recent = evaluate(index, parse_filter("last:10m")).mask
    times = index.column("epoch_us")
    assert np.array_equal(recent, times >= truth.last_us - 600_000_000)
    assert int(times[recent].min()) >= truth.last_us - 600_000_000


def test_field_filters_count_what_the_generator_wrote(sample: Loaded) -> None:
    index, truth = sample.index, sample.truth
    assert (
        np.count_nonzero(evaluate(index, parse_filter("auth:failed")).mask)
        == truth.by_auth["failed"]
    )
    assert (
        np.count_nonzero(evaluate(index, parse_filter("lang:sparql")).mask)
        == truth.by_lang["sparql"]
    )
    probes = evaluate(index, parse_filter("-path:/status")).mask
    kinds = index.column("kind")
    assert (
        np.count_nonzero(probes & (kinds == KIND_RECORD))
        == truth.records - truth.by_path["/status"]
    )


def test_filtered_order_is_chronological_subset(sample: Loaded) -> None:
    result = evaluate(sample.index, parse_filter("lang:gremlin"))
    ids = filtered_order(sample.index, result)
    times = sample.index.column("epoch_us")[ids]
    assert len(ids) == np.count_nonzero(result.mask)
    assert bool(np.all(times[1:] >= times[:-1]))


def test_stats_match_generator(sample: Loaded) -> None:
    stats = compute_stats(sample.index)
    truth = sample.truth
    assert stats.records == truth.records and stats.malformed == truth.malformed
    assert stats.lines == truth.lines
    assert (stats.first_us, stats.last_us) == (truth.first_us, truth.last_us)
    assert stats.by_type == dict(truth.by_type)
    assert stats.by_lang == dict(truth.by_lang)
    assert stats.by_auth == {k: truth.by_auth.get(k, 0) for k in ("ok", "failed", "none")}

    def ranked(counter: dict[str, int]) -> list[tuple[str, int]]:
        return sorted(counter.items(), key=lambda pair: (-pair[1], pair[0]))[:10]

    assert stats.top_clients == ranked(truth.by_client)
    assert stats.top_users == ranked(truth.by_user)
    assert stats.top_paths == ranked(truth.by_path)


def test_cancel_stops_evaluation(sample: Loaded) -> None:
    import threading

    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        evaluate(sample.index, parse_filter("query:x"), cancel=cancel)


#: Payloads whose query spells "LIMIT 10" (and "ORDER BY x") in each way a payload may
#: encode it, and near misses.
_ENCODED_QUERIES = [
    "query=SELECT+*+WHERE+%7B%7D+LIMIT+10",
    "query=SELECT%20*%20WHERE%20%7B%7D%20LiMiT%2010",
    "query=SELECT+*+LIMIT%2B10",  # a plus sign, not a space
    "query=%53ELECT+*+%4CIMIT+10",  # letters encoded too
    '"{""gremlin"": ""g.V().order().by(x) LIMIT\\u002010""}"',
    '"{""gremlin"": ""ORDER\\u0020BY\\u0020x LIMIT 1""}"',
    '"{""query"": ""MATCH (n) RETURN n ORDER BY x \\"" LIMIT 10""}"',
    "query=ORDER+BY+x+LIMIT++10",
    "query=order%20by%20x%20\u212aLIMIT%2010",
    # Quotes, slashes and backslashes as JSON escapes them, inside a CSV-quoted field.
    '"{""gremlin"": ""g.V().has(\\""airport\\"",\\""code\\"",\\""ORD\\"")""}"',
    '"{""gremlin"": ""g.V().has(\'url\',\'http:\\/\\/evil.example\\/x\')""}"',
    '"{""gremlin"": ""g.V().has(\'path\',\'C:\\\\Windows\')""}"',
    "\"RequestMessage{, requestId=x, op='eval', processor='', args={gremlin="
    'g.V().has(""airport"",""code"",""AUS"") , aliases={g=g}}}"',
    "query=has(%22airport%22+x)",
    "query=x(\u212a+1)",  # KELVIN SIGN: "k" once lower-cased
]


@pytest.mark.parametrize(
    "text",
    [
        'query:"LIMIT 10"',
        'query:"order by x"',
        'query:"t 1"',
        'query:"has(\\"airport\\""',
        'query:"evil.example/x"',
        'query:"C:\\\\Windows"',
        'query:"\\"airport\\""',
        'query:"(k 1)"',  # spelled 36 ways: searched all at once
    ],
)
@pytest.mark.parametrize("share", [0.0, 2.0])
def test_query_phrases_match_every_encoding_of_them(
    tmp_path: Path, text: str, share: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui.index import textscan

    monkeypatch.setattr(textscan, "PARSED_SPARSE_SHARE", share)
    head = (
        "1700000000{n:03d}, 10.0.1.18:34266, 10.0.3.215:8182, HTTP_POST, [unknown], "
        '[unknown], "HttpObjectAggregator$AggregatedFullHttpRequest(decodeResult: success) '
        'POST /sparql HTTP/1.1 Host: db:8182 Content-Type: application/x-www-form-urlencoded", '
    )
    lines = [head.format(n=n) + payload for n, payload in enumerate(_ENCODED_QUERIES)]
    (tmp_path / "audit.log").write_text("\n".join(lines) + "\n")
    index = build_index([tmp_path])
    node = parse_filter(text)
    expected = [
        matches(node, index.entry(entry), index.text(entry), epoch_us=0, newest_us=0)
        for entry in range(index.size)
    ]
    assert evaluate(index, node).mask.tolist() == expected
    assert any(expected)


_QUERY_CHARS = st.text(alphabet=st.sampled_from("ab1 \"/\\'(),.:+%"), min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(query=_QUERY_CHARS, start=st.integers(0, 11), length=st.integers(1, 6))
def test_the_raw_text_search_of_a_query_phrase_finds_every_spelling_of_it(
    query: str, start: int, length: int
) -> None:
    """Soundness of the raw-text search that lets entries skip decoding: whatever a payload
    encodes (form, JSON in a CSV field, plain CSV text, a Gremlin eval), an entry whose
    query holds the phrase is found by the phrase's spellings (one by one or all at once)."""
    import json
    from urllib.parse import urlencode

    from tui.index.filtering import _spellings
    from tui.index.textscan import Block
    from tui.model.parser import text_field
    from tui.query.ast import FieldMatch, Span

    phrase = query[start : start + length]
    if not phrase or not any(char.isalnum() for char in phrase):
        return
    spellings = _spellings(FieldMatch("query", "contains", phrase, None, Span(0, 0)))
    assert spellings is not None

    def held(text: str) -> bool:
        data = text.encode()
        block = Block(data, np.array([0]), np.array([len(data)]), np.array([0]))
        proven, alone = spellings.finder().scan(block)
        return 0 in proven or 0 in alone

    def quoted(text: str) -> str:
        return '"' + text.replace('"', '""') + '"'

    payloads = [
        urlencode({"query": query}),
        quoted(json.dumps({"gremlin": query})),
        quoted(json.dumps({"gremlin": query}).replace("/", "\\/")),  # (some escape "/")
        quoted(query),
        quoted(
            f"RequestMessage{{, requestId=x, op='eval', processor='', args={{gremlin={query}}}}}"
        ),
    ]
    head = "1700000000000, 10.0.1.18:34266, 10.0.3.215:8182, HTTP_POST, [unknown], [unknown], "
    header = (
        '"HttpObjectAggregator$AggregatedFullHttpRequest(decodeResult: success) POST /x HTTP/1.1", '
    )
    for payload in payloads:
        text = head + header + payload
        decoded = text_field(text, "query")
        if decoded is not None and phrase.lower() in decoded.lower():
            assert held(text), (payload, phrase)
