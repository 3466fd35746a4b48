"""What ``fetch`` must not trust: repeated data, a second fetch, its own state file, the
server's names and answers, free disk space and the umask (issue 11, items 7-11 and 13).
Everything runs against our fake RDS over loopback HTTP."""

from __future__ import annotations

import functools
import io
import itertools
import json
import os
import shutil
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.aws.conftest import REGION, bolt_line, cluster, fetch, local_files, make_lines
from tests.fakes.rds_server import FakeRds, envelope, portion_xml
from tui.cli import main
from tui.sources.aws import rds_logs
from tui.sources.aws.rds_logs import (
    LOCK_FILE,
    MAX_IDLE_PORTIONS,
    STATE_FILE,
    Fetcher,
    FetchEvent,
    directory_lock,
    poll_forever,
)
from tui.sources.aws.session import AwsError, AwsOptions
from tui.sources.demo import INSTANCES

WRITER = INSTANCES[0]


@functools.cache
def _session() -> boto3.session.Session:
    return boto3.session.Session(region_name=REGION)  # made once: that is the slow part


def fetcher(rds: FakeRds, directory: Path, notes: list[str] | None = None) -> Fetcher:
    """A fetcher with its own client (clients are not shared between threads)."""

    def collect(event: FetchEvent) -> None:
        if notes is not None and event.kind == "note":
            notes.append(event.message)

    options = AwsOptions(region=REGION, endpoint_url=rds.url)
    client = _session().client("rds", endpoint_url=rds.url)
    return Fetcher(options, directory, on_event=collect, rds=client)


def sizes(directory: Path) -> dict[str, int]:
    """The size of each downloaded file, a partial one under the name it will have."""
    found: dict[str, int] = {}
    for path in directory.rglob("*.log*"):
        name = str(path.relative_to(directory))
        found[_final_name(name)] = max(found.get(_final_name(name), 0), path.stat().st_size)
    return found


def _final_name(name: str) -> str:
    folder, _, local = name.rpartition("/")
    if local.startswith(".") and local.endswith(".part"):
        local = local[1:-5]
    return f"{folder}/{local}" if folder else local


def assert_one_line_error(code: int, out: str, err: str, message: str) -> None:
    last = err.splitlines()[-1] if err else ""
    assert code == 2 and out == "", err
    assert last.startswith("neptune-audit: ") and message in last, err
    assert "Traceback" not in err and "\x1b" not in err


# -- 7: repeated lines are placed by position ------------------------------------------------


