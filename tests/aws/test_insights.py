"""``query``/``stats --cloudwatch`` through Logs Insights, end to end: boto3 over loopback HTTP
to moto with our Insights fake. Results equal a local run over the same events; slices split
at the row limit; busy accounts, cancellation, timeouts and rejected queries."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tests.aws.conftest import REGION
from tests.aws.test_cloudwatch import make_group, run
from tests.fakes.insights import FakeInsights, FakeQuery, QueryError, ServiceError
from tui.cli import main
from tui.model.fields import timestamp_us
from tui.query import format_time_us, parse_filter
from tui.sources.aws.cloudwatch import stream_file
from tui.sources.aws.insights import InsightsCancelled, InsightsRunner, fetch_lines
from tui.sources.aws.insights_ql import compile_filter, rows_query
from tui.sources.aws.insights_stats import timeline
from tui.sources.aws.session import AwsError, AwsOptions, client
from tui.sources.demo import iter_lines

BASE_MS = 1795518000000
SPAN_S = 7200
STREAMS = ("demo-writer-1", "demo-reader-1", "demo-reader-2")


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    """Poll quickly, and let errors reach the runner without botocore's retries."""
    monkeypatch.setenv("NEPTUNE_AUDIT_INSIGHTS_POLL", "0.01")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")


