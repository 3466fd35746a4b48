"""The filter language: ``parse_filter`` turns text into a syntax tree of ``tui.query.ast`` nodes.

Evaluation is elsewhere; this package only parses, plus the time helpers the language needs.
"""

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
