"""Messages workers send to the app: the only way background work reaches the UI."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from textual.message import Message

from tui.index.filtering import FilterResult
from tui.sources.follow import FollowUpdate
from tui.sources.local import Progress


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
class ViewReady(Message):
    """The entries a filter keeps, in time order."""

    generation: int
    result: FilterResult
    ids: npt.NDArray[np.int32]


@dataclass
class PreviewReady(Message):
    """How many entries an expression being typed would keep."""

    text: str
    count: int


@dataclass
class SearchReady(Message):
    """Rows of the current view whose text matches the search (``mask``: every entry
    searched so far; ``jump``: move to the first match)."""

    generation: int
    pattern: re.Pattern[str]
    rows: npt.NDArray[np.int64]
    mask: npt.NDArray[np.bool_]
    jump: bool


@dataclass
class Followed(Message):
    """Followed files changed: entries were added, or files rotated, appeared, went."""

    update: FollowUpdate
