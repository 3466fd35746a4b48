"""Command line: ``neptune-audit [view|query|stats|demo] ...``.

Arguments become sources and a filter; then either the viewer runs or a headless command
prints its result. Every failure a user can cause ends with a one-line message on stderr
and exit code 2, never a traceback. A headless command that finished but could not read
some records (a file changed while it was read, a damaged ``.gz``, an input cut at the
expansion limit) says which file and how many on stderr and exits with code 3.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import select
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

import numpy as np

from tui import __version__
from tui.cli.export import TableWriter, Writer, make_writer, stats_object, stats_text
from tui.index.index import Index
from tui.index.schema import KIND_MALFORMED
from tui.index.stats import Stats, compute_stats
from tui.model.record import Malformed, Record
from tui.model.text import inert_line
from tui.query.errors import FilterError
from tui.sources import Background
from tui.sources.files import FileReader
from tui.sources.local import LogFile, Progress, SourceError, Stream, expand_paths, load

if TYPE_CHECKING:
    from tui.cli.aws import InsightsView
    from tui.index.filtering import FilterResult
    from tui.query.ast import Node
    from tui.sources.cache import IndexCache

COMMANDS = ("view", "query", "stats", "demo", "fetch", "cache")
EXIT_USAGE = 2
#: The command finished, but some records could not be read (stderr says where).
EXIT_INCOMPLETE = 3
#: How long closing the viewer waits for a Logs Insights run to stop its queries.
_REMOTE_STOP_S = 15.0


class UsageError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""


def _columns(fallback: int = 80) -> int:
    """``shutil.get_terminal_size((fallback, ...)).columns`` without importing shutil (with
    bz2 and lzma, 2 ms of a 0.1 s start): ``$COLUMNS``, else the terminal's, else
    ``fallback``."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else fallback


