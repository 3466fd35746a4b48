"""Defects the view layer removed, each seen by a user: a regex search with inline flags
found nothing, the status line and the filter preview disagreed, starting with
``--follow`` could show rows other than the cursor's and stop tracking new records, and the
filter bar said "counting matches…" for ever when opened."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

from textual.widgets import Static

from tests.ui.conftest import NOW, make_app, settle, wait_ready
from tests.ui.test_app import detail_text
from tui.ui.app import NeptuneAuditApp
from tui.ui.filter_bar import FilterBar


def status_text(app: NeptuneAuditApp) -> str:
    return str(app.query_one("#status", Static).content)


def search_count(app: NeptuneAuditApp) -> int:
    found = re.search(r"search ['‘].*['’]: ([\d,]+)", status_text(app))
    assert found, status_text(app)
    return int(found.group(1).replace(",", ""))


async def test_regex_search_with_inline_flags_finds_what_the_literal_finds(
    ui_logs: Path, state_home: Path
) -> None:
    app = make_app(ui_logs)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_ready(app)
        counts = {}
        for typed in ("airport", "/(?i)airport/", "/airport/i"):
            await pilot.press("s", "ctrl+u", *typed, "enter")
            await settle(app)
            counts[typed] = search_count(app)
        assert counts["airport"] == counts["/(?i)airport/"] == counts["/airport/i"] > 0
        # The cursor went to a match, and the table highlights it.
        assert "airport" in detail_text(app).lower()


async def test_status_shown_count_equals_the_filter_preview(
    ui_logs: Path, state_home: Path
) -> None:
    app = make_app(ui_logs)
    async with app.run_test(size=(160, 30)) as pilot:
        await wait_ready(app)
        await pilot.press("slash", *"-path:/status")
        await pilot.pause(0.4)
        await settle(app)
        info = str(app.query_one(FilterBar).query_one("#filter-info", Static).content)
        previewed = re.search(r"([\d,]+) of ([\d,]+) records match", info)
        assert previewed, info
        await pilot.press("escape", "p")
        await settle(app)
        shown = re.search(r"showing ([\d,]+)", status_text(app))
        assert shown, status_text(app)
        assert shown.group(1) == previewed.group(1)
        assert f"{previewed.group(2)} records" in status_text(app)


async def test_status_does_not_say_showing_without_a_filter_while_loading(
    ui_logs: Path, state_home: Path
) -> None:
    app = make_app(ui_logs)
    async with app.run_test(size=(160, 30)):
        while not app.ready.is_set():
            assert "showing" not in status_text(app)
            await asyncio.sleep(0.005)
        assert "showing" not in status_text(app)


def _bolt(n: int) -> str:
    return (
        f"{1795521000000 + n}, 10.7.{n // 200}.{n % 200}:40000, 10.0.3.215:8182, Bolt, "
        f"[unknown], [unknown], [unknown], MATCH (n) RETURN {n}"
    )


async def test_follow_start_shows_the_cursor_row_and_tracks_new_records(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_text("".join(_bolt(n) + "\n" for n in range(250)))
    for attempt in range(3):
        app = NeptuneAuditApp(
            [str(tmp_path)], clock=lambda: NOW, keymap={}, follow=True, follow_interval=0.05
        )
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_ready(app)
            await pilot.pause(0.1)
            table = app.table
            rows = len(app.view.ids)
            assert table.cursor_row == rows - 1, attempt
            top = int(table.scroll_y)
            assert top <= table.cursor_row < top + table.page_height, attempt
            entry = app.index.entry(table.cursor_entry or 0)
            assert entry.raw.endswith(f"RETURN {rows - 1}")
            assert entry.raw.split(", ")[1] in detail_text(app)
            assert " new ↓" not in status_text(app)
            first = 250 + attempt * 10
            with log.open("a") as handle:
                handle.write("".join(_bolt(n) + "\n" for n in range(first, first + 10)))
            deadline = time.monotonic() + 10
            while len(app.view.ids) < rows + 10 and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            await pilot.pause(0.1)
            assert table.cursor_row == len(app.view.ids) - 1 == rows + 9, attempt
            assert " new ↓" not in status_text(app)
        app.index.close()


async def test_status_stops_saying_indexing_when_the_load_ends_after_its_rows(
    ui_logs: Path, state_home: Path, monkeypatch: object
) -> None:
    # The rows can be complete some time before the load ends (saving the persistent index
    # comes after the last span): the status line must still drop "indexing" at the end.
    import pytest

    from tui.sources import local

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setattr(local, "release_free_memory", lambda: time.sleep(1.0))
    from tui.ui.status import StatusLine

    app = make_app(ui_logs)
    async with app.run_test(size=(120, 30)):
        await wait_ready(app)
        shown = app.query_one(StatusLine).facts
        assert shown is not None and not shown.loading
        assert "indexing" not in status_text(app)


async def test_the_filter_bar_opens_with_the_applied_filters_count(
    ui_logs: Path, state_home: Path
) -> None:
    """Opening the bar changes no text, so no preview counts it: the count the applied
    filter's rows found is shown at once (it said "counting matches…" until a key was
    typed)."""
    app = make_app(ui_logs)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_ready(app)
        bar = app.query_one(FilterBar)
        for applied in ("", "lang:sparql"):
            if applied:
                await pilot.press("slash", "ctrl+u", *applied, "enter")
                await settle(app)
            await pilot.press("slash")
            await pilot.pause()
            info = str(bar.query_one("#filter-info", Static).content)
            shown = app.view.counts.shown_records
            assert 0 < shown <= app.index.records
            assert f"✓ {shown:,} of {app.index.records:,} records match" in info, info
            await pilot.press("escape")
        assert app.view.applied_preview() is not None
        app.set_filter(app.view.filter.with_text("lang:gremlin"))
        assert app.view.applied_preview() is None  # (its rows are not there yet)
        await pilot.press("slash")
        await settle(app)
        info = str(bar.query_one("#filter-info", Static).content)
        assert f"✓ {app.view.counts.shown_records:,} of" in info, info