def test_lines_the_service_repeats_after_each_portion_are_not_written_twice(
    rds: FakeRds, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rds.max_portion_bytes = 128 << 10
    rds.overlap_lines = 3  # every portion after the first repeats three lines
    contents = cluster(rds, size=600_000, files=1)
    code, _, err = fetch(capsys, rds, tmp_path)
    assert code == 0, err
    assert local_files(tmp_path) == contents
    sent = rds.bytes_sent
    code, out, err = fetch(capsys, rds, tmp_path)
    assert code == 0 and ": 0 updated, 0.0 MB new" in out and "overwritten" not in err
    assert local_files(tmp_path) == contents and rds.bytes_sent == sent


@pytest.mark.parametrize("overlap", [0, 3])
def test_identical_lines_at_a_resume_boundary_are_all_kept(
    rds: FakeRds, tmp_path: Path, capsys: pytest.CaptureFixture[str], overlap: int
) -> None:
    probe = bolt_line(1795500000000, "10.0.0.9", "RETURN 1") + "\n"  # twice in one ms
    first = bolt_line(1795499999000, "10.0.0.1", "RETURN 0") + "\n"
    rds.add_cluster("demo", writer="db-1")
    rds.add_instance_file("db-1", "audit/audit.log", (first * 2 + probe * 2).encode())
    assert fetch(capsys, rds, tmp_path)[0] == 0
    rds.overlap_lines = overlap
    rds.append("db-1", "audit/audit.log", (probe * 2).encode())
    assert fetch(capsys, rds, tmp_path)[0] == 0
    local = (tmp_path / "db-1" / "audit_audit.log").read_bytes()
    assert local == rds.file_bytes("db-1", "audit/audit.log") and local.count(b"\n") == 6


# -- 8: one fetch per directory at a time ----------------------------------------------------


def test_two_fetches_into_one_directory_take_turns(rds: FakeRds, tmp_path: Path) -> None:
    rds.max_portion_bytes = 64 << 10
    contents = cluster(rds, size=400_000, files=2)
    notes: list[str] = []
    errors: list[Exception] = []

    def run() -> None:
        try:
            fetcher(rds, tmp_path, notes).fetch(cluster="demo")
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert local_files(tmp_path) == contents
    assert any(note.startswith(f"waiting up to 60 s for pid {os.getpid()}") for note in notes)


def test_a_fetch_that_cannot_get_the_directory_exits_2_naming_the_holder(
    rds: FakeRds,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    contents = cluster(rds, files=1, size=10_000)
    monkeypatch.setattr(rds_logs, "LOCK_WAIT_S", 0.3)
    monkeypatch.setattr(sys, "argv", ["/usr/bin/neptune-audit", "fetch", "--cluster", "demo"])
    with directory_lock(tmp_path, wait=0):
        code, out, err = fetch(capsys, rds, tmp_path)
    assert_one_line_error(
        code, out, err, f"in use by pid {os.getpid()} (neptune-audit fetch --cluster demo)"
    )
    assert "note: waiting up to 0.3 s for pid" in err and local_files(tmp_path) == {}
    assert fetch(capsys, rds, tmp_path)[0] == 0
    assert local_files(tmp_path) == contents


def test_polling_skips_rounds_while_another_fetch_holds_the_directory(
    rds: FakeRds, tmp_path: Path
) -> None:
    contents = cluster(rds, files=1, size=10_000)
    stop = threading.Event()
    errors: list[AwsError] = []
    poller = threading.Thread(
        target=poll_forever,
        args=(fetcher(rds, tmp_path), stop),
        kwargs={"cluster": "demo", "instances": (), "interval": 0.05, "on_error": errors.append},
    )
    with directory_lock(tmp_path, wait=0):
        poller.start()
        time.sleep(0.4)
        assert local_files(tmp_path) == {}
    deadline = time.monotonic() + 10
    while local_files(tmp_path) != contents and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    poller.join(10)
    assert local_files(tmp_path) == contents and errors == []


# -- 9: the state file is checked, never obeyed blindly --------------------------------------


def _entries(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], bytes]:
    def corrupt(state: dict[str, Any]) -> bytes:
        for entry in state["files"].values():
            change(entry)
        return json.dumps(state).encode()

    return corrupt


def _replaced(text: bytes) -> Callable[[dict[str, Any]], bytes]:
    return lambda state: text


CORRUPTIONS: dict[str, Callable[[dict[str, Any]], bytes]] = {
    "truncated-json": _replaced(b'{"version": 1, "files": {'),
    "empty": _replaced(b""),
    "binary": _replaced(b"\xff\xfe\x00\x1b[2J"),
    "deeply-nested": _replaced(b"[" * 100_000),
    "a-list": _replaced(b"[]"),
    "null": _replaced(b"null"),
    "files-a-list": _replaced(b'{"version": 1, "files": []}'),
    "files-a-number": _replaced(b'{"version": 1, "files": 5}'),
    "entry-a-string": lambda state: json.dumps(
        {"files": {key: "x" for key in state["files"]}}
    ).encode(),
    "size-text": _entries(lambda entry: entry.update(size="abc")),
    "size-null": _entries(lambda entry: entry.update(size=None)),
    "size-negative": _entries(lambda entry: entry.update(size=-5)),
    "size-100": _entries(lambda entry: entry.update(size=100)),
    "size-huge": _entries(lambda entry: entry.update(size=10**30)),
    "size-beyond-the-file": _entries(lambda entry: entry.update(size=entry["size"] + 1000)),
    "marker-object": _entries(lambda entry: entry.update(marker={})),
    "marker-garbage": _entries(lambda entry: entry.update(marker="garbage")),
    "marker-beyond-the-end": _entries(lambda entry: entry.update(marker="1:999999999999")),
    "marker-escape": _entries(lambda entry: entry.update(marker="\x1b[2J")),
    "marker-zero": _entries(lambda entry: entry.update(marker="0")),
    "complete-text": _entries(lambda entry: entry.update(complete="yes")),
    "incomplete": _entries(lambda entry: entry.update(complete=False)),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_a_corrupted_state_never_shrinks_a_file_and_heals(
    rds: FakeRds, tmp_path: Path, corruption: str
) -> None:
    contents = cluster(rds, files=1, size=100_000)
    notes: list[str] = []
    fetcher(rds, tmp_path, notes).fetch(cluster="demo")
    state = tmp_path / STATE_FILE
    corrupted = CORRUPTIONS[corruption](json.loads(state.read_bytes()))
    state.write_bytes(corrupted)
    more = make_lines(WRITER, seed=77, size=30_000)  # one file grows: its Marker is used
    rds.append(WRITER, "audit/audit.log.0", more)
    contents[f"{WRITER}/audit_audit.log.0"] += more
    before = sizes(tmp_path)
    fetcher(rds, tmp_path, notes).fetch(cluster="demo")  # no exception: no traceback
    files = local_files(tmp_path)
    assert files.pop(f"{STATE_FILE}.bad", corrupted) == corrupted  # an unreadable one is kept
    assert files == contents  # nothing truncated, duplicated or kept aside
    assert all(sizes(tmp_path)[name] >= size for name, size in before.items())
    assert not any("\x1b" in note for note in notes)
    notes.clear()
    assert fetcher(rds, tmp_path, notes).fetch(cluster="demo").changed == 0
    assert notes == []  # healed: quiet, nothing transferred


def test_a_local_copy_that_differs_from_the_server_is_kept_and_fetched_again(
    rds: FakeRds, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    contents = cluster(rds, files=1, size=100_000)
    assert fetch(capsys, rds, tmp_path)[0] == 0
    (tmp_path / STATE_FILE).unlink()
    name = f"{WRITER}/audit_audit.log.0"
    changed = bytearray(contents[name])
    changed[50_000] ^= 1
    (tmp_path / name).write_bytes(changed)
    code, _, err = fetch(capsys, rds, tmp_path)
    assert code == 0 and "the previous copy is kept as audit_audit.log.0.kept" in err
    assert local_files(tmp_path) == {**contents, f"{name}.kept": bytes(changed)}


# -- 10: the server's names and answers ------------------------------------------------------


def test_names_from_the_server_never_lead_outside_the_directory(
    rds: FakeRds, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "inside" / "dir"
    escaped = tmp_path / "inside" / "escaped-instance"
    absolute = tmp_path / "absolute-instance"
    rds.add_cluster("demo", writer="db-1", readers=["../escaped-instance", str(absolute)])
    data = make_lines(WRITER, seed=1, size=3_000)
    names = [
        "audit/audit.log",
        "../../../evil-audit",
        "/etc/passwd-audit",
        ".hidden-audit",
        "..audit",
        "audit/../../x",
        "audit\\..\\..\\y",
        "a" * 300 + "-audit",
        "audit 100%.log",
        "audit_audit.log",  # the same local name as audit/audit.log: skipped
        "audit\x9b2J\x7f.log",  # control characters (that XML can carry): skipped
    ]
    for instance in ("db-1", "../escaped-instance", str(absolute)):
        for name in names:
            rds.add_instance_file(instance, name, data)
    code, _, err = fetch(capsys, rds, target)
    assert code == 0, err
    assert not escaped.exists() and not absolute.exists()
    assert sorted(p.name for p in target.iterdir()) == sorted(["db-1", STATE_FILE, LOCK_FILE])
    files = local_files(target)
    assert len(files) == len(names) - 2 and set(files.values()) == {data}
    for path in files:
        folder, local = path.split("/")
        assert folder == "db-1" and not local.startswith(".") and len(local) <= 200
    assert "'../escaped-instance' is not a valid instance identifier: skipped" in err
    assert "db-1/audit_audit.log: would be stored as audit_audit.log, like audit/audit.log" in err
    assert "db-1/audit‹U+009B›2J‹DEL›.log: a file name with control characters" in err
    assert "\x9b" not in err and "\x7f" not in err


def test_a_service_that_says_more_is_pending_without_progress_is_stopped(
    rds: FakeRds, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster(rds, files=1, size=10_000)
    calls = itertools.count()

    def stuck(params: dict[str, str]) -> bytes | None:
        if next(calls) >= 500:
            return None  # from then on the model answers, so a client that never stops ends
        portion = portion_xml(b"", params.get("Marker", "0"), pending=True)
        return envelope("DownloadDBLogFilePortion", portion)

    rds.scripted["DownloadDBLogFilePortion"] = stuck
    code, out, err = fetch(capsys, rds, tmp_path)
    assert_one_line_error(code, out, err, "said more data was pending 16 times in a row")
    assert "DownloadDBLogFilePortion for demo-" in err
    assert rds.calls["DownloadDBLogFilePortion"] <= 3 * MAX_IDLE_PORTIONS


def _wrong_root(action: str) -> Callable[[dict[str, str]], bytes]:
    return lambda params: envelope("Something", b"<Marker>1</Marker>")


def _result(action: str, xml: str) -> Callable[[dict[str, str]], bytes]:
    return lambda params: envelope(action, xml.encode())


def _endless_pages() -> Callable[[dict[str, str]], bytes | None]:
    calls = itertools.count()

    def page(params: dict[str, str]) -> bytes | None:
        if next(calls) >= 200:
            return None  # let a client that never stops end
        return envelope("DescribeDBLogFiles", b"<DescribeDBLogFiles/><Marker>again</Marker>")

    return page


@pytest.mark.parametrize(
    ("action", "answer", "message"),
    [
        (
            "DownloadDBLogFilePortion",
            _wrong_root("DownloadDBLogFilePortion"),
            "unexpected answer to DownloadDBLogFilePortion for demo-",
        ),
        (
            "DownloadDBLogFilePortion",
            _result("DownloadDBLogFilePortion", ""),
            "unexpected answer to DownloadDBLogFilePortion for demo-",
        ),
        (
            "DescribeDBLogFiles",
            _result(
                "DescribeDBLogFiles",
                "<DescribeDBLogFiles><DescribeDBLogFilesDetails><Size>5</Size>"
                "</DescribeDBLogFilesDetails></DescribeDBLogFiles>",
            ),
            "unexpected answer to DescribeDBLogFiles for demo-",
        ),
        (
            "DescribeDBClusters",
            _wrong_root("DescribeDBClusters"),
            "unexpected answer to DescribeDBClusters for demo",
        ),
        (
            "DescribeDBLogFiles",
            _endless_pages(),
            "unexpected answer to DescribeDBLogFiles for demo-writer-1: the same page Marker",
        ),
    ],
)
def test_answers_that_are_not_what_the_call_returns_are_one_line_errors(
    rds: FakeRds,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    action: str,
    answer: Callable[[dict[str, str]], bytes | None],
    message: str,
) -> None:
    cluster(rds, files=1, size=10_000)
    rds.scripted[action] = answer
    code, out, err = fetch(capsys, rds, tmp_path)
    assert_one_line_error(code, out, err, message)


# -- 11: a full disk -------------------------------------------------------------------------


def test_a_full_disk_is_one_line_naming_the_path_and_the_space_needed_and_resumes(
    rds: FakeRds,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rds.max_portion_bytes = 64 << 10
    contents = cluster(rds, files=1, size=300_000)
    room = [500_000]
    write_all = rds_logs._write_all

    def disk(descriptor: int, data: bytes, path: Path) -> None:
        if len(data) > room[0]:  # the part that fits is written, as the kernel would
            write_all(descriptor, data[: room[0]], path)
            room[0] = 0
            raise OSError(28, os.strerror(28), str(path))
        room[0] -= len(data)
        write_all(descriptor, data, path)

    monkeypatch.setattr(rds_logs, "_write_all", disk)
    before = sizes(tmp_path)
    for _ in range(3):
        code, out, err = fetch(capsys, rds, tmp_path)
        assert_one_line_error(code, out, err, "no space left on the device for ")
        assert f"{tmp_path}/" in err and "MB more needed" in err and "next run resumes" in err
        assert all(sizes(tmp_path).get(name, 0) >= size for name, size in before.items())
        before = sizes(tmp_path)
    monkeypatch.setattr(rds_logs, "_write_all", write_all)
    assert fetch(capsys, rds, tmp_path)[0] == 0
    assert local_files(tmp_path) == contents


def _tmpfs_works(mountpoint: Path) -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = 'mount -t tmpfs -o size=64k none "$0"'
    command = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", probe]
    return subprocess.run([*command, str(mountpoint)], capture_output=True).returncode == 0


_FULL_DISK_RUNS = """
mount -t tmpfs -o size=640k none "$DISK" || exit 97
for run in 1 2 3 4; do
  [ "$run" = 4 ] && mount -o remount,size=64m "$DISK"
  "$PYTHON" -m tui fetch --cluster demo --dir "$DISK/logs" --endpoint-url "$URL" \
    >/dev/null 2>"$OUT/err$run"
  echo $? >"$OUT/code$run"
  find "$DISK/logs" -type f -name '*.log*' -printf '%P %s\\n' >"$OUT/sizes$run"
done
cp -a "$DISK/logs" "$OUT/logs"
"""


def test_a_really_full_disk_fails_the_same_way_three_times_then_resumes(
    rds: FakeRds, tmp_path: Path
) -> None:
    disk, out = tmp_path / "disk", tmp_path / "out"
    disk.mkdir()
    out.mkdir()
    if not _tmpfs_works(disk):
        pytest.skip("no user namespaces to mount a small tmpfs in")
    rds.max_portion_bytes = 64 << 10
    contents = cluster(rds, files=1, size=400_000)
    environment = dict(os.environ, DISK=str(disk), OUT=str(out), URL=rds.url)
    environment["PYTHON"] = sys.executable
    command = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", _FULL_DISK_RUNS]
    subprocess.run(command, env=environment, timeout=120, check=True)
    previous: dict[str, int] = {}
    for run in (1, 2, 3, 4):
        code, err = int((out / f"code{run}").read_text()), (out / f"err{run}").read_text()
        if run < 4:
            assert code == 2 and "Traceback" not in err, err
            last = err.splitlines()[-1]
            assert last.startswith(f"neptune-audit: no space left on the device for {disk}/")
            assert "MB more needed" in last
        else:
            assert code == 0, err
        current: dict[str, int] = {}
        for line in (out / f"sizes{run}").read_text().splitlines():
            name, size = line.rsplit(" ", 1)
            current[_final_name(name)] = max(current.get(_final_name(name), 0), int(size))
        assert all(current.get(name, 0) >= size for name, size in previous.items())
        previous = current
    assert local_files(out / "logs") == contents


# -- 13: private modes -----------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_downloads_state_and_directories_are_private_whatever_the_umask(
    rds: FakeRds, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster(rds, files=1, size=10_000)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    mine = shared / "user-file.log"
    mine.write_bytes(b"")
    mine.chmod(0o644)
    target = shared / "a" / "b"
    old_umask = os.umask(0o022)
    try:
        assert fetch(capsys, rds, target)[0] == 0
        assert main(["fetch", "--cluster", "demo", "--endpoint-url", rds.url]) == 0
    finally:
        os.umask(old_umask)
    assert _mode(shared) == 0o755 and _mode(mine) == 0o644  # not ours: left alone
    cache = Path(os.environ["XDG_CACHE_HOME"])  # where the second fetch writes by default
    for root in (shared / "a", cache):
        below = list(root.rglob("*"))
        assert below and {_mode(p) for p in [root, *below] if p.is_dir()} == {0o700}
        assert {_mode(p) for p in below if p.is_file()} == {0o600}
        assert any(p.name == STATE_FILE for p in below) and any(p.name == LOCK_FILE for p in below)


class _Terminal(io.StringIO):
    """stderr as a terminal: fetch draws its progress bars."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("name", ["audit/audit[/x].log", "audit/[@click=app.quit]x.log"])
def test_progress_on_a_terminal_reads_server_file_names_as_text(
    rds: FakeRds, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    rds.add_cluster("demo", writer="demo-writer-1", readers=[])
    rds.add_instance_file("demo-writer-1", name, make_lines("demo-writer-1", seed=1, size=4000))
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    code = main(
        ["fetch", "--cluster", "demo", "--dir", str(tmp_path / "d"), "--endpoint-url", rds.url]
    )
    assert code == 0, terminal.getvalue()
    assert "MarkupError" not in terminal.getvalue() and "Traceback" not in terminal.getvalue()
    assert name in terminal.getvalue()  # shown as written, not read as markup
    fetched = [p for p in (tmp_path / "d").rglob("*.log") if p.is_file()]
    assert len(fetched) == 1 and fetched[0].is_relative_to(tmp_path / "d")
