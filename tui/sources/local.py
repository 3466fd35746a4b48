"""Local log files: finding them, and indexing them in parallel spans.

Paths may be files, directories (searched recursively, each real directory once however
symlinks loop), glob patterns, or streams: ``-`` (standard input), pipes, FIFOs and
devices. ``.gz`` files are decompressed once, and streams copied as they are read, into
private temporary files (0600 in a 0700 directory), so their entries can be read by offset
like any other; both stop at ``NEPTUNE_AUDIT_MAX_EXPANDED`` bytes per input (default 1 GiB,
``0`` for no limit). Files are cut into spans that begin at record starts, so no entry
straddles two spans; worker threads scan spans (numpy releases the GIL) and the calling
thread commits them in file order.

A file that cannot be read to its end (it shrank or was replaced while it was read, a
damaged ``.gz``, a stream cut at the limit) keeps what was read: the rest becomes one
malformed entry saying why, and ``load`` returns a one-line problem naming the file.
"""

from __future__ import annotations

import fnmatch
import io
import os
import re
import stat
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tui.index.columns import release_free_memory
from tui.index.index import MAX_SOURCES, Index
from tui.index.scan import PAD, Scanner, SpanData
from tui.sources.files import FileReader, Identity, identity_of

if TYPE_CHECKING:
    from concurrent.futures import Future

    from tui.sources.cache import IndexCache

#: Nominal span size: large enough for numpy to dominate, small enough that a span and the
#: scanner's temporaries stay near the processor's cache (4 MB took 11 % less CPU than
#: 16 MB, paired) and that two scanning threads hold little memory.
SPAN_BYTES = 4 << 20
#: The very first span is small, so the first records appear at once.
FIRST_SPAN_BYTES = 2 << 20
_ALIGN_READ = 64 << 10
#: How far past a nominal span boundary a record start is looked for; without one there,
#: the span ends at a line end or, in an endless line, at the boundary itself.
_ALIGN_SEARCH = 1 << 20
#: A low guess of bytes per entry, to reserve room for the columns once.
_BYTES_PER_ENTRY_GUESS = 150
_RECORD_START = re.compile(rb"\n[0-9]+, ")
GLOB_CHARS = re.compile(r"[*?\[]")

#: The argument that names standard input, and the name its entries show.
STDIN = "-"
STDIN_NAME = "<stdin>"
#: The environment variable that bounds what one input may expand to on disk.
LIMIT_VARIABLE = "NEPTUNE_AUDIT_MAX_EXPANDED"
DEFAULT_EXPANDED_LIMIT = 1 << 30
_COPY_CHUNK = 1 << 20
#: While following, a stream is indexed once it has been quiet this long (or ended).
_STREAM_QUIET_S = 0.2
_OUT_OF_MEMORY = "out of memory while indexing it (allow more memory, or read fewer files)"


class SourceError(Exception):
    """A path that cannot be read; the message names it and says why, in one line."""


@dataclass(frozen=True)
class Stream:
    """An input read as a stream: a pipe, FIFO, device or standard input."""

    fd: int | None  # read from this descriptor (standard input); None: open the path
    follow: bool  # index what has arrived and keep reading; else read to its end first


@dataclass(frozen=True)
class LogFile:
    """A file to index: where its bytes are, and how to show it."""

    origin: Path  # the file the user has (perhaps .gz)
    name: str  # shown in the UI and in exports
    instance: str | None
    stream: Stream | None = None


def expand_paths(paths: Iterable[str], *, follow: bool = False) -> list[LogFile]:
    """Files named by ``paths``: files, directories (recursively), globs and streams, sorted
    within each argument. With ``follow``, streams keep being read after the load. Raises
    SourceError for a path that does not exist or matches nothing."""
    found: list[LogFile] = []
    seen: set[Path] = set()
    for argument in paths:
        if argument == STDIN:
            if Path(STDIN) in seen:
                continue
            seen.add(Path(STDIN))
            if os.isatty(0):
                raise SourceError("-: standard input is a terminal; pipe the logs into it")
            found.append(LogFile(Path(STDIN), STDIN_NAME, None, Stream(0, follow)))
            continue
        for file, root in files_named(argument):
            resolved = file.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            if not os.access(file, os.R_OK):
                raise SourceError(f"{file}: permission denied")
            found.append(
                LogFile(
                    origin=file,
                    name=str(file),
                    instance=instance_of(file, root),
                    stream=_stream_of(file, follow),
                )
            )
    return found


