"""The view model without an app: filter composition, rows growing as records arrive, search
specs, following and new rows, go-to-time, and the status facts' one definition of counts."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import Loaded
from tui.index.filtering import evaluate, filtered_order
from tui.index.index import Index
from tui.index.scan import Scanner
from tui.index.schema import KIND_MALFORMED, KIND_RECORD
from tui.model.record import Record
from tui.query import format_time_us, parse_filter
from tui.query.format import format_filter
from tui.sources.files import FileReader
from tui.view import (
    PROBES,
    SearchSpec,
    ViewFilter,
    ViewModel,
    compute_rows,
    compute_search,
    count_matches,
    status_parts,
)
from tui.view.rows import arrivals, inserted_after, moved_row

BASE_MS = 1_700_000_000_000


def line(t_ms: int, n: int, client: str = "10.0.1.1") -> str:
    return (
        f"{t_ms}, {client}:4{n % 10000:04d}, 10.0.3.215:8182, Bolt, [unknown], [unknown], "
        f"[unknown], MATCH (n) RETURN {n}"
    )


class Growing:
    """An index fed span by span, as loading and following feed it."""

    def __init__(self, tmp_path: Path, files: int = 2) -> None:
        self.reader = FileReader()
        self.index = Index(self.reader)
        self.scanner = Scanner()
        self.paths = [tmp_path / f"f{i}.log" for i in range(files)]
        for path in self.paths:
            path.write_text("")
            self.reader.register(self.index.add_source(str(path)).id, path)

    def add(self, source: int, lines: list[str]) -> None:
        path = self.paths[source]
        before = path.stat().st_size
        with path.open("a") as handle:
            handle.write("".join(text + "\n" for text in lines))
        data = path.read_bytes()[before:]
        span = self.scanner.scan(data, file_offset=before, at_file_start=before == 0, final=False)
        self.index.commit(source, span)


def run_rows(view: ViewModel) -> None:
    """Answer the view model's rows requests until it is up to date."""
    while (request := view.rows_request()) is not None:
        view.apply_rows(compute_rows(view.index, request))


def shape(text: str) -> str:
    return format_filter(parse_filter(text))


# -- the filter ------------------------------------------------------------------------------


def test_probes_and_quick_filters_are_trees_added_to_the_typed_text() -> None:
    typed = ViewFilter.parse("lang:sparql OR auth:failed")
    assert typed.combined == typed.node and typed.active
    hidden = typed.with_probes_hidden(True)
    assert format_filter(hidden.combined) == shape("(lang:sparql OR auth:failed) -path:/status")
    assert PROBES in hidden.combined.operands  # type: ignore[union-attr]
    quick = hidden.with_quick("client", "10.0.1.18", exclude=False).with_quick(
        "user", 'a "quoted" -value (x)', exclude=True
    )
    assert quick.editable_text == shape(
        '(lang:sparql OR auth:failed) client=10.0.1.18 -user="a \\"quoted\\" -value (x)"'
    )
    # What the bar shows parses back to the same filter (probes stay a toggle).
    again = quick.with_text(quick.editable_text)
    assert format_filter(again.combined) == format_filter(quick.combined)
    assert again.quick == () and again.hide_probes
    assert not ViewFilter().active and ViewFilter().cleared() == ViewFilter()
    assert "(probes hidden)" in hidden.describe()


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=20), st.sampled_from(["client", "user", "type", "path", "source"]))
def test_any_quick_value_survives_editing(value: str, field: str) -> None:
    view_filter = ViewFilter().with_quick(field, value, exclude=False)
    edited = view_filter.with_text(view_filter.editable_text)
    assert format_filter(edited.combined) == format_filter(view_filter.combined)


# -- rows as records arrive ------------------------------------------------------------------


