"""Local sources under attack: files that change while they are read, streams, symlink
loops, decompression bombs, damaged .gz files, descriptor and memory limits. Each test
names the issue item it covers."""

from __future__ import annotations

import gzip
import os
import stat
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import load_files
from tui.index.index import Index
from tui.index.scan import Scanner
from tui.model.record import Malformed, Record
from tui.sources import local
from tui.sources.files import FileReader
from tui.sources.local import (
    LIMIT_VARIABLE,
    SourceError,
    Stream,
    expand_paths,
    files_below,
    glob_paths,
    load,
)

BASE = 1795500000000


def rec(n: int) -> str:
    return (
        f"{BASE + n}, 10.0.{n // 250 % 250}.{n % 250}:40000, 10.0.3.215:8182, Bolt, [unknown], "
        f"[unknown], [unknown], MATCH (n) RETURN {n}\n"
    )


def lines(numbers: range) -> bytes:
    return "".join(rec(n) for n in numbers).encode()


def numbers_of(index: Index) -> list[int]:
    """Record numbers of the entries that read back as records, in merged order."""
    found = []
    for entry in index.order().tolist():
        parsed = index.entry(entry)
        if isinstance(parsed, Record):
            found.append(int(parsed.epoch_us // 1000 - BASE))
    return found


def reasons(index: Index) -> list[str]:
    return [
        parsed.reason
        for parsed in map(index.entry, index.order().tolist())
        if isinstance(parsed, Malformed)
    ]


# -- item 2: files that shrink or are replaced while they are read ---------------------------


def test_a_file_emptied_after_indexing_is_counted_not_silently_lost(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(lines(range(50)))
    index, _ = load_files([log])
    log.write_bytes(b"")  # : > audit.log, while the export runs
    assert numbers_of(index) == []
    assert index.unreadable() == {0: (50, f"{log} shrank after it was read")}
    gone = index.entry(0)
    assert isinstance(gone, Malformed) and "no longer there" in gone.reason


def test_a_file_overwritten_in_place_is_not_read_at_old_offsets(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(lines(range(0, 40)))
    index, _ = load_files([log])
    with log.open("r+b") as handle:  # the same inode, other records at the same places
        handle.write(lines(range(1000, 1040)))
    assert numbers_of(index) == []
    count, why = index.unreadable()[0]
    assert count == 40 and "other bytes are at its place now" in why


def test_a_file_rotated_after_indexing_is_read_from_its_new_name(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(lines(range(0, 338)))
    index, _ = load_files([log])
    log.rename(tmp_path / "audit.log.1")
    log.write_bytes(lines(range(5000, 5400)))  # the new file under the old name
    assert numbers_of(index) == list(range(338))
    assert index.unreadable() == {}


def test_a_file_replaced_after_indexing_says_so(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(lines(range(0, 10)))
    index, _ = load_files([log])
    (tmp_path / "elsewhere").mkdir()
    log.rename(tmp_path / "elsewhere" / "audit.log")  # moved out of its directory
    log.write_bytes(lines(range(0, 10)))
    assert numbers_of(index) == []
    assert index.unreadable()[0] == (10, f"{log} was replaced by another file after it was read")


def test_a_file_that_shrinks_while_it_is_loaded_keeps_what_was_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local, "FIRST_SPAN_BYTES", 4096)
    monkeypatch.setattr(local, "SPAN_BYTES", 4096)
    log = tmp_path / "audit.log"
    other = tmp_path / "other.log"
    log.write_bytes(lines(range(0, 400)))
    other.write_bytes(lines(range(1000, 1010)))
    reader = FileReader()
    index = Index(reader)
    commits = []

    def shrink(progress: local.Progress) -> None:
        commits.append(progress)
        if len(commits) == 1:
            os.truncate(log, 8000)

    problems = load(index, reader, expand_paths([str(tmp_path)]), workers=1, on_progress=shrink)
    assert len(problems) == 1
    assert problems[0].startswith(f"{log}: shrank while it was read: ")
    assert "could not be read" in problems[0] and "records)" in problems[0]
    read = numbers_of(index)
    assert read[:10] == list(range(10)) and read[-10:] == list(range(1000, 1010))
    assert any(reason.startswith(f"{log} shrank while it was read") for reason in reasons(index))


# -- item 3: pipes, FIFOs, devices and standard input ---------------------------------------


def test_a_fifo_is_read_as_a_stream(tmp_path: Path) -> None:
    fifo = tmp_path / "logs.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(lines(range(300))), daemon=True)
    writer.start()
    files = expand_paths([str(fifo)])
    assert files[0].stream == Stream(None, False)
    index, _ = load_files([fifo])
    writer.join()
    assert numbers_of(index) == list(range(300))


def test_a_gzip_stream_is_decompressed_and_a_cut_one_says_so(tmp_path: Path) -> None:
    """A stream is known as gzip by its first bytes, however the pipe hands them over
    (members one after another, as ``cat a.gz b.gz`` gives); one cut short keeps what it
    gave and says why."""

    def through_fifo(name: str, chunks: list[bytes]) -> tuple[Index, list[str]]:
        fifo = tmp_path / name
        os.mkfifo(fifo)

        def write() -> None:
            with fifo.open("wb", buffering=0) as handle:
                for chunk in chunks:
                    handle.write(chunk)
                    time.sleep(0.05)

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        reader = FileReader()
        index = Index(reader)
        problems = load(index, reader, expand_paths([str(fifo)]))
        writer.join()
        return index, problems

    packed = gzip.compress(lines(range(200))) + gzip.compress(lines(range(200, 300)))
    for name, chunks in (("whole", [packed]), ("bytes", [packed[:1], packed[1:7], packed[7:]])):
        index, problems = through_fifo(name, chunks)
        assert numbers_of(index) == list(range(300)) and problems == []
        index.close()

    data = gzip.compress(lines(range(3000)))
    index, problems = through_fifo("cut", [data[: len(data) // 2]])
    assert problems == [
        f"{tmp_path / 'cut'}: the compressed data ends early (a truncated .gz); the rest is missing"
    ]
    assert 0 < index.records < 3000
    index.close()


def test_standard_input_is_a_stream_and_a_terminal_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "isatty", lambda fd: False)
    assert expand_paths(["-"])[0].stream == Stream(0, False)
    assert expand_paths(["-"], follow=True)[0].name == "<stdin>"
    monkeypatch.setattr(os, "isatty", lambda fd: True)
    with pytest.raises(SourceError, match="standard input is a terminal"):
        expand_paths(["-"])


def test_an_endless_stream_stops_at_the_limit_with_bounded_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(LIMIT_VARIABLE, "3M")
    reader = FileReader()
    index = Index(reader)
    problems = load(index, reader, expand_paths(["/dev/zero"]))
    assert problems == [
        "/dev/zero: read past the 3 MiB limit; the rest was not read "
        f"(set {LIMIT_VARIABLE} to change the limit, 0 for none)"
    ]
    assert index.sources[0].end == 3 << 20 and index.records == 0
    reader.close()


def test_a_spool_keeps_growing_while_it_is_followed(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, lines(range(5)))
    reader = FileReader()
    index = Index(reader)
    stdin = local.LogFile(Path("-"), "<stdin>", None, Stream(read_end, True))
    assert load(index, reader, [stdin], partial_last_line=False) == []
    assert numbers_of(index) == list(range(5))
    feed = reader.feed(0)
    assert feed is not None and not feed.ended
    os.write(write_end, lines(range(5, 9)))
    os.close(write_end)
    deadline = time.monotonic() + 5
    while not feed.ended and time.monotonic() < deadline:
        time.sleep(0.01)
    assert feed.ended and reader.path(0).stat().st_size == len(lines(range(9)))
    reader.close()


def test_size_limits_parse_and_a_bad_one_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    for text, expected in (("", 1 << 30), ("0", 0), ("500M", 500 << 20), ("2GiB", 2 << 30)):
        monkeypatch.setenv(LIMIT_VARIABLE, text)
        assert local.expanded_limit() == expected
    monkeypatch.setenv(LIMIT_VARIABLE, "lots")
    with pytest.raises(SourceError, match="not a size"):
        local.expanded_limit()


# -- item 4: symlink loops -------------------------------------------------------------------


def test_globs_and_directories_through_symlink_loops_end(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    (logs / "db-1").mkdir(parents=True)
    (logs / "db-1" / "a.log").write_bytes(lines(range(3)))
    (logs / "b.log").write_bytes(lines(range(3, 5)))
    (logs / "s1").symlink_to(".")
    (logs / "db-1" / "up").symlink_to("..")
    (logs / "db-1" / "loop").symlink_to(logs / "db-1")
    started = time.monotonic()
    matched = glob_paths(str(logs / "**" / "*.log"))
    below = files_below(logs)
    assert time.monotonic() - started < 2
    assert matched == [logs / "b.log", logs / "db-1" / "a.log"]
    assert below == [logs / "b.log", logs / "db-1" / "a.log"]
    index, _ = load_files([str(logs / "**" / "*.log"), logs])
    assert numbers_of(index) == list(range(5))  # each real file once


def test_glob_matches_like_the_standard_library_on_ordinary_trees(tmp_path: Path) -> None:
    import glob

    for name in ("a/x.log", "a/b/y.log", "a/b/c/z.log", "a/.hidden/h.log", "a/w.txt", "q.log"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    for pattern in ("**/*.log", "a/**", "a/*/*.log", "*.log", "a/b/c/z.log", "a/[bx]*"):
        full = str(tmp_path / pattern)
        assert glob_paths(full) == sorted(Path(p) for p in glob.glob(full, recursive=True))


# -- item 5: resource limits ------------------------------------------------------------------


def test_a_gzip_bomb_stops_at_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LIMIT_VARIABLE, "2M")
    bomb = tmp_path / "bomb.log.gz"
    with gzip.open(bomb, "wb") as packed:
        for _ in range(64):
            packed.write(bytes(1 << 20))
    reader = FileReader()
    index = Index(reader)
    problems = load(index, reader, expand_paths([str(bomb)]))
    assert problems == [
        f"{bomb}: decompressed past the 2 MiB limit; the rest was not read "
        f"(set {LIMIT_VARIABLE} to change the limit, 0 for none)"
    ]
    copy = reader.path(0)
    assert copy.stat().st_size == 2 << 20
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert stat.S_IMODE(copy.parent.stat().st_mode) == 0o700
    reader.close()
    assert not copy.parent.exists()


def test_an_endless_line_is_indexed_in_bounded_pieces(tmp_path: Path) -> None:
    log = tmp_path / "zeros.log"
    with log.open("wb") as handle:
        handle.write(lines(range(3)))
        handle.truncate(40 << 20)  # 40 MiB of zeros without a newline
    index, _ = load_files([log])
    lengths = index.column("length")
    assert index.records == 3 and int(lengths.max()) <= 17 << 20
    assert int(lengths.sum()) == 40 << 20


def test_too_many_files_is_one_line_naming_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local, "MAX_SOURCES", 3)
    for n in range(4):
        (tmp_path / f"{n}.log").write_bytes(lines(range(n, n + 1)))
    with pytest.raises(SourceError, match="too many files: 4 named, at most 3 can be read"):
        load_files([tmp_path])


def test_running_out_of_memory_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(lines(range(10)))

    def no_memory(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(Scanner, "scan_padded", no_memory)
    with pytest.raises(SourceError, match=f"^{log}: out of memory while indexing it"):
        load_files([log])


def test_the_reader_keeps_within_its_descriptor_budget(tmp_path: Path) -> None:
    files = [tmp_path / f"{n:03}.log" for n in range(40)]
    for n, file in enumerate(files):
        file.write_bytes(lines(range(n * 10, n * 10 + 10)))
    reader = FileReader(budget=5)
    index = Index(reader)
    load(index, reader, expand_paths([str(tmp_path)]))
    before = len(os.listdir("/proc/self/fd"))
    assert sorted(numbers_of(index)) == list(range(400))
    assert len(os.listdir("/proc/self/fd")) - before <= 5
    reader.close()


# -- item 6: damaged .gz files ----------------------------------------------------------------


def test_a_truncated_gz_keeps_what_was_decompressed(tmp_path: Path) -> None:
    packed = gzip.compress(lines(range(2000)))
    (tmp_path / "cut.log.gz").write_bytes(packed[: len(packed) * 2 // 3])
    (tmp_path / "good.log").write_bytes(lines(range(5000, 5100)))
    reader = FileReader()
    index = Index(reader)
    problems = load(index, reader, expand_paths([str(tmp_path)]))
    cut = tmp_path / "cut.log.gz"
    assert problems == [
        f"{cut}: the compressed data ends early (a truncated .gz); the rest is missing"
    ]
    read = numbers_of(index)
    assert read[-100:] == list(range(5000, 5100))
    kept = read[:-100]
    assert len(kept) > 1000 and kept == list(range(len(kept)))
    assert f"{cut} the compressed data ends early (a truncated .gz); the rest is missing" in (
        reasons(index)
    )
    reader.close()


def test_a_file_that_is_not_gzip_is_one_malformed_entry(tmp_path: Path) -> None:
    (tmp_path / "plain.log.gz").write_bytes(lines(range(3)))
    reader = FileReader()
    index = Index(reader)
    problems = load(index, reader, expand_paths([str(tmp_path)]))
    assert len(problems) == 1 and "compressed data is damaged" in problems[0]
    assert index.records == 0 and index.malformed == 1
    reader.close()
