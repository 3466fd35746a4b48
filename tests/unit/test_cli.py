"""Headless commands: output formats, counts, and one-line errors with exit code 2."""

from __future__ import annotations

import csv
import gzip
import importlib
import io
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import pytest

from tests.conftest import Loaded
from tui.cli.export import RECORD_KEYS
from tui.cli.main import attach_filter_values, main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_jsonl_returns_every_record_once_in_time_order(
    sample: Loaded, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "query", str(sample.directory), "--format", "jsonl")
    assert code == 0 and err == ""
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == sample.truth.records
    assert all(tuple(row) == RECORD_KEYS for row in rows)
    times = [row["epoch_us"] for row in rows]
    assert times == sorted(times)
    assert len({(row["source"], row["line"]) for row in rows}) == len(rows)
    assert all(row["time"].endswith("Z") and len(row["time"]) == 27 for row in rows)
    by_lang: dict[str, int] = {}
    for row in rows:
        by_lang[row["lang"] or "none"] = by_lang.get(row["lang"] or "none", 0) + 1
    assert by_lang == dict(sample.truth.by_lang)


def test_jsonl_malformed_entries_follow(sample: Loaded, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "query", str(sample.directory), "--format", "jsonl", "--malformed", "--limit", "5"
    )
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(rows) == 5 + sample.truth.malformed
    tail = rows[5:]
    assert all(set(row) == {"malformed", "error", "raw", "source", "line"} for row in tail)
    assert all(row["malformed"] is True and row["error"] for row in tail)


def test_filter_and_csv(sample: Loaded, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "query", str(sample.directory), "-f", "auth:failed", "--format", "csv"
    )
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(rows) == sample.truth.by_auth["failed"]
    assert all(row["auth_ok"] == "false" for row in rows)
    assert list(rows[0]) == list(RECORD_KEYS)


def test_table_is_inert_and_aligned(sample: Loaded, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "query", str(sample.directory), "--limit", "20")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 21 and lines[0].startswith("TIME (UTC)")
    assert "\x1b" not in out


def test_stats_json_equals_generator(sample: Loaded, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "stats", str(sample.directory), "--format", "json")
    stats = json.loads(out)
    truth = sample.truth
    assert code == 0
    assert list(stats) == [
        "lines", "records", "malformed", "first", "last", "by_type", "by_lang", "by_auth",
        "top_clients", "top_users", "top_paths", "top_instances", "failed_by_user", "timeline",
    ]  # fmt: skip
    assert (stats["lines"], stats["records"], stats["malformed"]) == (
        truth.lines,
        truth.records,
        truth.malformed,
    )
    assert stats["by_type"] == dict(truth.by_type)
    assert stats["by_auth"]["failed"] == truth.by_auth["failed"]
    assert stats["top_paths"][0] == list(truth.by_path.most_common(1)[0])
    assert sum(count for _, count in stats["top_instances"]) == truth.records
    assert sum(stats["timeline"]["records"]) == truth.records
    failed = sum(stats["timeline"]["failed_auth"])
    assert failed == truth.by_auth["failed"] == sum(n for _, n in stats["failed_by_user"])


def test_filtered_stats(sample: Loaded, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "stats", str(sample.directory), "-f", "lang:sparql", "--format", "json"
    )
    stats = json.loads(out)
    assert code == 0 and stats["records"] == sample.truth.by_lang["sparql"]
    assert stats["by_lang"] == {"sparql": sample.truth.by_lang["sparql"]}


@pytest.mark.parametrize("spelling", [["-f", "-lang:sparql"], ["--filter", "-lang:sparql"]])
def test_filter_may_start_with_a_minus(
    sample: Loaded, capsys: pytest.CaptureFixture[str], spelling: list[str]
) -> None:
    code, out, _ = run(capsys, "stats", str(sample.directory), *spelling, "--format", "json")
    stats = json.loads(out)
    assert code == 0 and stats["records"] == sample.truth.records - sample.truth.by_lang["sparql"]
    assert "sparql" not in stats["by_lang"]


