"""The facts of a run in AWS (Logs Insights feeding the viewer): the status line's pieces,
their priorities, and what the overview says of counts made in AWS or here instead."""

from __future__ import annotations

from typing import Any

from tui.index.stats import Timeline
from tui.query import parse_filter
from tui.query.format import format_filter
from tui.view import StatusFacts, ViewFilter, status_parts
from tui.view.remote import (
    RemoteCounts,
    counted_note,
    counting_note,
    fallback_note,
    remote_filter,
)
from tui.view.rows import Counts
from tui.view.status import RemoteProgress, describe_bytes, remote_parts


def facts(remote: RemoteProgress | None) -> StatusFacts:
    return StatusFacts(
        files=3,
        counts=Counts(records=120),
        filter_active=False,
        filter_text="lang:sparql",
        loading=False,
        remote=remote,
    )


def texts(progress: RemoteProgress) -> list[str]:
    return [text for text, _, _ in remote_parts(progress)]


def test_bytes_are_decimal_units_as_aws_bills_them() -> None:
    assert describe_bytes(0) == "0 bytes"
    assert describe_bytes(999) == "999 bytes"
    assert describe_bytes(12_400_000) == "12.4 MB"
    assert describe_bytes(1.25e9) == "1.2 GB"
    assert describe_bytes(3e12) == "3.0 TB"


def test_a_running_run_says_slices_matches_bytes_and_cost() -> None:
    progress = RemoteProgress(
        "running",
        slices_done=5,
        slices_total=12,
        running=3,
        matched=1234,
        bytes_scanned=2e9,
        price_per_gb=0.005,
    )
    assert texts(progress) == [
        "Logs Insights 5/12 slices · 1,234 matched",
        "2.0 GB scanned · ≈$0.0100",
    ]
    assert progress.cost_usd == 0.01 and not progress.finished


def test_the_price_per_gb_is_the_one_given() -> None:
    progress = RemoteProgress("done", bytes_scanned=4e9, price_per_gb=0.0076)
    assert texts(progress) == ["counted in AWS", "4.0 GB scanned · ≈$0.0304"]
    assert progress.finished


def test_cancelled_and_failed_runs_say_how_far_they_got() -> None:
    cancelled = RemoteProgress("cancelled", slices_done=4, slices_total=9, bytes_scanned=1e6)
    assert texts(cancelled)[0] == "cancelled · 4 of 9 slices"
    failed = RemoteProgress("failed", slices_done=1, slices_total=9, error="denied")
    assert texts(failed)[0] == "Logs Insights failed · 1/9 slices"
    assert cancelled.finished and failed.finished
    assert [role for _, role, _ in remote_parts(failed)][0] == "error"


def test_the_status_line_carries_the_run_and_drops_its_cost_before_its_state() -> None:
    progress = RemoteProgress("running", slices_done=1, slices_total=4, bytes_scanned=5e6)
    parts = status_parts(facts(progress))
    ranks = {text: rank for text, _, rank in parts}
    state, cost = texts(progress)
    assert state in ranks and cost in ranks
    # At a narrow width the lowest ranks go first: the cost before the state, the state
    # after the time span and the file count, never before the record count.
    assert ranks[cost] < ranks[state] < ranks["120 records"]
    assert ranks["3 files"] < ranks[cost]
    assert not any("Insights" in text for text, _, _ in status_parts(facts(None)))
    # Following the files the run writes is implied: the run's own piece says it.
    following = StatusFacts(
        files=1, counts=Counts(), filter_active=False, filter_text="", loading=False,
        following=True, live_label="following matches", new_below=3, remote=progress,
    )  # fmt: skip
    shown = [text for text, _, _ in status_parts(following)]
    assert "● following matches" not in shown and "3 new ↓ G" in shown


def test_a_cancelled_run_outranks_a_running_one() -> None:
    running = remote_parts(RemoteProgress("running"))[0][2]
    done = remote_parts(RemoteProgress("done"))[0][2]
    cancelled = remote_parts(RemoteProgress("cancelled"))[0][2]
    assert cancelled > running > done


def counts(records: int = 42, **extra: Any) -> dict[str, Any]:
    return {
        "lines": 100,
        "records": records,
        "malformed": 1,
        "first_us": 1_000_000,
        "last_us": 2_000_000,
        "by_type": {"Bolt": records},
        "by_lang": {"opencypher": records},
        "by_auth": {"ok": 0, "failed": 0, "none": records},
        "top_clients": [("10.0.1.1", records)],
        "top_users": [],
        "top_paths": [],
        "timeline": Timeline(1_000_000, 1_000_000, (records, 0), (0, 0)),
        **extra,
    }


def test_counts_made_in_aws_become_stats_and_say_where_and_what_they_cost() -> None:
    made = RemoteCounts.of(counts(), bytes_scanned=12_400_000, price_per_gb=0.005)
    assert made.stats.records == 42 and made.stats.top_clients == [("10.0.1.1", 42)]
    assert made.stats.by_op == {} and made.stats.top_fingerprints == []
    assert counted_note(made) == (
        "42 records · counted in AWS Logs Insights · 12.4 MB scanned · ≈$0.0001"
    )
    read = RemoteCounts.of(counts(1), bytes_scanned=0, price_per_gb=0.005, checked_here=7)
    assert counted_note(read).endswith("· 7 events read and counted here")
    assert counted_note(read).startswith("1 record ·")


def test_the_fallback_says_why_on_one_inert_line() -> None:
    note = fallback_note(5, "access denied\n\x1b[31mlogs:StartQuery")
    assert note.startswith("Logs Insights failed: access denied‹LF›‹ESC›[31m")
    assert note.endswith("· 5 records held here, counted here instead")
    assert "\n" not in note and "\x1b" not in note
    assert "marked" in fallback_note(1, None)


def test_the_overview_counts_the_runs_filter_and_the_viewers() -> None:
    initial = parse_filter("lang:sparql")
    view = ViewFilter.parse("user=alice", hide_probes=True)
    node = remote_filter(initial, view)
    assert node is not None
    assert format_filter(node) == "lang=sparql user=alice -path:/status"
    # A filter typed in the viewer that widens is still counted within the run's.
    assert format_filter(remote_filter(initial, ViewFilter()) or initial) == "lang=sparql"
    assert remote_filter(initial, view.with_only(frozenset({1, 2}))) is None


def test_counting_in_aws_says_how_far_it_is() -> None:
    note = counting_note(3, 12, 4_100_000)
    assert note == "counting in AWS Logs Insights · 3/12 slices · 4.1 MB scanned"
