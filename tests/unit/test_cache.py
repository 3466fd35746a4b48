"""The persistent index: when a cache entry still stands for its file and when it must not,
and that an index built from cache entries equals one built by scanning."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import load_files
from tui.index.index import Index
from tui.sources.cache import MAGIC, SUFFIX, VERSION, IndexCache, _checksum
from tui.sources.files import FileReader

BASE_MS = 1_700_000_000_000


def line(n: int) -> str:
    return (
        f"{BASE_MS + (n * 7919) % 5000}, 10.0.{n % 7}.{n % 200}:4{n % 10000:04d}, "
        f"10.0.3.215:8182, Bolt, arn:aws:iam::123456789012:user/u{n % 5}, "
        f"{{authenticationSucceeded={'false' if n % 13 == 0 else 'true'}}}, [unknown], "
        f"MATCH (n) RETURN {n}"
    )


def write(path: Path, numbers: range, mode: str = "w") -> Path:
    with path.open(mode) as handle:
        handle.write("".join(line(n) + "\n" for n in numbers))
    return path


def cache_for(tmp_path: Path) -> IndexCache:
    return IndexCache(tmp_path / "cache")


def save_all(cache: IndexCache, index: Index, reader: FileReader) -> None:
    for source in index.sources:
        cache.save(reader.path(source.id), index.source_span(source.id), source.end)


def columns_in_order(index: Index) -> dict[str, list[object]]:
    order = index.order()
    out: dict[str, list[object]] = {}
    for name in (
        "offset",
        "length",
        "line",
        "kind",
        "epoch_us",
        "port",
        "auth",
        "lang",
        "header_at",
    ):
        out[name] = index.column(name)[order].tolist()
    for name in ("type", "client", "server", "principal", "method", "path", "reason"):
        out[name] = [index.value(name, int(code)) for code in index.column(name)[order]]
    out["source"] = [index.sources[int(s)].name for s in index.column("source")[order]]
    return out


def test_an_unchanged_file_is_a_full_hit_and_equals_a_scan(tmp_path: Path) -> None:
    log = write(tmp_path / "audit.log", range(3000))
    index, reader = load_files([log])
    cache = cache_for(tmp_path)
    save_all(cache, index, reader)
    hit = cache.lookup(log)
    assert hit is not None and not hit.grown and hit.span.end == log.stat().st_size
    again_reader = FileReader()
    again = Index(again_reader)
    source = again.add_source(str(log))
    again_reader.register(source.id, log)
    again.commit(source.id, hit.span)
    assert columns_in_order(again) == columns_in_order(index)
    assert (again.records, again.malformed, again.lines) == (
        index.records,
        index.malformed,
        index.lines,
    )
    assert cache.info().entries == 1
    entry = next((tmp_path / "cache").glob(f"*{SUFFIX}"))
    assert entry.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "cache").stat().st_mode & 0o777 == 0o700


def test_a_grown_file_reuses_the_old_part(tmp_path: Path) -> None:
    log = write(tmp_path / "audit.log", range(1000))
    index, reader = load_files([log])
    cache = cache_for(tmp_path)
    save_all(cache, index, reader)
    old_size = log.stat().st_size
    write(log, range(1000, 1500), "a")
    hit = cache.lookup(log)
    assert hit is not None and hit.grown and hit.span.end == old_size


@pytest.mark.parametrize(
    "change", ["rotated", "replaced_same_size", "truncated", "rewritten", "edited_in_the_middle"]
)
def test_a_changed_file_is_not_a_hit(tmp_path: Path, change: str) -> None:
    log = write(tmp_path / "audit.log", range(1000))
    index, reader = load_files([log])
    cache = cache_for(tmp_path)
    save_all(cache, index, reader)
    size = log.stat().st_size
    if change == "rotated":
        log.rename(tmp_path / "audit.log.1")
        write(log, range(1000, 2000))
    elif change == "replaced_same_size":
        data = log.read_bytes()
        replaced = tmp_path / "new.log"
        replaced.write_bytes(data.replace(b"RETURN 1", b"RETURN 7"))
        assert replaced.stat().st_size == size
        os.replace(replaced, log)
    elif change == "truncated":
        with log.open("r+b") as handle:
            handle.truncate(size // 2)
    elif change == "rewritten":  # same inode, same size, different bytes at the end
        with log.open("r+b") as handle:
            handle.seek(size - 20)
            handle.write(b"x" * 19)
    else:  # same inode, size, head and tail: a record in the middle altered
        before = log.stat().st_mtime_ns
        with log.open("r+b") as handle:
            handle.seek(size // 2)
            handle.write(b"7")
        os.utime(log, ns=(before + 10**9, before + 10**9))
    assert cache.lookup(log) is None


def test_a_loose_cache_directory_is_made_private_and_another_users_is_not_used(
    tmp_path: Path,
) -> None:
    log = write(tmp_path / "audit.log", range(100))
    index, reader = load_files([log])
    cache = cache_for(tmp_path)
    save_all(cache, index, reader)
    os.chmod(cache.directory, 0o777)
    assert cache.lookup(log) is not None
    assert cache.directory.stat().st_mode & 0o777 == 0o700
    if os.getuid() != 0:
        return  # (only root can give a directory to another user)
    os.chown(cache.directory, 12345, 12345)
    assert cache.lookup(log) is None
    os.chown(cache.directory, 0, 0)
    assert cache.lookup(log) is not None


@pytest.mark.parametrize(
    "damage", ["truncate", "flip", "swap", "garbage", "empty", "foreign", "old_version"]
)
def test_a_damaged_entry_is_ignored_and_removed(tmp_path: Path, damage: str) -> None:
    log = write(tmp_path / "audit.log", range(3000))
    index, reader = load_files([log])
    cache = cache_for(tmp_path)
    save_all(cache, index, reader)
    entry = next((tmp_path / "cache").glob(f"*{SUFFIX}"))
    data = entry.read_bytes()
    if damage == "truncate":
        entry.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        middle = len(data) // 2
        entry.write_bytes(data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :])
    elif damage == "swap":  # two 4 kB blocks change places: every word is still there
        block = 4096
        first, second = (len(data) // block - 3) * block, (len(data) // block - 2) * block
        assert data[first : first + block] != data[second : second + block]
        entry.write_bytes(
            data[:first]
            + data[second : second + block]
            + data[first + block : second]
            + data[first : first + block]
            + data[second + block :]
        )
    elif damage == "garbage":
        entry.write_bytes(os.urandom(4096))
    elif damage == "empty":
        entry.write_bytes(b"")
    elif damage == "foreign":
        np.savez(entry.with_suffix(".tmp.npz"), header=np.zeros(3), checksum=np.zeros(2))
        shutil.move(entry.with_suffix(".tmp.npz"), entry)
    else:  # an entry of another version, otherwise intact
        body = data[:-16].replace(MAGIC, MAGIC[:-1] + bytes([VERSION + 1]), 1)
        entry.write_bytes(body + _checksum(np.frombuffer(body, np.uint8)))
    assert cache.lookup(log) is None
    assert not entry.exists()


def test_the_entries_an_entry_holds_are_read_from_its_header(tmp_path: Path) -> None:
    """What a load reserves room for before it looks entries up: 0 for no entry or a
    damaged one."""
    log = write(tmp_path / "audit.log", range(700))
    index, reader = load_files([log])
    cache = cache_for(tmp_path)
    assert cache.entries(log) == 0
    save_all(cache, index, reader)
    assert cache.entries(log) == index.size == 700
    entry = next((tmp_path / "cache").glob(f"*{SUFFIX}"))
    entry.write_bytes(entry.read_bytes()[:40])
    assert cache.entries(log) == 0


def test_an_unwritable_cache_directory_is_not_an_error(tmp_path: Path) -> None:
    log = write(tmp_path / "audit.log", range(100))
    index, reader = load_files([log])
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the directory should be")
    cache = IndexCache(blocked / "cache")
    save_all(cache, index, reader)  # no exception
    assert cache.lookup(log) is None
    assert cache.info().entries == 0


def test_the_cache_is_bounded(tmp_path: Path) -> None:
    logs = [write(tmp_path / f"a{i}.log", range(i * 500, i * 500 + 500)) for i in range(4)]
    index, reader = load_files(logs)
    probe = cache_for(tmp_path)
    save_all(probe, index, reader)
    one = probe.info().bytes // 4
    probe.clear()
    cache = IndexCache(tmp_path / "cache", limit=int(one * 2.5))
    save_all(cache, index, reader)
    assert cache.info().entries == 2 and cache.info().bytes <= cache.limit
    assert cache.clear() == 2 and cache.info().entries == 0


def test_an_entry_keeps_arrays_narrow_when_their_values_fit_and_wide_when_not() -> None:
    """Reopening reads and checks every byte of an entry: codes are kept in 16 bits, offsets,
    line numbers and the order in 32, unless a value needs more (a file over 4 GB, a
    column of over 65,535 values)."""
    from dataclasses import replace

    from tui.index.scan import Scanner, SpanData
    from tui.sources.cache import Identity, _decode, _encode

    data = "".join(line(n) + "\n" for n in range(200)).encode()
    span = Scanner().scan(data, file_offset=0, at_file_start=True, final=True)
    span.local_order = np.argsort(span.columns["epoch_us"], kind="stable")
    identity = Identity(1, 2, span.end, 3, "head", "tail")

    def round_trip(span: SpanData) -> tuple[bytes, dict[str, np.ndarray]]:
        entry = _encode(identity, span)
        _, decoded = _decode(np.frombuffer(entry, np.uint8).copy())
        columns = dict(decoded.columns)
        assert decoded.local_order is not None
        columns["local_order"] = decoded.local_order
        return entry, columns

    _, narrow = round_trip(span)
    for name in ("type", "client", "principal", "path"):
        assert narrow[name].dtype == np.uint16
    for name in ("offset", "line"):
        assert narrow[name].dtype == np.uint32
    assert narrow["local_order"].dtype == np.int32
    for name, column in span.columns.items():
        assert narrow[name].tolist() == column.tolist(), name

    wide_columns = dict(span.columns)
    wide_columns["offset"] = span.columns["offset"] + (5 << 30)
    wide_columns["client"] = np.full(len(span.columns["client"]), 70_000, np.uint32)
    values = dict(span.new_values)
    values["client"] = (1, [f"10.{n >> 16}.{(n >> 8) & 255}.{n & 255}" for n in range(70_000)])
    wide = replace(span, columns=wide_columns, new_values=values)
    _, decoded = round_trip(wide)
    assert decoded["offset"].dtype == np.int64 and decoded["client"].dtype == np.uint32
    assert decoded["offset"].tolist() == wide_columns["offset"].tolist()
    assert decoded["client"].tolist() == [70_000] * len(span.columns["client"])
