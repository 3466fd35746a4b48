"""Following log files as they grow, rotate and appear: ``tail -F`` for a merged index.

A Follower polls: it stats what it follows, reads what was appended up to the last complete
line, and commits it to the index (whose merged order takes late records into place). Files
are told apart by identity (device, inode) and by content, so that every record written is
added exactly once:

- a partial last line waits for its newline;
- a renamed file (rotation) is the same source under a new name, read to its end, while a
  new file with the old name is a new source;
- a file whose bytes are no longer those read (shorter, or other bytes at the start or at
  the last line read: copy-truncate, ``: > file``) is read again from the start as a new
  source; bytes already read are never read again from the new content;
- a new file whose first bytes are those of a followed source is a copy of it (however far
  the copy has got): it is never read for itself. When that source's file is truncated, the
  copy that holds everything read so far continues it, from where reading stopped;
- bytes known to have been in a truncated file that no copy found within a grace period
  holds (seen but not yet read, or measured by the zeros a writer that does not append
  leaves) are a gap: reported once with a count, and noted as a malformed entry;
- new files in a followed directory or matching a followed glob are picked up;
- a deleted file keeps what was read (while its descriptor stays open) and is reported once;
- a spooled stream (standard input) is read as it grows, and reported when it ends.

Descriptors come from the ``FileReader``'s bounded pool, so any number of files can be
followed. The follower never touches a UI: it returns (and reports) ``FollowUpdate``s.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tui.index.index import GONE_REASON, MAX_ENTRY_BYTES, Index
from tui.index.scan import PAD, Scanner
from tui.sources.files import Feed, FileReader, Identity, identity_of
from tui.sources.local import STDIN, SourceError, files_named, instance_of

#: Bytes read per file per poll at most: a burst is spread over a few polls.
READ_LIMIT = 16 << 20
#: Bytes that identify a file's beginning, to recognise a copy of it.
PREFIX_BYTES = 4096
#: Bytes kept from the start of the last line read, to notice they were overwritten.
TAIL_BYTES = 256
#: Bytes of the beginning compared at every change (the tail is compared too).
CHECK_BYTES = 64
#: Polls to wait for the copy of a truncated file before reporting what it lacks.
GRACE_POLLS = 8
#: Quiet polls after which a deleted or rotated-away file, read to its end, is let go.
DONE_POLLS = 40
#: How far into a file leading zeros are looked through.
HOLE_SCAN_BYTES = 256 << 20


@dataclass
class Gap:
    """Bytes a followed file held that were overwritten before they could be read."""

    path: str
    bytes: int
    records: int  # an estimate, from the file's bytes per entry


@dataclass
class FollowUpdate:
    """What one poll found: how many entries were added, events worth a message, and the
    gaps (bytes lost to a truncation) found."""

    added: int = 0
    events: list[str] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether anything happened."""
        return bool(self.added or self.events or self.gaps)


@dataclass
class _Stream:
    """The bytes of one index source, as far as they were read."""

    source: int
    end: int = 0
    zeros: int = 0  # zeros it starts with (a writer that does not append left them)
    prefix: bytes = b""  # its first bytes after them (up to PREFIX_BYTES)
    tail_at: int = 0  # where the last line read starts
    tail: bytes = b""  # that line's first bytes
    seen: int = 0  # the largest size its file was seen at (with these bytes)
    entries: int = 0
    truncation: _Truncated | None = None  # the truncation this stream restarted after


@dataclass
class _File:
    """A file the follower knows: one it reads into a source, or a copy of a source."""

    identity: Identity
    path: Path
    root: Path | None
    stream: _Stream | None = None  # the source this file's bytes are read into
    copy_of: _Stream | None = None  # a copy of a source's bytes: never read for itself
    size: int = 0
    stamp: tuple[int, int] = (-1, -1)  # (size, mtime) when last looked at
    quiet: int = 0  # polls since the stamp last changed
    feed: Feed | None = None  # a spool that grows while its stream is read
    deleted: bool = False
    rotated: bool = False
    ended: bool = False


