"""The neptune-audit viewer.

Threading rule: blocking work (indexing, filtering, counting, searching) runs in thread
workers that never touch widgets; they post messages (``tui.ui.messages``) and the handlers
here own all state. The index is usable while it is still being built: each progress
report extends the current filter to the new entries and refreshes the view.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import threading
import time
import tomllib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from tui.index.filtering import Cancelled, FilterResult, evaluate, extend, filtered_order
from tui.index.index import Index
from tui.index.schema import KIND_RECORD
from tui.index.textscan import literal_query, regex_query, search
from tui.model.record import Record
from tui.model.text import inert
from tui.query import FilterError, parse_duration, parse_filter, parse_time
from tui.sources import Background
from tui.sources.files import FileReader
from tui.sources.follow import Follower
from tui.sources.local import LogFile, Progress, SourceError, expand_paths, load
from tui.ui.detail import DetailPane, build_detail
from tui.ui.filter_bar import FilterBar
from tui.ui.messages import (
    Followed,
    IndexFailed,
    IndexLoaded,
    IndexProgress,
    PreviewReady,
    SearchReady,
    ViewReady,
)
from tui.ui.record_table import RecordTable
from tui.ui.rows import RowFormatter, format_time
from tui.ui.screens import ColumnsScreen, GotoScreen, HelpGroup, HelpScreen, QuickFilterScreen

PROBES_FILTER = "-path:/status"
_PROGRESS_INTERVAL_S = 0.1
_VIEW_REFRESH_S = 0.25
_PREVIEW_DELAY_S = 0.2
_DETAIL_SIZES = (6, 40)  # rows below the table (min, max)
_DETAIL_WIDTHS = (30, 80)  # percent of the width beside the table (min, max)


def quiet_when_closing(handler: Callable[..., None]) -> Callable[..., None]:
    """For handlers of messages from workers: one that arrives while the app is closing finds
    its widgets gone, and has nothing left to do."""

    @functools.wraps(handler)
    def wrapper(self: NeptuneAuditApp, *args: Any) -> None:
        if self._shutting_down:
            return
        try:
            handler(self, *args)
        except NoMatches:
            if not self._shutting_down:
                raise

    return wrapper


def keymap_path() -> Path:
    """Where a user's key remapping lives: ``{binding id = "keys"}`` in TOML."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "neptune-audit" / "keymap.toml"


def load_keymap(path: Path | None = None) -> dict[str, str]:
    """The user's keymap, or an empty one when there is none or it is unreadable."""
    try:
        loaded = tomllib.loads((path or keymap_path()).read_text())
    except (OSError, ValueError):
        return {}
    return {str(key): str(value) for key, value in loaded.items() if isinstance(value, str)}


