"""Scroll views whose length changes often: the table as rows arrive, the detail pane as
the cursor moves."""

from __future__ import annotations

from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.widget import Widget


def set_virtual_size(view: ScrollView, size: Size) -> None:
    """Give ``view`` what it scrolls over and repaint it. When only the length changed,
    the view keeps its size on screen, so the screen is not laid out again (a layout of
    the whole screen cost 10-50 ms each time); the scrollbars follow, and one appearing
    still lays the screen out."""
    if size.width != view.virtual_size.width:
        view.virtual_size = size
    elif size != view.virtual_size:
        view.set_reactive(Widget.virtual_size, size)
        view._scroll_update(size)
    view.refresh()