@dataclass
class _Truncated:
    """A source whose file was truncated: waiting for a copy that continues it."""

    stream: _Stream
    path: Path
    known: int  # bytes its file was known to hold
    polls: int = 0
    hole: int = 0  # zeros before the first byte written after the truncation
    continued_by: _File | None = None
    # Files that appeared next to it meanwhile, by their leading zeros: among them, copies of
    # later versions of the file when it rotated more than once between two polls.
    beside: dict[int, int] = field(default_factory=dict)
    reported: int | None = None  # bytes reported lost, once settled

    def unread(self) -> int:
        """Bytes the file held that were neither read nor found in a copy: measured by the
        zeros a writer that does not append left (through the copies of every version in
        between), else by the size the file was last seen at."""
        copied = self.continued_by.size if self.continued_by is not None else 0
        first = max(self.stream.end, copied)
        # Later versions of the file (each copy starts with the zeros of the truncation
        # before it) up to the one the file holds now: each lost what was written after its
        # copy was made, up to where the next version starts.
        zeros = self.stream.zeros
        versions = {
            z: size
            for z, size in self.beside.items()
            if z > zeros and (not self.hole or z < self.hole)
        }
        if not self.hole and not versions:
            return max(0, self.known - first)
        versions[zeros] = max(first, self.beside.get(zeros, 0))
        chain = sorted(versions.items())
        ends = [z for z, _ in chain[1:]] + ([self.hole] if self.hole else [])
        return sum(max(0, end - size) for (_, size), end in zip(chain, ends, strict=False))