def test_rows_grow_incrementally_and_equal_a_full_recompute(tmp_path: Path) -> None:
    feed = Growing(tmp_path)
    rng = np.random.default_rng(3)
    view = ViewModel(feed.index, ViewFilter.parse("client:10.0.1.1"))
    number = 0
    for step in range(6):
        for source in (0, 1):
            times = (BASE_MS + rng.integers(0, 400, 25)).tolist()
            clients = ["10.0.1.1" if rng.random() < 0.6 else "10.0.9.9" for _ in times]
            feed.add(
                source,
                [
                    line(t, number + i, c)
                    for i, (t, c) in enumerate(zip(times, clients, strict=True))
                ],
            )
            number += len(times)
        request = view.rows_request()
        assert request is not None
        assert (request.previous is None) == (step == 0)
        old_ids, old_row = view.ids.copy(), max(len(view.ids) - 1, 0) // 2
        update = compute_rows(feed.index, request)
        full = filtered_order(feed.index, evaluate(feed.index, view.filter.combined))
        assert update.ids.tolist() == full.tolist()
        if step:
            assert update.placed is not None
            # Every previous row is found where its entry went.
            for row in range(len(old_ids)):
                assert update.ids[moved_row(row, update.placed)] == old_ids[row]
            below = inserted_after(old_row, update.placed)
            cursor_now = moved_row(old_row, update.placed)
            assert below == len(update.ids) - 1 - cursor_now - (len(old_ids) - 1 - old_row)
        view.apply_rows(update)
    assert view.rows_request() is None  # up to date


def test_cursor_keeps_its_entry_and_new_rows_below_are_counted(tmp_path: Path) -> None:
    feed = Growing(tmp_path, files=1)
    feed.add(0, [line(BASE_MS + 10 * i, i) for i in range(50)])
    view = ViewModel(feed.index, following=True)
    run_rows(view)
    view.loaded()
    assert view.tailing and view.cursor_row == 49
    # Tailing: new records keep the cursor on the newest one.
    feed.add(0, [line(BASE_MS + 1000 + i, 100 + i) for i in range(5)])
    run_rows(view)
    assert view.cursor_row == len(view.ids) - 1 == 54 and view.new_below == 0
    # Moved away: the cursor stays on its entry; arrivals below it are counted, those
    # above it (late records) move it down but are not "new below".
    view.move_cursor(40)
    entry = view.cursor_entry
    assert not view.tailing
    feed.add(0, [line(BASE_MS + 2000 + i, 200 + i) for i in range(7)])
    feed.add(0, [line(BASE_MS + 5, 300), line(BASE_MS + 6, 301)])
    run_rows(view)
    assert view.cursor_entry == entry and view.cursor_row == 42
    assert view.new_below == 7
    facts = view.facts()
    assert ("7 new ↓ G", "badge") in [(text, role) for text, role, _ in status_parts(facts)]
    # Back to the newest row: tailing again, badge gone.
    view.move_cursor(len(view.ids) - 1)
    assert view.tailing and view.new_below == 0


def test_rows_keep_the_first_row_until_the_user_moves(tmp_path: Path) -> None:
    feed = Growing(tmp_path, files=1)
    feed.add(0, [line(BASE_MS + 100 + i, i) for i in range(10)])
    view = ViewModel(feed.index)
    run_rows(view)
    feed.add(0, [line(BASE_MS + i, 50 + i) for i in range(5)])  # earlier records arrive
    run_rows(view)
    assert view.cursor_row == 0 and view.cursor_entry == 10


def test_the_record_under_the_cursor_stays_under_it_when_the_filter_changes(
    tmp_path: Path,
) -> None:
    """Filtered down to one record and the filter cleared, the cursor is on that record,
    not back on the first row, whether or not the user moved (found in a user trial)."""
    feed = Growing(tmp_path, files=1)
    feed.add(0, [line(BASE_MS + i, i, client=f"10.0.1.{i}") for i in range(1, 40)])
    view = ViewModel(feed.index)
    run_rows(view)
    view.set_filter(view.filter.with_text("client:10.0.1.25"))
    run_rows(view)
    chosen = view.cursor_entry
    assert chosen is not None and len(view.ids) == 1
    view.set_filter(view.filter.cleared())
    run_rows(view)
    assert len(view.ids) == 39 and view.cursor_entry == chosen and view.cursor_row == 24
    # An entry the new filter drops: the cursor goes to the first row at or after its time.
    view.set_filter(view.filter.with_text("client:10.0.1.3"))  # (also .30 to .39)
    run_rows(view)
    assert view.cursor_entry is not None
    assert int(feed.index.column("epoch_us")[view.cursor_entry]) == (BASE_MS + 30) * 1000


