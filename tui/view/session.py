"""What a viewing session keeps between runs of the same set of files, and its checks.

A session is keyed by the resolved set of paths opened. It holds the filter, the probe
toggle, the column choice, the detail layout, the marks and the cursor. Entries are named
by where they are (file name and byte offset) and their time, so a mark or the cursor comes
back to the same record, or to nothing when its file changed: ids of entries are not stable
across runs. Reading checks every field; anything unexpected makes the whole session
ignored, with the reason (a session file is never trusted, never fatal).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tui.index.index import Index
from tui.sources.files import write_private

VERSION = 1
_LAYOUTS = ("below", "beside")


@dataclass(frozen=True)
class Place:
    """Where an entry is: its file (as shown), byte offset and time."""

    source: str
    offset: int
    epoch_us: int


@dataclass(frozen=True)
class Session:
    """The viewer's state worth restoring."""

    filter_text: str = ""
    hide_probes: bool = False
    hidden_columns: tuple[str, ...] = ()
    pinned_columns: tuple[str, ...] = ()
    layout: str = "below"
    detail_rows: int = 0
    detail_percent: int = 45
    detail_shown: bool = True
    raw: bool = False
    local_time: bool = False
    marks: tuple[Place, ...] = ()
    cursor: Place | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


def session_key(paths: Iterable[str]) -> str:
    """The key of a set of opened paths (resolved, order and repeats ignored)."""
    resolved = sorted({os.path.realpath(path) for path in paths})
    return hashlib.sha256("\0".join(resolved).encode()).hexdigest()[:32]


def to_json(session: Session) -> dict[str, Any]:
    """The JSON form of a session."""

    def place(value: Place) -> list[Any]:
        return [value.source, value.offset, value.epoch_us]

    return {
        "version": VERSION,
        "filter": session.filter_text,
        "hide_probes": session.hide_probes,
        "hidden_columns": list(session.hidden_columns),
        "pinned_columns": list(session.pinned_columns),
        "layout": session.layout,
        "detail_rows": session.detail_rows,
        "detail_percent": session.detail_percent,
        "detail_shown": session.detail_shown,
        "raw": session.raw,
        "local_time": session.local_time,
        "marks": [place(mark) for mark in session.marks],
        "cursor": place(session.cursor) if session.cursor is not None else None,
    }


class SessionError(ValueError):
    """A session file that cannot be used; the message says why."""


def from_json(document: object) -> Session:
    """A session from its JSON form (raises SessionError on anything unexpected)."""
    if not isinstance(document, dict) or document.get("version") != VERSION:
        raise SessionError("not a session of this version")

    def get(name: str, kind: type | tuple[type, ...]) -> Any:
        value = document.get(name)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise SessionError(f"bad {name!r}")
        return value

    def strings(name: str) -> tuple[str, ...]:
        values = get(name, list)
        if not all(isinstance(value, str) for value in values):
            raise SessionError(f"bad {name!r}")
        return tuple(values)

    def place(value: object) -> Place:
        if (
            isinstance(value, list)
            and len(value) == 3
            and isinstance(value[0], str)
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value[1:])
            and value[1] >= 0
        ):
            return Place(value[0], value[1], value[2])
        raise SessionError("bad place of an entry")

    layout = get("layout", str)
    if layout not in _LAYOUTS:
        raise SessionError("bad 'layout'")
    marks = get("marks", list)
    if len(marks) > 100_000:
        raise SessionError("too many marks")
    cursor = document.get("cursor")
    return Session(
        filter_text=get("filter", str),
        hide_probes=get("hide_probes", bool),
        hidden_columns=strings("hidden_columns"),
        pinned_columns=strings("pinned_columns"),
        layout=layout,
        detail_rows=max(0, min(get("detail_rows", int), 200)),
        detail_percent=max(10, min(get("detail_percent", int), 90)),
        detail_shown=get("detail_shown", bool),
        raw=get("raw", bool),
        local_time=get("local_time", bool),
        marks=tuple(place(mark) for mark in marks),
        cursor=place(cursor) if cursor is not None else None,
    )


def place_of(index: Index, entry: int) -> Place:
    """Where an entry is."""
    source = index.sources[int(index.column("source")[entry])].name
    return Place(source, int(index.column("offset")[entry]), int(index.column("epoch_us")[entry]))


def find_places(
    index: Index, places: Sequence[Place], cancel: threading.Event | None = None
) -> list[int | None]:
    """The entry at each place (None where the file or the entry at that offset changed);
    reads the columns once per file involved (run it in a worker)."""
    by_name = {source.name: source.id for source in index.sources}
    sources = index.column("source")
    offsets = index.column("offset")
    times = index.column("epoch_us")
    found: list[int | None] = []
    cached: dict[int, np.ndarray] = {}
    for place in places:
        if cancel is not None and cancel.is_set():
            break
        source_id = by_name.get(place.source)
        if source_id is None:
            found.append(None)
            continue
        entries = cached.get(source_id)
        if entries is None:
            entries = cached[source_id] = np.flatnonzero(sources == source_id)
        position = int(np.searchsorted(offsets[entries].astype(np.int64), place.offset))
        if position < len(entries):
            entry = int(entries[position])
            if int(offsets[entry]) == place.offset and int(times[entry]) == place.epoch_us:
                found.append(entry)
                continue
        found.append(None)
    return found


def session_path(state_directory: Path, key: str) -> Path:
    """Where the session of ``key`` is kept."""
    return state_directory / "sessions" / f"{key}.json"


#: Sessions kept (of the most recently used sets of files).
SESSIONS_KEPT = 64


def read_session(state_directory: Path, key: str) -> Session | None:
    """The saved session of ``key``, None when there is none; ValueError (with the reason)
    for one that cannot be read or trusted."""
    path = session_path(state_directory, key)
    try:
        document = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, RecursionError) as error:
        raise ValueError(str(error)) from error
    return from_json(document)


def save_session(state_directory: Path, key: str, session: Session) -> None:
    """Keep ``session`` for ``key``, private to the user, and only the most recent
    ``SESSIONS_KEPT``; failing to is not worth an error (the session is lost)."""
    path = session_path(state_directory, key)
    try:
        write_private(path, json.dumps(to_json(session)).encode())
        kept = sorted(path.parent.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[SESSIONS_KEPT:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
