"""The filter language: ``parse_filter`` turns text into a syntax tree of ``tui.query.ast`` nodes.

Evaluation is elsewhere; this package only parses, plus the time helpers the language needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names for type checkers; at run time they load on first use (below)
    from tui.query.ast import (
        AUTH_VALUES,
        FIELDS,
        LANG_VALUES,
        And,
        FieldMatch,
        Last,
        MatchAll,
        Node,
        Not,
        Or,
        Regex,
        Span,
        Text,
        TimeBound,
    )
    from tui.query.errors import FilterError
    from tui.query.parser import parse_filter
    from tui.query.timeparse import (
        ago,
        display_time,
        format_time_us,
        parse_duration,
        parse_moment,
        parse_time,
    )

#: The module each name comes from. A name's module is imported when the name is first
#: asked for, so a command that reads ``tui.query.errors`` alone (``stats`` of a small
#: file, with no filter) does not pay for the parser, the syntax tree and RE2.
_HOMES = {
    **dict.fromkeys(
        ("AUTH_VALUES", "FIELDS", "LANG_VALUES", "And", "FieldMatch", "Last", "MatchAll",
         "Node", "Not", "Or", "Regex", "Span", "Text", "TimeBound"),
        "ast",
    ),
    "FilterError": "errors",
    "parse_filter": "parser",
    **dict.fromkeys(
        ("ago", "display_time", "format_time_us", "parse_duration", "parse_moment",
         "parse_time"),
        "timeparse",
    ),
}  # fmt: skip


def __getattr__(name: str) -> Any:
    """The public name ``name``, its module imported on first use."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


# Listed, not derived from _HOMES: type checkers read only a literal list as the exports.
__all__ = [
    "AUTH_VALUES",
    "FIELDS",
    "LANG_VALUES",
    "And",
    "FieldMatch",
    "FilterError",
    "Last",
    "MatchAll",
    "Node",
    "Not",
    "Or",
    "Regex",
    "Span",
    "Text",
    "TimeBound",
    "ago",
    "display_time",
    "format_time_us",
    "parse_duration",
    "parse_filter",
    "parse_moment",
    "parse_time",
]
