"""The detail pane: one record pretty-printed, all text from the log shown inert.

Sections: summary (time, hosts, type, request, agent), identity (the ARN's parts and the
auth result), the query, syntax-highlighted by language, then the HTTP header as an aligned
table and the auth context (pygments: SPARQL, openCypher, our Gremlin lexer; JSON bodies
pretty-printed). A key switches to the raw line. Every string from the log goes through
``inert`` and into ``rich.text.Text``, which never interprets markup.

Sizes are bounded, so that no record, however large, costs the UI more than a few
milliseconds: ``build_detail`` runs in a worker thread, highlights at most ``query_limit``
characters of the query (more on request), cuts every other value at ``FIELD_SHOWN``
characters, and never lexes an unbroken run longer than ``LONG_TOKEN`` characters (pygments'
regex lexers take quadratic time on such runs): those are shown plain.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

from pygments.lexer import Lexer
from pygments.lexers import CypherLexer, JsonLexer, SparqlLexer
from pygments.token import _TokenType
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.style import Style
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.model.gremlin_lexer import GremlinLexer
from tui.model.record import Entry, Malformed, Record
from tui.model.text import inert
from tui.query import ago, display_time
from tui.ui.scrolling import set_virtual_size
from tui.view.search import SearchSpec

SECTION = Style(bold=True)
LABEL = Style(dim=True)
OK = Style(color="green", bold=True)
FAILED = Style(color="red", bold=True)
MATCH = Style(reverse=True)
SYNTAX_THEMES = {True: "monokai", False: "friendly"}  # on a dark and a light background

#: Characters of a query highlighted at first (``+`` shows more; ``o`` opens a pager).
QUERY_SHOWN = 64 * 1024
#: Characters of a query the pane shows at most, after ``+`` (the pager shows it whole).
QUERY_MOST = 16 * QUERY_SHOWN
#: Characters shown of any other value (a header, an auth context entry, a raw line).
FIELD_SHOWN = 8 * 1024
#: Longest unbroken run of characters given to a lexer.
LONG_TOKEN = 512
_THEMES = {dark: Syntax.get_theme(name) for dark, name in SYNTAX_THEMES.items()}
_STYLES: dict[tuple[_TokenType, bool], Style] = {}
_LONG_RUN = re.compile(r"\S{" + str(LONG_TOKEN + 1) + ",}")


_LEXERS: dict[str | None, type[Lexer]] = {
    "gremlin": GremlinLexer,
    "sparql": SparqlLexer,
    "opencypher": CypherLexer,
}


def lexer_for(lang: str | None) -> Lexer | None:
    """The pygments lexer for a query language, if it has one."""
    chosen = _LEXERS.get(lang)
    return chosen(stripnl=False, ensurenl=False) if chosen is not None else None


def _json_lexer() -> Lexer:
    lexer: Lexer = JsonLexer(stripnl=False, ensurenl=False)
    return lexer


def clip(text: str, limit: int) -> tuple[str, int]:
    """At most ``limit`` characters of ``text``, and how many were left out."""
    if len(text) <= limit:
        return text, 0
    return text[:limit], len(text) - limit


def _size(characters: int) -> str:
    return f"{characters / 1024:,.0f} KB" if characters >= 10 * 1024 else f"{characters:,} chars"


def _text(value: object, style: Style | str = "", limit: int = FIELD_SHOWN) -> Text:
    shown, hidden = clip(str(value), limit)
    text = Text(inert(shown, multiline=True), style=style)
    if hidden:
        text.append(f" … ({_size(hidden)} more)", style=LABEL)
    return text


def _pairs(rows: Iterable[tuple[str, object]], search: SearchSpec | None = None) -> Table:
    """Labels and their values, the search's matches in the values highlighted."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style=LABEL, no_wrap=True)
    table.add_column(overflow="fold")
    for label, value in rows:
        cell = value if isinstance(value, Text) else _text(value)
        table.add_row(_text(label, limit=200), _highlight(cell, search))
    return table


