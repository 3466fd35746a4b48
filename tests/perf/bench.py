"""The benchmark behind ``make bench``: generates ~1 GB once, then prints JSON figures.

    python tests/perf/bench.py [--records N] [--cache DIR] [--only NAME ...]

The data set (2.4 M records in 9 unordered files, from the same generator as the tests) is
written once into the cache directory and reused. Each group of measurements runs in a fresh
process with a warm page cache, so figures do not depend on what ran before.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CACHE = ROOT / ".bench-cache"
RECORDS = 2_400_000
SEED = 2024

#: The issue's targets, printed beside each figure.
TARGETS: dict[str, float] = {
    "first_records_s": 0.5,
    "full_index_s": 2.5,
    "stats_command_s": 3.0,
    "field_filter_s": 0.2,
    "negated_field_filter_s": 0.2,
    "regex_full_text_s": 1.5,
    "time_range_filter_s": 0.05,
    "index_bytes_per_record": 64,
    "viewer_first_screen_s": 0.5,
    "viewer_cursor_move_s": 0.05,
    "viewer_page_scroll_s": 0.05,
    "viewer_field_filter_s": 0.5,
    "follow_lag_p95_s": 1.0,
    "follow_key_redraw_p95_s": 0.1,
    "follow_cpu_cores": 1.0,
    "poll_idle_cpu_percent": 5.0,
}
#: Targets where more is better.
MIN_TARGETS: dict[str, float] = {"fetch_mb_per_s": 50}


def dataset(cache: Path, records: int) -> Path:
    """The benchmark directory, generated on first use."""
    directory = cache / f"cluster-{records}-{SEED}"
    marker = directory / ".complete"
    if not marker.exists():
        from tui.sources.demo import write_sample

        print(f"generating {records:,} records into {directory} (once)...", file=sys.stderr)
        started = time.perf_counter()
        write_sample(directory, records=records, seed=SEED, span_s=24 * 3600.0)
        marker.write_text("ok\n")
        print(f"  done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return directory


def warm(directory: Path) -> int:
    """Read every file once so the page cache is warm; returns the total bytes."""
    total = 0
    for path in sorted(directory.rglob("audit.log*")):
        with open(path, "rb") as handle:
            while chunk := handle.read(16 << 20):
                total += len(chunk)
    return total


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def measure_core(directory: Path) -> dict[str, Any]:
    """Index, filters and memory, in this (fresh) process."""
    import numpy as np

    from tui.index.filtering import evaluate
    from tui.index.index import Index
    from tui.index.stats import compute_stats
    from tui.query import format_time_us, parse_filter
    from tui.sources.files import FileReader
    from tui.sources.local import Progress, expand_paths, load

    figures: dict[str, Any] = {}
    reader = FileReader()
    index = Index(reader)
    first: list[float] = []
    started = time.perf_counter()

    def progress(report: Progress) -> None:
        if not first and report.entries:
            first.append(time.perf_counter() - started)

    load(index, reader, expand_paths([str(directory)]), on_progress=progress)
    index.order()
    figures["full_index_s"] = time.perf_counter() - started
    figures["first_records_s"] = first[0] if first else None
    figures["records"] = index.records
    figures["bytes"] = sum(source.end for source in index.sources)

    figures["stats_in_process_s"], _ = timed(lambda: compute_stats(index))
    times = index.column("epoch_us")
    low, high = int(np.percentile(times, 40)), int(np.percentile(times, 45))
    cases = {
        "field_filter_s": "client:10.0.1.221",
        "negated_field_filter_s": "-path:/status",
        "regex_full_text_s": r"/has\('airport','code','[A-Z]{3}'\)/",
        "time_range_filter_s": f"after:{format_time_us(low)} before:{format_time_us(high)}",
        "word_full_text_s": "AnalyticsRole",
        "decoded_query_field_s": 'query:"LIMIT 10"',
    }
    for name, text in cases.items():
        node = parse_filter(text)
        seconds, result = timed(lambda node=node: evaluate(index, node))  # type: ignore[misc]
        figures[name] = seconds
        figures[name.removesuffix("_s") + "_matches"] = int(np.count_nonzero(result.mask))
    fixed = index.nbytes_per_entry()
    tables = sum(
        sum(len(value or "") + 50 for value in table.values) for table in index.tables.values()
    )
    figures["index_bytes_per_record"] = fixed
    figures["index_bytes_per_record_with_tables"] = round(fixed + tables / max(index.size, 1), 1)
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    index.close()
    return figures


def measure_insight(directory: Path, stride: int = 8) -> dict[str, Any]:
    """Fingerprints and operation classes per record, on every ``stride``-th line: cold (each
    distinct query lexed), warm (cache hits on a fresh copy of the text, as a re-read record
    gives), and the parse and query decoding around them."""
    from collections import Counter, defaultdict

    from tui.insight import cache_clear, fingerprint, operation_of, shape_of
    from tui.model.parser import parse_entry, text_field
    from tui.model.record import Record

    lines: list[str] = []
    for path in sorted(directory.rglob("audit.log*")):
        with open(path, encoding="utf-8") as handle:
            lines += [line.rstrip("\n") for k, line in enumerate(handle) if k % stride == 0]
    started = time.perf_counter()
    records = [entry for entry in map(parse_entry, lines) if isinstance(entry, Record)]
    parse_s = time.perf_counter() - started
    started = time.perf_counter()
    for line in lines:
        text_field(line, "query")
    query_text_s = time.perf_counter() - started

    # (path, lang, query text, bytecode) per record; the text a fresh copy, as re-reads give.
    pieces: list[tuple[str | None, str | None, str | None, bool]] = []
    for record in records:
        query = record.query
        copy = (query.text + " ")[:-1] if query else None
        code = query is not None and query.form == "bytecode"
        pieces.append((record.path, record.lang, copy, code))
    distinct = {(text, lang, code) for _, lang, text, code in pieces if text is not None}
    cold_by_lang: dict[str, float] = defaultdict(float)
    count_by_lang: Counter[str] = Counter()
    shapes = set()
    for text, lang, code in distinct:
        begun = time.perf_counter()
        shapes.add(shape_of(text, lang, bytecode=code).id)
        cold_by_lang[str(lang)] += time.perf_counter() - begun
        count_by_lang[str(lang)] += 1
    cache_clear()
    for text, lang, code in distinct:
        fingerprint(text, lang, bytecode=code)
    with_query = [(text, lang, code) for _, lang, text, code in pieces if text is not None]
    started = time.perf_counter()
    for text, lang, code in with_query:
        fingerprint(text, lang, bytecode=code)
    warm_s = time.perf_counter() - started
    started = time.perf_counter()
    operations = Counter(
        operation_of(path, lang, text, bytecode=code) for path, lang, text, code in pieces
    )
    operation_s = time.perf_counter() - started
    return {
        "insight_sample_records": len(records),
        "insight_parse_entry_us": parse_s / len(records) * 1e6,
        "insight_query_text_us": query_text_s / len(lines) * 1e6,
        "fingerprint_cold_us": sum(cold_by_lang.values()) / len(distinct) * 1e6,
        "fingerprint_cold_us_by_lang": {
            lang: round(cold_by_lang[lang] / count_by_lang[lang] * 1e6, 1) for lang in count_by_lang
        },
        "fingerprint_warm_us": warm_s / len(with_query) * 1e6,
        "operation_warm_us": operation_s / len(records) * 1e6,
        "insight_distinct_queries": len(distinct),
        "insight_distinct_shapes": len(shapes),
        "insight_operations": dict(operations),
    }


def measure_stats_command(directory: Path) -> dict[str, Any]:
    """``neptune-audit stats DIR``, end to end, as a user runs it."""
    command = [sys.executable, "-m", "tui", "stats", str(directory), "--format", "json"]
    seconds, done = timed(
        lambda: subprocess.run(command, capture_output=True, text=True, check=True)
    )
    return {"stats_command_s": seconds, "stats_records": json.loads(done.stdout)["records"]}


async def time_to_redraw(app: Any, action: Callable[[], None]) -> float:
    """Seconds from running a key's action to the screen redrawn with it (table and
    detail), without Pilot's waits for idleness."""
    import asyncio

    done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    begin = time.perf_counter()

    def finish() -> None:
        if not done.done():
            done.set_result(time.perf_counter() - begin)

    action()
    app.call_later(lambda: app.call_after_refresh(finish))
    return await done


