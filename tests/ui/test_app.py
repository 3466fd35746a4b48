"""Driving the viewer with the keyboard: navigation, filters, search, time, detail, safety."""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console
from textual.binding import Binding
from textual.command import DiscoveryHit
from textual.widgets import Static

from tests.ui.conftest import make_app, rows_where, settle, wait_ready
from tui.model.record import Record
from tui.ui.app import NeptuneAuditApp
from tui.ui.bindings import APP_BINDINGS
from tui.ui.commands import COMMANDS, ViewerCommands
from tui.ui.detail import DetailPane
from tui.ui.filter_bar import FilterBar
from tui.ui.screens import HelpScreen


def detail_text(app: NeptuneAuditApp) -> str:
    """What the detail pane shows, as plain text."""
    console = Console(width=120, record=True, color_system=None, file=io.StringIO())
    console.print(app.query_one(DetailPane).content)
    return console.export_text()


def table_text(app: NeptuneAuditApp) -> str:
    """Every character the table draws."""
    table = app.table
    return "\n".join(table.render_line(y).text for y in range(table.size.height))


async def test_loads_merged_and_navigates(ui_logs: Path, state_home: Path) -> None:
    app = make_app(ui_logs)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_ready(app)
        table = app.table
        assert len(app.view.ids) == app.index.size == 600 + 2 + 2
        times = app.index.column("epoch_us")[app.view.ids]
        assert bool(np.all(times[1:] >= times[:-1]))
        assert table.cursor_row == 0
        await pilot.press("j", "j", "down", "k")
        assert table.cursor_row == 2
        await pilot.press("G")
        assert table.cursor_row == len(app.view.ids) - 1
        await pilot.press("g")
        assert table.cursor_row == 0
        await pilot.press("pagedown")
        assert table.cursor_row == table.page_height
        await pilot.press("end")
        assert table.cursor_row == len(app.view.ids) - 1
        await pilot.press("home", "right", "right")
        assert table.query_offset == 16
        await pilot.press("left")
        assert table.query_offset == 8


async def test_filter_apply_preview_cancel_error_and_history(
    ui_logs: Path, state_home: Path
) -> None:
    app = make_app(ui_logs)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_ready(app)
        bar = app.query_one(FilterBar)
        await pilot.press("slash")
        assert bar.display and bar.input.has_focus
        await pilot.press(*"lang:sparql")
        await settle(app)
        await pilot.pause(0.3)
        await settle(app)
        info = str(bar.query_one("#filter-info", Static).content)
        sparql = int(np.count_nonzero(app.index.column("lang") == 2))
        assert f"{sparql:,} of {app.index.records:,} records match" in info
        await pilot.press("enter")
        await settle(app)
        assert not bar.display and app.filter_text == "lang:sparql"
        assert len(app.view.ids) == sparql
        assert all(
            isinstance(e, Record) and e.lang == "sparql"
            for e in (app.index.entry(i) for i in app.view.ids.tolist())
        )
        # An error shows its column and does not apply.
        await pilot.press("f")
        await pilot.press("ctrl+u", *"clinet:x")
        info = str(bar.query_one("#filter-info", Static).content)
        assert "column 1: unknown field 'clinet'" in info
        await pilot.press("enter")
        assert bar.display and app.filter_text == "lang:sparql"
        # Escape cancels, keeping the applied filter.
        await pilot.press("escape")
        assert not bar.display and app.filter_text == "lang:sparql"
        # History: up recalls the previous expression.
        await pilot.press("slash", "ctrl+u", "up")
        assert bar.input.value == "lang:sparql"
        await pilot.press("escape")
        assert (state_home / "state" / "neptune-audit" / "filter-history.json").exists()


async def test_quick_filters_probes_and_clear(ui_logs: Path, state_home: Path) -> None:
    app = make_app(ui_logs)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_ready(app)
        first = app.index.entry(app.table.cursor_entry or 0)
        assert isinstance(first, Record) and first.client is not None
        await pilot.press("equals_sign", "c")
        await settle(app)
        assert app.filter_text == f"client={first.client.key}"
        shown = [app.index.entry(e) for e in app.view.ids.tolist()]
        assert shown and all(
            isinstance(e, Record) and e.client and e.client.key == first.client.key for e in shown
        )
        await pilot.press("minus", "t")
        await settle(app)
        assert app.filter_text.endswith(f"-type={first.conn_type}")
        assert all(app.index.entry(e).conn_type != first.conn_type for e in app.view.ids.tolist())  # type: ignore[union-attr]
        await pilot.press("X")
        await settle(app)
        assert app.filter_text == "" and len(app.view.ids) == app.index.size
        await pilot.press("p")
        await settle(app)
        assert app.hide_probes
        entries = [app.index.entry(e) for e in app.view.ids.tolist()]
        paths = {e.path for e in entries if isinstance(e, Record)}
        assert "/status" not in paths
        assert len(app.view.ids) < app.index.size


