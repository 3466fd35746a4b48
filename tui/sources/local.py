"""Local log files: finding them, and indexing them in parallel spans.

Paths may be files, directories (searched recursively) or glob patterns; ``.gz`` files are
decompressed once into a temporary file so their entries can be read by offset like any
other. Files are cut into spans that begin at record starts, so no entry straddles two
spans; worker threads scan spans (numpy releases the GIL) and the calling thread commits
them in file order.
"""

from __future__ import annotations

import glob
import gzip
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tui.index.index import Index
from tui.index.scan import PAD, Scanner, SpanData
from tui.sources.files import FileReader

#: Nominal span size: large enough for numpy to dominate, small enough that a span and the
#: scanner's temporaries stay near the processor's cache (4 MB took 11 % less CPU than
#: 16 MB, paired) and that two scanning threads hold little memory.
SPAN_BYTES = 4 << 20
#: The very first span is small, so the first records appear at once.
FIRST_SPAN_BYTES = 2 << 20
_ALIGN_READ = 64 << 10
#: A low guess of bytes per entry, to reserve room for the columns once.
_BYTES_PER_ENTRY_GUESS = 150
_RECORD_START = re.compile(rb"\n[0-9]+, ")
GLOB_CHARS = re.compile(r"[*?\[]")


class SourceError(Exception):
    """A path that cannot be read; the message names it and says why, in one line."""


@dataclass(frozen=True)
class LogFile:
    """A file to index: where its bytes are, and how to show it."""

    origin: Path  # the file the user has (perhaps .gz)
    name: str  # shown in the UI and in exports
    instance: str | None


def expand_paths(paths: Iterable[str]) -> list[LogFile]:
    """Files named by ``paths``: files, directories (recursively) and globs, sorted within
    each argument. Raises SourceError for a path that does not exist or matches nothing."""
    found: list[LogFile] = []
    seen: set[Path] = set()
    for argument in paths:
        for file, root in files_named(argument):
            resolved = file.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            if not os.access(file, os.R_OK):
                raise SourceError(f"{file}: permission denied")
            found.append(LogFile(origin=file, name=str(file), instance=instance_of(file, root)))
    return found


def files_named(argument: str) -> list[tuple[Path, Path]]:
    """(file, root) for every file an argument names now: the file itself, the files below a
    directory, or a glob's matches (directories among them searched alike); ``root`` is where
    the file's instance is read from. Raises SourceError when nothing by that name exists."""
    path = Path(argument)
    if GLOB_CHARS.search(argument) and not path.exists():
        matches = [Path(match) for match in sorted(glob.glob(argument, recursive=True))]
        if not matches:
            raise SourceError(f"{argument}: no file matches this pattern")
    elif path.exists():
        matches = [path]
    else:
        raise SourceError(f"{argument}: no such file or directory")
    found: list[tuple[Path, Path]] = []
    for match in matches:
        if match.is_dir():
            below = sorted(match.rglob("*"))
            found.extend((p, match) for p in below if p.is_file() and not hidden(p, match))
        else:
            found.append((match, match.parent))
    return found


def hidden(path: Path, root: Path) -> bool:
    """Whether a path below ``root`` is hidden (a dot file or inside a dot directory)."""
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def instance_of(file: Path, root: Path) -> str | None:
    """The instance a file belongs to: the directory holding it, when that directory is
    below the opened one (``<opened>/.../<instance>/<file>``, as ``fetch`` and ``demo``
    write them); None for a file given directly or directly in the opened directory."""
    try:
        parts = file.relative_to(root).parts
    except ValueError:
        return None
    if len(parts) >= 2:
        return parts[-2]
    return None


