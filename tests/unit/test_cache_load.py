"""The persistent index in use: loading with a cache equals loading without one (records,
order, every column, filters), whatever happened to the files in between; only what is new
is scanned; the commands' --no-cache and the cache command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import tui.sources.local as local
from tests.unit.test_cache import columns_in_order, line, write
from tui.index.filtering import evaluate
from tui.index.index import Index
from tui.query import parse_filter
from tui.query.ast import Node
from tui.sources.cache import SUFFIX, IndexCache
from tui.sources.files import FileReader
from tui.sources.local import expand_paths, load

FILTERS = ("auth:failed", "user=u3 OR client:10.0.1", "query:RETURN -type:Bolt", "/RETURN 1\\d/")


@pytest.fixture(autouse=True)
def cache_small_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cache files of any size (the commands skip those under a megabyte)."""
    monkeypatch.setattr(local, "CACHE_MIN_BYTES", 0)


class Scans:
    """Counts the bytes scanned (not taken from the cache)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.bytes = 0
        original = local._ScanWork.run

        def run(work: local._ScanWork, *args: object) -> object:
            self.bytes += work.end - work.start
            return original(work, *args)  # type: ignore[arg-type]

        monkeypatch.setattr(local._ScanWork, "run", run)


def indexed(directory: Path, cache: IndexCache | None) -> Index:
    reader = FileReader()
    index = Index(reader)
    load(index, reader, expand_paths([str(directory)]), cache=cache)
    return index


def same(a: Index, b: Index) -> None:
    assert columns_in_order(a) == columns_in_order(b)
    assert (a.records, a.malformed, a.lines) == (b.records, b.malformed, b.lines)
    for text in FILTERS:
        node = parse_filter(text)
        assert matches(a, node) == matches(b, node), text


def matches(index: Index, node: Node) -> list[tuple[str, int]]:
    """The entries a filter keeps, in merged order, by file and offset (ids may differ)."""
    order = index.order()
    kept = order[evaluate(index, node).mask[order]]
    sources = index.column("source")[kept].tolist()
    offsets = index.column("offset")[kept].tolist()
    return [(index.sources[s].name, o) for s, o in zip(sources, offsets, strict=True)]


def logs(tmp_path: Path) -> Path:
    directory = tmp_path / "logs"
    directory.mkdir()
    write(directory / "a.log", range(0, 3000))
    write(directory / "b.log", range(3000, 5000))
    return directory


def test_a_warm_load_scans_nothing_and_equals_a_cold_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = logs(tmp_path)
    cache = IndexCache(tmp_path / "cache")
    cold = indexed(directory, cache)
    assert cache.info().entries == 2
    scans = Scans(monkeypatch)
    warm = indexed(directory, cache)
    assert scans.bytes == 0
    same(warm, cold)
    same(warm, indexed(directory, None))


@pytest.mark.parametrize("change", ["grown", "rotated", "replaced", "truncated", "continued"])
def test_after_a_change_a_warm_load_equals_a_cold_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    directory = logs(tmp_path)
    cache = IndexCache(tmp_path / "cache")
    indexed(directory, cache)
    log = directory / "a.log"
    size = log.stat().st_size
    if change == "grown":
        write(log, range(9000, 9100), "a")
    elif change == "rotated":
        log.rename(directory / "a.log.1")
        write(log, range(7000, 7500))
    elif change == "replaced":
        data = log.read_bytes().replace(b"RETURN 1", b"RETURN 9")
        (directory / "new").write_bytes(data)
        os.replace(directory / "new", log)
    elif change == "truncated":
        cut = log.read_bytes().rindex(b"\n", 0, size // 3) + 1
        with log.open("r+b") as handle:
            handle.truncate(cut)
    else:  # a continuation line of the last record, then more records
        with log.open("a") as handle:
            handle.write("  UNION ALL MATCH (m) RETURN m\n" + line(9500) + "\n")
    scans = Scans(monkeypatch)
    warm = indexed(directory, cache)
    if change == "grown":
        assert scans.bytes == log.stat().st_size - size  # only what was appended
    elif change == "continued":
        assert scans.bytes == log.stat().st_size  # the cached last record would be cut
    same(warm, indexed(directory, None))
    # And what was scanned now is kept for next time.
    scans.bytes = 0
    same(indexed(directory, cache), warm)
    assert scans.bytes == 0


def test_a_cut_last_line_is_not_cached(tmp_path: Path) -> None:
    directory = logs(tmp_path)
    with (directory / "a.log").open("a") as handle:
        handle.write(line(9999)[:40])  # a line being written
    cache = IndexCache(tmp_path / "cache")
    indexed(directory, cache)
    assert cache.info().entries == 1  # b.log only


def test_an_unusable_cache_never_fails_a_load(tmp_path: Path) -> None:
    directory = logs(tmp_path)
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache directory should be")
    same(indexed(directory, IndexCache(blocked / "cache")), indexed(directory, None))
    cache = IndexCache(tmp_path / "cache")
    indexed(directory, cache)
    for entry in (tmp_path / "cache").glob(f"*{SUFFIX}"):
        entry.write_bytes(entry.read_bytes()[:100])  # damaged
    same(indexed(directory, cache), indexed(directory, None))


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args], capture_output=True, text=True, env=env, check=False
    )


def test_the_commands_use_the_cache_unless_told_not_to(tmp_path: Path) -> None:
    directory = tmp_path / "logs"
    directory.mkdir()
    write(directory / "big.log", range(0, 12_000))  # over a megabyte: worth caching
    assert (directory / "big.log").stat().st_size >= 1 << 20
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    entries = tmp_path / "xdg" / "neptune-audit" / "index"
    plain = run(
        "query", str(directory), "-f", "auth:failed", "--format", "jsonl", "--no-cache", env=env
    )
    assert plain.returncode == 0 and not entries.exists()
    cold = run("query", str(directory), "-f", "auth:failed", "--format", "jsonl", env=env)
    assert cold.stdout == plain.stdout and len(list(entries.glob(f"*{SUFFIX}"))) == 1
    assert (entries.stat().st_mode & 0o777, next(entries.iterdir()).stat().st_mode & 0o777) == (
        0o700,
        0o600,
    )
    warm = run("query", str(directory), "-f", "auth:failed", "--format", "jsonl", env=env)
    assert warm.stdout == plain.stdout
    stats = run("stats", str(directory), "--format", "json", env=env)
    assert (
        stats.stdout
        == run("stats", str(directory), "--format", "json", "--no-cache", env=env).stdout
    )
    info = run("cache", "--info", env=env)
    assert info.returncode == 0 and str(entries) in info.stdout and "1 files indexed" in info.stdout
    assert "another version" not in info.stdout
    # An entry of another version is told apart (it is indexed again when next opened).
    entry = next(entries.glob(f"*{SUFFIX}"))
    entry.write_bytes(b"NAIDX\x00\x00\x01" + entry.read_bytes()[8:])
    info = run("cache", "--info", env=env)
    assert "1 files indexed" in info.stdout
    assert "1 of them from another version or damaged" in info.stdout, info.stdout
    cleared = run("cache", "--clear", env=env)
    assert cleared.stdout.strip() == "removed 1 cached file"
    assert not list(entries.glob(f"*{SUFFIX}"))
