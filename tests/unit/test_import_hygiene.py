"""The core packages import without the UI toolkit: only tui.ui may import textual."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "tui.model",
        "tui.query",
        "tui.index",
        "tui.sources",
        "tui.sources.local",
        "tui.index.filtering",
        "tui.index.stats",
        "tui.cli.export",
    ],
)
def test_core_imports_without_textual_or_rich(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')); "
        "print(','.join(bad))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
