"""Reading audit logs exported to CloudWatch Logs (``/aws/neptune/<cluster>/audit``).

Events are written to local files, one raw audit line per event, ``DIR/<instance>/<stream>.log``
(stream names start with the instance id), so the rest of the tool reads them like any log
file: the index merges the streams in time order and the local follower picks up appends.

- ``download`` reads a time range with FilterLogEvents, pushing the range and, where the
  filter allows, its plain terms down as a filter pattern (the rest is filtered locally);
- ``follow`` runs StartLiveTail and reconnects when a session ends (after at most 3 h) or
  drops, backfilling the gap with FilterLogEvents so that nothing is lost or duplicated;
- long ranges and ``stats`` run in Logs Insights instead (``tui.sources.aws.insights``).

Ranges are half-open, ``[since_us, until_us)`` in microseconds. The service counts in
milliseconds: the start is rounded up and the end down to what it can
express, and every event written is checked against the exact bounds again here. Directories
are created 0700 and files 0600.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.query.ast import And, FieldMatch, Node, Text, TimeBound
from tui.sources.aws.session import (
    AwsError,
    AwsOptions,
    client,
    error_code,
    explain,
    file_component,
    make_private_directories,
    open_private,
)

#: Fields whose values appear verbatim in the raw line, so a term on them can be pushed down.
_VERBATIM_FIELDS = frozenset({"client", "server", "user", "path", "method", "type", "source"})
_RECENT_KEYS = 200_000
_BACKFILL_OVERLAP_MS = 5_000


def log_group_for(cluster: str) -> str:
    """The log group Neptune exports a cluster's audit log to."""
    return f"/aws/neptune/{cluster}/audit"


def stream_file(directory: Path, stream: str) -> Path:
    """Where a stream's events are written: ``DIR/<instance>/<stream>.log`` (both names made
    safe: a stream name never leads outside ``directory``)."""
    instance = stream.split("/", 1)[0] or "stream"
    return directory / file_component(instance) / f"{file_component(stream or 'stream')}.log"


def in_range(timestamp_ms: int, since_us: int | None, until_us: int | None) -> bool:
    """Whether an event's time lies in ``[since_us, until_us)``."""
    at_us = timestamp_ms * 1000
    return (since_us is None or at_us >= since_us) and (until_us is None or at_us < until_us)


