"""Downloading a Neptune cluster's audit log files with the RDS log-file API.

``fetch`` finds the cluster's members (or takes the instances given), lists each instance's
audit files and downloads what is new, portion by portion (at most 1 MB a call), following
the opaque Marker while ``AdditionalDataPending``. A portion the service cut at 1 MB ends with
``[Your log message was truncated]``: it is discarded and the same Marker asked again for
fewer lines.

Files land in ``DIR/<instance>/<file name>``, byte for byte as on the server, under an
exclusive lock on DIR (:data:`LOCK_FILE`), so two fetches never write the same files. A state
file in DIR remembers each file's Marker and the local size it stands for, so the next run
transfers only what is new. Every portion is placed by position, never by content: the Marker
names a byte offset (``N:OFFSET``), so of a portion that ends at offset E, resumed from offset
C, only the last ``E - C`` bytes are new; the lines the service repeats before C are checked
against the local file and dropped, and identical lines that really follow each other are kept.

Nothing read from disk or from the server is trusted: the state is checked against a schema
and against the files (local bytes beyond the recorded size are checked against the server
before anything is appended); a download is never truncated, a file never shrinks and is
never replaced by one that does not start with it; whatever cannot be reconciled is checked
against the server from the start and, if it differs, kept under another name. Names from the
server become safe file names; answers that are not what the call returns, and a service
that says "more pending" without progress, end in a one-line error naming the call.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tui.model.text import inert
from tui.sources.aws.session import (
    AwsError,
    AwsOptions,
    client,
    error_code,
    explain,
    file_component,
    make_private_directories,
    open_private,
    unexpected,
)

STATE_FILE = ".neptune-audit-state.json"
LOCK_FILE = ".neptune-audit.lock"
TRUNCATED = "[Your log message was truncated]"
#: How long ``fetch`` waits for another process to finish with the directory.
LOCK_WAIT_S = 60.0
#: Answers in a row that bring no new byte, though more data is said to be pending.
MAX_IDLE_PORTIONS = 16
_RECORD_START = re.compile(rb"(?m)^[0-9]+, ")
_MARKER_OFFSET = re.compile(r"[0-9]+:([0-9]+)")
_INSTANCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
_METHODS = {
    "DescribeDBClusters": "describe_db_clusters",
    "DescribeDBLogFiles": "describe_db_log_files",
    "DownloadDBLogFilePortion": "download_db_log_file_portion",
}
_MAX_MARKER = 256
_MAX_ATTEMPTS = 4
_MAX_PAGES = 10_000
_CHUNK = 1 << 20
ENABLE_HINT = (
    "enable audit logging: set neptune_enable_audit_log=1 in the cluster parameter group "
    "and reboot the instances"
)


@dataclass(frozen=True)
class RemoteFile:
    """An audit log file on an instance, as DescribeDBLogFiles lists it."""

    instance: str
    name: str
    size: int
    last_written: int

    @property
    def key(self) -> str:
        """The file's key in the state file."""
        return f"{self.instance}/{self.name}"

    @property
    def label(self) -> str:
        """The key, safe to print."""
        return inert(self.key)


@dataclass
class FetchEvent:
    """Progress of a fetch: a file started, advanced or finished, or a note for the user."""

    kind: str  # "start", "advance", "done" or "note"
    file: RemoteFile | None = None
    done_bytes: int = 0
    total_bytes: int = 0
    message: str = ""


@dataclass
class FetchSummary:
    """What a fetch did."""

    instances: list[str] = field(default_factory=list)
    files: int = 0
    changed: int = 0
    bytes: int = 0
    records: int = 0
    notes: list[str] = field(default_factory=list)


class DirectoryBusy(AwsError):
    """Another process holds the directory's lock."""


def local_name(name: str) -> str:
    """A log file name as a local file name (one component, nothing hidden)."""
    return file_component(name)


# -- the state file -------------------------------------------------------------------------


