"""SVG snapshots of the viewer's screens (update with ``pytest --snapshot-update``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.ui.conftest import write_scene_logs
from tests.ui.scenes import SCENES, Scene, scene_app


@pytest.fixture(scope="module")
def scene_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding ``logs/``: scenes run from it, so paths on screen are relative."""
    root = tmp_path_factory.mktemp("scenes")
    write_scene_logs(root / "logs")
    return root


@pytest.mark.parametrize("scene", SCENES, ids=[scene.name for scene in SCENES])
def test_scene(
    scene: Scene,
    scene_root: Path,
    snap_compare: Callable[..., bool],
    monkeypatch: pytest.MonkeyPatch,
    state_home: Path,
) -> None:
    monkeypatch.chdir(scene_root)
    app = scene_app(Path("logs"))

    async def run_before(pilot: Pilot[Any]) -> None:
        await scene.steps(pilot, app)

    assert snap_compare(app, terminal_size=scene.size, run_before=run_before)
