"""The AWS side of the command line: ``fetch``, ``--cluster`` and ``--cloudwatch``.

Kept apart from ``tui.cli`` so that local use never imports boto3. Progress goes to stderr:
bars on a terminal, plain lines otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from tui.model.text import inert, inert_line
from tui.query import parse_moment
from tui.sources import Background
from tui.sources.aws.cloudwatch import CloudWatchSource, log_group_for, pushdown
from tui.sources.aws.rds_logs import Fetcher, FetchEvent, FetchSummary, poll_forever
from tui.sources.aws.session import AwsError, AwsOptions

if TYPE_CHECKING:
    from tui.cli.export import Writer
    from tui.model.record import Entry
    from tui.query.ast import Node
    from tui.sources.aws.insights import InsightsRunner, SliceProgress
    from tui.sources.aws.insights_ql import Compiled
    from tui.view.remote import RemoteCounts
    from tui.view.status import RemoteProgress


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
    if not args.no_cache:
        warm_cache(directory)
    return 0


def warm_cache(directory: Path) -> None:
    """Index what ``directory`` holds into the persistent index (files already there and
    unchanged cost a lookup), so the next view or query of it starts warm."""
    from tui.index.index import Index
    from tui.sources.cache import IndexCache
    from tui.sources.files import FileReader
    from tui.sources.local import SourceError, expand_paths, load

    reader = FileReader()
    index = Index(reader)
    try:
        load(index, reader, expand_paths([str(directory)]), cache=IndexCache())
    except SourceError:
        return  # the next command reports what it cannot read
    finally:
        index.close()


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
    directory = _fresh_directory(args, group)
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


# -- Logs Insights ------------------------------------------------------------------------------

#: A ``query --cloudwatch`` over a range longer than this runs through Logs Insights.
INSIGHTS_OVER_US = 24 * 3_600_000_000


def _cloudwatch_range(
    args: argparse.Namespace, compiled: Compiled | None = None
) -> tuple[int, int]:
    """``[since_us, until_us)`` of ``--since``/``--until`` (default: the last hour), narrowed
    to the event times the filter's top-level time terms allow."""
    now_us = time.time_ns() // 1000
    since = time_us(args.since, now_us=now_us)
    until = time_us(args.until, now_us=now_us)
    start = since if since is not None else now_us - 3_600_000_000
    end = until if until is not None else now_us
    if compiled is not None:
        if compiled.since_us is not None:
            start = max(start, compiled.since_us)
        if compiled.until_us is not None:
            end = min(end, compiled.until_us)
    return start, max(start, end)


def use_insights(args: argparse.Namespace) -> bool:
    """Whether ``query --cloudwatch`` runs through Logs Insights: with ``--insights`` or
    ``--explain``, or when the range is longer than a day."""
    if getattr(args, "insights", False) or getattr(args, "explain", False):
        return True
    start, end = _cloudwatch_range(args)
    return end - start > INSIGHTS_OVER_US


def _ms_range(since_us: int, until_us: int) -> tuple[int, int]:
    from tui.sources.aws.cloudwatch import service_range

    start, end = service_range(since_us, until_us)
    assert start is not None and end is not None
    return start, end