class Follower:
    """Keeps an index up to date with files that grow, rotate, truncate and appear."""

    def __init__(
        self,
        index: Index,
        reader: FileReader,
        paths: Iterable[str],
        *,
        grace_polls: int = GRACE_POLLS,
    ) -> None:
        self.index = index
        self.reader = reader
        self.paths = list(paths)
        self.grace_polls = grace_polls
        self.scanner = Scanner()
        self._files: dict[Identity, _File] = {}
        self._undecided: dict[Identity, tuple[int, int]] = {}  # new file -> (size, quiet polls)
        self._refused: set[Identity] = set()
        self._truncated: list[_Truncated] = []
        self._retired: deque[_Stream] = deque(maxlen=64)  # truncated, copy wait over
        self._heads: dict[int, tuple[int, bytes]] = {}  # sources' first bytes, this poll
        self._lock = threading.Lock()

    # -- setup ----------------------------------------------------------------------------

    def adopt_loaded(self) -> None:
        """Follow the sources the index already has (plain files and growing streams)."""
        counts = np.bincount(self.index.column("source"), minlength=len(self.index.sources))
        for source in self.index.sources:
            feed = self.reader.feed(source.id)
            path = self.reader.path(source.id)
            if feed is None and (path.suffix == ".gz" or path != Path(source.name)):
                continue  # compressed or copied inputs do not grow
            fd = self.reader.descriptor(source.id)
            identity = self.reader.identity(source.id)
            if fd is None or identity is None:
                continue
            info = os.fstat(fd)
            stream = _Stream(source.id, source.end, seen=source.end)
            stream.entries = int(counts[source.id])
            _learn_existing(stream, fd)
            file = _File(identity, path, None, stream=stream, feed=feed)
            file.size, file.stamp = info.st_size, _stamp(info)
            self._files[identity] = file

    @property
    def exhausted(self) -> bool:
        """Whether nothing more can come: every input is a stream, and all have ended."""
        if not all(_is_stream(argument) for argument in self.paths):
            return False
        return all(file.ended for file in self._files.values() if file.stream is not None)

    # -- polling --------------------------------------------------------------------------

    def poll(self) -> FollowUpdate:
        """One pass: notice renames, deletions and truncations, classify new files, read
        what was appended, and report what a truncation lost."""
        with self._lock:
            self.reader.forget()
            self._heads.clear()
            update = FollowUpdate()
            seen = self._discover()
            for identity in [i for i in self._undecided if i not in seen]:
                del self._undecided[identity]
            for file in list(self._files.values()):
                self._check(file, seen.get(file.identity), update)
            for identity, (path, root, info) in seen.items():
                if identity not in self._files and identity not in self._refused:
                    self._consider(identity, path, root, info, update)
            self._continue_truncated(update)
            for file in list(self._files.values()):
                if file.stream is not None:
                    self._read(file, update)
            self._settle_truncated(update)
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
        """Stop following (the reader keeps what it needs to show the entries)."""
        with self._lock:
            self._files.clear()
            self._truncated.clear()

    # -- discovery ------------------------------------------------------------------------

    def _candidates(self) -> Iterator[tuple[Path, Path]]:
        """(file, root) for every file the followed arguments name right now."""
        for argument in self.paths:
            if argument == STDIN:
                continue
            try:
                yield from files_named(argument)
            except SourceError:
                continue  # not there (yet)

    def _discover(self) -> dict[Identity, tuple[Path, Path, os.stat_result]]:
        """The regular files the arguments name now, by identity."""
        seen: dict[Identity, tuple[Path, Path, os.stat_result]] = {}
        for file, root in self._candidates():
            if file.suffix == ".gz":
                continue
            try:
                info = file.stat()
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode):
                continue
            identity = identity_of(info)
            known = self._files.get(identity)
            if identity in seen and (known is None or known.path != file):
                continue  # another name of a file already seen (a link)
            seen[identity] = (file, root, info)
        return seen

    def _check(
        self,
        file: _File,
        found: tuple[Path, Path, os.stat_result] | None,
        update: FollowUpdate,
    ) -> None:
        """Notice a followed file's renaming, deletion or truncation."""
        stream = file.stream
        if found is not None:
            path, root, info = found
            if path != file.path:
                if stream is not None:
                    update.events.append(f"{file.path} rotated to {path}")
                    self.reader.rename(stream.source, path)
                file.path, file.root = path, root
        elif stream is None:
            del self._files[file.identity]  # a copy that went away
            return
        else:
            fd = self.reader.descriptor(stream.source)
            if fd is None:
                self._lost_file(file, stream, update)
                return
            info = os.fstat(fd)
            if file.feed is None and not (file.deleted or file.rotated):
                if info.st_nlink == 0:
                    file.deleted = True
                    update.events.append(
                        f"{file.path} was deleted; its {stream.entries:,} entries are kept"
                    )
                else:
                    file.rotated = True  # renamed out of what is followed: read it to its end
                    update.events.append(f"{file.path} was rotated away; reading it to its end")
        file.size = info.st_size
        changed = _stamp(info) != file.stamp
        file.stamp = _stamp(info)
        file.quiet = 0 if changed else file.quiet + 1
        gone = file.deleted or file.rotated
        if gone and stream is not None and file.quiet > DONE_POLLS and stream.end >= file.size:
            del self._files[file.identity]  # read to its end long ago: nothing more will come
            return
        if stream is not None and file.feed is None and changed:
            if stream.end and not self._holds(stream, file.size):
                self._restart(file, update)
            else:
                stream.seen = max(stream.seen, file.size)

    def _holds(self, stream: _Stream, size: int) -> bool:
        """Whether a source's file still holds the bytes read from it (its beginning and
        the last line read)."""
        fd = self.reader.descriptor(stream.source)
        return fd is not None and _holds_bytes(fd, size, stream, CHECK_BYTES)

    def _lost_file(self, file: _File, stream: _Stream, update: FollowUpdate) -> None:
        """A followed file that can no longer be opened (deleted or replaced while its
        descriptor was closed): what was not read of it is a gap."""
        del self._files[file.identity]
        why = self.reader.why_gone(stream.source) or f"{file.path} can no longer be read"
        update.events.append(f"{why}; its {stream.entries:,} entries are kept")
        if stream.seen > stream.end:
            self._gap(stream, file.path, stream.seen - stream.end, "before it was read", update)

    def _restart(self, file: _File, update: FollowUpdate) -> None:
        """The file's bytes are no longer those read: its old source waits for a copy, and
        what the file holds now is a new source read from the start."""
        old = file.stream
        assert old is not None
        self.reader.mark_gone(old.source, GONE_REASON)
        truncation = _Truncated(old, file.path, known=max(old.seen, old.end))
        self._truncated.append(truncation)
        file.stream = self._new_source(file, update, self.index.sources[old.source].instance)
        if file.stream is not None:
            file.stream.truncation = truncation
        update.events.append(f"{file.path} was truncated; reading it again from the start")

    def _new_source(
        self, file: _File, update: FollowUpdate, instance: str | None
    ) -> _Stream | None:
        """A new index source read from ``file`` (None when the index is full)."""
        try:
            source = self.index.add_source(str(file.path), instance)
        except ValueError as error:
            self._refused.add(file.identity)
            update.events.append(f"cannot follow {file.path}: {error}")
            return None
        self.reader.register(source.id, file.path, identity=file.identity)
        return _Stream(source.id)

    # -- new files and copies -------------------------------------------------------------

    def _consider(
        self,
        identity: Identity,
        path: Path,
        root: Path,
        info: os.stat_result,
        update: FollowUpdate,
    ) -> None:
        """A file not followed yet: a copy of a source, too short to tell, or new."""
        if info.st_size == 0:
            return  # nothing to tell it by (or to read) yet
        fd = _open_checked(path, identity)
        if fd is None:
            return
        try:
            head = _head(fd, info.st_size)
        finally:
            os.close(fd)
        verdict, original = self._copy_verdict(head)
        self._note_beside(path, head[0], info.st_size)
        if verdict == "wait":
            size, quiet = self._undecided.get(identity, (-1, 0))
            quiet = quiet + 1 if size == info.st_size else 0
            self._undecided[identity] = (info.st_size, quiet)
            if quiet < self.grace_polls:
                return
            verdict = "copy"  # a short copy that stopped growing: nothing in it is new
        self._undecided.pop(identity, None)
        file = _File(identity, path, root, size=info.st_size)
        if verdict == "copy" and original is not None:
            file.copy_of = original
            if not any(t.stream is original for t in self._truncated):
                name = self.index.sources[original.source].name
                update.events.append(f"{path} is a copy of {name}; its records are not shown twice")
        else:
            file.stream = self._new_source(file, update, instance_of(path, root))
            if file.stream is None:
                return
            update.events.append(f"following new file {path}")
        self._files[identity] = file

    def _note_beside(self, path: Path, zeros: int, size: int) -> None:
        """Remember a new file next to a truncated one: it may be the copy of a later
        version of it."""
        for truncation in self._truncated:
            if truncation.path.parent == path.parent:
                truncation.beside[zeros] = max(size, truncation.beside.get(zeros, 0))

    def _copy_verdict(self, head: tuple[int, bytes]) -> tuple[str, _Stream | None]:
        """Whether a file beginning with ``head`` (zeros, then bytes) is a copy of a known
        source ("copy"), may be one once it is longer ("wait"), or is new ("new")."""
        waiting: _Stream | None = None
        zeros, data = head
        for stream, (reference_zeros, reference) in self._references():
            if not data and 0 < zeros <= reference_zeros:
                waiting = stream  # a copy that has not got past the zeros yet
                continue
            compared = min(len(data), len(reference))
            if zeros != reference_zeros or not compared or data[:compared] != reference[:compared]:
                continue
            first_line = reference.find(b"\n") + 1 or len(reference)
            if compared >= first_line:
                return "copy", stream
            waiting = stream
        return ("wait", waiting) if waiting is not None else ("new", None)

    def _references(self) -> Iterator[tuple[_Stream, tuple[int, bytes]]]:
        """(source, its first bytes) for every source a new file could be a copy of: those
        followed (as their files hold them now), and truncated ones (as they were read)."""
        for file in list(self._files.values()):
            stream = file.stream
            if stream is None or file.feed is not None:
                continue
            reference = (stream.zeros, stream.prefix)
            if len(stream.prefix) < PREFIX_BYTES and file.size > stream.zeros + len(stream.prefix):
                reference = self._heads.get(stream.source, reference)
                fd = self.reader.descriptor(stream.source)
                if stream.source not in self._heads and fd is not None:
                    reference = self._heads[stream.source] = _head(fd, file.size)
            yield stream, reference
        for truncation in self._truncated:
            yield truncation.stream, (truncation.stream.zeros, truncation.stream.prefix)
        for stream in self._retired:
            yield stream, (stream.zeros, stream.prefix)

    def _continue_truncated(self, update: FollowUpdate) -> None:
        """Give each truncated source the copy that holds everything read from it: it is
        read from where reading stopped."""
        for truncation in self._truncated:
            if truncation.continued_by is not None:
                continue
            stream = truncation.stream
            for file in list(self._files.values()):
                if file.copy_of is not stream:
                    continue
                fd = _open_checked(file.path, file.identity)
                if fd is None:
                    continue
                try:
                    size = os.fstat(fd).st_size
                    holds = size >= stream.end and _holds_bytes(fd, size, stream, PREFIX_BYTES)
                finally:
                    os.close(fd)
                if not holds:
                    continue
                file.copy_of, file.stream, file.size = None, stream, size
                self.reader.register(stream.source, file.path, identity=file.identity)
                truncation.continued_by = file
                update.events.append(
                    f"{file.path}: copy of a truncated file ({truncation.path}); reading only "
                    "what it holds beyond the records already read"
                )
                break

    def _settle_truncated(self, update: FollowUpdate) -> None:
        """After the grace period, report what a truncated file held that neither was read
        nor is in its copy."""
        for truncation in list(self._truncated):
            copy = truncation.continued_by
            if copy is not None and copy.size > truncation.stream.end:
                if copy.quiet < 1:
                    continue  # the copy is still growing
                self._read(copy, update, final=True)  # its last line will not be completed
            truncation.polls += 1
            if truncation.polls < self.grace_polls:
                continue
            self._truncated.remove(truncation)
            self._retired.append(truncation.stream)
            truncation.reported = truncation.unread()
            if truncation.reported:
                when = "before it was truncated"
                self._gap(truncation.stream, truncation.path, truncation.reported, when, update)

    def _gap(self, stream: _Stream, path: Path, lost: int, when: str, update: FollowUpdate) -> None:
        """Report ``lost`` bytes of a source as overwritten before they could be read."""
        read = stream.end - stream.zeros
        records = max(1, round(lost * stream.entries / read)) if read and stream.entries else 0
        about = f" (about {records:,} record{'s' if records > 1 else ''})" if records else ""
        text = (
            f"{path}: {lost:,} bytes{about} written {when} were overwritten before they "
            "could be read"
        )
        update.gaps.append(Gap(str(path), lost, records))
        update.events.append(text)
        self.index.note(stream.source, text)
        update.added += 1

    # -- reading --------------------------------------------------------------------------

    def _read(self, file: _File, update: FollowUpdate, *, final: bool = False) -> None:
        """Read what was appended to a file up to its last complete line (all of it when
        the file is final: an ended stream, or a copy that stopped growing)."""
        stream = file.stream
        assert stream is not None
        feed_ended = file.feed is not None and file.feed.ended
        fd = self.reader.descriptor(stream.source)
        if fd is None:
            return
        if file.feed is not None or final or file.size > stream.end:
            file.size = os.fstat(fd).st_size
            if (
                file.feed is None
                and stream.end
                and not _holds_bytes(fd, file.size, stream, CHECK_BYTES)
            ):
                self._restart(file, update)  # truncated since it was looked at this poll
                return
        final = final or feed_ended
        while stream.end < file.size and self._read_once(fd, file, stream, final, update):
            pass
        stream.seen = max(stream.seen, file.size)
        if feed_ended and not file.ended and stream.end >= file.size:
            file.ended = True
            problem = file.feed.problem if file.feed is not None else None
            update.events.append(
                f"{self.index.sources[stream.source].name} ended"
                + (f": {problem}" if problem else "")
            )

    def _read_once(
        self, fd: int, file: _File, stream: _Stream, final: bool, update: FollowUpdate
    ) -> bool:
        """Read and commit one chunk; False when nothing more can be read now."""
        size = file.size
        if stream.end == 0 and os.pread(fd, 1, 0) == b"\0":
            return self._skip_zeros(stream, _zeros_end(fd, 0, size), size, update)
        want = min(size - stream.end, READ_LIMIT)
        while True:
            buffer = bytearray(want + PAD)
            got = os.preadv(fd, [memoryview(buffer)[:want]], stream.end)
            complete = buffer.rfind(b"\n", 0, got) + 1  # a partial last line waits
            if complete or got < want or stream.end + want >= size:
                break
            if want >= MAX_ENTRY_BYTES:
                complete = got  # an endless line: index it in pieces
                break
            want = min(size - stream.end, want * 2)  # a line longer than the read
        if got <= 0:
            return False
        if complete == 0:
            if not final:
                return False
            complete = got
        buffer[complete : complete + PAD] = bytes(PAD)
        data = bytes(buffer[:complete])
        self.reader.remember(stream.source, stream.end, data)
        span = self.scanner.scan_padded(
            buffer, complete, file_offset=stream.end, at_file_start=stream.end == 0, final=True
        )
        before = self.index.size
        added = self.index.commit(stream.source, span)
        _learn_read(stream, data)
        stream.end += complete
        stream.entries += len(added)
        update.added += self.index.size - before
        return True

    def _skip_zeros(self, stream: _Stream, zeros_end: int, size: int, update: FollowUpdate) -> bool:
        """Skip the zeros a writer that does not append leaves where a truncated file's
        bytes were (once something follows them); they measure what the file held."""
        if zeros_end >= size:
            return False  # nothing after them yet
        zeros = stream.zeros = zeros_end
        self.index.skip(stream.source, zeros)
        stream.end = zeros
        truncation = stream.truncation
        if truncation is not None:
            truncation.hole = zeros
            if truncation.reported is not None:  # settled already: report what it lacked
                lost = truncation.unread() - truncation.reported
                if lost > 0:
                    truncation.reported += lost
                    when = "before it was truncated"
                    self._gap(truncation.stream, truncation.path, lost, when, update)
        return True


