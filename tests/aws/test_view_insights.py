"""``view --cloudwatch`` through Logs Insights, end to end: the viewer (Textual Pilot) over
moto with our Insights fake, boto3 over loopback HTTP. The table fills with exactly what a
local ``query -f EXPR`` prints over the same events as files; the status line shows slices,
bytes scanned and the cost; ``x`` stops the run (StopQuery) and keeps what arrived; the
overview is counted in AWS and equals local ``stats``, or falls back to local counts."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.aws.test_cloudwatch import make_group, run
from tests.aws.test_insights import RANGE, demo_events, jsonl, write_local
from tests.fakes.insights import FakeInsights, FakeQuery, ServiceError
from tests.ui.conftest import NOW
from tui.cli.aws import InsightsView
from tui.cli.export import make_writer
from tui.cli.main import build_parser
from tui.index.filtering import evaluate
from tui.index.stats import Stats, compute_stats
from tui.model.record import Record
from tui.query import parse_filter
from tui.sources.aws.insights import plan_slices
from tui.sources.files import FileReader
from tui.sources.local import expand_paths, load
from tui.ui.app import NeptuneAuditApp
from tui.ui.overview import OverviewScreen

EXPRESSION = "-path:/status lang:sparql OR type:Bolt"
ROW_LIMIT = 40


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEPTUNE_AUDIT_INSIGHTS_POLL", "0.01")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")


@pytest.fixture(scope="module")
def events(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """One log group of 3 x 150 demo records (and broken lines), and the same as files."""
    streams = demo_events(150, seed=11)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        group = make_group(moto_url, streams)
    local = tmp_path_factory.mktemp("view-local")
    write_local(local, streams)
    yield group, local


def viewer(
    group: str, url: str, directory: Path, expression: str = EXPRESSION, *extra: str
) -> NeptuneAuditApp:
    """The viewer as ``view --cloudwatch --insights`` opens it."""
    args = build_parser().parse_args(
        ["view", "--cloudwatch", "--insights", "--log-group", group, *RANGE,
         f"--filter={expression}", "--endpoint-url", url, "--dir", str(directory),
         "--concurrency", "2", *extra]
    )  # fmt: skip
    remote = InsightsView(args, parse_filter(expression))
    return NeptuneAuditApp(
        [str(remote.open())], filter_text=expression, clock=lambda: NOW, keymap={},
        follow=True, follow_interval=0.05, live_label="following matches", session=False,
        remote=remote,
    )  # fmt: skip


def status(app: NeptuneAuditApp) -> str:
    return str(app.query_one("#status").content)  # type: ignore[attr-defined]


async def until(condition: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def shown_jsonl(app: NeptuneAuditApp) -> str:
    """The records the table shows, as ``query --format jsonl`` writes them."""
    out = io.StringIO()
    writer = make_writer("jsonl", out)
    for entry in app.view.ids.tolist():
        parsed = app.index.entry(entry)
        if isinstance(parsed, Record):
            writer.record(parsed)
    writer.close()
    return out.getvalue()


def local_stats(local: Path, expression: str, buckets: int) -> Stats:
    """What ``stats -f EXPR`` counts over the files (the same buckets as the overview)."""
    from tui.index.index import Index

    reader = FileReader()
    index = Index(reader)
    try:
        load(index, reader, expand_paths([str(local)]))
        result = evaluate(index, parse_filter(expression))
        return compute_stats(index, result.mask, buckets=buckets)
    finally:
        index.close()


def settled(app: NeptuneAuditApp, records: int) -> bool:
    progress = app.view.remote
    return (
        progress is not None
        and progress.finished
        and app.view.counts.records >= records
        and app.view.up_to_date
    )


async def test_the_table_fills_with_exactly_the_local_matches_and_the_status_says_so(
    events: tuple[str, Path],
    insights_fake: FakeInsights,
    moto_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    group, local = events
    insights_fake.row_limit = ROW_LIMIT  # broad slices split
    insights_fake.polls_to_complete = 1
    _, expected, _ = run(capsys, "query", str(local), "-f", EXPRESSION, "--format", "jsonl")
    wanted = jsonl(expected, local)
    target = tmp_path / "cw"
    app = viewer(group, moto_url, target, EXPRESSION, "--row-limit", str(ROW_LIMIT))
    seen: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:

        def done() -> bool:
            seen.append(status(app))
            return settled(app, len(wanted))

        await until(done, 30)
        await pilot.pause(0.3)
        assert jsonl(shown_jsonl(app), target) == wanted
        assert len(wanted) > ROW_LIMIT
        # Slices split at the row limit: more queries than the plan's first slices.
        planned = len(plan_slices(0, 2 * 3_600_000, 2))
        assert len(insights_fake.history) > planned
        running = [text for text in seen if "Logs Insights" in text and "slices" in text]
        assert running and all("scanned · ≈$" in text for text in running), [
            t for t in running if "≈" not in t
        ]
        final = status(app)
        assert "counted in AWS" in final and "scanned · ≈$" in final
        progress = app.view.remote
        assert progress is not None and progress.state == "done"
        assert progress.slices_done == progress.slices_total > planned
        assert progress.matched == len(wanted)
        assert progress.bytes_scanned > 0
        assert not app.check_action("cancel_remote", ())  # x leaves the footer when done
    # Only matches came down: the files hold the kept events and nothing else.
    _, again, _ = run(capsys, "query", str(target), "-f", EXPRESSION, "--format", "jsonl")
    assert jsonl(again, target) == wanted


async def test_x_stops_the_run_with_stop_query_and_keeps_what_arrived(
    events: tuple[str, Path],
    insights_fake: FakeInsights,
    moto_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    group, local = events
    completed: list[str] = []

    def first_only(query: FakeQuery) -> str | None:
        """The oldest slice completes; the others run until stopped."""
        if not completed or completed[0] == query.id:
            completed[:1] = [query.id]
            return "Complete"
        return None

    insights_fake.polls_to_complete = 10**6
    insights_fake.on_poll = first_only
    _, expected, _ = run(capsys, "query", str(local), "-f", "", "--format", "jsonl")
    wanted = jsonl(expected, local)
    target = tmp_path / "cw"
    app = viewer(group, moto_url, target, "")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: app.view.counts.records > 0, what="the first slice's records")
        assert app.check_action("cancel_remote", ())
        running = sum(1 for q in insights_fake.history if q.status == "Running")
        assert running >= 1
        await pilot.press("x")
        await until(lambda: app.view.remote is not None and app.view.remote.finished)
        await pilot.pause(0.3)
        progress = app.view.remote
        assert progress is not None and progress.state == "cancelled"
        stopped = [q for q in insights_fake.history if q.stopped_by_user]
        assert len(stopped) == running
        assert f"cancelled · {progress.slices_done} of {progress.slices_total} slices" in status(
            app
        )
        kept = jsonl(shown_jsonl(app), target)
        assert 0 < len(kept) < len(wanted) and kept == wanted[: len(kept)]


async def test_quitting_stops_the_queries_still_running(
    events: tuple[str, Path], insights_fake: FakeInsights, moto_url: str, tmp_path: Path
) -> None:
    group, _ = events
    insights_fake.polls_to_complete = 10**6
    app = viewer(group, moto_url, tmp_path / "cw", "")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: any(q.status == "Running" for q in insights_fake.history))
        await pilot.press("q")
    assert app.remote is not None
    assert app.remote.wait(10)  # type: ignore[attr-defined]
    assert insights_fake.history and all(q.stopped_by_user for q in insights_fake.history)


async def overview(app: NeptuneAuditApp, pilot: object, want: str) -> OverviewScreen:
    await getattr(pilot, "press")("i")  # noqa: B009
    screen = app.screen
    assert isinstance(screen, OverviewScreen)
    title = screen.query_one("#overview-title")
    await until(
        lambda: screen.stats is not None and want in str(getattr(title, "content")),  # noqa: B009
        what="the overview's counts",
    )
    return screen


async def test_the_overview_is_counted_in_aws_and_equals_local_stats(
    events: tuple[str, Path],
    insights_fake: FakeInsights,
    moto_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    group, local = events
    expression = "-path:/status"
    _, expected, _ = run(capsys, "query", str(local), "-f", expression, "--format", "jsonl")
    app = viewer(group, moto_url, tmp_path / "cw", expression, "--price-per-gb", "0.01")
    notes: list[str] = []
    original = OverviewScreen.set_note

    def set_note(self: OverviewScreen, note: str) -> None:
        notes.append(note)
        original(self, note)

    monkeypatch.setattr(OverviewScreen, "set_note", set_note)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: settled(app, len(expected.splitlines())), 30)
        before = len(insights_fake.history)
        screen = await overview(app, pilot, "counted in AWS Logs Insights")
        # While AWS counted, the title said how far it was.
        assert any(re.search(r"counting in AWS Logs Insights · \d+/\d+ slices", n) for n in notes)
        assert len(insights_fake.history) > before  # counted by queries, not here
        title = str(getattr(screen.query_one("#overview-title"), "content"))  # noqa: B009
        assert "MB scanned" in title or "kB scanned" in title
        assert "≈$" in title
        counted = screen.stats
        assert counted is not None
        truth = local_stats(local, expression, buckets=120 - 2)
        for name in (
            "records", "malformed", "first_us", "last_us", "by_type", "by_lang", "by_auth",
            "top_clients", "top_users", "top_paths", "top_instances", "failed_by_user",
            "timeline",
        ):  # fmt: skip
            assert getattr(counted, name) == getattr(truth, name), name
        assert counted.records == len(expected.splitlines())


async def test_the_overview_falls_back_to_local_counts_when_insights_fails(
    events: tuple[str, Path],
    insights_fake: FakeInsights,
    moto_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    group, local = events
    _, expected, _ = run(capsys, "query", str(local), "-f", "type:Bolt", "--format", "jsonl")
    app = viewer(group, moto_url, tmp_path / "cw", "type:Bolt")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: settled(app, len(expected.splitlines())), 30)

        def denied(query: str) -> None:
            raise ServiceError("AccessDeniedException", "not allowed: logs:StartQuery", 400)

        insights_fake.on_start = denied
        screen = await overview(app, pilot, "counted here instead")
        title = str(getattr(screen.query_one("#overview-title"), "content"))  # noqa: B009
        assert "Logs Insights failed" in title and "logs:StartQuery" in title
        assert screen.stats is not None
        assert screen.stats.records == app.view.counts.shown_records == len(expected.splitlines())


def test_view_explain_prints_the_plan_and_touches_nothing(
    insights_fake: FakeInsights,
    moto_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    kept = tmp_path / "cw" / "x" / "old.log"
    kept.parent.mkdir(parents=True)
    kept.write_text("from an earlier run\n")
    code, out, err = run(
        capsys, "view", "--cloudwatch", "--log-group", "/aws/neptune/x/audit", "--since", "30d",
        "-f", "user=alice", "--explain", "--endpoint-url", moto_url, "--dir", str(tmp_path / "cw"),
    )  # fmt: skip
    assert code == 0, err
    assert "Logs Insights query on /aws/neptune/x/audit" in out and "| filter " in out
    assert insights_fake.history == [] and kept.exists()