class _Formatter(argparse.HelpFormatter):
    """argparse's help at the terminal's width (``_columns``: argparse would import
    ``shutil`` for every argument)."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=_columns() - 2)


class _Parser(argparse.ArgumentParser):
    """argparse with its errors in one line, as the program's own errors are; the
    program's parser knows its commands' parsers."""

    commands: dict[str, argparse.ArgumentParser]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see '{self.prog} --help')\n")


def build_parser(only: str | None = None) -> _Parser:
    """The argument parser for every command, or for ``only`` that one (a lighter start:
    the others' arguments take milliseconds to build)."""
    parser = _Parser(
        prog="neptune-audit",
        description="Read Amazon Neptune audit logs: merged, parsed, filterable.",
        epilog="Run 'neptune-audit COMMAND --help' for a command's options. "
        "Without a command, 'view' is assumed.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def paths_and_filter(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "paths", nargs="*", metavar="PATH", help="log files, directories or glob patterns"
        )
        sub.add_argument(
            "-f",
            "--filter",
            default="",
            metavar="EXPR",
            help="filter expression; one that starts with '-' (-f -path:/status) works too",
        )
        sub.add_argument(
            "--show-secrets",
            action="store_true",
            help="show credentials from the logs in clear (they are masked by default)",
        )
        no_cache(sub)

    def aws_sources(sub: argparse.ArgumentParser) -> None:
        group = sub.add_argument_group("logs from AWS")
        group.add_argument("--cluster", help="a Neptune cluster: its audit logs from AWS")
        group.add_argument(
            "--instance", action="append", default=[], help="only this instance (repeatable)"
        )
        group.add_argument("--dir", type=Path, help="keep downloads here (default: XDG cache)")
        group.add_argument(
            "--cloudwatch", action="store_true", help="read the CloudWatch Logs export instead"
        )
        group.add_argument("--log-group", help="with --cloudwatch: this log group")
        group.add_argument(
            "--since", default="1h", help="with --cloudwatch: from (2h, ISO, epoch; default 1h)"
        )
        group.add_argument("--until", help="with --cloudwatch: to (default now)")
        add_aws_arguments(sub)

    if only in (None, "view"):
        view = commands.add_parser("view", help="open the viewer (the default command)")
        paths_and_filter(view)
        view.add_argument(
            "--follow", action="store_true", help="follow the files as they grow, rotate and appear"
        )
        view.add_argument(
            "--interval", type=float, default=5.0, help="with --cluster --follow: poll every N s"
        )
        view.add_argument(
            "--no-session",
            action="store_true",
            help="start clean: do not restore (or save) the filter, marks and cursor of last time",
        )
        aws_sources(view)
        insights_arguments(view, query_command=True)

    if only in (None, "query"):
        query = commands.add_parser("query", help="print matching records in time order")
        paths_and_filter(query)
        query.add_argument(
            "--format",
            choices=("table", "csv", "jsonl"),
            default="table",
            help="a plain-text table (default), CSV or JSON Lines",
        )
        query.add_argument(
            "--malformed",
            action="store_true",
            help="also print malformed entries, after the records",
        )
        query.add_argument("--limit", type=int, metavar="N", help="print at most N records")
        query.add_argument(
            "--csv-raw",
            action="store_true",
            help="with --format csv: no ' before cells a spreadsheet would run as formulas",
        )
        query.add_argument(
            "--follow",
            action="store_true",
            help="after the last --backlog records, print matching records as they arrive",
        )
        query.add_argument(
            "--backlog",
            type=int,
            default=10,
            metavar="N",
            help="with --follow: matching records already there to print first (default 10)",
        )
        query.add_argument("--interval", type=float, default=0.25, help=argparse.SUPPRESS)
        aws_sources(query)
        insights_arguments(query, query_command=True)

    if only in (None, "stats"):
        stats = commands.add_parser("stats", help="print counts for the records (or matching ones)")
        paths_and_filter(stats)
        stats.add_argument(
            "--format",
            choices=("table", "json"),
            default="table",
            help="plain text (default) or one JSON object",
        )
        stats.add_argument(
            "--shapes",
            action="store_true",
            help="also count operations (read, write, delete...) and query shapes "
            "(parses each distinct query: about 10 µs a record)",
        )
        aws_sources(stats)
        insights_arguments(stats)

    if only in (None, "fetch"):
        fetch = commands.add_parser(
            "fetch", help="download a cluster's audit logs (again: only what is new)"
        )
        fetch.add_argument("--cluster", help="the Neptune cluster (its writer and readers)")
        fetch.add_argument(
            "--instance", action="append", default=[], metavar="ID", help="an instance (repeatable)"
        )
        fetch.add_argument("--dir", type=Path, help="where to keep the files (default: XDG cache)")
        fetch.add_argument("--workers", type=int, default=4, help=argparse.SUPPRESS)
        no_cache(fetch)
        add_aws_arguments(fetch)

    if only in (None, "cache"):
        cache = commands.add_parser("cache", help="show or clear the persistent index")
        what = cache.add_mutually_exclusive_group()
        what.add_argument("--info", action="store_true", help="where it is and what it holds")
        what.add_argument("--clear", action="store_true", help="remove every entry")

    if only in (None, "demo"):
        demo = commands.add_parser("demo", help="write or view realistic sample logs")
        demo.add_argument("--write", type=Path, metavar="DIR", help="write the sample logs to DIR")
        demo.add_argument("--records", type=int, default=20_000, metavar="N")
        demo.add_argument("--seed", type=int, default=1, metavar="S")
        demo.add_argument(
            "--rate",
            type=float,
            default=4.0,
            metavar="R",
            help="records per second appended while the viewer runs (0: none)",
        )

    parser.commands = dict(commands.choices)
    return parser


def no_cache(sub: argparse.ArgumentParser) -> None:
    """``--no-cache``: neither use nor update the persistent index."""
    sub.add_argument(
        "--no-cache",
        action="store_true",
        help="index every file afresh and keep nothing (see 'neptune-audit cache')",
    )


def index_cache(args: argparse.Namespace) -> IndexCache | None:
    """The persistent index, unless the command says ``--no-cache``."""
    if getattr(args, "no_cache", False):
        return None
    from tui.sources.cache import IndexCache  # only when used: a lighter start-up

    return IndexCache()


def insights_arguments(sub: argparse.ArgumentParser, *, query_command: bool = False) -> None:
    """Options of ``--cloudwatch`` runs through CloudWatch Logs Insights."""
    group = sub.add_argument_group("CloudWatch Logs Insights (with --cloudwatch)")
    if query_command:
        group.add_argument(
            "--insights",
            action="store_true",
            help="filter in Logs Insights (the default for ranges over a day)",
        )
    group.add_argument(
        "--explain",
        action="store_true",
        help="print the Logs Insights queries, the slices and the terms checked here; run nothing",
    )
    group.add_argument(
        "--concurrency",
        type=int,
        default=10,
        metavar="N",
        help="Logs Insights queries at a time (1-30, default 10)",
    )
    group.add_argument(
        "--row-limit",
        type=int,
        default=10_000,
        metavar="N",
        help="rows a query may return before its slice is split (default 10000)",
    )
    group.add_argument(
        "--price-per-gb",
        type=float,
        default=0.005,
        metavar="USD",
        help="Logs Insights price per GB scanned, for the cost estimate (default 0.005)",
    )


def add_aws_arguments(parser: argparse.ArgumentParser) -> None:
    """--region, --profile, --endpoint-url (defined here: boto3 loads only when used)."""
    group = parser.add_argument_group("AWS")
    group.add_argument("--region", help="AWS region (default: the boto3 chain)")
    group.add_argument("--profile", help="AWS profile (default: the boto3 chain)")
    group.add_argument(
        "--endpoint-url", help="use this endpoint (AWS_ENDPOINT_URL* are honoured too)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or (
        args_list[0] not in COMMANDS and args_list[0] not in ("-h", "--help", "--version")
    ):
        args_list.insert(0, "view")
    args_list = attach_filter_values(args_list)
    parser = build_parser(args_list[0] if args_list[0] in COMMANDS else None)
    args, unknown = parser.parse_known_args(args_list)
    if unknown:  # told by the command they were given to, not by the program
        command = parser.commands.get(args.command, parser)
        command.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return _dispatch(args)
    except UsageError as error:  # named after the command, as argparse's own errors are
        _fail(str(error), parser.commands.get(args.command, parser).prog)
    except SourceError as error:
        _fail(str(error))
    except FilterError as error:
        _fail(f"bad filter: {error.describe()}")
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except MemoryError:
        _fail("out of memory (allow more memory, or read fewer files)")
    except OSError as error:  # a resource error not tied to one input
        where = f"{error.filename}: " if error.filename else ""
        _fail(f"{where}{error.strerror or error}")
    return EXIT_USAGE


_OPTION_LIKE = re.compile(r"-[A-Za-z]|--[A-Za-z][\w-]*(=.*)?")


def attach_filter_values(args: list[str]) -> list[str]:
    """Join ``-f -path:/status`` into ``-f=-path:/status``: argparse would take an exclusion
    for an unknown option, and excluding is what people filter with most."""
    joined: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            return joined + args[index:]
        following = args[index + 1] if index + 1 < len(args) else None
        if (
            arg in ("-f", "--filter")
            and following is not None
            and following.startswith("-")
            and following != "--"
            and not _OPTION_LIKE.fullmatch(following)
        ):
            joined.append(f"{arg}={following}")
            index += 2
            continue
        joined.append(arg)
        index += 1
    return joined


def _cache_command(args: argparse.Namespace, out: IO[str]) -> int:
    """``neptune-audit cache``: what the persistent index holds, or clear it."""
    from tui.sources.cache import IndexCache

    cache = IndexCache()
    if args.clear:
        removed = cache.clear()
        print(f"removed {removed:,} cached {'file' if removed == 1 else 'files'}", file=out)
        return 0
    info = cache.info()
    print(inert_line(f"{info.directory}"), file=out)
    print(
        f"{info.entries:,} files indexed, {info.bytes / 2**20:,.1f} MiB "
        f"of at most {info.limit / 2**30:,.1f} GiB (the least recently used go first)",
        file=out,
    )
    if info.stale:
        print(
            f"{info.stale:,} of them from another version or damaged: "
            "indexed again when next opened",
            file=out,
        )
    return 0


def _fail(message: str, who: str = "neptune-audit") -> None:
    print(f"{who}: {inert_line(message)}", file=sys.stderr)


def _silence_stdout() -> None:
    """After a closed pipe, make the interpreter's final flush quiet."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "demo":
        return _demo(args)
    if args.command == "cache":
        return _cache_command(args, sys.stdout)
    if args.command == "fetch":
        if not args.cluster and not args.instance:
            raise UsageError("fetch needs --cluster NAME or --instance ID")
        from tui.cli.aws import fetch_command

        return fetch_command(args)
    # A blank filter selects everything: nothing to parse or evaluate, and the filter
    # machinery is not imported (``stats`` of a small file starts faster).
    node = _parse(args.filter) if args.filter.strip() else None
    remote = bool(args.cluster or args.cloudwatch or args.log_group or args.instance)
    if remote and args.paths:
        raise UsageError("give either log files or --cluster/--cloudwatch, not both")
    if not remote and not args.paths:
        raise UsageError("no input: give log files, directories or glob patterns")
    jobs: list[Background] = []
    label = ""
    follow = bool(getattr(args, "follow", False))
    cloudwatch = bool(args.cloudwatch or args.log_group)
    if getattr(args, "explain", False) or getattr(args, "insights", False):
        if not cloudwatch or follow:
            raise UsageError("--insights and --explain go with --cloudwatch, without --follow")
    if (args.cloudwatch or args.log_group) and args.command == "stats":
        if args.shapes:
            raise UsageError(
                "--shapes needs the records here (Logs Insights counts without them): "
                "download them with query --cloudwatch --dir DIR, then run stats --shapes DIR"
            )
        from tui.cli.aws import insights_stats

        counted = insights_stats(args, _or_all(node))
        if counted is None:
            return 0
        return _insights(*counted, args.format, sys.stdout, reveal=args.show_secrets)
    if (args.cloudwatch or args.log_group) and args.command == "query" and not follow:
        from tui.cli.aws import insights_query, use_insights

        if use_insights(args):
            return insights_query(args, _or_all(node), lambda: _writer_for(args, sys.stdout))
    if cloudwatch and args.command == "view" and not follow:
        from tui.cli.aws import InsightsView, use_insights

        if use_insights(args):
            insights = InsightsView(args, _or_all(node))
            if args.explain:
                sys.stdout.write(insights.explain())
                return 0
            return _view(
                [str(insights.open())],
                args.filter,
                follow=True,
                live_label="following matches",
                session=False,
                reveal=args.show_secrets,
                cache=None,  # the files are new and grow while the viewer reads them
                remote=insights,
            )
    if args.cloudwatch or args.log_group:
        from tui.cli.aws import cloudwatch_files

        args.paths, jobs, label = cloudwatch_files(args, _or_all(node), follow=follow)
    elif remote:
        if not args.cluster and not args.instance:
            raise UsageError("give --cluster NAME (or --instance ID)")
        from tui.cli.aws import cluster_files

        args.follow = follow
        args.interval = getattr(args, "interval", 5.0)
        args.paths, jobs, label = cluster_files(args)
    if args.command == "view":
        return _view(
            args.paths,
            args.filter,
            follow=follow,
            background=jobs,
            live_label=label,
            session=not args.no_session and not remote,
            reveal=args.show_secrets,
            cache=index_cache(args),
        )
    if args.command == "query" and args.follow:
        return _run_with(jobs, lambda: _query_follow(args, _or_all(node)))
    index, _, problems = _load(args.paths, cache=index_cache(args))
    try:
        result = None if node is None else _evaluate(index, node)
        if args.command == "stats":
            code = _stats(
                index,
                result,
                args.format,
                sys.stdout,
                reveal=args.show_secrets,
                shapes=args.shapes,
            )
        else:
            code = _query(index, result, args, sys.stdout)
        sys.stdout.flush()
        unreadable = _report_unreadable(index, {})
        return EXIT_INCOMPLETE if problems or unreadable else code
    finally:
        index.close()


def _parse(text: str) -> Node:
    from tui.query.parser import parse_filter

    return parse_filter(text)


def _or_all(node: Node | None) -> Node:
    """``node``, or the node that selects everything."""
    return _parse("") if node is None else node


def _evaluate(index: Index, node: Node) -> FilterResult:
    from tui.index.filtering import evaluate

    return evaluate(index, node)


def _load(
    paths: Sequence[str],
    *,
    partial_last_line: bool = True,
    follow: bool = False,
    cache: IndexCache | None = None,
) -> tuple[Index, FileReader, list[str]]:
    """Index the files named by ``paths``, with a progress line on a terminal; the problems
    met (files not read to their end) are printed, one line each, and returned."""
    files = expand_paths(paths, follow=follow)
    reader = FileReader()
    index = Index(reader)
    reporter = _ProgressLine(sys.stderr) if sys.stderr.isatty() else None
    try:
        problems = load(
            index,
            reader,
            files,
            on_progress=reporter,
            partial_last_line=partial_last_line,
            cache=cache,
        )
    finally:
        if reporter is not None:
            reporter.clear()
    for problem in problems:
        _fail(problem)
    return index, reader, problems


def _report_unreadable(index: Index, reported: dict[int, int]) -> bool:
    """Print, per file, how many records could not be read back because the file changed
    while the command ran (counts already in ``reported`` are not repeated); whether any
    could not."""
    for source, (count, why) in index.unreadable().items():
        if reported.get(source) != count:
            reported[source] = count
            name = index.sources[source].name
            _fail(f"{name}: {count:,} records could not be read ({why})")
    return bool(reported)


class _ProgressLine:
    """``indexing 42% 310 MB/s`` on stderr, redrawn at most ten times a second."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.shown = False
        self.last = 0.0

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        if now - self.last < 0.1 or progress.fraction >= 1.0:
            return
        self.last = now
        rate = progress.rate / 1e6
        self.stream.write(f"\rindexing {progress.fraction:4.0%}  {rate:6.0f} MB/s ")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * 40 + "\r")
            self.stream.flush()