def test_attach_filter_values_leaves_options_and_positionals_alone() -> None:
    assert attach_filter_values(["query", "-f", "-x:1", "a"]) == ["query", "-f=-x:1", "a"]
    assert attach_filter_values(["query", "-f", "--follow"]) == ["query", "-f", "--follow"]
    assert attach_filter_values(["query", "-f", "-h"]) == ["query", "-f", "-h"]
    assert attach_filter_values(["query", "--", "-f", "-x"]) == ["query", "--", "-f", "-x"]
    assert attach_filter_values(["query", "-f", "a", "-f"]) == ["query", "-f", "a", "-f"]


def test_help_lists_every_command_and_a_command_its_own_options(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A command builds only its own arguments (a lighter start); the help still has all,
    and a wrong option is one line that names the command it was given to."""
    with pytest.raises(SystemExit):
        main(["--help"])
    listed = capsys.readouterr().out
    assert all(
        command in listed for command in ("view", "query", "stats", "fetch", "cache", "demo")
    )
    with pytest.raises(SystemExit):
        main(["stats", "--help"])
    own = capsys.readouterr().out
    assert "--shapes" in own and "--backlog" not in own
    with pytest.raises(SystemExit) as stopped:
        main(["stats", "--backlog", "3"])
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert error == (
        "neptune-audit stats: unrecognized arguments: --backlog"
        " (see 'neptune-audit stats --help')\n"
    )
    with pytest.raises(SystemExit) as stopped:
        main(["stats", "--format", "xml"])
    assert stopped.value.code == 2
    assert len(capsys.readouterr().err.splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["query", "/no/such/dir"], "neptune-audit: /no/such/dir: no such file or directory"),
        (["stats", "/no/such/*.log"], "neptune-audit: /no/such/*.log: no file matches"),
        (["query"], "neptune-audit query: no input"),
        (["query", "{dir}", "-f", "clinet:x"], "neptune-audit: bad filter: column 1: unknown"),
        (["query", "{dir}", "-f", "(a"], "neptune-audit: bad filter: column 3: missing ')'"),
        (["query", "{dir}", "--limit", "-1"], "neptune-audit query: --limit must be 0 or more"),
    ],
)
def test_errors_are_one_line_with_exit_code_2(
    sample: Loaded, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    """Told by the command when it is about how it was used, by the program otherwise."""
    code, out, err = run(capsys, *[a.format(dir=sample.directory) for a in args])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(message)


def test_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = tmp_path / "secret.log"
    secret.write_text("x\n")
    secret.chmod(0)
    try:
        if os.access(secret, os.R_OK):
            pytest.skip("this user can read files without read permission (root)")
        code, _, err = run(capsys, "query", str(secret))
    finally:
        secret.chmod(0o600)
    assert code == 2 and "permission denied" in err


def test_demo_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "demo", "--write", str(tmp_path / "d"), "--records", "300", "--seed", "4"
    )
    assert code == 0 and "300 records" in out
    code, out, _ = run(capsys, "stats", str(tmp_path / "d"), "--format", "json")
    assert json.loads(out)["records"] == 300


def test_installed_command_and_module_entry_point(sample: Loaded) -> None:
    for command in (
        [sys.executable, "-m", "tui"],
        [str(Path(sys.executable).with_name("neptune-audit"))],
    ):
        done = subprocess.run(
            [*command, "stats", str(sample.directory), "--format", "json"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0 and json.loads(done.stdout)["records"] == sample.truth.records
    bad = subprocess.run(
        [sys.executable, "-m", "tui", "query", "/nope"], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_closed_pipe_is_quiet(sample: Loaded) -> None:
    shell = f"{sys.executable} -m tui query {sample.directory} --format jsonl | head -1"
    done = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stderr == "" and len(done.stdout.splitlines()) == 1


def _follow_process(directory: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tui", "query", str(directory), "--format", "jsonl",
         "--interval", "0.05", "--follow", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def _bolt(n: int) -> str:
    return (
        f"{1795500000000 + n}, 10.1.1.{n % 250}:1, 10.0.3.215:8182, Bolt, [unknown], [unknown], "
        f"[unknown], MATCH (n) RETURN {n}\n"
    )


def test_query_follow_streams_new_records_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_text("".join(_bolt(n) for n in range(20)))
    process = _follow_process(tmp_path, "--backlog", "3", "--filter=-client:10.1.1.7")
    try:
        assert process.stdout is not None
        backlog = [json.loads(process.stdout.readline())["epoch_us"] for _ in range(3)]
        assert backlog == [(1795500000000 + n) * 1000 for n in (17, 18, 19)]
        with log.open("a") as handle:
            handle.write(_bolt(21) + _bolt(7) + _bolt(20))  # 7 is filtered out
        streamed = [json.loads(process.stdout.readline())["epoch_us"] for _ in range(2)]
        assert streamed == [(1795500000000 + n) * 1000 for n in (20, 21)]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 130
        assert process.stderr is not None and "Traceback" not in process.stderr.read()
    finally:
        process.kill()


def test_query_follow_ends_quietly_on_a_closed_pipe(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_text("".join(_bolt(n) for n in range(5)))
    command = f"{sys.executable} -m tui query {tmp_path} --follow --interval 0.05 --format jsonl"
    shell = f"{command} | head -2"
    done = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=20)
    assert done.returncode == 0 and done.stderr == ""
    assert len(done.stdout.splitlines()) == 2


# -- issue 11: inputs that change, streams, limits -------------------------------------------


def _epochs(out: str) -> list[int]:
    return [json.loads(line)["epoch_us"] // 1000 - 1795500000000 for line in out.splitlines()]


def test_a_file_emptied_during_an_export_exits_3_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "audit.log"
    log.write_text("".join(_bolt(n) for n in range(30)))
    (tmp_path / "other.log").write_text("".join(_bolt(n) for n in range(100, 105)))
    cli = importlib.import_module("tui.cli.main")  # the module (tui.cli.main is the function)

    load = cli._load

    def emptied_meanwhile(*args: Any, **kwargs: Any) -> Any:
        loaded = load(*args, **kwargs)
        log.write_text("")  # : > audit.log, after indexing, while the command runs
        return loaded

    monkeypatch.setattr(cli, "_load", emptied_meanwhile)
    code, out, err = run(capsys, "query", str(tmp_path), "--format", "jsonl")
    assert code == 3 and _epochs(out) == list(range(100, 105))
    assert err == (
        f"neptune-audit: {log}: 30 records could not be read ({log} shrank after it was read)\n"
    )


def test_a_truncated_gz_is_read_up_to_the_damage_and_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    packed = gzip.compress("".join(_bolt(n) for n in range(3000)).encode())
    cut = tmp_path / "audit.log.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    code, out, err = run(capsys, "query", str(cut), "--format", "jsonl", "--malformed")
    rows = [json.loads(line) for line in out.splitlines()]
    records = [row for row in rows if not row.get("malformed")]
    assert code == 3 and len(records) > 1000
    assert err == (
        f"neptune-audit: {cut}: the compressed data ends early (a truncated .gz); "
        "the rest is missing\n"
    )
    assert rows[-1]["error"].startswith(f"{cut} the compressed data ends early")


@pytest.mark.parametrize(
    "shell",
    [
        "cat {log} | {cmd} query - --format jsonl",
        "cat {log} | {cmd} query /dev/stdin --format jsonl",
        "{cmd} query <(cat {log}) --format jsonl",
        "mkfifo {dir}/f && (cat {log} > {dir}/f &) && {cmd} query {dir}/f --format jsonl",
    ],
    ids=["dash", "dev-stdin", "process-substitution", "fifo"],
)
def test_pipes_and_fifos_are_read_as_streams(tmp_path: Path, shell: str) -> None:
    log = tmp_path / "audit.log"
    log.write_text("".join(_bolt(n) for n in range(50)))
    command = shell.format(log=log, dir=tmp_path, cmd=f"{sys.executable} -m tui")
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stderr) == (0, "")
    assert _epochs(done.stdout) == list(range(50))


def test_an_endless_device_stops_at_the_limit_with_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tui", "stats", "/dev/zero", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NEPTUNE_AUDIT_MAX_EXPANDED": "8M"},
    )
    assert done.returncode == 3 and json.loads(done.stdout)["records"] == 0
    assert done.stderr == (
        "neptune-audit: /dev/zero: read past the 8 MiB limit; the rest was not read "
        "(set NEPTUNE_AUDIT_MAX_EXPANDED to change the limit, 0 for none)\n"
    )


class _Lines:
    """The lines a process prints, read in a thread: a test waits for them with a timeout
    instead of hanging."""

    def __init__(self, stream: IO[str]) -> None:
        self.queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self.queue.put(line)

    def take(self, count: int, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        return "".join(
            self.queue.get(timeout=max(0.01, deadline - time.monotonic())) for _ in range(count)
        )


def test_query_follow_reads_standard_input_as_it_grows_and_ends_with_it() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tui", "query", "-", "--follow", "--format", "jsonl",
         "--interval", "0.05", "--backlog", "2"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert process.stdin is not None and process.stdout is not None
    lines = _Lines(process.stdout)
    try:
        process.stdin.write("".join(_bolt(n) for n in range(5)))
        process.stdin.flush()
        assert _epochs(lines.take(2)) == [3, 4]
        process.stdin.write(_bolt(5) + _bolt(6))
        process.stdin.flush()
        assert _epochs(lines.take(2)) == [5, 6]
        process.stdin.write(_bolt(7))
        process.stdin.close()
        assert process.wait(timeout=60) == 0
        assert _epochs(lines.take(1)) == [7]
        assert process.stderr is not None and process.stderr.read() == (
            "neptune-audit: <stdin> ended\n"
        )
    finally:
        process.kill()


def test_query_follow_over_more_files_than_descriptors(tmp_path: Path) -> None:
    import resource

    for n in range(300):
        (tmp_path / f"audit.{n:03}.log").write_text(_bolt(n))

    def few_descriptors() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))

    process = subprocess.Popen(
        [sys.executable, "-m", "tui", "query", str(tmp_path), "--follow", "--format", "jsonl",
         "--interval", "0.05", "--backlog", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=few_descriptors,
    )  # fmt: skip
    assert process.stdout is not None
    lines = _Lines(process.stdout)
    try:
        assert _epochs(lines.take(1)) == [299]  # the backlog: loaded, and following
        for n in range(300):
            with (tmp_path / f"audit.{n:03}.log").open("a") as handle:
                handle.write(_bolt(1000 + n))
        assert sorted(_epochs(lines.take(300))) == list(range(1000, 1300))
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 130
        assert process.stderr is not None and process.stderr.read() == ""
    finally:
        process.kill()


def test_running_out_of_memory_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = importlib.import_module("tui.cli.main")  # the module (tui.cli.main is the function)

    def no_memory(args: Any) -> int:
        raise MemoryError

    monkeypatch.setattr(cli, "_dispatch", no_memory)
    assert run(capsys, "stats", "x") == (
        2,
        "",
        "neptune-audit: out of memory (allow more memory, or read fewer files)\n",
    )


def test_an_export_is_written_in_blocks_when_python_runs_unbuffered() -> None:
    """``PYTHONUNBUFFERED`` (set by many container images) makes every write a system call;
    a query's records are written in blocks all the same, flushed when it ends. A terminal
    keeps its lines as they come."""
    from tui.cli.main import _in_blocks

    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    unbuffered = io.TextIOWrapper(io.FileIO(write_end, "w"), write_through=True)
    try:
        out = _in_blocks(unbuffered)
        out.write("a record\n")
        with pytest.raises(BlockingIOError):
            os.read(read_end, 100)  # still in the block
        out.flush()
        assert os.read(read_end, 100) == b"a record\n"
        for other in (io.StringIO(), io.TextIOWrapper(io.BytesIO(), write_through=True)):
            assert _in_blocks(other) is other  # (no file behind it)
    finally:
        unbuffered.close()
        os.close(read_end)
