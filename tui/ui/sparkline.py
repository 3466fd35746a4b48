"""The one-line timeline under the status line: the filtered records over time, the
cursor's moment marked (``T`` shows or hides it)."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from tui.index.stats import Timeline, sparkline
from tui.query import display_time
from tui.ui.ink import ink

_MARK = Style(reverse=True, bold=True)
_FAILED = Style(color="red", underline=True)  # underlined: seen without colour too


class TimelineLine(Widget):
    """Records per bucket as one line of bars; buckets with failed authentications red and
    underlined, the cursor's bucket reversed."""

    DEFAULT_CSS = """
    TimelineLine {
        height: 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.timeline: Timeline | None = None
        self.cursor_us: int | None = None
        self.local_time = False

    def show(self, timeline: Timeline | None) -> None:
        """Draw ``timeline``."""
        self.timeline = timeline
        self.refresh()

    def mark(self, cursor_us: int | None) -> None:
        """Mark the bucket of the cursor's time."""
        if cursor_us != self.cursor_us:
            self.cursor_us = cursor_us
            self.refresh()

    def render(self) -> Text:
        timeline = self.timeline
        if timeline is None:
            return Text("")
        start = display_time(timeline.start_us, local=self.local_time, digits=0, compact=True)
        # The end's date only when it is another day than the start's ("MM-DD hh:mm:ss").
        end_label = display_time(
            timeline.start_us + timeline.bucket_us * len(timeline.total),
            local=self.local_time, digits=0, compact=True,
        )  # fmt: skip
        width = max(0, self.size.width - len(start) - len(end_label) - 4)
        total = timeline.total[:width]
        end_us = timeline.start_us + timeline.bucket_us * len(total)
        label = display_time(end_us, local=self.local_time, digits=0, compact=True)
        if label[:5] == start[:5]:
            label = label[6:]
        bars = sparkline(total)
        line = Text(f" {start} ", style="dim")
        marked = timeline.bucket_of(self.cursor_us) if self.cursor_us is not None else -1
        no_color = self.app.no_color
        for number, char in enumerate(bars):
            style = Style() if no_color else Style(color="cyan")
            if timeline.failed[number]:
                style = ink(_FAILED, no_color)
            if number == marked:
                style += _MARK
            line.append(char if char != " " or number != marked else "▏", style)
        line.append(f" {label}", style="dim")
        return line
