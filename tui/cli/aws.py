"""The AWS side of the command line: ``fetch``, ``--cluster`` and ``--cloudwatch``.

Kept apart from ``tui.cli`` so that local use never imports boto3. Progress goes to stderr:
bars on a terminal, plain lines otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from tui.model.text import inert_line
from tui.query import parse_moment
from tui.sources import Background
from tui.sources.aws.cloudwatch import CloudWatchSource, log_group_for, pushdown
from tui.sources.aws.rds_logs import Fetcher, FetchEvent, FetchSummary, poll_forever
from tui.sources.aws.session import AwsError, AwsOptions


def options_of(args: argparse.Namespace) -> AwsOptions:
    """The AWS options the arguments give."""
    return AwsOptions(region=args.region, profile=args.profile, endpoint_url=args.endpoint_url)


def cache_directory(kind: str, name: str, region: str | None) -> Path:
    """Where downloads are kept between runs (XDG cache)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    where = (
        region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "default"
    )
    safe = name.strip("/").replace("/", "_")
    return Path(base) / "neptune-audit" / kind / where / safe


def _log_group(args: argparse.Namespace) -> str:
    """The log group ``--log-group`` or ``--cluster`` names."""
    group = args.log_group or (log_group_for(args.cluster) if args.cluster else None)
    if not group:
        raise AwsError("--cloudwatch needs --cluster NAME or --log-group GROUP")
    return str(group)


def time_us(text: str | None, *, now_us: int) -> int | None:
    """``--since``/``--until`` in µs: a duration before now (``2h``, ``2h ago``), a time of
    day (``08:15``, UTC) or a time (ISO, epoch), as ``parse_moment`` reads them."""
    if not text:
        return None
    try:
        return parse_moment(text, back_from_us=now_us)
    except ValueError as error:
        raise AwsError(f"bad time {text!r}: {error}") from error


# -- fetch ------------------------------------------------------------------------------------


class _Reporter:
    """Fetch progress on stderr: rich bars on a terminal, one line per file otherwise."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.terminal = stream.isatty()
        self._lock = threading.Lock()
        self._tasks: dict[str, Any] = {}
        self.progress: Any = None
        if self.terminal:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self.progress = Progress(
                TextColumn("{task.description}", markup=False),  # names are data
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(file=stream),
                transient=False,
            )
            self.overall = self.progress.add_task("all files", total=None)

    def __enter__(self) -> _Reporter:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def __call__(self, event: FetchEvent) -> None:
        with self._lock:
            if event.kind == "note":
                if self.progress is not None:
                    self.progress.console.print(f"note: {inert_line(event.message)}", markup=False)
                else:
                    print(f"note: {inert_line(event.message)}", file=self.stream)
                return
            assert event.file is not None
            key = inert_line(event.file.key)
            if self.progress is None:
                if event.kind == "done" and event.done_bytes:
                    print(f"{key}: {event.done_bytes:,} bytes", file=self.stream)
                return
            if event.kind == "start":
                self._tasks[key] = self.progress.add_task(key, total=event.total_bytes or None)
            elif key in self._tasks:
                self.progress.update(
                    self._tasks[key], completed=event.done_bytes, total=event.total_bytes or None
                )
                if event.kind == "done":
                    self.progress.remove_task(self._tasks.pop(key))
            self.progress.advance(self.overall, 0)


def fetch_command(args: argparse.Namespace) -> int:
    """``neptune-audit fetch``: download and resynchronise a cluster's audit logs."""
    name = args.cluster or "+".join(args.instance)
    directory = args.dir or cache_directory("rds", name, args.region)
    _fetch(args, directory, sys.stdout, workers=args.workers)
    return 0


def _fetch(args: argparse.Namespace, directory: Path, out: IO[str], workers: int = 4) -> Fetcher:
    """Fetch with progress on stderr and the summary on ``out``; the fetcher, to poll on."""
    started = time.perf_counter()
    with _Reporter(sys.stderr) as reporter:
        fetcher = Fetcher(options_of(args), directory, on_event=reporter, workers=workers)
        summary = fetcher.fetch(cluster=args.cluster, instances=args.instance or ())
    print(inert_line(describe_summary(summary, directory, time.perf_counter() - started)), file=out)
    return fetcher


def describe_summary(summary: FetchSummary, directory: Path, elapsed: float) -> str:
    """The one-line summary of a fetch."""
    rate = summary.bytes / elapsed / 1e6 if elapsed > 0 else 0.0
    return (
        f"{summary.files} files from {len(summary.instances)} instances into {directory}: "
        f"{summary.changed} updated, {summary.bytes / 1e6:,.1f} MB new, "
        f"{summary.records:,} records ({elapsed:.1f} s, {rate:,.1f} MB/s)"
    )


def cluster_files(args: argparse.Namespace) -> tuple[list[str], list[Background], str]:
    """``view --cluster``: fetch into the cache and, with --follow, poll for more."""
    directory = args.dir or cache_directory("rds", args.cluster, args.region)
    fetcher = _fetch(args, directory, sys.stderr)
    jobs: list[Background] = []
    if args.follow:
        quiet = Fetcher(options_of(args), directory, rds=fetcher.rds)

        def poll(stop: threading.Event, report: Callable[[str], None]) -> None:
            poll_forever(
                quiet,
                stop,
                cluster=args.cluster,
                instances=args.instance or (),
                interval=args.interval,
                on_error=lambda error: report(str(error)),
            )

        jobs.append(poll)
    label = f"polling {args.cluster} every {args.interval:g} s" if args.follow else ""
    return [str(directory)], jobs, label


def cloudwatch_files(
    args: argparse.Namespace, filter_node: Any, *, follow: bool
) -> tuple[list[str], list[Background], str]:
    """``--cloudwatch``: the range's events as local files (and a live tail with --follow)."""
    group = _log_group(args)
    now_us = time.time_ns() // 1000
    pattern, after, before = pushdown(filter_node)
    start = time_us(args.since, now_us=now_us)
    end = time_us(args.until, now_us=now_us)
    start = max(v for v in (start, after) if v is not None) if (start or after) else None
    end = min(v for v in (end, before) if v is not None) if (end or before) else None
    directory = args.dir or cache_directory("cloudwatch", group, args.region)
    if args.dir is None and directory.exists():
        # A cache of an earlier range would mix in other events: start it afresh.
        for stale in directory.rglob("*.log"):
            stale.unlink()
    source = CloudWatchSource(options_of(args), group, directory, since_us=start, until_us=end)
    downloaded = source.download(start, end, pattern)
    said = f"{downloaded.events:,} events from {len(downloaded.streams)} streams of {group}"
    print(inert_line(said + (f" (filter pattern {pattern})" if pattern else "")), file=sys.stderr)
    jobs: list[Background] = []
    if follow:

        def tail(stop: threading.Event, report: Callable[[str], None]) -> None:
            source.follow(stop, pattern=pattern, on_error=lambda error: report(str(error)))

        jobs.append(tail)
    directory.mkdir(parents=True, exist_ok=True)
    return [str(directory)], jobs, (f"live from {group}" if follow else "")


def insights_stats(args: argparse.Namespace) -> dict[str, Any]:
    """``stats --cloudwatch``: counts computed by CloudWatch Logs Insights."""
    group = _log_group(args)
    now_us = time.time_ns() // 1000
    start = time_us(args.since, now_us=now_us) or now_us - 24 * 3_600_000_000
    end = time_us(args.until, now_us=now_us) or now_us
    source = CloudWatchSource(options_of(args), group, Path("."))
    return source.insights_stats(start, end)
