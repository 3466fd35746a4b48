"""The sample generator: deterministic, faithful to the field guide, with exact ground truth."""

from __future__ import annotations

import gzip
import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from tui.sources.demo import DEFAULT_END_US, INSTANCES, SampleTruth, iter_lines, write_sample

# --------------------------------------------------------------------------------------
# A small reference reader, independent of tui.sources.demo, written from the field guide.

_START = re.compile(r"^(\d+), ")
_REQUEST = re.compile(r" (?:GET|POST) (\S+) HTTP/1\.1 ")


@dataclass
class _Rec:
    time_us: int
    fields: list[str]  # the first seven, unquoted
    payload: str  # raw, as written
    file: str


def _split(line: str) -> tuple[list[str], str]:
    """First seven fields quote-aware, then the rest; ValueError if there are fewer."""
    fields: list[str] = []
    i = 0
    for _ in range(7):
        if line.startswith('"', i):
            j = i + 1
            while True:
                j = line.index('"', j)
                if line.startswith('""', j):
                    j += 2
                    continue
                break
            fields.append(line[i + 1 : j].replace('""', '"'))
            i = j + 1
            if not line.startswith(", ", i):
                raise ValueError("no separator after a quoted field")
            i += 2
        else:
            j = line.index(", ", i)
            fields.append(line[i:j])
            i = j + 2
    return fields, line[i:]


def _read(path: Path) -> str:
    if path.suffix == ".gz":
        return gzip.decompress(path.read_bytes()).decode("utf-8")
    return path.read_text(encoding="utf-8")


def _parse(paths: list[Path]) -> tuple[list[_Rec], list[tuple[str, int, str]]]:
    """(records, malformed as (file, line number, text))."""
    records: list[_Rec] = []
    bad: list[tuple[str, int, str]] = []
    for path in paths:
        for number, line in enumerate(_read(path).split("\n")[:-1]):
            start = _START.match(line)
            assert start, f"continuation line (never written on purpose): {line[:80]}"
            digits = start.group(1)
            if len(digits) not in (10, 13, 16, 19):
                bad.append((str(path), number, line))
                continue
            try:
                fields, payload = _split(line)
            except ValueError:
                bad.append((str(path), number, line))
                continue
            scale = {10: 1_000_000, 13: 1000, 16: 1, 19: 0}[len(digits)]
            us = int(digits) * scale if scale else int(digits) // 1000
            records.append(_Rec(us, fields, payload, str(path)))
    return records, bad


def _lang(rec: _Rec) -> str:
    kind, header = rec.fields[3], rec.fields[6]
    if kind == "Websocket":
        return "gremlin"
    if kind == "Bolt":
        return "opencypher"
    path = _path(header)
    if path.startswith("/gremlin"):
        return "gremlin"
    return {"/sparql": "sparql", "/openCypher": "opencypher"}.get(path, "none")


def _path(header: str) -> str:
    match = _REQUEST.search(header)
    assert match, header[:200]
    return match.group(1).split("?", 1)[0]


def _auth(value: str) -> str:
    if value == "[unknown]":
        return "none"
    assert value in (
        "{authenticationSucceeded=true}",
        "{authenticationSucceeded=false}",
        '{"authenticationSucceeded":true}',
        '{"authenticationSucceeded":false}',
    ), value
    return "ok" if "true" in value else "failed"


# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleTruth]:
    root = tmp_path_factory.mktemp("sample")
    return root, write_sample(root, 3000, seed=1, malformed=20, gzip_one=True)


@pytest.fixture(scope="module")
def parsed(generated: tuple[Path, SampleTruth]) -> tuple[list[_Rec], list[tuple[str, int, str]]]:
    return _parse(generated[1].files)


@pytest.fixture(scope="module")
def raw(generated: tuple[Path, SampleTruth]) -> str:
    return "".join(_read(p) for p in generated[1].files)


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a = write_sample(tmp_path / "a", 2000, seed=5, malformed=7, gzip_one=True)
    b = write_sample(tmp_path / "b", 2000, seed=5, malformed=7, gzip_one=True)
    c = write_sample(tmp_path / "c", 2000, seed=6, malformed=7, gzip_one=True)
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")
    assert _tree(tmp_path / "a") != _tree(tmp_path / "c")
    assert a.by_client == b.by_client and a.by_user == b.by_user
    assert a.records == c.records == 2000