def test_the_last_row_holds_the_cursor_while_records_load(tmp_path: Path) -> None:
    """G while loading: the newest row as rows arrive; a move away, or the end of the
    load, lets go of it."""
    feed = Growing(tmp_path, files=1)
    feed.add(0, [line(BASE_MS + 100 + i, i) for i in range(10)])
    view = ViewModel(feed.index)
    run_rows(view)
    view.move_cursor(len(view.ids) - 1)  # G
    feed.add(0, [line(BASE_MS + 500 + i, 50 + i) for i in range(5)])
    run_rows(view)
    assert view.tailing and view.cursor_row == 14 and view.cursor_entry == 14
    view.move_cursor(12)  # k k
    feed.add(0, [line(BASE_MS + 900 + i, 80 + i) for i in range(3)])
    run_rows(view)
    assert not view.tailing and view.cursor_entry == 12
    view.move_cursor(len(view.ids) - 1)
    feed.add(0, [line(BASE_MS + 1000, 99)])  # the last span
    view.loaded()
    assert view.tailing  # the rows have not caught up yet
    run_rows(view)
    assert view.cursor_row == 18 and not view.tailing
    view.set_filter(view.filter.with_text("client:10.0.1.1"))
    run_rows(view)
    assert view.cursor_entry == 18  # a new filter keeps the entry, not the last row


def test_a_new_filter_drops_answers_for_the_old_one(tmp_path: Path) -> None:
    feed = Growing(tmp_path, files=1)
    feed.add(0, [line(BASE_MS + i, i, "10.0.1.1" if i % 2 else "10.0.2.2") for i in range(20)])
    view = ViewModel(feed.index)
    old = view.rows_request()
    assert old is not None
    view.set_filter(ViewFilter.parse("client:10.0.2.2"))
    new = view.rows_request()
    assert new is not None and new.generation != old.generation
    assert view.apply_rows(compute_rows(feed.index, old)).stale
    assert not view.apply_rows(compute_rows(feed.index, new)).stale
    assert len(view.ids) == 10


def test_arrivals_are_the_new_matches_in_merged_order(tmp_path: Path) -> None:
    feed = Growing(tmp_path)
    feed.add(0, [line(BASE_MS + 50, 1)])
    node = parse_filter("-client:10.0.9.9")
    result = evaluate(feed.index, node)
    feed.add(1, [line(BASE_MS + 30, 2), line(BASE_MS + 30, 3, "10.0.9.9")])
    feed.add(0, [line(BASE_MS + 30, 4), line(BASE_MS + 10, 5)])
    result, batch = arrivals(feed.index, node, result)
    texts = [feed.index.entry(e) for e in batch.tolist()]
    assert [int(r.raw.rsplit(" ", 1)[1]) for r in texts if isinstance(r, Record)] == [5, 4, 2]
    assert result.size == feed.index.size


# -- search ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "regex", "ignore_case"),
    [
        ("airport", False, True),
        ("/airport/", True, False),
        ("/airport/i", True, True),
        ("/(?i)airport/", True, True),
        ("/status", False, True),  # a path, not a regex
        ("(a+)", False, True),
        ("/a b/", True, False),
        ("/", False, True),
    ],
)
def test_search_spec_is_decided_once(typed: str, regex: bool, ignore_case: bool) -> None:
    spec = SearchSpec.parse(typed)
    assert (spec.regex, spec.ignore_case) == (regex, ignore_case)


def test_search_counts_agree_with_highlighting(sample: Loaded) -> None:
    index = sample.index
    view = ViewModel(index)
    run_rows(view)
    counts: dict[str, int] = {}
    for typed in ("AIRPORT", "/(?i)airport/", "/airport/i", "/airport/"):
        request = view.start_search(SearchSpec.parse(typed))
        assert request is not None
        view.apply_search(compute_search(index, request))
        spec = view.search.spec
        assert spec is not None
        counts[typed] = view.search.matches
        highlighted = [
            row
            for row, entry in enumerate(view.ids.tolist())
            if any(True for _ in spec.spans(index.text(entry)))
        ]
        assert highlighted == view.search.rows.tolist()
    assert counts["AIRPORT"] == counts["/(?i)airport/"] == counts["/airport/i"] > 0
    assert 0 < counts["/airport/"] <= counts["AIRPORT"]
    # next / previous wrap around.
    rows = view.search.rows.tolist()
    assert view.search.next_row(rows[-1], 1) == rows[0]
    assert view.search.next_row(rows[0], -1) == rows[-1]