def demo_events(records: int, seed: int = 3) -> dict[str, list[tuple[int, str]]]:
    """Realistic lines per stream, each event at its record's own time, plus broken lines."""
    streams: dict[str, list[tuple[int, str]]] = {}
    end_us = (BASE_MS + SPAN_S * 1000) * 1000
    for index, name in enumerate(STREAMS):
        events = []
        for line in iter_lines(
            records, seed=seed + index, instance=name, end_us=end_us, span_s=SPAN_S
        ):
            epoch_us = timestamp_us(line.split(", ", 1)[0])
            events.append((epoch_us // 1000 if epoch_us is not None else BASE_MS + 7, line))
        events.append((BASE_MS + 1000 * index + 5, f"{BASE_MS}, 10.0.0.1:1, [cut"))
        streams[name] = sorted(events, key=lambda e: e[0])
    return streams


def write_local(directory: Path, streams: dict[str, list[tuple[int, str]]]) -> None:
    """The same events as files laid out as ``--cloudwatch`` writes them."""
    for stream, events in streams.items():
        path = stream_file(directory, stream)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(message + "\n" for _, message in events))


def jsonl(out: str, root: Path) -> list[dict[str, object]]:
    """Records with ``source`` relative to where the files are, and without ``line``: the
    position of an event among all events of its stream is not known to Insights."""
    rows = []
    for text in out.splitlines():
        row = json.loads(text)
        row["source"] = str(Path(str(row["source"])).relative_to(root))
        row.pop("line")
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def dataset(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """One log group of 3 x 600 demo records and the same events as local files."""
    streams = demo_events(600)
    with pytest.MonkeyPatch.context() as patch:  # before the per-test credentials exist
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        group = make_group(moto_url, streams)
    local = tmp_path_factory.mktemp("local")
    write_local(local, streams)
    yield group, local


RANGE = (
    "--since",
    format_time_us(BASE_MS * 1000),
    "--until",
    format_time_us((BASE_MS + SPAN_S * 1000 + 1) * 1000),
)
EXPRESSIONS = (
    "",
    "lang:sparql",
    "user=alice OR user=worker-7",
    "-path:/status auth:ok",
    "type:Bolt query:person",
    "client:10.0.1 /drop\\(\\)/i",
    "NOT (lang:gremlin OR lang:opencypher) method=GET",
    "agent:python header:/Content-Type/",
    "last:10m",
)


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_query_through_insights_equals_local_query(
    dataset: tuple[str, Path],
    insights_fake: FakeInsights,
    moto_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    expression: str,
) -> None:
    group, local = dataset
    insights_fake.row_limit = 150  # broad filters split their slices
    target = tmp_path / "cw"
    code, out, err = run(
        capsys, "query", "--cloudwatch", "--insights", "--log-group", group, *RANGE,
        "-f", expression, "--format", "jsonl", "--malformed", "--endpoint-url", moto_url,
        "--dir", str(target), "--row-limit", "150",
    )  # fmt: skip
    assert code == 0, err
    _, expected, _ = run(
        capsys, "query", str(local), "-f", expression, "--format", "jsonl", "--malformed"
    )
    assert jsonl(out, target) == jsonl(expected, local)
    assert "matching records" in err and "scanned" in err and "$" in err
    # The files written hold exactly the matches: read again, they print the same bytes.
    _, again, _ = run(
        capsys, "query", str(target), "-f", expression, "--format", "jsonl", "--malformed"
    )
    assert again == out


def test_slices_split_at_the_row_limit_and_keep_every_event_once(
    dataset: tuple[str, Path],
    insights_fake: FakeInsights,
    moto_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    group, local = dataset
    insights_fake.row_limit = 50
    code, out, err = run(
        capsys, "query", "--cloudwatch", "--insights", "--log-group", group, *RANGE,
        "--format", "jsonl", "--endpoint-url", moto_url, "--dir", str(tmp_path / "cw"),
        "--row-limit", "50", "--concurrency", "4",
    )  # fmt: skip
    assert code == 0, err
    rows = [json.loads(text) for text in out.splitlines()]
    keys = [(row["source"], row["line"]) for row in rows]
    assert len(rows) == 3 * 600 and len(set(keys)) == len(rows)
    assert [row["epoch_us"] for row in rows] == sorted(row["epoch_us"] for row in rows)
    history = insights_fake.history
    assert len(history) > 3 * 600 // 50  # split until every slice fits
    assert all(len(q.outcome.rows) <= 50 for q in history if q.outcome)
    assert insights_fake.peak_running <= 4


def test_stats_through_insights_equal_local_stats(
    dataset: tuple[str, Path],
    insights_fake: FakeInsights,
    moto_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    group, local = dataset
    for expression in (
        "",
        "lang:sparql",
        "user=alice -auth:failed",
        "agent:python",
        "x",
        "last:30m",
    ):
        code, out, err = run(
            capsys, "stats", "--cloudwatch", "--log-group", group, *RANGE, "-f", expression,
            "--format", "json", "--endpoint-url", moto_url, "--price-per-gb", "0.01",
        )  # fmt: skip
        assert code == 0, err
        _, expected, _ = run(capsys, "stats", str(local), "-f", expression, "--format", "json")
        assert json.loads(out) == json.loads(expected), expression
        assert "counted by CloudWatch Logs Insights in AWS" in err
        assert "scanned" in err and "at $0.01 per GB" in err


def test_stats_shapes_from_cloudwatch_is_refused_in_one_line(
    insights_fake: FakeInsights, moto_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "stats", "--cloudwatch", "--log-group", "/aws/neptune/x/audit", "--shapes",
        "--endpoint-url", moto_url,
    )  # fmt: skip
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "--shapes needs the records here" in err
    assert insights_fake.history == []


def test_explain_prints_the_plan_and_runs_nothing(
    insights_fake: FakeInsights, moto_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "query", "--cloudwatch", "--log-group", "/aws/neptune/x/audit", "--since", "30d",
        "-f", "user=alice source:x lang:sparql", "--explain", "--endpoint-url", moto_url,
    )  # fmt: skip
    assert code == 0, err
    assert "parse @message /^(?<ts>" in out and "| filter " in out
    assert "source:x" in out and "here only" in out
    assert "user=alice" in out and "widened; checked here" in out
    assert "slices: 40, at most 10 queries at a time" in out
    assert "logs:StartQuery" in out and "$0.005 per GB" in out
    assert insights_fake.history == []


def test_a_long_range_runs_through_insights_without_asking(
    dataset: tuple[str, Path],
    insights_fake: FakeInsights,
    moto_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    group, _ = dataset
    code, _, err = run(
        capsys, "query", "--cloudwatch", "--log-group", group,
        "--since", format_time_us((BASE_MS - 2 * 86_400_000) * 1000),
        "--until", format_time_us((BASE_MS + SPAN_S * 1000 + 1) * 1000), "-f", "type:Bolt",
        "--endpoint-url", moto_url, "--dir", str(tmp_path / "cw"), "--format", "jsonl",
    )  # fmt: skip
    assert code == 0, err
    assert insights_fake.history and "matching records" in err


def test_limit_stops_the_queries_still_running(
    dataset: tuple[str, Path],
    insights_fake: FakeInsights,
    moto_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    group, _ = dataset
    insights_fake.polls_to_complete = 10**6
    first: list[str] = []

    def complete_the_first(query: FakeQuery) -> str | None:
        first.append(first[0] if first else query.id)
        return "Complete" if query.id == first[0] else None

    insights_fake.on_poll = complete_the_first
    code, out, err = run(
        capsys, "query", "--cloudwatch", "--insights", "--log-group", group, *RANGE,
        "--limit", "5", "--format", "jsonl", "--endpoint-url", moto_url,
        "--dir", str(tmp_path / "cw"), "--concurrency", "3",
    )  # fmt: skip
    assert code == 0, err
    assert len(out.splitlines()) == 5
    assert any(q.stopped_by_user for q in insights_fake.history)


# -- the runner's own API ------------------------------------------------------------------------


def runner_for(url: str, group: str, **kwargs: object) -> InsightsRunner:
    logs = client("logs", AwsOptions(region=REGION, endpoint_url=url))
    return InsightsRunner(logs, group, poll_s=0.01, **kwargs)  # type: ignore[arg-type]


def all_query(runner: InsightsRunner, text: str = ""):  # type: ignore[no-untyped-def]
    compiled = compile_filter(parse_filter(text), text)
    return lambda a, b: rows_query(compiled, a, b, runner.row_limit)


def test_a_busy_account_queues_and_retries(
    dataset: tuple[str, Path], insights_fake: FakeInsights, moto_url: str
) -> None:
    group, _ = dataset
    insights_fake.max_running = 2
    insights_fake.polls_to_complete = 2
    runner = runner_for(moto_url, group, concurrency=8)
    runner_rows = [
        row
        for batch in runner.iter_rows(all_query(runner), BASE_MS, BASE_MS + SPAN_S * 1000)
        for row in batch
    ]
    assert len(runner_rows) == 3 * 601
    assert insights_fake.limit_exceeded > 0 and runner.totals.busy_retries > 0
    assert insights_fake.peak_running <= 2


def test_cancel_stops_running_queries(
    dataset: tuple[str, Path], insights_fake: FakeInsights, moto_url: str
) -> None:
    group, _ = dataset
    insights_fake.polls_to_complete = 10**6  # never ends on its own
    cancel = threading.Event()
    states: list[str] = []

    def progress(report: object) -> None:
        states.append(getattr(report, "state"))  # noqa: B009
        if states.count("running") >= 3:
            cancel.set()

    runner = runner_for(moto_url, group, concurrency=3, on_progress=progress, cancel=cancel)
    with pytest.raises(InsightsCancelled, match="stopped 3 running"):
        list(runner.iter_rows(all_query(runner), BASE_MS, BASE_MS + SPAN_S * 1000))
    stopped = [q for q in insights_fake.history if q.stopped_by_user]
    assert len(stopped) == 3 and "cancelled" in states


def test_ctrl_c_stops_running_queries(
    dataset: tuple[str, Path],
    insights_fake: FakeInsights,
    moto_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    group, _ = dataset
    insights_fake.polls_to_complete = 10**6
    original = InsightsRunner._results
    polls = 0

    def results(self: InsightsRunner, query_id: str) -> dict[str, object]:
        nonlocal polls
        polls += 1
        if polls == 5:
            raise KeyboardInterrupt  # what Ctrl-C does to the process, mid-poll
        return original(self, query_id)

    monkeypatch.setattr(InsightsRunner, "_results", results)
    code = main(
        ["query", "--cloudwatch", "--insights", "--log-group", group, *RANGE,
         "--endpoint-url", moto_url, "--dir", str(tmp_path / "cw"), "--concurrency", "2"]
    )  # fmt: skip
    capsys.readouterr()
    assert code == 130
    assert len(insights_fake.history) == 2
    assert all(q.stopped_by_user for q in insights_fake.history)


def test_a_query_timed_out_in_aws_is_split_and_asked_again(
    dataset: tuple[str, Path], insights_fake: FakeInsights, moto_url: str
) -> None:
    group, _ = dataset
    first: list[str] = []

    def time_out_once(query: FakeQuery) -> str | None:
        if not first:
            first.append(query.id)
            return "Timeout"
        return None

    insights_fake.on_poll = time_out_once
    runner = runner_for(moto_url, group, concurrency=1)
    rows = [
        r
        for batch in runner.iter_rows(all_query(runner), BASE_MS, BASE_MS + SPAN_S * 1000)
        for r in batch
    ]
    assert len(rows) == 3 * 601 and runner.totals.splits >= 1


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("denied", "access denied: the credentials may not call logs:StartQuery"),
        ("malformed", "Logs Insights rejected the query compiled from the filter term 'type:Bolt'"),
        ("failed", "a Logs Insights query ended as Failed in AWS"),
        ("timeout", "a Logs Insights query timed out (Insights stops queries after 60 minutes)"),
        ("cancelled", "cancelled by someone else (StopQuery)"),
    ],
)
def test_errors_are_one_line_naming_what_to_do(
    dataset: tuple[str, Path],
    insights_fake: FakeInsights,
    moto_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fault: str,
    message: str,
) -> None:
    group, _ = dataset
    if fault == "denied":

        def deny(query: str) -> None:
            raise ServiceError("AccessDeniedException", "not authorized to perform logs:StartQuery")

        insights_fake.on_start = deny
    elif fault == "malformed":

        def reject(query: str) -> None:
            offset = query.index("ctype =~")
            raise QueryError("unexpected token", offset)

        insights_fake.on_start = reject
    else:
        status = {"failed": "Failed", "timeout": "Timeout", "cancelled": "Cancelled"}[fault]
        insights_fake.on_poll = lambda query: status
    since = format_time_us(BASE_MS * 1000)
    until = format_time_us((BASE_MS + 1500) * 1000)  # under two seconds: not split further
    code, out, err = run(
        capsys, "query", "--cloudwatch", "--insights", "--log-group", group, "--since", since,
        "--until", until, "-f", "type:Bolt", "--endpoint-url", moto_url,
        "--dir", str(tmp_path / "cw"),
    )  # fmt: skip
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    if fault == "malformed":
        assert "a bug in neptune-audit, not in your filter" in err and "| parse @message" in err


def test_fetch_lines_reads_events_by_pointer(
    dataset: tuple[str, Path], insights_fake: FakeInsights, moto_url: str
) -> None:
    group, _ = dataset
    runner = runner_for(moto_url, group)
    compiled = compile_filter(parse_filter("type:Bolt"), "type:Bolt")
    rows = runner.first_rows(
        lambda a, b: rows_query(compiled, a, b, 10), BASE_MS, BASE_MS + SPAN_S * 1000
    )
    assert rows
    lines = fetch_lines(runner.logs, [row["@ptr"] for row in rows], group)
    assert lines == [row["@message"] for row in rows]
    with pytest.raises(AwsError):
        fetch_lines(runner.logs, ["bogus"], group)


def test_timeline_counts_per_bin(
    dataset: tuple[str, Path], insights_fake: FakeInsights, moto_url: str
) -> None:
    group, local = dataset
    runner = runner_for(moto_url, group)
    compiled = compile_filter(parse_filter("lang:sparql"), "lang:sparql")
    buckets = timeline(runner, compiled, BASE_MS, BASE_MS + SPAN_S * 1000, 600_000)
    lines = [line for path in local.rglob("*.log") for line in path.read_text().splitlines()]
    from tui.model.parser import parse_entry
    from tui.model.record import Record

    expected: dict[int, int] = {}
    for line in lines:
        entry = parse_entry(line)
        if isinstance(entry, Record) and entry.lang == "sparql":
            key = entry.epoch_us // 1000 // 600_000 * 600_000
            expected[key] = expected.get(key, 0) + 1
    assert buckets == dict(sorted(expected.items()))
    assert sum(buckets.values()) > 0


def test_reading_events_back_needs_get_query_results(
    insights_fake: FakeInsights, moto_url: str
) -> None:
    group = make_group(
        moto_url,
        {"s": [(BASE_MS, f"{BASE_MS}, 1.2.3.4:5, a, Bolt, [unknown], [unknown], [unknown], x")]},
    )
    logs = boto3.client("logs", endpoint_url=moto_url, region_name=REGION)
    answer = logs.start_query(
        logGroupName=group,
        startTime=BASE_MS // 1000,
        endTime=BASE_MS // 1000,
        queryString="fields @message | limit 1",
    )
    result = logs.get_query_results(queryId=answer["queryId"])
    assert result["status"] == "Complete" and result["statistics"]["bytesScanned"] > 0


def test_a_match_directory_in_use_by_another_run_is_refused_in_one_line(
    insights_fake: FakeInsights, moto_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A viewer and a query on one directory would mix their matches: the second is refused."""
    from tui.sources.aws.rds_logs import directory_lock

    directory = tmp_path / "matches"
    with directory_lock(directory, wait=0):  # another run holds it
        code, out, err = run(
            capsys, "query", "--cloudwatch", "--log-group", "/aws/neptune/x/audit",
            "--since", "30d", "--insights", "--dir", str(directory), "--endpoint-url", moto_url,
        )  # fmt: skip
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "in use by" in err and "give another --dir" in err
    assert insights_fake.history == []