def service_range(since_us: int | None, until_us: int | None) -> tuple[int | None, int | None]:
    """``[since_us, until_us)`` as the inclusive millisecond bounds CloudWatch takes: the
    start rounded up, the end down (the last millisecond before ``until_us``)."""
    start = None if since_us is None else -(-since_us // 1000)
    end = None if until_us is None else (until_us - 1) // 1000
    return start, end


def pushdown(node: Node) -> tuple[str | None, int | None, int | None]:
    """(filter pattern, since µs, until µs) that a filter implies for every match.

    CloudWatch patterns are case-sensitive and our terms are not, so only terms without
    letters (addresses, ports, numbers) are pushed; everything is still filtered locally.
    """
    terms: list[str] = []
    after: int | None = None
    before: int | None = None
    operands = node.operands if isinstance(node, And) else (node,)
    for operand in operands:
        value: str | None = None
        if isinstance(operand, Text):
            value = operand.value
        elif (
            isinstance(operand, FieldMatch)
            and operand.op in ("contains", "equals")
            and operand.field in _VERBATIM_FIELDS
        ):
            value = operand.value
        elif isinstance(operand, TimeBound):
            bound = operand.epoch_us  # after: at or after; before: strictly before
            if operand.op == "after":
                after = bound if after is None else max(after, bound)
            else:
                before = bound if before is None else min(before, bound)
        if value and not any(c.isalpha() for c in value) and '"' not in value and value.strip():
            terms.append(f'"{value}"')
    return (" ".join(terms) or None), after, before


@dataclass
class Downloaded:
    """What ``download`` wrote."""

    events: int = 0
    streams: set[str] = field(default_factory=set)


class CloudWatchSource:
    """Events of one log group, written to local files."""

    def __init__(
        self,
        options: AwsOptions,
        log_group: str,
        directory: Path,
        *,
        logs: Any = None,
        since_us: int | None = None,
        until_us: int | None = None,
    ) -> None:
        self.log_group = log_group
        self.directory = directory
        self.since_us = since_us  # the range live events and backfills are kept to
        self.until_us = until_us
        self.logs = logs if logs is not None else client("logs", options)
        self._recent: OrderedDict[tuple[str, int, str], None] = OrderedDict()
        self._lock = threading.Lock()
        self.last_timestamp = 0
        self.reconnects = 0

    # -- writing events -------------------------------------------------------------------

    def _accept(self, stream: str, timestamp: int, message: str) -> bool:
        """Remember an event; False when it was already written."""
        key = (stream, timestamp, message)
        with self._lock:
            if key in self._recent:
                return False
            self._recent[key] = None
            if len(self._recent) > _RECENT_KEYS:
                self._recent.popitem(last=False)
            self.last_timestamp = max(self.last_timestamp, timestamp)
            return True

    def write(
        self,
        events: list[dict[str, Any]],
        since_us: int | None = None,
        until_us: int | None = None,
    ) -> int:
        """Append the new events of ``[since_us, until_us)`` to their streams' files (each
        once); returns how many."""
        by_file: dict[Path, list[str]] = {}
        for event in events:
            stream = str(event.get("logStreamName", "stream"))
            message = str(event.get("message", "")).rstrip("\r\n")
            timestamp = event.get("timestamp", 0)
            if not isinstance(timestamp, int) or not in_range(timestamp, since_us, until_us):
                continue
            if not self._accept(stream, timestamp, message):
                continue
            by_file.setdefault(stream_file(self.directory, stream), []).append(message)
        for path, lines in by_file.items():
            make_private_directories(path.parent)
            descriptor = open_private(path, os.O_WRONLY | os.O_APPEND)
            with open(descriptor, "a", encoding="utf-8") as handle:
                handle.write("".join(line + "\n" for line in lines))
        return sum(len(lines) for lines in by_file.values())

    # -- reading a range ------------------------------------------------------------------

    def download(
        self, since_us: int | None, until_us: int | None, pattern: str | None = None
    ) -> Downloaded:
        """Write the events of ``[since_us, until_us)`` (matching ``pattern``) to files."""
        result = Downloaded()
        make_private_directories(self.directory)
        arguments: dict[str, Any] = {"logGroupName": self.log_group}
        start_ms, end_ms = service_range(since_us, until_us)
        if start_ms is not None and end_ms is not None and end_ms < start_ms:
            return result  # no whole millisecond in the range
        if start_ms is not None:
            arguments["startTime"] = max(0, start_ms)
        if end_ms is not None:
            arguments["endTime"] = max(0, end_ms)
        if pattern:
            arguments["filterPattern"] = pattern
        try:
            while True:
                page = self.logs.filter_log_events(**arguments)
                events = page.get("events", [])
                result.events += self.write(events, since_us, until_us)
                result.streams.update(str(e.get("logStreamName")) for e in events)
                token = page.get("nextToken")
                if not token or token == arguments.get("nextToken"):
                    return result
                arguments["nextToken"] = token
        except Exception as error:
            raise explain(error, subject=f"log group {self.log_group}") from error

    # -- following ------------------------------------------------------------------------

    def group_arn(self) -> str:
        """The log group's ARN, which StartLiveTail wants."""
        try:
            groups = self.logs.describe_log_groups(logGroupNamePrefix=self.log_group)
        except Exception as error:
            raise explain(error, subject=f"log group {self.log_group}") from error
        for group in groups.get("logGroups", []):
            if group.get("logGroupName") == self.log_group:
                return str(group.get("arn", "")).removesuffix(":*")
        raise AwsError(
            f"log group {self.log_group} does not exist: export the audit log to CloudWatch "
            'with EnableCloudwatchLogsExports=["audit"] on the cluster'
        )

    def follow(
        self,
        stop: threading.Event,
        *,
        pattern: str | None = None,
        on_error: Callable[[AwsError], None] | None = None,
        retry_delay: float = 1.0,
    ) -> None:
        """Append live events to the files until ``stop``; after any session ends, backfill
        from the newest event seen so nothing falls between two sessions."""
        arn = self.group_arn()
        while not stop.is_set():
            try:
                arguments: dict[str, Any] = {"logGroupIdentifiers": [arn]}
                if pattern:
                    arguments["logEventFilterPattern"] = pattern
                response = self.logs.start_live_tail(**arguments)
                for event in response["responseStream"]:
                    if stop.is_set():
                        break
                    update = event.get("sessionUpdate")
                    if update:
                        results = list(update.get("sessionResults", []))
                        self.write(results, self.since_us, self.until_us)
            except Exception as error:
                if on_error is not None and error_code(error) not in _SESSION_ENDED:
                    on_error(explain(error, subject=f"log group {self.log_group}"))
            if stop.is_set():
                return
            self.reconnects += 1
            self._backfill(pattern)
            stop.wait(retry_delay)

    def _backfill(self, pattern: str | None) -> None:
        starts = [self.since_us or 0]
        if self.last_timestamp:
            starts.append((self.last_timestamp - _BACKFILL_OVERLAP_MS) * 1000)
        soon_us = (time.time_ns() // 1000) + 60_000_000
        end = soon_us if self.until_us is None else min(self.until_us, soon_us)
        try:
            self.download(max(starts), end, pattern)
        except AwsError:
            pass  # the next session's backfill tries again


_SESSION_ENDED = {"SessionTimeoutException", "SessionStreamingException"}
