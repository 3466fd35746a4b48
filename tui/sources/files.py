"""Reading indexed entries back from their files: a bounded pool of open descriptors.

The index stores byte offsets; a ``FileReader`` turns (source, offset, length) into bytes.
Each source is a file known by its path and identity (device, inode). Descriptors stay open
while the budget allows (an open file survives its renaming and deletion), least recently
used ones close first, and the budget follows ``RLIMIT_NOFILE``. A file reopened by path is
checked to be the same file: a renamed one is looked for in its directory, a replaced one
marks the source changed, so no entry is ever read from another file's bytes.

A source whose bytes were overwritten (a truncated file) is marked gone: its entries keep
their columns, but their text is no longer there. Bytes the follower has just read are
remembered until its next poll, so the entries it adds can be shown even if their file is
truncated meanwhile. Temporary files (decompressed copies, spools) are removed on ``close``.
"""

from __future__ import annotations

import os
import resource
import stat
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

#: Descriptors kept for other uses (the terminal, scanning threads, temporary files...).
RESERVED_DESCRIPTORS = 96
#: Bytes remembered from one poll at most (beyond that, entries are read from their files).
REMEMBER_BYTES = 64 << 20

Identity = tuple[int, int]


def descriptor_budget() -> int:
    """How many descriptors a reader may keep open: the soft ``RLIMIT_NOFILE`` less a
    reserve, and at least 8."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 16
    return max(8, min(soft - RESERVED_DESCRIPTORS, 1 << 16))


def identity_of(info: os.stat_result) -> Identity:
    """A file's (device, inode)."""
    return (info.st_dev, info.st_ino)


class Feed(Protocol):
    """Something that keeps appending to a source's file (a spooled stream)."""

    @property
    def ended(self) -> bool:
        """Whether no more bytes will come."""
        ...

    @property
    def problem(self) -> str | None:
        """Why it ended before its stream did (a limit, an error), if it did."""
        ...


@dataclass
class _Source:
    path: Path
    identity: Identity | None
    feed: Feed | None
    problem: str | None = None  # why its text is gone