class _InsightsProgress:
    """Keeps each slice's state and bytes scanned; on a terminal's stderr (``stream``),
    ``Logs Insights: 5/12 slices, 3 running, 1.2 GB scanned``."""

    def __init__(self, stream: IO[str] | None) -> None:
        self.stream = stream
        self.terminal = stream is not None and stream.isatty()
        self.states: dict[int, str] = {}
        self.scanned: dict[int, float] = {}
        self.last = 0.0
        self.shown = False
        self._lock = threading.Lock()

    def __call__(self, progress: SliceProgress) -> None:
        from tui.view.status import describe_bytes

        with self._lock:
            ident = progress.slice.ident
            self.states[ident] = progress.state
            self.scanned[ident] = max(self.scanned.get(ident, 0.0), progress.bytes_scanned)
            now = time.monotonic()
            if self.stream is None or not self.terminal or now - self.last < 0.1:
                return
            self.last = now
            done, total, running, scanned = self._counts()
            self.stream.write(
                f"\rLogs Insights: {done}/{total} slices, {running} running, "
                f"{describe_bytes(scanned)} scanned "
            )
            self.stream.flush()
            self.shown = True

    def counts(self) -> tuple[int, int, int, float]:
        """Slices done, slices known (a split adds some), running, and bytes scanned."""
        with self._lock:
            return self._counts()

    def _counts(self) -> tuple[int, int, int, float]:
        states = list(self.states.values())
        done = sum(1 for state in states if state in ("done", "split"))
        running = sum(1 for state in states if state == "running")
        return done, len(states), running, sum(self.scanned.values())

    def clear(self) -> None:
        if self.shown and self.stream is not None:
            self.stream.write("\r" + " " * 70 + "\r")
            self.stream.flush()


def _runner(
    args: argparse.Namespace,
    group: str,
    compiled: Compiled,
    progress: Callable[[SliceProgress], None],
    cancel: threading.Event | None = None,
) -> InsightsRunner:
    from tui.sources.aws.insights import InsightsRunner
    from tui.sources.aws.session import client

    def describe_term(query: Any, offset: int) -> str:
        term = query.term_at(offset)
        return repr(compiled.terms[term].text) if term is not None else ""

    return InsightsRunner(
        client("logs", options_of(args)),
        group,
        concurrency=args.concurrency,
        row_limit=args.row_limit,
        poll_s=float(os.environ.get("NEPTUNE_AUDIT_INSIGHTS_POLL", "1.0")),
        on_progress=progress,
        cancel=cancel,
        describe_term=describe_term,
    )


def _check_insights_arguments(args: argparse.Namespace) -> None:
    from tui.sources.aws.insights import MAX_CONCURRENCY, ROW_LIMIT

    if not 1 <= args.concurrency <= MAX_CONCURRENCY:
        raise AwsError(f"--concurrency must be 1 to {MAX_CONCURRENCY}")
    if not 1 <= args.row_limit <= ROW_LIMIT:
        raise AwsError(f"--row-limit must be 1 to {ROW_LIMIT:,}")
    if args.price_per_gb < 0:
        raise AwsError("--price-per-gb must be 0 or more")


def _newest_us(runner: InsightsRunner, start_ms: int, end_ms: int) -> int | None:
    """The newest record's own time in the range (what ``last:`` counts back from)."""
    from tui.model.parser import parse_entry
    from tui.model.record import Record
    from tui.sources.aws.insights_ql import newest_query

    rows = runner.first_rows(lambda a, b: newest_query(a, b), start_ms, end_ms)
    times = [
        entry.epoch_us
        for entry in (parse_entry(row.get("@message", "").rstrip("\r\n")) for row in rows)
        if isinstance(entry, Record)
    ]
    return max(times) if times else None


def _cost_note(runner: InsightsRunner, price_per_gb: float) -> str:
    from tui.view.status import describe_bytes

    totals = runner.totals
    split = f", {totals.splits:,} slices split further" if totals.splits else ""
    return (
        f"Logs Insights ran {totals.queries:,} queries in AWS{split} and scanned "
        f"{describe_bytes(totals.bytes_scanned)} (about ${totals.cost(price_per_gb):,.4f} at "
        f"${price_per_gb:g} per GB)"
    )


class _MatchFiles:
    """The matching events, written as ``DIR/<instance>/<stream>.log`` (fresh each run)."""

    def __init__(self, directory: Path) -> None:
        from tui.sources.aws.session import make_private_directories

        self.directory = directory
        self.lines: dict[Path, int] = {}
        self.opened: set[Path] = set()
        make_private_directories(directory)

    def write(self, entries: list[tuple[Path, str]]) -> list[int]:
        """Append each (file, text); returns the line each starts on."""
        from tui.sources.aws.session import make_private_directories, open_private

        starts: list[int] = []
        by_file: dict[Path, list[str]] = {}
        for path, text in entries:
            line = self.lines.get(path, 0)
            starts.append(line + 1)
            self.lines[path] = line + text.count("\n") + 1
            by_file.setdefault(path, []).append(text)
        for path, texts in by_file.items():
            make_private_directories(path.parent)
            first = path not in self.opened
            flags = os.O_WRONLY | (os.O_TRUNC if first else os.O_APPEND)
            self.opened.add(path)
            with open(open_private(path, flags), "a", encoding="utf-8") as handle:
                handle.write("".join(text + "\n" for text in texts))
        return starts


