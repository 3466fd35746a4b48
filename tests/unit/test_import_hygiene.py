"""Import hygiene: only tui.ui imports textual, the headless commands never load the UI
toolkit, and boto3 is imported only under tui/sources/aws (harlequin does the same check)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "tui"


@pytest.mark.parametrize(
    "module",
    [
        "tui.model",
        "tui.model.gremlin_lexer",
        "tui.insight",
        "tui.query",
        "tui.index",
        "tui.index.schema",
        "tui.index.filtering",
        "tui.index.stats",
        "tui.view",
        "tui.view.cells",
        "tui.sources",
        "tui.sources.local",
        "tui.sources.files",
        "tui.sources.follow",
        "tui.sources.demo",
        "tui.cli",
        "tui.cli.export",
    ],
)
def test_core_imports_without_textual_rich_or_boto3(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "bad = sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('textual', 'rich', 'boto3', 'botocore')); "
        "print(','.join(bad))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


@pytest.mark.parametrize("command", [["stats"], ["query", "--format", "jsonl"], ["query"]])
def test_headless_commands_never_load_the_ui(command: list[str], tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_text(
        "1700000000123, 10.0.1.18:34266, 10.0.3.215:8182, Bolt, [unknown], [unknown], "
        "[unknown], MATCH (n) RETURN n\n"
    )
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tui", *command, str(log)],
        capture_output=True,
        text=True,
        check=True,
    )
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert not {m for m in imported if m.split(".")[0] in ("textual", "boto3", "botocore")}
    assert not {m for m in imported if m.startswith(("rich.live", "rich.progress"))}


def test_textual_only_under_ui_and_boto3_only_under_sources_aws() -> None:
    importing = re.compile(r"^\s*(?:from|import)\s+(textual|boto3|botocore)\b", re.MULTILINE)
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        for found in importing.findall(path.read_text()):
            if found == "textual":
                assert relative.startswith("ui/"), relative
            else:
                assert relative.startswith("sources/aws/"), relative


@pytest.mark.parametrize("files", [1, 3])
def test_stats_of_small_files_without_a_filter_loads_only_what_it_uses(
    tmp_path: Path, files: int
) -> None:
    """Start-up (issue 13, target 6): no filter parser, evaluator, RE2, persistent index
    (with --no-cache), thread pool or temporary files for small files (a few together
    are scanned in one thread too), and no shutil (with bz2 and lzma), which argparse's
    help layout and removing temporary files would import."""
    for number in range(files):
        (tmp_path / f"audit.log.{number}").write_text(
            f"170000000012{number}, 10.0.1.18:34266, 10.0.3.215:8182, Bolt, [unknown], "
            "[unknown], [unknown], MATCH (n) RETURN n\n"
        )
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tui", "stats", "--no-cache", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert re.search(rf"^records +{files}$", done.stdout, re.MULTILINE)
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    heavy = {
        "tui.query.parser",
        "tui.query.ast",
        "tui.index.filtering",
        "tui.index.textscan",
        "re2",
        "tui.sources.cache",
        "hashlib",
        "concurrent.futures",
        "tempfile",
        "gzip",
        "shutil",
        "lzma",
    }
    assert imported.isdisjoint(heavy), sorted(imported & heavy)


@pytest.mark.parametrize(
    ("name", "given", "expected", "numpy_sees"),
    [
        ("OPENBLAS_NUM_THREADS", None, "1", ""),
        ("OPENBLAS_NUM_THREADS", "4", "4", ""),
        ("NUMPY_MADVISE_HUGEPAGE", None, "0", "False"),
        ("NUMPY_MADVISE_HUGEPAGE", "1", "1", "True"),
    ],
)
def test_the_command_sets_numpy_up_for_itself_unless_told(
    name: str, given: str | None, expected: str, numpy_sees: str
) -> None:
    """Nothing here does linear algebra: OpenBLAS's thread pool doubled a short run's CPU
    time (issue 13, target 6). Huge pages for numpy's arrays raised the peak memory of a
    1 GB load by a tenth (target 5). A user's own setting stands."""
    code = (
        "import os, sys; from unittest import mock; import tui.entry; "
        "sys.modules['tui.cli.main'] = mock.Mock(main=lambda: 0); "
        "exec('try:\\n tui.entry.run()\\nexcept SystemExit: pass'); "
        f"print(os.environ[{name!r}]); import numpy; "
        "print(numpy._core.multiarray._get_madvise_hugepage())"
    )
    env = {key: value for key, value in os.environ.items() if key != name}
    if given is not None:
        env[name] = given
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    setting, hugepages = done.stdout.split()
    assert setting == expected
    assert not numpy_sees or hugepages == numpy_sees