def test_layout(generated: tuple[Path, SampleTruth]) -> None:
    root, truth = generated
    expected = sorted(
        [root / i / f"audit.log.{k}" for i in INSTANCES for k in range(3)],
    )
    expected[expected.index(root / "demo-reader-2" / "audit.log.2")] = (
        root / "demo-reader-2" / "audit.log.2.gz"
    )
    assert truth.files == sorted(expected)
    assert sorted(p for p in root.rglob("*") if p.is_file()) == truth.files
    assert set(truth.per_file_records) == {str(p) for p in truth.files}


def test_gzip_one_holds_the_same_shape(generated: tuple[Path, SampleTruth]) -> None:
    root, truth = generated
    gz = root / "demo-reader-2" / "audit.log.2.gz"
    assert gz.read_bytes()[:2] == b"\x1f\x8b"
    text = _read(gz)
    assert text.count("\n") >= truth.per_file_records[str(gz)]
    assert re.match(r"^\d{16}, ", text)


def test_stale_files_are_removed(tmp_path: Path) -> None:
    write_sample(tmp_path, 300, files_per_instance=4, gzip_one=True)
    truth = write_sample(tmp_path, 300, files_per_instance=2)
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == truth.files
    assert len(truth.files) == 6


def test_counts_add_up(generated: tuple[Path, SampleTruth], raw: str) -> None:
    _, truth = generated
    assert sum(truth.per_file_records.values()) == truth.records == 3000
    assert truth.lines == truth.records + truth.malformed == 3020
    assert raw.count("\n") == truth.lines
    for counter in (truth.by_type, truth.by_lang, truth.by_auth, truth.by_client):
        assert sum(counter.values()) == truth.records
    assert sum(truth.by_path.values()) == truth.by_type["HTTP_GET"] + truth.by_type["HTTP_POST"]


def test_truth_matches_a_reference_reader(
    generated: tuple[Path, SampleTruth], parsed: tuple[list[_Rec], list[tuple[str, int, str]]]
) -> None:
    _, truth = generated
    records, bad = parsed
    assert len(records) == truth.records
    assert len(bad) == truth.malformed
    assert Counter(r.fields[3] for r in records) == truth.by_type
    assert Counter(_lang(r) for r in records) == truth.by_lang
    assert Counter(_auth(r.fields[5]) for r in records) == truth.by_auth
    assert Counter(r.fields[1].rsplit(":", 1)[0] for r in records) == truth.by_client
    assert Counter(r.fields[4] for r in records if r.fields[4].startswith("arn:")) == truth.by_user
    http = [r for r in records if r.fields[3].startswith("HTTP_")]
    assert Counter(_path(r.fields[6]) for r in http) == truth.by_path
    assert Counter(r.file for r in records) == {k: v for k, v in truth.per_file_records.items()}
    assert min(r.time_us for r in records) == truth.first_us
    assert max(r.time_us for r in records) == truth.last_us


