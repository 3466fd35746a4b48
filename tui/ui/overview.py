"""The overview (``i``): what the filtered records hold, counted, with a timeline.

A timeline of the filtered set across its time span (failed authentications and deletes
marked in their colours) and top lists: users, clients, instances, operations, query shapes
(with an example each), paths, failed authentications per user, types and languages. Every
row shows its count and share. Enter on a row keeps only its records, ``-`` hides them; in
the timeline, ←/→ choose a bucket and Enter narrows the view to its time range. The counts
are computed by the app in a worker (the same code as ``neptune-audit stats``) and handed
to the screen, which is usable meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from tui.index.stats import Stats, Timeline
from tui.model.fields import parse_arn
from tui.model.record import AUTH_NAMES
from tui.model.secrets import mask_text
from tui.model.text import inert
from tui.query import display_time
from tui.ui.ink import ink
from tui.view.status import plural

_BARS = " ▁▂▃▄▅▆▇█"
_FAILED_GLYPH = "×"  # marks a bucket with failed authentications
_DELETE_GLYPH = "◆"  # marks a bucket with deletes
_TIMELINE_ROWS = 5


@dataclass(frozen=True)
class OverviewChoice:
    """What the user picked: keep or hide the records of ``field`` = ``value`` (more than
    one term for a combined row), or the time range ``[start_us, end_us)``."""

    terms: tuple[tuple[str, str], ...] = ()
    exclude: bool = False
    start_us: int | None = None
    end_us: int | None = None


@dataclass(frozen=True)
class Section:
    """A top list: its title, and per row the filter terms it stands for, the text shown
    and the count; shares are of ``whole`` when given (else of the records counted)."""

    key: str
    title: str
    rows: tuple[tuple[tuple[tuple[str, str], ...], str, int], ...]
    whole: int | None = None


def sections_of(stats: Stats, *, reveal: bool) -> list[Section]:
    """The overview's top lists from ``stats``."""

    def shown(value: str) -> str:
        return inert(value if reveal else mask_text(value))

    def simple(key: str, title: str, field: str, items: list[tuple[str, int]]) -> Section:
        return Section(key, title, tuple((((field, v),), shown(v), n) for v, n in items))

    def principal(arn: str) -> str:
        return shown(parse_arn(arn).short)

    sections = [
        Section(
            "users",
            "Users",
            tuple(((("user", arn),), principal(arn), count) for arn, count in stats.top_users),
        ),
        simple("clients", "Clients", "client", stats.top_clients),
        simple("instances", "Instances", "instance", stats.top_instances),
        simple("ops", "Operations", "op", list(stats.by_op.items())),
        Section(
            "shapes",
            "Query shapes",
            tuple(
                ((("fp", fp),), f"{fp}  {shown(example)}", count)
                for fp, count, example in stats.top_fingerprints
            ),
        ),
        simple("paths", "Paths", "path", stats.top_paths),
        Section(
            "failed",
            "Failed authentications by user",
            tuple(
                ((("user", user), ("auth", "failed")), principal(user), count)
                for user, count in stats.failed_by_user
            ),
            whole=stats.by_auth.get(AUTH_NAMES[False], 0),  # shares of the failures
        ),
        simple("types", "Connection types", "type", list(stats.by_type.items())),
        simple("langs", "Languages", "lang", list(stats.by_lang.items())),
    ]
    return [section for section in sections if section.rows]