def _stats(
    index: Index,
    result: FilterResult | None,
    form: str,
    out: IO[str],
    *,
    reveal: bool = False,
    shapes: bool = False,
) -> int:
    mask = None if result is None else result.mask
    _print_stats(compute_stats(index, mask, shapes=shapes), form, out, reveal=reveal)
    return 0


def _print_stats(
    stats: Stats, form: str, out: IO[str], note: str = "", *, reveal: bool = False
) -> None:
    """``stats`` as JSON (a note goes to stderr, keeping stdout JSON) or as a table."""
    if form == "json":
        out.write(json.dumps(stats_object(stats, reveal=reveal), indent=2) + "\n")
        if note:
            print(f"neptune-audit: {inert_line(note)}", file=sys.stderr)
    else:
        out.write(stats_text(stats, reveal=reveal))
        if note:
            out.write(f"\n{note}\n")


def _query(
    index: Index, result: FilterResult | None, args: argparse.Namespace, out: IO[str]
) -> int:
    if args.limit is not None and args.limit < 0:
        raise UsageError("--limit must be 0 or more")
    writer = _writer_for(args, _in_blocks(out))
    if result is None:
        order = index.order()
    else:
        from tui.index.filtering import filtered_order

        order = filtered_order(index, result)
    is_malformed = index.column("kind")[order] == KIND_MALFORMED
    printed = 0
    if args.limit is None or args.limit > 0:
        # Read in blocks; with --limit, only as far as the records it prints.
        for _, parsed in index.entries(order[~is_malformed]):
            if isinstance(parsed, Record):
                writer.record(parsed)
                printed += 1
                if args.limit is not None and printed >= args.limit:
                    break
    if args.malformed:
        malformed = order[is_malformed].tolist()
        malformed.sort(
            key=lambda e: (int(index.column("source")[e]), int(index.column("offset")[e]))
        )
        for _, parsed in index.entries(malformed):
            if isinstance(parsed, Malformed):
                writer.malformed(parsed)
    writer.close()
    return 0