def measure_viewer(directory: Path) -> dict[str, Any]:
    """The viewer driven headless with Pilot: first screen, cursor and page moves, filter."""
    import asyncio

    from tui.ui.app import NeptuneAuditApp

    figures: dict[str, Any] = {}

    async def run() -> None:
        started = time.perf_counter()
        app = NeptuneAuditApp([str(directory)], keymap={})
        async with app.run_test(size=(160, 48)) as pilot:
            while not len(app.view.ids) and time.perf_counter() - started < 60:
                await asyncio.sleep(0.005)
            painted: asyncio.Future[float] = asyncio.get_running_loop().create_future()
            app.call_after_refresh(lambda: painted.set_result(time.perf_counter() - started))
            # From creating the app (imports done) to the first rows painted.
            figures["viewer_first_screen_s"] = await painted
            while not app.ready.is_set() and time.perf_counter() - started < 120:
                await asyncio.sleep(0.02)
            figures["viewer_loaded_s"] = time.perf_counter() - started
            await pilot.pause()
            app.table.move_to(len(app.view.ids) // 2, user=True)
            await pilot.pause()

            async def redraw_after(action: Callable[[], None], count: int) -> float:
                """Median of ``count`` key-to-redraw times (Pilot's idle waits between)."""
                times = []
                for _ in range(count):
                    times.append(await time_to_redraw(app, action))
                    await pilot.pause()
                return statistics.median(times)

            figures["viewer_cursor_move_s"] = await redraw_after(
                lambda: app.table.action_cursor(1), 40
            )
            figures["viewer_page_scroll_s"] = await redraw_after(
                lambda: app.table.action_page(1), 20
            )
            before = app.view.ids
            begin = time.perf_counter()
            app.set_filter(app.view.filter.with_text("client:10.0.1.221"))
            while app.view.ids is before and time.perf_counter() - begin < 60:
                await asyncio.sleep(0.002)
            await pilot.pause()
            figures["viewer_field_filter_s"] = time.perf_counter() - begin
            figures["viewer_field_filter_rows"] = len(app.view.ids)
        app.index.close()

    asyncio.run(run())
    return figures


FOLLOW_SECONDS = 30.0
FOLLOW_RATE = 5000


def write_live(directory: Path, seconds: float, rate: int) -> None:
    """Append ``rate`` realistic records a second to three files for ``seconds``; each
    record's time is the moment it is written, so a reader can measure its lag."""
    from tui.sources.demo import iter_lines

    pool = [line.split(", ", 1)[1] for line in iter_lines(20_000, seed=3, span_s=600.0)]
    files = [open(directory / f"live-{i}.log", "a", encoding="utf-8") for i in range(3)]
    step = 0.02
    started = time.monotonic()
    written = 0
    while (now := time.monotonic()) - started < seconds:
        due = int((now - started) * rate) - written
        stamp = int(time.time() * 1000)
        for k in range(due):
            files[k % 3].write(f"{stamp}, {pool[(written + k) % len(pool)]}\n")
        for handle in files:
            handle.flush()
        written += due
        time.sleep(step)
    for handle in files:
        handle.close()


def measure_follow(directory: Path) -> dict[str, Any]:
    """The viewer following files a separate process appends to at FOLLOW_RATE records/s:
    on-screen lag, key-to-redraw time, and the viewer's CPU use."""
    import asyncio
    import shutil
    import tempfile

    from tui.sources.demo import write_sample
    from tui.ui.app import NeptuneAuditApp

    figures: dict[str, Any] = {}
    live = Path(tempfile.mkdtemp(prefix="neptune-audit-follow-"))
    write_sample(live / "cluster", records=20_000, seed=4)

    async def run() -> None:
        app = NeptuneAuditApp([str(live)], keymap={}, follow=True)
        async with app.run_test(size=(160, 48)) as pilot:
            while not app.ready.is_set():
                await asyncio.sleep(0.05)
            await pilot.pause()
            writer = subprocess.Popen(
                [sys.executable, __file__, "--write-live", str(live),
                 str(FOLLOW_SECONDS), str(FOLLOW_RATE)]
            )  # fmt: skip
            cpu_start, wall_start = time.process_time(), time.monotonic()
            lags: list[float] = []
            redraws: list[float] = []
            next_key = wall_start + 0.5
            while writer.poll() is None:
                await asyncio.sleep(0.1)
                ids = app.view.ids
                if len(ids) and time.monotonic() - wall_start > 2:
                    newest = int(app.index.column("epoch_us")[ids[-1]])
                    lags.append(time.time() - newest / 1e6)
                if time.monotonic() >= next_key:
                    next_key += 0.5
                    redraws.append(await time_to_redraw(app, lambda: app.table.action_cursor(-1)))
            cpu = time.process_time() - cpu_start
            wall = time.monotonic() - wall_start
            await asyncio.sleep(1.0)
            lags.sort()
            redraws.sort()
            figures["follow_records_written"] = sum(
                path.read_bytes().count(b"\n") for path in live.glob("live-*.log")
            )
            figures["follow_records_indexed"] = app.index.records - 20_000
            figures["follow_lag_median_s"] = statistics.median(lags)
            figures["follow_lag_p95_s"] = lags[int(0.95 * (len(lags) - 1))]
            figures["follow_lag_max_s"] = lags[-1]
            figures["follow_key_redraw_p95_s"] = redraws[int(0.95 * (len(redraws) - 1))]
            figures["follow_key_redraw_max_s"] = redraws[-1]
            figures["follow_cpu_cores"] = cpu / wall
        app.index.close()

    try:
        asyncio.run(run())
    finally:
        shutil.rmtree(live, ignore_errors=True)
    return figures


def serve_fake_rds(megabytes: int) -> None:
    """A fake RDS with a cluster of 3 instances × 3 files of ``megabytes`` MB, serving until
    stdin closes (run in its own process so its CPU is not the client's)."""
    sys.path.insert(0, str(ROOT))
    from tests.fakes.rds_server import FakeRds
    from tui.sources.demo import INSTANCES, iter_lines

    with FakeRds() as fake:
        fake.add_cluster("bench", writer=INSTANCES[0], readers=list(INSTANCES[1:]))
        size = megabytes << 20
        for i, instance in enumerate(INSTANCES):
            pool = "".join(
                line + "\n" for line in iter_lines(size // 400, seed=i, instance=instance)
            )
            data = pool.encode()[:size]
            data = data[: data.rfind(b"\n") + 1]
            for k in range(3):
                fake.add_instance_file(instance, f"audit/audit.log.{k}", data)
        print(fake.url, flush=True)
        sys.stdin.read()


def measure_fetch(directory: Path) -> dict[str, Any]:
    """``fetch`` of 3 × 3 × 20 MB from the fake on loopback, then idle polling's CPU."""
    import shutil
    import tempfile

    from tui.sources.aws.rds_logs import Fetcher, poll_forever
    from tui.sources.aws.session import AwsOptions

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve-fake-rds", "20"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    target = Path(tempfile.mkdtemp(prefix="neptune-audit-fetch-"))
    figures: dict[str, Any] = {}
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        options = AwsOptions(region="us-east-1", endpoint_url=url)
        fetcher = Fetcher(options, target)
        started = time.perf_counter()
        summary = fetcher.fetch(cluster="bench")
        seconds = time.perf_counter() - started
        figures["fetch_bytes"] = summary.bytes
        figures["fetch_s"] = seconds
        figures["fetch_mb_per_s"] = summary.bytes / seconds / 1e6
        stop = threading.Event()
        cpu = time.process_time()
        wall = time.monotonic()
        timer = threading.Timer(20.0, stop.set)
        timer.start()
        poll_forever(fetcher, stop, cluster="bench", instances=(), interval=5.0, on_error=print)
        figures["poll_idle_cpu_percent"] = (
            (time.process_time() - cpu) / (time.monotonic() - wall) * 100
        )
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(10)
        shutil.rmtree(target, ignore_errors=True)
    return figures


GROUPS: dict[str, Callable[[Path], dict[str, Any]]] = {
    "core": measure_core,
    "stats": measure_stats_command,
    "viewer": measure_viewer,
    "follow": measure_follow,
    "fetch": measure_fetch,
    "insight": measure_insight,
}


def run_group(name: str, directory: Path, repeat: int) -> dict[str, Any]:
    """Run one group ``repeat`` times, each in a fresh interpreter; timings are the median
    (this machine's speed drifts by about 10 % from minute to minute)."""
    runs: list[dict[str, Any]] = []
    for _ in range(repeat):
        done = subprocess.run(
            [sys.executable, __file__, "--group", name, "--data", str(directory)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"benchmark group {name} failed:\n{done.stderr}")
        runs.append(json.loads(done.stdout))
    figures: dict[str, Any] = {}
    for key, value in runs[0].items():
        values = [run[key] for run in runs]
        if isinstance(value, float):
            figures[key] = statistics.median(values)
            if key.endswith("_s") and repeat > 1:
                figures[key.removesuffix("_s") + "_range_s"] = [min(values), max(values)]
        else:
            figures[key] = value
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=RECORDS)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--only", nargs="*", choices=sorted(GROUPS), default=None)
    parser.add_argument("--repeat", type=int, default=3, help="runs per group (median)")
    parser.add_argument("--group", help=argparse.SUPPRESS)
    parser.add_argument("--write-live", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--serve-fake-rds", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fake_rds:
        serve_fake_rds(args.serve_fake_rds)
        return 0
    if args.write_live:
        folder, seconds, rate = args.write_live
        write_live(Path(folder), float(seconds), int(rate))
        return 0
    if args.group:
        print(json.dumps(GROUPS[args.group](args.data)))
        return 0
    directory = dataset(args.cache, args.records)
    total = warm(directory)
    figures: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "dataset": {"dir": str(directory), "bytes": total, "files": 9},
    }
    for name in args.only or list(GROUPS):
        figures.update(run_group(name, directory, args.repeat))
    figures["targets"] = {
        key: {
            "measured": round(figures[key], 4) if figures[key] is not None else None,
            "target": target,
            "ok": figures[key] is not None
            and (figures[key] >= target if key in MIN_TARGETS else figures[key] <= target),
        }
        for key, target in (TARGETS | MIN_TARGETS).items()
        if key in figures
    }
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