def _stamp(info: os.stat_result) -> tuple[int, int]:
    return (info.st_size, info.st_mtime_ns)


def _is_stream(argument: str) -> bool:
    """Whether an argument names a stream (standard input, a pipe, a FIFO, a device)."""
    if argument == STDIN:
        return True
    try:
        mode = os.stat(argument).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _open_checked(path: Path, identity: Identity) -> int | None:
    """A descriptor of ``path`` if it is still the file with ``identity``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    if identity_of(os.fstat(fd)) != identity:
        os.close(fd)
        return None
    return fd


def _zeros_end(fd: int, start: int, size: int) -> int:
    """Where the zeros from ``start`` end (``size`` if nothing else follows them yet):
    holes of a sparse file are skipped at once, written zeros read through."""
    try:
        position = max(start, os.lseek(fd, start, os.SEEK_DATA))
    except OSError:  # no data after start (ENXIO), or no SEEK_DATA here
        position = start if os.pread(fd, 1, start) else size
    while position < size:
        block = os.pread(fd, min(1 << 20, size - position), position)
        if not block:
            return size
        zeros = len(block) - len(block.lstrip(b"\0"))
        position += zeros
        if zeros < len(block):
            return position
    return size


def _head(fd: int, size: int) -> tuple[int, bytes]:
    """How a file begins: the zeros it starts with (looked for up to HOLE_SCAN_BYTES), and
    up to PREFIX_BYTES of what follows them (within ``size``)."""
    if os.pread(fd, 1, 0) != b"\0":
        return 0, os.pread(fd, min(PREFIX_BYTES, size), 0)
    zeros = _zeros_end(fd, 0, min(size, HOLE_SCAN_BYTES))
    return zeros, os.pread(fd, min(PREFIX_BYTES, max(0, size - zeros)), zeros)


def _holds_bytes(fd: int, size: int, stream: _Stream, prefix_bytes: int) -> bool:
    """Whether an open file holds a source's first bytes and its last line read."""
    if size < stream.end:
        return False
    prefix = stream.prefix[:prefix_bytes]
    if prefix and os.pread(fd, len(prefix), stream.zeros) != prefix:
        return False
    return not stream.tail or os.pread(fd, len(stream.tail), stream.tail_at) == stream.tail


def _learn_read(stream: _Stream, data: bytes) -> None:
    """Remember what identifies a source after reading ``data`` at its end."""
    read = stream.end - stream.zeros
    if len(stream.prefix) == read < PREFIX_BYTES:
        stream.prefix += data[: PREFIX_BYTES - read]
    if data:
        line_start = data.rfind(b"\n", 0, len(data) - 1) + 1
        stream.tail_at = stream.end + line_start
        stream.tail = data[line_start : line_start + TAIL_BYTES]


def _learn_existing(stream: _Stream, fd: int) -> None:
    """Remember what identifies a loaded source, from its file."""
    stream.zeros, stream.prefix = _head(fd, stream.end)
    window = min(stream.end, PREFIX_BYTES)
    data = os.pread(fd, window, stream.end - window)
    line_start = data.rfind(b"\n", 0, max(0, len(data) - 1)) + 1
    stream.tail_at = stream.end - len(data) + line_start
    stream.tail = data[line_start : line_start + TAIL_BYTES]