def _in_blocks(out: IO[str]) -> IO[str]:
    """``out``, written in blocks even when Python runs unbuffered (``PYTHONUNBUFFERED``,
    which many container images set): a system call per record made an export to a pipe a
    third slower. Not for a terminal, which shows lines as they come. The writer's
    ``close`` flushes it."""
    if not isinstance(out, io.TextIOWrapper) or not out.write_through or out.isatty():
        return out
    try:
        raw = io.FileIO(out.fileno(), "w", closefd=False)
    except (OSError, ValueError):  # (no file behind it: a test's captured output)
        return out
    return io.TextIOWrapper(
        io.BufferedWriter(raw, 1 << 16), encoding=out.encoding, errors=out.errors
    )


def _writer_for(args: argparse.Namespace, out: IO[str]) -> Writer:
    if args.format == "table":
        return TableWriter(out, width=_columns(160), reveal=args.show_secrets)
    return make_writer(
        args.format,
        out,
        with_malformed=args.malformed,
        reveal=args.show_secrets,
        formulas=args.csv_raw,
    )


def _query_follow(args: argparse.Namespace, node: Node) -> int:
    """``query --follow``: the last matching records, then new ones as they arrive, each
    batch in time order (a record older than one already printed prints when it comes)."""
    from tui.index.filtering import evaluate, filtered_order
    from tui.sources.follow import Follower
    from tui.view.rows import arrivals

    if args.backlog < 0:
        raise UsageError("--backlog must be 0 or more")
    index, reader, problems = _load(
        args.paths, partial_last_line=False, follow=True, cache=index_cache(args)
    )
    out = sys.stdout
    writer = _writer_for(args, out)
    follower = Follower(index, reader, args.paths)
    follower.adopt_loaded()
    stop = threading.Event()
    try:
        result = evaluate(index, node)
        backlog = filtered_order(index, result)
        _write_entries(
            index,
            writer,
            backlog[len(backlog) - args.backlog :] if args.backlog else backlog[:0],
            args.malformed,
        )
        out.flush()
        reported: dict[int, int] = {}
        lost = bool(problems)
        while not stop.is_set():
            if _output_closed(out):
                return 0  # like tail -f: a reader that went away ends the follow
            update = follower.poll()
            lost = lost or bool(update.gaps)
            for event in update.events:
                print(f"neptune-audit: {inert_line(event)}", file=sys.stderr)
            if index.size > result.size:
                result, batch = arrivals(index, node, result)
                _write_entries(index, writer, batch, args.malformed)
                out.flush()
            lost = _report_unreadable(index, reported) or lost
            if follower.exhausted:  # only streams were read, and they all ended
                return EXIT_INCOMPLETE if lost else 0
            stop.wait(args.interval)
    except KeyboardInterrupt:
        return 130
    finally:
        follower.close()
        index.close()
    return 0


