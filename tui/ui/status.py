"""The status line: the view model's facts, drawn when they change."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from tui.model.text import inert
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


class StatusLine(Static):
    """One line of facts: files, records, malformed, shown, time span, following, indexing,
    search and filter. A filter too long for the line keeps its end (where one types)."""

    facts: reactive[StatusFacts | None] = reactive(None, layout=False)

    def watch_facts(self, facts: StatusFacts | None) -> None:
        self.update(self.render_facts(facts))

    def on_resize(self) -> None:
        self.update(self.render_facts(self.facts))

    def render_facts(self, facts: StatusFacts | None) -> Text:
        """The line for ``facts`` at the widget's width."""
        if facts is None:
            return Text("")
        pieces = [(inert(text), role) for text, role in status_parts(facts)]
        line = Text()
        for number, (text, role) in enumerate(pieces):
            if number:
                line.append(_SEPARATOR)
            else:
                text = " " + text
            if role == "filter":
                line.append("filter ", STYLES["filter-label"])
                room = self.size.width - line.cell_len - 1
                if 0 < room < len(text):
                    text = "…" + text[len(text) - room + 1 :]
            line.append(text, STYLES[role])
        return line