def test_search_follows_a_filter_change(sample: Loaded) -> None:
    index = sample.index
    view = ViewModel(index)
    run_rows(view)
    request = view.start_search(SearchSpec.parse("airport"))
    assert request is not None
    view.apply_search(compute_search(index, request))
    everywhere = view.search.matches
    view.set_filter(ViewFilter.parse("lang:gremlin"))
    run_rows(view)
    again = view.search_request()
    assert again is not None
    view.apply_search(compute_search(index, again))
    gremlin = [
        e
        for e in view.ids.tolist()
        if isinstance(entry := index.entry(e), Record) and "airport" in entry.raw.lower()
    ]
    assert 0 < view.search.matches == len(gremlin) < everywhere
    view.set_filter(ViewFilter())  # rows the last filter hid are searched when they show
    run_rows(view)
    third = view.search_request()
    assert third is not None
    view.apply_search(compute_search(index, third))
    assert view.search.matches == everywhere


# -- go to time --------------------------------------------------------------------------------


def test_goto_time_resolves_to_a_row(tmp_path: Path) -> None:
    feed = Growing(tmp_path, files=1)
    feed.add(0, [line(BASE_MS + 60_000 * i, i) for i in range(30)])  # one a minute
    view = ViewModel(feed.index)
    run_rows(view)
    now = (BASE_MS + 10**7) * 1000
    assert view.goto_row(format_time_us((BASE_MS + 60_000 * 7) * 1000), now_us=now) == (7, False)
    assert view.goto_row(format_time_us((BASE_MS + 60_000 * 7 + 1) * 1000), now_us=now) == (
        8,
        False,
    )
    assert view.goto_row("-10m", now_us=now) == (19, False)  # from the newest row
    view.move_cursor(3)
    assert view.goto_row("+5m", now_us=now) == (8, False)  # from the cursor
    assert view.goto_row(str(BASE_MS + 10**9), now_us=now) == (29, True)
    with pytest.raises(ValueError):
        view.goto_row("yesterday", now_us=now)


# -- status facts ------------------------------------------------------------------------------


def test_status_counts_follow_one_definition(sample: Loaded) -> None:
    index = sample.index
    kinds = index.column("kind")
    view = ViewModel(index, ViewFilter().with_probes_hidden(True))
    _, preview = count_matches(index, view.preview_node(""))
    run_rows(view)
    facts = view.facts()
    counts = facts.counts
    assert counts.records == int(np.count_nonzero(kinds == KIND_RECORD)) == index.records
    assert counts.malformed == int(np.count_nonzero(kinds == KIND_MALFORMED)) > 0
    assert counts.shown_records + counts.shown_malformed == len(view.ids)
    assert counts.shown_malformed == counts.malformed  # -path:/status keeps malformed entries
    # The preview of what was applied says the same number the status line says.
    assert preview.shown_records == counts.shown_records
    parts = {text: role for text, role, _ in status_parts(facts)}
    shown = f"showing {counts.shown_records:,} + {counts.shown_malformed:,} malformed"
    assert parts[shown] == "shown"
    assert parts[f"{counts.records:,} records"] == "plain"
    assert parts["9 files"] == "files" or any(p.endswith(" files") for p in parts)


def test_status_says_showing_only_under_a_filter_and_counts_one_snapshot(tmp_path: Path) -> None:
    feed = Growing(tmp_path, files=1)
    feed.add(0, ["garbage"] + [line(BASE_MS + i, i) for i in range(5)])
    view = ViewModel(feed.index)
    run_rows(view)
    feed.add(0, [line(BASE_MS + 100 + i, 10 + i) for i in range(100)])  # not shown yet
    texts = [text for text, _, _ in status_parts(view.facts())]
    assert "1 file" in texts and "5 records" in texts and "1 malformed" in texts
    assert not any(text.startswith("showing") for text in texts)
    single = ViewModel(feed.index)
    run_rows(single)
    assert "105 records" in [text for text, _, _ in status_parts(single.facts())]