def _output_closed(out: IO[str]) -> bool:
    """Whether the reading end of our output pipe has gone (poll reports an error on the
    writing end), noticed even when nothing is being written."""
    try:
        poller = select.poll()
        poller.register(out.fileno(), 0)
        return any(event & (select.POLLERR | select.POLLHUP) for _, event in poller.poll(0))
    except (AttributeError, OSError, ValueError):
        return False


def _write_entries(index: Index, writer: Writer, entries: Any, with_malformed: bool) -> None:
    for entry in np.asarray(entries).tolist():
        parsed = index.entry(entry)
        if isinstance(parsed, Record):
            writer.record(parsed)
        elif with_malformed:
            writer.malformed(parsed)


def _demo(args: argparse.Namespace) -> int:
    from tui.sources.demo import append_live, write_sample

    if args.records < 1:
        raise UsageError("--records must be at least 1")
    end_us = int(time.time() * 1_000_000)
    if args.write is not None:
        try:
            truth = write_sample(
                args.write, records=args.records, seed=args.seed, malformed=2, end_us=end_us
            )
        except OSError as error:
            raise UsageError(f"{args.write}: {error.strerror or error}") from error
        print(
            inert_line(
                f"wrote {truth.records:,} records and {truth.malformed} malformed lines "
                f"in {len(truth.files)} files under {args.write}"
            )
        )
        return 0
    import tempfile

    with tempfile.TemporaryDirectory(prefix="neptune-audit-demo-") as directory:
        write_sample(
            Path(directory), records=args.records, seed=args.seed, malformed=2, end_us=end_us
        )
        stop = threading.Event()
        writer = threading.Thread(
            target=append_live,
            args=(Path(directory), stop),
            kwargs={"rate": args.rate, "seed": args.seed},
            daemon=True,
        )
        if args.rate > 0:
            writer.start()
        try:
            return _view([directory], "", follow=args.rate > 0, session=False)
        finally:
            stop.set()