def _natural(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 62


def _valid_marker(value: object) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= _MAX_MARKER
        and value.isascii()
        and value.isprintable()
    )


def valid_entry(entry: object) -> dict[str, Any] | None:
    """A state entry as the schema wants it, or None: ``marker`` (printable ASCII), ``size``
    and ``last_written`` (integers >= 0), ``complete`` and optionally ``gone`` (booleans),
    optionally ``delta`` (an integer: ``size`` minus the Marker's offset, which differ only
    where the service cut a line or replaced bytes) and ``local`` (a string)."""
    if not isinstance(entry, dict):
        return None
    marker, size, written = entry.get("marker"), entry.get("size"), entry.get("last_written")
    complete, gone, local = entry.get("complete"), entry.get("gone", False), entry.get("local")
    if not (_valid_marker(marker) and _natural(size) and _natural(written)):
        return None
    if not (isinstance(complete, bool) and isinstance(gone, bool)):
        return None
    if local is not None and not isinstance(local, str):
        return None
    delta = entry.get("delta", 0)
    if not (isinstance(delta, int) and not isinstance(delta, bool) and abs(delta) < 1 << 62):
        return None
    valid = {"marker": marker, "size": size, "last_written": written, "complete": complete}
    if delta:
        valid["delta"] = delta
    if gone:
        valid["gone"] = True
    if local is not None:
        valid["local"] = local
    return valid


class _State:
    """The per-file Marker and size, read through the schema and saved atomically (0600)
    after every change."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / STATE_FILE
        self._lock = threading.Lock()
        self.files: dict[str, dict[str, Any]] = {}

    def load(self) -> list[str]:
        """Read the state file; returns notes about what was not valid (and is not used)."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as error:
            raise AwsError(f"cannot read {self.path}: {error.strerror}") from error
        try:
            document = json.loads(raw)
            files = document["files"]
            if not isinstance(files, dict):
                raise TypeError("files is not an object")
        except (ValueError, TypeError, KeyError, RecursionError) as error:
            kept = _move_aside(self.path, self.path.name + ".bad")
            reason = inert(str(error))[:80] or type(error).__name__
            return [
                f"the state file {self.path} is not valid ({reason}); it is kept as {kept.name} "
                "and every local file is checked against the server"
            ]
        notes: list[str] = []
        for key, entry in files.items():
            valid = valid_entry(entry)
            if valid is None:
                notes.append(
                    f"{inert(key)}: its entry in the state file is not valid; the local copy "
                    "is checked against the server"
                )
            else:
                self.files[key] = valid
        return notes

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self.files.get(key)
            return dict(entry) if entry is not None else None

    def put(self, key: str, entry: dict[str, Any] | None) -> None:
        """Record ``entry`` for ``key`` (None: forget it) and save."""
        with self._lock:
            if entry is None:
                self.files.pop(key, None)
            else:
                self.files[key] = entry
            text = json.dumps({"version": 1, "files": self.files}, indent=1).encode()
            temporary = self.path.with_name(self.path.name + ".tmp")
            descriptor = open_private(temporary, os.O_WRONLY | os.O_TRUNC)
            try:
                _write_all(descriptor, text, temporary)
            finally:
                os.close(descriptor)
            os.replace(temporary, self.path)


# -- the directory lock ---------------------------------------------------------------------


