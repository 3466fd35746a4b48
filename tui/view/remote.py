"""A source that runs in AWS while the viewer shows what it finds (Logs Insights): what the
viewer asks of it, and what the overview says of counts made there.

No UI toolkit and no boto3 here: ``tui.cli.aws`` implements ``RemoteRun``; the app runs it
in a worker and hands its progress and counts to the view by messages.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from tui.index.stats import Stats
from tui.model.text import inert_line
from tui.query import Node
from tui.query.format import all_of
from tui.view.filters import ViewFilter
from tui.view.status import RemoteProgress, cost_text, describe_bytes, plural


@dataclass(frozen=True)
class RemoteCounts:
    """Counts of the records a filter keeps over the whole range, made in AWS: ``stats``
    as ``neptune-audit stats`` has them, what was scanned, and how many events had to be
    read and counted here."""

    stats: Stats
    bytes_scanned: float
    price_per_gb: float
    checked_here: int = 0

    @classmethod
    def of(
        cls,
        counts: dict[str, Any],
        *,
        bytes_scanned: float,
        price_per_gb: float,
        checked_here: int = 0,
    ) -> RemoteCounts:
        """From the keyword arguments of ``Stats`` (``Tally.as_stats()``)."""
        return cls(Stats(**counts), bytes_scanned, price_per_gb, checked_here)


class RemoteRun(Protocol):
    """A run in AWS that writes the records it finds into the files the viewer follows."""

    @property
    def initial(self) -> Node:
        """The filter the records written were matched with."""
        ...

    def run(self, stop: threading.Event, progress: Callable[[RemoteProgress], None]) -> None:
        """Run until done, cancelled or ``stop`` is set (then what runs in AWS is stopped);
        every change is reported to ``progress``, the last report is a finished one."""
        ...

    def cancel(self) -> None:
        """Stop the run: queries still running in AWS are stopped; what arrived stays."""
        ...

    def count(
        self,
        node: Node,
        cancel: threading.Event,
        buckets: int,
        on_progress: Callable[[str], None] | None = None,
    ) -> RemoteCounts:
        """Counts of what ``node`` keeps over the run's whole range, made in AWS (a timeline
        of at most ``buckets`` buckets); ``on_progress`` hears how far the counting is (a
        line, at most five times a second); raises SourceError with a one-line message."""
        ...


def remote_filter(initial: Node, view_filter: ViewFilter) -> Node | None:
    """What the overview counts in AWS: the run's filter and the viewer's (the viewer holds
    only the run's matches, so what it shows is both). None when the viewer's filter cannot
    be counted there (only the marked records: entries known only here)."""
    if view_filter.only is not None:
        return None
    return all_of([initial, view_filter.combined])


def counting_note(done: int, total: int, scanned: float) -> str:
    """What the overview says while AWS counts: slices done of those known, bytes so far."""
    return (
        f"counting in AWS Logs Insights · {done}/{total} slices · {describe_bytes(scanned)} scanned"
    )


def counted_note(counts: RemoteCounts) -> str:
    """What the overview says of counts made in AWS."""
    note = (
        f"{plural(counts.stats.records, 'record')} · counted in AWS Logs Insights · "
        + cost_text(counts.bytes_scanned, counts.price_per_gb)
    )
    if counts.checked_here:
        note += f" · {counts.checked_here:,} events read and counted here"
    return note


def fallback_note(records: int, error: str | None) -> str:
    """What the overview says when it counts the records held instead of asking AWS
    (``error``: why AWS did not count, None when the filter cannot be counted there)."""
    held = f"{plural(records, 'record')} held here, counted here"
    if error is None:
        return f"{held} (marked records cannot be counted in AWS)"
    return f"Logs Insights failed: {inert_line(error, 200)} · {held} instead"