def _stream_of(file: Path, follow: bool) -> Stream | None:
    """How to read a named file that is not a regular file (None: it is one)."""
    try:
        info = file.stat()
    except OSError:
        return None
    if stat.S_ISREG(info.st_mode):
        return None
    try:
        stdin = os.fstat(0)
        is_stdin = identity_of(stdin) == identity_of(info) and not stat.S_ISCHR(info.st_mode)
    except OSError:
        is_stdin = False
    return Stream(0 if is_stdin else None, follow)


def files_named(argument: str) -> list[tuple[Path, Path]]:
    """(file, root) for every file an argument names now: the file itself, the files below a
    directory, or a glob's matches (directories among them searched alike); ``root`` is where
    the file's instance is read from. Raises SourceError when nothing by that name exists."""
    path = Path(argument)
    if GLOB_CHARS.search(argument) and not path.exists():
        matches = glob_paths(argument)
        if not matches:
            raise SourceError(f"{argument}: no file matches this pattern")
    elif path.exists():
        matches = [path]
    else:
        raise SourceError(f"{argument}: no such file or directory")
    found: list[tuple[Path, Path]] = []
    for match in matches:
        if match.is_dir():
            found.extend((p, match) for p in files_below(match))
        else:
            found.append((match, match.parent))
    return found


def _real_directory(path: Path) -> Identity | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return identity_of(info) if stat.S_ISDIR(info.st_mode) else None