class Decompressed:
    """Temporary plain copies of ``.gz`` inputs, removed by ``cleanup``."""

    def __init__(self) -> None:
        self._directory: tempfile.TemporaryDirectory[str] | None = None

    def plain_path(self, file: LogFile) -> Path:
        """The path whose bytes to index: the file itself, or a decompressed copy."""
        if file.origin.suffix != ".gz":
            return file.origin
        if self._directory is None:
            self._directory = tempfile.TemporaryDirectory(prefix="neptune-audit-")
        target = Path(self._directory.name) / f"{len(os.listdir(self._directory.name))}.log"
        try:
            with gzip.open(file.origin, "rb") as packed, open(target, "wb") as plain:
                shutil.copyfileobj(packed, plain, 1 << 20)
        except (OSError, EOFError) as error:
            raise SourceError(f"{file.origin}: cannot decompress: {error}") from error
        return target

    def cleanup(self) -> None:
        """Remove the temporary copies."""
        if self._directory is not None:
            self._directory.cleanup()
            self._directory = None


@dataclass
class Progress:
    """How far indexing has come."""

    bytes_done: int
    bytes_total: int
    entries: int
    elapsed_s: float

    @property
    def fraction(self) -> float:
        """Share of the input bytes indexed, 0..1."""
        return 1.0 if self.bytes_total == 0 else self.bytes_done / self.bytes_total

    @property
    def rate(self) -> float:
        """Bytes per second so far."""
        return self.bytes_done / self.elapsed_s if self.elapsed_s > 0 else 0.0


def align_to_record(fd: int, offset: int, size: int) -> int:
    """The first offset at or after ``offset`` where a record-start line begins (or
    ``size``). Both neighbouring spans compute the same boundary."""
    if offset <= 0:
        return 0
    position = offset - 1
    while position < size:
        chunk = os.pread(fd, _ALIGN_READ + 32, position)
        if not chunk:
            break
        match = _RECORD_START.search(chunk)
        if match:
            return position + match.start() + 1
        position += _ALIGN_READ
    return size


def _read_padded(fd: int, start: int, end: int, buffer: bytearray | None = None) -> bytearray:
    """``[start, end)`` of a file followed by PAD zero bytes, in ``buffer`` when it is big
    enough (reusing a buffer spares the page faults of a fresh one per span)."""
    if buffer is None or len(buffer) < end - start + PAD:
        buffer = bytearray(end - start + PAD)
    else:
        buffer[end - start : end - start + PAD] = bytes(PAD)
    view = memoryview(buffer)
    done = 0
    while done < end - start:
        got = os.preadv(fd, [view[done : end - start]], start + done)
        if got <= 0:
            raise SourceError("file shrank while it was read")
        done += got
    return buffer


def indexable_end(path: Path, *, partial_last_line: bool) -> int:
    """How much of a file to index: all of it, or up to its last newline (when following,
    a last line without a newline may still be being written)."""
    size = path.stat().st_size
    if partial_last_line or size == 0:
        return size
    with open(path, "rb") as handle:
        position = size
        while position > 0:
            step = min(position, 1 << 16)
            handle.seek(position - step)
            block = handle.read(step)
            newline = block.rfind(b"\n")
            if newline >= 0:
                return position - step + newline + 1
            position -= step
    return 0


class _ScanWork:
    """One span to scan in a worker thread."""

    def __init__(self, source: int, path: Path, start: int, end: int, size: int) -> None:
        self.source, self.path = source, path
        self.start, self.end, self.size = start, end, size

    def run(self, local: threading.local, index: Index) -> SpanData:
        scanner: Scanner | None = getattr(local, "scanner", None)
        if scanner is None:
            scanner = local.scanner = Scanner()
        fd = os.open(self.path, os.O_RDONLY)
        try:
            start = align_to_record(fd, self.start, self.size)
            end = align_to_record(fd, self.end, self.size) if self.end < self.size else self.size
            end = max(start, end)
            buffer = _read_padded(fd, start, end, getattr(local, "buffer", None))
            local.buffer = buffer
        finally:
            os.close(fd)
        # Spans end at a record start (after a newline) or where the caller chose to stop
        # reading; a last line without its newline there is complete.
        span = scanner.scan_padded(
            buffer, end - start, file_offset=start, at_file_start=start == 0, final=True
        )
        return index.prepare(span)


