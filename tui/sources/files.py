"""Reading indexed entries back from their files: a small pool of open descriptors.

The index stores byte offsets; a ``FileReader`` turns (source, offset, length) into bytes.
It keeps at most ``MAX_OPEN_FILES`` descriptors of its own open, and any number a follower
pins (a pinned descriptor survives its file's renaming and deletion). A source whose bytes
were overwritten (a truncated file) is marked gone: its entries keep their columns, but
their text is no longer there. Temporary files (decompressed ``.gz`` copies) are removed on
``close``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

MAX_OPEN_FILES = 64


class FileReader:
    """The files behind an index's sources, read by offset (thread-safe)."""

    def __init__(self) -> None:
        self._paths: dict[int, Path] = {}
        self._files: dict[int, int] = {}  # source id -> descriptor opened on demand
        self._pinned: dict[int, int] = {}  # descriptors a follower keeps open
        self._gone: set[int] = set()
        self._cleanups: list[Callable[[], None]] = []
        self._lock = threading.RLock()

    def register(self, source: int, path: Path) -> None:
        """Read ``source`` from ``path`` (the file whose bytes its offsets refer to)."""
        with self._lock:
            self._paths[source] = path

    def path(self, source: int) -> Path:
        """The file a source is read from."""
        return self._paths[source]

    def read_range(self, source: int, offset: int, length: int) -> bytes | None:
        """Bytes of a source file (a shorter result if the file shrank; None once its text
        is gone)."""
        with self._lock:
            if source in self._gone:
                return None
            fd = self._pinned.get(source)
            if fd is None:
                fd = self._files.get(source)
            if fd is None:
                if len(self._files) >= MAX_OPEN_FILES:
                    os.close(self._files.pop(next(iter(self._files))))
                fd = os.open(self._paths[source], os.O_RDONLY)
                self._files[source] = fd
            return os.pread(fd, length, offset)

    def attach(self, source: int, fd: int) -> None:
        """Read ``source`` through ``fd`` from now on (an open file survives its renaming
        and deletion); the reader closes it."""
        with self._lock:
            old = self._pinned.get(source)
            if old is not None and old != fd:
                os.close(old)
            self._pinned[source] = fd
            self._gone.discard(source)

    def mark_gone(self, source: int) -> None:
        """The source's bytes were overwritten (a truncated file): its entries keep their
        columns but no longer have text."""
        with self._lock:
            self._gone.add(source)

    def add_cleanup(self, cleanup: Callable[[], None]) -> None:
        """Run ``cleanup`` on ``close`` (temporary files the sources need until then)."""
        with self._lock:
            self._cleanups.append(cleanup)

    def close(self) -> None:
        """Close every descriptor and remove temporary files."""
        with self._lock:
            for fd in [*self._files.values(), *set(self._pinned.values())]:
                os.close(fd)
            self._files.clear()
            self._pinned.clear()
            for cleanup in self._cleanups:
                cleanup()
            self._cleanups.clear()


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