async def test_search_highlights_and_moves(ui_logs: Path, state_home: Path) -> None:
    app = make_app(ui_logs)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_ready(app)
        await pilot.press("s", *"ELB-HealthChecker", "enter")
        await settle(app)
        expected = rows_where(
            app, lambda e: isinstance(e, Record) and "ELB-HealthChecker" in (e.user_agent or "")
        )
        assert expected and list(app.view.search.rows) == expected
        assert app.table.cursor_row == expected[0]
        await pilot.press("n")
        assert app.table.cursor_row == expected[1]
        await pilot.press("N", "N")
        assert app.table.cursor_row == expected[-1]
        assert "ELB-HealthChecker" in detail_text(app)
        await pilot.press("escape")
        assert app.table.search is None


async def test_goto_time(ui_logs: Path, state_home: Path) -> None:
    app = make_app(ui_logs)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_ready(app)
        times = app.index.column("epoch_us")[app.view.ids]
        await pilot.press("at", *"2026-11-24T11:30:00Z", "enter")
        await pilot.pause(0.1)
        target = 1795519800_000_000
        row = app.table.cursor_row
        assert times[row] >= target and (row == 0 or times[row - 1] < target)
        await pilot.press("ctrl+g", *"-10m", "enter")
        await pilot.pause(0.1)
        newest = int(times[-1])
        row = app.table.cursor_row
        assert times[row] >= newest - 600_000_000 > times[row - 1]


async def test_detail_of_each_language_probe_and_malformed(ui_logs: Path, state_home: Path) -> None:
    app = make_app(ui_logs)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(app)
        cases = {
            "gremlin": lambda e: isinstance(e, Record) and e.conn_type == "Websocket",
            "sparql": lambda e: isinstance(e, Record) and e.lang == "sparql" and e.method == "POST",
            "opencypher": lambda e: isinstance(e, Record) and e.conn_type == "Bolt",
            "status": lambda e: isinstance(e, Record) and e.path == "/status",
            "malformed": lambda e: not isinstance(e, Record),
        }
        for name, predicate in cases.items():
            row = rows_where(app, predicate)[0]
            app.table.move_to(row, user=True)
            await settle(app)
            text = detail_text(app)
            entry = app.index.entry(app.table.cursor_entry or 0)
            if name == "malformed":
                assert "Malformed entry" in text and entry.reason in text  # type: ignore[union-attr]
                continue
            assert isinstance(entry, Record)
            assert "Summary" in text and "Identity" in text
            assert entry.client is not None and entry.client.raw in text
            if name == "status":
                assert "GET /status" in text and "Query" not in text
                assert "HTTP header" in text and "User-Agent" in text
            else:
                assert entry.query is not None
                assert f"Query · {entry.lang}" in text
                first_line = entry.query.text.strip().splitlines()[0][:40]
                assert first_line in text
            if name == "sparql":
                assert "HTTP header" in text and "Content-Type" in text
                if entry.principal is not None:
                    assert entry.principal.account in text  # type: ignore[operator]
        app.table.move_to(rows_where(app, lambda e: isinstance(e, Record))[0], user=True)
        await pilot.press("r")
        await settle(app)
        assert "Raw line" in detail_text(app)


async def test_log_text_is_inert(ui_logs: Path, state_home: Path) -> None:
    app = make_app(ui_logs, filter_text="client:10.9.9.")
    async with app.run_test(size=(200, 40)) as pilot:
        await wait_ready(app)
        assert len(app.view.ids) == 2
        screen = table_text(app)
        assert "[bold red]boom[/] [@click=a" in screen and "[b]x[/b]" in screen
        query = app.formatter.row(int(app.view.ids[0])).cells["query"]
        assert "[@click=app.quit]quit[/]" in query
        assert "‹ESC›[31mred‹ESC›[0m‹BEL›" in query and "‹U+202E›evil" in query
        for text in (screen, query):
            assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
        text = detail_text(app)
        assert "[bold red]boom[/]" in text and "‹ESC›[31m" in text
        await pilot.press("j")
        await settle(app)
        text = detail_text(app)
        assert "[blink]agent[/blink]‹ESC›]0;title‹BEL›" in text
        assert "\x1b" not in text
        await pilot.press("enter", "y")  # a click action in the data must not fire
        assert app.is_running


