"""Keys typed fast after the key that opens an input (a paste, typing over SSH) reach the
input, and the keys that open inputs are plain characters inside one."""

from __future__ import annotations

from pathlib import Path

from textual import events

from tests.ui.conftest import make_app, settle, wait_ready
from tui.ui.filter_bar import FilterBar


async def test_keys_right_after_slash_reach_the_filter_input(
    ui_logs: Path, state_home: Path
) -> None:
    app = make_app(ui_logs)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_ready(app)
        # All at once, before the app handles the first: as a terminal delivers a paste.
        for key, character in (("slash", "/"), ("t", "t"), ("y", "y"), ("p", "p")):
            app.post_message(events.Key(key, character))
        await pilot.pause(0.3)
        assert app.query_one(FilterBar).input.value == "typ"


async def test_opening_keys_are_characters_inside_the_inputs(
    ui_logs: Path, state_home: Path
) -> None:
    app = make_app(ui_logs)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_ready(app)
        await pilot.press("slash", "f", "s", "slash", "at")
        assert app.query_one(FilterBar).input.value == "fs/@"
        await pilot.press("escape", "s", "s", "f", "slash")
        bar = app.query_one(FilterBar)
        assert bar.mode == "search" and bar.input.value == "sf/"
        await pilot.press("escape")
        await settle(app)
        assert len(app.screen_stack) == 1
