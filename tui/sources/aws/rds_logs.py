"""Downloading a Neptune cluster's audit log files with the RDS log-file API.

``fetch`` finds the cluster's members (or takes the instances given), lists each instance's
audit files and downloads what is new, portion by portion (at most 1 MB a call), following
the opaque Marker while ``AdditionalDataPending``. A portion the service cut at 1 MB ends with
``[Your log message was truncated]``: it is discarded and the same Marker asked again for
fewer lines.

Files land in ``DIR/<instance>/<file name>``, byte for byte as on the server. A small state
file in DIR remembers each file's Marker and size, so the next run transfers only what is
new; data repeated after resuming from a Marker is dropped. A new file is written under a
hidden ``.part`` name and renamed when complete; a file that grows is trimmed back to the
size the state records before new whole portions are appended, so an interrupted run loses
nothing and duplicates nothing.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.sources.aws.session import AwsError, AwsOptions, client, error_code, explain

STATE_FILE = ".neptune-audit-state.json"
TRUNCATED = "[Your log message was truncated]"
_OVERLAP_WINDOW = 1 << 20
_RECORD_START = re.compile(rb"(?m)^[0-9]+, ")
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


def local_name(name: str) -> str:
    """A log file name as a local file name (no directories, nothing hidden)."""
    safe = name.replace("/", "_").replace("\\", "_").lstrip(".")
    return safe or "log"


class _State:
    """The per-file Marker and size, saved atomically after every change."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / STATE_FILE
        self._lock = threading.Lock()
        try:
            loaded = json.loads(self.path.read_text())
            self.files: dict[str, dict[str, Any]] = dict(loaded.get("files", {}))
        except (OSError, ValueError, AttributeError):
            self.files = {}

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self.files.get(key)
            return dict(entry) if entry is not None else None

    def put(self, key: str, entry: dict[str, Any]) -> None:
        with self._lock:
            self.files[key] = entry
            temporary = self.path.with_name(self.path.name + ".tmp")
            temporary.write_text(json.dumps({"version": 1, "files": self.files}, indent=1))
            os.replace(temporary, self.path)


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
    ) -> None:
        self.options = options
        self.directory = directory
        self.on_event = on_event or (lambda event: None)
        self.workers = workers
        self.rds = rds if rds is not None else client("rds", options)
        self.state = _State(directory)
        self.bytes_received = 0
        self.initial_lines = initial_lines  # NumberOfLines to ask first (None: all that fit)
        self._counter_lock = threading.Lock()

    # -- discovery ------------------------------------------------------------------------

    def members(self, cluster: str) -> list[str]:
        """The cluster's instances, the writer first."""
        try:
            found = self.rds.describe_db_clusters(DBClusterIdentifier=cluster)["DBClusters"]
        except Exception as error:
            raise explain(error, subject=cluster) from error
        if not found:
            raise AwsError(f"no Neptune cluster {cluster!r} in this account and region")
        members = found[0].get("DBClusterMembers", [])
        ordered = sorted(
            members, key=lambda m: (not m.get("IsClusterWriter"), m["DBInstanceIdentifier"])
        )
        if not ordered:
            raise AwsError(f"cluster {cluster!r} has no instances")
        return [member["DBInstanceIdentifier"] for member in ordered]

    def list_files(self, instance: str) -> list[RemoteFile]:
        """The instance's audit log files."""
        files: list[RemoteFile] = []
        marker: str | None = None
        try:
            while True:
                arguments: dict[str, Any] = {
                    "DBInstanceIdentifier": instance,
                    "FilenameContains": "audit",
                }
                if marker:
                    arguments["Marker"] = marker
                page = self.rds.describe_db_log_files(**arguments)
                for detail in page.get("DescribeDBLogFiles", []):
                    files.append(
                        RemoteFile(
                            instance=instance,
                            name=detail["LogFileName"],
                            size=int(detail.get("Size", 0)),
                            last_written=int(detail.get("LastWritten", 0)),
                        )
                    )
                marker = page.get("Marker")
                if not marker:
                    return files
        except Exception as error:
            raise explain(error, subject=instance) from error

    # -- fetching -------------------------------------------------------------------------

    def fetch(self, *, cluster: str | None = None, instances: Sequence[str] = ()) -> FetchSummary:
        """Bring the local copies up to date; raises AwsError with a one-line message."""
        names = list(instances) or (self.members(cluster) if cluster else [])
        if not names:
            raise AwsError("give a cluster (--cluster) or instances (--instance)")
        summary = FetchSummary(instances=names)
        listing: list[RemoteFile] = []
        empty: list[str] = []
        for instance in names:
            files = self.list_files(instance)
            if not files:
                empty.append(instance)
            listing.extend(files)
            self._note_rotated_away(instance, files, summary)
        if not listing:
            raise AwsError(f"no audit log files on {', '.join(names)}: {ENABLE_HINT}")
        for instance in empty:
            self._note(summary, f"{instance}: no audit log files ({ENABLE_HINT})")
        summary.files = len(listing)
        self.directory.mkdir(parents=True, exist_ok=True)
        with ThreadPoolExecutor(max(1, self.workers), thread_name_prefix="fetch") as pool:
            results = list(pool.map(self._fetch_file, listing))
        for changed, received, records in results:
            summary.changed += int(changed)
            summary.bytes += received
            summary.records += records
        return summary

    def _note(self, summary: FetchSummary, message: str) -> None:
        summary.notes.append(message)
        self.on_event(FetchEvent("note", message=message))

    def _note_rotated_away(
        self, instance: str, files: Iterable[RemoteFile], summary: FetchSummary
    ) -> None:
        present = {f.key for f in files}
        for key, entry in list(self.state.files.items()):
            if key.startswith(f"{instance}/") and key not in present and not entry.get("gone"):
                entry = dict(entry, gone=True)
                self.state.put(key, entry)
                self._note(
                    summary, f"{key} was rotated away on the instance; the local copy is kept"
                )

    def _fetch_file(self, remote: RemoteFile) -> tuple[bool, int, int]:
        """Download what is new in one file: (changed, bytes written, records written)."""
        folder = self.directory / remote.instance
        final = folder / local_name(remote.name)
        part = folder / f".{local_name(remote.name)}.part"
        entry = self.state.get(remote.key)
        if (
            entry is not None
            and entry.get("complete")
            and entry.get("size") == remote.size
            and entry.get("last_written") == remote.last_written
            and final.exists()
        ):
            return False, 0, 0
        folder.mkdir(parents=True, exist_ok=True)
        if entry is not None and remote.size < int(entry.get("size", 0)):
            # The file was overwritten in place (Neptune reuses names): keep the old copy.
            if final.exists():
                final.rename(final.with_name(f"{final.name}.{entry.get('last_written', 0)}"))
            message = f"{remote.key} was overwritten; the previous copy is kept"
            self.on_event(FetchEvent("note", remote, message=message))
            entry = None
        complete = bool(entry and entry.get("complete") and final.exists())
        target = final if complete else part
        have, marker = 0, "0"
        if entry is not None and (complete or part.exists()):
            have = int(entry.get("size", 0))
            marker = str(entry.get("marker", "0")) if have else "0"
        with open(target, "a+b") as handle:
            handle.truncate(have)  # undo a portion an interrupted run wrote but did not record
            handle.seek(max(0, have - _OVERLAP_WINDOW))
            tail = handle.read()
        self.on_event(FetchEvent("start", remote, 0, max(0, remote.size - have)))
        received, records, marker = self._download(remote, target, marker, have, tail, complete)
        if not complete:
            os.replace(part, final)
        self.state.put(
            remote.key,
            {
                "marker": marker,
                "size": have + received,
                "last_written": remote.last_written,
                "complete": True,
                "local": str(final.relative_to(self.directory)),
            },
        )
        self.on_event(FetchEvent("done", remote, received, received))
        return True, received, records

    def _download(
        self,
        remote: RemoteFile,
        target: Path,
        marker: str,
        have: int,
        tail: bytes,
        complete: bool,
    ) -> tuple[int, int, str]:
        """Append new portions to ``target``: (bytes, records, the Marker to resume from)."""
        received = 0
        records = 0
        lines = self.initial_lines
        first = True
        with open(target, "ab") as handle:
            while True:
                arguments: dict[str, Any] = {
                    "DBInstanceIdentifier": remote.instance,
                    "LogFileName": remote.name,
                    "Marker": marker,
                }
                if lines is not None:
                    arguments["NumberOfLines"] = lines
                try:
                    portion = self.rds.download_db_log_file_portion(**arguments)
                except Exception as error:
                    if error_code(error) == "DBLogFileNotFoundFault":
                        break  # rotated away while we read it: keep what we have
                    raise explain(error, subject=remote.instance) from error
                text = portion.get("LogFileData") or ""
                cut = text.rfind(TRUNCATED, max(0, len(text) - 64))
                if cut >= 0:
                    # Cut at 1 MB: ask the same Marker again for the whole lines that fit
                    # (and keep asking for that many); a single line over 1 MB cannot come
                    # whole, so it is kept as the service cut it.
                    body = text[:cut].rstrip(" ")
                    if body.endswith("\n"):
                        body = body[:-1]  # the notice's own line break ("\n [Your log...")
                    whole = body.count("\n")  # complete lines before the cut
                    if whole > 0 and whole != lines:
                        lines = whole
                        continue
                    text = body + "\n"
                    message = f"{remote.key}: a line longer than 1 MB was cut by the service"
                    self.on_event(FetchEvent("note", remote, message=message))
                data = text.encode("utf-8")
                if first and have:
                    data = _drop_overlap(tail, data)
                first = False
                if data:
                    handle.write(data)
                    handle.flush()
                    received += len(data)
                    records += len(_RECORD_START.findall(data))
                    with self._counter_lock:
                        self.bytes_received += len(data)
                marker = str(portion.get("Marker") or marker)
                self.state.put(
                    remote.key,
                    {
                        "marker": marker,
                        "size": have + received,
                        "last_written": 0,  # unknown until the file is complete
                        "complete": complete,
                    },
                )
                self.on_event(
                    FetchEvent("advance", remote, received, max(received, remote.size - have))
                )
                if not portion.get("AdditionalDataPending"):
                    break
        return received, records, marker


def _drop_overlap(tail: bytes, data: bytes) -> bytes:
    """``data`` without the whole lines at its start that ``tail`` already ends with (the
    service may repeat data after a resume)."""
    best = 0
    position = data.find(b"\n")
    while 0 <= position < _OVERLAP_WINDOW:
        if tail.endswith(data[: position + 1]):
            best = position + 1
        position = data.find(b"\n", position + 1)
    return data[best:]


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
    are reported and the next round tries again."""
    while not stop.wait(interval):
        try:
            fetcher.fetch(cluster=cluster, instances=instances)
        except AwsError as error:
            on_error(error)