def test_quick_values_come_from_the_columns(sample: Loaded) -> None:
    index = sample.index
    view = ViewModel(index)
    run_rows(view)
    for row in range(0, len(view.ids), 97):
        view.move_cursor(row)
        entry = index.entry(view.cursor_entry or 0)
        values = view.quick_values()
        if not isinstance(entry, Record):
            assert values == {"source": entry.source, "marked": None}
            continue
        assert values["client"] == (entry.client.key if entry.client else None)
        assert values["user"] == entry.arn and values["type"] == entry.conn_type
        assert values["lang"] == (entry.lang or "none") and values["path"] == entry.path
        assert values["source"] == entry.source
        assert values["instance"] == entry.instance and values["marked"] is None


def test_regex_search_is_anchored_per_entry(sample: Loaded) -> None:
    index = sample.index
    view = ViewModel(index)
    run_rows(view)
    request = view.start_search(SearchSpec.parse(r"/^\d{16}, /"))
    assert request is not None
    view.apply_search(compute_search(index, request))
    expected = [
        row
        for row, e in enumerate(view.ids.tolist())
        if re.search(r"^\d{16}, ", index.text(e)) is not None
    ]
    assert view.search.rows.tolist() == expected and expected


def test_status_says_filtering_until_the_new_rows_come(tmp_path: Path) -> None:
    feed = Growing(tmp_path, files=1)
    feed.add(0, [line(BASE_MS + i, i) for i in range(20)])
    view = ViewModel(feed.index)
    run_rows(view)
    view.set_filter(ViewFilter.parse("client:10.0.9"))
    texts = [text for text, _, _ in status_parts(view.facts())]
    assert "filtering…" in texts and not any(t.startswith("showing") for t in texts)
    run_rows(view)
    texts = [text for text, _, _ in status_parts(view.facts())]
    assert "showing 0" in texts and "filtering…" not in texts
    view.start_search(SearchSpec.parse("x"))
    assert any("searching…" in text for text, _, _ in status_parts(view.facts()))


def test_status_says_indexing_until_the_rows_cover_the_last_entries(tmp_path: Path) -> None:
    feed = Growing(tmp_path, files=1)
    feed.add(0, [line(BASE_MS + i, i) for i in range(20)])
    view = ViewModel(feed.index)
    run_rows(view)
    feed.add(0, [line(BASE_MS + 100 + i, 100 + i) for i in range(5)])  # the last span
    view.loaded()
    texts = [text for text, _, _ in status_parts(view.facts())]
    assert "indexing…" in texts and "20 records" in texts  # not yet "done" with 20
    run_rows(view)
    texts = [text for text, _, _ in status_parts(view.facts())]
    assert "25 records" in texts and not any(t.startswith("indexing") for t in texts)


def test_an_applied_filter_starts_from_what_its_preview_found(sample: Loaded) -> None:
    """The filter bar's preview already filtered every entry: applying the same filter
    extends that result instead of filtering them all again; another filter does not."""
    from tui.index.filtering import FilterResult

    index = sample.index
    view = ViewModel(index, ViewFilter().with_probes_hidden(True))
    run_rows(view)
    text = "auth:failed"
    node = view.preview_node(text)
    result, counts = count_matches(index, node)
    assert counts.shown_records > 0
    # A stand-in result that keeps only the first entry shows which one the rows start from.
    stand_in = FilterResult(np.zeros(index.size, bool), index.size)
    stand_in.mask[0] = True
    view.previewed(node, stand_in)
    view.set_filter(view.filter.with_text(text))
    request = view.rows_request()
    assert request is not None and request.seed is stand_in and request.previous is None
    view.apply_rows(compute_rows(index, request))
    assert view.ids.tolist() == [0]
    # Another filter than the previewed one computes its rows afresh.
    view.previewed(node, stand_in)
    view.set_filter(view.filter.with_text("auth:ok"))
    run_rows(view)
    expected = filtered_order(index, evaluate(index, view.filter.combined))
    assert view.ids.tolist() == expected.tolist() != [0]
    # With what the preview really found, the rows are those filtering afresh gives.
    view.previewed(node, result)
    view.set_filter(view.filter.with_text(text))
    run_rows(view)
    expected = filtered_order(index, evaluate(index, view.filter.combined))
    assert view.ids.tolist() == expected.tolist()