async def test_help_palette_columns_time_and_layout(ui_logs: Path, state_home: Path) -> None:
    app = make_app(ui_logs)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        described = {d for group in app.help_groups() for _, d, _ in group.bindings}
        assert {"Filter", "Search", "Go to time", "Probes", "Copy"} <= described
        await pilot.press("escape")
        titles = {
            str(hit.display)
            async for hit in ViewerCommands(app.screen).discover()
            if isinstance(hit, DiscoveryHit)
        }
        assert {"filter: hide or show health probes", "view: toggle detail"} <= titles
        # Every key the key line shows, and the marks, are in the palette too.
        actions = {action for _, _, action in COMMANDS}
        on_key_line = {b.action for b in APP_BINDINGS if isinstance(b, Binding) and b.show}
        assert on_key_line - {"quit"} <= actions, on_key_line - actions
        assert {"toggle_mark", "next_mark(1)", "next_mark(-1)", "help"} <= actions
        # A palette command runs its action.
        await pilot.press("ctrl+p", *"hide or show health", "enter")
        await settle(app)
        assert app.hide_probes
        await pilot.press("X")
        await pilot.press("t")
        assert app.formatter.local_time
        shown = app.table.shown_columns
        await pilot.press("t", "c", "space", "escape")
        # Once the user chooses, the ticked columns are the choice.
        assert "instance" in app.table.hidden_columns
        assert app.table.pinned_columns == shown - {"instance", "time", "query"}
        await pilot.press("vertical_line")
        assert app.query_one("#main").has_class("beside")
        await pilot.press("d")
        assert not app.detail.display


async def test_keymap_remaps_a_binding(ui_logs: Path, state_home: Path) -> None:
    app = NeptuneAuditApp([str(ui_logs)], keymap={"table.down": "ctrl+n"})
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_ready(app)
        await pilot.press("ctrl+n", "ctrl+n")
        assert app.table.cursor_row == 2
        await pilot.press("j")
        assert app.table.cursor_row == 2


async def test_filter_from_the_command_line_and_usable_while_loading(
    ui_logs: Path, state_home: Path
) -> None:
    app = make_app(ui_logs, filter_text="auth:failed")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_ready(app)
        assert app.filter_text == "auth:failed"
        failed = int(np.count_nonzero(app.index.column("auth") == 0))
        assert len(app.view.ids) == failed > 0
        await pilot.press("q")


async def test_the_detail_pane_scrolls_its_lines_without_laying_out_the_screen(
    ui_logs: Path, state_home: Path
) -> None:
    """A new record changes what the pane scrolls over, not the screen's layout; the
    lines are drawn again at a new width."""
    from rich.text import Text
    from textual import messages
    from textual.screen import Screen

    app = make_app(ui_logs)
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_ready(app)
        await settle(app)
        detail = app.query_one(DetailPane)
        layouts: list[object] = []
        handler = Screen._on_layout

        async def counted(screen: Screen[object], message: messages.Layout) -> None:
            layouts.append(message.widget)
            await handler(screen, message)

        Screen._on_layout = counted  # type: ignore[method-assign, assignment]
        try:
            detail.show(Text("\n".join(f"{n:03d}" + "x" * 197 for n in range(100))))
            await pilot.pause()
            assert layouts == []
        finally:
            Screen._on_layout = handler  # type: ignore[method-assign]
        width = detail.scrollable_content_region.width
        rows = -(-200 // width)  # each line folds into this many
        assert detail.virtual_size.height == 100 * rows
        assert detail.max_scroll_y == 100 * rows - detail.scrollable_content_region.height
        detail.focus()
        await pilot.press("end")
        await pilot.pause(0.5)
        assert detail.scroll_y == detail.max_scroll_y
        last = detail.render_line(detail.scrollable_content_region.height - 1).text
        assert last.rstrip() == "x" * (200 - (rows - 1) * width)
        detail.action_scroll_end()  # two keys at once: the second acts after the first
        detail.action_scroll_home()
        await pilot.pause(0.5)
        assert detail.scroll_y == 0
        assert detail.render_line(0).text == "000" + "x" * (width - 3)
        detail.scroll_y = 0.6  # mid-animation: drawn at the row ScrollView repaints for
        assert detail.render_line(0).text.rstrip() == ("x" * (200 - width))[:width]
        detail.scroll_y = 0
        await pilot.resize_terminal(150, 40)
        await pilot.pause(0.5)
        wider = detail.scrollable_content_region.width
        assert wider > width and detail.render_line(0).text == "000" + "x" * (wider - 3)
        assert detail.virtual_size.height == 100 * -(-200 // wider)


async def test_a_search_is_highlighted_in_every_section_of_the_detail(
    ui_logs: Path, state_home: Path
) -> None:
    app = make_app(ui_logs)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(app)
        await pilot.press("s", *"healthchecker", "enter")
        await settle(app)
        detail = app.query_one(DetailPane)
        marked = {
            segment.text.lower()
            for strip in detail._lines
            for segment in strip
            if segment.style is not None and segment.style.reverse
        }
        assert marked == {"healthchecker"}  # in the agent (summary) and the header's value


async def test_deletes_and_failed_logins_stand_out_in_the_table(
    tmp_path: Path, state_home: Path
) -> None:
    """A delete's row takes the delete style (red and bold; bold and underlined without
    colour), a failed authentication the failed one, an ordinary read neither."""
    head = "1700000000{n:03d}, 10.0.1.18:34266, 10.0.3.215:8182, Bolt, [unknown], "
    (tmp_path / "audit.log").write_text(
        head.format(n=1)
        + "[unknown], [unknown], MATCH (n) RETURN n\n"
        + head.format(n=2)
        + "[unknown], [unknown], MATCH (n) DETACH DELETE n\n"
        + head.format(n=3)
        + '"{""authenticationSucceeded"":false}", [unknown], MATCH (n) RETURN n\n'
        + head.format(n=4)
        + "[unknown], [unknown], MATCH (n) RETURN n\n"  # where the cursor goes
    )
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 12)) as pilot:
        await wait_ready(app)
        await pilot.press("G")  # the cursor away from the rows looked at
        await pilot.pause()
        app.refresh()

        def styles(row: int) -> set[str]:
            return {str(s.style) for s in app.table.render_line(1 + row) if s.text.strip()}

        delete = app.table.get_component_rich_style("record-table--delete")
        failed = app.table.get_component_rich_style("record-table--failed")
        read, deleted = styles(0), styles(1)
        assert delete.bold and all("bold" in style for style in deleted)
        assert not any("bold" in style for style in read)
        assert failed.color is not None
        assert all(failed.color.name in style for style in styles(2))