class TimelineChart(Widget, can_focus=True):
    """Records per bucket as bars; failed authentications and deletes marked below.

    | key | action |
    |---|---|
    | left / h, right / l | choose a bucket |
    | enter | narrow the view to the bucket's time range |
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left,h", "move(-1)", "Earlier", show=False, id="timeline.left"),
        Binding("right,l", "move(1)", "Later", show=False, id="timeline.right"),
        Binding("home", "move(-1000000)", "First", show=False, id="timeline.first"),
        Binding("end", "move(1000000)", "Last", show=False, id="timeline.last"),
        Binding("enter", "choose", "Narrow to it", id="timeline.choose"),
    ]

    DEFAULT_CSS = """
    TimelineChart {
        height: 9;
    }
    """

    selected: reactive[int] = reactive(-1)

    @dataclass
    class Chosen(Message):
        """A bucket was chosen: its time range."""

        start_us: int
        end_us: int

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.timeline: Timeline | None = None
        self.local_time = False
        self.counted = False  # nothing to say before the first count

    def show(self, timeline: Timeline | None, *, local_time: bool) -> None:
        """Draw ``timeline``."""
        self.timeline = timeline
        self.counted = True
        self.local_time = local_time
        if timeline is not None and not 0 <= self.selected < len(timeline.total):
            self.selected = len(timeline.total) - 1
        self.refresh()

    def action_move(self, step: int) -> None:
        if self.timeline is not None:
            self.selected = max(0, min(len(self.timeline.total) - 1, self.selected + step))

    def action_choose(self) -> None:
        timeline = self.timeline
        if timeline is not None and self.selected >= 0:
            start = timeline.start_us + self.selected * timeline.bucket_us
            self.post_message(self.Chosen(start, start + timeline.bucket_us))

    def watch_selected(self) -> None:
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        if self.timeline is not None and 0 <= event.x < len(self.timeline.total):
            self.selected = event.x
        self.focus()

    def render(self) -> Text:
        timeline = self.timeline
        if timeline is None or not timeline.total:
            return Text("no records" if self.counted else "", style="dim")
        width = max(self.size.width, 1)
        total = timeline.total[:width]
        most = max(total) or 1
        levels = [(value * _TIMELINE_ROWS * 8 + most - 1) // most for value in total]
        no_color = self.app.no_color
        bar = Style() if no_color else Style(color="cyan")
        chosen = Style(reverse=True)
        focus = self.has_focus
        lines = Text()
        for row in range(_TIMELINE_ROWS - 1, -1, -1):
            for column, level in enumerate(levels):
                fill = max(0, min(8, level - row * 8))
                char = _BARS[fill] if fill else " "
                style = bar + chosen if focus and column == self.selected else bar
                lines.append(char, style)
            lines.append("\n")
        failed = timeline.failed[:width]
        deletes = timeline.deletes[:width] if timeline.deletes else ()
        # One row each, with its own glyph: readable without colour, and a bucket with
        # both shows both.
        for marks, glyph, color in (
            (failed, _FAILED_GLYPH, "red"),
            (deletes, _DELETE_GLYPH, "magenta"),
        ):
            for column in range(len(total)):
                marked = column < len(marks) and marks[column]
                lines.append(glyph if marked else " ", ink(Style(color=color, bold=True), no_color))
            lines.append("\n")
        lines.append_text(self._legend(len(total)))
        return lines

    def _legend(self, buckets: int) -> Text:
        timeline = self.timeline
        assert timeline is not None
        local = self.local_time
        start = display_time(timeline.start_us, local=local, digits=0, compact=True)
        end = display_time(
            timeline.start_us + buckets * timeline.bucket_us, local=local, digits=0, compact=True
        )
        legend = Text(f"{start} … {end}  ", style="" if self.app.no_color else "dim")
        if 0 <= self.selected < buckets:
            moment = timeline.start_us + self.selected * timeline.bucket_us
            count = timeline.total[self.selected]
            when = display_time(moment, local=local, digits=0, compact=True)
            legend.append(f"▶ {when}: {plural(count, 'record')}", style="bold")
            if timeline.failed[self.selected]:
                legend.append(f", {timeline.failed[self.selected]:,} failed auth", "bold red")
            if timeline.deletes and timeline.deletes[self.selected]:
                deletes = plural(timeline.deletes[self.selected], "delete")
                legend.append(f", {deletes}", "bold magenta")
        no_color = self.app.no_color
        legend.append("   ")
        legend.append(_FAILED_GLYPH, ink(Style(color="red", bold=True), no_color))
        legend.append(" failed authentication")
        legend.append("  ")
        legend.append(_DELETE_GLYPH, ink(Style(color="magenta", bold=True), no_color))
        legend.append(" delete")
        return legend


class TopList(OptionList):
    """One top list: count, share and value per row; enter keeps, ``-`` hides."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("minus", "exclude", "Hide these", id="overview.exclude"),
    ]

    @dataclass
    class Picked(Message):
        """A row was picked."""

        terms: tuple[tuple[str, str], ...]
        exclude: bool

    def __init__(self, section: Section, total: int) -> None:
        self.section = section
        super().__init__(*self._prompts(section, total), id=f"top-{section.key}")
        self.border_title = section.title

    @staticmethod
    def _prompts(section: Section, total: int) -> list[Option]:
        options = []
        whole = section.whole if section.whole is not None else total
        for number, (_, text, count) in enumerate(section.rows):
            share = 100 * count / whole if whole else 0.0
            prompt = Text(no_wrap=True, overflow="ellipsis")
            prompt.append(f"{count:>9,} ", "bold")
            prompt.append(f"{share:5.1f}% ", "dim")
            prompt.append(text)
            options.append(Option(prompt, id=str(number)))
        return options

    def update(self, section: Section, total: int) -> None:
        """Show new counts, keeping the highlighted row where it can."""
        highlighted = self.highlighted
        self.section = section
        self.clear_options()
        self.add_options(self._prompts(section, total))
        if highlighted is not None and self.option_count:
            self.highlighted = min(highlighted, self.option_count - 1)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._pick(exclude=False)

    def action_exclude(self) -> None:
        self._pick(exclude=True)

    def _pick(self, *, exclude: bool) -> None:
        if self.highlighted is not None:
            terms = self.section.rows[self.highlighted][0]
            self.post_message(self.Picked(terms, exclude))


