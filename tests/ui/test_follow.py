"""Following in the viewer: appended records appear, the "N new" badge, G resumes."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from tests.ui.conftest import NOW, wait_ready
from tui.model.record import Record
from tui.ui.app import NeptuneAuditApp

BASE = 1795521000000  # ms, shortly before NOW


def line(n: int) -> str:
    return (
        f"{BASE + n}, 10.7.{n // 200}.{n % 200}:40000, 10.0.3.215:8182, Bolt, [unknown], "
        f"[unknown], [unknown], MATCH (n) RETURN {n}"
    )


def write_lines(path: Path, numbers: range) -> None:
    with path.open("a") as handle:
        handle.write("".join(line(n) + "\n" for n in numbers))


async def wait_for(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not (callable(condition) and condition()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_follow_appends_badge_and_resume(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    write_lines(log, range(0, 100))
    app = NeptuneAuditApp(
        [str(tmp_path)], clock=lambda: NOW, keymap={}, follow=True, follow_interval=0.05
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_ready(app)
        table = app.table
        await wait_for(lambda: table.cursor_row == len(app.view.ids) - 1)

        # A writer thread appends while the app runs: the view follows the newest record.
        writer = threading.Thread(target=write_lines, args=(log, range(100, 150)))
        writer.start()
        writer.join()
        await wait_for(lambda: app.index.records == 150)
        await wait_for(lambda: len(app.view.ids) == 150 and table.cursor_row == 149)
        newest = app.index.entry(table.cursor_entry or 0)
        assert isinstance(newest, Record) and newest.epoch_us == (BASE + 149) * 1000
        assert app.view.new_below == 0
        # The scroll range grew with the rows (set without a new screen layout), and the
        # newest row is on screen.
        await pilot.pause()
        assert table.virtual_size.height == 151  # the header and 150 rows
        assert table.max_scroll_y == 151 - table.scrollable_content_region.height
        assert table.scroll_y == table.max_scroll_y

        # Scrolled away, the position holds and the badge counts what arrives.
        await pilot.press("k", "k", "k")
        held = table.cursor_entry
        write_lines(log, range(150, 170))
        await wait_for(lambda: len(app.view.ids) == 170)
        await pilot.pause()
        assert table.cursor_entry == held and app.view.new_below == 20
        assert "20 new" in str(app.query_one("#status").content)  # type: ignore[attr-defined]

        # A late record goes to its place in time, not to the end.
        write_lines(log, range(-5, -4))
        await wait_for(lambda: len(app.view.ids) == 171)
        assert app.index.entry(int(app.view.ids[0])).epoch_us == (BASE - 5) * 1000  # type: ignore[union-attr]

        # G jumps to the newest record and resumes following.
        await pilot.press("G")
        assert table.cursor_row == len(app.view.ids) - 1 and app.view.new_below == 0
        write_lines(log, range(170, 175))
        await wait_for(lambda: len(app.view.ids) == 176 and table.cursor_row == 175)


async def test_follow_toggle_new_file_and_filter(tmp_path: Path) -> None:
    (tmp_path / "db-1").mkdir()
    write_lines(tmp_path / "db-1" / "audit.log", range(0, 10))
    app = NeptuneAuditApp(
        [str(tmp_path)],
        clock=lambda: NOW,
        keymap={},
        filter_text="client:10.7.0.",
        follow_interval=0.05,
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_ready(app)
        assert not app.view.following
        await pilot.press("F")
        assert app.view.following
        (tmp_path / "db-2").mkdir()
        write_lines(tmp_path / "db-2" / "audit.log", range(195, 205))  # 5 match the filter
        await wait_for(lambda: app.index.records == 20)
        await wait_for(lambda: len(app.view.ids) == 15)
        assert "db-2" in {s.instance for s in app.index.sources}
        await pilot.press("F")
        assert not app.view.following
        write_lines(tmp_path / "db-2" / "audit.log", range(205, 210))
        await asyncio.sleep(0.3)
        assert app.index.records == 20