class FileReader:
    """The files behind an index's sources, read by offset (thread-safe)."""

    def __init__(self, budget: int | None = None) -> None:
        self.budget = budget if budget is not None else descriptor_budget()
        self._sources: dict[int, _Source] = {}
        self._open: OrderedDict[int, int] = OrderedDict()  # source -> descriptor, LRU first
        self._recent: dict[int, tuple[int, bytes]] = {}  # source -> (offset, bytes)
        self._recent_bytes = 0
        self._cleanups: list[Callable[[], None]] = []
        self._lock = threading.RLock()

    # -- sources ----------------------------------------------------------------------

    def register(
        self,
        source: int,
        path: Path,
        *,
        identity: Identity | None = None,
        feed: Feed | None = None,
    ) -> None:
        """Read ``source`` from ``path``, the file with ``identity`` (taken at the first open
        when not given); ``feed`` says the file is a spool that grows."""
        with self._lock:
            self._close(source)
            self._sources[source] = _Source(path, identity, feed)

    def rename(self, source: int, path: Path) -> None:
        """The source's file is now called ``path`` (same identity)."""
        with self._lock:
            self._sources[source].path = path

    def path(self, source: int) -> Path:
        """The file a source is read from."""
        return self._sources[source].path

    def identity(self, source: int) -> Identity | None:
        """The (device, inode) of a source's file, once known."""
        return self._sources[source].identity

    def feed(self, source: int) -> Feed | None:
        """What keeps appending to a source's file, if anything."""
        return self._sources[source].feed

    def mark_gone(self, source: int, reason: str) -> None:
        """The source's bytes were overwritten (a truncated file): its entries keep their
        columns but no longer have text; ``reason`` says why."""
        with self._lock:
            self._close(source)
            self._sources[source].problem = reason

    def why_gone(self, source: int) -> str | None:
        """Why a source's text is gone (None: it is not)."""
        return self._sources[source].problem

    # -- reading ----------------------------------------------------------------------

    def read_range(self, source: int, offset: int, length: int) -> bytes | None:
        """Bytes of a source file (a shorter result if the file shrank; None once its text
        is gone: truncated, replaced, deleted, unreadable)."""
        with self._lock:
            recent = self._recent.get(source)
            if recent is not None:
                start, data = recent
                if start <= offset and offset + length <= start + len(data):
                    return data[offset - start : offset - start + length]
            fd = self.descriptor(source)
            if fd is None:
                return None
            try:
                return os.pread(fd, length, offset)
            except OSError as error:
                self._sources[
                    source
                ].problem = f"{self._sources[source].path}: {error.strerror or error}"
                self._close(source)
                return None

    def descriptor(self, source: int) -> int | None:
        """An open descriptor of the source's file (reopened by path and checked to be the
        same file if it was closed), or None when that file cannot be read any more."""
        with self._lock:
            fd = self._open.get(source)
            if fd is not None:
                self._open.move_to_end(source)
                return fd
            entry = self._sources[source]
            if entry.problem is not None:
                return None
            fd = self._reopen(entry)
            if fd is None:
                return None
            self._keep(source, fd)
            return fd

    def is_open(self, source: int) -> bool:
        """Whether the source's file is held open (it then survives deletion)."""
        with self._lock:
            return source in self._open

    def remember(self, source: int, offset: int, data: bytes) -> None:
        """Serve reads inside ``data`` (bytes at ``offset``) from memory until ``forget``."""
        with self._lock:
            if self._recent_bytes + len(data) > REMEMBER_BYTES:
                return
            old = self._recent.get(source)
            if old is not None and old[0] + len(old[1]) == offset:
                data = old[1] + data  # two reads of one poll: keep them as one run
                offset = old[0]
                self._recent_bytes -= len(old[1])
            self._recent[source] = (offset, data)
            self._recent_bytes += len(data)

    def forget(self) -> None:
        """Drop the remembered bytes."""
        with self._lock:
            self._recent.clear()
            self._recent_bytes = 0

    # -- descriptors ------------------------------------------------------------------

    def _reopen(self, entry: _Source) -> int | None:
        """Open ``entry``'s file by path; if another file has that name now, look for the
        original (by identity) beside it, or mark the source changed."""
        try:
            fd = os.open(entry.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            fd = -1
        except OSError as error:
            entry.problem = f"{entry.path}: {error.strerror or error}"
            return None
        if fd >= 0:
            found = identity_of(os.fstat(fd))
            if entry.identity is None:
                entry.identity = found
            if found == entry.identity:
                return fd
            os.close(fd)
        moved = _find_by_identity(entry.path.parent, entry.identity)
        if moved is not None:
            entry.path = moved
            return self._reopen(entry)
        if fd < 0:
            entry.problem = f"{entry.path} was deleted after it was read"
        else:
            entry.problem = f"{entry.path} was replaced by another file after it was read"
        return None

    def _keep(self, source: int, fd: int) -> None:
        """Hold ``fd`` open for ``source``, closing least recently used descriptors beyond
        the budget (files still linked first: a deleted one cannot be reopened)."""
        self._open[source] = fd
        self._open.move_to_end(source)
        while len(self._open) > self.budget:
            victim = next(iter(self._open))
            for candidate, descriptor in self._open.items():
                if candidate == source:
                    continue
                try:
                    if os.fstat(descriptor).st_nlink > 0:
                        victim = candidate
                        break
                except OSError:
                    victim = candidate
                    break
            self._close(victim)

    def _close(self, source: int) -> None:
        fd = self._open.pop(source, None)
        if fd is not None:
            os.close(fd)

    # -- lifetime ---------------------------------------------------------------------

    def add_cleanup(self, cleanup: Callable[[], None]) -> None:
        """Run ``cleanup`` on ``close`` (temporary files the sources need until then)."""
        with self._lock:
            self._cleanups.append(cleanup)

    def close(self) -> None:
        """Close every descriptor and remove temporary files."""
        with self._lock:
            for source in list(self._open):
                self._close(source)
            self.forget()
            for cleanup in self._cleanups:
                cleanup()
            self._cleanups.clear()


def _find_by_identity(directory: Path, identity: Identity | None) -> Path | None:
    """The file in ``directory`` with ``identity`` (a rotated file keeps its directory)."""
    if identity is None:
        return None
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.inode() != identity[1]:
                    continue
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISREG(info.st_mode) and identity_of(info) == identity:
                    return Path(entry.path)
    except OSError:
        return None
    return None


def state_directory() -> Path:
    """Where the tool keeps what it learns between runs (XDG state directory)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "neptune-audit"


def private_directory(path: Path) -> Path:
    """Create ``path`` (and missing parents) readable by the user alone (0700, whatever the
    umask); an existing directory keeps its mode."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(directory, 0o700)  # mkdir's mode is masked by the umask
    return path


def write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` atomically with ``data``, readable by the user alone (0600), in a
    directory made with ``private_directory``."""
    private_directory(path.parent)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