async def test_what_is_left_to_show_when_the_load_ends_is_shown_at_once(
    ui_logs: Path, state_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rows job still under way when the load ends leaves more to show: the last
    refresh follows at once, not a refresh interval later (on the 1 GB set the viewer
    waited up to a second after loading, one load in five)."""
    import tui.ui.app as app_module

    monkeypatch.setattr(app_module, "_ROWS_REFRESH_S", 60.0)
    loaded = threading.Event()
    before_loaded: list[bool] = []
    from tui.view.rows import compute_rows as real_compute

    def slow_until_loaded(*args: Any) -> Any:
        if not before_loaded:  # the first job: still under way when the load ends
            before_loaded.append(not loaded.is_set())
            loaded.wait(10)
        return real_compute(*args)

    real_loaded = NeptuneAuditApp.on_index_loaded

    def on_index_loaded(self: NeptuneAuditApp, message: Any) -> None:
        real_loaded(self, message)
        loaded.set()

    monkeypatch.setattr("tui.ui.app.compute_rows", slow_until_loaded)
    monkeypatch.setattr(NeptuneAuditApp, "on_index_loaded", on_index_loaded)
    app = make_app(ui_logs)
    async with app.run_test(size=(120, 40)):
        await wait_ready(app, timeout=10)
        assert before_loaded == [True]
        assert len(app.view.ids) == app.index.size


async def test_a_filter_applied_or_cancelled_before_its_preview_starts_none(
    ui_logs: Path, state_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Enter (or Escape) right after typing: the preview still waiting to start never does.
    It used to start anyway and filter every entry beside the rows being computed (an
    AND filter on the 1 GB set took 28 s to show instead of 4.5 s)."""
    from tui.view.rows import count_matches as real_count

    previewed: list[str] = []

    def counting(*args: Any) -> Any:
        previewed.append(str(args[1]))
        return real_count(*args)

    monkeypatch.setattr("tui.ui.app.count_matches", counting)
    app = make_app(ui_logs)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_ready(app)
        for key in ("enter", "escape"):
            await pilot.press("slash", "ctrl+u", *"lang:sparql", key)
            await pilot.pause(0.5)  # beyond the preview's delay
            await settle(app)
        # (a pause while typing may preview what was typed so far: never the whole text)
        assert not any("sparql" in node for node in previewed)
        assert app.filter_text == "lang:sparql"
        # Waited for, the preview comes as before.
        await pilot.press("slash", "ctrl+u", *"lang:gremlin")
        await pilot.pause(0.5)
        await settle(app)
        assert any("gremlin" in node for node in previewed)
