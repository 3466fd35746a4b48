"""The vectorised scanner must give exactly the columns the reference parser gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.test_model import (
    SPEC_BOLT,
    SPEC_GREMLIN_JSON,
    SPEC_SPARQL_FORM,
    SPEC_STATUS,
    SPEC_WEBSOCKET,
)
from tui.index.scan import Scanner
from tui.index.schema import DICT_COLUMNS, KIND_FRAGMENT, KIND_MALFORMED, KIND_RECORD
from tui.model.parser import decode_entry_bytes, hinted_text_field, text_field

#: The five synthetic lines of the field guide's section 3, one per line.
SPEC_LINES = "".join(
    line + "\n"
    for line in (SPEC_SPARQL_FORM, SPEC_WEBSOCKET, SPEC_GREMLIN_JSON, SPEC_STATUS, SPEC_BOLT)
)


def columns(data: bytes, *, fast: bool) -> tuple[dict[str, list[Any]], int]:
    """Scan ``data`` in one span; dictionary columns as values, and the slow-path count."""
    scanner = Scanner(fast=fast)
    span = scanner.scan(data, file_offset=0, at_file_start=True, final=True)
    out: dict[str, list[Any]] = {}
    for name, column in span.columns.items():
        codes = column.tolist()
        if name in DICT_COLUMNS:
            out[name] = [scanner.tables[name].values[code] for code in codes]
        else:
            out[name] = codes
    out["lines"] = [span.lines]
    out["blank"] = [span.blank_lines]
    return out, span.slow_records


def assert_same(data: bytes) -> int:
    """Fast and reference columns are equal, and every header hint the fast path leaves
    gives the parser's fields; returns how many records the fast path left."""
    fast, slow_count = columns(data, fast=True)
    reference, _ = columns(data, fast=False)
    for name in reference:
        if name != "header_at":  # a hint of the fast path alone
            assert fast[name] == reference[name], name
    assert not any(reference["header_at"])
    assert_hints_hold(data, fast)
    return slow_count


def assert_hints_hold(data: bytes, scanned: dict[str, list[Any]]) -> None:
    """An entry with a ``header_at`` hint reads the same header, agent and query through it
    as through the parser."""
    offsets = scanned["offset"]
    ends = [*offsets[1:], len(data)][: len(offsets)]
    for offset, end, at, conn_type in zip(
        offsets, ends, scanned["header_at"], scanned["type"], strict=True
    ):
        if at:
            raw = data[offset:end]
            text = decode_entry_bytes(raw)
            for name in ("header", "agent", "query"):
                assert hinted_text_field(raw, at, conn_type, name) == text_field(text, name)


def test_spec_shapes_take_the_fast_path_and_agree() -> None:
    assert assert_same(SPEC_LINES.encode()) == 0
    scanned, _ = columns(SPEC_LINES.encode(), fast=True)
    assert all(scanned["header_at"])  # every record's header is found


def test_generated_cluster_agrees(tmp_path: Path) -> None:
    from tui.sources.demo import write_sample

    truth = write_sample(tmp_path, records=4000, seed=11, malformed=6)
    left = 0
    for file in truth.files:
        left += assert_same(file.read_bytes())
    # Only the IPv6 client and the malformed lines need the reference parser.
    assert left < 0.01 * truth.records + 10


def test_kinds_blank_lines_and_fragments() -> None:
    data = b"\xef\xbb\xbfgarbage first\n\n   \n" + SPEC_LINES.encode().replace(b"\n", b"\r\n", 2)
    data += b"continued line\n\n1700000002000, short\n"
    scanned, _ = columns(data, fast=True)
    assert scanned["kind"][:2] == [KIND_FRAGMENT, KIND_RECORD]
    assert scanned["kind"][-1] == KIND_MALFORMED
    assert scanned["blank"] == [3]
    assert scanned["lines"] == [len(data.split(b"\n")) - 1]
    assert_same(data)