#: Locks on the directories this process writes matches into, held until it exits (runs
#: of one process, one after the other, share them).
_HELD = contextlib.ExitStack()
_LOCKED: set[Path] = set()


def _match_directory(args: argparse.Namespace, group: str) -> Path:
    """The directory the matching events are written to, locked for this process: two runs
    on one directory (a viewer and a query of the same group) would mix their files."""
    from tui.sources.aws.rds_logs import directory_lock

    directory: Path = args.dir or cache_directory("cloudwatch", group, args.region)
    if directory not in _LOCKED:  # DirectoryBusy: one line, exit 2
        why = "another run writes its matches there; give another --dir"
        _HELD.enter_context(directory_lock(directory, wait=0, why=why))
        _LOCKED.add(directory)
    return _fresh_directory(args, group)


def _fresh_directory(args: argparse.Namespace, group: str) -> Path:
    """Where a CloudWatch range is written: ``--dir``, or the cache directory of the group,
    emptied of an earlier range's events (they would mix in)."""
    directory: Path = args.dir or cache_directory("cloudwatch", group, args.region)
    if args.dir is None and directory.exists():
        for stale in directory.rglob("*.log"):
            stale.unlink()
    return directory


class _Matcher:
    """Turns the events Insights returns into the kept ones: each is parsed and checked here
    against the whole filter, and the kept ones are written, in time order, through
    ``_MatchFiles`` (``query`` prints them, the viewer follows the files)."""

    def __init__(self, files: _MatchFiles, node: Node, newest_us: int) -> None:
        self.files = files
        self.node = node
        self.newest_us = newest_us
        self.checked = 0
        self.kept = 0
        self._paths: dict[str, Path] = {}  # stream -> its file

    def keep(self, batch: list[dict[str, str]]) -> list[Entry]:
        """The batch's events the filter keeps, written; each with its line in its file."""
        from dataclasses import replace

        from tui.model.parser import decode_entry_bytes, parse_entry
        from tui.model.record import Record
        from tui.query.predicate import matches
        from tui.sources.aws.cloudwatch import stream_file

        kept: list[tuple[tuple[int, tuple[str, ...], int], Path, str, Entry]] = []
        for position, row in enumerate(batch):
            self.checked += 1
            stream = row.get("@logStream", "stream")
            path = self._paths.get(stream) or self._paths.setdefault(
                stream, stream_file(self.files.directory, stream)
            )
            message = row.get("@message", "").rstrip("\r\n")
            text = decode_entry_bytes((message + "\n").encode())
            entry: Entry = parse_entry(text, source=str(path))
            if isinstance(entry, Record):
                # The instance is the file's directory, as the index names it.
                entry = replace(entry, instance=path.parent.name)
                epoch_us = entry.epoch_us
            else:
                epoch_us = int(float(row.get("ms", "0") or 0)) * 1000
            if matches(self.node, entry, text, epoch_us=epoch_us, newest_us=self.newest_us):
                kept.append(((epoch_us, path.parts, position), path, message, entry))
        kept.sort(key=lambda item: item[0])
        starts = self.files.write([(path, message) for _, path, message, _ in kept])
        self.kept += len(kept)
        return [
            replace(entry, line=line) for (_, _, _, entry), line in zip(kept, starts, strict=True)
        ]


