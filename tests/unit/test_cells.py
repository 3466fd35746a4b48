"""Which columns fit the terminal: priorities, the user's choice, the query's width."""

from __future__ import annotations

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
