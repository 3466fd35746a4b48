"""The Logs Insights fake, command by command, as the AWS documentation describes them."""

from __future__ import annotations

import pytest

from tests.fakes.insights import Event, QueryError, python_regex, run_query

EVENTS = [
    Event(1_700_000_000_000, "user=ann, method:GET, latency := 12", "s1", "g", "p1"),
    Event(1_700_000_000_500, "user=bob, method:POST, latency := 30", "s2", "g", "p2"),
    Event(1_700_000_060_000, "user=ann, method:POST, latency := 7", "s1", "g", "p3"),
    Event(1_700_000_120_000, "no fields here", "s2", "g", "p4"),
]
PARSE = "parse @message /user=(?<user>\\w+), method:(?<method>\\w+), latency := (?<ms>\\d+)/"


def rows(query: str, start_s: int = 0, end_s: int = 2_000_000_000) -> list[dict[str, str]]:
    return run_query(query, EVENTS, start_s, end_s).rows


def test_parse_adds_named_captures_and_leaves_other_events_without_them() -> None:
    found = rows(f"{PARSE} | fields user, method, @message")
    assert [r.get("user") for r in found] == ["ann", "bob", "ann", None]
    assert found[3]["@message"] == "no fields here"


def test_filter_compares_matches_and_combines_with_three_valued_logic() -> None:
    assert [
        r["user"] for r in rows(f"{PARSE} | filter ms > 10 and user = 'ann' | fields user")
    ] == ["ann"]
    assert len(rows(f"{PARSE} | filter method like /P.ST/ or user in ['ann']")) == 3
    assert len(rows(f'{PARSE} | filter @message like "latency"')) == 3
    # A missing field makes a comparison null: neither it nor its negation keeps the event.
    assert len(rows(f"{PARSE} | filter user = 'x' or not (user = 'x')")) == 3
    assert len(rows(f"{PARSE} | filter not ispresent(user)")) == 1
    assert len(rows(f"{PARSE} | filter user not in ['ann']")) == 1
    assert len(rows("filter @message =~ /(?i)USER=ANN/")) == 2


def test_stats_count_min_max_by_keys_and_bin() -> None:
    found = rows(f"{PARSE} | stats count(*) as n, count(user) as named, max(ms) as top by user")
    assert {r.get("user"): (r["n"], r["named"], r.get("top")) for r in found} == {
        "ann": ("2", "2", "12"),
        "bob": ("1", "1", "30"),
        None: ("1", "0", None),  # a group without the key, and a max of nothing: left out
    }
    bins = rows("stats count(*) as n by bin(1m) as minute")
    assert [(r["minute"], r["n"]) for r in bins] == [
        ("2023-11-14 22:13:00.000", "2"),
        ("2023-11-14 22:14:00.000", "1"),
        ("2023-11-14 22:15:00.000", "1"),
    ]


def test_sort_limit_fields_and_the_time_range() -> None:
    found = rows(f"{PARSE} | fields toMillis(@timestamp) as t, ms | sort ms desc | limit 2")
    assert [r["ms"] for r in found] == ["30", "12"]
    assert len(rows("fields @message", 1_700_000_000, 1_700_000_000)) == 2  # whole seconds
    outcome = run_query("filter @message like 'ann' | limit 1", EVENTS, 0, 2_000_000_000)
    assert (outcome.records_matched, len(outcome.rows), outcome.records_scanned) == (2, 1, 4)
    assert outcome.bytes_scanned == sum(len(e.message) for e in EVENTS)


def test_results_are_capped_at_the_row_limit_while_matches_are_counted() -> None:
    outcome = run_query("fields @message", EVENTS, 0, 2_000_000_000, row_limit=3)
    assert (len(outcome.rows), outcome.records_matched) == (3, 4)


@pytest.mark.parametrize(
    "query",
    ["filter (a = 1", "parse @message /(/", "stats avg(x)", "bogus x", "filter f(x)", "limit a"],
)
def test_what_it_cannot_read_is_refused_with_an_offset(query: str) -> None:
    with pytest.raises(QueryError) as caught:
        run_query(query, EVENTS, 0, 1)
    assert 0 <= caught.value.offset <= len(query)


def test_java_style_regexes_are_read() -> None:
    assert python_regex("(?<n>\\x{e9})\\p{Nd}").fullmatch("é٣")
    assert python_regex("[\\p{L}\\p{N}_]+").fullmatch("Ωx_9")
    assert python_regex("a\\z").search("a") and not python_regex("a\\z").search("a\n")