def _section(title: str, body: RenderableType) -> list[RenderableType]:
    return [Text(title, style=SECTION), Padding(body, (0, 0, 1, 2))]


def _highlight(text: Text, pattern: SearchSpec | None) -> Text:
    if pattern is not None:
        for start, end in pattern.spans(text.plain):
            text.stylize(MATCH, start, end)
    return text


def _token_style(token_type: _TokenType, dark: bool) -> Style:
    """The theme's style for a token, without its background (the pane keeps its own)."""
    style = _STYLES.get((token_type, dark))
    if style is None:
        themed = _THEMES[dark].get_style_for_token(token_type)
        style = Style(
            color=themed.color, bold=themed.bold, italic=themed.italic, underline=themed.underline
        )
        _STYLES[token_type, dark] = style
    return style


def highlight_code(code: str, lexer: Lexer, *, dark: bool = True) -> Text:
    """``code`` highlighted by ``lexer`` in colours for a ``dark`` (or light) background,
    except unbroken runs longer than LONG_TOKEN, which are left plain (the text between
    them is lexed piece by piece)."""
    out = Text()
    position = 0
    pieces: list[tuple[str, bool]] = []
    for run in _LONG_RUN.finditer(code):
        pieces += [(code[position : run.start()], True), (run.group(), False)]
        position = run.end()
    pieces.append((code[position:], True))
    for piece, lexed in pieces:
        if not lexed:
            out.append(piece)
            continue
        for token_type, value in lexer.get_tokens(piece):
            out.append(value, _token_style(token_type, dark))
    return out


def _code(
    code: str,
    lexer: Lexer | None,
    pattern: SearchSpec | None,
    limit: int = FIELD_SHOWN,
    *,
    dark: bool = True,
) -> RenderableType:
    """Highlighted code (at most ``limit`` characters of it, with a note of the rest); with
    a search active, plain text with the matches marked."""
    shown, hidden = clip(code, limit)
    shown = inert(shown, multiline=True)
    text = _highlight(Text(shown), pattern) if lexer is None or pattern is not None else None
    if text is None:
        assert lexer is not None
        text = highlight_code(shown, lexer, dark=dark)
    if not hidden:
        return text
    total = len(code)
    more = " · + shows more" if limit < QUERY_MOST else ""
    note = Text(
        f"showing {_size(len(shown))} of {_size(total)}{more} · o opens it in a pager",
        style=Style(color="yellow", bold=True),
    )
    return Group(note, text, note)


def _pretty_json(text: str) -> str | None:
    if len(text) > QUERY_SHOWN:
        return None  # shown as sent, cut: re-indenting it would cost as much as the rest
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return json.dumps(document, indent=2, ensure_ascii=False)


def _auth_result(record: Record) -> Text:
    if record.auth_ok is True:
        return Text("✓ authenticated", style=OK)
    if record.auth_ok is False:
        return Text("✗ authentication failed", style=FAILED)
    return Text("IAM authentication off (no auth context)", style=LABEL)


@dataclass(frozen=True)
class DetailOptions:
    """How to show an entry: its instance, time zone, raw or parsed, the search to mark, the
    clock (for "3 min ago"), how much of the query to show and whether the background is
    dark (for the colours of the query)."""

    instance: str = ""
    local_time: bool = False
    raw: bool = False
    search: SearchSpec | None = None
    now_us: int | None = None
    query_limit: int = QUERY_SHOWN
    dark: bool = True


