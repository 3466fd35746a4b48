"""``stats`` over CloudWatch Logs, counted by Logs Insights with ``stats ... by``.

Four kinds of query run over every slice of the range: all events (the lines read), the
events the filter surely keeps grouped by type, auth context and path (``count(ts)`` tells
records from malformed lines, ``min``/``max`` of the stamp give first and last), and the
same events grouped by client address and by ARN for the top lists. The languages, auth
outcomes and host keys are derived here from the group keys, exactly as the parser derives
them. Events the filter may keep but Insights cannot decide (an approximated term, a
language the payload must tell, a path in oddly quoted fields) are read, re-checked with
the whole filter and counted here; the totals say how many. ``timeline`` counts matches per
``bin()`` for an overview.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

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
    #: Events read and counted here (possible matches Insights could not decide).
    checked_here: int = 0

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
        }


def _field(raw: str | None) -> str | None:
    """A group key as the parser reads the field: quotes undone, absent values None."""
    if raw is None or raw == _NONE:
        return None
    if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
        raw = raw[1:-1].replace('""', '"')
    return absent(raw)


def stats_queries(compiled: Compiled) -> dict[str, Callable[[int, int], QueryText]]:
    """Query builders per slice: ``lines``, ``groups``, ``clients``, ``users``."""
    known, known_parses = countable()
    sure = conj(compiled.sure, known)
    parses = (*compiled.parses, *known_parses)
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
        "users": lambda a, b: assemble(records, parses, a, b, ("stats count(*) as n by arn",)),
    }


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


def add_users(tally: Tally, rows: Iterable[Row]) -> None:
    for row in rows:
        arn = _field(row.get("arn"))
        if arn is not None:
            tally.users[arn] += int(float(row.get("n", "0") or 0))


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
        if entry.client is not None:
            tally.clients[entry.client.key] += 1
        if entry.arn is not None:
            tally.users[entry.arn] += 1


def count(
    runner: InsightsRunner,
    compiled: Compiled,
    node: Node,
    start_ms: int,
    end_ms: int,
    *,
    directory: Path,
    newest_us: int,
) -> Tally:
    """The ``stats`` counts of ``[start_ms, end_ms]`` (``node``: the filter, ``last:``
    already made a time bound), mostly counted in AWS."""
    tally = Tally()
    queries = stats_queries(compiled)
    for row in runner.collect(queries["lines"], start_ms, end_ms):
        tally.lines += int(float(row.get("n", "0") or 0))
    if compiled.sure != FALSE:
        add_groups(tally, runner.collect(queries["groups"], start_ms, end_ms))
        add_clients(tally, runner.collect(queries["clients"], start_ms, end_ms))
        add_users(tally, runner.collect(queries["users"], start_ms, end_ms))
    known, _ = countable()
    if conj(compiled.possible, neg(conj(compiled.sure, known))) != FALSE:
        for batch in runner.iter_rows(
            uncertain_query(compiled, runner.row_limit), start_ms, end_ms
        ):
            add_checked(tally, batch, node, directory, newest_us)
    return tally


def timeline(
    runner: InsightsRunner, compiled: Compiled, start_ms: int, end_ms: int, bin_ms: int
) -> dict[int, int]:
    """Events the filter surely keeps, per ``bin_ms`` bucket (by the bucket's start in ms),
    counted with ``stats count(*) by bin()``: the viewer's overview histogram."""
    period = _period(bin_ms)
    tail = (f"stats count(*) as n by bin({period}) as bucket",)
    rows = runner.collect(
        lambda a, b: assemble(compiled.sure, compiled.parses, a, b, tail), start_ms, end_ms
    )
    buckets: Counter[int] = Counter()
    for row in rows:
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
    from datetime import UTC, datetime

    moment = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