def _plan(source: int, path: Path, size: int, first: bool) -> Iterator[_ScanWork]:
    """The spans of one file; the first file's first span is short (first records fast)."""
    offset = 0
    span = FIRST_SPAN_BYTES if first else SPAN_BYTES
    while offset < size:
        end = min(size, offset + span)
        yield _ScanWork(source, path, offset, end, size)
        offset = end
        span = SPAN_BYTES


def load(
    index: Index,
    reader: FileReader,
    files: list[LogFile],
    *,
    workers: int | None = None,
    partial_last_line: bool = True,
    on_progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
) -> None:
    """Index ``files`` into ``index``: scan spans in worker threads, commit in order.

    ``reader`` learns where each source's bytes are. ``on_progress`` is called from this
    thread after every commit. Raises SourceError. Decompressed copies live until
    ``reader.close()``.
    """
    started = time.perf_counter()
    decompressed = Decompressed()
    reader.add_cleanup(decompressed.cleanup)
    plans: list[tuple[int, Path, int]] = []
    for file in files:
        path = decompressed.plain_path(file)
        try:
            size = indexable_end(path, partial_last_line=partial_last_line)
        except OSError as error:
            raise SourceError(f"{file.origin}: {error.strerror or error}") from error
        source = index.add_source(file.name, file.instance)
        reader.register(source.id, path)
        plans.append((source.id, path, size))
    total = sum(size for _, _, size in plans)
    index.reserve(index.size + total // _BYTES_PER_ENTRY_GUESS)
    work = [
        item
        for number, (source, path, size) in enumerate(plans)
        for item in _plan(source, path, size, number == 0)
    ]
    worker_count = workers or max(1, min(len(work), os.cpu_count() or 1))
    local = threading.local()
    done_bytes = 0

    def report() -> None:
        if on_progress is not None:
            elapsed = time.perf_counter() - started
            on_progress(Progress(done_bytes, total, index.size, elapsed))

    def report_commit(span: SpanData) -> None:
        nonlocal done_bytes
        done_bytes += span.end - span.start
        report()

    if worker_count <= 1 or len(work) <= 1:
        for item in work:
            if cancel is not None and cancel.is_set():
                return
            span = _run(item, local, index)
            index.commit(item.source, span)
            report_commit(span)
        report()
        return
    # Scanner threads hand the GIL back and forth between numpy calls; a short switch
    # interval keeps one from waiting out the default 5 ms while the other holds it.
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    try:
        _load_parallel(index, work, worker_count, local, report_commit, cancel)
    finally:
        sys.setswitchinterval(switch_interval)
    report()


def _load_parallel(
    index: Index,
    work: list[_ScanWork],
    worker_count: int,
    local: threading.local,
    on_commit: Callable[[SpanData], None],
    cancel: threading.Event | None,
) -> None:
    """Scan ``work`` in a thread pool and commit the spans in submission order."""
    with ThreadPoolExecutor(worker_count, thread_name_prefix="scan") as pool:
        # Keep a bounded window of spans in flight; commit them in submission order.
        window = 2 * worker_count
        pending: list[tuple[_ScanWork, Future[SpanData]]] = []
        queue = iter(work)
        for item in queue:
            pending.append((item, pool.submit(_run, item, local, index)))
            if len(pending) >= window:
                break
        while pending:
            item, future = pending.pop(0)
            span = future.result()
            if cancel is not None and cancel.is_set():
                for _, other in pending:
                    other.cancel()
                return
            index.commit(item.source, span)
            on_commit(span)
            following = next(queue, None)
            if following is not None:
                pending.append((following, pool.submit(_run, following, local, index)))


def _run(item: _ScanWork, local: threading.local, index: Index) -> SpanData:
    try:
        return item.run(local, index)
    except OSError as error:
        raise SourceError(f"{item.path}: {error.strerror or error}") from error
