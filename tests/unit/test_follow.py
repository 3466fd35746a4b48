"""The follower on real files: appends, partial lines, rotation, truncation, new and deleted
files, bursts. Every test checks exactly which records come out, each once."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from tests.conftest import load_files
from tui.index.index import GONE_REASON, Index
from tui.index.schema import KIND_RECORD
from tui.model.record import Malformed, Record
from tui.sources.follow import Follower, FollowUpdate

BASE = 1795500000000


def rec(n: int) -> str:
    """A record whose time and client identify it."""
    return (
        f"{BASE + n}, 10.0.{n // 250}.{n % 250}:40000, 10.0.3.215:8182, Bolt, [unknown], "
        f"[unknown], [unknown], MATCH (n) RETURN {n}"
    )


def append(path: Path, numbers: range | list[int], *, newline: bool = True) -> None:
    with path.open("a") as handle:
        handle.write("\n".join(rec(n) for n in numbers) + ("\n" if newline else ""))


def record_numbers(index: Index) -> list[int]:
    """The record numbers in the index, in merged order (text read back from the files)."""
    numbers = []
    for entry in index.order().tolist():
        parsed = index.entry(entry)
        assert isinstance(parsed, Record), parsed
        numbers.append(int(parsed.epoch_us // 1000 - BASE))
    return numbers


def follow(paths: list[Path]) -> tuple[Index, Follower]:
    index, reader = load_files(paths, partial_last_line=False)
    follower = Follower(index, reader, [str(p) for p in paths])
    follower.adopt_loaded()
    return index, follower


def test_appends_come_out_once_in_time_order(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    append(log, [5, 1, 3])
    index, follower = follow([log])
    assert follower.poll() == FollowUpdate()
    append(log, [4, 2, 0])  # late records go to their place
    update = follower.poll()
    assert update.added == 3 and update.events == []
    assert record_numbers(index) == [0, 1, 2, 3, 4, 5]
    assert follower.poll().added == 0


def test_partial_last_line_waits_for_its_newline(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    append(log, [1])
    with log.open("a") as handle:
        handle.write(rec(2)[:30])
    index, follower = follow([log])
    assert record_numbers(index) == [1]
    assert follower.poll().added == 0
    with log.open("a") as handle:
        handle.write(rec(2)[30:])
    assert follower.poll().added == 0
    with log.open("a") as handle:
        handle.write("\n")
    assert follower.poll().added == 1
    assert record_numbers(index) == [1, 2]
    assert index.malformed == 0


def test_rotation_in_a_followed_directory(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "audit.log"
    log.parent.mkdir()
    append(log, range(0, 10))
    index, follower = follow([log.parent])
    append(log, range(10, 15))
    log.rename(log.parent / "audit.log.1")
    append(log.parent / "audit.log.1", [15])  # a late write to the rotated file
    append(log, range(16, 20))  # the new file under the old name
    update = follower.poll()
    assert any("rotated to" in event for event in update.events)
    assert any("following new file" in event for event in update.events)
    assert record_numbers(index) == list(range(20))
    assert follower.poll() == FollowUpdate()


def test_rotation_of_a_single_followed_file(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    append(log, range(0, 5))
    index, follower = follow([log])
    append(log, [5])
    log.rename(tmp_path / "elsewhere.log")
    append(log, [6, 7])
    update = follower.poll()
    assert any("rotated away" in event for event in update.events)
    assert record_numbers(index) == list(range(8))


def test_copy_truncate_keeps_old_text_and_duplicates_nothing(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "audit.log"
    log.parent.mkdir()
    append(log, range(0, 6))
    index, follower = follow([log.parent])
    append(log, [6, 7])  # written, not yet read, then copied away
    shutil.copyfile(log, log.parent / "audit.log.1")
    with log.open("r+") as handle:
        handle.truncate(0)
    append(log, [8, 9])
    update = follower.poll()
    assert any("truncated" in event for event in update.events)
    assert any("copy of a truncated file" in event for event in update.events)
    assert record_numbers(index) == list(range(10))


def test_copy_truncate_without_the_copy_keeps_columns(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    append(log, range(0, 4))
    index, follower = follow([log])
    with log.open("r+") as handle:
        handle.truncate(0)
    append(log, [4, 5])
    follower.poll()
    assert index.records == 6
    old = [e for e in range(index.size) if int(index.column("source")[e]) == 0]
    gone = index.entry(old[0])
    assert isinstance(gone, Malformed) and gone.reason == GONE_REASON
    times = index.column("epoch_us")[index.order()]
    assert list(times // 1000 - BASE) == list(range(6))


def test_new_files_in_a_directory_and_a_glob(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    (logs / "db-1").mkdir(parents=True)
    append(logs / "db-1" / "audit.log.0", [0])
    index, follower = follow([logs])
    (logs / "db-2").mkdir()
    append(logs / "db-2" / "audit.log.0", [1, 2])
    update = follower.poll()
    assert update.added == 2 and "following new file" in update.events[0]
    assert index.sources[-1].instance == "db-2"
    glob_index, glob_follower = follow([logs / "*" / "audit.log.*"])
    append(logs / "db-1" / "audit.log.1", [3])
    append(logs / "db-1" / "other.txt", [99])  # not matched by the glob
    assert glob_follower.poll().added == 1
    assert record_numbers(glob_index) == [0, 1, 2, 3]
    assert record_numbers(index) == [0, 1, 2]


def test_a_glob_that_matches_directories_follows_the_files_below(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    (logs / "db-1").mkdir(parents=True)
    append(logs / "db-1" / "audit.log.0", [0])
    index, follower = follow([tmp_path / "logs" / "db-*"])
    append(logs / "db-1" / "audit.log.0", [1])
    append(logs / "db-1" / "audit.log.1", [2])
    update = follower.poll()
    assert update.added == 2
    assert update.events == [f"following new file {logs / 'db-1' / 'audit.log.1'}"]
    assert record_numbers(index) == [0, 1, 2]


def test_deleted_file_keeps_what_was_read_and_says_so_once(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    append(log, range(3))
    index, follower = follow([log])
    os.unlink(log)
    first = follower.poll()
    assert first.events == [f"{log} was deleted; its 3 entries are kept"]
    assert follower.poll() == FollowUpdate()
    assert record_numbers(index) == [0, 1, 2]


def test_burst_of_ten_thousand_lines(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    files = [logs / f"audit.log.{i}" for i in range(3)]
    for file in files:
        file.write_text("")
    index, follower = follow([logs])
    rng = np.random.default_rng(1)
    numbers = rng.permutation(10_000).tolist()
    added = 0
    for chunk in range(0, 10_000, 700):
        part = numbers[chunk : chunk + 700]
        for i, file in enumerate(files):
            append(file, part[i::3])
        added += follower.poll().added
    assert added == 10_000 and index.records == 10_000
    times = index.column("epoch_us")[index.order()]
    assert list(times // 1000 - BASE) == list(range(10_000))
    assert int(np.count_nonzero(index.column("kind") == KIND_RECORD)) == 10_000