def build_detail(entry: Entry, options: DetailOptions | None = None) -> RenderableType:
    """The detail renderable for an entry (safe to build in a worker thread)."""
    options = options if options is not None else DetailOptions()
    search, limit = options.search, options.query_limit
    now = options.now_us if options.now_us is not None else int(time.time() * 1_000_000)
    if isinstance(entry, Malformed):
        parts: list[RenderableType] = [
            Text("Malformed entry", style=FAILED),
            _pairs([("reason", entry.reason), ("source", f"{entry.source}:{entry.line}")], search),
            Text(""),
            *_section("Raw text", _code(entry.raw, None, search, limit)),
        ]
        return Group(*parts)
    record = entry
    instance, local_time = options.instance, options.local_time
    if options.raw:
        return Group(
            Text.assemble(("Raw line  ", SECTION), inert(f"{record.source}:{record.line}")),
            Padding(_code(record.raw, None, search, limit), (0, 0, 0, 2)),
        )
    stamp = display_time(record.epoch_us, local=local_time, digits=6)
    zone = "local" if local_time else "UTC"
    summary: list[tuple[str, object]] = [
        ("time", Text.assemble(f"{stamp} {zone} ", (f"({ago(record.epoch_us, now)})", LABEL))),
        ("client", _host_text(record.client.raw) if record.client else "-"),
        ("server", _host_text(record.server.raw) if record.server else "-"),
    ]
    if instance:
        summary.append(("instance", instance))
    type_text = _text(record.conn_type or "-")
    if not record.type_known:
        type_text.append("  (not a documented connection type)", style=LABEL)
    summary.append(("type", type_text))
    if record.method or record.path:
        target = record.request.target if record.request and record.request.target else record.path
        summary.append(("request", f"{record.method or ''} {target or ''}".strip()))
    if record.user_agent:
        summary.append(("agent", record.user_agent))
    summary.append(("source", f"{record.source}:{record.line}"))
    parts = [*_section("Summary", _pairs(summary, search))]

    identity: list[tuple[str, object]] = []
    if record.principal is not None:
        principal = record.principal
        identity.append(("arn", principal.arn))
        for label, value in (
            ("account", principal.account),
            ("kind", principal.kind),
            ("name", principal.name),
            ("session", principal.session),
        ):
            if value:
                identity.append((label, value))
    identity.append(("auth", _auth_result(record)))
    parts += _section("Identity", _pairs(identity, search))
    parts += _query_sections(record, search, limit, options.dark)

    if record.request is not None:
        request = record.request
        rows: list[tuple[str, object]] = []
        if request.summary:
            rows.append(("netty", request.summary))
        if request.method:
            line = " ".join(p for p in (request.method, request.target, request.version) if p)
            rows.append(("request", line))
        rows.extend((name or "(text)", value) for name, value in request.headers)
        parts += _section("HTTP header", _pairs(rows, search))
    elif record.header_raw:
        parts += _section("HTTP header", _text(record.header_raw))

    if record.auth_context is not None:
        parts += _section("Auth context", _context_table(record.auth_context, search))
    elif record.auth_raw:
        parts += _section("Auth context", _text(record.auth_raw))
    return Group(*parts)


def _host_text(raw: str) -> Text:
    """A host field as ``address:port  host-name`` (Java's ``name/address:port``): a narrow
    pane wraps between the two, never inside the port."""
    name, slash, rest = raw.rpartition("/")
    if not slash or not name or not rest:
        return _text(raw)
    text = _text(rest)
    text.append_text(_text(f"  {name}", LABEL))
    return text


def _context_table(context: Mapping[str, object], search: SearchSpec | None) -> Table:
    return _pairs(
        (
            (str(key), value if isinstance(value, str) else json.dumps(value))
            for key, value in context.items()
        ),
        search,
    )


def _query_sections(
    record: Record, search: SearchSpec | None, limit: int, dark: bool
) -> list[RenderableType]:
    query = record.query
    lang = record.lang
    if query is not None:
        title = f"Query · {lang or 'unknown language'} · from {query.form}"
        if len(query.text) > FIELD_SHOWN:
            title += f" · {_size(len(query.text))}"
        parts = _section(title, _code(query.text, lexer_for(lang), search, limit, dark=dark))
        shown = [(k, v) for k, v in query.parameters if (k, v) != ("op", "eval")]
        if shown:
            parameters = []
            for name, value in shown:
                pretty = _pretty_json(value) if value.startswith(("{", "[")) else None
                parameters.append(
                    (
                        name,
                        _code(pretty, _json_lexer(), search, dark=dark) if pretty else _text(value),
                    )
                )
            parts += _section("Parameters", _pairs(parameters, search))
        return parts
    if record.payload:
        pretty = _pretty_json(record.payload)
        lexer = _json_lexer() if pretty else None
        body = _code(pretty or record.payload, lexer, search, limit, dark=dark)
        return _section("Payload (no query)", body)
    return []


