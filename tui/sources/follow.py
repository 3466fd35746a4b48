"""Following log files as they grow, rotate and appear: ``tail -F`` for a merged index.

A Follower polls: it stats what it follows, reads what was appended up to the last complete
line, and commits it to the index (whose merged order takes late records into place). It
keeps every file open and tells them apart by inode, so that:

- a partial last line waits for its newline;
- a renamed file (rotation) is the same source under a new name, read to its end, while a
  new file with the old name is a new source;
- a file that shrank (copy-truncate) is read again from the start as a new source; the old
  source keeps its text when the copy turns up (same first bytes, at least as long);
- new files in a followed directory or matching a followed glob are picked up;
- a deleted file keeps what was read (its descriptor stays open) and is reported once.

The follower never touches a UI: it returns (and reports) ``FollowUpdate``s.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tui.index.index import Index
from tui.index.scan import PAD, Scanner
from tui.sources.files import FileReader
from tui.sources.local import SourceError, files_named, instance_of

#: Bytes read per file per poll at most: a burst is spread over a few polls.
READ_LIMIT = 16 << 20
#: Bytes that identify a file's beginning, to recognise a copy of a truncated file.
PREFIX_BYTES = 4096


@dataclass
class FollowUpdate:
    """What one poll found: how many entries were added, and events worth a message."""

    added: int = 0
    events: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether anything happened."""
        return bool(self.added or self.events)


@dataclass
class _Tracked:
    source: int
    path: Path
    fd: int
    identity: tuple[int, int]  # (device, inode)
    end: int
    prefix: bytes
    deleted: bool = False
    rotated: bool = False


@dataclass
class _Truncated:
    source: int
    end: int
    prefix: bytes


