"""Named scenes of the viewer, shared by the snapshot tests and ``make screenshots``.

A scene is a terminal size and the steps that bring a freshly started app to the screen to
capture. The data is deterministic (fixed seed, fixed end time, fixed clock) and source
paths are relative, so the same scene always draws the same screen.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from tests.ui.conftest import make_app, rows_where, settle, wait_ready
from tui.model.record import Record
from tui.ui.app import NeptuneAuditApp

Steps = Callable[[Pilot[None], NeptuneAuditApp], Awaitable[None]]


@dataclass(frozen=True)
class Scene:
    """A screen worth capturing."""

    name: str
    size: tuple[int, int]
    steps: Steps
    description: str


def scene_app(logs: Path) -> NeptuneAuditApp:
    """The app a scene starts from (``logs`` is relative to the working directory)."""
    return make_app(logs)


async def _ready(pilot: Pilot[None], app: NeptuneAuditApp) -> None:
    await wait_ready(app)
    await settle(app)  # the timeline line and the detail are drawn by workers
    for field in app.query(Input):
        field.cursor_blink = False
    await pilot.pause()


async def _to_first(app: NeptuneAuditApp, predicate: Callable[[object], bool]) -> None:
    app.table.move_to(rows_where(app, predicate)[0], center=True, user=True)
    await settle(app)


def _detail(predicate: Callable[[object], bool], beside: bool) -> Steps:
    async def steps(pilot: Pilot[None], app: NeptuneAuditApp) -> None:
        await _ready(pilot, app)
        if beside:
            await pilot.press("vertical_line")
        await _to_first(app, predicate)
        await pilot.pause()

    return steps


async def _main(pilot: Pilot[None], app: NeptuneAuditApp) -> None:
    await _ready(pilot, app)
    await pilot.press("j", "j", "j")
    await pilot.pause()


async def _filter_error(pilot: Pilot[None], app: NeptuneAuditApp) -> None:
    await _ready(pilot, app)
    await pilot.press("slash", *"lang:sparql clinet:10.0.1")
    await pilot.pause()


async def _filter_preview(pilot: Pilot[None], app: NeptuneAuditApp) -> None:
    await _ready(pilot, app)
    await pilot.press("slash", *"auth:failed OR user=alice")
    await pilot.pause(0.4)
    await settle(app)


async def _help(pilot: Pilot[None], app: NeptuneAuditApp) -> None:
    await _ready(pilot, app)
    await pilot.press("question_mark")
    await pilot.pause()


async def _search(pilot: Pilot[None], app: NeptuneAuditApp) -> None:
    await _ready(pilot, app)
    await pilot.press("s", *"airport", "enter")
    await settle(app)
    await pilot.press("n")
    await pilot.pause()


async def _settled_screen(pilot: Pilot[None], app: NeptuneAuditApp) -> None:
    """Wait until the workers are done (the overview counts, the timeline line draws)."""
    await settle(app)
    for field in app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


async def _overview(pilot: Pilot[None], app: NeptuneAuditApp) -> None:
    await _ready(pilot, app)
    await pilot.press("i")
    for _ in range(500):
        stats = getattr(app.screen, "stats", None)
        if stats is not None and stats.by_op:
            break
        await settle(app)
    await pilot.press("left", "left", "left")
    await _settled_screen(pilot, app)


async def _marks(pilot: Pilot[None], app: NeptuneAuditApp) -> None:
    await _ready(pilot, app)
    for row in (1, 4, 5, 9):
        app.table.move_to(row)
        await pilot.press("m")
    await pilot.press("apostrophe")
    await _settled_screen(pilot, app)


async def _export(pilot: Pilot[None], app: NeptuneAuditApp) -> None:
    await _ready(pilot, app)
    app.table.move_to(3)
    await pilot.press("m", "w")
    app.screen.query_one(Input).value = "failed-logins.csv"
    await _settled_screen(pilot, app)


def _lang(lang: str, conn_type: str | None = None) -> Callable[[object], bool]:
    def predicate(entry: object) -> bool:
        return (
            isinstance(entry, Record)
            and entry.lang == lang
            and (conn_type is None or entry.conn_type == conn_type)
        )

    return predicate


SCENES: tuple[Scene, ...] = (
    Scene("main", (120, 34), _main, "The merged table and the detail of the cursor's record"),
    Scene("main-80x24", (80, 24), _main, "The same at 80×24"),
    Scene(
        "detail-gremlin",
        (140, 38),
        _detail(_lang("gremlin", "Websocket"), beside=True),
        "A Gremlin WebSocket request, highlighted",
    ),
    Scene(
        "detail-sparql",
        (140, 38),
        _detail(_lang("sparql", "HTTP_POST"), beside=True),
        "A SPARQL POST: header table, IAM identity, decoded form body",
    ),
    Scene(
        "detail-opencypher",
        (140, 38),
        _detail(_lang("opencypher", "HTTP_POST"), beside=True),
        "An openCypher request with parameters",
    ),
    Scene("filter-error", (100, 28), _filter_error, "A filter with an error, before it is applied"),
    Scene("filter-preview", (100, 28), _filter_preview, "The match count previewed as you type"),
    Scene("search", (120, 34), _search, "Search matches highlighted; n / N move between them"),
    Scene("help", (100, 40), _help, "Every key binding"),
    Scene(
        "overview",
        (150, 46),
        _overview,
        "The overview (i): timeline, users, clients, instances, operations, query shapes",
    ),
    Scene("marks", (120, 30), _marks, "Marked records (m), ' and \" jump between them"),
    Scene("export", (100, 28), _export, "Writing the view (w): the format follows the suffix"),
)