def _holder(descriptor: int) -> str:
    """Who holds the lock, as its lock file says: ``pid N (command)``."""
    try:
        text = os.pread(descriptor, 512, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    pid, _, command = text.partition(" ")
    if not pid.isdigit():
        return "another neptune-audit process"
    return f"pid {pid}" + (f" ({inert(command)[:160]})" if command else "")


@contextmanager
def directory_lock(
    directory: Path,
    *,
    wait: float,
    on_wait: Callable[[str], None] = lambda message: None,
    why: str = "two fetches into one directory are not allowed; try again when it has finished",
) -> Iterator[None]:
    """Hold the exclusive lock on ``directory`` (flock on :data:`LOCK_FILE`); when another
    process holds it, say who once and wait up to ``wait`` seconds, then raise DirectoryBusy."""
    make_private_directories(directory)
    descriptor = open_private(directory / LOCK_FILE, os.O_RDWR)
    try:
        deadline = time.monotonic() + wait
        waiting = False
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder(descriptor)
                left = deadline - time.monotonic()
                if left <= 0:
                    waited = f" after waiting {wait:g} s" if wait > 0 else ""
                    raise DirectoryBusy(
                        f"{directory} is in use by {holder}{waited}: {why}"
                    ) from None
                if not waiting:
                    on_wait(f"waiting up to {wait:g} s for {holder} to finish with {directory}")
                    waiting = True
                time.sleep(min(0.1, left))
        command = " ".join(["neptune-audit", *sys.argv[1:]])
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()} {command}\n".encode(), 0)
        yield
    finally:
        os.close(descriptor)  # releases the lock


# -- local files ----------------------------------------------------------------------------


def _write_all(descriptor: int, data: bytes, path: Path) -> None:
    """Write all of ``data``; an OSError names ``path``."""
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(descriptor, view) :]
    except OSError as error:
        error.filename = str(path)
        raise


def _size(path: Path) -> int | None:
    """The size of a regular file (None: missing); anything else in its place is refused."""
    try:
        status = os.lstat(path)
    except FileNotFoundError:
        return None
    if not os.path.isfile(path) or os.path.islink(path):
        raise AwsError(f"{inert(str(path))} is not a regular file; it is left alone")
    return status.st_size


def _free_name(path: Path, name: str) -> Path:
    candidate = path.with_name(name)
    number = 1
    while os.path.lexists(candidate):
        number += 1
        candidate = path.with_name(f"{name}-{number}")
    return candidate


def _move_aside(path: Path, name: str) -> Path:
    """Rename ``path`` to ``name`` (or ``name-2``, ...; never over an existing file)."""
    target = _free_name(path, name)
    os.rename(path, target)
    return target


def _starts_with(path: Path, prefix_path: Path) -> bool:
    """Whether the file ``path`` begins with the whole content of ``prefix_path``."""
    with open(path, "rb") as whole, open(prefix_path, "rb") as prefix:
        while chunk := prefix.read(_CHUNK):
            if whole.read(len(chunk)) != chunk:
                return False
    return True


def _marker_offset(marker: str) -> int | None:
    """The byte offset a Marker names (``"0"``, ``"N:OFFSET"``); None when it is opaque."""
    if marker == "0":
        return 0
    match = _MARKER_OFFSET.fullmatch(marker)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class _Position:
    """Where one file's download stands: the local file written to (the final name when
    appending to a finished file), the Marker, the local size it stands for, and how many
    local bytes beyond that are still to be checked against the server."""

    path: Path
    complete: bool
    marker: str = "0"
    size: int = 0
    ahead: int = 0


@dataclass(frozen=True)
class _Aside:
    """The name a local copy that differs from the server is kept under, and why."""

    name: str
    reason: str


class _Mismatch(Exception):
    """The local file and the server's answers do not line up."""


@dataclass
class _Portion:
    data: bytes
    marker: str
    pending: bool
    cut: bool  # a single line over 1 MB, kept as the service cut it


# -- fetching -------------------------------------------------------------------------------


