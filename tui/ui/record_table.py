"""The record table: millions of rows rendered with Textual's Line API.

The rows and the cursor belong to the view model (``tui.view.ViewModel``); the table draws
the lines on screen, each asking the RowFormatter for its entry's cells, and keeps the
cursor's row in view. The first line is a header that stays put while rows scroll under it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.ui.scrolling import set_virtual_size
from tui.view.cells import Column, RowFormatter, compact_time, fit_columns
from tui.view.model import ViewModel
from tui.view.search import SearchSpec


class RecordTable(ScrollView, can_focus=True):
    """Rows of entries in time order, a cursor, and search highlighting.

    | key | action |
    |---|---|
    | up / k, down / j | move the cursor |
    | page up / ctrl+b, page down / ctrl+f | a page up or down |
    | home / g, end / G | first / last row |
    | left / h, right / l | scroll the query column |
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="table.up"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="table.down"),
        Binding("pageup,ctrl+b", "page(-1)", "Page up", show=False, id="table.page_up"),
        Binding("pagedown,ctrl+f", "page(1)", "Page down", show=False, id="table.page_down"),
        Binding("home,g", "first", "First", show=False, id="table.first"),
        Binding("end,G", "last", "Last", show=False, id="table.last"),
        Binding("left,h", "shift(-8)", "Scroll left", show=False, id="table.left"),
        Binding("right,l", "shift(8)", "Scroll right", show=False, id="table.right"),
    ]

    COMPONENT_CLASSES = {
        "record-table--header",
        "record-table--cursor",
        "record-table--failed",
        "record-table--malformed",
        "record-table--unknown",
        "record-table--match",
        "record-table--dim",
        "record-table--mark",
        "record-table--delete",
    }

    DEFAULT_CSS = """
    RecordTable {
        overflow-x: hidden;
    }
    """

    @dataclass
    class CursorMoved(Message):
        """The cursor is on another entry (None: the view is empty)."""

        table: RecordTable
        entry: int | None
        row: int

    def __init__(
        self,
        view: ViewModel,
        formatter: RowFormatter,
        *,
        id: str | None = None,  # noqa: A002
    ) -> None:
        super().__init__(id=id)
        self.view = view
        self.formatter = formatter
        self.hidden_columns: frozenset[str] = frozenset()
        self.pinned_columns: frozenset[str] = frozenset()  # turned on: never dropped
        self.query_offset = 0
        self.search: SearchSpec | None = None
        self._columns: list[tuple[Column, int]] = []
        self._layout_width = 0
        self._layout_microseconds = False
        self._shown_row = -1
        self._shown_entry: int | None = None

    # -- data ---------------------------------------------------------------------------

    @property
    def cursor_row(self) -> int:
        """The cursor's row (the view model's)."""
        return self.view.cursor_row

    @property
    def cursor_entry(self) -> int | None:
        """The entry under the cursor."""
        return self.view.cursor_entry

    def sync(self, *, center: bool = False) -> None:
        """Show the view model's rows and cursor (after its rows or cursor changed)."""
        self._update_virtual_size()
        self._scroll_to_cursor(center=center)
        self.refresh()
        self._announce()

    def set_search(self, spec: SearchSpec | None) -> None:
        """Highlight matches of ``spec`` in the cells."""
        self.search = spec
        self.refresh()

    def set_columns(self, hidden: frozenset[str], pinned: frozenset[str]) -> None:
        """Hide these columns, and keep those (at any width: the query column narrows);
        the time and query columns always show."""
        self.hidden_columns, self.pinned_columns = hidden, pinned - hidden
        self._columns = []
        self.refresh()

    @property
    def shown_columns(self) -> frozenset[str]:
        """The columns shown at the current width."""
        return frozenset(column.key for column, _ in self._layout())

    def reformat(self) -> None:
        """Render every row again (time zone or format changed)."""
        self.formatter.clear()
        self._columns = []
        self.refresh()

    # -- movement -------------------------------------------------------------------------

    @property
    def page_height(self) -> int:
        """Rows that fit under the header."""
        return max(1, self.scrollable_content_region.height - 1)

    def move_to(self, row: int, *, center: bool = False, user: bool = True) -> None:
        """Put the cursor on ``row`` and scroll it into view (``user``: the user asked)."""
        self.view.move_cursor(row, user=user)
        self._scroll_to_cursor(center=center)
        self.refresh()
        self._announce()

    def _scroll_to_cursor(self, *, center: bool = False) -> None:
        row = self.view.cursor_row
        top = self.scroll_offset.y
        height = self.page_height
        if center:
            target = max(0, row - height // 2)
        elif row < top:
            target = row
        elif row >= top + height:
            target = row - height + 1
        else:
            target = top
        if target != top:
            self.scroll_to(y=target, animate=False, immediate=True)

    def _announce(self) -> None:
        """Tell the app when the cursor is on another row or entry."""
        row, entry = self.view.cursor_row, self.view.cursor_entry
        if (row, entry) != (self._shown_row, self._shown_entry):
            self._shown_row, self._shown_entry = row, entry
            self.post_message(self.CursorMoved(self, entry, row))

    def action_cursor(self, delta: int) -> None:
        self.move_to(self.cursor_row + delta)

    def action_page(self, direction: int) -> None:
        self.move_to(self.cursor_row + direction * self.page_height)

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        self.move_to(len(self.view.ids) - 1)

    def action_shift(self, delta: int) -> None:
        self.query_offset = max(0, self.query_offset + delta)
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:
            self.move_to(self.scroll_offset.y + event.y - 1)
        self.focus()

    def on_resize(self, event: events.Resize) -> None:
        self._columns = []
        self._update_virtual_size()
        self._scroll_to_cursor()

    def _update_virtual_size(self) -> None:
        size = Size(self.size.width, len(self.view.ids) + 1)
        if size != self.virtual_size:
            set_virtual_size(self, size)

    # -- rendering ----------------------------------------------------------------------

    def _layout(self) -> list[tuple[Column, int]]:
        width = self.scrollable_content_region.width or self.size.width
        width -= 1 if self.view.marks else 0  # the marks' gutter
        microseconds = self.formatter.microseconds  # (known once the first spans are in)
        if width != self._layout_width or microseconds != self._layout_microseconds:
            # a scrollbar came or went, the size changed, or times got longer
            self._layout_width = width
            self._layout_microseconds = microseconds
            self._columns = []
        if not self._columns:
            compact = compact_time(width)
            if compact != self.formatter.compact_time:
                self.formatter.compact_time = compact
                self.formatter.clear()
            time_width = len(self.formatter.time_text(0))
            self._columns = fit_columns(width, time_width, self.hidden_columns, self.pinned_columns)
        return self._columns

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        columns = self._layout()
        if y == 0:
            return self._header(columns, width)
        row = self.scroll_offset.y + y - 1
        base = self.rich_style
        ids = self.view.ids
        if row >= len(ids):
            return Strip.blank(width, base)
        entry = int(ids[row])
        data = self.formatter.row(entry)
        style = base
        if data.malformed:
            style += self.get_component_rich_style("record-table--malformed")
        elif data.failed_auth:
            style += self.get_component_rich_style("record-table--failed")
        elif data.delete:
            style += self.get_component_rich_style("record-table--delete")
        elif data.unknown_type:
            style += self.get_component_rich_style("record-table--unknown")
        if row == self.view.cursor_row:
            style += self.get_component_rich_style("record-table--cursor")
        match_style = self.get_component_rich_style("record-table--match")
        segments: list[Segment] = []
        if self.view.marks:  # a gutter shows the marks while there are any
            marked = entry in self.view.marks
            mark_style = style + self.get_component_rich_style("record-table--mark")
            segments.append(Segment("▌" if marked else " ", mark_style if marked else style))
        for column, column_width in columns:
            text = data.cells.get(column.key, "")
            if column.key == "query":
                text = text[self.query_offset :]
            fitted = (
                cut_middle(text, column_width) if column.key == "user" else cut(text, column_width)
            )
            cell = set_cell_size(fitted, column_width)
            segments.extend(self._highlight(cell, style, match_style))
            segments.append(Segment(" ", style))
        strip = Strip(segments)
        return strip.crop_extend(0, width, style).simplify()

    def _header(self, columns: list[tuple[Column, int]], width: int) -> Strip:
        style = self.rich_style + self.get_component_rich_style("record-table--header")
        parts = []
        for column, column_width in columns:
            title = column.title
            if column.key == "time":
                title = "TIME (local)" if self.formatter.local_time else "TIME (UTC)"
            if column.key == "query" and self.query_offset:
                title = f"QUERY (+{self.query_offset})"
            parts.append(set_cell_size(title, column_width))
        gutter = " " if self.view.marks else ""
        return Strip([Segment(gutter + " ".join(parts), style)]).crop_extend(0, width, style)

    def _highlight(self, cell: str, style: Style, match_style: Style) -> list[Segment]:
        if self.search is None:
            return [Segment(cell, style)]
        segments: list[Segment] = []
        last = 0
        for start, end in self.search.spans(cell):
            segments.append(Segment(cell[last:start], style))
            segments.append(Segment(cell[start:end], style + match_style))
            last = end
        segments.append(Segment(cell[last:], style))
        return [s for s in segments if s.text]


def cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells, ending with ``…`` when cut."""
    if cell_len(text) <= width:
        return text
    return set_cell_size(text, max(width - 1, 0)) + "…" if width > 0 else ""


def cut_middle(text: str, width: int) -> str:
    """A principal in at most ``width`` cells, cut in the middle so its last part (the
    session or user name) stays whole: ``role/Analyt…/etl-4``."""
    if cell_len(text) <= width:
        return text
    head, slash, tail = text.rpartition("/")
    tail = slash + tail
    if not head or cell_len(tail) > width // 2:
        return cut(text, width)
    return set_cell_size(head, width - 1 - cell_len(tail)) + "…" + tail
