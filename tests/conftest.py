"""Shared fixtures: generated sample logs and indexes built from them."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

from tui.index.index import Index
from tui.sources.demo import SampleTruth, write_sample
from tui.sources.files import FileReader
from tui.sources.local import expand_paths, load

os.environ.setdefault("TZ", "UTC")
# The persistent index and downloads of every test (and of the commands they run) go to a
# directory of this run, never the user's cache.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="neptune-audit-tests-")
# Property tests check behaviour, not speed: a shared CI machine must not fail them on time.
settings.register_profile("neptune-audit", deadline=None)
settings.load_profile("neptune-audit")


@dataclass
class Loaded:
    """An index and what was written to build it."""

    index: Index
    truth: SampleTruth
    directory: Path


def load_files(
    paths: Sequence[str | Path], *, workers: int | None = None, partial_last_line: bool = True
) -> tuple[Index, FileReader]:
    """Index files the way the commands do; the index and the reader of its files."""
    reader = FileReader()
    index = Index(reader)
    load(
        index,
        reader,
        expand_paths([str(p) for p in paths]),
        workers=workers,
        partial_last_line=partial_last_line,
    )
    return index, reader


def build_index(
    paths: Sequence[str | Path], *, workers: int | None = None, partial_last_line: bool = True
) -> Index:
    """Index files the way the commands do (the temporary .gz copies stay until closed)."""
    return load_files(paths, workers=workers, partial_last_line=partial_last_line)[0]


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """A 3000-record cluster sample (with malformed lines and a .gz file), indexed."""
    directory = tmp_path_factory.mktemp("sample")
    truth = write_sample(directory, records=3000, seed=7, malformed=4, gzip_one=True)
    index = build_index([directory])
    yield Loaded(index=index, truth=truth, directory=directory)
    index.close()


@pytest.fixture
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Filter history and keymap live in a temporary home, never the user's."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    yield tmp_path
