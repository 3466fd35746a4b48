"""Answers inside the viewer: the overview (its numbers equal ``stats`` on the same filter,
Enter filters, ``-`` excludes, the timeline narrows), marks, export of the view (equal to the
headless query) and sessions (restore, a damaged file, ``--no-session``)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from pathlib import Path

from textual.widgets import Input

from tests.ui.conftest import NOW, make_app, settle, wait_ready
from tui.cli.main import main
from tui.query.format import format_filter
from tui.ui.app import NeptuneAuditApp
from tui.ui.overview import OverviewScreen, TopList
from tui.ui.screens import ExportScreen


def headless(args: list[str]) -> str:
    """What the command prints (the running app holds sys.stdout: capture it here)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(args) == 0
    return out.getvalue()


async def open_overview(app: NeptuneAuditApp, pilot: object) -> OverviewScreen:
    await pilot.press("i")  # type: ignore[attr-defined]
    for _ in range(500):
        screen = app.screen
        if isinstance(screen, OverviewScreen) and screen.stats is not None:
            await pilot.pause()  # type: ignore[attr-defined]
            return screen
        await asyncio.sleep(0.02)
    raise AssertionError("the overview did not count")


async def test_overview_counts_equal_stats_and_pick_filters(
    ui_logs: Path, state_home: Path
) -> None:
    app = make_app(ui_logs, filter_text="-path:/status")
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_ready(app)
        screen = await open_overview(app, pilot)
        stats = screen.stats
        assert stats is not None
        counted = json.loads(
            headless(["stats", str(ui_logs), "-f", "-path:/status", "--format", "json"])
        )
        assert stats.records == counted["records"] == app.view.counts.shown_records
        assert [list(item) for item in stats.top_users] == counted["top_users"]
        assert [list(item) for item in stats.top_instances] == counted["top_instances"]
        assert stats.timeline is not None  # buckets follow the screen's width: totals agree
        assert sum(stats.timeline.total) == sum(counted["timeline"]["records"])
        assert sum(stats.timeline.failed) == sum(counted["timeline"]["failed_auth"])
        # Enter on the top user keeps that user.
        users = screen.query_one("#top-users", TopList)
        users.focus()
        await pilot.press("enter")
        await settle(app)
        top_user = stats.top_users[0][0]
        assert not isinstance(app.screen, OverviewScreen)
        assert f"user={top_user}" in app.filter_text
        assert all(
            app.index.entry(e).arn == top_user  # type: ignore[union-attr]
            for e in app.view.ids.tolist()
        )
        # "-" on a client hides it.
        screen = await open_overview(app, pilot)
        clients = screen.query_one("#top-clients", TopList)
        clients.focus()
        await pilot.press("minus")
        await settle(app)
        assert "-client=" in app.filter_text


async def test_timeline_enter_narrows_to_a_bucket(ui_logs: Path, state_home: Path) -> None:
    app = make_app(ui_logs)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(app)
        screen = await open_overview(app, pilot)
        timeline = screen.stats.timeline if screen.stats else None
        assert timeline is not None
        await pilot.press("home", "right", "right", "enter")
        await settle(app)
        start = timeline.start_us + 2 * timeline.bucket_us
        times = app.index.column("epoch_us")[app.view.ids]
        assert len(times) == timeline.total[2]
        assert all(start <= t < start + timeline.bucket_us for t in times.tolist())


async def test_marks_jump_filter_and_show(ui_logs: Path, state_home: Path) -> None:
    app = make_app(ui_logs)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(app)
        rows = [3, 40, 200]
        for row in rows:
            app.table.move_to(row)
            await pilot.press("m")
        marked = {int(app.view.ids[row]) for row in rows}
        assert app.view.marks == marked
        app.table.move_to(3)
        await pilot.pause()
        line = app.table.render_line(1 + 3 - int(app.table.scroll_y)).text
        assert line.startswith("▌") and app.table.render_line(0).text.startswith(" ")
        app.table.move_to(0)
        await pilot.press("apostrophe")
        assert app.table.cursor_row == 3
        await pilot.press("apostrophe", "apostrophe", "apostrophe")
        assert app.table.cursor_row == 3  # wrapped around
        await pilot.press("quotation_mark")
        assert app.table.cursor_row == 200
        await pilot.press("equals_sign", "m")
        await settle(app)
        assert set(app.view.ids.tolist()) == marked
        await pilot.press("m")  # unmark one
        assert len(app.view.marks) == 2