def test_http_headers_tell_the_truth(
    parsed: tuple[list[_Rec], list[tuple[str, int, str]]],
) -> None:
    for rec in parsed[0]:
        kind, arn, header, payload = rec.fields[3], rec.fields[4], rec.fields[6], rec.payload
        if kind in ("Websocket", "Bolt"):
            assert header == "[unknown]"
            continue
        assert header.startswith("HttpObjectAggregator$AggregatedFullHttpRequest(")
        body = payload[1:-1].replace('""', '"') if payload.startswith('"') else payload
        if kind == "HTTP_POST":
            length = len(body.encode("utf-8"))
            assert f"widx: {length}, cap: {length}, components=1)) POST /" in header
            assert f" Content-Length: {length} Content-Type: " in header
        else:
            assert "content: EmptyByteBufBE) GET /" in header
            assert header.endswith(" content-length: 0")
            assert f" GET {body} HTTP/1.1 " in header  # payload = path + query string
        signed = " Authorization: AWS4-HMAC-SHA256 Credential=" in header
        assert signed == arn.startswith("arn:"), header
        if signed:
            stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(rec.time_us // 1_000_000))
            assert f"X-Amz-Date: {stamp}Z " in header
            assert re.search(r", Signature=[0-9a-f]{64}( content-length: 0)?$", header)


def test_instances_differ_as_documented(
    parsed: tuple[list[_Rec], list[tuple[str, int, str]]],
) -> None:
    by_instance: dict[str, list[_Rec]] = {}
    for rec in parsed[0]:
        by_instance.setdefault(Path(rec.file).parent.name, []).append(rec)
    by_instance = {i: by_instance[i] for i in INSTANCES}
    writer, reader1, reader2 = by_instance.values()
    assert 0.45 < len(writer) / 3000 < 0.55
    assert 0.2 < len(reader1) / 3000 < 0.3
    for recs, server in (
        (writer, "ip-10-0-3-215.ec2.internal/10.0.3.215:8182"),
        (reader1, "10.0.3.87:8182"),
        (reader2, "10.0.3.142:8183"),
    ):
        assert {r.fields[2] for r in recs} == {server, "[unknown]"}
        probes = [r for r in recs if r.fields[2] == "[unknown]"]
        assert probes and all(r.payload == "/status" and r.fields[4] == "[unknown]" for r in probes)
    auths = [
        {r.fields[5] for r in recs if r.fields[2] != "[unknown]"} for recs in by_instance.values()
    ]
    assert auths[0] == {"{authenticationSucceeded=true}", "{authenticationSucceeded=false}"}
    assert auths[1] == {'{"authenticationSucceeded":true}', '{"authenticationSucceeded":false}'}
    assert auths[2] == {"[unknown]"}
    assert {r.fields[4] for r in reader2} == {"[unknown]", "null"}
    # 0.5 % of authenticated requests fail.
    failed = sum(1 for r in writer + reader1 if "false" in r.fields[5])
    assert 0.001 < failed / (len(writer) + len(reader1)) < 0.015


def test_timestamps(
    generated: tuple[Path, SampleTruth], parsed: tuple[list[_Rec], list[tuple[str, int, str]]]
) -> None:
    truth = generated[1]
    assert truth.last_us == DEFAULT_END_US
    assert truth.first_us is not None and truth.first_us >= DEFAULT_END_US - 3_600_000_000
    for path in truth.files:
        records = [r for r in parsed[0] if r.file == str(path)]
        widths = {len(line.split(", ", 1)[0]) for line in _read(path).splitlines()}
        expected = 16 if path.parent.name == "demo-reader-2" else 13
        assert expected in widths and widths <= {expected, 11, 12, 14, 15}  # + malformed
        assert all(DEFAULT_END_US - 3_600_000_000 <= r.time_us <= DEFAULT_END_US for r in records)
        if expected == 13:
            assert all(r.time_us % 1000 == 0 for r in records)
        else:
            assert any(r.time_us % 1000 for r in records)


def test_custom_end_and_span(tmp_path: Path) -> None:
    end = 1_700_000_000_123_456
    truth = write_sample(tmp_path, 500, end_us=end, span_s=60)
    assert truth.last_us == end
    assert truth.first_us is not None and end - 60_000_000 <= truth.first_us < end
    records, _ = _parse(truth.files)
    assert all(end - 60_000_000 <= r.time_us <= end for r in records)


def test_every_file_out_of_order(parsed: tuple[list[_Rec], list[tuple[str, int, str]]]) -> None:
    by_file: dict[str, list[int]] = {}
    for rec in parsed[0]:
        by_file.setdefault(rec.file, []).append(rec.time_us)
    assert len(by_file) == 9
    for times in by_file.values():
        assert times != sorted(times)
        # ... but only locally: a few seconds at most.
        running = max_back = 0
        for t in times:
            running = max(running, t)
            max_back = max(max_back, running - t)
        assert max_back <= 4_000_000


def test_small_files_are_out_of_order_too(tmp_path: Path) -> None:
    truth = write_sample(tmp_path, 60, seed=3, span_s=36000)
    records, _ = _parse(truth.files)
    for path in truth.files:
        times = [r.time_us for r in records if r.file == str(path)]
        if len(set(times)) > 1:
            assert times != sorted(times)


def test_malformed_entries(
    generated: tuple[Path, SampleTruth], parsed: tuple[list[_Rec], list[tuple[str, int, str]]]
) -> None:
    bad = parsed[1]
    assert len(bad) == 20
    assert all(number > 0 for _, number, _ in bad)  # never first in a file
    spots = {(f, n) for f, n, _ in bad}
    assert not any((f, n + 1) in spots for f, n in spots)  # never adjacent
    cut = [text for _, _, text in bad if len(text.split(", ", 1)[0]) in (13, 16)]
    assert len(cut) == 10
    for text in cut:
        assert re.match(r"^\d+, \S", text) and text.count(", ") < 7
    for _, _, text in bad:
        if text not in cut:
            assert re.match(r"^(\d{11}|\d{12}|\d{14}|\d{15}), ", text)
            assert text.count(", ") >= 7


def test_every_shape_is_present(raw: str) -> None:
    shapes = {
        "13-digit ms": r"^\d{13}, ",
        "16-digit µs": r"^\d{16}, ",
        "ephemeral client": r"^\d+, 10\.0\.\d+\.\d+:(3[2-9]\d{3}|[45]\d{4}|60\d{3}), ",
        "IPv6 client": r"^\d+, 2600:1f18:0:0:0:0:0:1a:\d{5}, ",
        "Java server": r", ip-10-0-3-215\.ec2\.internal/10\.0\.3\.215:8182, ",
        "port 8183": r", 10\.0\.3\.142:8183, ",
        "probe server": r"^\d+, [\d.]+:\d+, \[unknown\], HTTP_GET, \[unknown\], \[unknown\], ",
        "user ARN": r", arn:aws:iam::123456789012:user/(alice|bob), ",
        "AppRole": r", arn:aws:sts::123456789012:assumed-role/AppRole/worker-\d+, ",
        "AnalyticsRole": r", arn:aws:sts::123456789012:assumed-role/AnalyticsRole/etl-\d+, ",
        "map auth ok": r", \{authenticationSucceeded=true\}, ",
        "map auth failed": r", \{authenticationSucceeded=false\}, ",
        "json auth ok": r', "\{""authenticationSucceeded"":true\}", ',
        "json auth failed": r', "\{""authenticationSucceeded"":false\}", ',
        "null ARN": r"^\d{16}, [^ ]+, 10\.0\.3\.142:8183, \w+, null, \[unknown\], ",
        "sparql form": r"POST /sparql HTTP/1\.1 .*Content-Type: application/x-www-form-urlencoded"
        r'.*", query=(PREFIX|SELECT|ASK|DESCRIBE|CONSTRUCT)\+\S*$',
        "sparql newline": r", query=\S*%0A\S*$",
        "sparql update": r'", update=INSERT\+DATA\+\S+$',
        "sparql get": r"HTTP_GET, .* GET /sparql\?query=\S+ HTTP/1\.1 .*, /sparql\?query=\S+$",
        "ws gremlin": r", Websocket, [^,]*, [^,]*, \[unknown\], \"RequestMessage\{, requestId="
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}, op='eval', "
        r"processor='', args=\{gremlin=.* , aliases=\{g=g\}\}\}\"$",
        "ws doubled quotes": r"Websocket.*args=\{gremlin=g\.V\(\)\.has\(\"\"person\"\",",
        "ws runs of spaces": r"Websocket.*gremlin=\S+\.   \S",
        "http gremlin": r"POST /gremlin HTTP/1\.1 .*Content-Type: application/json"
        r'.*", "\{""gremlin"": ""g\.',
        "gremlin explain": r"POST /gremlin/explain HTTP/1\.1 ",
        "gremlin profile": r"POST /gremlin/profile HTTP/1\.1 ",
        "bolt plain": r", Bolt, [^,]*, [^,]*, \[unknown\], MATCH [^\"]+$",
        "bolt quoted": r", Bolt, [^,]*, [^,]*, \[unknown\], \"MATCH .*, .*\"$",
        "cypher form": r"POST /openCypher HTTP/1\.1 .*, query=MATCH\+\S+$",
        "cypher json": r'POST /openCypher HTTP/1\.1 .*", "\{""query"": ""MATCH '
        r'.*""parameters"": \{',
        "status": r'GET /status HTTP/1\.1 .*User-Agent: ELB-HealthChecker/2\.0.*", /status$',
        "loader": r'POST /loader HTTP/1\.1 .*""source"": ""s3://',
        "system": r"POST /system HTTP/1\.1 .*, action=initiateDatabaseReset$",
        "netty post": r'"HttpObjectAggregator\$AggregatedFullHttpRequest\(decodeResult: success, '
        r"version: HTTP/1\.1, content: CompositeByteBuf\(ridx: 0, widx: (\d+), cap: \1, "
        r"components=1\)\) POST ",
        "netty get": r"content: EmptyByteBufBE\) GET /",
        "host": r" Host: demo-cluster\.cluster-abc123\.us-east-1\.neptune\.amazonaws\.com:8182 ",
        "sigv4": r" X-Amz-Date: \d{8}T\d{6}Z Authorization: AWS4-HMAC-SHA256 Credential=A[KS]IA"
        r"[A-Z0-9]{16}/\d{8}/us-east-1/neptune-db/aws4_request, SignedHeaders=host;x-amz-date, "
        r"Signature=[0-9a-f]{64}",
        "python-requests": r"User-Agent: python-requests/2\.31\.0 ",
        "apache": r"User-Agent: Apache-HttpClient/4\.5\.13 \(Java/17\.0\.9\) ",
        "sdk": r"User-Agent: aws-sdk-java/2\.21\.0 ",
        "curl": r"User-Agent: curl/8\.4\.0 ",
        "non-ASCII": r"[^\x00-\x7f]",
    }
    missing = [name for name, pattern in shapes.items() if not re.search(pattern, raw, re.M)]
    assert not missing