def quote_value(value: str) -> str:
    """A filter value, quoted when it needs to be."""
    if value and not re.search(r'[\s()"\\]', value) and not value.startswith(("/", "-")):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def search_pattern(text: str) -> re.Pattern[str]:
    """What a search for ``text`` highlights: ``/regex/`` or a case-insensitive literal."""
    if len(text) > 2 and text.startswith("/") and text.endswith("/"):
        try:
            return re.compile(text[1:-1])
        except re.error:
            pass
    return re.compile(re.escape(text), re.IGNORECASE)


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
    | tab | move between table and detail |
    | ? | help; ctrl+p command palette; q quit |
    """

    CSS_PATH = "app.tcss"
    TITLE = "neptune-audit"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("slash,f", "open_filter", "Filter", id="filter.open"),
        Binding("s", "open_search", "Search", id="search.open"),
        Binding("n", "search_next(1)", "Next match", show=False, id="search.next"),
        Binding("N", "search_next(-1)", "Previous match", show=False, id="search.previous"),
        Binding("p", "toggle_probes", "Probes", id="filter.probes"),
        Binding("equals_sign", "quick_filter(False)", "Only…", show=False, id="filter.only"),
        Binding("minus", "quick_filter(True)", "Exclude…", show=False, id="filter.exclude"),
        Binding("X", "clear_filters", "Clear filters", show=False, id="filter.clear"),
        Binding("d", "toggle_detail", "Detail", id="view.detail"),
        Binding(
            "left_square_bracket",
            "resize_detail(-1)",
            "Detail smaller",
            show=False,
            id="view.detail_smaller",
        ),
        Binding(
            "right_square_bracket",
            "resize_detail(1)",
            "Detail larger",
            show=False,
            id="view.detail_larger",
        ),
        Binding(
            "vertical_line", "toggle_layout", "Detail beside/below", show=False, id="view.layout"
        ),
        Binding("r", "toggle_raw", "Raw", show=False, id="view.raw"),
        Binding("t", "toggle_time", "UTC/local", show=False, id="view.time"),
        Binding("at,ctrl+g", "goto_time", "Go to time", show=False, id="view.goto"),
        Binding("c", "choose_columns", "Columns", show=False, id="view.columns"),
        Binding("y", "copy_record", "Copy", show=False, id="record.copy"),
        Binding("F", "toggle_follow", "Follow", id="follow.toggle"),
        Binding("tab", "switch_focus", "Table/detail", show=False, id="view.focus"),
        Binding("escape", "escape", "Clear search", show=False, id="app.escape"),
    ]

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
    ) -> None:
        super().__init__()
        self.paths = list(paths)
        self.files = list(files) if files is not None else None
        self.clock = clock
        self.reader = FileReader()
        self.index = Index(self.reader)
        self.formatter = RowFormatter(self.index)
        self.filter_text = filter_text
        self.hide_probes = False
        self.loading = True
        self.progress: Progress | None = None
        self.load_error: str | None = None
        self.ready = threading.Event()  # set once everything is indexed and shown
        self._generation = 0
        self._result: FilterResult | None = None
        self._view_cancel = threading.Event()
        self._view_busy = False
        self._view_pending = False
        self._last_view = 0.0
        self._preview_cancel = threading.Event()
        self._preview_timer: Timer | None = None
        self._search_pattern: re.Pattern[str] | None = None
        self._search_text = ""
        self._search_rows: np.ndarray = np.empty(0, np.int64)
        self._search_generation = 0
        self._raw = False
        self._detail_rows = 0  # 0: a share of the terminal's height, until the user resizes
        self._detail_percent = 45
        self._keymap = keymap if keymap is not None else load_keymap()
        self.following = follow
        self.follow_interval = follow_interval
        self._follow_stop = threading.Event()
        self._follow_stop_all = threading.Event()  # stops background sources on exit
        self._follower: Follower | None = None
        self._tailing = follow  # the cursor stays on the newest record
        self.new_rows = 0  # rows added below the cursor while not tailing
        self._search_mask: np.ndarray = np.zeros(0, bool)
        self.background = list(background)
        self._shutting_down = False
        self.live_label = live_label  # e.g. "live from /aws/neptune/c/audit"

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        with Container(id="main", classes="below"):
            yield RecordTable(self.formatter, id="table")
            yield DetailPane(id="detail")
        yield FilterBar(id="filter-bar")
        yield Footer()

    def on_mount(self) -> None:
        if self._keymap:
            self.set_keymap(self._keymap)
        self.query_one(FilterBar).display = False
        self.query_one(RecordTable).focus()
        self._apply_detail_size()
        self._update_status()
        self._load()
        for job in self.background:
            self._run_background(job)

    @work(thread=True, group="background", exit_on_error=False)
    def _run_background(self, job: Background) -> None:
        """A source that feeds the followed files (AWS polling, a CloudWatch live tail)."""

        def report(message: str) -> None:
            self.call_from_thread(
                self.notify, inert(message), title="source", severity="error", timeout=15
            )

        job(self._follow_stop_all, report)

    @property
    def table(self) -> RecordTable:
        """The record table."""
        return self.query_one(RecordTable)

    @property
    def detail(self) -> DetailPane:
        """The detail pane."""
        return self.query_one(DetailPane)

    @property
    def effective_filter(self) -> str:
        """The filter applied: the user's expression plus hidden probes."""
        return self._with_probes(self.filter_text)

    def _with_probes(self, text: str) -> str:
        """``text`` with the probe filter added while probes are hidden."""
        text = text.strip()
        if not self.hide_probes:
            return text
        return f"({text}) {PROBES_FILTER}" if text else PROBES_FILTER

    # -- loading --------------------------------------------------------------------------

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
            load(
                self.index,
                self.reader,
                files,
                on_progress=report,
                partial_last_line=not self.following,  # a line being written waits
            )
        except SourceError as error:
            self.post_message(IndexFailed(str(error)))
            return
        except OSError as error:
            self.post_message(IndexFailed(f"cannot read the logs: {error}"))
            return
        self.post_message(IndexLoaded(latest[0] if latest else None))

    @quiet_when_closing
    def on_index_progress(self, message: IndexProgress) -> None:
        self.progress = message.progress
        self._update_status()
        self._refresh_view(full=False)

    @quiet_when_closing
    def on_index_loaded(self, message: IndexLoaded) -> None:
        self.loading = False
        self.progress = message.progress
        self.table.reformat()  # time precision and widths are known only now
        self._refresh_view(full=False, force=True)
        if self.following:
            self._start_following()

    # -- following ------------------------------------------------------------------------

    def action_toggle_follow(self) -> None:
        if self.following:
            self.following = False
            self._follow_stop.set()
            self.notify("stopped following", timeout=2)
        else:
            self.following = True
            if not self.loading:
                self._start_following()
            self._tailing = True
            self.table.move_to(len(self.table.ids) - 1, user=True)
            self.notify("following: new records appear as they are written", timeout=3)
        self._update_status()

    def _start_following(self) -> None:
        self._follow_stop = threading.Event()
        self._follow(self._follow_stop)
        if self._tailing:
            self.table.move_to(len(self.table.ids) - 1, user=True)

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
            self.notify(inert(event), title="follow", timeout=6)
        self.formatter.clear_instances()
        self._update_status()
        self._refresh_view(full=False)

    def on_unmount(self) -> None:
        self._shutting_down = True
        self._follow_stop.set()
        self._follow_stop_all.set()

    @quiet_when_closing
    def on_index_failed(self, message: IndexFailed) -> None:
        self.loading = False
        self.load_error = message.message
        self.notify(inert(message.message), title="Cannot load", severity="error", timeout=30)
        self._update_status()
        self.ready.set()

    # -- the view -------------------------------------------------------------------------

    def _refresh_view(self, *, full: bool, force: bool = False) -> None:
        """Recompute the rows shown: all over (a new filter) or for new entries only."""
        if full:
            self._generation += 1
            self._result = None
            self._view_cancel.set()
            self._view_cancel = threading.Event()
        elif not force and (time.monotonic() - self._last_view < self._refresh_interval()):
            self._view_pending = True
            delay = self._refresh_interval()
            self.set_timer(delay, lambda: self._refresh_view(full=False, force=True))
            return
        if self._view_busy and not full:
            self._view_pending = True
            return
        self._view_busy = True
        self._view_pending = False
        self._last_view = time.monotonic()
        self._compute_view(self._generation, self.effective_filter, self._result, self._view_cancel)

    def _refresh_interval(self) -> float:
        """How often the view follows a growing index: each refresh merges and filters the
        whole index, so refresh less often as it grows and leave the CPU to indexing."""
        return _VIEW_REFRESH_S if self.index.size < 500_000 else 4 * _VIEW_REFRESH_S

    @work(thread=True, group="view", exit_on_error=False)
    def _compute_view(
        self,
        generation: int,
        text: str,
        previous: FilterResult | None,
        cancel: threading.Event,
    ) -> None:
        node = parse_filter(text)
        try:
            if previous is None:
                result = evaluate(self.index, node, cancel=cancel)
            else:
                result = extend(self.index, node, previous, cancel=cancel)
            ids = filtered_order(self.index, result)
        except Cancelled:
            return
        self.post_message(ViewReady(generation, result, ids))

    @quiet_when_closing
    def on_view_ready(self, message: ViewReady) -> None:
        self._view_busy = False
        if message.generation != self._generation:
            if self._view_pending or self._result is None:
                self._refresh_view(full=False, force=True)
            return
        if self._result is not None and message.result.size < self._result.size:
            return
        self._result = message.result
        table = self.table
        entry = table.cursor_entry
        keep_time = int(self.index.column("epoch_us")[entry]) if entry is not None else None
        before = len(table.ids)
        tail = self.following and self._tailing and not self.loading
        table.set_ids(message.ids, keep_entry=entry, keep_time=keep_time)
        if tail:
            table.move_to(len(message.ids) - 1, user=True)
        elif self.following and not self.loading:
            self.new_rows += max(0, len(message.ids) - before)
        if self._search_pattern is not None:
            self._extend_search()
        self._update_status()
        if self._view_pending or self.index.size > message.result.size:
            self._refresh_view(full=False, force=not self.loading)
        elif not self.loading and self.load_error is None:
            self.ready.set()

    async def action_quit(self) -> None:
        self._shutting_down = True
        await super().action_quit()

    @quiet_when_closing
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker that failed says so, and the state it held is released."""
        if event.state != WorkerState.ERROR:
            return
        group = event.worker.group
        if group == "view":
            self._view_busy = False
        elif group == "load":
            self.loading = False
        error = event.worker.error
        message = f"{type(error).__name__}: {error}" if error else "unknown error"
        self.notify(inert(message), title=f"{group} failed", severity="error", timeout=30)
        self.ready.set()

    def on_record_table_cursor_moved(self, message: RecordTable.CursorMoved) -> None:
        at_end = message.row >= len(self.table.ids) - 1
        if self.following and message.table.user_moved:
            self._tailing = at_end
        if at_end and self.new_rows:
            self.new_rows = 0
            self._update_status()
        self._show_detail()

    def _show_detail(self) -> None:
        entry = self.table.cursor_entry
        if entry is None:
            empty = "no records match the filter" if self.index.size else "no records yet"
            self.detail.show(Text(empty, style="dim"))
            return
        parsed = self.index.entry(entry)
        instance = ""
        if isinstance(parsed, Record):
            instance = self.formatter.row(entry).cells.get("instance", "")
        self.detail.show(
            build_detail(
                parsed,
                instance=instance,
                local_time=self.formatter.local_time,
                raw=self._raw,
                search=self._search_pattern,
                now_us=int(self.clock() * 1_000_000),
            )
        )

    # -- status ---------------------------------------------------------------------------

    def _update_status(self) -> None:
        index = self.index
        tables = self.query(RecordTable)
        shown = len(tables.first().ids) if tables else 0
        files = len(index.sources)
        parts = [
            Text(f" {files} file{'s' if files != 1 else ''}", "bold"),
            Text(f"{index.records:,} records"),
        ]
        if index.malformed:
            parts.append(Text(f"{index.malformed:,} malformed", "bold yellow"))
        if shown != index.size:
            parts.append(Text(f"showing {shown:,}", "bold"))
        times = index.column("epoch_us")
        if len(times) and index.records:
            first, last = int(times.min()), int(times.max())
            local = self.formatter.local_time
            span = f"{format_time(first, local=local, microseconds=False, compact=True)[:11]}"
            span += f" → {format_time(last, local=local, microseconds=False, compact=True)[:11]}"
            parts.append(Text(span, "dim"))
        if self.following:
            parts.append(Text(f"● {self.live_label or 'following'}", "bold green"))
            if self.new_rows:
                parts.append(Text(f"{self.new_rows:,} new ↓ G", "bold black on yellow"))
        if self.loading and self.progress is not None:
            rate = self.progress.rate / 1e6
            parts.append(
                Text(f"indexing {self.progress.fraction:.0%} {rate:,.0f} MB/s", "bold cyan")
            )
        elif self.loading:
            parts.append(Text("indexing…", "bold cyan"))
        if self.load_error:
            parts.append(Text(inert(self.load_error), "bold red"))
        if self.effective_filter:
            parts.append(Text.assemble(("filter ", "dim"), (inert(self.effective_filter), "bold")))
        if self._search_pattern is not None:
            found = len(self._search_rows)
            parts.append(Text(f"search {inert(self._search_text)!r}: {found:,}", "magenta"))
        self.query_one("#status", Static).update(Text(" · ").join(parts))

    # -- filtering ------------------------------------------------------------------------

    def action_open_filter(self) -> None:
        self.query_one(FilterBar).open("filter", self.filter_text)

    def action_open_search(self) -> None:
        self.query_one(FilterBar).open("search", self._search_text)

    @on(FilterBar.Submitted)
    def _bar_submitted(self, message: FilterBar.Submitted) -> None:
        message.bar.close()
        self.table.focus()
        if message.mode == "filter":
            self.set_filter(message.text)
        else:
            self._run_search(message.text)

    @on(FilterBar.Cancelled)
    def _bar_cancelled(self, message: FilterBar.Cancelled) -> None:
        message.bar.close()
        self._preview_cancel.set()
        self.table.focus()

    @on(FilterBar.Changed)
    def _bar_changed(self, message: FilterBar.Changed) -> None:
        if message.mode != "filter":
            return
        if self._preview_timer is not None:
            self._preview_timer.stop()
        text = message.text
        self._preview_timer = self.set_timer(_PREVIEW_DELAY_S, lambda: self._start_preview(text))

    def _start_preview(self, text: str) -> None:
        self._preview_cancel.set()
        self._preview_cancel = threading.Event()
        self._preview(text, self._preview_cancel)

    @work(thread=True, group="preview", exit_on_error=False)
    def _preview(self, text: str, cancel: threading.Event) -> None:
        try:
            result = evaluate(self.index, parse_filter(self._with_probes(text)), cancel=cancel)
        except (Cancelled, FilterError):
            return
        kinds = self.index.column("kind")[: result.size]
        count = int(np.count_nonzero(result.mask & (kinds == KIND_RECORD)))
        self.post_message(PreviewReady(text, count))

    @quiet_when_closing
    def on_preview_ready(self, message: PreviewReady) -> None:
        bar = self.query_one(FilterBar)
        if bar.display and bar.mode == "filter" and bar.input.value == message.text:
            total = self.index.records
            note = " (still indexing)" if self.loading else ""
            bar.set_info(
                Text(
                    f"✓ {message.count:,} of {total:,} records match{note} · enter applies", "green"
                )
            )

    def set_filter(self, text: str) -> None:
        """Apply a filter expression (it must parse)."""
        parse_filter(text)
        self.filter_text = text
        self._update_status()
        self._refresh_view(full=True)

    def _append_term(self, term: str) -> None:
        current = self.filter_text.strip()
        self.set_filter(f"{current} {term}" if current else term)

    def action_toggle_probes(self) -> None:
        self.hide_probes = not self.hide_probes
        self.notify(
            "health probes hidden" if self.hide_probes else "health probes shown", timeout=2
        )
        self._update_status()
        self._refresh_view(full=True)

    def action_clear_filters(self) -> None:
        self.filter_text = ""
        self.hide_probes = False
        self._update_status()
        self._refresh_view(full=True)

    def quick_values(self) -> dict[str, str | None]:
        """The cursor record's values for the quick filters."""
        entry = self.table.cursor_entry
        parsed = self.index.entry(entry) if entry is not None else None
        if not isinstance(parsed, Record):
            source = parsed.source if parsed is not None else None
            return {"source": source}
        return {
            "client": parsed.client.key if parsed.client else None,
            "user": parsed.arn,
            "type": parsed.conn_type,
            "lang": parsed.lang or "none",
            "path": parsed.path,
            "source": parsed.source,
        }

    def action_quick_filter(self, exclude: bool) -> None:
        def chosen(field: str | None) -> None:
            if field is not None:
                self._quick(field, exclude)

        self.push_screen(QuickFilterScreen(exclude, self.quick_values()), chosen)

    # -- search ---------------------------------------------------------------------------

    def _run_search(self, text: str) -> None:
        self._search_text = text
        if not text:
            self.action_escape()
            return
        pattern = search_pattern(text)
        self._search_pattern = pattern
        self.table.set_search(pattern)
        self._search_generation += 1
        self._search_mask = np.zeros(0, bool)
        self._search(
            self._search_generation, text, pattern, self.table.ids, self._search_mask, True
        )
        self._show_detail()

    def _extend_search(self) -> None:
        """Search the entries added since the last search (following, or still loading)."""
        if self._search_pattern is None:
            return
        self._search(
            self._search_generation,
            self._search_text,
            self._search_pattern,
            self.table.ids,
            self._search_mask,
            False,
        )

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def _search(
        self,
        generation: int,
        text: str,
        pattern: re.Pattern[str],
        ids: np.ndarray,
        previous: np.ndarray,
        jump: bool,
    ) -> None:
        size = self.index.size
        # Entries searched before keep their answer; only the view's others are read.
        candidates = np.zeros(size, bool)
        if len(ids):
            candidates[ids[ids < size]] = True
        candidates[: len(previous)] &= False
        literal = bool(pattern.flags & re.IGNORECASE)  # search_pattern's literal form
        query = literal_query(text) if literal else regex_query(pattern)
        try:
            found = search(self.index, size, query, candidates)
        except Cancelled:
            return
        found[: len(previous)] |= previous
        rows = np.flatnonzero(found[ids]) if len(ids) else np.empty(0, np.int64)
        self.post_message(SearchReady(generation, pattern, rows, found, jump))

    @quiet_when_closing
    def on_search_ready(self, message: SearchReady) -> None:
        if message.generation != self._search_generation:
            return
        self._search_mask = message.mask
        self._search_rows = message.rows
        self._update_status()
        if not message.jump:
            return
        if not len(message.rows):
            self.notify(f"no match for {inert(self._search_text)!r}", timeout=3)
            return
        if self.table.cursor_row != int(message.rows[0]):
            self.action_search_next(1, announce=False)

    def action_search_next(self, direction: int, announce: bool = True) -> None:
        rows = self._search_rows
        if not len(rows):
            if announce:
                self.notify("no search matches (s to search)", timeout=2)
            return
        cursor = self.table.cursor_row
        if direction > 0:
            position = int(np.searchsorted(rows, cursor, side="right"))
        else:
            position = int(np.searchsorted(rows, cursor, side="left")) - 1
        self.table.move_to(int(rows[position % len(rows)]), center=True, user=True)

    def action_escape(self) -> None:
        if self._search_pattern is not None:
            self._search_pattern = None
            self._search_rows = np.empty(0, np.int64)
            self.table.set_search(None)
            self._update_status()
            self._show_detail()

    # -- view options ---------------------------------------------------------------------

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
            current = self._detail_rows or self._default_detail_rows()
            self._detail_rows = max(low, min(high, current + 2 * step))
        self._apply_detail_size()

    def _default_detail_rows(self) -> int:
        low, high = _DETAIL_SIZES
        return max(low, min(high // 2, self.size.height * 3 // 8))

    def on_resize(self) -> None:
        if not self._detail_rows:
            self._apply_detail_size()

    def action_toggle_layout(self) -> None:
        main = self.query_one("#main")
        beside = main.has_class("below")
        main.set_class(beside, "beside")
        main.set_class(not beside, "below")
        self._apply_detail_size()

    def _apply_detail_size(self) -> None:
        detail = self.detail
        if self.query_one("#main").has_class("beside"):
            detail.styles.width = f"{self._detail_percent}%"
            detail.styles.height = "1fr"
        else:
            detail.styles.height = self._detail_rows or self._default_detail_rows()
            detail.styles.width = "1fr"

    def action_toggle_raw(self) -> None:
        self._raw = not self._raw
        self._show_detail()

    def action_toggle_time(self) -> None:
        self.formatter.local_time = not self.formatter.local_time
        self.table.reformat()
        self._show_detail()
        self._update_status()

    def action_switch_focus(self) -> None:
        if self.table.has_focus and self.detail.display:
            self.detail.focus()
        else:
            self.table.focus()

    def action_choose_columns(self) -> None:
        self.push_screen(ColumnsScreen(self.table.hidden_columns))

    def on_columns_screen_changed(self, message: ColumnsScreen.Changed) -> None:
        self.table.set_hidden_columns(message.hidden)

    def action_copy_record(self) -> None:
        entry = self.table.cursor_entry
        if entry is None:
            return
        self.copy_to_clipboard(self.index.text(entry))
        self.notify("record copied to the clipboard (OSC 52)", timeout=2)

    # -- go to time -----------------------------------------------------------------------

    def action_goto_time(self) -> None:
        self.push_screen(GotoScreen(), self._goto)

    def resolve_time(self, text: str) -> int:
        """Epoch microseconds for what the user typed in the go-to box (ValueError)."""
        times = self.index.column("epoch_us")
        ids = self.table.ids
        cursor = self.table.cursor_entry
        base = int(times[cursor]) if cursor is not None else int(self.clock() * 1e6)
        newest = int(times[ids[-1]]) if len(ids) else base
        text = text.strip()
        if text.startswith("-") or text.endswith(" ago"):
            return newest - parse_duration(text.removeprefix("-").removesuffix(" ago").strip())
        if text.startswith("+"):
            return base + parse_duration(text[1:].strip())
        clock = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", text)
        if clock:
            zone = dt.datetime.now().astimezone().tzinfo if self.formatter.local_time else dt.UTC
            day = dt.datetime.fromtimestamp(base / 1e6, tz=zone)
            hour, minute, second = (int(g) if g else 0 for g in clock.groups())
            moment = day.replace(hour=hour, minute=minute, second=second, microsecond=0)
            return int(moment.timestamp() * 1_000_000)
        return parse_time(text)

    def _goto(self, text: str | None) -> None:
        if not text:
            return
        try:
            target = self.resolve_time(text)
        except ValueError as error:
            self.notify(inert(str(error)), title="Go to time", severity="error")
            return
        ids = self.table.ids
        times = self.index.column("epoch_us")[ids]
        row = int(np.searchsorted(times, target, side="left"))
        if row >= len(ids):
            self.notify("no record at or after that time", timeout=3)
            row = len(ids) - 1
        self.table.move_to(row, center=True, user=True)

    # -- help, commands, keymap -------------------------------------------------------------

    def help_groups(self) -> list[HelpGroup]:
        """Bindings for the help screen, with the keys currently in effect."""
        groups: list[tuple[str, list[BindingType]]] = [
            ("Application", self.BINDINGS),
            ("Table", RecordTable.BINDINGS),
            ("Detail pane (after tab)", DetailPane.BINDINGS),
            (
                "Filter and search bar",
                [
                    Binding("enter", "", "apply"),
                    Binding("escape", "", "cancel"),
                    Binding("up,down", "", "history"),
                ],
            ),
        ]
        return [
            HelpGroup(
                title, [(self._keys(b), b.description) for b in bindings if isinstance(b, Binding)]
            )
            for title, bindings in groups
        ]

    def _keys(self, binding: Binding) -> str:
        keys = self._keymap.get(binding.id or "", binding.key)
        return " ".join(self.get_key_display(Binding(key, "")) for key in keys.split(","))

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.help_groups()))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        commands = [
            ("filter: edit", "Open the filter bar", self.action_open_filter),
            (
                "filter: hide or show health probes",
                "Toggle -path:/status",
                self.action_toggle_probes,
            ),
            (
                "filter: only this client",
                "Keep records from the cursor's client",
                lambda: self._quick("client", False),
            ),
            (
                "filter: exclude this client",
                "Hide the cursor's client",
                lambda: self._quick("client", True),
            ),
            (
                "filter: only this user",
                "Keep the cursor's IAM principal",
                lambda: self._quick("user", False),
            ),
            (
                "filter: exclude this user",
                "Hide the cursor's IAM principal",
                lambda: self._quick("user", True),
            ),
            (
                "filter: only this type",
                "Keep the cursor's connection type",
                lambda: self._quick("type", False),
            ),
            (
                "filter: only this language",
                "Keep the cursor's query language",
                lambda: self._quick("lang", False),
            ),
            (
                "filter: failed authentications",
                "auth:failed",
                lambda: self._append_term("auth:failed"),
            ),
            ("filter: clear all", "Remove every filter", self.action_clear_filters),
            ("search: find text", "Highlight and jump between matches", self.action_open_search),
            ("view: toggle detail", "Show or hide the detail pane", self.action_toggle_detail),
            ("view: detail beside or below", "Move the detail pane", self.action_toggle_layout),
            ("view: raw line", "Detail shows the raw log line", self.action_toggle_raw),
            ("view: UTC or local time", "Switch the time zone of times", self.action_toggle_time),
            (
                "view: go to time",
                "Jump to the first record at or after a time",
                self.action_goto_time,
            ),
            ("view: choose columns", "Show or hide table columns", self.action_choose_columns),
            ("record: copy", "Copy the raw record (OSC 52)", self.action_copy_record),
        ]
        for title, help_text, callback in commands:
            yield SystemCommand(title, help_text, callback)

    def _quick(self, field: str, exclude: bool) -> None:
        value = self.quick_values().get(field)
        if value is None:
            self.notify(f"the record has no {field}", timeout=2)
            return
        term = f"{field}={quote_value(value)}"
        self._append_term(f"-{term}" if exclude else term)