async def test_export_equals_the_headless_query(
    ui_logs: Path, state_home: Path, tmp_path: Path
) -> None:
    app = make_app(ui_logs, filter_text="lang:gremlin")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(app)
        await pilot.press("p")  # probes hidden too: the export follows the whole filter
        await settle(app)
        for suffix in ("jsonl", "csv"):
            target = tmp_path / f"view.{suffix}"
            await pilot.press("w")
            assert isinstance(app.screen, ExportScreen)
            box = app.screen.query_one("#export-input", Input)
            box.value = str(target)
            await pilot.press("enter")
            for _ in range(500):
                if app.view.task is None and target.exists():
                    break
                await asyncio.sleep(0.02)
            await pilot.pause(0.1)
            expression = format_filter(app.view.filter.combined)
            expected = headless(["query", str(ui_logs), "-f", expression, "--format", suffix])
            assert target.read_text() == expected
            assert target.stat().st_mode & 0o777 == 0o600
        # A name that exists, or a suffix that names no format, keeps the prompt open.
        await pilot.press("w")
        app.screen.query_one("#export-input", Input).value = str(tmp_path / "view.csv")
        await pilot.press("enter")
        assert isinstance(app.screen, ExportScreen)
        app.screen.query_one("#export-input", Input).value = str(tmp_path / "view.txt")
        await pilot.press("enter")
        assert isinstance(app.screen, ExportScreen)
        await pilot.press("escape")


async def test_export_of_marked_records(ui_logs: Path, state_home: Path, tmp_path: Path) -> None:
    app = make_app(ui_logs)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(app)
        for row in (5, 9):
            app.table.move_to(row)
            await pilot.press("m")
        target = tmp_path / "marked.jsonl"
        await pilot.press("w")
        app.screen.query_one("#export-input", Input).value = str(target)
        await pilot.press("enter")
        for _ in range(500):
            if app.view.task is None and target.exists():
                break
            await asyncio.sleep(0.02)
        await pilot.pause(0.1)
        rows = [json.loads(line) for line in target.read_text().splitlines()]
        expected = sorted(int(app.index.column("epoch_us")[e]) for e in app.view.marks)
        assert [row["epoch_us"] for row in rows] == expected


def _app(logs: Path, **options: object) -> NeptuneAuditApp:
    return NeptuneAuditApp([str(logs)], clock=lambda: NOW, keymap={}, **options)  # type: ignore[arg-type]


async def test_sessions_restore_and_survive_damage(ui_logs: Path, state_home: Path) -> None:
    app = _app(ui_logs)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(app)
        await pilot.press("slash", *"lang:sparql", "enter", "p")
        await settle(app)
        app.table.move_to(4)
        await pilot.press("m", "vertical_line", "t")
        app.table.move_to(7)
        await settle(app)
        cursor = app.view.cursor_entry
        marks = set(app.view.marks)
        await pilot.press("q")
    sessions = list((state_home / "state" / "neptune-audit" / "sessions").glob("*.json"))
    assert len(sessions) == 1 and sessions[0].stat().st_mode & 0o777 == 0o600

    again = _app(ui_logs)
    async with again.run_test(size=(120, 40)) as pilot:
        await wait_ready(again)
        await settle(again)
        assert again.filter_text == "lang:sparql" and again.hide_probes
        assert again.view.marks == marks and again.view.cursor_entry == cursor
        assert again.query_one("#main").has_class("beside") and again.view.local_time
        await pilot.press("q")

    clean = _app(ui_logs, session=False)
    async with clean.run_test(size=(120, 40)):
        await wait_ready(clean)
        assert clean.filter_text == "" and not clean.view.marks

    for damage in ("{not json", '{"version": 1, "filter": 5}', "[]", '{"version": 99}'):
        sessions[0].write_text(damage)
        damaged = _app(ui_logs)
        async with damaged.run_test(size=(120, 40)) as pilot:
            await wait_ready(damaged)
            assert damaged.is_running and damaged.filter_text == ""
            notes = " ".join(str(n.message) for n in damaged._notifications)
            assert "session was ignored" in notes
            await pilot.press("q")


async def test_a_saved_cursor_does_not_pull_back_a_user_who_moved_meanwhile(
    ui_logs: Path, state_home: Path, monkeypatch: object
) -> None:
    """The saved cursor is found after the load; a user who moved before then stays."""
    import threading

    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    app = _app(ui_logs)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(app)
        app.table.move_to(7)
        await settle(app)
        await pilot.press("q")

    gate, posted = threading.Event(), threading.Event()
    find = NeptuneAuditApp._find_session_places

    def found_later(self: NeptuneAuditApp, session: object) -> None:
        def run() -> None:
            gate.wait(10)
            find(self, session)
            posted.set()

        threading.Thread(target=run, daemon=True).start()

    monkeypatch.setattr(NeptuneAuditApp, "_find_session_places", found_later)
    again = _app(ui_logs)
    async with again.run_test(size=(120, 40)) as pilot:
        await wait_ready(again)
        await pilot.press("j", "j")
        await settle(again)
        moved = again.view.cursor_entry
        gate.set()
        while not posted.is_set():
            await asyncio.sleep(0.01)
        await settle(again)
        assert again.table.cursor_row == 2 and again.view.cursor_entry == moved
        await pilot.press("q")


