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
    """Fast and reference columns are equal; returns how many records the fast path left."""
    fast, slow_count = columns(data, fast=True)
    reference, _ = columns(data, fast=False)
    for name in reference:
        assert fast[name] == reference[name], name
    return slow_count


def test_spec_shapes_take_the_fast_path_and_agree() -> None:
    assert assert_same(SPEC_LINES.encode()) == 0


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
