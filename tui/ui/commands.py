"""The command palette's viewer commands (ctrl+p), namespaced like ``filter: ...``."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

#: (title, what it does, the app action it runs).
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("filter: edit", "Open the filter bar", "open_filter"),
    ("filter: hide or show health probes", "Toggle -path:/status", "toggle_probes"),
    ("filter: only this client", "Keep the cursor record's client", "quick('client', False)"),
    ("filter: exclude this client", "Hide the cursor record's client", "quick('client', True)"),
    ("filter: only this user", "Keep the cursor record's IAM principal", "quick('user', False)"),
    ("filter: exclude this user", "Hide the cursor record's IAM principal", "quick('user', True)"),
    ("filter: only this type", "Keep the cursor record's connection type", "quick('type', False)"),
    ("filter: only this language", "Keep the cursor record's language", "quick('lang', False)"),
    ("filter: failed authentications", "Add auth:failed", "add_term('auth:failed')"),
    ("filter: clear all", "Remove every filter", "clear_filters"),
    ("search: find text", "Highlight and jump between matches", "open_search"),
    ("view: toggle detail", "Show or hide the detail pane", "toggle_detail"),
    ("view: detail beside or below", "Move the detail pane", "toggle_layout"),
    ("view: raw line", "Detail shows the raw log line", "toggle_raw"),
    ("view: UTC or local time", "Switch the time zone of times", "toggle_time"),
    ("view: go to time", "Jump to the first record at or after a time", "goto_time"),
    ("view: choose columns", "Show or hide table columns", "choose_columns"),
    ("view: follow or stop following", "Tail the files as they grow", "toggle_follow"),
    ("view: overview", "Counts, top values and operations of what is shown", "overview"),
    ("view: timeline line", "Show or hide the timeline under the table", "toggle_timeline"),
    ("view: show or mask credentials", "Credentials in clear, or masked again", "toggle_secrets"),
    ("view: more of a long query", "Show more of the query in the detail", "detail_more"),
    ("record: write what is shown to a file", "Export as JSON lines or CSV", "export"),
    ("record: copy", "Copy the raw record (OSC 52)", "copy_record"),
    ("record: query in $PAGER", "Open the whole query in a pager", "open_pager"),
    ("record: mark or unmark", "Mark the cursor record", "toggle_mark"),
    ("record: next mark", "Go to the next marked record", "next_mark(1)"),
    ("record: previous mark", "Go to the previous marked record", "next_mark(-1)"),
    ("record: next malformed entry", "Go to the next malformed entry", "next_malformed(1)"),
    ("record: previous malformed entry", "Go to the previous one", "next_malformed(-1)"),
    ("help: keys", "Every key and what it does", "help"),
    ("aws: stop Logs Insights", "Stop the run feeding the view (StopQuery)", "cancel_remote"),
)


class ViewerCommands(Provider):
    """Every viewer command, found by fuzzy match."""

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, action in COMMANDS:
            score = matcher.match(title)
            if score > 0:
                run = partial(self.app.run_action, action)
                yield Hit(score, matcher.highlight(title), run, help=help_text)

    async def discover(self) -> Hits:
        for title, help_text, action in COMMANDS:
            yield DiscoveryHit(title, partial(self.app.run_action, action), help=help_text)
