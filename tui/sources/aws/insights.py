"""Running Logs Insights queries over long ranges: time slices run concurrently, split when
they hit the row limit, results handed on in time order; StopQuery when cancelled.

Logs Insights scans in parallel inside AWS and charges per GB scanned, but one query returns
at most 10,000 rows, an account runs at most 30 queries at once, and a query times out after
60 minutes. ``InsightsRunner`` cuts a range into slices and keeps up to ``concurrency``
queries running. A slice whose query matched more events than it returned keeps the rows
before its last millisecond and queues the rest, cut by the number still to read, so nothing
is silently dropped (more matches than a query returns in one millisecond is an error). A
LimitExceededException (the account's queries are busy) queues the slice again, with fewer
at once; a query Insights timed out is split in two. Every state change is reported to
``on_progress`` with the slice's statistics (``bytesScanned`` is what AWS charges for), and
setting ``cancel`` (or Ctrl-C) stops the running queries with StopQuery.

The viewer runs this in a worker thread: ``iter_rows`` yields the matching events of each
finished stretch of time, oldest first; ``fetch_lines`` reads events by their ``@ptr``.

Reference: StartQuery, GetQueryResults, StopQuery and GetLogRecord in the CloudWatch Logs API
(https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/), and the quotas in
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from tui.model.text import inert
from tui.sources.aws.insights_ql import QueryText
from tui.sources.aws.session import AwsError, error_code, explain

#: Rows one query returns at most (StartQuery's ``limit``).
ROW_LIMIT = 10_000
#: Queries an account may run at once (the default quota); we use fewer by default.
MAX_CONCURRENCY = 30
DEFAULT_CONCURRENCY = 10
#: Insights ends a query after 60 minutes; we wait a little longer before stopping it.
QUERY_TIMEOUT_S = 65 * 60
#: How long to keep retrying while the account's queries are all busy.
BUSY_TIMEOUT_S = 15 * 60
#: The public price of Logs Insights per GB scanned (us-east-1), in USD.
PRICE_PER_GB = 0.005

SliceState = Literal["queued", "running", "done", "split", "failed", "cancelled"]
Row = dict[str, str]


@dataclass(frozen=True, order=True)
class Slice:
    """A stretch of time ``[start_ms, end_ms]`` (both included) queried as one."""

    start_ms: int
    end_ms: int
    ident: int = field(compare=False)
    parent: int | None = field(default=None, compare=False)

    @property
    def width_ms(self) -> int:
        return self.end_ms - self.start_ms + 1


@dataclass
class SliceProgress:
    """What is known of one slice (reported at every change)."""

    slice: Slice
    state: SliceState
    rows: int = 0
    records_matched: float = 0.0
    records_scanned: float = 0.0
    bytes_scanned: float = 0.0
    query_id: str | None = None
    note: str = ""


class InsightsCancelled(AwsError):
    """The caller cancelled: the running queries were stopped."""


@dataclass
class _Job:
    """One query of one slice (``build`` writes it for any slice: halves too)."""

    slice: Slice
    build: Callable[[int, int], QueryText]
    started: float = 0.0
    query_id: str | None = None
    query: QueryText = field(init=False)

    def __post_init__(self) -> None:
        self.query = self.build(self.slice.start_ms, self.slice.end_ms)

    def __lt__(self, other: _Job) -> bool:
        return self.slice < other.slice

    def on(self, piece: Slice) -> _Job:
        """The same query on another slice."""
        return _Job(piece, self.build)


@dataclass
class Totals:
    """Everything the runner's queries cost so far."""

    queries: int = 0
    bytes_scanned: float = 0.0
    records_scanned: float = 0.0
    records_matched: float = 0.0
    splits: int = 0
    busy_retries: int = 0
    slices_done: int = 0

    def cost(self, price_per_gb: float = PRICE_PER_GB) -> float:
        """What the scanned bytes cost at ``price_per_gb`` (USD per 10^9 bytes)."""
        return self.bytes_scanned / 1e9 * price_per_gb