def test_probes_and_clients_are_realistic(generated: tuple[Path, SampleTruth]) -> None:
    truth = generated[1]
    assert 0.03 < truth.by_path["/status"] / truth.records < 0.1
    assert 35 <= len(truth.by_client) <= 50
    (top, top_n), *_ = truth.by_client.most_common()
    assert top_n > 5 * truth.records / len(truth.by_client)  # skewed popularity
    assert 1 <= truth.by_client["2600:1f18:0:0:0:0:0:1a"] <= 30


def test_average_line_length(tmp_path: Path) -> None:
    # The benchmark needs about 1 GB for 2.4 M records.
    truth = write_sample(tmp_path, 30_000, seed=2)
    average = sum(p.stat().st_size for p in truth.files) / truth.lines
    print(f"\naverage line: {average:.1f} bytes")
    assert 400 < average < 460


def test_iter_lines() -> None:
    lines = list(iter_lines(500, seed=4, instance="demo-reader-2"))
    assert len(lines) == 500
    assert lines == list(iter_lines(500, seed=4, instance="demo-reader-2"))
    assert all(re.match(r"^\d{16}, ", line) and "\n" not in line for line in lines)
    with pytest.raises(ValueError):
        next(iter_lines(5, instance="nope"))


def test_edge_cases(tmp_path: Path) -> None:
    empty = write_sample(tmp_path / "empty", 0)
    assert empty.records == empty.lines == 0
    assert empty.first_us is None and empty.last_us is None
    assert len(empty.files) == 9 and all(p.stat().st_size == 0 for p in empty.files)
    one = write_sample(tmp_path / "one", 1, malformed=1, files_per_instance=1)
    assert one.records == 1 and one.lines == 2 and len(one.files) == 3
    with pytest.raises(ValueError):
        write_sample(tmp_path / "x", 3, malformed=4)
    with pytest.raises(ValueError):
        write_sample(tmp_path / "x", 3, files_per_instance=0)