def _view(
    paths: list[str],
    filter_text: str,
    *,
    follow: bool = False,
    background: Sequence[Background] = (),
    live_label: str = "",
    session: bool = True,
    reveal: bool = False,
    cache: IndexCache | None = None,
    remote: InsightsView | None = None,
) -> int:
    """Run the viewer (imported here: the headless commands never load textual); a run in
    AWS feeding it is stopped, and waited for, when it closes."""
    files = _keys_from_terminal(expand_paths(paths, follow=follow))
    if not sys.stdin.isatty() or not sys.stdout.isatty():
        raise UsageError("the viewer needs a terminal; use 'query' or 'stats' in scripts")
    from tui.ui.app import NeptuneAuditApp

    app = NeptuneAuditApp(
        paths,
        files=files,
        filter_text=filter_text,
        follow=follow,
        background=background,
        live_label=live_label,
        session=session,
        reveal=reveal,
        cache=cache,
        remote=remote,
    )
    try:
        app.run()
    finally:
        if remote is not None:
            remote.cancel()  # StopQuery for whatever still runs in AWS
            remote.wait(_REMOTE_STOP_S)
    app.index.close()
    return app.return_code or 0  # a crash (Textual reports it) is never a success


def _keys_from_terminal(files: list[LogFile]) -> list[LogFile]:
    """When the logs come on standard input, the viewer reads them from a copy of that
    descriptor and its keys from the terminal (``/dev/tty`` becomes standard input), as
    ``less`` does."""
    if not any(file.stream is not None and file.stream.fd == 0 for file in files):
        return files
    if not sys.stdout.isatty():
        raise UsageError("the viewer needs a terminal; use 'query' or 'stats' in scripts")
    try:
        terminal = os.open("/dev/tty", os.O_RDWR)
    except OSError as error:
        raise UsageError(
            "the viewer reads keys from the terminal, but /dev/tty cannot be opened "
            f"({error.strerror}); use 'query' or 'stats' to read standard input"
        ) from error
    logs = os.dup(0)
    os.dup2(terminal, 0)
    os.close(terminal)
    return [
        replace(file, stream=Stream(logs, file.stream.follow))
        if file.stream is not None and file.stream.fd == 0
        else file
        for file in files
    ]


def _run_with(jobs: Sequence[Background], body: Callable[[], int]) -> int:
    """Run ``body`` with background jobs in threads (their errors to stderr)."""
    stop = threading.Event()

    def report(message: str) -> None:
        print(f"neptune-audit: {inert_line(message)}", file=sys.stderr)

    for job in jobs:
        threading.Thread(target=job, args=(stop, report), daemon=True).start()
    try:
        return body()
    finally:
        stop.set()


def _insights(
    counts: dict[str, Any], note: str, form: str, out: IO[str], *, reveal: bool = False
) -> int:
    """Print ``stats`` that Logs Insights computed, saying so (and what it scanned)."""
    _print_stats(Stats(**counts), form, out, note, reveal=reveal)
    return 0
