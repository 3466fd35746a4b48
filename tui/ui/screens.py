"""Modal screens: help, go to time, quick filters and the column chooser."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.segment import Segment
from rich.table import Table
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.strip import Strip
from textual.widgets import Input, Label, SelectionList, Static
from textual.widgets.option_list import OptionDoesNotExist
from textual.widgets.selection_list import Selection

from tui.cli.export import partial_path
from tui.model.text import inert
from tui.query.ast import FIELDS
from tui.view.cells import CHOOSABLE
from tui.view.status import plural


@dataclass(frozen=True)
class HelpGroup:
    """Bindings shown together on the help screen."""

    title: str
    bindings: Sequence[tuple[str, str, str]]  # (keys as shown, what they do, binding id)


FILTER_HELP = (
    ('word  "two words"', "raw text contains it (any case)"),
    ("/regex/  /regex/i", "raw text matches"),
    ("field:value", "field contains value"),
    ("field=value", "field equals value"),
    ("field:/regex/", "field matches (a space in a regex: \\  or \\s)"),
    ("-term  NOT term", "exclude"),
    ("a b  a AND b", "both"),
    ("a OR b  ( )", "either, grouping"),
    ("after:T  before:T", "ISO 8601 or epoch digits"),
    ("last:15m", "within 15 min of the newest record"),
    ("fields", ", ".join(FIELDS)),
)


class HelpScreen(ModalScreen[None]):
    """Every key binding with its id (what ``keymap.toml`` remaps), and the filter language
    in brief."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close", id="help.close"),
    ]

    def __init__(self, groups: Iterable[HelpGroup]) -> None:
        super().__init__()
        self.groups = list(groups)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Static(Text("neptune-audit · keys", style="bold"), classes="help-title")
            for group in self.groups:
                yield Static(self._table(group.title, group.bindings))
            yield Static(self._table("Filter language", FILTER_HELP))
            yield Static(
                Text(
                    "esc / q / ? close · ctrl+p command palette · remap keys by id in "
                    '~/.config/neptune-audit/keymap.toml, e.g. "table.down" = "j,down"',
                    style="dim",
                )
            )

    @staticmethod
    def _table(title: str, rows: Sequence[tuple[str, ...]]) -> Table:
        table = Table(title=title, title_justify="left", show_header=False, box=None, expand=True)
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column(ratio=1)
        table.add_column(style="dim", no_wrap=True)
        for keys, description, *binding_id in rows:
            table.add_row(Text(keys), Text(description), Text("".join(binding_id)))
        return table


class GotoScreen(ModalScreen[str | None]):
    """Ask for a time; returns the text typed, or None. A time ``check`` rejects keeps the
    prompt open with the reason shown in it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="goto.cancel")
    ]

    def __init__(self, check: Callable[[str], str | None]) -> None:
        super().__init__()
        self.check = check

    def compose(self) -> ComposeResult:
        with Vertical(id="goto-box", classes="dialog"):
            yield Label("Go to time (ISO 8601, epoch, HH:MM[:SS[.f]], -15m from newest, +5m)")
            yield Input(id="goto-input", placeholder="2026-11-24T08:15  ·  08:15  ·  -15m")
            yield Static(id="goto-error")

    def on_mount(self) -> None:
        self.query_one("#goto-input", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        problem = self.check(text) if text else None
        if problem is not None:
            self.query_one("#goto-error", Static).update(Text("✗ " + inert(problem), "red"))
            return
        self.dismiss(text or None)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#goto-error", Static).update("")

    def action_cancel(self) -> None:
        self.dismiss(None)


#: Quick-filter fields: key, field, label.
QUICK_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("c", "client", "client address"),
    ("u", "user", "user (ARN)"),
    ("t", "type", "connection type"),
    ("l", "lang", "query language"),
    ("p", "path", "HTTP path"),
    ("s", "source", "file"),
    ("i", "instance", "instance"),
    ("m", "marked", "marks (the marked records)"),
)


class QuickFilterScreen(ModalScreen[str | None]):
    """Pick the field of the cursor's record to keep (or exclude); returns the field."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="quick.cancel")
    ]

    def __init__(self, exclude: bool, values: dict[str, str | None]) -> None:
        super().__init__()
        self.exclude = exclude
        self.values = values
        self._chosen = False  # a second key before the screen is gone does nothing

    def compose(self) -> ComposeResult:
        verb = "Exclude" if self.exclude else "Only"
        with Vertical(id="quick-box", classes="dialog"):
            yield Label(f"{verb} records with this record's…", classes="dialog-title")
            for key, field, label in QUICK_FIELDS:
                value = self.values.get(field)
                text = Text.assemble((f" {key} ", "bold reverse"), f"  {label}: ")
                text.append(
                    inert(value) if value is not None else "(none)", "bold" if value else "dim"
                )
                yield Static(text)
            yield Static(Text("esc cancel", style="dim"))

    def on_key(self, event: events.Key) -> None:
        for key, field, _ in QUICK_FIELDS:
            if event.key == key:
                event.stop()
                self._choose(field)  # one without a value: the viewer says so

    def action_cancel(self) -> None:
        self._choose(None)

    def _choose(self, field: str | None) -> None:
        if not self._chosen:
            self._chosen = True
            self.dismiss(field)


