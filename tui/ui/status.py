"""The status line: the view model's facts, drawn when they change."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from tui.model.text import inert
from tui.ui.ink import ink
from tui.view.status import Role, StatusFacts, status_parts

#: Styles of the status line's pieces.
STYLES: dict[Role, str] = {
    "files": "bold",
    "plain": "",
    "warning": "bold yellow",
    "shown": "bold",
    "span": "dim",
    "follow": "bold green",
    "badge": "bold black on yellow",
    "progress": "bold cyan",
    "error": "bold red",
    "filter-label": "dim",
    "filter": "bold",
    "search": "magenta",
}
_SEPARATOR = " · "
_FILTER_LEAST = 24  # a filter is cut to no fewer characters before other pieces go


class StatusLine(Static):
    """One line of facts: files, records, malformed, shown, time span, following, indexing,
    search and filter. A filter too long for the line keeps its end (where one types)."""

    facts: reactive[StatusFacts | None] = reactive(None, layout=False)

    def watch_facts(self, facts: StatusFacts | None) -> None:
        # One line whatever it says: a repaint, not a layout of the whole screen (that cost
        # a third of a core at ten updates a second while a big set loads).
        self.update(self.render_facts(facts), layout=False)

    def on_resize(self) -> None:
        self.update(self.render_facts(self.facts), layout=False)

    def render_facts(self, facts: StatusFacts | None) -> Text:
        """The line for ``facts`` at the widget's width: pieces of the lowest priority are
        left out until the rest fits; the filter is cut in the middle, its last term kept."""
        if facts is None:
            return Text("")
        pieces = [(inert(text), role, rank) for text, role, rank in status_parts(facts)]
        width = self.size.width or 1000

        def needed(kept: list[tuple[str, Role, int]]) -> int:
            """Cells the pieces take, a filter counted at the least it can be cut to."""
            cells = 1 + 3 * max(0, len(kept) - 1)
            for text, role, _ in kept:
                cells += (
                    min(len(text), _FILTER_LEAST) + len("filter ")
                    if role == "filter"
                    else len(text)
                )
            return cells

        while len(pieces) > 1 and needed(pieces) > width:
            pieces.remove(min(pieces, key=lambda piece: piece[2]))
        line = Text()
        for number, (text, role, _) in enumerate(pieces):
            if number:
                line.append(_SEPARATOR)
            else:
                text = " " + text
            if role == "filter":
                line.append("filter ", ink(STYLES["filter-label"], self.app.no_color))
                room = width - line.cell_len - 1
                text = _cut_middle(text, room)
            line.append(text, ink(STYLES[role], self.app.no_color))
        return line


def _cut_middle(text: str, room: int) -> str:
    """``text`` in ``room`` characters: its start, ``…``, and its end (the last term whole
    when it fits)."""
    if room <= 0 or len(text) <= room:
        return text if room > 0 else ""
    last = text.rsplit(" ", 1)[-1]
    tail = last if len(last) < room - 4 else text[len(text) - (room - 1) // 2 :]
    head = text[: max(0, room - 1 - len(tail))]
    return head + "…" + tail
