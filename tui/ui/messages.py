"""Messages workers send to the app: the only way background work reaches the UI."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from rich.console import RenderableType
from textual.message import Message
from textual.strip import Strip

from tui.index.filtering import FilterResult
from tui.index.stats import Stats, Timeline
from tui.query import Node
from tui.sources.follow import FollowUpdate
from tui.sources.local import Progress
from tui.view.rows import Counts, RowsUpdate
from tui.view.search import SearchUpdate
from tui.view.status import RemoteProgress

if TYPE_CHECKING:
    from tui.ui.detail import Drawing


@dataclass
class IndexProgress(Message):
    """More of the input is indexed."""

    progress: Progress


@dataclass
class IndexLoaded(Message):
    """Every input file is indexed."""

    progress: Progress | None


@dataclass
class IndexFailed(Message):
    """Loading stopped; ``message`` says why in one line."""

    message: str


@dataclass
class RowsReady(Message):
    """The rows a filter keeps (a worker's answer to a rows request), and the seconds the
    worker took."""

    update: RowsUpdate
    seconds: float = 0.0


@dataclass
class RowsFailed(Message):
    """A rows request ended without an answer (``message`` empty when cancelled)."""

    generation: int
    message: str


@dataclass
class PreviewReady(Message):
    """What an expression being typed would keep."""

    text: str
    node: Node
    result: FilterResult
    counts: Counts


@dataclass
class SearchReady(Message):
    """Search matches over the shown rows."""

    update: SearchUpdate


@dataclass
class Followed(Message):
    """Followed files changed: entries were added, or files rotated, appeared, went."""

    update: FollowUpdate


@dataclass
class DetailReady(Message):
    """The detail of the cursor's entry, built (``generation``: which request it answers)."""

    generation: int
    renderable: RenderableType
    drawn: tuple[Drawing, list[Strip]]  # its lines, and the pane they were drawn for


@dataclass
class PagerReady(Message):
    """A record's text, written to a private temporary file for $PAGER."""

    path: Path


@dataclass
class JumpReady(Message):
    """Where a jump over ``ids`` goes (None: nowhere, and ``none`` says so)."""

    ids: npt.NDArray[np.int32]
    row: int | None
    none: str


@dataclass
class ExportProgress(Message):
    """Writing the view: ``done`` of ``total`` entries."""

    path: Path
    done: int
    total: int


@dataclass
class ExportDone(Message):
    """The view was written (``error``: why it was not)."""

    path: Path
    written: int
    error: str | None


@dataclass
class SessionPlaces(Message):
    """The entries a restored session names: its marks and its cursor (None: gone)."""

    marks: set[int]
    cursor: int | None


@dataclass
class OverviewReady(Message):
    """The overview's counts over the records shown and how long they took; ``shapes``:
    with operations and query shapes; ``classifying``: share of the pass that classifies
    queries done (None when none is under way)."""

    stats: Stats
    seconds: float
    shapes: bool
    classifying: float | None


@dataclass
class TimelineReady(Message):
    """The timeline line's counts over the records shown (None: no records)."""

    timeline: Timeline | None


@dataclass
class RemoteProgressed(Message):
    """A run in AWS feeding the view moved on (a slice changed, matches were written), or
    ended."""

    progress: RemoteProgress


@dataclass
class RemoteOverviewReady(Message):
    """The overview's counts of a run in AWS (or of the records held, when AWS could not
    count them) and what to say of them; ``stats`` None: nothing to count here either."""

    stats: Stats | None
    note: str
