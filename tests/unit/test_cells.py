"""Which columns fit the terminal: priorities, the user's choice, the query's width."""

from __future__ import annotations

from pathlib import Path

from tui.view.cells import CHOOSABLE, QUERY_FLOOR, QUERY_MIN_WIDTH, fit_columns

ALL = frozenset(column.key for column in CHOOSABLE)


def keys(
    width: int, hidden: frozenset[str] = frozenset(), pinned: frozenset[str] = frozenset()
) -> tuple[list[str], dict[str, int]]:
    fitted = fit_columns(width, 23, hidden, pinned)
    return [column.key for column, _ in fitted], {c.key: w for c, w in fitted}


def test_lowest_priorities_go_first_and_the_query_keeps_its_width() -> None:
    shown, widths = keys(80)
    assert shown[0] == "time" and shown[-1] == "query"
    assert "user" in shown and "fp" not in shown and "path" not in shown
    assert widths["query"] >= QUERY_MIN_WIDTH
    wide, wide_widths = keys(250)
    assert set(wide) == ALL | {"time", "query"}
    assert wide_widths["query"] == 250 - sum(w + 1 for k, w in wide_widths.items() if k != "query")


def test_ticked_columns_show_while_the_query_can_narrow_to_its_floor() -> None:
    pinned = frozenset({"path", "fp", "instance"})
    shown, widths = keys(120, hidden=ALL - pinned, pinned=pinned)
    assert set(shown) == pinned | {"time", "query"}
    # All nine ticked at 120 columns: they fit with a narrower query.
    shown, widths = keys(140, pinned=ALL)
    assert set(shown) == ALL | {"time", "query"}
    assert QUERY_FLOOR <= widths["query"] < QUERY_MIN_WIDTH


def test_a_ticked_column_goes_only_when_even_the_floor_cannot_fit() -> None:
    shown, widths = keys(80, pinned=ALL)
    assert widths["query"] >= QUERY_FLOOR
    assert "user" in shown and "fp" not in shown  # the lowest priority went first


def test_hidden_columns_never_show() -> None:
    shown, _ = keys(250, hidden=frozenset({"user", "client"}))
    assert "user" not in shown and "client" not in shown


def test_times_show_microseconds_from_the_first_span_that_has_them(tmp_path: Path) -> None:
    """Rows written before the index knew are written again, with six digits."""
    from tui.index.index import Index
    from tui.index.scan import Scanner
    from tui.sources.files import FileReader
    from tui.view.cells import RowFormatter

    line = (
        "{t}, 10.0.1.1:40001, 10.0.3.215:8182, Bolt, [unknown], [unknown], [unknown], "
        "MATCH (n) RETURN 1\n"
    )
    reader = FileReader()
    index = Index(reader)
    path = tmp_path / "a.log"
    first = line.format(t=1700000000100).encode()
    more = line.format(t=1700000000200123).encode()
    path.write_bytes(first + more)
    source = index.add_source(str(path))
    reader.register(source.id, path)
    scanner = Scanner()
    index.commit(source.id, scanner.scan(first, file_offset=0, at_file_start=True, final=False))
    formatter = RowFormatter(index)
    assert formatter.row(0).cells["time"].endswith(":20.100")
    index.commit(
        source.id,
        scanner.scan(more, file_offset=len(first), at_file_start=False, final=False),
    )
    assert formatter.microseconds
    assert formatter.row(0).cells["time"].endswith(":20.100000")
    assert formatter.row(1).cells["time"].endswith(":20.200123")
