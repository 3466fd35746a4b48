"""Acceptance (issue 14): generated records in moto with the Insights fake; ``query
--cloudwatch -f EXPR`` equals ``query -f EXPR`` over the same records as local files for a
corpus of 50+ expressions, with the row limit low enough that slices split; ``stats
--cloudwatch -f EXPR`` equals local ``stats -f EXPR``.

4,000 records run in the suite (about 85 s over two workers);
``INSIGHTS_ACCEPTANCE_RECORDS=200000`` runs the issue's full size by hand (53 minutes on a busy
two-core machine, 2.3 GB peak: 57 expressions, 39 of them split, and 9 stats filters).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.aws.conftest import REGION
from tests.aws.test_cloudwatch import run
from tests.aws.test_insights import jsonl, write_local
from tests.fakes.insights import FakeInsights
from tui.model.fields import timestamp_us
from tui.query import format_time_us
from tui.sources.aws.insights import plan_slices
from tui.sources.demo import iter_lines

RECORDS = int(os.environ.get("INSIGHTS_ACCEPTANCE_RECORDS", "4000"))
ROW_LIMIT = min(2_000, max(100, RECORDS // 10))  # broad filters split their slices
CONCURRENCY = 2  # 8 slices of the three days
SPAN_S = 3 * 86_400  # over a day: query --cloudwatch goes through Insights by itself
END_MS = 1795518000000
START_MS = END_MS - SPAN_S * 1000
STREAMS = ("demo-writer-1", "demo-reader-1", "demo-reader-2")

CORPUS = (
    "",
    "type:Bolt",
    "type=websocket",
    "-type:HTTP",
    "type:/^HTTP_(GET|POST)$/",
    "client:10.0.1",
    "client=10.0.2.7",
    "client:/:4[0-9]{4}$/",
    "ip:10.0.1.1",
    "server:ip-10-0-3-215",
    "server=10.0.3.215:8182",
    "user:assumed-role",
    "user=alice",
    "user=bob OR user=worker-7",
    "user=role/AppRole/worker-3",
    "user=123456789012",
    "arn:/etl-[0-9]$/",
    "-user:arn",
    "auth:ok",
    "auth:failed",
    "auth:none",
    "-auth:ok",
    "lang:gremlin",
    "lang:sparql",
    "lang:opencypher",
    "lang:none",
    "lang:cypher -type:Bolt",
    "method=GET",
    "method:POST path:/sparql",
    "path:/status",
    "-path:/status",
    "path=/gremlin",
    "path:/loader OR path:/system",
    "agent:python",
    "agent:/curl|Java/i",
    "query:person",
    "query:drop",
    'query:"?s ?p ?o"',
    "query:/count\\(\\)/",
    "header:Content-Type",
    "header:/application\\/json/",
    "drop()",
    '"g.V()"',
    "/hasLabel\\('airport'\\)/",
    "/DESCRIBE/i",
    "instance:reader",
    "instance=demo-writer-1 lang:sparql",
    "source:reader-2",
    f"after:{format_time_us((START_MS + 86_400_000) * 1000)}",
    f"before:{START_MS + 3_600_000}",
    f"after:{(START_MS + 43_200_000) * 1000 + 500} before:{START_MS + 50_000_000}",
    "last:6h",
    "last:90m lang:gremlin",
    "NOT (lang:sparql OR lang:gremlin)",
    "(user=alice | user=bob) -path:/status auth:ok",
    "lang:sparql (method=GET OR agent:python) -query:DESCRIBE",
    f"type:Bolt OR before:{START_MS + 7_200_000}",
)
STATS_CORPUS = (
    "",
    "lang:sparql",
    "user=alice OR user=worker-7",
    "-path:/status auth:ok",
    "agent:python",
    "client:10.0.1",
    "NOT (lang:gremlin) method=GET",
    "last:12h",
    "source:reader",
)


def test_the_corpus_is_big_enough() -> None:
    assert len(CORPUS) >= 50 and len(set(CORPUS)) == len(CORPUS)


def events(records: int) -> dict[str, list[tuple[int, str]]]:
    """Demo records split over three streams, each at its record's own time, plus a few
    broken lines; ordered as the streams hold them (time, then as written)."""
    streams: dict[str, list[tuple[int, str]]] = {}
    per_stream = records // len(STREAMS)
    for index, name in enumerate(STREAMS):
        found: list[tuple[int, str]] = []
        for line in iter_lines(
            per_stream, seed=40 + index, instance=name, end_us=END_MS * 1000, span_s=SPAN_S
        ):
            epoch_us = timestamp_us(line.split(", ", 1)[0])
            found.append((epoch_us // 1000 if epoch_us is not None else START_MS, line))
        for k in range(3):
            found.append(
                (START_MS + 1_000_000 * (k + 1) + index, f"{START_MS}, 10.0.0.{k}:1, [cut")
            )
        streams[name] = sorted(found)
    return streams


def put(url: str, streams: dict[str, list[tuple[int, str]]]) -> str:
    """The events into a new log group, in PutLogEvents batches (at most 1 MB each)."""
    logs = boto3.client("logs", endpoint_url=url, region_name=REGION)
    group = f"/aws/neptune/acceptance-{RECORDS}/audit"
    logs.create_log_group(logGroupName=group)
    for stream, items in streams.items():
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        batch: list[Any] = []
        size = 0
        for stamp, message in items:
            cost = len(message.encode()) + 26
            if batch and (size + cost > 900_000 or len(batch) >= 9_000):
                logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)
                batch, size = [], 0
            batch.append({"timestamp": stamp, "message": message})
            size += cost
        if batch:
            logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)
    return group


@pytest.fixture(scope="module")
def acceptance(
    moto_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    streams = events(RECORDS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        started = time.perf_counter()
        group = put(moto_url, streams)
        print(f"\n{RECORDS:,} records put in {time.perf_counter() - started:.1f} s")
    local = tmp_path_factory.mktemp("acceptance-local")
    write_local(local, streams)
    yield group, local


PLANNED = len(plan_slices(START_MS, END_MS, CONCURRENCY))
RANGE = (
    "--since",
    format_time_us(START_MS * 1000),
    "--until",
    format_time_us((END_MS + 1) * 1000),
)


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEPTUNE_AUDIT_INSIGHTS_POLL", "0.005")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")


CHUNKS = 3  # the corpus in parts, so that pytest-xdist can spread them


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_query_through_insights_equals_local_query_for_the_corpus(
    chunk: int,
    acceptance: tuple[str, Path],
    insights_fake: FakeInsights,
    moto_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    quick: None,
) -> None:
    group, local = acceptance
    insights_fake.row_limit = ROW_LIMIT
    timings: list[tuple[float, str]] = []
    split = 0
    for expression in CORPUS[chunk::CHUNKS]:
        before = len(insights_fake.history)
        started = time.perf_counter()
        target = tmp_path / f"cw{len(timings)}"
        code, out, err = run(
            capsys, "query", "--cloudwatch", "--log-group", group, *RANGE, "-f", expression,
            "--format", "jsonl", "--malformed", "--endpoint-url", moto_url, "--dir", str(target),
            "--row-limit", str(ROW_LIMIT), "--concurrency", str(CONCURRENCY),
        )  # fmt: skip
        timings.append((time.perf_counter() - started, expression))
        assert code == 0, (expression, err)
        _, expected, _ = run(
            capsys, "query", str(local), "-f", expression, "--format", "jsonl", "--malformed"
        )
        assert jsonl(out, target) == jsonl(expected, local), expression
        queries = len(insights_fake.history) - before - ("last:" in expression)
        split += queries > PLANNED  # a slice returned the row limit and was cut further
    assert split >= 1  # slicing happened for the broad filters
    with capsys.disabled():
        total = sum(t for t, _ in timings)
        slowest = max(timings)
        print(f"\n{len(timings)} queries over {RECORDS:,} records: {total:.1f} s "
              f"(slowest {slowest[0]:.1f} s: {slowest[1]!r}); {split} split")  # fmt: skip


def test_stats_through_insights_equal_local_stats(
    acceptance: tuple[str, Path],
    insights_fake: FakeInsights,
    moto_url: str,
    capsys: pytest.CaptureFixture[str],
    quick: None,
) -> None:
    group, local = acceptance
    insights_fake.row_limit = ROW_LIMIT
    for expression in STATS_CORPUS:
        code, out, err = run(
            capsys, "stats", "--cloudwatch", "--log-group", group, *RANGE, "-f", expression,
            "--format", "json", "--endpoint-url", moto_url, "--row-limit", str(ROW_LIMIT),
            "--concurrency", str(CONCURRENCY),
        )  # fmt: skip
        assert code == 0, (expression, err)
        _, expected, _ = run(capsys, "stats", str(local), "-f", expression, "--format", "json")
        assert json.loads(out) == json.loads(expected), expression
        assert "counted by CloudWatch Logs Insights in AWS" in err
