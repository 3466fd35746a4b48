"""The viewer's key bindings (each with an id: ``keymap.toml`` remaps them by id)."""

from __future__ import annotations

from textual.binding import Binding, BindingType

APP_BINDINGS: list[BindingType] = [
    Binding("q", "quit", "Quit", id="app.quit"),
    Binding("ctrl+c", "quit", "Quit", show=False, priority=True, id="app.interrupt"),
    Binding("question_mark", "help", "Help", id="app.help"),
    # The keys that open an input are priority keys: they act before the keys typed
    # after them are handed on, so those reach the input (a paste, typing over SSH).
    Binding("slash,f", "open_filter", "Filter", priority=True, id="filter.open"),
    Binding("s", "open_search", "Search", priority=True, id="search.open"),
    Binding("n", "search_next(1)", "Next match", show=False, id="search.next"),
    Binding("N", "search_next(-1)", "Previous match", show=False, id="search.previous"),
    Binding("p", "toggle_probes", "Probes", id="filter.probes"),
    Binding("equals_sign", "quick_filter(False)", "Only…", show=False, id="filter.only"),
    Binding("minus", "quick_filter(True)", "Exclude…", show=False, id="filter.exclude"),
    Binding("X", "clear_filters", "Clear filters", show=False, id="filter.clear"),
    Binding("d", "toggle_detail", "Detail", id="view.detail"),
    Binding(
        "left_square_bracket",
        "resize_detail(-1)",
        "Detail smaller",
        show=False,
        id="view.detail_smaller",
    ),
    Binding(
        "right_square_bracket",
        "resize_detail(1)",
        "Detail larger",
        show=False,
        id="view.detail_larger",
    ),
    Binding("vertical_line", "toggle_layout", "Detail beside/below", show=False, id="view.layout"),
    Binding("r", "toggle_raw", "Raw", show=False, id="view.raw"),
    Binding("plus", "detail_more", "More of a long query", show=False, id="detail.more"),
    Binding("o", "open_pager", "Query in $PAGER", show=False, id="detail.pager"),
    Binding("t", "toggle_time", "UTC/local", show=False, id="view.time"),
    Binding("at,ctrl+g", "goto_time", "Go to time", show=False, priority=True, id="view.goto"),
    Binding("c", "choose_columns", "Columns", show=False, id="view.columns"),
    Binding("y", "copy_record", "Copy", show=False, id="record.copy"),
    Binding("F", "toggle_follow", "Follow", id="follow.toggle"),
    Binding("x", "cancel_remote", "Stop Insights", id="aws.cancel"),
    Binding("m", "toggle_mark", "Mark", show=False, id="mark.toggle"),
    Binding("apostrophe", "next_mark(1)", "Next mark", show=False, id="mark.next"),
    Binding("quotation_mark", "next_mark(-1)", "Previous mark", show=False, id="mark.previous"),
    Binding("e", "next_malformed(1)", "Next malformed", show=False, id="malformed.next"),
    Binding("E", "next_malformed(-1)", "Previous malformed", show=False, id="malformed.previous"),
    Binding("w", "export", "Write", id="view.export"),
    Binding("i", "overview", "Overview", id="view.overview"),
    Binding("T", "toggle_timeline", "Timeline line", show=False, id="view.timeline"),
    Binding("S", "toggle_secrets", "Show/mask credentials", show=False, id="view.secrets"),
    Binding("tab", "switch_focus", "Table/detail", show=False, id="view.focus"),
    Binding("escape", "escape", "Clear search", show=False, id="app.escape"),
]
