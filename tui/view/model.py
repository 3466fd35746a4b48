"""The view model: every decision about what the viewer shows, with no UI toolkit.

``ViewModel`` lives on the UI thread. It holds the filter, the rows it keeps (entry ids in
time order), the cursor, following (tailing the newest row, rows that arrived below the
cursor), the search and the status facts. Work that reads the index in bulk is handed out as
requests (``rows_request``, ``search_request``) that workers run with ``compute_rows`` and
``compute_search``; their answers come back through ``apply_rows`` / ``apply_search``, which
drop stale answers by generation. Nothing here grows with the number of rows on the caller's
thread: cursor bookkeeping uses where new rows were inserted, and lookups by time bisect.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui.index.filtering import FilterResult
from tui.index.index import Index
from tui.index.schema import KIND_RECORD, LANG_NAMES
from tui.query import Node, parse_moment
from tui.view.filters import ViewFilter
from tui.view.rows import (
    EMPTY_IDS,
    I32,
    Counts,
    RowsRequest,
    RowsUpdate,
    inserted_after,
    moved_row,
)
from tui.view.search import SearchRequest, SearchSpec, SearchState, SearchUpdate
from tui.view.status import RemoteProgress, StatusFacts, preview_text


@dataclass(frozen=True)
class Applied:
    """What taking a rows answer did: ``stale`` answers changed nothing; ``again``: more
    entries (or a newer filter) wait for another request."""

    stale: bool
    again: bool


def first_row_at(index: Index, ids: I32, epoch_us: int) -> int:
    """The first row of ``ids`` whose time is at or after ``epoch_us`` (``len(ids)`` when
    none is), by bisection: the rows are in time order."""
    times = index.column("epoch_us")
    low, high = 0, len(ids)
    while low < high:
        middle = (low + high) // 2
        if int(times[ids[middle]]) < epoch_us:
            low = middle + 1
        else:
            high = middle
    return low


class ViewModel:
    """What the viewer shows (UI thread only)."""

    def __init__(
        self,
        index: Index,
        view_filter: ViewFilter | None = None,
        *,
        following: bool = False,
        live_label: str = "",
    ) -> None:
        self.index = index
        self.filter = view_filter if view_filter is not None else ViewFilter()
        self.ids: I32 = EMPTY_IDS
        self.counts = Counts()
        self.cursor_row = 0
        self.user_moved = False  # until the user moves, the cursor stays on the first row
        self.following = following
        self.tailing = following  # the cursor stays on the newest row
        self.new_below = 0  # rows that arrived below the cursor while not tailing
        self.search = SearchState()
        self.marks: set[int] = set()  # entry ids the user marked
        self.loading = True
        self.progress: float | None = None
        self._settling = False  # indexed, but the rows do not cover every entry yet
        self.rate_mb_s: float | None = None
        self.error: str | None = None
        self.live_label = live_label
        self.local_time = False
        self.reveal = False  # credentials in clear
        self.task: str | None = None
        self.remote: RemoteProgress | None = None  # a run in AWS feeding the files
        self._generation = 0
        self._result: FilterResult | None = None
        self._in_flight: int | None = None  # generation of the rows request being computed
        self._pending = False
        self._anchor: int | None = None  # the cursor's entry when the request was made
        self._previewed: tuple[Node, FilterResult] | None = None  # the bar's last preview
        self._seed: FilterResult | None = None  # the preview of the filter just applied

    # -- the filter -------------------------------------------------------------------------

    def set_filter(self, view_filter: ViewFilter) -> None:
        """Show what ``view_filter`` keeps (the next rows request computes it afresh)."""
        self.filter = view_filter
        # The record under the cursor stays under it (or the first at or after its time),
        # moved to or not: filtered down to it, cleared, and the cursor is still on it.
        if self.cursor_entry is not None:
            self.user_moved = True
        self._generation += 1
        self._result = None
        self._pending = True
        previewed = self._previewed
        self._seed = previewed[1] if previewed and previewed[0] == view_filter.combined else None
        self._previewed = None

    def previewed(self, node: Node, result: FilterResult) -> None:
        """What the filter bar's preview of ``node`` found: applied next, the rows start
        from it rather than filter every entry again."""
        self._previewed = (node, result)

    def applied_preview(self) -> str | None:
        """What the filter bar says of the applied filter's own text, known from its rows
        without counting again; None until they came."""
        if self._result is None:
            return None
        return preview_text(self.counts, loading=self.loading)

    @property
    def generation(self) -> int:
        """Changes with every filter; answers for an older one are dropped."""
        return self._generation

    def preview_node(self, text: str) -> Node:
        """What the filter bar's text would evaluate if applied (raises FilterError)."""
        return self.filter.preview(text)

    # -- rows -------------------------------------------------------------------------------

    def rows_request(self) -> RowsRequest | None:
        """The next rows job for a worker; None when nothing changed, or when a job for the
        current filter is running (its answer asks for the next one)."""
        if self._in_flight == self._generation:
            self._pending = True
            return None
        result = self._result
        if result is not None and not self._pending and result.size >= self.index.size:
            return None
        self._in_flight = self._generation
        self._pending = False
        self._anchor = self.cursor_entry
        seed = self._seed if result is None else None  # (a filter's first rows only)
        self._seed = None
        return RowsRequest(
            generation=self._generation,
            node=self.filter.combined,
            previous=result,
            previous_ids=self.ids if result is not None else EMPTY_IDS,
            previous_counts=self.counts if result is not None else Counts(),
            anchor=self._anchor,
            only=self.filter.only,
            seed=seed,
        )

    @property
    def result(self) -> FilterResult | None:
        """What the current filter keeps, over the entries it has seen so far."""
        return self._result

    @property
    def up_to_date(self) -> bool:
        """Whether the rows cover every entry indexed, for the current filter, with no
        request under way."""
        result = self._result
        return (
            self._in_flight is None
            and not self._pending
            and result is not None
            and result.size >= self.index.size
        )

    def rows_failed(self, generation: int) -> None:
        """A rows job ended without an answer (cancelled or failed)."""
        if self._in_flight == generation:
            self._in_flight = None

    def apply_rows(self, update: RowsUpdate) -> Applied:
        """Take a worker's rows: move the cursor with its row, count new rows below it."""
        if self._in_flight == update.generation:
            self._in_flight = None
        if update.generation != self._generation:
            return Applied(stale=True, again=True)
        old_row, old_entry, had_rows = self.cursor_row, self.cursor_entry, len(self.ids) > 0
        self._result = update.result
        self.ids = update.ids
        self.counts = update.counts
        last = len(self.ids) - 1
        if self.tailing:
            row = last
        elif not self.user_moved:
            row = 0
        elif update.placed is not None and had_rows:
            row = moved_row(old_row, update.placed)
        elif update.anchor_row is not None and old_entry == self._anchor:
            row = update.anchor_row
        elif old_entry is not None:
            row = first_row_at(self.index, self.ids, int(self.index.column("epoch_us")[old_entry]))
        else:
            row = old_row
        if self.following and not self.tailing and not self.loading:
            if update.placed is not None and had_rows:
                self.new_below += inserted_after(old_row, update.placed)
        self.cursor_row = max(0, min(row, last))
        if self.cursor_row == last:
            self.new_below = 0
        again = self._pending or self.index.size > update.result.size
        if self._settling and self.up_to_date:  # the rows cover the last entries read
            self._settling = False
            self.progress = None
        self._stop_loading_tail()
        return Applied(stale=False, again=again)

    # -- the cursor -------------------------------------------------------------------------

    @property
    def cursor_entry(self) -> int | None:
        """The entry under the cursor (None when no row is shown)."""
        if 0 <= self.cursor_row < len(self.ids):
            return int(self.ids[self.cursor_row])
        return None

    def move_cursor(self, row: int, *, user: bool = True) -> int:
        """Put the cursor on ``row`` (clamped); a user's move decides tailing. Returns the row."""
        last = len(self.ids) - 1
        self.cursor_row = max(0, min(row, last)) if last >= 0 else 0
        if user:
            self.user_moved = True
            if self.following or self.loading:
                # The last row holds the cursor while records arrive (``G``: the newest).
                self.tailing = self.cursor_row >= last
        if self.cursor_row >= last:
            self.new_below = 0
        return self.cursor_row

    # -- marks ------------------------------------------------------------------------------

    def toggle_mark(self) -> bool | None:
        """Mark or unmark the cursor's entry; whether it is marked now (None: no entry)."""
        entry = self.cursor_entry
        if entry is None:
            return None
        if entry in self.marks:
            self.marks.discard(entry)
            return False
        self.marks.add(entry)
        return True

    def row_of_entry(self, entry: int) -> int | None:
        """The row showing ``entry``, or None when the filter hides it (bisection by time,
        then a walk over the rows of the same time)."""
        times = self.index.column("epoch_us")
        moment = int(times[entry])
        row = first_row_at(self.index, self.ids, moment)
        while row < len(self.ids) and int(times[self.ids[row]]) == moment:
            if int(self.ids[row]) == entry:
                return row
            row += 1
        return None

    def marked_rows(self) -> list[int]:
        """The rows of the marked entries shown, top to bottom."""
        rows = (self.row_of_entry(entry) for entry in self.marks if entry < self.index.size)
        return sorted(row for row in rows if row is not None)

    def next_mark(self, direction: int) -> int | None:
        """The next (1) or previous (-1) marked row from the cursor, wrapping around."""
        rows = self.marked_rows()
        if not rows:
            return None
        if direction > 0:
            after = [row for row in rows if row > self.cursor_row]
            return after[0] if after else rows[0]
        before = [row for row in rows if row < self.cursor_row]
        return before[-1] if before else rows[-1]

    # -- following --------------------------------------------------------------------------

    def set_following(self, following: bool) -> None:
        """Start or stop following; starting goes to the newest row and stays there."""
        self.following = following
        self.tailing = following
        self.new_below = 0
        if following:
            self.move_cursor(len(self.ids) - 1, user=True)

    def loaded(self) -> None:
        """Every input is indexed (the status says so once the rows cover every entry;
        followed files grow on, and say so themselves)."""
        self.loading = False
        self._settling = not (self.up_to_date or self.following)
        if not self._settling:
            self.progress = None
        self._stop_loading_tail()

    def _stop_loading_tail(self) -> None:
        """Once every record is shown, the cursor no longer holds the last row (unless
        following: then new rows keep arriving)."""
        if not self.indexing and not self.following:
            self.tailing = False

    @property
    def indexing(self) -> bool:
        """Whether the status still says indexing: the inputs are being read, or the rows
        have not yet caught up with the last entries read."""
        return self.loading or self._settling

    # -- search -----------------------------------------------------------------------------

    def start_search(self, spec: SearchSpec | None) -> SearchRequest | None:
        """Search for ``spec`` (None clears the search); the worker's job, if any."""
        self.search.start(spec)
        return self.search.request(self.ids, jump=True)

    def search_request(self) -> SearchRequest | None:
        """The job that maps the search onto the current rows (and searches new entries)."""
        return self.search.request(self.ids, jump=False)

    def apply_search(self, update: SearchUpdate) -> int | None:
        """Take a search answer; the row to jump to when the search asked for it."""
        if not self.search.apply(update) or not update.jump:
            return None
        if not len(self.search.rows) or self.cursor_row == int(self.search.rows[0]):
            return None
        return self.search.next_row(self.cursor_row, 1)

    # -- going to a time -------------------------------------------------------------------

    def goto_row(self, text: str, *, now_us: int) -> tuple[int, bool]:
        """The row a typed time points at, and whether the time is after every row shown
        (then the row is the last one). Raises ValueError for text that is no time.
        ``-15m`` counts back from the newest row shown; ``+5m`` and ``08:15`` from the
        cursor's time."""
        times = self.index.column("epoch_us")
        cursor = self.cursor_entry
        base = int(times[cursor]) if cursor is not None else now_us
        newest = int(times[self.ids[-1]]) if len(self.ids) else base
        target = parse_moment(
            text, back_from_us=newest, forward_from_us=base, local=self.local_time
        )
        row = first_row_at(self.index, self.ids, target)
        past_end = row >= len(self.ids)
        return (max(len(self.ids) - 1, 0) if past_end else row), past_end

    # -- the cursor's values ---------------------------------------------------------------

    def quick_values(self) -> dict[str, str | None]:
        """The cursor record's values the quick filters offer (from the columns: no parse)."""
        entry = self.cursor_entry
        if entry is None:
            return {}
        index = self.index
        source = index.sources[int(index.column("source")[entry])].name
        marked = f"{len(self.marks):,} marked" if self.marks else None
        if int(index.column("kind")[entry]) != KIND_RECORD:
            return {"source": source, "marked": marked}

        def value(column: str) -> str | None:
            return index.value(column, int(index.column(column)[entry]))

        return {
            "client": value("client"),
            "user": value("principal"),
            "type": value("type"),
            "lang": LANG_NAMES[int(index.column("lang")[entry])] or "none",
            "path": value("path"),
            "source": source,
            "instance": index.instance_of(entry),
            "marked": marked,
        }

    # -- status -----------------------------------------------------------------------------

    def facts(self) -> StatusFacts:
        """What the status line says now."""
        spec = self.search.spec
        return StatusFacts(
            files=len(self.index.sources),
            counts=self.counts,
            filter_active=self.filter.active,
            filter_text=self.filter.describe(),
            loading=self.indexing,
            progress=self.progress,
            rate_mb_s=self.rate_mb_s,
            following=self.following,
            live_label=self.live_label,
            new_below=self.new_below,
            search_text=spec.text if spec is not None else None,
            search_matches=self.search.matches,
            error=self.error,
            local_time=self.local_time,
            marks=len(self.marks),
            task=self.task,
            secrets_shown=self.reveal,
            filtering=self._result is None and self.filter.active,
            searching=self.search.pending,
            remote=self.remote,
        )