class Follower:
    """Keeps an index up to date with files that grow, rotate, truncate and appear."""

    def __init__(self, index: Index, reader: FileReader, paths: Iterable[str]) -> None:
        self.index = index
        self.reader = reader
        self.paths = list(paths)
        self.scanner = Scanner()
        self._tracked: dict[tuple[int, int], _Tracked] = {}
        self._truncated: list[_Truncated] = []
        self._lock = threading.Lock()

    # -- setup ----------------------------------------------------------------------------

    def adopt_loaded(self) -> None:
        """Follow the sources the index already has (those of plain files)."""
        for source in self.index.sources:
            path = Path(source.name)
            if path.suffix == ".gz" or self.reader.path(source.id) != path:
                continue  # compressed or copied inputs do not grow
            try:
                fd = os.open(path, os.O_RDONLY)
                info = os.fstat(fd)
            except OSError:
                continue
            tracked = _Tracked(
                source=source.id,
                path=path,
                fd=fd,
                identity=(info.st_dev, info.st_ino),
                end=source.end,
                prefix=os.pread(fd, PREFIX_BYTES, 0),
            )
            self.reader.attach(source.id, fd)
            self._tracked[tracked.identity] = tracked

    # -- polling --------------------------------------------------------------------------

    def poll(self) -> FollowUpdate:
        """One pass: discover files, read what was appended, commit it."""
        with self._lock:
            update = FollowUpdate()
            # Truncations first: a copy made before a truncation must be recognised as
            # that, not followed as a new file.
            for tracked in list(self._tracked.values()):
                try:
                    if os.fstat(tracked.fd).st_size < tracked.end:
                        self._restart_truncated(tracked, update)
                except OSError:
                    continue
            seen = self._discover(update)
            for tracked in list(self._tracked.values()):
                self._check_name(tracked, seen, update)
                self._read(tracked, update)
            return update

    def run(
        self,
        stop: threading.Event,
        on_update: Callable[[FollowUpdate], object],
        *,
        interval: float = 0.25,
        on_error: Callable[[Exception], object] | None = None,
    ) -> None:
        """Poll every ``interval`` seconds until ``stop`` is set; report each change."""
        while not stop.is_set():
            started = time.monotonic()
            try:
                update = self.poll()
            except OSError as error:
                if on_error is None:
                    raise
                on_error(error)
                update = FollowUpdate()
            if update.changed:
                on_update(update)
            stop.wait(max(0.0, interval - (time.monotonic() - started)))

    def close(self) -> None:
        """Stop following (descriptors handed to the index stay open for reading)."""
        with self._lock:
            self._tracked.clear()

    # -- discovery ------------------------------------------------------------------------

    def _candidates(self) -> Iterable[tuple[Path, Path]]:
        """(file, root) for every file the followed arguments name right now."""
        for argument in self.paths:
            try:
                yield from files_named(argument)
            except SourceError:
                continue  # not there (yet)

    def _discover(self, update: FollowUpdate) -> dict[tuple[int, int], Path]:
        """Identities of the files the arguments name, starting to follow new ones."""
        seen: dict[tuple[int, int], Path] = {}
        for file, root in self._candidates():
            if file.suffix == ".gz":
                continue
            try:
                info = file.stat()
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode):
                continue
            identity = (info.st_dev, info.st_ino)
            seen[identity] = file
            if identity in self._tracked:
                continue
            self._start(file, root, update)
        return seen

    def _start(self, file: Path, root: Path, update: FollowUpdate) -> None:
        try:
            fd = os.open(file, os.O_RDONLY)
            info = os.fstat(fd)
        except OSError:
            return
        identity = (info.st_dev, info.st_ino)
        prefix = os.pread(fd, PREFIX_BYTES, 0)
        copy_of = self._copy_of(prefix, info.st_size)
        if copy_of is not None:
            # The copy of a truncated file: its text serves the old entries, and whatever
            # it holds beyond them is new.
            self._truncated.remove(copy_of)
            self.reader.attach(copy_of.source, fd)
            tracked = _Tracked(copy_of.source, file, fd, identity, copy_of.end, prefix)
            update.events.append(f"{file}: copy of a truncated file; its records are kept")
        else:
            source = self.index.add_source(str(file), instance_of(file, root))
            self.reader.register(source.id, file)
            self.reader.attach(source.id, fd)
            tracked = _Tracked(source.id, file, fd, identity, 0, prefix)
            update.events.append(f"following new file {file}")
        self._tracked[identity] = tracked

    def _copy_of(self, prefix: bytes, size: int) -> _Truncated | None:
        for truncated in self._truncated:
            compared = min(len(prefix), len(truncated.prefix), truncated.end)
            if (
                size >= truncated.end
                and compared
                and prefix[:compared] == truncated.prefix[:compared]
            ):
                return truncated
        return None

    def _check_name(
        self, tracked: _Tracked, seen: dict[tuple[int, int], Path], update: FollowUpdate
    ) -> None:
        """Notice renames (rotation) and deletion of a followed file."""
        if tracked.identity in seen:
            new_path = seen[tracked.identity]
            if new_path != tracked.path:
                update.events.append(f"{tracked.path} rotated to {new_path}")
                tracked.path = new_path
            return
        if tracked.deleted or tracked.rotated:
            return
        try:
            links = os.fstat(tracked.fd).st_nlink
        except OSError:
            links = 0
        if links == 0:
            tracked.deleted = True
            records = int((self.index.column("source") == tracked.source).sum())
            update.events.append(f"{tracked.path} was deleted; its {records:,} entries are kept")
        else:
            tracked.rotated = True  # renamed out of what is followed: read it to its end
            update.events.append(f"{tracked.path} was rotated away; reading it to its end")

    # -- reading --------------------------------------------------------------------------

    def _read(self, tracked: _Tracked, update: FollowUpdate) -> None:
        try:
            size = os.fstat(tracked.fd).st_size
        except OSError:
            return
        if size <= tracked.end:
            return
        want = min(size - tracked.end, READ_LIMIT)
        while True:
            buffer = bytearray(want + PAD)
            got = os.preadv(tracked.fd, [memoryview(buffer)[:want]], tracked.end)
            complete = buffer.rfind(b"\n", 0, got) + 1  # a partial last line waits
            if complete or got < want or tracked.end + want >= size:
                break
            want = min(size - tracked.end, want * 2)  # a line longer than the read
        if complete == 0:
            return
        buffer[complete : complete + PAD] = bytes(PAD)
        span = self.scanner.scan_padded(
            buffer,
            complete,
            file_offset=tracked.end,
            at_file_start=tracked.end == 0,
            final=True,
        )
        before = self.index.size
        self.index.commit(tracked.source, span)
        tracked.end += complete
        update.added += self.index.size - before

    def _restart_truncated(self, tracked: _Tracked, update: FollowUpdate) -> None:
        """The file shrank: its old bytes are gone, what it holds now is new."""
        old = tracked.source
        self._truncated.append(_Truncated(old, tracked.end, tracked.prefix))
        self.reader.mark_gone(old)
        # The old source keeps the old descriptor (a found copy replaces it later); the new
        # source reads through a duplicate.
        fd = os.dup(tracked.fd)
        instance = self.index.sources[old].instance
        source = self.index.add_source(str(tracked.path), instance)
        self.reader.register(source.id, tracked.path)
        self.reader.attach(source.id, fd)
        tracked.fd = fd
        tracked.source = source.id
        tracked.end = 0
        tracked.prefix = os.pread(fd, PREFIX_BYTES, 0)
        update.events.append(f"{tracked.path} was truncated; reading it again from the start")
