"""The facts the status line shows, computed once, and their words.

One definition everywhere (status line, filter preview, ``stats``): *records* are entries
that parsed as records, *malformed* entries are counted apart, and *shown* counts the
records the filter keeps (malformed entries it keeps are said separately). Counts come from
one snapshot of the index (``rows.Counts``), so they always agree with the rows on screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tui.query import display_time
from tui.view.rows import Counts

#: How a piece of the status line is styled (the UI maps roles to styles).
Role = Literal[
    "files",
    "plain",
    "warning",
    "shown",
    "span",
    "follow",
    "badge",
    "progress",
    "error",
    "filter-label",
    "filter",
    "search",
]


RemoteState = Literal["starting", "running", "done", "cancelled", "failed"]


@dataclass(frozen=True)
class RemoteProgress:
    """How far a run in AWS (Logs Insights slices feeding the view) is: slices done of
    those known so far (a split adds slices), events kept after the check here, bytes
    scanned (what AWS charges for) and the price per GB the estimate uses."""

    state: RemoteState = "starting"
    slices_done: int = 0
    slices_total: int = 0
    running: int = 0
    matched: int = 0
    bytes_scanned: float = 0.0
    price_per_gb: float = 0.005
    error: str = ""

    @property
    def cost_usd(self) -> float:
        """The estimate of what the bytes scanned cost (USD per 10^9 bytes)."""
        return self.bytes_scanned / 1e9 * self.price_per_gb

    @property
    def finished(self) -> bool:
        """Whether the run ended (done, cancelled or failed)."""
        return self.state in ("done", "cancelled", "failed")


def describe_bytes(count: float) -> str:
    """``1.2 GB`` (decimal units, as AWS bills them)."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= size:
            return f"{count / size:,.1f} {unit}"
    return f"{count:,.0f} bytes"


def cost_text(bytes_scanned: float, price_per_gb: float) -> str:
    """``1.2 GB scanned · ≈$0.0060``: the scanned bytes and their estimated cost."""
    return f"{describe_bytes(bytes_scanned)} scanned · ≈${bytes_scanned / 1e9 * price_per_gb:,.4f}"


def remote_parts(progress: RemoteProgress) -> list[tuple[str, Role, int]]:
    """The status line's pieces for a run in AWS: where it is (kept long: it says whether
    more records are coming), then the bytes scanned and their cost (dropped sooner, but
    after the filter's text: what a run costs is worth more than a filter one typed)."""
    slices = f"{progress.slices_done:,}/{progress.slices_total:,} slices"
    scanned = cost_text(progress.bytes_scanned, progress.price_per_gb)
    cost: tuple[str, Role, int] = (scanned, "plain", 62)
    where: tuple[str, Role, int]
    if progress.state == "starting":
        where = ("Logs Insights starting…", "progress", 78)
    elif progress.state == "running":
        where = (f"Logs Insights {slices} · {progress.matched:,} matched", "progress", 78)
    elif progress.state == "done":
        where = ("counted in AWS", "plain", 72)
    elif progress.state == "cancelled":
        done = f"{progress.slices_done:,} of {progress.slices_total:,} slices"
        where = (f"cancelled · {done}", "warning", 88)
    else:
        where = (f"Logs Insights failed · {slices}", "error", 88)
    return [where, cost]


@dataclass(frozen=True)
class StatusFacts:
    """Everything the status line says."""

    files: int
    counts: Counts
    filter_active: bool
    filter_text: str
    loading: bool
    progress: float | None = None  # share of the input indexed, while loading
    rate_mb_s: float | None = None
    following: bool = False
    live_label: str = ""
    new_below: int = 0
    search_text: str | None = None
    search_matches: int = 0
    error: str | None = None
    local_time: bool = False
    marks: int = 0
    task: str | None = None  # work under way the user asked for (an export)
    secrets_shown: bool = False
    filtering: bool = False  # a new filter's rows are being computed
    searching: bool = False  # the search's first answer is being computed
    remote: RemoteProgress | None = None  # a run in AWS feeding the view


def plural(count: int, noun: str) -> str:
    """``1 file``, ``2 files``, ``1,234 records``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def status_parts(facts: StatusFacts) -> list[tuple[str, Role, int]]:
    """The status line as (text, role, priority) pieces, in order (joined with `` · ``);
    when the line is too narrow the lowest priorities go first, and the filter (last) is
    cut in the middle."""
    counts = facts.counts
    parts: list[tuple[str, Role, int]] = [
        (plural(facts.files, "file"), "files", 30),
        (plural(counts.records, "record"), "plain", 85),
    ]
    if counts.malformed:
        parts.append((f"{counts.malformed:,} malformed", "warning", 55))
    if facts.filtering:
        parts.append(("filtering…", "progress", 90))
    elif facts.filter_active:
        shown = f"showing {counts.shown_records:,}"
        if counts.shown_malformed:
            shown += f" + {counts.shown_malformed:,} malformed"
        parts.append((shown, "shown", 90))
    if facts.secrets_shown:
        parts.append(("credentials shown in clear", "error", 100))
    if facts.error:
        parts.append((facts.error, "error", 95))
    if facts.following:
        if facts.remote is None:  # a run in AWS says itself whether more is coming
            parts.append((f"● {facts.live_label or 'following'}", "follow", 75))
        if facts.new_below:
            parts.append((f"{facts.new_below:,} new ↓ G", "badge", 80))
    if facts.loading:
        if facts.progress is not None:
            rate = f" {facts.rate_mb_s:,.0f} MB/s" if facts.rate_mb_s is not None else ""
            parts.append((f"indexing {facts.progress:.0%}{rate}", "progress", 70))
        else:
            parts.append(("indexing…", "progress", 70))
    if facts.task:
        parts.append((facts.task, "progress", 70))
    if facts.remote is not None:
        parts.extend(remote_parts(facts.remote))
    if facts.search_text is not None:
        found = "searching…" if facts.searching else f"{facts.search_matches:,}"
        parts.append((f"search ‘{facts.search_text}’: {found}", "search", 65))
    if facts.marks:
        parts.append((f"{facts.marks:,} marked", "plain", 50))
    if counts.first_us is not None and counts.last_us is not None:
        local = facts.local_time
        first = display_time(counts.first_us, local=local, digits=0, compact=True)[:11]
        last = display_time(counts.last_us, local=local, digits=0, compact=True)[:11]
        parts.append((f"{first} → {last}", "span", 20))
    if facts.filter_text:
        parts.append((facts.filter_text, "filter", 60))
    return parts


def preview_text(counts: Counts, *, loading: bool) -> str:
    """What the filter bar says of an expression being typed."""
    text = f"✓ {counts.shown_records:,} of {counts.records:,} records match"
    if counts.shown_malformed:
        text += f" (+ {counts.shown_malformed:,} malformed)"
    if loading:
        text += " (still indexing)"
    return text + " · enter applies"