class Fetcher:
    """Downloads and resynchronises audit log files into a directory."""

    def __init__(
        self,
        options: AwsOptions,
        directory: Path,
        *,
        on_event: Callable[[FetchEvent], None] | None = None,
        workers: int = 4,
        rds: Any = None,
        initial_lines: int | None = None,
        lock_wait: float | None = None,
    ) -> None:
        self.options = options
        self.directory = directory
        self.on_event = on_event or (lambda event: None)
        self.workers = workers
        self.rds = rds if rds is not None else client("rds", options)
        self.state = _State(directory)
        self.bytes_received = 0
        self.initial_lines = initial_lines  # NumberOfLines to ask first (None: all that fit)
        self.lock_wait = lock_wait  # None: LOCK_WAIT_S
        self._counter_lock = threading.Lock()
        self._remaining: dict[str, int] = {}

    # -- calls ----------------------------------------------------------------------------

    def _call(self, operation: str, subject: str, **arguments: Any) -> dict[str, Any]:
        """One RDS call; failures and answers that are not a result become AwsError."""
        method = getattr(self.rds, _METHODS[operation])
        try:
            answer = method(**arguments)
        except Exception as error:
            raise explain(error, subject=subject, operation=operation) from error
        if not isinstance(answer, dict):
            raise unexpected(operation, subject, "not a result")
        return answer

    # -- discovery ------------------------------------------------------------------------

    def members(self, cluster: str) -> list[str]:
        """The cluster's instances, the writer first."""
        answer = self._call("DescribeDBClusters", cluster, DBClusterIdentifier=cluster)
        found = answer.get("DBClusters")
        if not isinstance(found, list) or not all(isinstance(c, dict) for c in found):
            raise unexpected("DescribeDBClusters", cluster, "no list of DBClusters")
        if not found:
            raise AwsError(f"no Neptune cluster {cluster!r} in this account and region")
        members = found[0].get("DBClusterMembers", [])
        if not isinstance(members, list) or not all(
            isinstance(m, dict) and isinstance(m.get("DBInstanceIdentifier"), str) for m in members
        ):
            raise unexpected("DescribeDBClusters", cluster, "a member without an identifier")
        ordered = sorted(
            members, key=lambda m: (not m.get("IsClusterWriter"), m["DBInstanceIdentifier"])
        )
        if not ordered:
            raise AwsError(f"cluster {cluster!r} has no instances")
        return [member["DBInstanceIdentifier"] for member in ordered]

    def list_files(self, instance: str) -> list[RemoteFile]:
        """The instance's audit log files."""
        operation = "DescribeDBLogFiles"
        files: list[RemoteFile] = []
        marker: str | None = None
        seen: set[str] = set()
        while True:
            arguments: dict[str, Any] = {"DBInstanceIdentifier": instance}
            arguments["FilenameContains"] = "audit"
            if marker:
                arguments["Marker"] = marker
            page = self._call(operation, instance, **arguments)
            details = page.get("DescribeDBLogFiles", [])
            if not isinstance(details, list):
                raise unexpected(operation, instance, "no list of DescribeDBLogFiles")
            for detail in details:
                fields = detail if isinstance(detail, dict) else {}
                name = fields.get("LogFileName")
                size, written = fields.get("Size", 0), fields.get("LastWritten", 0)
                if not (isinstance(name, str) and name and _natural(size) and _natural(written)):
                    raise unexpected(operation, instance, "a file without name, size or time")
                files.append(RemoteFile(instance, name, size, written))
            marker = page.get("Marker")
            if not marker:
                return files
            if not isinstance(marker, str) or marker in seen or len(seen) >= _MAX_PAGES:
                detail = f"the same page Marker twice, or over {_MAX_PAGES:,} pages"
                raise unexpected(operation, instance, detail)
            seen.add(marker)

    # -- fetching -------------------------------------------------------------------------

    def fetch(
        self,
        *,
        cluster: str | None = None,
        instances: Sequence[str] = (),
        wait: float | None = None,
    ) -> FetchSummary:
        """Bring the local copies up to date; raises AwsError with a one-line message.

        Waits up to ``wait`` seconds (default ``lock_wait``, else :data:`LOCK_WAIT_S`) for
        another process that is fetching into the same directory (DirectoryBusy after that)."""
        names = list(instances) or (self.members(cluster) if cluster else [])
        if not names:
            raise AwsError("give a cluster (--cluster) or instances (--instance)")
        summary = FetchSummary()
        for name in names:
            if _INSTANCE_ID.fullmatch(name):
                summary.instances.append(name)
            else:
                self._note(summary, f"{inert(name)!r} is not a valid instance identifier: skipped")
        if not summary.instances:
            raise AwsError("no valid instance to fetch from")
        listing: list[RemoteFile] = []
        empty: list[str] = []
        for instance in summary.instances:
            files = self._usable(self.list_files(instance), summary)
            if not files:
                empty.append(instance)
            listing.extend(files)
        if not listing:
            raise AwsError(f"no audit log files on {', '.join(summary.instances)}: {ENABLE_HINT}")

        def on_wait(message: str) -> None:
            self._note(summary, message)

        if wait is None:
            wait = LOCK_WAIT_S if self.lock_wait is None else self.lock_wait
        with directory_lock(self.directory, wait=wait, on_wait=on_wait):
            self.state = _State(self.directory)
            for message in self.state.load():
                self._note(summary, message)
            for instance in summary.instances:
                self._note_rotated_away(instance, listing, summary)
            for instance in empty:
                self._note(summary, f"{instance}: no audit log files ({ENABLE_HINT})")
            summary.files = len(listing)
            self._remaining = {remote.key: self._missing_bytes(remote) for remote in listing}
            with ThreadPoolExecutor(max(1, self.workers), thread_name_prefix="fetch") as pool:
                results = list(pool.map(self._fetch_file, listing))
        for changed, received, records in results:
            summary.changed += int(changed)
            summary.bytes += received
            summary.records += records
        return summary

    def _usable(self, files: list[RemoteFile], summary: FetchSummary) -> list[RemoteFile]:
        """The files whose names can be shown and stored (no two on one local name)."""
        usable: list[RemoteFile] = []
        taken: dict[str, str] = {}
        for remote in sorted(files, key=lambda f: f.name):
            local = local_name(remote.name)
            if inert(remote.name) != remote.name:
                self._note(summary, f"{remote.label}: a file name with control characters: skipped")
            elif local in taken:
                self._note(
                    summary,
                    f"{remote.label}: would be stored as {local}, like "
                    f"{inert(taken[local])}: skipped",
                )
            else:
                taken[local] = remote.name
                usable.append(remote)
        return usable

    def _note(self, summary: FetchSummary, message: str) -> None:
        summary.notes.append(message)
        self.on_event(FetchEvent("note", message=message))

    def _note_rotated_away(
        self, instance: str, files: Iterable[RemoteFile], summary: FetchSummary
    ) -> None:
        present = {f.key for f in files}
        for key, entry in list(self.state.files.items()):
            if key.startswith(f"{instance}/") and key not in present and not entry.get("gone"):
                self.state.put(key, dict(entry, gone=True))
                self._note(
                    summary,
                    f"{inert(key)} was rotated away on the instance; the local copy is kept",
                )

    def _paths(self, remote: RemoteFile) -> tuple[Path, Path]:
        """The file's final and partial (hidden) local paths."""
        folder = self.directory / remote.instance
        local = local_name(remote.name)
        return folder / local, folder / f".{local}.part"

    def _missing_bytes(self, remote: RemoteFile) -> int:
        final, part = self._paths(remote)
        have = max((os.path.getsize(p) for p in (final, part) if os.path.isfile(p)), default=0)
        return max(0, remote.size - have)

    def _fetch_file(self, remote: RemoteFile) -> tuple[bool, int, int]:
        """Download what is new in one file: (changed, bytes written, records written)."""
        final, part = self._paths(remote)
        try:
            return self._fetch_into(remote, final, part)
        except OSError as error:
            raise self._local_error(error, Path(error.filename or final)) from error

    def _local_error(self, error: OSError, path: Path) -> AwsError:
        where = inert(str(path))
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            with self._counter_lock:
                needed = max(1, sum(self._remaining.values()))
            try:
                free = shutil.disk_usage(self.directory).free
            except OSError:
                free = 0
            return AwsError(
                f"no space left on the device for {where}: about {_megabytes(needed)} more "
                f"needed, {_megabytes(free)} free; what was downloaded is kept and the next "
                "run resumes"
            )
        return AwsError(f"cannot write {where}: {error.strerror or error}")

    def _fetch_into(self, remote: RemoteFile, final: Path, part: Path) -> tuple[bool, int, int]:
        entry = self.state.get(remote.key)
        final_size = _size(final)
        offset = None if entry is None else _marker_offset(entry["marker"])
        if offset is None and entry is not None:
            offset = entry["size"]
        if (
            entry is not None
            and entry["complete"]
            and entry["size"] == final_size
            and offset == remote.size
            and entry["last_written"] == remote.last_written
        ):
            return False, 0, 0
        make_private_directories(final.parent)
        aside = _Aside(f"{final.name}.kept", "the local copy differs from the file on the server")
        if entry is not None and offset is not None and remote.size < offset:
            # Overwritten in place (Neptune reuses names)? The copy is checked from the start
            # and kept if it differs.
            aside = _Aside(f"{final.name}.{entry['last_written']}", "the file was overwritten")
            entry = None
        position = self._plan(remote, entry, final, part)
        self.on_event(FetchEvent("start", remote, 0, max(0, remote.size - position.size)))
        received = records = 0
        for attempt in range(_MAX_ATTEMPTS):
            try:
                written, counted, position = self._download(remote, position)
                received, records = received + written, records + counted
                break
            except _Mismatch as mismatch:
                if attempt == _MAX_ATTEMPTS - 1:
                    raise AwsError(
                        f"{remote.label}: the answers of DownloadDBLogFilePortion do not line up "
                        f"({mismatch}); the local files are kept as they are"
                    ) from None
                position = self._reconsider(remote, position, final, part, str(mismatch), aside)
        if not position.complete:
            if final.exists() and not _starts_with(position.path, final):
                kept = _move_aside(final, f"{final.name}.kept")
                self._note_file(remote, f"the local copy differs; it is kept as {kept.name}")
            os.replace(position.path, final)
        entry = _entry(position, remote.last_written)
        local = str(final.relative_to(self.directory))
        self.state.put(remote.key, dict(entry, complete=True, local=local))
        self.on_event(FetchEvent("done", remote, received, received))
        return True, received, records

    def _note_file(self, remote: RemoteFile, message: str) -> None:
        self.on_event(FetchEvent("note", remote, message=f"{remote.label}: {message}"))

    def _plan(
        self, remote: RemoteFile, entry: dict[str, Any] | None, final: Path, part: Path
    ) -> _Position:
        """Where to resume: from the recorded Marker when the local file is at least as long
        as recorded (the rest is checked), otherwise from the start (all of it is checked)."""
        final_size, part_size = _size(final), _size(part)
        if entry is not None:
            path, size = (final, final_size) if entry["complete"] else (part, part_size)
            offset = _marker_offset(entry["marker"])
            agrees = offset is None or entry["size"] - offset == entry.get("delta", 0)
            if size is not None and agrees and size >= entry["size"]:
                return _Position(
                    path, entry["complete"], entry["marker"], entry["size"], size - entry["size"]
                )
            if size is not None:
                doubt = (
                    "the state's Marker and size disagree"
                    if not agrees
                    else f"the state records {entry['size']:,} bytes but the local copy has "
                    f"{size:,}"
                )
                self._note_file(remote, f"{doubt}; it is checked against the server from the start")
                return _Position(path, entry["complete"], ahead=size)
            if entry["complete"]:
                self._note_file(remote, "the local copy is missing; it is fetched again")
        if final_size is not None and (entry is None or entry["complete"]):
            return _Position(final, True, ahead=final_size)
        return _Position(part, False, ahead=part_size or 0)

    def _reconsider(
        self,
        remote: RemoteFile,
        position: _Position,
        final: Path,
        part: Path,
        reason: str,
        aside: _Aside,
    ) -> _Position:
        """After a mismatch: check the local file from the start; if that was what failed,
        keep it under another name and download afresh."""
        current = os.path.getsize(position.path) if position.path.exists() else 0
        if position.marker != "0" or position.size:
            self._note_file(remote, f"{reason}; the local copy is checked from the start")
            return _Position(position.path, position.complete, ahead=current)
        kept = _move_aside(position.path, aside.name)
        self.state.put(remote.key, None)
        self._note_file(
            remote, f"{aside.reason}; the previous copy is kept as {kept.name} ({reason})"
        )
        return self._plan(remote, None, final, part)

    def _portion(self, remote: RemoteFile, marker: str, lines: int | None) -> _Portion | None:
        """One DownloadDBLogFilePortion answer, checked (None: the file is gone)."""
        operation = "DownloadDBLogFilePortion"
        arguments: dict[str, Any] = {
            "DBInstanceIdentifier": remote.instance,
            "LogFileName": remote.name,
            "Marker": marker,
        }
        if lines is not None:
            arguments["NumberOfLines"] = lines
        try:
            answer = self._call(operation, remote.key, **arguments)
        except AwsError as error:
            cause = error.__cause__
            code = error_code(cause) if isinstance(cause, Exception) else ""
            if code == "DBLogFileNotFoundFault":
                return None  # rotated away while we read it: keep what we have
            if code == "InvalidParameterValue" and marker != "0":
                raise _Mismatch("the service refused the recorded Marker") from None
            raise
        text = answer.get("LogFileData") or ""
        pending = answer.get("AdditionalDataPending")
        following = answer.get("Marker", marker if not pending else None)
        if not isinstance(text, str) or not isinstance(pending, bool):
            raise unexpected(operation, remote.key, "no LogFileData or AdditionalDataPending")
        if not _valid_marker(following):
            raise unexpected(operation, remote.key, "no usable Marker")
        assert isinstance(following, str)
        cut = text.rfind(TRUNCATED, max(0, len(text) - 64))
        if cut < 0:
            return _Portion(text.encode("utf-8"), following, pending, cut=False)
        body = text[:cut].rstrip(" ")
        if body.endswith("\n"):
            body = body[:-1]  # the notice's own line break ("\n [Your log...")
        return _Portion(body.encode("utf-8"), following, pending, cut=True)

    def _download(self, remote: RemoteFile, start: _Position) -> tuple[int, int, _Position]:
        """Append the new portions: (bytes written, records written, where it ended)."""
        position = start
        received = records = idle = 0
        lines = self.initial_lines
        gone = False
        descriptor = open_private(position.path, os.O_WRONLY | os.O_APPEND)
        try:
            while True:
                portion = self._portion(remote, position.marker, lines)
                if portion is None:
                    gone = True  # nothing left to check against: the local copy stays as is
                    break
                if portion.cut:
                    # Cut at 1 MB: ask the same Marker again for the whole lines that fit (and
                    # keep asking for that many); a single line over 1 MB cannot come whole,
                    # so it is kept as the service cut it.
                    whole = portion.data.count(b"\n")  # complete lines before the cut
                    if whole > 0 and whole != lines:
                        lines = whole
                        idle = self._idle(remote, idle + 1)
                        continue
                    portion.data += b"\n"
                    self._note_file(remote, "a line longer than 1 MB was cut by the service")
                new, checked = self._place(remote, position, portion)
                if new:
                    _write_all(descriptor, new, position.path)
                    received += len(new)
                    records += len(_RECORD_START.findall(new))
                    with self._counter_lock:
                        self.bytes_received += len(new)
                        self._remaining[remote.key] = max(
                            0, self._remaining.get(remote.key, 0) - len(new)
                        )
                position = replace(
                    position,
                    marker=portion.marker,
                    size=position.size + checked + len(new),
                    ahead=position.ahead - checked,
                )
                self.state.put(remote.key, _entry(position, 0))  # time: once complete
                total = max(received, remote.size - start.size)
                self.on_event(FetchEvent("advance", remote, received, total))
                if not portion.pending:
                    break
                idle = 0 if new or checked else self._idle(remote, idle + 1)
        finally:
            os.close(descriptor)
        if position.ahead and not gone:
            raise _Mismatch(
                f"the local copy has {position.ahead:,} bytes more than the server sent"
            )
        return received, records, position

    def _idle(self, remote: RemoteFile, idle: int) -> int:
        if idle >= MAX_IDLE_PORTIONS:
            raise AwsError(
                f"DownloadDBLogFilePortion for {remote.label} said more data was pending "
                f"{idle} times in a row without sending any: stopped (what was downloaded is "
                "kept)"
            )
        return idle

    def _place(
        self, remote: RemoteFile, position: _Position, portion: _Portion
    ) -> tuple[bytes, int]:
        """The bytes of ``portion`` to append, and how many local bytes it confirmed.

        A portion that ends at offset E, asked from offset C, brings ``E - C`` bytes after C;
        bytes before them repeat what is already here (whole lines) and are checked, not
        written; so are the first ``ahead`` new ones, which an interrupted run wrote without
        recording them."""
        data = portion.data
        start, end = _marker_offset(position.marker), _marker_offset(portion.marker)
        repeated = 0
        if start is not None and end is not None and not portion.cut:
            if end < start:
                raise _Mismatch("the Marker went backwards")
            repeated = max(0, len(data) - (end - start))
        for candidate in self._repeat_candidates(data, repeated):
            confirmed = min(position.ahead, len(data) - candidate)
            if self._matches(position, data[: candidate + confirmed], candidate):
                return data[candidate + confirmed :], confirmed
        raise _Mismatch("the data does not match the local copy")

    @staticmethod
    def _repeat_candidates(data: bytes, repeated: int) -> list[int]:
        """Where the repeated lines may end: at ``repeated``, or a little before it when the
        service replaced bytes it could not send with U+FFFD (3 bytes each)."""
        if not repeated:
            return [0]
        slack = 2 * data.count("\ufffd".encode())
        return [
            end
            for end in range(repeated, max(-1, repeated - slack - 1), -1)
            if end == 0 or data[end - 1 : end] == b"\n"
        ]

    @staticmethod
    def _matches(position: _Position, expected: bytes, repeated: int) -> bool:
        """Whether the local file holds ``expected`` where ``repeated`` bytes before the
        Marker's local size begin."""
        if not expected:
            return True
        offset = position.size - repeated
        if offset < 0:
            return False
        with open(position.path, "rb") as handle:
            handle.seek(offset)
            return handle.read(len(expected)) == expected


def _entry(position: _Position, last_written: int) -> dict[str, Any]:
    """The state entry for ``position``."""
    entry = {
        "marker": position.marker,
        "size": position.size,
        "last_written": last_written,
        "complete": position.complete,
    }
    offset = _marker_offset(position.marker)
    if offset is not None and position.size != offset:
        entry["delta"] = position.size - offset
    return entry


def _megabytes(count: int) -> str:
    return f"{count / 1e6:,.1f} MB"


def poll_forever(
    fetcher: Fetcher,
    stop: threading.Event,
    *,
    cluster: str | None,
    instances: Sequence[str],
    interval: float,
    on_error: Callable[[AwsError], None],
) -> None:
    """Fetch again every ``interval`` seconds until ``stop`` (new data, new files); errors
    are reported and the next round tries again; a round that finds another process fetching
    into the directory is skipped."""
    while not stop.wait(interval):
        try:
            fetcher.fetch(cluster=cluster, instances=instances, wait=0)
        except DirectoryBusy:
            continue
        except AwsError as error:
            on_error(error)