def insights_query(args: argparse.Namespace, node: Node, writer_for: Callable[[], Writer]) -> int:
    """``query --cloudwatch`` through Logs Insights: the compiled filter narrows the events in
    AWS, slice by slice; each returned event is checked here against the whole filter and
    printed in time order as soon as every earlier slice is in."""
    from contextlib import closing

    from tui.model.record import Malformed
    from tui.sources.aws.insights_ql import FALSE, compile_filter, rows_query, substitute_last

    _check_insights_arguments(args)
    if args.limit is not None and args.limit < 0:
        raise AwsError("--limit must be 0 or more")
    group = _log_group(args)
    compiled = compile_filter(node, args.filter)
    since_us, until_us = _cloudwatch_range(args, compiled)
    start_ms, end_ms = _ms_range(since_us, until_us)
    if args.explain:
        sys.stdout.write(explain_query(args, group, compiled, since_us, until_us))
        return 0
    progress = _InsightsProgress(sys.stderr)
    runner = _runner(args, group, compiled, progress)
    newest_us = 0
    if compiled.uses_last:
        newest_us = _newest_us(runner, start_ms, end_ms) or 0
        node = substitute_last(node, newest_us)
        compiled = compile_filter(node, args.filter)
    matcher = _Matcher(_MatchFiles(_match_directory(args, group)), node, newest_us)
    printed = 0
    malformed: list[Malformed] = []
    writers: list[Writer] = []  # made with the first results: a failure prints nothing

    def writer() -> Writer:
        if not writers:
            writers.append(writer_for())
        return writers[0]

    if end_ms < start_ms or compiled.possible == FALSE:
        batches: Any = iter(())
    else:
        batches = runner.iter_rows(
            lambda a, b: rows_query(compiled, a, b, runner.row_limit), start_ms, end_ms
        )
    try:
        with closing(batches):
            for batch in batches:
                for entry in matcher.keep(batch):
                    if isinstance(entry, Malformed):
                        malformed.append(entry)
                    elif args.limit is None or printed < args.limit:
                        writer().record(entry)
                        printed += 1
                writer().out.flush()
                if args.limit is not None and printed >= args.limit and not args.malformed:
                    break  # closing the batches stops the running queries
        if args.malformed:
            for entry in sorted(malformed, key=lambda e: (Path(e.source).parts, e.line)):
                writer().malformed(entry)
        writer().close()
    finally:
        progress.clear()
        for note in runner.notes:
            print(f"neptune-audit: {inert(note)}", file=sys.stderr)
    print(
        f"{printed:,} matching records from {group}; {matcher.checked:,} events checked here. "
        + _cost_note(runner, args.price_per_gb),
        file=sys.stderr,
    )
    return 0


