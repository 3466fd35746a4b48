"""``stats`` over CloudWatch Logs, counted by Logs Insights with ``stats ... by``.

Five kinds of query run over every slice of the range: all events (the lines read), the
events the filter surely keeps grouped by type, auth context and path (``count(ts)`` tells
records from malformed lines, ``min``/``max`` of the stamp give first and last), the same
records grouped by client address, and by ARN, auth context and log stream (users, failed
authentications per user, instances), and last, once first and last are known, per
``bin()`` of the bucket size the local timeline would choose for that span, and auth
context (the timeline). The languages, auth outcomes, host keys and instance names are
derived here from the group keys, exactly as the parser and the index derive them. Events
the filter may keep but Insights cannot decide (an approximated term, a language the
payload must tell, a path in oddly quoted fields) are read, re-checked with the whole
filter and counted here; the totals say how many.

Reference: the ``stats`` command and ``bin()``,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Stats.html
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tui.index.stats import Timeline, bucket_size
from tui.model.fields import (
    absent,
    auth_succeeded,
    parse_auth_context,
    parse_host,
    timestamp_us,
)
from tui.model.parser import decode_entry_bytes, parse_entry
from tui.model.payload import LANGUAGES, SNIFF, language_for
from tui.model.record import AUTH_NAMES, Record
from tui.query.ast import Node
from tui.query.predicate import matches
from tui.sources.aws.cloudwatch import stream_file
from tui.sources.aws.insights import InsightsRunner, Row
from tui.sources.aws.insights_ql import (
    FALSE,
    RECORD,
    Compiled,
    Cond,
    QueryText,
    assemble,
    conj,
    countable,
    neg,
    rows_query,
)

TOP = 10
_WIDTHS = (19, 16, 13, 10)  # stamp widths: nanoseconds down to seconds
_NONE = ", "  # a group key no raw field can be (bare fields never hold ", ")


@dataclass
class Tally:
    """Counts as ``tui.index.stats.Stats`` has them, before ranking."""

    lines: int = 0
    records: int = 0
    malformed: int = 0
    first_us: int | None = None
    last_us: int | None = None
    by_type: Counter[str] = field(default_factory=Counter)
    by_lang: Counter[str] = field(default_factory=Counter)
    by_auth: Counter[str] = field(default_factory=Counter)
    clients: Counter[str] = field(default_factory=Counter)
    users: Counter[str] = field(default_factory=Counter)
    paths: Counter[str] = field(default_factory=Counter)
    instances: Counter[str] = field(default_factory=Counter)
    failed_users: Counter[str] = field(default_factory=Counter)
    timeline: Timeline | None = None
    #: Events read and counted here (possible matches Insights could not decide).
    checked_here: int = 0
    #: The time of each record counted here, and whether its authentication failed.
    checked_times: list[tuple[int, bool]] = field(default_factory=list)

    def seen(self, epoch_us: int | None) -> None:
        if epoch_us is None:
            return
        self.first_us = epoch_us if self.first_us is None else min(self.first_us, epoch_us)
        self.last_us = epoch_us if self.last_us is None else max(self.last_us, epoch_us)

    def record(
        self,
        count: int,
        conn_type: str | None,
        lang: str | None,
        auth_ok: bool | None,
        path: str | None,
    ) -> None:
        self.records += count
        if conn_type is not None:
            self.by_type[conn_type] += count
        self.by_lang[lang or "none"] += count
        self.by_auth[AUTH_NAMES[auth_ok]] += count
        if path is not None:
            self.paths[path] += count

    def as_stats(self) -> dict[str, Any]:
        """The keyword arguments of ``Stats``, ranked as ``compute_stats`` ranks them."""

        def ranked(counts: Counter[str]) -> list[tuple[str, int]]:
            return sorted(((k, v) for k, v in counts.items() if v), key=lambda kv: (-kv[1], kv[0]))

        order = ("none", *LANGUAGES)  # ties keep the index's language order
        by_lang = sorted(
            ((name, self.by_lang[name]) for name in order if self.by_lang[name]),
            key=lambda kv: -kv[1],
        )
        return {
            "lines": self.lines,
            "records": self.records,
            "malformed": self.malformed,
            "first_us": self.first_us,
            "last_us": self.last_us,
            "by_type": dict(ranked(self.by_type)),
            "by_lang": dict(by_lang),
            "by_auth": {name: self.by_auth[name] for name in AUTH_NAMES.values()},
            "top_clients": ranked(self.clients)[:TOP],
            "top_users": ranked(self.users)[:TOP],
            "top_paths": ranked(self.paths)[:TOP],
            "top_instances": ranked(self.instances)[:TOP],
            "failed_by_user": ranked(self.failed_users)[:TOP],
            "timeline": self.timeline,
        }


def _field(raw: str | None) -> str | None:
    """A group key as the parser reads the field: quotes undone, absent values None."""
    if raw is None or raw == _NONE:
        return None
    if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
        raw = raw[1:-1].replace('""', '"')
    return absent(raw)


def _counted(compiled: Compiled) -> tuple[Cond, tuple[str, ...]]:
    """The events Insights counts (those the filter surely keeps and whose type, path and
    language the group keys tell), and the parses that needs."""
    known, known_parses = countable()
    return conj(compiled.sure, known), (*compiled.parses, *known_parses)


def stats_queries(compiled: Compiled) -> dict[str, Callable[[int, int], QueryText]]:
    """Query builders per slice: ``lines``, ``groups``, ``clients``, ``users`` (the timeline
    waits for the first and last times: ``timeline_query``)."""
    sure, parses = _counted(compiled)
    widths = ", ".join(f"min(ts{w}) as first{w}, max(ts{w}) as last{w}" for w in _WIDTHS)
    groups_tail = (
        f'fields coalesce(ctype, "{_NONE}") as k_type, coalesce(auth, "{_NONE}") as k_auth, '
        f'coalesce(hpath, "{_NONE}") as k_hpath, coalesce(ppath, "{_NONE}") as k_ppath, '
        f'coalesce(ppq, "{_NONE}") as k_ppq, ts, ' + ", ".join(f"ts{w}" for w in _WIDTHS),
        f"stats count(*) as n, count(ts) as records, {widths} "
        "by k_type, k_auth, k_hpath, k_ppath, k_ppq",
    )
    records = conj(sure, RECORD)
    return {
        "lines": lambda a, b: assemble(conj(), (), a, b, ("stats count(*) as n",)),
        "groups": lambda a, b: assemble(sure, (*parses, "stamps"), a, b, groups_tail),
        "clients": lambda a, b: assemble(
            records,
            (*parses, "client"),
            a,
            b,
            ("fields coalesce(cv4, client) as k_client", "stats count(*) as n by k_client"),
        ),
        "users": lambda a, b: assemble(records, parses, a, b, _USERS_TAIL),
    }


_USERS_TAIL = (
    f'fields coalesce(arn, "{_NONE}") as k_arn, coalesce(auth, "{_NONE}") as k_auth, @logStream',
    "stats count(*) as n by k_arn, k_auth, @logStream",
)


def timeline_query(compiled: Compiled, bin_ms: int) -> Callable[[int, int], QueryText]:
    """Records counted in Insights per ``bin()`` of ``bin_ms`` and auth context."""
    sure, parses = _counted(compiled)
    tail = (
        f'fields @timestamp, coalesce(auth, "{_NONE}") as k_auth',
        f"stats count(*) as n by bin({_period(bin_ms)}) as bucket, k_auth",
    )
    return lambda a, b: assemble(conj(sure, RECORD), parses, a, b, tail)


def reads_back(compiled: Compiled) -> bool:
    """Whether some events the filter may keep must be read and counted here."""
    known, _ = countable()
    return conj(compiled.possible, neg(conj(compiled.sure, known))) != FALSE


def uncertain_query(compiled: Compiled, limit: int) -> Callable[[int, int], QueryText]:
    """The events the filter may keep but Insights does not count for sure."""
    known, known_parses = countable()
    narrowed = replace(
        compiled,
        sure=conj(compiled.sure, known),
        parses=tuple(dict.fromkeys((*compiled.parses, *known_parses))),
    )
    return lambda a, b: rows_query(narrowed, a, b, limit, "uncertain")


def add_groups(tally: Tally, rows: Iterable[Row]) -> None:
    """Counts from the ``groups`` rows."""
    for row in rows:
        total = int(float(row.get("n", "0") or 0))
        records = int(float(row.get("records", "0") or 0))
        tally.malformed += total - records
        if not records:
            continue
        conn_type = _field(row.get("k_type"))
        auth_text = _field(row.get("k_auth"))
        auth_ok = auth_succeeded(parse_auth_context(auth_text)) if auth_text is not None else None
        path: str | None = None
        hpath = row.get("k_hpath")
        if hpath not in (None, _NONE):
            path = str(hpath).replace('""', '"')
        elif conn_type in ("HTTP_GET", "HTTP_POST"):
            for key in ("k_ppath", "k_ppq"):
                if row.get(key) not in (None, _NONE):
                    path = str(row[key])
                    break
        lang = language_for(conn_type, path)
        assert lang != SNIFF, row  # such records are counted here, not grouped
        tally.record(records, conn_type, lang, auth_ok, path)
        for width in _WIDTHS:  # compared per width: a number of µs and one of ms differ
            for key in (f"first{width}", f"last{width}"):
                tally.seen(_stamp_us(row.get(key)))


def _stamp_us(value: str | None) -> int | None:
    """A ``min``/``max`` of the stamp digits in µs (Insights may write it as a number)."""
    if not value:
        return None
    digits = value.split(".")[0] if "e" not in value.lower() else f"{float(value):.0f}"
    return timestamp_us(digits) if digits.isdigit() else None


def add_clients(tally: Tally, rows: Iterable[Row]) -> None:
    for row in rows:
        raw = _field(row.get("k_client"))
        if raw is not None:
            tally.clients[parse_host(raw).key] += int(float(row.get("n", "0") or 0))


def _failed(auth_text: str | None) -> bool:
    """Whether an auth context (a group key) says the authentication failed."""
    return auth_text is not None and auth_succeeded(parse_auth_context(auth_text)) is False


def add_users(tally: Tally, rows: Iterable[Row], directory: Path) -> None:
    """Users, failed authentications per user and instances from the ``users`` rows (an
    instance is named by the directory its stream's file is written to, as locally)."""
    for row in rows:
        number = int(float(row.get("n", "0") or 0))
        stream = row.get("@logStream")
        if stream is not None:
            tally.instances[stream_file(directory, stream).parent.name] += number
        arn = _field(row.get("k_arn"))
        if arn is not None:
            tally.users[arn] += number
            if _failed(_field(row.get("k_auth"))):
                tally.failed_users[arn] += number


def add_checked(
    tally: Tally, rows: Iterable[Row], node: Node, directory: Path, newest_us: int
) -> None:
    """Events read back: re-checked with the whole filter and counted as the index would."""
    for row in rows:
        tally.checked_here += 1
        stream = row.get("@logStream", "stream")
        path = stream_file(directory, stream)
        text = decode_entry_bytes((row.get("@message", "").rstrip("\r\n") + "\n").encode())
        entry = parse_entry(text, source=str(path))
        event_us = int(float(row.get("ms", "0") or 0)) * 1000
        if isinstance(entry, Record):
            entry = replace(entry, instance=path.parent.name)
        epoch_us = entry.epoch_us if isinstance(entry, Record) else event_us
        if not matches(node, entry, text, epoch_us=epoch_us, newest_us=newest_us):
            continue
        if not isinstance(entry, Record):
            tally.malformed += 1
            continue
        tally.record(1, entry.conn_type, entry.lang, entry.auth_ok, entry.path)
        tally.seen(entry.epoch_us)
        tally.checked_times.append((entry.epoch_us, entry.auth_ok is False))
        tally.instances[path.parent.name] += 1
        if entry.client is not None:
            tally.clients[entry.client.key] += 1
        if entry.arn is not None:
            tally.users[entry.arn] += 1
            if entry.auth_ok is False:
                tally.failed_users[entry.arn] += 1


def count(
    runner: InsightsRunner,
    compiled: Compiled,
    node: Node,
    start_ms: int,
    end_ms: int,
    *,
    directory: Path,
    newest_us: int,
    buckets: int = 60,
) -> Tally:
    """The ``stats`` counts of ``[start_ms, end_ms]`` (``node``: the filter, ``last:``
    already made a time bound), mostly counted in AWS, with a timeline of at most
    ``buckets`` buckets."""
    tally = Tally()
    queries = stats_queries(compiled)
    for row in runner.collect(queries["lines"], start_ms, end_ms):
        tally.lines += int(float(row.get("n", "0") or 0))
    if compiled.sure != FALSE:
        add_groups(tally, runner.collect(queries["groups"], start_ms, end_ms))
        add_clients(tally, runner.collect(queries["clients"], start_ms, end_ms))
        add_users(tally, runner.collect(queries["users"], start_ms, end_ms), directory)
    if reads_back(compiled):
        for batch in runner.iter_rows(
            uncertain_query(compiled, runner.row_limit), start_ms, end_ms
        ):
            add_checked(tally, batch, node, directory, newest_us)
    tally.timeline = _timeline(runner, compiled, tally, start_ms, end_ms, buckets)
    return tally


def _timeline(
    runner: InsightsRunner,
    compiled: Compiled,
    tally: Tally,
    start_ms: int,
    end_ms: int,
    buckets: int,
) -> Timeline | None:
    """The timeline ``compute_stats`` would draw of the counted records: the same bucket
    size for the same first and last times, counted per ``bin()`` in Insights (the records
    read here are added to their buckets)."""
    first, last = tally.first_us, tally.last_us
    if first is None or last is None:
        return None
    size = bucket_size(max(last - first, 1), max(buckets, 1))
    start = first - first % size
    total = [0] * ((last - start) // size + 1)
    failed = [0] * len(total)

    def add(epoch_us: int, number: int, auth_failed: bool) -> None:
        slot = max(0, min(len(total) - 1, (epoch_us - start) // size))
        total[slot] += number
        if auth_failed:
            failed[slot] += number

    if compiled.sure != FALSE:
        rows = runner.collect(timeline_query(compiled, size // 1000), start_ms, end_ms)
        for row in rows:
            stamp = row.get("bucket", "")
            if stamp:
                number = int(float(row.get("n", "0") or 0))
                add(_millis(stamp) * 1000, number, _failed(_field(row.get("k_auth"))))
    for epoch_us, auth_failed in tally.checked_times:
        add(epoch_us, 1, auth_failed)
    return Timeline(start, size, tuple(total), tuple(failed))


def timeline(
    runner: InsightsRunner, compiled: Compiled, start_ms: int, end_ms: int, bin_ms: int
) -> dict[int, int]:
    """Records Insights counts (see ``timeline_query``) per ``bin_ms`` bucket, by the
    bucket's start in ms."""
    buckets: Counter[int] = Counter()
    for row in runner.collect(timeline_query(compiled, bin_ms), start_ms, end_ms):
        stamp = row.get("bucket", "")
        if stamp:
            buckets[_millis(stamp) // bin_ms * bin_ms] += int(float(row.get("n", "0") or 0))
    return dict(sorted(buckets.items()))


def _period(bin_ms: int) -> str:
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if bin_ms % size == 0:
            return f"{bin_ms // size}{unit}"
    return f"{bin_ms}ms"


def _millis(stamp: str) -> int:
    """``2026-11-24 08:15:00.000`` (how Insights writes times) in epoch ms."""
    moment = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
