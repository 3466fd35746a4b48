"""What the viewer shows, with no UI toolkit: filter, rows, search, follow, status facts.

Used by the Textual app (``tui.ui``) and by ``query --follow``; tested without an app.
"""

from tui.view.filters import PROBES, ViewFilter
from tui.view.model import Applied, ViewModel
from tui.view.rows import Counts, RowsRequest, RowsUpdate, compute_rows, count_matches
from tui.view.search import SearchRequest, SearchSpec, SearchUpdate, compute_search
from tui.view.status import StatusFacts, plural, preview_text, status_parts

__all__ = [
    "PROBES",
    "Applied",
    "Counts",
    "RowsRequest",
    "RowsUpdate",
    "SearchRequest",
    "SearchSpec",
    "SearchUpdate",
    "StatusFacts",
    "ViewFilter",
    "ViewModel",
    "compute_rows",
    "compute_search",
    "count_matches",
    "plural",
    "preview_text",
    "status_parts",
]