class InsightsView:
    """``view --cloudwatch`` through Logs Insights (a ``tui.view.remote.RemoteRun``).

    The viewer opens at once on the match directory, laid out as ``query`` writes it
    (``DIR/<instance>/<stream>.log``), and follows it while ``run`` (in a worker) runs the
    slices and appends the events the whole filter keeps as each stretch of time is in.
    Only matching events are downloaded, each in full with its slice's results: the rows
    carry ``@message`` as well as ``@ptr``. The CloudWatch Logs API reference documents
    GetQueryResults as returning "only the fields requested in the query ... along with a
    @ptr field", to be passed to GetLogRecord "to get the full log record", and GetLogRecord
    as retrieving the fields a query did not ask for
    (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetQueryResults.html,
    https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetLogRecord.html);
    neither page, nor the quotas page, says a requested ``@message`` is cut in query results.
    So the line comes from ``@message`` and GetLogRecord (one call per event) is not needed.
    """

    def __init__(self, args: argparse.Namespace, node: Node) -> None:
        from tui.sources.aws.insights_ql import compile_filter

        _check_insights_arguments(args)
        self.args = args
        self.group = _log_group(args)
        self._initial = node
        compile_filter(node, args.filter)  # a filter Insights cannot take fails before the UI
        self.since_us, self.until_us = _cloudwatch_range(args)  # fixed: now is when it started
        self.directory: Path = args.dir or cache_directory("cloudwatch", self.group, args.region)
        self._files: _MatchFiles | None = None
        self.price_per_gb = float(args.price_per_gb)
        self._cancel = threading.Event()
        self.finished = threading.Event()

    @property
    def initial(self) -> Node:
        """The filter the records written were matched with."""
        return self._initial

    def explain(self) -> str:
        """What ``view --cloudwatch --explain`` prints (the plan ``query`` would run)."""
        from tui.sources.aws.insights_ql import compile_filter

        compiled = compile_filter(self._initial, self.args.filter)
        since_us, until_us = self._range(compiled)
        return explain_query(self.args, self.group, compiled, since_us, until_us)

    def _range(self, compiled: Compiled) -> tuple[int, int]:
        """The run's range narrowed to the times the filter's top-level terms allow."""
        start, end = self.since_us, self.until_us
        if compiled.since_us is not None:
            start = max(start, compiled.since_us)
        if compiled.until_us is not None:
            end = min(end, compiled.until_us)
        return start, max(start, end)

    def open(self) -> Path:
        """The match directory, made ready for this run (files of an earlier run in the
        cache go); the viewer reads it from the start."""
        if self._files is None:
            self._files = _MatchFiles(_match_directory(self.args, self.group))
        return self.directory

    def cancel(self) -> None:
        """Stop the run (StopQuery for the queries still running); what arrived stays."""
        self._cancel.set()

    def wait(self, timeout: float) -> bool:
        """Wait for ``run`` to end (its queries stopped); whether it did in time."""
        return self.finished.wait(timeout)

    def run(self, stop: threading.Event, progress: Callable[[RemoteProgress], None]) -> None:
        """Run the slices, writing the kept events; ``progress`` hears of every slice's
        change (at most ten times a second) and, last, how the run ended."""
        from contextlib import closing

        from tui.sources.aws.insights import InsightsCancelled
        from tui.sources.aws.insights_ql import FALSE, compile_filter, rows_query, substitute_last
        from tui.view.status import RemoteProgress, RemoteState

        tracker = _InsightsProgress(None)
        kept = [0]
        last = [0.0]

        def report(state: RemoteState, error: str = "") -> None:
            done, total, running, scanned = tracker.counts()
            progress(
                RemoteProgress(
                    state, done, total, running, kept[0], scanned, self.price_per_gb, error
                )
            )

        def on_slice(change: SliceProgress) -> None:
            tracker(change)
            if stop.is_set():
                self._cancel.set()  # the viewer is closing: stop what runs in AWS
            now = time.monotonic()
            if now - last[0] >= 0.1:
                last[0] = now
                report("running")

        runner: InsightsRunner | None = None
        try:
            report("starting")
            node = self._initial
            compiled = compile_filter(node, self.args.filter)
            start_ms, end_ms = _ms_range(*self._range(compiled))
            runner = _runner(self.args, self.group, compiled, on_slice, cancel=self._cancel)
            newest_us = 0
            if compiled.uses_last:
                newest_us = _newest_us(runner, start_ms, end_ms) or 0
                node = substitute_last(node, newest_us)
                compiled = compile_filter(node, self.args.filter)
            self.open()
            assert self._files is not None
            matcher = _Matcher(self._files, node, newest_us)
            if end_ms >= start_ms and compiled.possible != FALSE:
                batches: Any = runner.iter_rows(
                    lambda a, b: rows_query(compiled, a, b, self.args.row_limit), start_ms, end_ms
                )
                with closing(batches):
                    for batch in batches:
                        matcher.keep(batch)
                        kept[0] = matcher.kept
                        report("running")
            report("done", _notes(runner))
        except InsightsCancelled:
            report("cancelled", _notes(runner))
        except AwsError as error:
            report("failed", str(error))
        except Exception as error:  # noqa: BLE001 - said in the viewer, which goes on
            report("failed", f"{type(error).__name__}: {error}")
        finally:
            self.finished.set()

    def count(
        self,
        node: Node,
        cancel: threading.Event,
        buckets: int,
        on_progress: Callable[[str], None] | None = None,
    ) -> RemoteCounts:
        """The ``stats`` counts of what ``node`` keeps over the run's range, made in AWS
        (the overview of the viewer), saying how far it is to ``on_progress``."""
        from tui.query.format import format_filter
        from tui.sources.aws.insights_ql import compile_filter, substitute_last
        from tui.sources.aws.insights_stats import Tally, count
        from tui.view.remote import RemoteCounts, counting_note

        text = format_filter(node)
        compiled = compile_filter(node, text)
        start_ms, end_ms = _ms_range(*self._range(compiled))
        tracker = _InsightsProgress(None)
        said = [0.0]

        def progress(change: SliceProgress) -> None:
            tracker(change)
            if on_progress is not None and time.monotonic() - said[0] >= 0.2:
                said[0] = time.monotonic()
                done, total, _running, scanned = tracker.counts()
                on_progress(counting_note(done, total, scanned))

        runner = _runner(self.args, self.group, compiled, progress, cancel=cancel)
        newest_us = 0
        if compiled.uses_last:
            newest_us = _newest_us(runner, start_ms, end_ms) or 0
            node = substitute_last(node, newest_us)
            compiled = compile_filter(node, text)
        if end_ms < start_ms:
            tally = Tally()
        else:
            tally = count(
                runner,
                compiled,
                node,
                start_ms,
                end_ms,
                directory=self.directory,
                newest_us=newest_us,
                buckets=buckets,
            )
        return RemoteCounts.of(
            tally.as_stats(),
            bytes_scanned=max(runner.totals.bytes_scanned, tracker.counts()[3]),
            price_per_gb=self.price_per_gb,
            checked_here=tally.checked_here,
        )