class OverviewScreen(Screen[OverviewChoice | None]):
    """The overview of the filtered records.

    | key | action |
    |---|---|
    | tab / shift+tab | next / previous list |
    | enter | keep only the row's records (in the timeline: its time range) |
    | - | hide the row's records |
    | escape / i / q | back to the table |
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,i,q", "close", "Back", id="overview.close"),
    ]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title
        self.stats: Stats | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="overview"):
            yield Static(Text(self.title_text, style="bold"), id="overview-title")
            yield TimelineChart(id="timeline-chart")
            with VerticalScroll(id="overview-lists", can_focus=False):
                yield Static(Text("counting…", style="dim"), id="overview-wait")
                yield Grid(id="overview-grid")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(TimelineChart).focus()

    def set_note(self, note: str) -> None:
        """Say how far the counting is, after the title."""
        self.query_one("#overview-title", Static).update(
            Text.assemble((self.title_text, "bold"), ("  " + note, "dim"))
        )

    def show_stats(self, stats: Stats, *, reveal: bool, local_time: bool, note: str) -> None:
        """Draw (or redraw, as records arrive) the counts."""
        self.stats = stats
        self.set_note(note)
        self.query_one(TimelineChart).show(stats.timeline, local_time=local_time)
        self.query_one("#overview-wait", Static).display = False
        grid = self.query_one("#overview-grid", Grid)
        existing = {top.section.key: top for top in grid.query(TopList)}
        for number, section in enumerate(sections_of(stats, reveal=reveal)):
            shown = existing.get(section.key)
            if shown is not None:
                shown.update(section, stats.records)
            else:
                grid.mount(TopList(section, stats.records), before=number)
        self._fit_grid()

    def on_resize(self) -> None:
        self._fit_grid()

    def _fit_grid(self) -> None:
        columns = 3 if self.size.width >= 150 else 2 if self.size.width >= 90 else 1
        self.query_one("#overview-grid", Grid).styles.grid_size_columns = columns

    def on_top_list_picked(self, message: TopList.Picked) -> None:
        self.dismiss(OverviewChoice(terms=message.terms, exclude=message.exclude))

    def on_timeline_chart_chosen(self, message: TimelineChart.Chosen) -> None:
        self.dismiss(OverviewChoice(start_us=message.start_us, end_us=message.end_us))

    def action_close(self) -> None:
        self.dismiss(None)
