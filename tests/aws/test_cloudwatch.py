"""CloudWatch Logs through moto on loopback: ranges, streams, live tail, Insights, errors."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.aws.conftest import REGION, bolt_line
from tui.cli import main
from tui.query import format_time_us, parse_filter
from tui.sources.aws.cloudwatch import CloudWatchSource, pushdown
from tui.sources.aws.session import AwsOptions
from tui.sources.demo import iter_lines

BASE = 1795500000000


def line(n: int, client: str = "10.0.1.1") -> str:
    return bolt_line(BASE + n, client, f"MATCH (n) RETURN {n}")


def make_group(url: str, streams: dict[str, list[tuple[int, str]]]) -> str:
    """A log group with streams of (timestamp ms, message) events; returns its name."""
    logs = boto3.client("logs", endpoint_url=url, region_name=REGION)
    cluster = f"c{uuid.uuid4().hex[:8]}"
    group = f"/aws/neptune/{cluster}/audit"
    logs.create_log_group(logGroupName=group)
    for stream, events in streams.items():
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        if events:
            logs.put_log_events(
                logGroupName=group,
                logStreamName=stream,
                logEvents=[{"timestamp": t, "message": m} for t, m in sorted(events)],
            )
    return group


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_query_range_returns_exactly_the_events_in_it_merged(
    moto_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    streams = {
        "db-writer-1": [(BASE + n, line(n)) for n in (0, 10, 20, 30, 40)],
        "db-reader-1": [(BASE + n, line(n)) for n in (5, 15, 25, 35)],
        "db-reader-2": [(BASE + n, line(n)) for n in (12, 22, 90)],
    }
    group = make_group(moto_url, streams)
    since = format_time_us((BASE + 10) * 1000)
    until = format_time_us((BASE + 35) * 1000)
    code, out, err = run(
        capsys, "query", "--cloudwatch", "--log-group", group, "--since", since, "--until", until,
        "--format", "jsonl", "--endpoint-url", moto_url, "--dir", str(tmp_path / "cw"),
    )  # fmt: skip
    assert code == 0, err
    rows = [json.loads(text) for text in out.splitlines()]
    # [since, until): the event at --until itself is not in the range (as with before:).
    assert [row["epoch_us"] // 1000 - BASE for row in rows] == [10, 12, 15, 20, 22, 25, 30]
    instances = {Path(row["source"]).parent.name for row in rows}
    assert instances == {"db-writer-1", "db-reader-1", "db-reader-2"}
    assert "7 events from 3 streams" in err


def test_cluster_names_the_log_group_and_filters_push_down(
    moto_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = int(time.time() * 1000)
    events = [(now - 1000 + n, line(n, "10.0.9.9" if n % 2 else "10.0.1.1")) for n in range(10)]
    group = make_group(moto_url, {"db-writer-1": events})
    cluster = group.split("/")[3]
    expression = "client:10.0.9.9 lang:opencypher"
    code, out, err = run(
        capsys, "query", "--cloudwatch", "--cluster", cluster, "-f", expression,
        "--format", "jsonl", "--endpoint-url", moto_url,
    )  # fmt: skip
    assert code == 0, err
    rows = [json.loads(text) for text in out.splitlines()]
    assert len(rows) == 5 and all(row["client"].startswith("10.0.9.9") for row in rows)
    assert 'filter pattern "10.0.9.9"' in err
    assert pushdown(parse_filter("user:alice 10.0.1.1 -x after:1700000000")) == (
        '"10.0.1.1"',
        1700000000000000,
        None,
    )


def test_follow_delivers_each_event_once_across_reconnects(moto_url: str, tmp_path: Path) -> None:
    group = make_group(moto_url, {"db-writer-1": [(BASE, line(0))], "db-reader-1": []})
    source = CloudWatchSource(AwsOptions(region=REGION, endpoint_url=moto_url), group, tmp_path)
    source.download(None, None)
    stop = threading.Event()
    errors: list[Any] = []
    thread = threading.Thread(
        target=source.follow, args=(stop,), kwargs={"retry_delay": 0.05, "on_error": errors.append}
    )
    thread.start()
    logs = boto3.client("logs", endpoint_url=moto_url, region_name=REGION)
    try:
        for batch in range(3):
            time.sleep(0.3)
            logs.put_log_events(
                logGroupName=group,
                logStreamName="db-reader-1" if batch % 2 else "db-writer-1",
                logEvents=[
                    {"timestamp": BASE + 10 * batch + k, "message": line(10 * batch + k)}
                    for k in range(1, 4)
                ],
            )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            written = sum(len(p.read_text().splitlines()) for p in tmp_path.rglob("*.log"))
            if written == 10:
                break
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(5)
    lines = sorted(text for p in tmp_path.rglob("*.log") for text in p.read_text().splitlines())
    assert len(lines) == 10 and len(set(lines)) == 10
    assert source.reconnects >= 3 and errors == []


def test_stats_counts_in_insights_match_local_counts(
    moto_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = int(time.time() * 1000)
    streams: dict[str, list[tuple[int, str]]] = {}
    local = tmp_path / "local"
    for instance in ("demo-writer-1", "demo-reader-1", "demo-reader-2"):
        lines = list(iter_lines(300, seed=5, instance=instance, end_us=now * 1000, span_s=600))
        lines.append(f"{now - 5}, 10.0.0.1:1, [cut")  # a malformed line
        streams[instance] = [(now - 700_000 + i, text) for i, text in enumerate(lines)]
        (local / instance).mkdir(parents=True)
        (local / instance / "audit.log").write_text("\n".join(lines) + "\n")
    group = make_group(moto_url, streams)
    code, out, err = run(
        capsys, "stats", "--cloudwatch", "--log-group", group, "--since", "1h",
        "--format", "json", "--endpoint-url", moto_url,
    )  # fmt: skip
    assert code == 0, err
    assert "counted by CloudWatch Logs Insights" in err
    remote = json.loads(out)
    _, local_out, _ = run(capsys, "stats", str(local), "--format", "json")
    expected = json.loads(local_out)
    for key in ("lines", "records", "malformed", "by_type", "by_lang", "by_auth", "top_paths"):
        assert remote[key] == expected[key], key
    assert remote["top_clients"] == expected["top_clients"]
    assert remote["top_users"] == expected["top_users"]
    assert remote["first"] == expected["first"] and remote["last"] == expected["last"]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing-group", 'EnableCloudwatchLogsExports=["audit"]'),
        ("no-credentials", "no AWS credentials found"),
        ("no-region", "no AWS region"),
    ],
)
def test_errors_are_one_line_with_exit_code_2(
    moto_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    setup: str,
    message: str,
) -> None:
    if setup == "no-credentials":
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    if setup == "no-region":
        monkeypatch.delenv("AWS_DEFAULT_REGION")
    code, out, err = run(
        capsys, "query", "--cloudwatch", "--cluster", "nope", "--endpoint-url", moto_url
    )
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert "testing" not in err  # no secret printed


# -- exact ranges (issue 11, item 12) ---------------------------------------------------------

SINCE_US = BASE * 1000 + 500  # half a millisecond after the event at BASE
UNTIL_US = (BASE + 2) * 1000 + 500  # half a millisecond after the event at BASE + 2


def four_events(url: str) -> str:
    """A group with events at BASE, BASE + 1, + 2 and + 3 ms."""
    return make_group(url, {"db-writer-1": [(BASE + n, line(n)) for n in range(4)]})


@pytest.mark.parametrize(
    ("since_us", "until_us"),
    [(SINCE_US, UNTIL_US), ((BASE + 1) * 1000, (BASE + 3) * 1000), (SINCE_US - 1, UNTIL_US)],
)
def test_query_bounds_finer_than_a_millisecond_are_exact(
    moto_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], since_us: int, until_us: int
) -> None:
    group = four_events(moto_url)
    code, out, err = run(
        capsys, "query", "--cloudwatch", "--log-group", group,
        "--since", format_time_us(since_us), "--until", format_time_us(until_us),
        "--format", "jsonl", "--endpoint-url", moto_url, "--dir", str(tmp_path / "cw"),
    )  # fmt: skip
    assert code == 0, err
    assert [json.loads(text)["epoch_us"] // 1000 - BASE for text in out.splitlines()] == [1, 2]


def test_live_tail_backfills_keep_to_the_exact_range(moto_url: str, tmp_path: Path) -> None:
    group = four_events(moto_url)
    options = AwsOptions(region=REGION, endpoint_url=moto_url)
    source = CloudWatchSource(options, group, tmp_path, since_us=SINCE_US, until_us=UNTIL_US)
    stop = threading.Event()
    thread = threading.Thread(target=source.follow, args=(stop,), kwargs={"retry_delay": 0.05})
    thread.start()
    deadline = time.monotonic() + 10
    while source.reconnects < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    thread.join(10)
    assert source.reconnects >= 2
    lines = [text for path in tmp_path.rglob("*.log") for text in path.read_text().splitlines()]
    assert lines == [line(1), line(2)]


def test_insights_counts_only_the_exact_range(
    moto_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    group = four_events(moto_url)
    code, out, err = run(
        capsys, "stats", "--cloudwatch", "--log-group", group,
        "--since", format_time_us(SINCE_US), "--until", format_time_us(UNTIL_US),
        "--format", "json", "--endpoint-url", moto_url,
    )  # fmt: skip
    assert code == 0, err
    counted = json.loads(out)
    assert (counted["lines"], counted["records"]) == (2, 2)


# -- private files and safe names (items 13 and 10) -------------------------------------------


def test_downloads_are_private_and_stream_names_stay_inside(
    moto_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    group = make_group(
        moto_url, {"db-writer-1": [(BASE, line(0))], "../../escaped": [(BASE + 1, line(1))]}
    )
    target = tmp_path / "a" / "cw"
    old_umask = os.umask(0o022)
    try:
        code, _, err = run(
            capsys, "query", "--cloudwatch", "--log-group", group, "--since", str(BASE - 1),
            "--endpoint-url", moto_url, "--dir", str(target),
        )  # fmt: skip
    finally:
        os.umask(old_umask)
    assert code == 0, err
    below = list((tmp_path / "a").rglob("*"))
    assert {stat.S_IMODE(p.stat().st_mode) for p in below if p.is_file()} == {0o600}
    directories = [tmp_path / "a", *(p for p in below if p.is_dir())]
    assert {stat.S_IMODE(p.stat().st_mode) for p in directories} == {0o700}
    files = sorted(str(p.relative_to(target)) for p in below if p.is_file())
    # The run's lock (private too) and the events, each stream's file inside the directory.
    assert files == sorted(
        [".neptune-audit.lock", "%2E./%2E._.._escaped.log", "db-writer-1/db-writer-1.log"]
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]
