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
from tui.sources.files import FileReader
from tui.sources.follow import Follower, FollowUpdate, Gap
from tui.sources.local import expand_paths, load

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


# -- copy-truncate: every record once, gaps only where bytes were overwritten unread ---------


def truncate(path: Path) -> None:
    os.truncate(path, 0)


def test_a_partial_copy_seen_before_the_truncation_is_never_read_again(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "audit.log"
    log.parent.mkdir()
    append(log, range(0, 3000))
    index, follower = follow([log.parent])
    copy = log.parent / "audit.log.1"
    data = log.read_bytes()
    copy.write_bytes(data[: len(data) // 3])  # the copy is still being written
    update = follower.poll()
    assert update.added == 0
    assert update.events == [f"{copy} is a copy of {log}; its records are not shown twice"]
    append(log, range(3000, 3010))  # written while the copy runs, not read yet
    with copy.open("ab") as handle:
        handle.write(log.read_bytes()[len(data) // 3 :])
    truncate(log)
    append(log, range(3010, 3020))
    update = follower.poll()
    assert update.added == 20 and update.gaps == []
    assert record_numbers(index) == list(range(3020))


def test_a_truncated_file_that_grew_past_the_old_end_is_read_from_the_start(
    tmp_path: Path,
) -> None:
    log = tmp_path / "audit.log"
    append(log, range(0, 5))
    index, follower = follow([log])
    truncate(log)
    append(log, range(5, 40))  # longer than what was read: only the content tells
    update = follower.poll()
    assert update.added == 35 and "was truncated" in update.events[0]
    assert sorted(int(t // 1000 - BASE) for t in index.column("epoch_us")) == list(range(40))
    assert index.malformed == 0


def test_two_rotations_between_polls_lose_and_repeat_nothing(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    append(log, range(0, 5))
    index, follower = follow([tmp_path])
    for generation in range(2):
        append(log, range(5 + 10 * generation, 15 + 10 * generation))
        shutil.copyfile(log, tmp_path / f"audit.log.{generation + 1}")
        truncate(log)
    append(log, range(25, 30))
    follower.poll()
    assert record_numbers(index) == list(range(30))


def test_records_read_by_a_poll_survive_a_truncation_before_they_are_shown(
    tmp_path: Path,
) -> None:
    log = tmp_path / "audit.log"
    append(log, [0])
    index, follower = follow([log])
    append(log, range(1, 6))
    size = index.size
    assert follower.poll().added == 5
    truncate(log)  # between the poll and the printing of what it read
    append(log, range(100, 110))
    shown = [index.entry(entry) for entry in range(size, index.size)]
    numbers = [int(r.epoch_us // 1000 - BASE) for r in shown if isinstance(r, Record)]
    assert numbers == [1, 2, 3, 4, 5]


def test_bytes_seen_but_not_read_before_a_truncation_are_a_gap(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    append(log, range(0, 4))
    index, reader = load_files([log], partial_last_line=False)
    follower = Follower(index, reader, [str(log)], grace_polls=2)
    follower.adopt_loaded()
    partial = rec(4)[:50]
    with log.open("a") as handle:
        handle.write(partial)  # seen (the file grew), not read (no newline yet)
    assert follower.poll().added == 0
    truncate(log)
    append(log, [5])
    assert follower.poll().gaps == []  # the copy may still turn up
    update = follower.poll()
    assert update.gaps == [Gap(str(log), 50, 1)]
    message = f"{log}: 50 bytes (about 1 record) written before it was truncated were "
    assert update.events == [message + "overwritten before they could be read"]
    noted = [index.entry(e) for e in range(index.size)]
    assert any(isinstance(n, Malformed) and n.reason.startswith(message) for n in noted)
    assert follower.poll() == FollowUpdate()


def test_a_writer_that_does_not_append_measures_what_was_overwritten(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_text("")
    writer = log.open("r+b", buffering=0)  # keeps its offset after a truncation
    writer.write("".join(rec(n) + "\n" for n in range(0, 5)).encode())
    index, reader = load_files([tmp_path], partial_last_line=False)
    follower = Follower(index, reader, [str(tmp_path)], grace_polls=2)
    follower.adopt_loaded()
    writer.write("".join(rec(n) + "\n" for n in range(5, 10)).encode())
    shutil.copyfile(log, tmp_path / "audit.log.1")
    window = "".join(rec(n) + "\n" for n in range(10, 12)).encode()
    writer.write(window)  # after the copy, before the truncation: overwritten unread
    truncate(log)
    writer.write("".join(rec(n) + "\n" for n in range(12, 15)).encode())
    gaps = [gap for _ in range(3) for gap in follower.poll().gaps]
    assert gaps == [Gap(str(log), len(window), 2)]
    records = index.column("epoch_us")[index.column("kind") == KIND_RECORD]
    assert sorted(int(t // 1000 - BASE) for t in records) == [*range(0, 10), *range(12, 15)]
    writer.close()


def test_many_files_are_followed_with_few_descriptors(tmp_path: Path) -> None:
    files = [tmp_path / f"audit.{n:03}.log" for n in range(120)]
    for n, file in enumerate(files):
        append(file, [n])
    reader = FileReader(budget=16)
    index = Index(reader)
    load(index, reader, expand_paths([str(tmp_path)]), partial_last_line=False)
    follower = Follower(index, reader, [str(tmp_path)])
    follower.adopt_loaded()
    before = len(os.listdir("/proc/self/fd"))
    for n, file in enumerate(files):
        append(file, [1000 + n])
    assert follower.poll().added == 120
    assert len(os.listdir("/proc/self/fd")) <= before + 1
    assert sorted(record_numbers(index)) == [*range(120), *range(1000, 1120)]


def test_several_rotations_between_polls_of_a_writer_that_does_not_append(
    tmp_path: Path,
) -> None:
    log = tmp_path / "audit.log"
    log.write_text("")
    writer = log.open("r+b", buffering=0)

    def write(numbers: range) -> bytes:
        data = "".join(rec(n) + "\n" for n in numbers).encode()
        writer.write(data)
        return data

    write(range(0, 5))
    index, reader = load_files([tmp_path], partial_last_line=False)
    follower = Follower(index, reader, [str(tmp_path)], grace_polls=2)
    follower.adopt_loaded()
    overwritten = 0
    for rotation in range(3):  # all before the next poll
        write(range(10 * rotation + 5, 10 * rotation + 12))
        shutil.copyfile(log, tmp_path / f"audit.log.{rotation + 1}")
        overwritten += len(write(range(10 * rotation + 12, 10 * rotation + 15)))
        truncate(log)
    write(range(100, 103))
    gaps = [gap for _ in range(4) for gap in follower.poll().gaps]
    assert sum(gap.bytes for gap in gaps) == overwritten
    kept = [n for r in range(3) for n in range(10 * r + 5, 10 * r + 12)]
    records = index.column("epoch_us")[index.column("kind") == KIND_RECORD]
    assert sorted(int(t // 1000 - BASE) for t in records) == [*range(5), *kept, 100, 101, 102]
    writer.close()