def _notes(runner: InsightsRunner | None) -> str:
    """The runner's notes (queries it could not stop) on one line."""
    return "; ".join(runner.notes) if runner is not None else ""


def insights_stats(args: argparse.Namespace, node: Node) -> tuple[dict[str, Any], str] | None:
    """``stats --cloudwatch``: counts computed by Logs Insights (None after ``--explain``)."""
    from tui.sources.aws.insights_ql import compile_filter, substitute_last
    from tui.sources.aws.insights_stats import count

    _check_insights_arguments(args)
    group = _log_group(args)
    compiled = compile_filter(node, args.filter)
    since_us, until_us = _cloudwatch_range(args, compiled)
    if args.explain:
        sys.stdout.write(explain_stats(args, group, compiled, since_us, until_us))
        return None
    start_ms, end_ms = _ms_range(since_us, until_us)
    progress = _InsightsProgress(sys.stderr)
    runner = _runner(args, group, compiled, progress)
    try:
        newest_us = 0
        if compiled.uses_last:
            newest_us = _newest_us(runner, start_ms, end_ms) or 0
            node = substitute_last(node, newest_us)
            compiled = compile_filter(node, args.filter)
        directory = args.dir or cache_directory("cloudwatch", group, args.region)
        if end_ms < start_ms:
            from tui.sources.aws.insights_stats import Tally

            tally = Tally()
        else:
            tally = count(
                runner, compiled, node, start_ms, end_ms, directory=directory, newest_us=newest_us
            )
    finally:
        progress.clear()
        for note in runner.notes:
            print(f"neptune-audit: {inert(note)}", file=sys.stderr)
    here = (
        f"; {tally.checked_here:,} events it could not decide were read and counted here"
        if tally.checked_here
        else " (nothing was downloaded)"
    )
    note = (
        "counted by CloudWatch Logs Insights in AWS: "
        + _cost_note(runner, args.price_per_gb)
        + here
    )
    return tally.as_stats(), note


# -- --explain ----------------------------------------------------------------------------------


def _iso_ms(epoch_ms: int) -> str:
    from tui.query import format_time_us

    return format_time_us(epoch_ms * 1000)