async def test_next_malformed_entry(ui_logs: Path, state_home: Path) -> None:
    app = make_app(ui_logs)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(app)
        kinds = app.index.column("kind")[app.view.ids]
        malformed = [row for row, kind in enumerate(kinds.tolist()) if kind == 1]
        assert malformed
        await pilot.press("e")
        await settle(app)
        assert app.table.cursor_row == malformed[0]
        await pilot.press("E")
        await settle(app)
        assert app.table.cursor_row == malformed[0]  # none before the first


async def test_quitting_stops_classifying_queries_at_once(
    ui_logs: Path, state_home: Path, monkeypatch: object
) -> None:
    """The overview's pass over every distinct query is stopped by quitting, wherever it is
    (a pass that reports no progress for a long while included)."""
    import threading
    import time

    from tui.index.insight import Insight
    from tui.index.textscan import Cancelled

    stopped: list[float] = []

    def slow_fill(self: Insight, stop: int | None = None, *, only: object = None,
                  cancel: threading.Event | None = None,
                  on_progress: object = None) -> None:  # fmt: skip
        assert cancel is not None
        cancel.wait(30)  # a long stretch without progress reports
        stopped.append(time.monotonic())
        raise Cancelled()

    monkeypatch.setattr(Insight, "fill", slow_fill)  # type: ignore[attr-defined]
    app = make_app(ui_logs)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(app)
        await open_overview(app, pilot)
        await pilot.press("escape")
        quit_at = time.monotonic()
        await pilot.press("q")
    for _ in range(100):
        if stopped:
            break
        await asyncio.sleep(0.01)
    assert stopped and stopped[0] - quit_at < 1.0


async def test_the_timeline_line_fills_its_width_after_toggling(
    ui_logs: Path, state_home: Path
) -> None:
    from tui.ui.sparkline import TimelineLine

    app = make_app(ui_logs)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(app)
        await settle(app)
        line = app.query_one(TimelineLine)
        for _ in range(2):  # off, then on again: counted once laid out
            await pilot.press("T")
            await settle(app)
        for _ in range(100):
            if line.display and line.timeline is not None and len(line.timeline.total) > 40:
                break
            await asyncio.sleep(0.02)
        assert line.display and line.timeline is not None
        assert len(line.timeline.total) > 40  # buckets for the width, not the fallback 10
        wide = line.timeline
        await pilot.resize_terminal(80, 24)  # fewer buckets for the new width, the same span
        for _ in range(100):
            if line.timeline is not wide:
                break
            await asyncio.sleep(0.02)
        narrow = line.timeline
        assert narrow is not wide and narrow is not None
        assert len(narrow.total) <= 50 and narrow.bucket_us > wide.bucket_us
        end = narrow.start_us + narrow.bucket_us * len(narrow.total)
        assert end >= wide.start_us + wide.bucket_us * (len(wide.total) - 1)
        await pilot.press("q")


async def test_the_detail_keeps_a_recent_records_age_true_and_the_readers_place(
    ui_logs: Path, state_home: Path
) -> None:
    from tests.ui.test_app import detail_text

    now = [NOW]
    app = NeptuneAuditApp([str(ui_logs)], clock=lambda: now[0], keymap={})
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_ready(app)
        await settle(app)
        entry = app.view.cursor_entry
        assert entry is not None
        now[0] = int(app.index.column("epoch_us")[entry]) / 1e6 + 5  # written 5 s ago
        app._show_detail()
        await settle(app)
        assert "(5 s ago)" in detail_text(app)
        app.detail.scroll_to(y=3, animate=False)
        await pilot.pause()
        place = app.detail.scroll_y
        assert place > 0
        now[0] += 60
        app._refresh_age()  # what the timer does every 10 s
        await settle(app)
        assert "(1 min ago)" in detail_text(app)
        assert app.detail.scroll_y == place
        await pilot.press("q")


async def test_the_overview_never_counts_backwards_while_a_pass_goes_on(
    ui_logs: Path, state_home: Path
) -> None:
    # A pass classifying queries may have been started by an older count, of fewer records
    # (records were still arriving): its progress says the newest count, not its own.
    from dataclasses import replace

    from textual.widgets import Static

    from tui.ui.messages import OverviewReady

    app = make_app(ui_logs)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_ready(app)
        screen = await open_overview(app, pilot)
        stats = screen.stats
        assert stats is not None
        older = replace(stats, records=stats.records - 1)
        app.post_message(OverviewReady(older, 0.0, False, 0.5))
        await pilot.pause()
        title = str(screen.query_one("#overview-title", Static).content)
        assert f"{stats.records:,} records · classifying queries 50%" in title, title