class TickList(SelectionList[str]):
    """A selection list whose boxes show a tick or nothing, readable without colour."""

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        segments = list(strip)
        try:
            option = self.get_option_at_index(self.scroll_offset.y + y)
        except OptionDoesNotExist:
            return strip
        if len(segments) > 3 and len(segments[1].text) == 1:  # ▐X▌: the X says it
            tick = "✓" if option.value in self.selected else " "
            segments[1] = Segment(tick, segments[1].style)
        return Strip(segments, strip.cell_length)


class ColumnsScreen(ModalScreen[None]):
    """Choose the visible columns: space or enter toggles (applied at once), escape closes.
    Once the user toggles one, the ticked columns are the choice: they show at any width
    that can hold them (the query column narrows for them) and the unticked stay hidden."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,c", "close", "Close", id="columns.close"),
    ]

    @dataclass
    class Changed(Message):
        """The user's column choice changed."""

        hidden: frozenset[str]
        pinned: frozenset[str]

    def __init__(
        self, shown: frozenset[str], hidden: frozenset[str], pinned: frozenset[str]
    ) -> None:
        super().__init__()
        self.shown = shown & frozenset(column.key for column in CHOOSABLE)
        self.hidden = hidden
        self.pinned = pinned

    def compose(self) -> ComposeResult:
        choices = [
            Selection(column.title, column.key, column.key in self.shown) for column in CHOOSABLE
        ]
        with Vertical(id="columns-box", classes="dialog"):
            yield Label("Columns · space toggles · esc closes", classes="dialog-title")
            yield TickList(*choices, id="columns-list")

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()

    def on_selection_list_selected_changed(self, event: SelectionList.SelectedChanged[str]) -> None:
        selected = frozenset(event.selection_list.selected)
        self.shown = selected
        self.pinned = selected
        self.hidden = frozenset(column.key for column in CHOOSABLE) - selected
        self.app.post_message(self.Changed(self.hidden, self.pinned))

    def action_close(self) -> None:
        self.dismiss(None)


def _claim(path: Path) -> str | None:
    """Create ``path`` (private, new) to be sure it can be written; why not, if it cannot."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return f"{path.name} exists: another export is writing it (or remove it if none is)"
    except OSError as error:
        return f"cannot write there: {error.strerror or error}"
    return None


@dataclass(frozen=True)
class ExportChoice:
    """Where to write the view, and whether only the marked records."""

    path: Path
    marked_only: bool


class ExportScreen(ModalScreen[ExportChoice | None]):
    """Ask where to write the current view: the format follows the file's suffix
    (``.jsonl`` or ``.csv``); with marks, space chooses between them and the whole view."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="export.cancel"),
        Binding("ctrl+t", "toggle_marked", "Marked only", id="export.marked"),
    ]

    def __init__(self, default: Path, *, shown: int, marked: int, suffixes: Sequence[str]) -> None:
        super().__init__()
        self.default = default
        self.shown = shown
        self.marked = marked
        self.suffixes = tuple(suffixes)
        self.marked_only = marked > 0

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box", classes="dialog"):
            yield Label("Write the view to a file (.jsonl or .csv)", classes="dialog-title")
            yield Input(str(self.default), id="export-input")
            yield Static(id="export-what")
            yield Static(id="export-error")

    def on_mount(self) -> None:
        field = self.query_one("#export-input", Input)
        field.focus()
        field.cursor_position = len(field.value)
        self._describe()

    def _describe(self) -> None:
        shown = plural(self.shown, "record")
        marked = plural(self.marked, "marked record")
        if self.marked and self.marked_only:
            what = f"the {marked} · ctrl+t: all {shown} shown"
        elif self.marked:
            what = f"all {shown} shown · ctrl+t: only the {marked}"
        else:
            what = f"all {shown} shown"
        self.query_one("#export-what", Static).update(Text(what, "dim"))

    def action_toggle_marked(self) -> None:
        if self.marked:
            self.marked_only = not self.marked_only
            self._describe()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        path = Path(text).expanduser()
        problem = None
        if not text:
            problem = "give a file name"
        elif path.suffix.lower() not in self.suffixes:
            problem = f"the name must end with {' or '.join(self.suffixes)}"
        elif path.is_dir():
            problem = "that is a directory"
        elif path.exists():
            problem = f"{path.name} exists: choose another name"
        elif not path.parent.is_dir():
            problem = f"no directory {path.parent}"
        else:
            problem = _claim(partial_path(path))
        if problem is not None:
            self.query_one("#export-error", Static).update(Text("✗ " + inert(problem), "red"))
            return
        self.dismiss(ExportChoice(path, self.marked_only and self.marked > 0))

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question: y or enter says yes; n or escape says no."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str, detail: str = "") -> None:
        super().__init__()
        self.question = question
        self.detail = detail
        self._answered = False

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box", classes="dialog"):
            yield Label(self.question, classes="dialog-title")
            if self.detail:
                yield Static(Text(self.detail))
            yield Static(Text("y yes · n no", style="dim"))

    def action_answer(self, yes: bool) -> None:
        if not self._answered:
            self._answered = True
            self.dismiss(yes)
