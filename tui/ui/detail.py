"""The detail pane: one record pretty-printed, all text from the log shown inert.

Sections: summary (time, hosts, type, request, agent), identity (the ARN's parts and the
auth result), the query, syntax-highlighted by language, then the HTTP header as an aligned
table and the auth context (pygments: SPARQL, openCypher, our Gremlin lexer; JSON bodies
pretty-printed). A key switches to the raw line. Every string from the log goes through
``inert`` and into ``rich.text.Text``, which never interprets markup.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from typing import ClassVar

from pygments.lexer import Lexer
from pygments.lexers import CypherLexer, JsonLexer, SparqlLexer
from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.style import Style
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.model.record import Entry, Malformed, Record
from tui.model.text import inert
from tui.query import ago, display_time
from tui.ui.gremlin_lexer import GremlinLexer
from tui.view.search import SearchSpec

SECTION = Style(bold=True)
LABEL = Style(dim=True)
OK = Style(color="green", bold=True)
FAILED = Style(color="red", bold=True)
MATCH = Style(reverse=True)
SYNTAX_THEME = "monokai"


_LEXERS: dict[str | None, type[Lexer]] = {
    "gremlin": GremlinLexer,
    "sparql": SparqlLexer,
    "opencypher": CypherLexer,
}


def lexer_for(lang: str | None) -> Lexer | None:
    """The pygments lexer for a query language, if it has one."""
    chosen = _LEXERS.get(lang)
    return chosen() if chosen is not None else None


def _text(value: object, style: Style | str = "") -> Text:
    return Text(inert(str(value), multiline=True), style=style)


def _pairs(rows: Iterable[tuple[str, object]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style=LABEL, no_wrap=True)
    table.add_column(overflow="fold")
    for label, value in rows:
        table.add_row(Text(label), value if isinstance(value, Text) else _text(value))
    return table


def _section(title: str, body: RenderableType) -> list[RenderableType]:
    return [Text(title, style=SECTION), Padding(body, (0, 0, 1, 2))]


def _highlight(text: Text, pattern: SearchSpec | None) -> Text:
    if pattern is not None:
        for start, end in pattern.spans(text.plain):
            text.stylize(MATCH, start, end)
    return text


def _code(code: str, lexer: Lexer | None, pattern: SearchSpec | None) -> RenderableType:
    """Highlighted code; with a search active, plain text with the matches marked."""
    code = inert(code, multiline=True)
    if lexer is None or pattern is not None:
        return _highlight(Text(code), pattern)
    return Syntax(code, lexer, theme=SYNTAX_THEME, word_wrap=True, background_color="default")


def _pretty_json(text: str) -> str | None:
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


def build_detail(
    entry: Entry,
    *,
    instance: str = "",
    local_time: bool = False,
    raw: bool = False,
    search: SearchSpec | None = None,
    now_us: int | None = None,
) -> RenderableType:
    """The detail renderable for an entry."""
    now = now_us if now_us is not None else int(time.time() * 1_000_000)
    if isinstance(entry, Malformed):
        parts: list[RenderableType] = [
            Text("Malformed entry", style=FAILED),
            _pairs([("reason", entry.reason), ("source", f"{entry.source}:{entry.line}")]),
            Text(""),
            *_section("Raw text", _highlight(_text(entry.raw), search)),
        ]
        return Group(*parts)
    record = entry
    if raw:
        return Group(
            Text(f"Raw line  {record.source}:{record.line}", style=SECTION),
            Padding(_highlight(_text(record.raw), search), (0, 0, 0, 2)),
        )
    stamp = display_time(record.epoch_us, local=local_time, digits=6)
    zone = "local" if local_time else "UTC"
    summary: list[tuple[str, object]] = [
        ("time", Text.assemble(f"{stamp} {zone} ", (f"({ago(record.epoch_us, now)})", LABEL))),
        ("client", record.client.raw if record.client else "-"),
        ("server", record.server.raw if record.server else "-"),
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
    parts = [*_section("Summary", _pairs(summary))]

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
    parts += _section("Identity", _pairs(identity))
    parts += _query_sections(record, search)

    if record.request is not None:
        request = record.request
        rows: list[tuple[str, object]] = []
        if request.summary:
            rows.append(("netty", request.summary))
        if request.method:
            line = " ".join(p for p in (request.method, request.target, request.version) if p)
            rows.append(("request", line))
        rows.extend((name or "(text)", value) for name, value in request.headers)
        parts += _section("HTTP header", _pairs(rows))
    elif record.header_raw:
        parts += _section("HTTP header", _text(record.header_raw))

    if record.auth_context is not None:
        parts += _section("Auth context", _context_table(record.auth_context))
    elif record.auth_raw:
        parts += _section("Auth context", _text(record.auth_raw))
    return Group(*parts)


def _context_table(context: Mapping[str, object]) -> Table:
    return _pairs(
        (str(key), value if isinstance(value, str) else json.dumps(value))
        for key, value in context.items()
    )


def _query_sections(record: Record, search: SearchSpec | None) -> list[RenderableType]:
    query = record.query
    lang = record.lang
    if query is not None:
        title = f"Query · {lang or 'unknown language'} · from {query.form}"
        parts = _section(title, _code(query.text, lexer_for(lang), search))
        shown = [(k, v) for k, v in query.parameters if (k, v) != ("op", "eval")]
        if shown:
            parameters = []
            for name, value in shown:
                pretty = _pretty_json(value) if value.startswith(("{", "[")) else None
                parameters.append(
                    (name, _code(pretty, JsonLexer(), search) if pretty else _text(value))
                )
            parts += _section("Parameters", _pairs(parameters))
        return parts
    if record.payload:
        pretty = _pretty_json(record.payload)
        body = (
            _code(pretty, JsonLexer(), search)
            if pretty
            else _highlight(_text(record.payload), search)
        )
        return _section("Payload (no query)", body)
    return []


class DetailPane(VerticalScroll, can_focus=True):
    """Scrollable detail of the cursor's entry.

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
    ]

    def compose(self) -> ComposeResult:
        yield Static(id="detail-body")

    def show(self, renderable: RenderableType) -> None:
        """Replace the content and scroll to the top."""
        self.query_one("#detail-body", Static).update(renderable)
        self.scroll_home(animate=False)