def _listing(directory: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as entries:
            return sorted(entries, key=lambda entry: entry.name)
    except OSError:
        return []


def files_below(directory: Path) -> list[Path]:
    """Regular files below a directory, sorted, hidden ones (dot files and dot directories)
    left out. Symlinked directories are followed, but each real directory is read once, so
    a link loop ends."""
    found: list[Path] = []
    visited: set[Identity] = set()
    pending = [directory]
    while pending:
        current = pending.pop()
        real = _real_directory(current)
        if real is None or real in visited:
            continue
        visited.add(real)
        for entry in _listing(current):
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir():
                    pending.append(current / entry.name)
                elif entry.is_file():
                    found.append(current / entry.name)
            except OSError:
                continue
    return sorted(found)


def glob_paths(pattern: str) -> list[Path]:
    """The paths a glob pattern matches, sorted, like ``glob.glob(recursive=True)``: ``**``
    is any number of directories, and names starting with a dot match only a pattern that
    does. Unlike ``glob``, each real directory is searched once per ``**``, so symlink loops
    end."""
    pattern_path = Path(pattern)
    parts = list(pattern_path.parts)
    base = Path(parts.pop(0)) if pattern_path.anchor else Path()
    found: set[Path] = set()
    searched: set[tuple[Identity, int]] = set()
    pending: list[tuple[Path, int]] = [(base, 0)]
    while pending:
        current, position = pending.pop()
        if position == len(parts):
            if current.exists():
                found.add(current)
            continue
        part = parts[position]
        if part == "**":
            real = _real_directory(current)
            if real is None or (real, position) in searched:
                continue
            searched.add((real, position))
            pending.append((current, position + 1))
            for entry in _listing(current):
                if entry.name.startswith("."):
                    continue
                if _is_dir(entry):
                    pending.append((current / entry.name, position))
                elif position + 1 == len(parts):  # a final ** matches files too
                    found.add(current / entry.name)
        elif GLOB_CHARS.search(part):
            for entry in _listing(current):
                hidden_ok = part.startswith(".") or not entry.name.startswith(".")
                if hidden_ok and fnmatch.fnmatchcase(entry.name, part):
                    pending.append((current / entry.name, position + 1))
        else:
            pending.append((current / part, position + 1))
    return sorted(found)


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


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


# -- expanded inputs: limits, private temporary files, .gz and streams -----------------------


def expanded_limit() -> int:
    """Bytes one input may expand to on disk (decompressed or spooled); 0 for no limit.
    Read from ``NEPTUNE_AUDIT_MAX_EXPANDED`` (``500M``, ``4G``, ``0``), default 1 GiB."""
    text = os.environ.get(LIMIT_VARIABLE, "").strip()
    if not text:
        return DEFAULT_EXPANDED_LIMIT
    match = re.fullmatch(r"([0-9]+)\s*([kmgt]?)i?b?", text, re.IGNORECASE)
    if match is None:
        raise SourceError(
            f"{LIMIT_VARIABLE}={text}: not a size (give bytes like 500M or 4G, or 0 for no limit)"
        )
    power: int = " kmgt".index(match[2].lower() or " ")
    return int(match[1]) << (10 * power)


def size_text(count: int) -> str:
    """Bytes in short binary units: ``1 GiB``, ``512 MiB``, ``300 B``."""
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if count >= 1 << shift:
            value = count / (1 << shift)
            digits = 0 if value >= 10 or value.is_integer() else 1
            return f"{value:.{digits}f} {unit}"
    return f"{count} B"


def _limit_reason(limit: int, what: str) -> str:
    return (
        f"{what} past the {size_text(limit)} limit; the rest was not read "
        f"(set {LIMIT_VARIABLE} to change the limit, 0 for none)"
    )


class TempFiles:
    """Private temporary files (0600 in a 0700 directory), removed by ``cleanup``."""

    def __init__(self) -> None:
        self._directory: Path | None = None
        self._count = 0
        self._lock = threading.Lock()

    def create(self, suffix: str = ".log") -> tuple[int, Path]:
        """A new empty file: a descriptor open for writing, and its path."""
        import tempfile  # only gz files and streams need it: a lighter start-up

        with self._lock:
            if self._directory is None:
                self._directory = Path(tempfile.mkdtemp(prefix="neptune-audit-"))
            path = self._directory / f"{self._count}{suffix}"
            self._count += 1
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        return fd, path

    def cleanup(self) -> None:
        """Remove the files."""
        with self._lock:
            if self._directory is not None:
                import shutil  # (only when there are files: see ``create``)

                shutil.rmtree(self._directory, ignore_errors=True)
                self._directory = None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def decompress(origin: Path, out: int, limit: int) -> tuple[int, str | None]:
    """Stream ``origin``'s decompressed bytes to ``out``, at most ``limit`` (0: all).
    Returns the bytes written and, when the rest could not be read, why. Raises OSError
    when ``origin`` cannot be opened or ``out`` written."""
    import gzip
    import zlib

    written = 0
    try:
        with gzip.open(origin, "rb") as packed:
            # read1: what each step decompressed is kept even if the next one fails.
            while chunk := packed.read1(_COPY_CHUNK):
                if limit and written + len(chunk) > limit:
                    _write_all(out, chunk[: limit - written])
                    return limit, _limit_reason(limit, "decompressed")
                _write_all(out, chunk)
                written += len(chunk)
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        return written, _gzip_problem(error)
    return written, None


_GZIP_MAGIC = b"\x1f\x8b"


def _gzip_problem(error: Exception) -> str:
    """Why decompressing stopped: the data ends early (EOFError) or is damaged."""
    if isinstance(error, EOFError):
        return "the compressed data ends early (a truncated .gz); the rest is missing"
    return f"the compressed data is damaged ({error}); the rest could not be read"


class _Prefixed(io.RawIOBase):
    """A descriptor's bytes, with the first few (already read) put back in front."""

    def __init__(self, first: bytes, fd: int) -> None:
        super().__init__()
        self._first = first
        self._fd = fd

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._first:
            count = min(len(buffer), len(self._first))
            buffer[:count] = self._first[:count]
            self._first = self._first[count:]
            return count
        data = os.read(self._fd, len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _stream_chunks(fd: int) -> Iterator[bytes]:
    """A stream's bytes as they come; a gzip stream's (known by its first two bytes)
    decompressed, a bounded piece at a time."""
    first = b""
    while len(first) < 2 and (more := os.read(fd, _COPY_CHUNK)):
        first += more
    if first[:2] != _GZIP_MAGIC:
        if first:
            yield first
        while chunk := os.read(fd, _COPY_CHUNK):
            yield chunk
        return
    import gzip

    with gzip.GzipFile(fileobj=io.BufferedReader(_Prefixed(first, fd))) as packed:
        while chunk := packed.read1(_COPY_CHUNK):
            yield chunk


class Spool:
    """A stream copied into a private temporary file as it is read, so its entries can be
    read back by offset; it stops at ``limit`` bytes (0: none). ``run`` copies until the
    stream ends; ``start`` does that in a thread while the spool is followed."""

    def __init__(self, name: str, source_fd: int, owns_fd: bool, temp: TempFiles, limit: int):
        self.name = name
        self._in = source_fd
        self._owns_fd = owns_fd
        self._out, self.path = temp.create(".spool")
        self.limit = limit
        self.size = 0
        self.problem: str | None = None  # why it stopped before the stream's end
        self._done = threading.Event()

    @property
    def ended(self) -> bool:
        """Whether no more bytes will come (the stream ended, failed or hit the limit)."""
        return self._done.is_set()

    def run(self) -> None:
        """Copy the stream until it ends (or the limit, or an error); a gzip stream is
        decompressed on the way."""
        import gzip
        import zlib

        try:
            for chunk in _stream_chunks(self._in):
                if self.limit and self.size + len(chunk) > self.limit:
                    _write_all(self._out, chunk[: self.limit - self.size])
                    self.size = self.limit
                    self.problem = _limit_reason(self.limit, "read")
                    break
                _write_all(self._out, chunk)
                self.size += len(chunk)
        except (EOFError, gzip.BadGzipFile, zlib.error) as error:
            self.problem = _gzip_problem(error)
        except OSError as error:
            self.problem = f"stopped reading: {error.strerror or error}"
        finally:
            os.close(self._out)
            if self._owns_fd:
                os.close(self._in)
            self._done.set()

    def start(self) -> None:
        """Copy in a background thread."""
        threading.Thread(target=self.run, name="spool", daemon=True).start()

    def settle(self, quiet_s: float = _STREAM_QUIET_S) -> None:
        """Wait until the stream ends or has been quiet for ``quiet_s``."""
        while not self._done.is_set():
            size = self.size
            if self._done.wait(quiet_s) or self.size == size:
                return


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
    """The first offset at or after ``offset`` where a record-start line begins, looked for
    in the next ``_ALIGN_SEARCH`` bytes; failing that, a line start there, else ``offset``
    itself (or ``size`` when the search reached the end). Both neighbouring spans compute
    the same boundary, and boundaries stay in order, whatever the bytes."""
    if offset <= 0:
        return 0
    if offset >= size:
        return size
    position = offset - 1
    limit = min(size, offset + _ALIGN_SEARCH)
    line_start = -1
    while position < limit:
        chunk = os.pread(fd, _ALIGN_READ + 32, position)
        if not chunk:
            break
        match = _RECORD_START.search(chunk)
        if match:
            return position + match.start() + 1
        if line_start < 0:
            newline = chunk.find(b"\n", 0, _ALIGN_READ)
            if newline >= 0:
                line_start = position + newline + 1
        position += _ALIGN_READ
    if position >= size or limit >= size:
        return size
    return line_start if line_start >= 0 else offset


class _FileChanged(Exception):
    """A file is no longer what was planned (the message says how)."""


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
            raise _FileChanged("shrank while it was read")
        done += got
    return buffer


def indexable_end(fd: int, *, partial_last_line: bool) -> int:
    """How much of an open file to index: all of it, or up to its last newline (when
    following, a last line without a newline may still be being written)."""
    size = os.fstat(fd).st_size
    if partial_last_line or size == 0:
        return size
    position = size
    while position > 0:
        step = min(position, 1 << 16)
        block = os.pread(fd, step, position - step)
        newline = block.rfind(b"\n")
        if newline >= 0:
            return position - step + newline + 1
        position -= step
    return 0


@dataclass
class _Plan:
    """A file ready to index: where its bytes are and how many to read."""

    source: int
    path: Path
    identity: Identity
    size: int
    problem: str | None = None  # why the rest of the input could not be read
    cached_end: int = 0  # where the file's start taken from the persistent index ends
    reused: bool = False  # the cached span is the whole file: nothing to save again
    cacheable: bool = False  # a plain file the persistent index may hold


class _ScanWork:
    """One span to scan in a worker thread."""

    def __init__(self, plan: _Plan, start: int, end: int) -> None:
        self.plan = plan
        self.source = plan.source
        self.start, self.end = start, end

    def run(self, local: threading.local, index: Index) -> SpanData:
        scanner: Scanner | None = getattr(local, "scanner", None)
        if scanner is None:
            scanner = local.scanner = Scanner()
        size = self.plan.size
        fd = os.open(self.plan.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            if identity_of(os.fstat(fd)) != self.plan.identity:
                raise _FileChanged("was replaced by another file while it was read")
            start = align_to_record(fd, self.start, size)
            end = align_to_record(fd, self.end, size) if self.end < size else size
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


def _spans(plan: _Plan, first: bool) -> Iterator[_ScanWork]:
    """The spans of one file (after what the cache gave); the first file's first span is
    short (first records fast)."""
    offset = plan.cached_end
    span = FIRST_SPAN_BYTES if first else SPAN_BYTES
    while offset < plan.size:
        end = min(plan.size, offset + span)
        yield _ScanWork(plan, offset, end)
        offset = end
        span = SPAN_BYTES


def _prepare(
    file: LogFile, source: int, temp: TempFiles, limit: int, partial_last_line: bool
) -> tuple[_Plan, Spool | None]:
    """Open one input: a plain file as it is, a ``.gz`` decompressed and a stream spooled
    into a temporary file. Raises OSError, or _FileChanged when a copy cannot be made."""
    if file.stream is not None:
        stream = file.stream
        fd = stream.fd if stream.fd is not None else os.open(file.origin, os.O_RDONLY)
        owned = stream.fd is None or stream.fd > 2  # opened here, or handed over
        spool = Spool(file.name, fd, owned, temp, limit)
        if stream.follow:
            spool.start()
            spool.settle()
        else:
            spool.run()
        plan = _plan_file(source, spool.path, partial_last_line or spool.ended)
        plan.problem = spool.problem if spool.ended else None
        return plan, spool if stream.follow else None
    if file.origin.suffix == ".gz":
        out, path = temp.create()
        try:
            _, problem = decompress(file.origin, out, limit)
        except OSError as error:
            raise _FileChanged(f"cannot be decompressed: {error.strerror or error}") from error
        finally:
            os.close(out)
        plan = _plan_file(source, path, True)
        plan.problem = problem
        return plan, None
    return _plan_file(source, file.origin, partial_last_line), None


def _plan_file(source: int, path: Path, partial_last_line: bool) -> _Plan:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        identity = identity_of(os.fstat(fd))
        size = indexable_end(fd, partial_last_line=partial_last_line)
    finally:
        os.close(fd)
    return _Plan(source, path, identity, size)


def load(
    index: Index,
    reader: FileReader,
    files: list[LogFile],
    *,
    workers: int | None = None,
    partial_last_line: bool = True,
    on_progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
    cache: IndexCache | None = None,
) -> list[str]:
    """Index ``files`` into ``index``: scan spans in worker threads, commit in order.
    With ``cache``, a plain file indexed before starts from its cached columns (only what
    was appended since is scanned) and what was scanned is kept for next time.

    ``reader`` learns where each source's bytes are. ``on_progress`` is called from this
    thread after every commit. Returns the problems met, one line each naming its file: a
    file that could not be opened, changed while it was read, a damaged ``.gz``, an input
    cut at the expansion limit. Each also became a malformed entry where that file's
    records stop; everything else is indexed. Raises SourceError when nothing can be done
    (too many files, a bad limit, memory exhausted). Temporary files live until
    ``reader.close()``.
    """
    started = time.perf_counter()
    if len(index.sources) + len(files) > MAX_SOURCES:
        raise SourceError(
            f"too many files: {len(files):,} named, at most {MAX_SOURCES:,} can be read at once"
        )
    limit = expanded_limit()
    temp = TempFiles()
    reader.add_cleanup(temp.cleanup)
    problems: list[str] = []
    plans: list[_Plan] = []
    for file in files:
        source = index.add_source(file.name, file.instance).id
        try:
            plan, feed = _prepare(file, source, temp, limit, partial_last_line)
        except (OSError, _FileChanged) as error:
            reason = str(error)
            if isinstance(error, OSError):
                reason = f"cannot be read: {error.strerror or error}"
            problems.append(f"{file.name}: {reason}")
            index.note(source, f"{file.name} {reason}")
            continue
        reader.register(source, plan.path, identity=plan.identity, feed=feed)
        plans.append(plan)
        if cache is not None and _cacheable(file, plan):
            plan.cacheable = True
    total = sum(plan.size for plan in plans)
    cached = 0
    if cache is not None:
        cached = sum(cache.entries(plan.path) for plan in plans if plan.cacheable)
    index.reserve(index.size + cached + total // _BYTES_PER_ENTRY_GUESS, sure=cached)
    done_bytes = 0
    failed: dict[int, str] = {}

    def report() -> None:
        if on_progress is not None:
            elapsed = time.perf_counter() - started
            on_progress(Progress(done_bytes, total, index.size, elapsed))

    def commit_cached(plan: _Plan, span: SpanData) -> None:
        nonlocal done_bytes
        index.commit(plan.source, span)
        plan.cached_end = done = span.end
        done_bytes += done
        report()

    if cache is not None:
        cacheable = [plan for plan in plans if plan.cacheable]
        _commit_cached(cache, cacheable, workers, index.prepare, commit_cached)
    work = [item for number, plan in enumerate(plans) for item in _spans(plan, number == 0)]
    worker_count = workers or max(1, min(len(work), os.cpu_count() or 1))
    local = threading.local()

    def commit(item: _ScanWork, outcome: SpanData | _FileChanged) -> None:
        nonlocal done_bytes
        done_bytes += item.end - item.start
        if item.source not in failed:
            if isinstance(outcome, _FileChanged):
                failed[item.source] = str(outcome)
            elif outcome.start != index.sources[item.source].end:
                failed[item.source] = "changed while it was read"
            else:
                try:
                    index.commit(item.source, outcome)
                except MemoryError as error:
                    raise SourceError(f"{item.plan.path}: {_OUT_OF_MEMORY}") from error
        report()

    if worker_count <= 1 or sum(item.end - item.start for item in work) <= SPAN_BYTES:
        # (a pool would start slower than one thread scans a span's worth)
        for item in work:
            if cancel is not None and cancel.is_set():
                return problems
            commit(item, _run(item, local, index))
    else:
        # Scanner threads hand the GIL back and forth between numpy calls; a short switch
        # interval keeps one from waiting out the default 5 ms while the other holds it.
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(0.001)
        try:
            if not _load_parallel(index, work, worker_count, local, commit, cancel):
                return problems
        finally:
            sys.setswitchinterval(switch_interval)
    release_free_memory()  # what the scanners' temporaries held
    for plan in plans:
        why = failed.get(plan.source, plan.problem)
        if why is not None:
            problems.append(_stopped(index, plan, why))
        elif (
            cache is not None and plan.cacheable and not plan.reused and _cacheable_end(index, plan)
        ):
            cache.save(plan.path, index.source_span(plan.source), index.sources[plan.source].end)
    report()
    return problems


#: Files smaller than this are scanned faster than their cache entry is checked.
CACHE_MIN_BYTES = 1 << 20


def _cacheable(file: LogFile, plan: _Plan) -> bool:
    """Whether the persistent index may hold this input: a plain file (not a stream or a
    decompressed copy) big enough to be worth it."""
    return file.stream is None and plan.path == file.origin and plan.size >= CACHE_MIN_BYTES


def _commit_cached(
    cache: IndexCache,
    plans: list[_Plan],
    workers: int | None,
    prepare: Callable[[SpanData], SpanData],
    commit: Callable[[_Plan, SpanData], None],
) -> None:
    """Look the plans' files up in the cache and ``prepare`` their spans, several at once
    (reading, checksumming and translating codes release the GIL), and ``commit`` each span
    found, in plan order, as soon as it is ready: only a few entries are in memory at a
    time."""

    def ready(plan: _Plan) -> SpanData | None:
        span = _from_cache(cache, plan)
        return prepare(span) if span is not None else None

    count = max(1, min(len(plans), workers or os.cpu_count() or 1))
    if count <= 1:
        for plan in plans:
            span = ready(plan)
            if span is not None:
                commit(plan, span)
        return
    from concurrent.futures import ThreadPoolExecutor  # one file needs no pool: a lighter start

    with ThreadPoolExecutor(count, thread_name_prefix="cache") as pool:
        queue = iter(plans)
        pending = deque((plan, pool.submit(ready, plan)) for plan in islice(queue, count))
        while pending:
            plan, future = pending.popleft()
            span = future.result()
            following = next(queue, None)
            if following is not None:
                pending.append((following, pool.submit(ready, following)))
            if span is not None:
                commit(plan, span)
            del span, future


def _from_cache(cache: IndexCache, plan: _Plan) -> SpanData | None:
    """The cached start of a file, when it still fits and what follows starts a record."""
    cached = cache.lookup(plan.path)
    if cached is None or cached.span.end > plan.size:
        return None
    span = cached.span
    if span.end < plan.size:
        # Appended: only if the new part starts a record (a continuation of the cached
        # last record would leave that record cut).
        try:
            with open(plan.path, "rb") as handle:
                handle.seek(span.end)
                head = handle.read(32)
        except OSError:
            return None
        if _RECORD_HEAD.match(head) is None:
            return None
    plan.reused = span.end == plan.size and not cached.grown
    return span


_RECORD_HEAD = re.compile(rb"[0-9]+, ")


def _cacheable_end(index: Index, plan: _Plan) -> bool:
    """Whether a file indexed to its end can be cached: its indexed part ends with a
    complete line (a cut last line may still grow)."""
    end = index.sources[plan.source].end
    if end <= 0:
        return False
    try:
        with open(plan.path, "rb") as handle:
            handle.seek(end - 1)
            return handle.read(1) == b"\n"
    except OSError:
        return False


def _stopped(index: Index, plan: _Plan, why: str) -> str:
    """Note where a file's records stop and why; the one-line problem for the user."""
    source = index.sources[plan.source]
    unread = plan.size - source.end
    if unread > 0:
        entries = int(np.count_nonzero(index.column("source") == plan.source))
        about = ""
        if entries and source.end:
            about = f" (about {max(1, round(unread * entries / source.end)):,} records)"
        why = f"{why}: {unread:,} bytes{about} from byte {source.end:,} on could not be read"
    index.note(plan.source, f"{source.name} {why}")
    return f"{source.name}: {why}"


def _load_parallel(
    index: Index,
    work: list[_ScanWork],
    worker_count: int,
    local: threading.local,
    commit: Callable[[_ScanWork, SpanData | _FileChanged], None],
    cancel: threading.Event | None,
) -> bool:
    """Scan ``work`` in a thread pool and commit the spans in submission order; False when
    cancelled."""
    from concurrent.futures import ThreadPoolExecutor  # one span needs no pool: a lighter start

    with ThreadPoolExecutor(worker_count, thread_name_prefix="scan") as pool:
        # Keep a bounded window of spans in flight; commit them in submission order.
        window = 2 * worker_count
        pending: list[tuple[_ScanWork, Future[SpanData | _FileChanged]]] = []
        queue = iter(work)
        for item in queue:
            pending.append((item, pool.submit(_run, item, local, index)))
            if len(pending) >= window:
                break
        while pending:
            item, future = pending.pop(0)
            outcome = future.result()
            if cancel is not None and cancel.is_set():
                for _, other in pending:
                    other.cancel()
                return False
            commit(item, outcome)
            following = next(queue, None)
            if following is not None:
                pending.append((following, pool.submit(_run, following, local, index)))
    return True


def _run(item: _ScanWork, local: threading.local, index: Index) -> SpanData | _FileChanged:
    """Scan one span; a file that changed or failed is an outcome, not an exception."""
    try:
        return item.run(local, index)
    except _FileChanged as changed:
        return changed
    except OSError as error:
        return _FileChanged(f"could not be read: {error.strerror or error}")
    except MemoryError as error:
        raise SourceError(f"{item.plan.path}: {_OUT_OF_MEMORY}") from error