def _explain_terms(compiled: Compiled) -> list[str]:
    lines = ["terms (all of them are checked here again on what Insights returns):"]
    if not compiled.terms:
        lines.append("  (none: every event of the range)")
    for term in sorted(compiled.terms, key=lambda t: t.span.start):
        if term.text.lower().startswith("last:"):
            where, note = "in Insights, from the newest record (one query finds it)", ""
        else:
            where = {
                "exact": "in Insights, exactly",
                "approximated": "in Insights, widened; checked here",
                "local": "here only",
            }[term.mode]
            note = f"  ({term.note})" if term.note and term.mode != "exact" else ""
        lines.append(f"  {inert(term.text) or '(all)':<30} {where}{note}")
    return lines


def _explain_slices(args: argparse.Namespace, since_us: int, until_us: int) -> list[str]:
    from tui.sources.aws.insights import plan_slices

    start_ms, end_ms = _ms_range(since_us, until_us)
    if end_ms < start_ms:
        return ["slices: none (the range holds no whole millisecond)"]
    slices = plan_slices(start_ms, end_ms, args.concurrency)
    lines = [
        f"slices: {len(slices)}, at most {args.concurrency} queries at a time; a slice that "
        f"matches more than {args.row_limit:,} events is split further, so nothing is cut:"
    ]
    shown = slices if len(slices) <= 12 else [*slices[:6], None, *slices[-5:]]
    for piece in shown:
        if piece is None:
            lines.append("  ...")
            continue
        lines.append(
            f"  {piece.ident + 1:>4}  {_iso_ms(piece.start_ms)}  to  {_iso_ms(piece.end_ms)}"
        )
    return lines


def explain_query(
    args: argparse.Namespace, group: str, compiled: Compiled, since_us: int, until_us: int
) -> str:
    """What ``query --cloudwatch --explain`` prints: the compiled query, the terms run here
    and the slices; nothing is run."""
    from tui.sources.aws.insights_ql import rows_query

    start_ms, end_ms = _ms_range(since_us, until_us)
    query = rows_query(compiled, start_ms, end_ms, args.row_limit)
    lines = [
        f"Logs Insights query on {group}, {_iso_ms(start_ms)} to {_iso_ms(end_ms)}",
        "(each slice runs it with its own times in the first line):",
        *(("  " if i == 0 else "  | ") + command for i, command in enumerate(query.commands)),
        "",
        *_explain_terms(compiled),
        "",
        *_explain_slices(args, since_us, until_us),
        "",
        f"Each query scans every event of its slice; Logs Insights charges "
        f"${args.price_per_gb:g} per GB scanned. IAM actions: logs:StartQuery, "
        "logs:GetQueryResults, logs:StopQuery.",
    ]
    return "\n".join(lines) + "\n"


def explain_stats(
    args: argparse.Namespace, group: str, compiled: Compiled, since_us: int, until_us: int
) -> str:
    """What ``stats --cloudwatch --explain`` prints."""
    from tui.sources.aws.insights_ql import FALSE
    from tui.sources.aws.insights_stats import (
        reads_back,
        stats_queries,
        timeline_query,
        uncertain_query,
    )

    start_ms, end_ms = _ms_range(since_us, until_us)
    lines = [f"Logs Insights counts on {group}, {_iso_ms(start_ms)} to {_iso_ms(end_ms)}:"]
    for name, build in stats_queries(compiled).items():
        if name != "lines" and compiled.sure == FALSE:
            continue  # nothing is surely kept: every possible match is read back
        query = build(start_ms, end_ms)
        lines.append(f"{name}:")
        lines.extend(("  " if i == 0 else "  | ") + c for i, c in enumerate(query.commands))
    if compiled.sure != FALSE:
        query = timeline_query(compiled, 60_000)(start_ms, end_ms)
        lines.append("timeline (bin() of the bucket size the first and last times call for):")
        lines.extend(("  " if i == 0 else "  | ") + c for i, c in enumerate(query.commands))
    if reads_back(compiled):
        query = uncertain_query(compiled, args.row_limit)(start_ms, end_ms)
        lines.append("read and counted here (events Insights cannot decide):")
        lines.extend(("  " if i == 0 else "  | ") + c for i, c in enumerate(query.commands))
    lines += ["", *_explain_terms(compiled), "", *_explain_slices(args, since_us, until_us)]
    return "\n".join(lines) + "\n"
