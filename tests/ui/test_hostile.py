"""The viewer under hostile or awkward input: huge records, quadratic tokens, names that look
like markup, keys pressed twice, broken history, tiny terminals, NO_COLOR."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from pathlib import Path

import pytest
from textual.widgets import Input, Static

from tests.ui.conftest import NOW, make_app, settle, wait_ready
from tests.ui.test_app import detail_text, table_text
from tui.ui.app import NeptuneAuditApp
from tui.ui.screens import GotoScreen, HelpScreen, QuickFilterScreen

BASE_MS = 1795521000000


def bolt(n: int, client: str = "10.7.0.1") -> str:
    return (
        f"{BASE_MS + n * 1000}, {client}:{40000 + n}, 10.0.3.215:8182, Bolt, [unknown], "
        f"[unknown], [unknown], MATCH (n) RETURN {n}"
    )


def huge_gremlin(n: int, steps: int) -> str:
    script = "g.V()" + ".out()" * steps
    return (
        f"{BASE_MS + n * 1000}, 10.0.1.99:40001, 10.0.3.215:8182, Websocket, [unknown], "
        f"[unknown], [unknown], \"RequestMessage{{, requestId=abc, op='eval', processor='', "
        f'args={{gremlin={script}, aliases={{g=g}}}}}}"'
    )


def write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines))
    return path


async def wait_for(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not (callable(condition) and condition()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def big_row(app: NeptuneAuditApp) -> int:
    """The row of the first record over 1 MB."""
    return next(
        r
        for r, e in enumerate(app.view.ids.tolist())
        if int(app.index.column("length")[e]) > 1_000_000
    )


async def quits_within(app: NeptuneAuditApp, pilot: object, seconds: float) -> None:
    """``q`` ends the app within ``seconds``."""
    started = time.monotonic()
    await pilot.press("q")  # type: ignore[attr-defined]
    await wait_for(lambda: not app.is_running, timeout=seconds)
    assert time.monotonic() - started < seconds


def status_text(app: NeptuneAuditApp) -> str:
    return str(app.query_one("#status", Static).content)


async def test_a_five_megabyte_query_shows_at_once_in_parts(
    tmp_path: Path, state_home: Path
) -> None:
    lines = [bolt(n) for n in range(200)]
    lines.insert(100, huge_gremlin(100, 800_000))  # 4.8 MB of Gremlin
    write(tmp_path / "audit.log", lines)
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(app, timeout=15)
        app.table.move_to(big_row(app), center=True)
        await settle(app)
        shown = table_text(app)
        assert "g.V().out().out()" in shown
        assert max(len(line) for line in shown.splitlines()) <= 120
        text = detail_text(app)
        assert "showing 64 KB of 4,688 KB" in text and "Query · gremlin" in text
        await pilot.press("plus")
        await settle(app)
        assert "showing 256 KB of 4,688 KB" in detail_text(app)
        await quits_within(app, pilot, 2)


async def test_a_long_unbroken_token_is_not_lexed(tmp_path: Path, state_home: Path) -> None:
    token = "x" * 65_536
    sparql = (
        f"{BASE_MS}, 10.0.1.5:40000, 10.0.3.215:8182, HTTP_POST, [unknown], [unknown], "
        '"Netty(x) POST /sparql HTTP/1.1 Host: h Content-Type: application/x-www-form-urlencoded",'
        f" query=SELECT+*+WHERE+%7B+%3Fs+%3Fp+%22{token}%22+%7D"
    )
    write(tmp_path / "audit.log", [sparql, bolt(1)])
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)):
        await wait_ready(app, timeout=15)  # the first row is the long one: its detail is built
        assert "Query · sparql" in detail_text(app)


async def test_file_names_are_never_markup(tmp_path: Path, state_home: Path) -> None:
    write(tmp_path / "[@click=app.quit]x.log", [bolt(1)])
    write(tmp_path / "audit[old].log", [bolt(2)])
    (tmp_path / "d" / "a[").mkdir(parents=True)
    (tmp_path / "d" / "a[/x]bad.gz").write_bytes(gzip.compress(b"x")[:5])  # corrupt
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_ready(app, timeout=15)
        await pilot.pause(0.2)
        assert app.is_running
        shown = " ".join(str(n.message) for n in app._notifications)
        assert "a[/x]bad.gz" in shown, shown


async def test_a_second_key_in_the_quick_filter_dialog_does_nothing(
    ui_logs: Path, state_home: Path
) -> None:
    app = make_app(ui_logs)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(app)
        for keys in (("equals_sign", "c", "c"), ("minus", "l", "l"), ("equals_sign", "u", "u")):
            await pilot.press(*keys)
            await settle(app)
            assert app.is_running and not isinstance(app.screen, QuickFilterScreen)
            await pilot.press("escape")  # the second key reached the main screen: close it
        assert app.filter_text.count("client=") == 1 and app.filter_text.count("-lang=") == 1
        assert app.filter_text.count("user=") == 1


@pytest.mark.parametrize("content", ["5", "null", '{"a": 1}', "\u00ff\u00fe", '[1, null, "x"]'])
async def test_a_broken_history_file_is_ignored(
    ui_logs: Path, state_home: Path, content: str
) -> None:
    history = state_home / "state" / "neptune-audit" / "filter-history.json"
    history.parent.mkdir(parents=True, exist_ok=True)
    history.write_text(content)
    app = make_app(ui_logs)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_ready(app)
        await pilot.press("slash", "up")
        value = app.query_one("#filter-input", Input).value
        assert value in ("", "x")
        await pilot.press("escape")


async def test_history_files_are_private(ui_logs: Path, state_home: Path) -> None:
    app = make_app(ui_logs)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_ready(app)
        await pilot.press("slash", *"lang:sparql", "enter")
        await settle(app)
    history = state_home / "state" / "neptune-audit" / "filter-history.json"
    assert history.stat().st_mode & 0o777 == 0o600
    assert history.parent.stat().st_mode & 0o777 == 0o700


async def test_resizing_keeps_the_table_and_sizes_the_detail_at_once(
    ui_logs: Path, state_home: Path
) -> None:
    app = make_app(ui_logs)
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_ready(app)
        await pilot.press(*["right_square_bracket"] * 12)  # a tall detail pane
        await pilot.pause()
        for size in ((60, 20), (80, 24), (200, 50), (60, 14)):
            await pilot.resize_terminal(*size)
            await pilot.pause(0.1)
            assert app.table.size.height >= 5, size  # a header and at least four rows
            assert app.detail.size.height + app.table.size.height <= size[1] - 3


async def test_the_principal_outlasts_other_columns_and_turned_on_columns_show(
    ui_logs: Path, state_home: Path
) -> None:
    app = make_app(ui_logs)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_ready(app)
        header = table_text(app).splitlines()[0]
        assert "USER" in header
        # Untick instance, client and type, tick the request: what the chooser ticks shows.
        await pilot.press("c", "space", "down", "space", "down", "space")
        await pilot.press(*["down"] * 5, "space", "escape")
        await pilot.pause()
        header = table_text(app).splitlines()[0]
        assert "USER" in header and "INSTANCE" not in header and "CLIENT" not in header
        assert "REQUEST" in header
        text = table_text(app)
        assert "role/Analytic…/etl-" in text  # a principal cut in the middle keeps its session


async def test_no_color_marks_failed_rows_by_weight(
    ui_logs: Path, state_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(ui_logs, filter_text="auth:failed")
    async with app.run_test(size=(120, 30)):
        await wait_ready(app)
        failed = app.table.get_component_rich_style("record-table--failed")
        assert failed.bold and failed.underline and not failed.dim
        cursor = app.table.get_component_rich_style("record-table--cursor")
        assert cursor.reverse


async def test_help_lists_binding_ids(ui_logs: Path, state_home: Path) -> None:
    app = make_app(ui_logs)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        ids = {binding_id for group in app.help_groups() for _, _, binding_id in group.bindings}
        assert {"table.down", "filter.open", "bar.history_back", "detail.pager"} <= ids


async def test_search_reopens_with_its_text_selected(ui_logs: Path, state_home: Path) -> None:
    app = make_app(ui_logs)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_ready(app)
        await pilot.press("s", *"airport", "enter")
        await settle(app)
        await pilot.press("s", *"drop")
        assert app.query_one("#filter-input", Input).value == "drop"


async def test_a_bad_time_keeps_the_prompt_open(ui_logs: Path, state_home: Path) -> None:
    app = make_app(ui_logs)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_ready(app)
        await pilot.press("at", *"yesterday", "enter")
        await pilot.pause()
        assert isinstance(app.screen, GotoScreen)
        error = str(app.screen.query_one("#goto-error", Static).content)
        assert "cannot read 'yesterday'" in error
        await pilot.press("ctrl+u", *"2030-01-01", "enter")  # "-" goes into the box
        await pilot.pause()
        assert not isinstance(app.screen, GotoScreen)
        assert app.table.cursor_row == len(app.view.ids) - 1


async def test_ctrl_c_quits(ui_logs: Path, state_home: Path) -> None:
    app = make_app(ui_logs)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_ready(app)
        await pilot.press("ctrl+c")
        await wait_for(lambda: not app.is_running, timeout=2)


async def test_status_words_and_a_long_filter_keep_its_end(
    tmp_path: Path, state_home: Path
) -> None:
    write(tmp_path / "audit.log", [bolt(1)])
    app = NeptuneAuditApp([str(tmp_path)], clock=lambda: NOW, keymap={})
    async with app.run_test(size=(80, 20)) as pilot:
        await wait_ready(app)
        assert " 1 file · 1 record · " in status_text(app)
        long_filter = " OR ".join(f"client:10.7.0.{n}" for n in range(12)) + " OR lastterm"
        await pilot.press("slash", *long_filter, "enter")
        await settle(app)
        line = status_text(app)
        assert line.endswith("lastterm") and "…" in line


async def test_screenshot_goes_to_the_state_directory(ui_logs: Path, state_home: Path) -> None:
    app = make_app(ui_logs)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_ready(app)
        await app.run_action("screenshot")
        await pilot.pause(0.3)
        saved = list((state_home / "state" / "neptune-audit" / "screenshots").glob("*.svg"))
        assert saved
        assert any(str(saved[0]) in str(n.message) for n in app._notifications)


def test_history_helpers_survive_scalars(state_home: Path) -> None:
    from tui.ui.filter_bar import history_path, load_history

    path = history_path("search")
    path.parent.mkdir(parents=True, exist_ok=True)
    for content in ("5", "null", "true", "{}"):
        path.write_text(content)
        assert load_history("search") == []
    path.write_text(json.dumps(["a", 1, None, "b"]))
    assert load_history("search") == ["a", "b"]


async def test_a_catastrophic_regex_in_the_filter_bar_does_not_freeze(
    tmp_path: Path, state_home: Path
) -> None:
    lines = [
        f"{BASE_MS + n}, 10.0.1.5:4000{n}, 10.0.3.215:8182, Bolt, [unknown], [unknown], "
        f"[unknown], {'a' * 30_000}"
        for n in range(20)
    ]
    write(tmp_path / "audit.log", lines)
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_ready(app)
        started = time.monotonic()
        await pilot.press("slash", *"/(a+)+b/")
        await pilot.pause(0.4)
        await settle(app, timeout=20)
        info = str(app.query_one("#filter-info", Static).content)
        assert "0 of 20 records match" in info
        await pilot.press("escape", "s", *"/(a|aa)*c/", "enter")
        await settle(app, timeout=20)
        assert time.monotonic() - started < 20
        assert app.is_running


def huge_header_and_context(n: int, size: int) -> str:
    context = '"{""authenticationSucceeded"":true, ""note"":""' + "c" * size + '""}"'
    header = (
        '"HttpObjectAggregator$AggregatedFullHttpRequest(decodeResult: success, version: '
        "HTTP/1.1, content: CompositeByteBuf(ridx: 0, widx: 5, cap: 5, components=1)) "
        "POST /sparql HTTP/1.1 Host: x:8182 X-Big: " + "h" * size + ' Content-Length: 5"'
    )
    return (
        f"{BASE_MS + n * 1000}, 10.0.1.99:40001, 10.0.3.215:8182, HTTP_POST, "
        f"arn:aws:iam::123456789012:user/bob, {context}, {header}, query=ASK%7B%7D"
    )


async def test_huge_headers_and_auth_contexts_show_at_once_and_bounded(
    tmp_path: Path, state_home: Path
) -> None:
    lines = [bolt(n) for n in range(50)]
    lines.insert(25, huge_header_and_context(25, 4_000_000))  # 4 MB of each
    write(tmp_path / "audit.log", lines)
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(app, timeout=15)
        row = big_row(app)
        started = time.monotonic()
        app.table.move_to(row, center=True)
        await settle(app)
        text = detail_text(app)
        assert time.monotonic() - started < 5
        assert "HTTP header" in text and "Auth context" in text
        assert "more)" in text  # each cut, saying how much is left
        assert len(text) < 200_000  # bounded, whatever the record's size
        await quits_within(app, pilot, 2)