def plan_slices(start_ms: int, end_ms: int, concurrency: int) -> list[Slice]:
    """``[start_ms, end_ms]`` cut into equal slices: hours, at most four per query slot."""
    width = max(1, end_ms - start_ms + 1)
    count = max(1, min(4 * max(1, concurrency), math.ceil(width / 3_600_000)))
    bounds = [start_ms + (width * i) // count for i in range(count + 1)]
    return [
        Slice(bounds[i], bounds[i + 1] - 1, i) for i in range(count) if bounds[i + 1] > bounds[i]
    ]


class InsightsRunner:
    """Runs slice queries on one log group (``logs``: a boto3 CloudWatch Logs client).

    ``query_for(start_ms, end_ms)`` builds a slice's query; ``describe_term(offset, query)``
    names the filter term at an offset of a query Insights rejected.
    """

    def __init__(
        self,
        logs: Any,
        log_group: str,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        row_limit: int = ROW_LIMIT,
        poll_s: float = 1.0,
        query_timeout_s: float = QUERY_TIMEOUT_S,
        busy_timeout_s: float = BUSY_TIMEOUT_S,
        on_progress: Callable[[SliceProgress], None] | None = None,
        cancel: threading.Event | None = None,
        describe_term: Callable[[QueryText, int], str] | None = None,
    ) -> None:
        self.logs = logs
        self.log_group = log_group
        self.max_concurrency = max(1, min(MAX_CONCURRENCY, concurrency))
        self.concurrency = self.max_concurrency
        self.row_limit = max(1, min(ROW_LIMIT, row_limit))
        self.poll_s = poll_s
        self.query_timeout_s = query_timeout_s
        self.busy_timeout_s = busy_timeout_s
        self.on_progress = on_progress
        self.cancel = cancel if cancel is not None else threading.Event()
        self.describe_term = describe_term
        self.totals = Totals()
        self.notes: list[str] = []
        self._next_ident = 0
        self._lock = threading.Lock()

    # -- public -------------------------------------------------------------------------------

    def plan(self, start_ms: int, end_ms: int) -> list[Slice]:
        """The first slices of a range (more appear when one is split)."""
        slices = plan_slices(start_ms, end_ms, self.max_concurrency)
        self._next_ident = max(self._next_ident, len(slices))
        return slices

    def iter_rows(
        self, query_for: Callable[[int, int], QueryText], start_ms: int, end_ms: int
    ) -> Iterator[list[Row]]:
        """The events the slice queries return, a batch per finished stretch of time, in time
        order (within a batch, as Insights sorted them: by time). The queries must sort by
        ``ms`` ascending and return at most ``row_limit`` rows."""
        segments: list[_Segment] = [_Segment(s) for s in self.plan(start_ms, end_ms)]
        jobs = [_Job(segment.slice, query_for) for segment in segments]

        def finished(job: _Job, rows: list[Row], matched: float | None) -> list[_Job]:
            index = next(i for i, seg in enumerate(segments) if seg.slice is job.slice)
            complete = matched is not None and matched <= len(rows)
            if matched is None:
                complete = len(rows) < self.row_limit
            if complete:
                segments[index].rows = rows
                return []
            last_ms = int(float(rows[-1]["ms"])) if rows else job.slice.start_ms
            if last_ms <= job.slice.start_ms:
                raise AwsError(
                    f"more than {self.row_limit:,} events match in one millisecond "
                    f"({_iso(job.slice.start_ms)}) of {self.log_group}: a Logs Insights query "
                    "returns at most that many, so they cannot all be read; narrow the filter"
                )
            kept = [row for row in rows if int(float(row["ms"])) < last_ms]
            done = _Segment(Slice(job.slice.start_ms, last_ms - 1, self._ident(), job.slice.ident))
            done.rows = kept
            remaining = max(1.0, (matched or len(rows) * 2) - len(kept))
            pieces = self._cut(last_ms, job.slice.end_ms, remaining, job.slice.ident)
            segments[index : index + 1] = [done, *(_Segment(p) for p in pieces)]
            self.totals.splits += 1
            self._report(job.slice, "split", len(rows), note=f"{len(pieces)} more slices")
            return [job.on(piece) for piece in pieces]

        def halved(job: _Job, halves: list[Slice]) -> None:
            index = next(i for i, seg in enumerate(segments) if seg.slice is job.slice)
            segments[index : index + 1] = [_Segment(half) for half in halves]

        for _ in self._run(jobs, finished, halved):
            while segments and segments[0].rows is not None:
                batch = segments.pop(0).rows
                assert batch is not None
                if batch:
                    yield batch
        for segment in segments:
            if segment.rows:
                yield segment.rows

    def collect(
        self, query_for: Callable[[int, int], QueryText], start_ms: int, end_ms: int
    ) -> list[Row]:
        """The rows of a ``stats`` query over the range, slice by slice (a slice whose
        groups reach the row limit is split in two and asked again): callers add them up."""
        collected: list[Row] = []
        jobs = [_Job(piece, query_for) for piece in self.plan(start_ms, end_ms)]

        def finished(job: _Job, rows: list[Row], matched: float | None) -> list[_Job]:
            if len(rows) < self.row_limit:
                collected.extend(rows)
                return []
            if job.slice.width_ms < 2:
                raise AwsError(
                    f"more than {self.row_limit:,} groups in one millisecond of "
                    f"{self.log_group}: the counts cannot be read from Logs Insights"
                )
            middle = job.slice.start_ms + job.slice.width_ms // 2
            halves = [
                Slice(job.slice.start_ms, middle - 1, self._ident(), job.slice.ident),
                Slice(middle, job.slice.end_ms, self._ident(), job.slice.ident),
            ]
            self.totals.splits += 1
            self._report(job.slice, "split", len(rows), note="too many groups: halved")
            return [job.on(half) for half in halves]

        for _ in self._run(jobs, finished):
            pass
        return collected

    def first_rows(
        self, query_for: Callable[[int, int], QueryText], start_ms: int, end_ms: int
    ) -> list[Row]:
        """The rows of the newest slice that returns any, trying slices newest first (for
        the newest record: most ranges end with records, so one slice is scanned)."""
        for piece in reversed(self.plan(start_ms, end_ms)):
            found: list[Row] = []

            def finished(
                job: _Job, rows: list[Row], matched: float | None, found: list[Row] = found
            ) -> list[_Job]:
                found.extend(rows)
                return []

            for _ in self._run([_Job(piece, query_for)], finished):
                pass
            if found:
                return found
        return []

    def stop(self) -> None:
        """Cancel: running queries are stopped and the iteration raises InsightsCancelled."""
        self.cancel.set()

    # -- the loop -----------------------------------------------------------------------------

    def _ident(self) -> int:
        with self._lock:
            self._next_ident += 1
            return self._next_ident

    def _cut(self, start_ms: int, end_ms: int, remaining: float, parent: int) -> list[Slice]:
        """``[start_ms, end_ms]`` in as many pieces as ``remaining`` rows need."""
        width = end_ms - start_ms + 1
        count = max(2, math.ceil(remaining * 1.25 / self.row_limit))
        count = min(count, width, 64)
        bounds = [start_ms + (width * i) // count for i in range(count + 1)]
        return [
            Slice(bounds[i], bounds[i + 1] - 1, self._ident(), parent)
            for i in range(count)
            if bounds[i + 1] > bounds[i]
        ]

    def _report(
        self,
        piece: Slice,
        state: SliceState,
        rows: int = 0,
        statistics: dict[str, float] | None = None,
        query_id: str | None = None,
        note: str = "",
    ) -> None:
        if self.on_progress is None:
            return
        stats = statistics or {}
        self.on_progress(
            SliceProgress(
                piece,
                state,
                rows,
                stats.get("recordsMatched", 0.0),
                stats.get("recordsScanned", 0.0),
                stats.get("bytesScanned", 0.0),
                query_id,
                note,
            )
        )

    def _run(
        self,
        jobs: list[_Job],
        finished: Callable[[_Job, list[Row], float | None], list[_Job]],
        split: Callable[[_Job, list[Slice]], None] | None = None,
    ) -> Iterator[None]:
        """Run jobs (and those their answers add) with at most ``concurrency`` queries at a
        time, oldest slices first; yields after each finished query. A query Insights timed
        out is asked again on the halves of its slice (``split`` is told)."""
        pending = sorted(jobs)
        running: dict[str, _Job] = {}
        retry_at = 0.0
        busy_since: float | None = None
        backoff = 1.0
        try:
            for job in pending:
                self._report(job.slice, "queued")
            while pending or running:
                if self.cancel.is_set():
                    raise InsightsCancelled(
                        f"cancelled: stopped {len(running)} running Logs Insights queries"
                    )
                now = time.monotonic()
                while pending and len(running) < self.concurrency and now >= retry_at:
                    job = pending[0]
                    try:
                        query_id = self._start(job)
                    except _Busy:
                        busy_since = busy_since or now
                        if now - busy_since > self.busy_timeout_s:
                            raise AwsError(
                                "too many concurrent Logs Insights queries in this account "
                                f"(LimitExceededException) for {self.busy_timeout_s / 60:.0f} "
                                "minutes: wait for other queries to end, or lower --concurrency"
                            ) from None
                        self.totals.busy_retries += 1
                        self.concurrency = max(1, len(running))
                        retry_at = now + backoff
                        backoff = min(backoff * 2, 30.0)
                        break
                    pending.pop(0)
                    busy_since = None
                    backoff = 1.0
                    job.query_id = query_id
                    job.started = now
                    running[query_id] = job
                    self._report(job.slice, "running", query_id=query_id)
                progressed = False
                for query_id, job in list(running.items()):
                    answer = self._results(query_id)
                    status = str(answer.get("status", ""))
                    statistics = {k: float(v) for k, v in (answer.get("statistics") or {}).items()}
                    if status in ("Running", "Scheduled", "Unknown", ""):
                        if time.monotonic() - job.started > self.query_timeout_s:
                            raise AwsError(
                                f"a Logs Insights query ran longer than "
                                f"{self.query_timeout_s / 60:.0f} minutes and was stopped"
                            )
                        self._report(job.slice, "running", 0, statistics, query_id)
                        continue
                    del running[query_id]
                    progressed = True
                    self._count(statistics)
                    if status == "Complete":
                        rows = self._all_rows(query_id, answer)
                        matched = statistics.get("recordsMatched")
                        self._report(job.slice, "done", len(rows), statistics, query_id)
                        self.totals.slices_done += 1
                        for added in finished(job, rows, matched):
                            bisect.insort(pending, added)
                            self._report(added.slice, "queued")
                        if self.concurrency < self.max_concurrency:
                            self.concurrency += 1
                    elif status == "Timeout" and job.slice.width_ms >= 2_000:
                        middle = job.slice.start_ms + job.slice.width_ms // 2
                        halves = [
                            Slice(job.slice.start_ms, middle - 1, self._ident(), job.slice.ident),
                            Slice(middle, job.slice.end_ms, self._ident(), job.slice.ident),
                        ]
                        self.totals.splits += 1
                        self._report(job.slice, "split", note="timed out in AWS: halved")
                        if split is not None:
                            split(job, halves)
                        for half in halves:
                            bisect.insort(pending, job.on(half))
                            self._report(half, "queued")
                    else:
                        raise self._ended(status, job)
                if progressed:
                    yield None
                elif running or pending:
                    self.cancel.wait(self.poll_s if running else max(0.0, retry_at - now))
        finally:
            self._stop_all(running)

    def _ended(self, status: str, job: _Job) -> AwsError:
        if status == "Timeout":
            return AwsError(
                "a Logs Insights query timed out (Insights stops queries after 60 minutes), "
                f"even on {job.slice.width_ms / 1000:,.0f} s of {self.log_group}"
            )
        if status == "Cancelled":
            return AwsError(
                "a Logs Insights query was cancelled by someone else (StopQuery) before it ended"
            )
        return AwsError(f"a Logs Insights query ended as {status or 'unknown'} in AWS")

    def _count(self, statistics: dict[str, float]) -> None:
        with self._lock:
            self.totals.bytes_scanned += statistics.get("bytesScanned", 0.0)
            self.totals.records_scanned += statistics.get("recordsScanned", 0.0)
            self.totals.records_matched += statistics.get("recordsMatched", 0.0)

    def _start(self, job: _Job) -> str:
        try:
            answer = self.logs.start_query(
                logGroupName=self.log_group,
                startTime=job.slice.start_ms // 1000,
                endTime=job.slice.end_ms // 1000,
                queryString=job.query.text,
                limit=self.row_limit,
            )
        except Exception as error:
            code = error_code(error)
            if code == "LimitExceededException":
                raise _Busy() from error
            if code == "MalformedQueryException":
                raise self._malformed(error, job.query) from error
            raise explain(error, subject=f"log group {self.log_group}", resumable=False) from error
        with self._lock:
            self.totals.queries += 1
        return str(answer["queryId"])

    def _malformed(self, error: Exception, query: QueryText) -> AwsError:
        """MalformedQueryException: our compiler wrote something Insights cannot read."""
        response = getattr(error, "response", {}) or {}
        compile_error = response.get("queryCompileError") or {}
        location = compile_error.get("location") or {}
        offset = location.get("startCharOffset")
        message = compile_error.get("message") or response.get("Error", {}).get("Message", "")
        term = ""
        if isinstance(offset, int) and self.describe_term is not None:
            term = self.describe_term(query, offset)
        where = f" at offset {offset}" if isinstance(offset, int) else ""
        about = f" from the filter term {term}" if term else ""
        return AwsError(
            f"Logs Insights rejected the query compiled{about} (a bug in neptune-audit, not in "
            f"your filter: please report it): {inert(str(message))}{where} in: "
            f"{inert(query.text)}"
        )

    def _results(self, query_id: str) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = self.logs.get_query_results(queryId=query_id)
        except Exception as error:
            raise explain(error, subject=f"log group {self.log_group}", resumable=False) from error
        return answer

    def _all_rows(self, query_id: str, answer: dict[str, Any]) -> list[Row]:
        """The rows of a finished query (following ``nextToken`` where the API pages)."""
        rows = [_row(cells) for cells in answer.get("results", [])]
        token = answer.get("nextToken")
        while token:
            try:
                page = self.logs.get_query_results(queryId=query_id, nextToken=token)
            except Exception as error:
                raise explain(
                    error, subject=f"log group {self.log_group}", resumable=False
                ) from error
            rows.extend(_row(cells) for cells in page.get("results", []))
            token = page.get("nextToken") if page.get("nextToken") != token else None
        return rows

    def _stop_all(self, running: dict[str, _Job]) -> None:
        """StopQuery every query still running (they would go on costing)."""
        denied = 0
        for query_id, job in running.items():
            try:
                self.logs.stop_query(queryId=query_id)
            except Exception as error:
                if error_code(error) in ("AccessDenied", "AccessDeniedException"):
                    denied += 1
            self._report(job.slice, "cancelled", query_id=query_id)
        if denied:
            self.notes.append(
                f"{denied} Logs Insights queries could not be stopped (allow logs:StopQuery): "
                "they run on in AWS until they end"
            )


class _Busy(Exception):
    """StartQuery said LimitExceededException."""


@dataclass
class _Segment:
    """A stretch of time of ``iter_rows``: its rows once its query finished."""

    slice: Slice
    rows: list[Row] | None = None


def _row(cells: Sequence[dict[str, Any]]) -> Row:
    return {str(c.get("field")): str(c.get("value", "")) for c in cells if c.get("field")}


def _iso(epoch_ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_ms / 1000)) + (
        f".{epoch_ms % 1000:03d}Z"
    )


def fetch_lines(logs: Any, pointers: Sequence[str], log_group: str = "") -> list[str]:
    """The full messages of events by their ``@ptr`` (GetLogRecord), in the same order: for
    a viewer that lists matches from a narrow query and shows a line when it is opened."""
    messages: list[str] = []
    for pointer in pointers:
        try:
            answer = logs.get_log_record(logRecordPointer=pointer)
        except Exception as error:
            raise explain(
                error, subject=f"log group {log_group}" if log_group else "", resumable=False
            ) from error
        messages.append(str((answer.get("logRecord") or {}).get("@message", "")))
    return messages