_HOSTS = st.sampled_from(
    [
        "10.0.1.18:34266",
        "10.0.1.18",
        "ip-10-0-3-215.ec2.internal/10.0.3.215:8182",
        "[2001:db8::1]:8182",
        "0:0:0:0:0:0:0:1:8182",
        "host.example:99999",
        ":80",
        "[unknown]",
        "null",
        "",
        '"10.0.0.1:1"',
    ]
)
_TYPES = st.sampled_from(["HTTP_POST", "HTTP_GET", "Websocket", "Bolt", "Mystery", "[unknown]"])
_ARNS = st.sampled_from(
    [
        "[unknown]",
        "null",
        "",
        "arn:aws:iam::123456789012:user/alice",
        "arn:aws:sts::123456789012:assumed-role/" + "R" * 150 + "/s",
    ]
)
_AUTHS = st.sampled_from(
    [
        "[unknown]",
        "{authenticationSucceeded=true}",
        "{authenticationSucceeded=false}",
        "{authenticationSucceeded=true, other={a=1}}",
        "{a={b}, c=1}",
        '"{""authenticationSucceeded"":false}"',
        "{broken",
    ]
)
_HEADERS = st.sampled_from(
    [
        "[unknown]",
        '"Netty(x, y) POST /sparql HTTP/1.1 Host: h"',
        '"Netty(x) GET /sparql?query=x HTTP/1.1 Host: h"',
        '"Netty(x) OPTIONS /gremlin/profile HTTP/1.1"',
        '"Netty(x) FETCH /openCypher HTTP/1.1"',
        '"Netty(x) POST /status/' + "deep/" * 20 + ' HTTP/1.1"',
        '"Netty(x) POST /a""b HTTP/1.1"',
        '"GET /status HTTP/1.1 Host: h"',
        '"Netty(x) POST /weird HTTP/1.1"',
        '"no request line at all"',
        "",
    ]
)
_PAYLOADS = st.sampled_from(
    [
        "query=SELECT+*+WHERE+%7B%7D",
        '"{""gremlin"": ""g.V()""}"',
        "MATCH (n), (m) RETURN n, m",
        "/status",
        "",
        "g.V().count()",
    ]
)
_STAMPS = st.sampled_from(
    [
        "1700000000",
        "1700000000123",
        "1700000000123456",
        "1700000000123456789",
        "9700000000123456789",
        "17000000001",
    ]
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(_STAMPS, _HOSTS, _HOSTS, _TYPES, _ARNS, _AUTHS, _HEADERS, _PAYLOADS),
        min_size=1,
        max_size=8,
    ),
    st.booleans(),
)
def test_field_variants_agree(rows: list[tuple[str, ...]], truncate_last: bool) -> None:
    lines = [", ".join(row) for row in rows]
    if truncate_last:
        lines[-1] = lines[-1][: len(lines[-1]) // 2]
    assert_same(("\n".join(lines) + "\n").encode())


@settings(max_examples=200)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_agree(data: bytes) -> None:
    assert_same(data)


def test_column_values_of_a_long_run_are_stable() -> None:
    # The same distinct value in many spans keeps one code (caches persist across spans).
    scanner = Scanner()
    first = scanner.scan(SPEC_LINES.encode(), file_offset=0, at_file_start=True, final=True)
    second = scanner.scan(SPEC_LINES.encode(), file_offset=0, at_file_start=False, final=True)
    for name in DICT_COLUMNS:
        assert np.array_equal(first.columns[name], second.columns[name])
    assert second.new_values == {}


# -- the fast path's own steps, each against the reference -------------------------------

_BOLT_TAIL = ", Bolt, [unknown], [unknown], [unknown], MATCH (n) RETURN n"
_HTTP_HEADER = (
    '"HttpObjectAggregator$AggregatedFullHttpRequest(decodeResult: success, version: '
    "HTTP/1.1, content: CompositeByteBuf(ridx: 0, widx: 57, cap: 57, components=1)) "
    'POST /sparql HTTP/1.1 Host: db:8182{pad}Content-Type: application/x-www-form-urlencoded"'
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(min_value=0, max_value=9).flatmap(
        lambda first: st.sampled_from([10, 13, 16, 19]).flatmap(
            lambda width: st.text("0123456789", min_size=width - 1, max_size=width - 1).map(
                lambda rest: str(first) + rest
            )
        )
    ),
    st.integers(min_value=0, max_value=7),
)
def test_timestamps_of_every_width_agree(stamp: str, lead: int) -> None:
    # Eight digits at a time: every width, leading digits 0 and 9 (19 digits from 9e18 on
    # overflow and are malformed), at every offset within a word.
    filler = "x" * lead + "\n" if lead else ""
    assert_same(
        (filler + stamp + ", 10.0.0.1:1" + ", 10.0.3.215:8182" + _BOLT_TAIL + "\n").encode()
    )


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(min_value=0, max_value=400),
    st.integers(min_value=0, max_value=300),
    st.sampled_from(["", ",", ", ", "x, y"]),
)
def test_field_lengths_around_the_separator_windows_agree(
    arn_length: int, server_length: int, inside: str
) -> None:
    # Separators are looked for in windows of 192 and 320 bytes after the timestamp: runs
    # ending inside, across and past them, with commas that are and are not separators.
    server = "h" * server_length + inside + ":8182"
    arn = "arn:aws:iam::123456789012:user/" + "a" * arn_length
    line = f"1700000000123, 10.0.0.1:4000, {server}, HTTP_POST, {arn}, [unknown], "
    line += _HTTP_HEADER.format(pad=" ") + ", query=SELECT"
    assert_same((line + "\n").encode())


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(min_value=0, max_value=1200),
    st.sampled_from(['"', '""', "", ")", ") GET /x"]),
    st.integers(min_value=0, max_value=20),
    st.sampled_from([", query=x", ', "{""gremlin"": ""g.V()""}"', '"', ""]),
)
def test_header_close_and_request_line_agree(
    pad: int, inside: str, shift: int, payload: str
) -> None:
    # The header's closing quote is found through mask words: at every lane of a word,
    # near and far from the request line, doubled quotes and anchors inside the header.
    header = _HTTP_HEADER.format(pad=" " + "H" * pad + inside + " ")
    client = "10.0.0.1:" + "1" * (1 + shift % 5)
    line = f"1700000000123, {client}, 10.0.3.215:8182, HTTP_POST, [unknown], [unknown], "
    data = "x" * shift + "\n" + line + header + payload + "\n" + line + header + payload
    assert_same(data.encode())


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet="0123456789:abc[]", max_size=12))
def test_client_ports_agree(tail: str) -> None:
    line = f"1700000000123, 10.0.0.1{tail}, 10.0.3.215:8182" + _BOLT_TAIL
    assert_same((line + "\n").encode())
