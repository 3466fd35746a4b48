"""The neptune-audit viewer: composition, bindings and worker plumbing.

What to show is decided by the view model (``tui.view.ViewModel``); this module wires it to
widgets. Threading rule: blocking work (indexing, filtering, counting, searching, following)
runs in thread workers that never touch widgets; they post messages (``tui.ui.messages``)
and the handlers here hand the answers to the view model, then redraw. The index is usable
while it is still being built: each progress report asks for the rows again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult, SuspendNotSupported
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.css.query import NoMatches
from textual.notifications import SeverityLevel
from textual.timer import Timer
from textual.widgets import Footer, Input
from textual.worker import Worker, WorkerState, get_current_worker

from tui.cli.export import FORMAT_BY_SUFFIX, partial_path, write_entries
from tui.index.filtering import Cancelled
from tui.index.index import Index
from tui.index.schema import KIND_MALFORMED
from tui.index.stats import compute_stats, timeline_of
from tui.model.record import Entry, Record
from tui.model.secrets import mask_entry, mask_text
from tui.model.text import inert, inert_line
from tui.query import FilterError, Node
from tui.sources import Background
from tui.sources.cache import IndexCache
from tui.sources.files import FileReader, private_directory, state_directory
from tui.sources.follow import Follower
from tui.sources.local import LogFile, Progress, SourceError, expand_paths, load
from tui.ui.bindings import APP_BINDINGS
from tui.ui.commands import ViewerCommands
from tui.ui.detail import (
    QUERY_MOST,
    QUERY_SHOWN,
    DetailOptions,
    DetailPane,
    Drawing,
    build_detail,
    draw_lines,
)
from tui.ui.filter_bar import FilterBar
from tui.ui.keymap import binding_ids, read_keymap
from tui.ui.messages import (
    DetailReady,
    ExportDone,
    ExportProgress,
    Followed,
    IndexFailed,
    IndexLoaded,
    IndexProgress,
    JumpReady,
    OverviewReady,
    PagerReady,
    PreviewReady,
    RemoteOverviewReady,
    RemoteProgressed,
    RowsFailed,
    RowsReady,
    SearchReady,
    SessionPlaces,
    TimelineReady,
)
from tui.ui.overview import OverviewChoice, OverviewScreen
from tui.ui.record_table import RecordTable
from tui.ui.screens import (
    ColumnsScreen,
    ConfirmScreen,
    ExportChoice,
    ExportScreen,
    GotoScreen,
    HelpGroup,
    HelpScreen,
    QuickFilterScreen,
)
from tui.ui.sparkline import TimelineLine
from tui.ui.status import StatusLine
from tui.view import (
    RowsRequest,
    SearchRequest,
    SearchSpec,
    ViewFilter,
    ViewModel,
    compute_rows,
    compute_search,
    count_matches,
    preview_text,
)
from tui.view.cells import COLUMNS, RowFormatter
from tui.view.remote import RemoteRun, counted_note, fallback_note, remote_filter
from tui.view.session import (
    Session,
    find_places,
    place_of,
    read_session,
    save_session,
    session_key,
)
from tui.view.status import RemoteProgress

#: How often the status line follows a load (each is a repaint on the event loop, whose
#: Python the scanning threads wait for; with rows refreshed half as often too, a 1 GB
#: load ended 0.18 s (5 %) sooner than at four a second).
_PROGRESS_INTERVAL_S = 0.5
_ROWS_REFRESH_S = 0.25
#: While loading, rows refresh no sooner than this many times what the last refresh took
#: (with the redraws it causes, about a twentieth of the time, the rest left to indexing).
_ROWS_COST_SHARE = 40.0
_PREVIEW_DELAY_S = 0.2
#: Below these widths the key line drops its padding, then the command palette's key (it
#: stays on ctrl+p and in the help), so that every shown key keeps its label at 80 columns.
_FOOTER_COMPACT_BELOW = 120
_FOOTER_PALETTE_FROM = 90
_DETAIL_SIZES = (6, 40)  # rows below the table (min, max)
_DETAIL_WIDTHS = (30, 80)  # percent of the width beside the table (min, max)
_TABLE_MIN_ROWS = 4  # rows the table keeps however small the terminal
_EVERYWHERE = frozenset({"quit", "command_palette", "screenshot", "help"})
_COPY_MOST = 1024 * 1024  # bytes of a record copied to the clipboard at most
_OPENERS = frozenset({"open_filter", "open_search", "goto_time"})  # priority keys


def quiet_when_closing(handler: Callable[..., None]) -> Callable[..., None]:
    """For handlers of messages from workers: one that arrives while the app is closing finds
    its widgets gone, and has nothing left to do."""

    @functools.wraps(handler)
    def wrapper(self: NeptuneAuditApp, *args: Any) -> None:
        if self.closing:
            return
        try:
            handler(self, *args)
        except NoMatches:
            if not self.closing:
                raise

    return wrapper


class NeptuneAuditApp(App[None]):
    """Browse, filter and search Neptune audit logs.

    | key | action |
    |---|---|
    | / or f | filter |
    | s | search; n / N next / previous match |
    | = / - | only / exclude this record's client, user, type, ... |
    | p | hide or show health probes (/status) |
    | X | clear all filters |
    | d, [, ], \\| | detail pane: toggle, smaller, larger, below / beside |
    | r | raw line in the detail |
    | t | UTC / local time |
    | @ or ctrl+g | go to a time |
    | c | choose columns |
    | y | copy the record (OSC 52, works over SSH) |
    | F | follow the files |
    | x | stop the Logs Insights run feeding the view |
    | tab | move between table and detail |
    | ? | help; ctrl+p command palette; q quit |
    """

    CSS_PATH = "app.tcss"
    TITLE = "neptune-audit"
    COMMANDS = App.COMMANDS | {ViewerCommands}

    BINDINGS: ClassVar[list[BindingType]] = APP_BINDINGS

    def __init__(
        self,
        paths: Sequence[str] = (),
        *,
        files: Sequence[LogFile] | None = None,
        filter_text: str = "",
        clock: Callable[[], float] = time.time,
        keymap: dict[str, str] | None = None,
        follow: bool = False,
        follow_interval: float = 0.25,
        background: Sequence[Background] = (),
        live_label: str = "",
        session: bool = True,
        reveal: bool = False,
        cache: IndexCache | None = None,
        remote: RemoteRun | None = None,
    ) -> None:
        super().__init__()
        self.cache = cache  # the persistent index (None: every file indexed afresh)
        self.paths = list(paths)
        self._session_key = session_key(self.paths) if session and self.paths else None
        self._filter_given = bool(filter_text.strip())
        self._restore: Session | None = None  # marks and cursor, restored once loaded
        self._restore_cursor: int | None = None
        self.files = list(files) if files is not None else None
        self.clock = clock
        self.reader = FileReader()
        self.index = Index(self.reader)
        self.view = ViewModel(
            self.index, ViewFilter.parse(filter_text), following=follow, live_label=live_label
        )
        self.formatter = RowFormatter(self.index)
        self.view.reveal = self.formatter.reveal = reveal
        self.ready = threading.Event()  # set once everything is indexed and shown
        self.follow_interval = follow_interval
        self.background = list(background)
        self._keymap, self._keymap_problem = (keymap, None) if keymap is not None else read_keymap()
        self._rows_cancel = threading.Event()
        self._rows_timer: Timer | None = None
        self._last_rows = 0.0
        self._rows_seconds = 0.0  # what the last rows refresh took its worker
        self._preview_cancel = threading.Event()
        self._preview_timer: Timer | None = None
        self._raw = False
        self._detail_generation = 0
        self._detail_entry: int | None = None
        self._detail_shown: tuple[int, int | None] = (0, None)
        self._query_limit = QUERY_SHOWN
        self._detail_rows = 0  # 0: a share of the terminal's height, until the user resizes
        self._detail_percent = 45
        self._follow_stop = threading.Event()
        self._stop_all = threading.Event()  # stops background sources on exit
        self._overview_cancel = threading.Event()  # stops classifying queries
        self._aging = False  # the detail is drawn again only for its record's age
        self._left_out: list[str] = []  # ticked columns too wide, as last said
        self._follower: Follower | None = None
        self._shutting_down = False
        self._overview: OverviewScreen | None = None
        self._timeline_counted = (-1, 0.0)  # (generation, when) of the last count
        self._timeline_timer: Timer | None = None
        self._overview_counted = (0.0, 0)  # (when, entries seen) of the overview's last count
        self._overview_records = 0  # records the overview last counted (its notes say so)
        # A run in AWS writing its matches into the files followed (Logs Insights).
        self.remote = remote
        if remote is not None:
            self.view.tailing = False  # matches arrive below; the cursor stays on the first

    # -- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        yield TimelineLine(id="timeline")
        with Container(id="main", classes="below"):
            yield RecordTable(self.view, self.formatter, id="table")
            yield DetailPane(id="detail")
        yield FilterBar(id="filter-bar")
        yield Footer()

    def on_mount(self) -> None:
        if self._keymap:
            self.set_keymap(self._keymap)
        unknown = sorted(set(self._keymap) - binding_ids())
        if unknown:
            self._keymap_problem = f"unknown binding ids in the keymap: {', '.join(unknown)}"
        if self._keymap_problem:
            self.tell(self._keymap_problem, title="keymap", severity="warning", timeout=15)
        self.query_one(FilterBar).display = False
        self.table.focus()
        self._restore_settings()
        self._apply_detail_size(self.size.height)
        self._fit_footer(self.size.width)
        if hasattr(signal, "SIGHUP"):  # (not on Windows)
            with contextlib.suppress(NotImplementedError, RuntimeError):
                asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._hung_up)
        self._update_status()
        self._show_detail()
        self.set_interval(10.0, self._refresh_age)
        # What exists once the screen is up lives as long as the app: kept out of the
        # collector's full passes, which otherwise stall keys for up to 36 ms while loading.
        self.call_after_refresh(gc.freeze)
        self._load()
        for job in self.background:
            self._run_background(job)
        if self.remote is not None:
            self._run_remote(self.remote)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The viewer's keys act on the table: over another screen (help, a dialog, the
        overview) only quitting, help and the palette stay."""
        if len(self.screen_stack) > 1 and action in self._viewer_actions:
            return False
        if action in _OPENERS and isinstance(self.focused, Input):
            return False  # typed into an input: the priority key is just a character
        if action == "cancel_remote":
            return self.remote_running  # shown in the footer only while there is a run
        return True

    @functools.cached_property
    def _viewer_actions(self) -> frozenset[str]:
        """The actions of the viewer's own key bindings that act on the main screen."""
        actions = {
            binding.action.split("(")[0]
            for binding in self.BINDINGS
            if isinstance(binding, Binding)
        }
        return frozenset(actions - _EVERYWHERE)

    @property
    def closing(self) -> bool:
        """Whether the app is on its way out (its widgets may be gone): shutting down starts
        by marking it not running, then takes its screens away."""
        closed = self._shutting_down or self._exit or self._closing or self._closed
        return closed or not self.is_running

    def tell(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
    ) -> None:
        """A notification whose text is shown as it is: never markup, never a control
        character (file names and server messages go through here)."""
        self.notify(
            inert_line(message),
            title=inert_line(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def deliver_screenshot(
        self,
        filename: str | None = None,
        path: str | None = None,
        time_format: str | None = None,
    ) -> str | None:
        """Save an SVG screenshot (the palette's Screenshot too): by default in the XDG
        state directory, created if need be, else the current one; the notification says
        where."""
        directory = Path(path) if path else state_directory() / "screenshots"
        try:
            private_directory(directory)
        except OSError:
            directory = Path.cwd()
        return super().deliver_screenshot(filename, str(directory), time_format)

    @property
    def table(self) -> RecordTable:
        """The record table."""
        return self.query_one(RecordTable)

    @property
    def detail(self) -> DetailPane:
        """The detail pane."""
        return self.query_one(DetailPane)

    @property
    def filter_text(self) -> str:
        """The filter as the user would edit it (typed text and quick filters)."""
        return self.view.filter.editable_text

    @property
    def hide_probes(self) -> bool:
        """Whether health probes are hidden."""
        return self.view.filter.hide_probes

    @property
    def remote_running(self) -> bool:
        """Whether a run in AWS is feeding the view now."""
        progress = self.view.remote
        return self.remote is not None and (progress is None or not progress.finished)

    @work(thread=True, group="remote", exit_on_error=False)
    def _run_remote(self, remote: RemoteRun) -> None:
        """The run in AWS: it writes its matches into the files followed, and its progress
        comes to the view as messages."""

        def progress(change: RemoteProgress) -> None:
            self.post_message(RemoteProgressed(change))

        remote.run(self._stop_all, progress)

    @quiet_when_closing
    def on_remote_progressed(self, message: RemoteProgressed) -> None:
        progress = message.progress
        before = self.view.remote
        self.view.remote = progress
        if progress.finished and (before is None or not before.finished):
            self.refresh_bindings()  # x goes from the footer
            if progress.state == "failed":
                self.view.error = f"Logs Insights: {progress.error}"
                self.tell(progress.error, title="Logs Insights", severity="error", timeout=30)
            elif progress.state == "cancelled":
                self.tell(
                    f"Logs Insights stopped after {progress.slices_done:,} of "
                    f"{progress.slices_total:,} slices; the records already in stay",
                    timeout=8,
                )
            if progress.error and progress.state != "failed":
                self.tell(progress.error, title="Logs Insights", severity="warning", timeout=30)
        elif before is None:
            self.refresh_bindings()
        self._update_status()

    def action_cancel_remote(self) -> None:
        """Stop the Logs Insights run: StopQuery for its running queries; rows stay."""
        if self.remote is None or not self.remote_running:
            self.tell("no Logs Insights run to stop", timeout=2)
            return
        self.remote.cancel()
        self.tell("stopping Logs Insights…", timeout=2)

    @work(thread=True, group="background", exit_on_error=False)
    def _run_background(self, job: Background) -> None:
        """A source that feeds the followed files (AWS polling, a CloudWatch live tail)."""

        def report(message: str) -> None:
            self.call_from_thread(self.tell, message, title="source", severity="error", timeout=15)

        job(self._stop_all, report)

    # -- loading ----------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def _load(self) -> None:
        last_report = 0.0
        latest: list[Progress] = []

        def report(progress: Progress) -> None:
            nonlocal last_report
            latest[:] = [progress]
            now = time.monotonic()
            if now - last_report >= _PROGRESS_INTERVAL_S:
                last_report = now
                self.post_message(IndexProgress(progress))

        try:
            files = self.files if self.files is not None else expand_paths(self.paths)
            problems = load(
                self.index,
                self.reader,
                files,
                on_progress=report,
                partial_last_line=not self.view.following,  # a line being written waits
                cancel=self._stop_all,
                cache=self.cache,
            )
        except SourceError as error:
            self.post_message(IndexFailed(str(error)))
            return
        except OSError as error:
            self.post_message(IndexFailed(f"cannot read the logs: {error}"))
            return
        for problem in problems:
            self.call_from_thread(
                self.tell, problem, title="not read to the end", severity="warning", timeout=30
            )
        self.post_message(IndexLoaded(latest[0] if latest else None))

    @quiet_when_closing
    def on_index_progress(self, message: IndexProgress) -> None:
        progress = message.progress
        self.view.progress = progress.fraction
        self.view.rate_mb_s = progress.rate / 1e6
        self._update_status()
        self._refresh_rows()

    @quiet_when_closing
    def on_index_loaded(self, message: IndexLoaded) -> None:
        if self._restore is not None:
            self._find_session_places(self._restore)
            self._restore = None
        self.view.loaded()
        self._update_status()  # the rows may have covered every entry long before
        self.table.reformat()  # time precision and widths are known only now
        self._refresh_rows(now=True)
        if self.view.following:
            self._start_following()

    @quiet_when_closing
    def on_index_failed(self, message: IndexFailed) -> None:
        self.view.loaded()
        self.view.error = message.message
        self.tell(message.message, title="Cannot load", severity="error", timeout=30)
        self._update_status()
        self.ready.set()

    # -- rows -------------------------------------------------------------------------------

    def _refresh_rows(self, *, now: bool = False) -> None:
        """Ask a worker for the rows: at once after a change of filter (``now``), else at
        most every refresh interval while entries arrive."""
        if not now:
            wait = self._last_rows + self._refresh_interval() - time.monotonic()
            if wait > 0:
                if self._rows_timer is None:
                    self._rows_timer = self.set_timer(wait, self._rows_timer_fired)
                return
        request = self.view.rows_request()
        if request is None:
            self._check_ready()
            return
        self._last_rows = time.monotonic()
        if self._rows_timer is not None:  # this request covers what the timer waited for
            self._rows_timer.stop()
            self._rows_timer = None
        self._compute_rows(request, self._rows_cancel)

    @quiet_when_closing
    def _rows_timer_fired(self) -> None:
        self._rows_timer = None
        self._refresh_rows(now=True)

    def _refresh_interval(self) -> float:
        """How often the rows follow a growing index: each refresh merges and filters the
        whole index, then redraws the table and the detail, so refresh less often as it
        grows and leave the CPU to indexing (while loading, in proportion to what the last
        refresh cost)."""
        interval = _ROWS_REFRESH_S if self.index.size < 500_000 else 4 * _ROWS_REFRESH_S
        if self.view.loading:
            interval = max(interval, _ROWS_COST_SHARE * self._rows_seconds)
        return interval

    @work(thread=True, group="rows", exit_on_error=False)
    def _compute_rows(self, request: RowsRequest, cancel: threading.Event) -> None:
        started = time.monotonic()
        try:
            update = compute_rows(self.index, request, cancel)
        except Cancelled:
            self.post_message(RowsFailed(request.generation, ""))
            return
        except Exception as error:  # noqa: BLE001 - reported to the user, the app goes on
            self.post_message(RowsFailed(request.generation, f"{type(error).__name__}: {error}"))
            return
        self.post_message(RowsReady(update, time.monotonic() - started))

    @quiet_when_closing
    def on_rows_ready(self, message: RowsReady) -> None:
        self._rows_seconds = message.seconds
        applied = self.view.apply_rows(message.update)
        if not applied.stale:
            self.table.sync()
            self._update_status()
            self._request_search()
            grew = message.update.result.size > self._overview_counted[1]
            if (
                self._overview is not None
                and grew
                and time.monotonic() - self._overview_counted[0] > 1.0
            ):
                self._count_overview()
            self._count_timeline(message.update.generation)
        if applied.again:
            # Once every input is read (and none followed), nothing more arrives: what is
            # left to show is shown at once, not a refresh interval later.
            settled = not (self.view.loading or self.view.following)
            self._refresh_rows(now=applied.stale or settled)
        self._check_ready()

    def _check_ready(self) -> None:
        """Say (to tests and benchmarks) when everything is indexed and shown; a restored
        cursor goes to its record then."""
        if not self.view.loading and self.view.up_to_date:
            self._count_timeline(self.view.generation)
            if self._restore_cursor is not None:
                row = self.view.row_of_entry(self._restore_cursor)
                self._restore_cursor = None
                # A user who moved while the records loaded stays where they went.
                if row is not None and not self.view.tailing and not self.view.user_moved:
                    self.table.move_to(row, center=True)
            self.ready.set()

    @quiet_when_closing
    def on_rows_failed(self, message: RowsFailed) -> None:
        self.view.rows_failed(message.generation)
        if message.message:
            self.tell(message.message, title="filter failed", severity="error")
        self._refresh_rows(now=True)

    def set_filter(self, view_filter: ViewFilter) -> None:
        """Show what ``view_filter`` keeps (the rows of the previous filter stop computing)."""
        self._rows_cancel.set()
        self._rows_cancel = threading.Event()
        self.ready.clear()
        self.view.set_filter(view_filter)
        self._update_status()
        self._refresh_rows(now=True)

    # -- following --------------------------------------------------------------------------

    def action_toggle_follow(self) -> None:
        following = not self.view.following
        self.view.set_following(following)
        if following:
            if not self.view.loading:
                self._start_following()
            self.tell("following: new records appear as they are written", timeout=3)
        else:
            self._follow_stop.set()
            self.tell("stopped following", timeout=2)
        self.table.sync()
        self._update_status()

    def _start_following(self) -> None:
        self._follow_stop = threading.Event()
        self._follow(self._follow_stop)
        self.table.sync()

    @work(thread=True, exclusive=True, group="follow", exit_on_error=False)
    def _follow(self, stop: threading.Event) -> None:
        if self._follower is None:
            self._follower = Follower(self.index, self.reader, self.paths)
            self._follower.adopt_loaded()
        self._follower.run(
            stop,
            lambda update: self.post_message(Followed(update)),
            interval=self.follow_interval,
            on_error=lambda error: self.post_message(IndexFailed(f"following: {error}")),
        )

    @quiet_when_closing
    def on_followed(self, message: Followed) -> None:
        for event in message.update.events:
            self.tell(event, title="follow", timeout=6)
        self.formatter.clear_instances()
        self._update_status()
        self._refresh_rows()

    # -- sessions ---------------------------------------------------------------------------

    def _restore_settings(self) -> None:
        """Take the settings of the last session on these files (marks and the cursor wait
        for the files to be indexed). A session that cannot be read is ignored, and said."""
        if self._session_key is None:
            return
        try:
            session = read_session(state_directory(), self._session_key)
        except ValueError as error:
            self.tell(f"the saved session was ignored: {error}", title="session", timeout=8)
            return
        if session is None:
            return
        view_filter = self.view.filter
        if not self._filter_given:
            try:
                view_filter = ViewFilter.parse(session.filter_text)
            except FilterError:
                view_filter = ViewFilter()
        self.view.set_filter(view_filter.with_probes_hidden(session.hide_probes))
        self.table.set_columns(frozenset(session.hidden_columns), frozenset(session.pinned_columns))
        main = self.query_one("#main")
        main.set_class(session.layout == "beside", "beside")
        main.set_class(session.layout == "below", "below")
        self._detail_rows, self._detail_percent = session.detail_rows, session.detail_percent
        self.detail.display = session.detail_shown
        self._raw = session.raw
        self.formatter.local_time = self.view.local_time = session.local_time
        self._restore = session

    @work(thread=True, group="session", exit_on_error=False)
    def _find_session_places(self, session: Session) -> None:
        places = [*session.marks, *([session.cursor] if session.cursor else [])]
        found = find_places(self.index, places)
        marks = {entry for entry in found[: len(session.marks)] if entry is not None}
        cursor = found[-1] if session.cursor is not None else None
        self.post_message(SessionPlaces(marks, cursor))

    @quiet_when_closing
    def on_session_places(self, message: SessionPlaces) -> None:
        if message.marks and not self.view.marks:
            self.view.marks = set(message.marks)
            self.table.reformat()
        self._restore_cursor = message.cursor
        self._update_status()
        self._check_ready()

    def _save_session(self) -> None:
        """Keep this session for the next run on the same files (private to the user)."""
        if self._session_key is None:
            return
        cursor = self.view.cursor_entry
        session = Session(
            filter_text=self.view.filter.editable_text,
            hide_probes=self.view.filter.hide_probes,
            hidden_columns=tuple(sorted(self.table.hidden_columns)),
            pinned_columns=tuple(sorted(self.table.pinned_columns)),
            layout="beside" if self.query_one("#main").has_class("beside") else "below",
            detail_rows=self._detail_rows,
            detail_percent=self._detail_percent,
            detail_shown=bool(self.detail.display),
            raw=self._raw,
            local_time=self.view.local_time,
            marks=tuple(place_of(self.index, e) for e in sorted(self.view.marks)),
            cursor=place_of(self.index, cursor) if cursor is not None else None,
        )
        save_session(state_directory(), self._session_key, session)

    def _stop_work(self) -> None:
        """Stop what runs for the viewer: loading, following, exports, passes over the
        index, and queries in AWS (StopQuery)."""
        self._shutting_down = True
        self._follow_stop.set()
        self._stop_all.set()
        self._overview_cancel.set()
        if self.remote is not None:
            self.remote.cancel()
        self._rows_cancel.set()
        self._stop_preview()

    def on_unmount(self) -> None:
        self._stop_work()
        gc.unfreeze()  # what the app held can be collected again

    async def action_quit(self) -> None:
        self._save_session()
        self._stop_work()
        await super().action_quit()

    def _hung_up(self) -> None:
        """The terminal went away (an SSH session dropped): quit as with q, so that the
        session is saved and temporary files are removed on the way out."""
        self.call_later(self.action_quit)

    @quiet_when_closing
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker that failed says so."""
        if event.state != WorkerState.ERROR:
            return
        group = event.worker.group
        if group == "load":
            self.view.loaded()
        error = event.worker.error
        message = f"{type(error).__name__}: {error}" if error else "unknown error"
        self.tell(message, title=f"{group} failed", severity="error", timeout=30)
        self.ready.set()

    # -- the cursor and the detail ----------------------------------------------------------

    @quiet_when_closing
    def on_record_table_cursor_moved(self, message: RecordTable.CursorMoved) -> None:
        self._update_status()
        self._show_detail()
        self._mark_timeline()

    def watch_theme(self) -> None:
        """A light or dark theme: the query's colours follow."""
        if self.ready.is_set() and not self.closing:
            self._show_detail()

    def _show_detail(self) -> None:
        """Show the cursor's entry in the detail pane (built in a worker: a record of any
        size costs the event loop only its bounded rendering)."""
        entry = self.view.cursor_entry
        self._detail_generation += 1
        if entry != self._detail_entry:
            self._detail_entry = entry
            self._query_limit = QUERY_SHOWN
        if entry is None:
            empty = "no records match the filter" if self.index.size else "no records yet"
            self.detail.show(Text(empty, style="dim"))
            return
        options = DetailOptions(
            instance=self.formatter.instance(entry),
            local_time=self.formatter.local_time,
            raw=self._raw,
            search=self.view.search.spec,
            now_us=int(self.clock() * 1_000_000),
            query_limit=self._query_limit,
            dark=self.current_theme.dark,
        )
        self._build_detail(self._detail_generation, entry, options, self.detail.drawing)

    @work(thread=True, exclusive=True, group="detail", exit_on_error=False)
    def _build_detail(
        self, generation: int, entry: int, options: DetailOptions, drawing: Drawing
    ) -> None:
        """Parse the entry, build its detail and draw its lines (a query of 1 MB takes
        0.5 s to draw: never on the event loop)."""
        parsed = self._shown(self.index.entry(entry))
        if get_current_worker().is_cancelled:
            return
        renderable = build_detail(parsed, options)
        lines = draw_lines(renderable, drawing, self.console)
        if get_current_worker().is_cancelled:
            return
        self.post_message(DetailReady(generation, renderable, (drawing, lines)))

    @quiet_when_closing
    def on_detail_ready(self, message: DetailReady) -> None:
        if message.generation == self._detail_generation:
            again = (
                self._detail_shown[1] is not None and self._detail_shown[1] == self._detail_entry
            )
            self.detail.show(
                message.renderable, keep_scroll=again and self._aging, drawn=message.drawn
            )
            self._detail_shown = (message.generation, self._detail_entry)
            self._aging = False

    @quiet_when_closing
    def _refresh_age(self) -> None:
        """Draw the detail again while its record is recent, so "(12 s ago)" stays true."""
        entry = self.view.cursor_entry
        if entry is None or self.closing or not self.detail.display:
            return
        age_s = self.clock() - int(self.index.column("epoch_us")[entry]) / 1e6
        if 0 <= age_s < 3600:
            self._aging = True  # the reader's place in the pane stays
            self._show_detail()

    @property
    def detail_settled(self) -> bool:
        """Whether the detail pane shows the cursor's entry as last asked (for tests)."""
        if self.view.cursor_entry is None:
            return True
        return self._detail_shown == (self._detail_generation, self.view.cursor_entry)

    def action_detail_more(self) -> None:
        """Show four times more of a long query in the detail pane."""
        if self._query_limit >= QUERY_MOST:
            self.tell("that is as much as the pane shows: o opens the whole text", timeout=3)
            return
        self._query_limit = min(QUERY_MOST, self._query_limit * 4)
        self._show_detail()

    def action_open_pager(self) -> None:
        """Open the cursor's whole query (or raw line) in $PAGER."""
        entry = self.view.cursor_entry
        if entry is not None:
            self._write_pager_text(entry, self._raw)

    def _shown(self, entry: Entry) -> Entry:
        """An entry as it may be shown: credentials masked unless the user revealed them."""
        return entry if self.view.reveal else mask_entry(entry)

    @work(thread=True, group="pager", exit_on_error=False)
    def _write_pager_text(self, entry: int, raw: bool) -> None:
        parsed = self._shown(self.index.entry(entry))
        text = parsed.raw
        if isinstance(parsed, Record) and not raw and parsed.query is not None:
            text = parsed.query.text
        fd, name = tempfile.mkstemp(prefix="neptune-audit-", suffix=".txt")  # mode 0600
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(inert(text, multiline=True) + "\n")
        self.post_message(PagerReady(Path(name)))

    @quiet_when_closing
    def on_pager_ready(self, message: PagerReady) -> None:
        try:
            command = shlex.split(os.environ.get("PAGER") or "less") or ["less"]
        except ValueError:
            command = ["less"]
        try:
            if shutil.which(command[0]) is None:
                self.tell(f"cannot run the pager: no program {command[0]!r}", severity="error")
                return
            failure: OSError | None = None
            with self.suspend():
                try:
                    subprocess.run([*command, str(message.path)], check=False)
                except OSError as error:  # the terminal comes back either way
                    failure = error
            if failure is not None:
                self.tell(f"cannot run the pager {command[0]}: {failure}", severity="error")
        except SuspendNotSupported:
            self.tell("this terminal cannot hand over to a pager", severity="error")
        finally:
            message.path.unlink(missing_ok=True)

    def _update_status(self) -> None:
        self.query_one(StatusLine).facts = self.view.facts()

    # -- filtering --------------------------------------------------------------------------

    def action_open_filter(self) -> None:
        bar = self.query_one(FilterBar)
        text = self.view.filter.editable_text
        bar.open("filter", text)
        # Opening changes no text, so no preview would count it: the applied filter's count
        # is known from its rows; before they came, it is counted.
        known = self.view.applied_preview()
        if known is not None:
            bar.set_info(Text(known, "green"))
        else:
            self._start_preview(text)

    @on(FilterBar.Submitted)
    def _bar_submitted(self, message: FilterBar.Submitted) -> None:
        message.bar.close()
        self._stop_preview()
        self.table.focus()
        if message.mode == "filter":
            try:
                self.set_filter(self.view.filter.with_text(message.text))
            except FilterError as error:  # the bar validated it: only a race gets here
                self.tell(error.describe(), title="filter", severity="error")
        else:
            self._run_search(message.text)

    @on(FilterBar.Cancelled)
    def _bar_cancelled(self, message: FilterBar.Cancelled) -> None:
        message.bar.close()
        self._stop_preview()
        self.table.focus()

    def _stop_preview(self) -> None:
        """No preview once the bar is closed: the one counting stops, a pending one never
        starts (it would filter every entry beside the rows being computed)."""
        if self._preview_timer is not None:
            self._preview_timer.stop()
            self._preview_timer = None
        self._preview_cancel.set()

    @on(FilterBar.Changed)
    def _bar_changed(self, message: FilterBar.Changed) -> None:
        if message.mode != "filter":
            return
        if self._preview_timer is not None:
            self._preview_timer.stop()
        text = message.text
        self._preview_timer = self.set_timer(_PREVIEW_DELAY_S, lambda: self._start_preview(text))

    @quiet_when_closing
    def _start_preview(self, text: str) -> None:
        self._preview_cancel.set()
        self._preview_cancel = threading.Event()
        self._preview(text, self._preview_cancel)

    @work(thread=True, group="preview", exit_on_error=False)
    def _preview(self, text: str, cancel: threading.Event) -> None:
        try:
            node = self.view.preview_node(text)
            result, counts = count_matches(self.index, node, cancel)
        except (Cancelled, FilterError):
            return
        self.post_message(PreviewReady(text, node, result, counts))

    @quiet_when_closing
    def on_preview_ready(self, message: PreviewReady) -> None:
        bar = self.query_one(FilterBar)
        if bar.display and bar.mode == "filter" and bar.input.value == message.text:
            text = preview_text(message.counts, loading=self.view.loading)
            bar.set_info(Text(text, "green"))
            self.view.previewed(message.node, message.result)

    def action_add_term(self, term: str) -> None:
        """Add a term to the typed filter."""
        current = self.view.filter.editable_text
        self.set_filter(self.view.filter.with_text(f"{current} {term}" if current else term))

    def action_toggle_probes(self) -> None:
        hidden = not self.view.filter.hide_probes
        self.tell("health probes hidden" if hidden else "health probes shown", timeout=2)
        self.set_filter(self.view.filter.with_probes_hidden(hidden))

    def action_clear_filters(self) -> None:
        self.set_filter(self.view.filter.cleared())

    # -- the overview ---------------------------------------------------------------------------

    def action_overview(self) -> None:
        """Counts, top lists and a timeline of the records shown."""
        what = self.view.filter.describe() or "all records"
        screen = OverviewScreen(f"Overview · {what}")
        self._overview = screen
        self.push_screen(screen, self._overview_chosen)
        if self.remote is not None:
            self._count_remote_overview(self.remote)
        else:
            self._count_overview()

    def _count_overview(self) -> None:
        result = self.view.result
        if self._overview is None or result is None or self.remote is not None:
            return
        buckets = max(20, self.size.width - 2)
        if self._overview_cancel.is_set():  # set by quitting or closing the overview
            self._overview_cancel = threading.Event()
        # Passes share the event: a recount as records arrive waits for the pass under way
        # (the index classifies one pass at a time) and goes on from where it ended.
        self._overview_counted = (time.monotonic(), result.size)
        self._overview_stats(result.mask, result.size, buckets, self._overview_cancel)

    @work(thread=True, exclusive=True, group="overview", exit_on_error=False)
    def _overview_stats(
        self,
        mask: npt.NDArray[np.bool_],
        size: int,
        buckets: int,
        cancel: threading.Event,
    ) -> None:
        """Counts at once; operations and query shapes once the records are classified
        (a pass that parses each distinct query, with progress)."""
        worker = get_current_worker()
        started = time.perf_counter()
        insight = self.index.insight
        classified = insight.covers(mask[:size])
        stats = compute_stats(self.index, mask[:size], buckets=buckets, shapes=classified)
        self.post_message(OverviewReady(stats, time.perf_counter() - started, classified, None))
        if classified or worker.is_cancelled:
            return
        if self._stop_all.is_set() or cancel.is_set():
            return

        def progress(done: int, total: int) -> None:
            if self._stop_all.is_set():
                cancel.set()
            # Said even when a newer count replaced this worker: that one waits for this pass.
            self.post_message(OverviewReady(stats, 0.0, False, done / max(total, 1)))

        try:
            insight.fill(size, only=mask[:size], cancel=cancel, on_progress=progress)
        except Cancelled:
            return
        if worker.is_cancelled:
            return  # a newer count (of more records) finishes from here
        started = time.perf_counter()
        stats = compute_stats(self.index, mask[:size], buckets=buckets, shapes=True)
        self.post_message(OverviewReady(stats, time.perf_counter() - started, True, None))

    def _count_remote_overview(self, remote: RemoteRun) -> None:
        """Count in AWS what the viewer's filter keeps over the run's range (once: each
        count scans the range again), in a worker."""
        self._overview_cancel.set()
        self._overview_cancel = threading.Event()
        result = self.view.result
        mask = result.mask[: result.size] if result is not None else None
        node = remote_filter(remote.initial, self.view.filter)
        buckets = max(20, self.size.width - 2)
        self._remote_overview_stats(remote, node, mask, buckets, self._overview_cancel)

    @work(thread=True, exclusive=True, group="overview", exit_on_error=False)
    def _remote_overview_stats(
        self,
        remote: RemoteRun,
        node: Node | None,
        mask: npt.NDArray[np.bool_] | None,
        buckets: int,
        cancel: threading.Event,
    ) -> None:
        """The overview's counts made in AWS; when that fails (or cannot be: only marked
        records), the records held counted here, saying why."""
        error: str | None = None
        if node is not None:
            try:

                def progress(text: str) -> None:
                    self.post_message(RemoteOverviewReady(None, text))

                counts = remote.count(node, cancel, buckets, on_progress=progress)
            except Exception as failure:  # noqa: BLE001 - said in the overview, counted here
                error = str(failure) if isinstance(failure, SourceError) else repr(failure)
            else:
                self.post_message(RemoteOverviewReady(counts.stats, counted_note(counts)))
                return
        if cancel.is_set():
            return
        if mask is None:
            self.post_message(RemoteOverviewReady(None, fallback_note(0, error)))
            return
        stats = compute_stats(self.index, mask, buckets=buckets, shapes=False)
        self.post_message(RemoteOverviewReady(stats, fallback_note(stats.records, error)))

    @quiet_when_closing
    def on_remote_overview_ready(self, message: RemoteOverviewReady) -> None:
        screen = self._overview
        if screen is None or not screen.is_attached:
            return
        if message.stats is None:
            screen.set_note(message.note)
            return
        screen.show_stats(
            message.stats,
            reveal=self.view.reveal,
            local_time=self.view.local_time,
            note=message.note,
        )

    @quiet_when_closing
    def on_overview_ready(self, message: OverviewReady) -> None:
        screen = self._overview
        if screen is None or not screen.is_attached:
            return
        if message.classifying is None:
            self._overview_records = message.stats.records
        # The pass under way may have been started by an older count, of fewer records.
        note = f"{self._overview_records:,} records"
        if message.classifying is not None:
            note += f" · classifying queries {message.classifying:.0%}"
        elif not message.shapes:
            note += " · classifying queries…"
        if self.view.loading:
            note += " · still indexing"
        if message.classifying is not None:
            screen.set_note(note)
            return
        screen.show_stats(
            message.stats, reveal=self.view.reveal, local_time=self.view.local_time, note=note
        )

    def _overview_chosen(self, choice: OverviewChoice | None) -> None:
        self._overview = None
        self._overview_cancel.set()  # a count in AWS still running stops
        if choice is None:
            return
        if choice.start_us is not None and choice.end_us is not None:
            self.set_filter(self.view.filter.with_time_range(choice.start_us, choice.end_us))
        elif choice.terms:
            self.set_filter(self.view.filter.with_terms(choice.terms, exclude=choice.exclude))

    # -- the timeline line -------------------------------------------------------------------

    def action_toggle_timeline(self) -> None:
        line = self.query_one(TimelineLine)
        line.display = not line.display
        self._apply_detail_size(self.size.height)
        if line.display:
            self._timeline_counted = (-1, 0.0)
            self._count_timeline(self.view.generation)

    def _count_timeline(self, generation: int, *, width: int | None = None) -> None:
        """Count the timeline line again: at once for a new filter, at most every second
        while records arrive (the last arrivals are always counted, a second later)."""
        line = self.query_one(TimelineLine)
        result = self.view.result
        counted_generation, counted_at = self._timeline_counted
        if not line.display or result is None:
            return
        wait = counted_at + 1.0 - time.monotonic()
        final = not self.view.loading and self.view.up_to_date  # the last rows: count them now
        if generation == counted_generation and wait > 0 and not final:
            if self._timeline_timer is None:
                self._timeline_timer = self.set_timer(wait, self._timeline_timer_fired)
            return
        self._timeline_counted = (generation, time.monotonic())
        # The line spans the terminal: its width is the app's (the line's own is not laid
        # out yet when it was just shown or the terminal resized).
        buckets = max(10, (width or self.size.width) - 30)
        self._timeline_counts(result.mask[: result.size], buckets)

    @quiet_when_closing
    def _timeline_timer_fired(self) -> None:
        self._timeline_timer = None
        self._timeline_counted = (-1, 0.0)
        self._count_timeline(self.view.generation)

    @work(thread=True, exclusive=True, group="timeline", exit_on_error=False)
    def _timeline_counts(self, mask: npt.NDArray[np.bool_], buckets: int) -> None:
        self.post_message(TimelineReady(timeline_of(self.index, mask, buckets=buckets)))

    @quiet_when_closing
    def on_timeline_ready(self, message: TimelineReady) -> None:
        line = self.query_one(TimelineLine)
        line.local_time = self.view.local_time
        line.show(message.timeline)
        self._mark_timeline()

    def _mark_timeline(self) -> None:
        entry = self.view.cursor_entry
        moment = int(self.index.column("epoch_us")[entry]) if entry is not None else None
        self.query_one(TimelineLine).mark(moment)

    # -- marks and malformed entries ---------------------------------------------------------

    def action_toggle_mark(self) -> None:
        before = bool(self.view.marks)
        if self.view.toggle_mark() is None:
            return
        if before != bool(self.view.marks):
            self.table.reformat()  # the marks' gutter came or went
        self.table.refresh()
        self._update_status()

    def action_next_mark(self, direction: int) -> None:
        row = self.view.next_mark(direction)
        if row is None:
            self.tell("no marked record shown (m marks the cursor's record)", timeout=2)
            return
        self.table.move_to(row, center=True)

    def action_next_malformed(self, direction: int) -> None:
        self._find_malformed(self.view.ids, self.view.cursor_row, direction)

    @work(thread=True, exclusive=True, group="jump", exit_on_error=False)
    def _find_malformed(self, ids: npt.NDArray[np.int32], row: int, direction: int) -> None:
        kinds = self.index.column("kind")
        if direction > 0:
            found = np.flatnonzero(kinds[ids[row + 1 :]] == KIND_MALFORMED)
            target = row + 1 + int(found[0]) if len(found) else None
        else:
            found = np.flatnonzero(kinds[ids[:row]] == KIND_MALFORMED)
            target = int(found[-1]) if len(found) else None
        none = "no malformed entry that way"
        if target is None and self.index.malformed and not np.any(kinds[ids] == KIND_MALFORMED):
            none = "no malformed entry shown (the filter hides them)"
        self.post_message(JumpReady(ids, target, none))

    @quiet_when_closing
    def on_jump_ready(self, message: JumpReady) -> None:
        if message.ids is not self.view.ids:
            return  # the rows changed meanwhile
        if message.row is None:
            self.tell(message.none, timeout=2)
        else:
            self.table.move_to(message.row, center=True)

    # -- writing the view to a file -----------------------------------------------------------

    def action_export(self) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(self.clock()))
        marked = len(self.view.marks)
        screen = ExportScreen(
            Path.cwd() / f"neptune-audit-{stamp}.jsonl",
            shown=self.view.counts.shown_records
            if self.view.filter.active
            else self.view.counts.records,
            marked=marked,
            suffixes=tuple(FORMAT_BY_SUFFIX),
        )
        self.push_screen(screen, self._export_chosen)

    def _export_chosen(self, choice: ExportChoice | None) -> None:
        if choice is None:
            return
        if self.view.result is None and self.view.filter.active:
            partial_path(choice.path).unlink(missing_ok=True)
            self.tell("the filter is still being applied: write the view when it shows")
            return
        if choice.marked_only:
            marks = np.fromiter(self.view.marks, np.int64, len(self.view.marks))
            entries = self.index.in_order(marks)
        else:
            entries = self.view.ids.astype(np.int64)
        form = FORMAT_BY_SUFFIX[choice.path.suffix.lower()]
        self.view.task = f"writing {choice.path.name}…"
        self._update_status()
        self._write_export(choice.path, form, entries, self.view.reveal)

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def _write_export(
        self, path: Path, form: str, entries: npt.NDArray[np.int64], reveal: bool
    ) -> None:
        """Write the entries to ``path`` (see ``write_entries``), with progress."""

        def progress(done: int, total: int) -> None:
            self.post_message(ExportProgress(path, done, total))

        try:
            written = write_entries(
                self.index, entries, path, form,
                reveal=reveal, stop=self._stop_all, on_progress=progress,
            )  # fmt: skip
        except OSError as error:
            self.post_message(ExportDone(path, 0, f"{error.strerror or error}"))
            return
        self.post_message(ExportDone(path, written, None))

    @quiet_when_closing
    def on_export_progress(self, message: ExportProgress) -> None:
        share = message.done / max(message.total, 1)
        self.view.task = f"writing {message.path.name} {share:.0%}"
        self._update_status()

    @quiet_when_closing
    def on_export_done(self, message: ExportDone) -> None:
        self.view.task = None
        self._update_status()
        if message.error:
            self.tell(f"cannot write {message.path}: {message.error}", severity="error")
        else:
            self.tell(f"wrote {message.written:,} records to {message.path}", timeout=8)

    def action_quick_filter(self, exclude: bool) -> None:
        def chosen(field: str | None) -> None:
            if field is not None:
                self.action_quick(field, exclude)

        self.push_screen(QuickFilterScreen(exclude, self.view.quick_values()), chosen)

    def action_quick(self, field: str, exclude: bool) -> None:
        """Only (or all but) the records with the cursor record's value of ``field``."""
        if field == "marked":
            if exclude:
                self.tell("= m shows only the marked records; hiding them is not offered")
            elif self.view.marks:
                self.set_filter(self.view.filter.with_only(frozenset(self.view.marks)))
            else:
                self.tell("no marked records (m marks the cursor's record)", timeout=3)
            return
        value = self.view.quick_values().get(field)
        if value is None:
            self.tell(f"the record has no {field}", timeout=2)
            return
        self.set_filter(self.view.filter.with_quick(field, value, exclude=exclude))

    # -- search -----------------------------------------------------------------------------

    def action_open_search(self) -> None:
        spec = self.view.search.spec
        self.query_one(FilterBar).open("search", spec.text if spec is not None else "")

    def _run_search(self, text: str) -> None:
        if not text.strip():
            self.action_escape()
            return
        try:
            spec = SearchSpec.parse(text)
        except ValueError as error:
            self.tell(str(error), title="search", severity="error")
            return
        self.table.set_search(spec)
        request = self.view.start_search(spec)
        if request is not None:
            self._search(request)
        self._update_status()
        self._show_detail()

    def _request_search(self) -> None:
        request = self.view.search_request()
        if request is not None:
            self._search(request)

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def _search(self, request: SearchRequest) -> None:
        try:
            update = compute_search(self.index, request)
        except Cancelled:
            return
        self.post_message(SearchReady(update))

    @quiet_when_closing
    def on_search_ready(self, message: SearchReady) -> None:
        row = self.view.apply_search(message.update)
        self._update_status()
        if message.update.jump and not self.view.search.matches:
            spec = self.view.search.spec
            text = spec.text if spec is not None else ""
            self.tell(f"no match for {text!r}", timeout=3)
        if row is not None:
            self.table.move_to(row, center=True)

    def action_search_next(self, direction: int) -> None:
        row = self.view.search.next_row(self.view.cursor_row, direction)
        if row is None:
            self.tell("no search matches (s to search)", timeout=2)
            return
        if (row - self.view.cursor_row) * direction <= 0:
            self.tell("search wrapped to the " + ("top" if direction > 0 else "bottom"), timeout=2)
        self.table.move_to(row, center=True)

    def action_escape(self) -> None:
        if self.view.search.spec is not None:
            self.view.start_search(None)
            self.table.set_search(None)
            self._update_status()
            self._show_detail()

    # -- view options -----------------------------------------------------------------------

    def action_toggle_detail(self) -> None:
        detail = self.detail
        detail.display = not detail.display
        if not detail.display:
            self.table.focus()

    def action_resize_detail(self, step: int) -> None:
        if self.query_one("#main").has_class("beside"):
            low, high = _DETAIL_WIDTHS
            self._detail_percent = max(low, min(high, self._detail_percent + 5 * step))
        else:
            low, high = _DETAIL_SIZES
            current = self._detail_rows or self._default_detail_rows(self.size.height)
            self._detail_rows = max(low, min(high, current + 2 * step))
        self._apply_detail_size(self.size.height)

    @staticmethod
    def _default_detail_rows(height: int) -> int:
        low, high = _DETAIL_SIZES
        return max(low, min(high // 2, height * 3 // 8))

    @quiet_when_closing
    def on_resize(self, event: events.Resize) -> None:
        self._apply_detail_size(event.size.height)
        self._fit_footer(event.size.width)
        if self.query_one(TimelineLine).display:  # as many buckets as the new width holds
            self._timeline_counted = (-1, 0.0)
            self._count_timeline(self.view.generation, width=event.size.width)

    def _fit_footer(self, width: int) -> None:
        """The key line for a terminal ``width`` columns wide."""
        footer = self.query_one(Footer)
        footer.compact = width < _FOOTER_COMPACT_BELOW
        palette = width >= _FOOTER_PALETTE_FROM
        if footer.show_command_palette != palette:
            footer.show_command_palette = palette
            footer.refresh(recompose=True)  # (the footer lays out its keys when composed)

    def action_toggle_layout(self) -> None:
        main = self.query_one("#main")
        beside = main.has_class("below")
        main.set_class(beside, "beside")
        main.set_class(not beside, "below")
        self._apply_detail_size(self.size.height)

    def _apply_detail_size(self, height: int) -> None:
        """Size the detail pane for a terminal ``height`` rows high: the table keeps at
        least a header and ``_TABLE_MIN_ROWS`` rows whatever the pane was set to."""
        detail = self.detail
        if self.query_one("#main").has_class("beside"):
            detail.styles.width = f"{self._detail_percent}%"
            detail.styles.height = "1fr"
            return
        wanted = self._detail_rows or self._default_detail_rows(height)
        fixed = 2 + (1 if self.query_one(TimelineLine).display else 0)  # status, footer
        room = height - fixed - 1 - _TABLE_MIN_ROWS  # and the table's header
        detail.styles.height = max(3, min(wanted, room))
        detail.styles.width = "1fr"

    def action_toggle_raw(self) -> None:
        self._raw = not self._raw
        self._show_detail()

    def action_toggle_time(self) -> None:
        local = not self.formatter.local_time
        self.formatter.local_time = local
        self.view.local_time = local
        self.table.reformat()
        self._show_detail()
        self._update_status()
        line = self.query_one(TimelineLine)
        line.local_time = local
        line.refresh()

    def action_toggle_secrets(self) -> None:
        """Show credentials from the logs in clear (after a confirmation), or mask them."""
        if self.view.reveal:
            self._reveal(False)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._reveal(True)

        self.push_screen(
            ConfirmScreen(
                "Show credentials from the logs in clear?",
                "Signatures, session tokens, passwords and cookies will show on screen and in "
                "copies and exports until you press S again.",
            ),
            answered,
        )

    def _reveal(self, reveal: bool) -> None:
        self.view.reveal = self.formatter.reveal = reveal
        self.table.reformat()
        self._show_detail()
        self._update_status()
        if not reveal:
            self.clear_notifications()  # they may quote what was shown in clear
        self.tell("credentials shown in clear" if reveal else "credentials masked", timeout=3)

    def action_switch_focus(self) -> None:
        if self.table.has_focus and self.detail.display:
            self.detail.focus()
        else:
            self.table.focus()

    def action_choose_columns(self) -> None:
        table = self.table
        self.push_screen(
            ColumnsScreen(table.shown_columns, table.hidden_columns, table.pinned_columns)
        )

    def on_columns_screen_changed(self, message: ColumnsScreen.Changed) -> None:
        self.table.set_columns(message.hidden, message.pinned)
        left_out = sorted(message.pinned - message.hidden - self.table.shown_columns)
        said, self._left_out = self._left_out, left_out
        if left_out and left_out != said:  # once per change, not per tick
            titles = {column.key: column.title for column in COLUMNS}
            names = ", ".join(titles.get(name, name) for name in left_out)
            self.tell(
                f"ticked but too wide for {self.size.width} columns: {names} "
                "(untick another, or widen the terminal)",
                timeout=5,
            )

    def action_copy_record(self) -> None:
        entry = self.view.cursor_entry
        if entry is None:
            return
        length = int(self.index.column("length")[entry])
        text = self.index.text(entry, _COPY_MOST)
        text = inert(text if self.view.reveal else mask_text(text), multiline=True)
        self.copy_to_clipboard(text)
        if length > _COPY_MOST:
            self.tell(
                f"copied the first {_COPY_MOST // 1024:,} KB of {length / 2**20:,.1f} MB "
                "(w writes whole records to a file)",
                timeout=5,
            )
        else:
            what = "entry" if self.index.column("kind")[entry] == KIND_MALFORMED else "record"
            self.tell(f"{what} copied to the clipboard (OSC 52)", timeout=2)

    # -- go to time -------------------------------------------------------------------------

    def action_goto_time(self) -> None:
        self.push_screen(GotoScreen(self._goto_problem), self._goto)

    def _goto_problem(self, text: str) -> str | None:
        """Why a typed time cannot be gone to (None: it can)."""
        try:
            self.view.goto_row(text, now_us=int(self.clock() * 1_000_000))
        except ValueError as error:
            return str(error)
        return None

    def _goto(self, text: str | None) -> None:
        if not text:
            return
        try:
            row, past_end = self.view.goto_row(text, now_us=int(self.clock() * 1_000_000))
        except ValueError as error:
            self.tell(str(error), title="Go to time", severity="error")
            return
        if past_end:
            self.tell("no record at or after that time", timeout=3)
        self.table.move_to(row, center=True)

    # -- help -------------------------------------------------------------------------------

    def help_groups(self) -> list[HelpGroup]:
        """Bindings for the help screen, with the keys currently in effect."""
        groups: list[tuple[str, list[BindingType]]] = [
            ("Application", self.BINDINGS),
            ("Table", RecordTable.BINDINGS),
            ("Detail pane (after tab)", DetailPane.BINDINGS),
            ("Filter and search bar (enter applies)", FilterBar.BINDINGS),
        ]
        return [
            HelpGroup(
                title,
                [
                    (self._keys(b), b.description, b.id or "")
                    for b in bindings
                    if isinstance(b, Binding)
                ],
            )
            for title, bindings in groups
        ]

    def _keys(self, binding: Binding) -> str:
        keys = self._keymap.get(binding.id or "", binding.key)
        return " ".join(self.get_key_display(Binding(key, "")) for key in keys.split(","))

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.help_groups()))