class Drawing(NamedTuple):
    """What a record's lines are drawn for: the pane's text width and base style."""

    width: int
    style: Style


def draw_lines(content: RenderableType, drawing: Drawing, console: Console) -> list[Strip]:
    """``content`` as lines of ``drawing.width`` cells (Rich renders without shared state:
    a worker thread may do it)."""
    if drawing.width <= 0:
        return []
    options = console.options.update(width=drawing.width, highlight=False)
    rendered = console.render_lines(content, options, style=drawing.style)
    return [Strip(line, drawing.width) for line in rendered]


class DetailPane(ScrollView, can_focus=True):
    """Scrollable detail of the cursor's entry. The record is drawn into lines once per
    record (and per width), and those lines scroll: a new record changes what the pane
    scrolls over, never the screen's layout (a layout of the whole screen each time the
    cursor moved cost 10-50 ms).

    | key | action |
    |---|---|
    | up / k, down / j | scroll |
    | page up, page down | scroll a page |
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "scroll_up", "Scroll up", show=False, id="detail.up"),
        Binding("down,j", "scroll_down", "Scroll down", show=False, id="detail.down"),
        Binding("home,g", "scroll_home", "Top", show=False, id="detail.top"),
        Binding("end,G", "scroll_end", "Bottom", show=False, id="detail.bottom"),
        Binding("pageup", "page_up", "Page up", show=False, id="detail.page_up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="detail.page_down"),
    ]

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self.content: RenderableType = Text("")
        self._lines: list[Strip] = []
        self._drawn = Drawing(-1, Style())  # what the lines were drawn for

    @property
    def drawing(self) -> Drawing:
        """How the content is drawn now (a worker draws a record's lines to match)."""
        return Drawing(self.scrollable_content_region.width, self.rich_style)

    def show(
        self,
        renderable: RenderableType,
        *,
        keep_scroll: bool = False,
        drawn: tuple[Drawing, list[Strip]] | None = None,
    ) -> None:
        """Replace the content and scroll to the top (or stay where the reader is, for the
        same record drawn again). ``drawn``: its lines, drawn in a worker, used if the
        pane is still as wide and coloured as they were drawn for."""
        self.content = renderable
        if drawn is not None and drawn[0] == self.drawing:
            self._take(*drawn)
        else:
            self._draw()
        if not keep_scroll:
            self.scroll_home(animate=False)

    # Home and End at once: the pane knows its length (no layout is pending), so a key
    # that follows acts on where these went (deferred, a quick Home after End was lost).
    def action_scroll_home(self) -> None:
        self.scroll_to(y=0, animate=False)

    def action_scroll_end(self) -> None:
        self.scroll_to(y=self.max_scroll_y, animate=False)

    def on_resize(self) -> None:
        if self.scrollable_content_region.width != self._drawn.width:
            self._draw()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        # A new theme changes the text's colours; focus or hover change only the border.
        if self.is_mounted and self.rich_style != self._drawn.style:
            self._draw()

    def _draw(self) -> None:
        """Render the content into lines as wide as the pane's text, and scroll over them."""
        drawing = self.drawing
        self._take(drawing, draw_lines(self.content, drawing, self.app.console))

    def _take(self, drawing: Drawing, lines: list[Strip]) -> None:
        self._drawn, self._lines = drawing, lines
        set_virtual_size(self, Size(drawing.width, len(lines)))

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        line = self.scroll_offset.y + y  # rounded, as ScrollView decides when to repaint
        if line >= len(self._lines):
            return Strip.blank(width, self.rich_style)
        return self._lines[line].crop_extend(0, width, self.rich_style)
