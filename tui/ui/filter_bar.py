"""The filter (and search) bar: validated as you type, previewed before it is applied.

The bar validates each change with the filter language's parser and shows the error with
its column and a caret; the app answers a valid expression with a match count before Enter
applies it. Up and Down walk the history, Escape cancels. History is kept per mode in the
XDG state directory, readable by the user alone.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

from rich.highlighter import Highlighter
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, Static

from tui.model.text import inert
from tui.query import FilterError, parse_filter
from tui.sources.files import state_directory, write_private
from tui.view.search import spec_or_error

Mode = Literal["filter", "search"]
_HISTORY_LIMIT = 200


def history_path(mode: Mode) -> Path:
    """Where a bar's history is kept between runs (XDG state directory)."""
    return state_directory() / f"{mode}-history.json"


def load_history(mode: Mode) -> list[str]:
    """The saved history, oldest first (empty when there is none or it is unreadable)."""
    try:
        loaded = json.loads(history_path(mode).read_text())
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return []
    if not isinstance(loaded, list):
        return []
    return [item for item in loaded if isinstance(item, str)][-_HISTORY_LIMIT:]


def save_history(mode: Mode, items: list[str]) -> None:
    """Save the history; failing to is not worth bothering the user about."""
    try:
        write_private(history_path(mode), json.dumps(items[-_HISTORY_LIMIT:]).encode())
    except OSError:
        pass


class ErrorHighlighter(Highlighter):
    """Marks the word at a filter error's position in the input."""

    def __init__(self) -> None:
        super().__init__()
        self.error_at: int | None = None

    def highlight(self, text: Text) -> None:
        position = self.error_at
        if position is None or not text.plain:
            return
        start = min(position, len(text.plain) - 1)
        match = re.compile(r"\S*").match(text.plain, start)
        end = max(start + 1, match.end() if match else start + 1)
        text.stylize("bold white on red", start, end)


class FilterBar(Vertical):
    """An expression input with its status line.

    | key | action |
    |---|---|
    | enter | apply |
    | escape | cancel |
    | up, down | previous / next expression in the history |
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", show=False, id="bar.cancel"),
        Binding("up", "history(-1)", "Previous in history", show=False, id="bar.history_back"),
        Binding("down", "history(1)", "Next in history", show=False, id="bar.history_forward"),
    ]

    @dataclass
    class Submitted(Message):
        """Enter on a valid expression."""

        bar: FilterBar
        mode: Mode
        text: str

    @dataclass
    class Changed(Message):
        """A valid expression was typed (the app previews it)."""

        bar: FilterBar
        mode: Mode
        text: str

    @dataclass
    class Cancelled(Message):
        """Escape: the bar closed without applying."""

        bar: FilterBar
        mode: Mode

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.mode: Mode = "filter"
        self.histories: dict[Mode, list[str]] = {"filter": [], "search": []}
        self._history_at = 0
        self._draft = ""
        self._valid = True
        self._highlighter = ErrorHighlighter()

    def compose(self) -> ComposeResult:
        with Horizontal(id="filter-row"):
            yield Label("filter ", id="filter-prompt")
            yield Input(id="filter-input", select_on_focus=False, highlighter=self._highlighter)
        yield Static(id="filter-info")

    def on_mount(self) -> None:
        for mode in ("filter", "search"):
            self.histories[mode] = load_history(mode)

    @property
    def input(self) -> Input:
        """The text input."""
        return self.query_one("#filter-input", Input)

    def open(self, mode: Mode, text: str) -> None:
        """Show the bar for ``mode`` with ``text`` and focus it."""
        self.mode = mode
        self.query_one("#filter-prompt", Label).update(f"{mode} ")
        self.display = True
        self._history_at = len(self.histories[mode])
        self.input.value = text
        self.input.cursor_position = len(text)
        # Focus now, not after the pending messages: keys typed right after the opening
        # key (a paste, a fast typist over SSH) must reach the input, not the table.
        self.screen.set_focus(self.input)
        if mode == "search" and text:
            self.input.select_all()  # typing replaces the previous search
        self._validate(text)

    def close(self) -> None:
        """Hide the bar."""
        self.display = False

    def set_info(self, text: Text | str) -> None:
        """Show a preview or status under the input."""
        self.query_one("#filter-info", Static).update(text)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._validate(event.value)
        if self._valid:
            self.post_message(self.Changed(self, self.mode, event.value))

    def _validate(self, text: str) -> None:
        if self.mode == "search":
            checked = spec_or_error(text)
            if isinstance(checked, str):
                self._invalid(checked, None)
                return
            self._valid = True
            self._highlighter.error_at = None
            self.input.remove_class("-invalid")
            kind = "regex" if checked.regex else "text, any case"
            self.set_info(Text(f"{kind} · enter: find · n/N: next/previous · esc: cancel", "dim"))
            return
        try:
            parse_filter(text)
        except FilterError as error:
            self._invalid(error.describe(), error.position)
            return
        self._valid = True
        self._highlighter.error_at = None
        self.input.remove_class("-invalid")
        self.set_info(Text("counting matches…", "dim"))

    def _invalid(self, message: str, position: int | None) -> None:
        self._valid = False
        self.input.add_class("-invalid")
        self._highlighter.error_at = position
        self.input.refresh()
        self.set_info(Text("✗ " + inert(message), style="red"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not self._valid:
            self.app.bell()
            return
        text = event.value.strip()
        history = self.histories[self.mode]
        if text and (not history or history[-1] != text):
            history.append(text)
            save_history(self.mode, history)
        self.post_message(self.Submitted(self, self.mode, text))

    def action_cancel(self) -> None:
        self.post_message(self.Cancelled(self, self.mode))

    def action_history(self, step: int) -> None:
        history = self.histories[self.mode]
        if not history:
            return
        if step < 0 and self._history_at == len(history):
            self._draft = self.input.value
        if step < 0:
            # The bar opens on the current filter, usually the newest entry: up skips
            # what the input already holds, so each press shows something new.
            at = self._history_at - 1
            while at > 0 and history[at] == self.input.value:
                at -= 1
            self._history_at = max(0, at)
        else:
            self._history_at = min(len(history), self._history_at + 1)
        at_draft = self._history_at == len(history)
        self._recall(self._draft if at_draft else history[self._history_at])

    def _recall(self, text: str) -> None:
        self.input.value = text
        self.input.cursor_position = len(text)
