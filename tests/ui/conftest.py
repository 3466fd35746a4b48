"""Fixtures for driving the viewer with Pilot: fixed data, fixed clock, fixed terminal."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from tui.model.record import Entry
from tui.sources.demo import write_sample
from tui.ui.app import NeptuneAuditApp

#: 2026-11-24T12:05:00Z: five minutes after the newest sample record.
NOW = 1795521900.0
#: 2026-11-24T12:00:00Z: the newest sample record.
SAMPLE_END_US = 1795521600_000_000

HOSTILE_LINES = (
    # Rich markup, a click action, ESC sequences, BEL and a bidi override in a query.
    "1795521000000, 10.9.9.9:5555, 10.0.3.215:8182, Bolt, [unknown], [unknown], [unknown], "
    "MATCH (n) RETURN '[bold red]boom[/] [@click=app.quit]quit[/]' + '\x1b[31mred\x1b[0m\x07'"
    " + '\u202eevil'",
    # An HTTP record whose header carries markup and a control character.
    '1795521001000, 10.9.9.8:5556, 10.0.3.215:8182, HTTP_POST, [unknown], [unknown], "Netty(x) '
    'POST /gremlin HTTP/1.1 Host: h User-Agent: [blink]agent[/blink]\x1b]0;title\x07", '
    '"{""gremlin"": ""g.V().has(\'[b]x[/b]\')""}"',
)


def write_scene_logs(directory: Path, records: int = 600) -> Path:
    """The sample the viewer tests and the scenes show: a cluster with every query shape."""
    write_sample(directory, records=records, seed=5, malformed=2, end_us=SAMPLE_END_US)
    return directory


@pytest.fixture(scope="session")
def ui_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small deterministic cluster sample plus a file of hostile records."""
    directory = write_scene_logs(tmp_path_factory.mktemp("ui"))
    hostile = directory / "demo-writer-1" / "hostile.log"
    hostile.write_text("\n".join(HOSTILE_LINES) + "\n")
    return directory


def make_app(logs: Path, filter_text: str = "") -> NeptuneAuditApp:
    """The viewer on ``logs`` with a fixed clock and no user keymap."""
    return NeptuneAuditApp([str(logs)], filter_text=filter_text, clock=lambda: NOW, keymap={})


async def wait_ready(app: NeptuneAuditApp, timeout: float = 20.0) -> None:
    """Wait until everything is indexed and the view shows it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (app.ready.is_set() and app.detail_settled):
        if loop.time() > deadline:
            raise AssertionError("the app did not finish loading")
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.05)


def rows_where(app: NeptuneAuditApp, predicate: Callable[[Entry], bool]) -> list[int]:
    """The table rows whose entries satisfy ``predicate``, top to bottom."""
    return [
        row for row, entry in enumerate(app.view.ids.tolist()) if predicate(app.index.entry(entry))
    ]


async def settle(app: NeptuneAuditApp, timeout: float = 10.0) -> None:
    """Wait until no view, preview or search worker is running and the detail pane shows
    the cursor's entry."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    await asyncio.sleep(0.05)
    while loop.time() < deadline and (
        any(w.is_running for w in app.workers if w.group != "follow") or not app.detail_settled
    ):
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.05)
