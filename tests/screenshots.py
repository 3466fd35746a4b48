"""``make screenshots``: SVG screenshots of the real app into ``screenshots/``.

Runs the same scenes as the snapshot tests (``tests/ui/scenes.py``) on a larger sample, from
a temporary directory so the paths on screen are short and the same on every machine.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.ui.conftest import write_scene_logs  # noqa: E402
from tests.ui.scenes import SCENES, Scene, scene_app  # noqa: E402

OUTPUT = ROOT / "screenshots"


async def capture(scene: Scene, target: Path) -> None:
    """Run one scene and save what the terminal shows."""
    app = scene_app(Path("logs"))
    async with app.run_test(size=scene.size) as pilot:
        await scene.steps(pilot, app)
        await pilot.pause()
        target.write_text(app.export_screenshot(title=f"neptune-audit · {scene.description}"))
    app.index.close()


def main() -> int:
    OUTPUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="neptune-audit-shots-") as directory:
        os.chdir(directory)
        os.environ["XDG_STATE_HOME"] = str(Path(directory) / "state")
        os.environ["XDG_CONFIG_HOME"] = str(Path(directory) / "config")
        write_scene_logs(Path("logs"), records=3000)
        for scene in SCENES:
            target = OUTPUT / f"{scene.name}.svg"
            asyncio.run(capture(scene, target))
            print(f"wrote {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
