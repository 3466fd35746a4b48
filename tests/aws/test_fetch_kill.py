"""``fetch`` killed with SIGKILL at random points, while the service repeats lines after every
resumed portion: the files never get shorter, and one normal run leaves them byte-identical to
the server (issue 11, item 7 and its acceptance)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.aws.conftest import cluster, local_files, make_lines
from tests.fakes.rds_server import FakeRds
from tui.sources.demo import INSTANCES

SEED = 20240611
PORTION_BYTES = 48 << 10


def _sizes(directory: Path) -> dict[str, int]:
    """Each file's size, a partial download under the name it will have."""
    found: dict[str, int] = {}
    for path in directory.rglob("*.log*"):
        name = path.name.removeprefix(".").removesuffix(".part")
        key = f"{path.parent.name}/{name}"
        found[key] = max(found.get(key, 0), path.stat().st_size)
    return found


def _command(rds: FakeRds, directory: Path) -> list[str]:
    return [sys.executable, "-m", "tui", "fetch", "--cluster", "demo", "--dir", str(directory),
            "--endpoint-url", rds.url]  # fmt: skip


def test_kill_9_at_random_points_never_shortens_a_file_and_a_last_run_completes(
    rds: FakeRds, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    rds.max_portion_bytes = PORTION_BYTES
    rds.overlap_lines = 3
    contents = cluster(rds, size=400_000, files=2)
    target = tmp_path / "logs"
    seen: dict[str, int] = {}
    killed: list[int] = []

    def never_shorter() -> None:
        current = _sizes(target) if target.exists() else {}
        for name, size in seen.items():
            assert current.get(name, 0) >= size, f"{name} shrank from {size} bytes"
        seen.update(current)

    def run_and_kill(portions: int) -> None:
        """Start a fetch and SIGKILL it once the server has answered about ``portions``
        more portions, a few milliseconds into the next (or when it is done)."""
        calls = rds.calls["DownloadDBLogFilePortion"]
        process = subprocess.Popen(_command(rds, target), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)  # fmt: skip
        deadline = time.monotonic() + 30
        while (
            rds.calls["DownloadDBLogFilePortion"] - calls < portions
            and process.poll() is None
            and time.monotonic() < deadline
        ):
            time.sleep(0.001)
        time.sleep(rng.random() * 0.008)
        process.send_signal(signal.SIGKILL)
        _, err = process.communicate(timeout=30)
        assert process.returncode in (0, -signal.SIGKILL), err.decode()
        if process.returncode:
            killed.append(rds.calls["DownloadDBLogFilePortion"] - calls)
        never_shorter()

    for _ in range(3):  # the first download, killed three times
        run_and_kill(rng.randrange(1, 16))  # of about 55 portions
    for index, instance in enumerate(INSTANCES):  # the files grow: resumed runs with overlap
        for k in range(2):
            size = rng.randrange(150_000, 300_000)
            more = make_lines(instance, seed=100 + 10 * index + k, size=size)
            rds.append(instance, f"audit/audit.log.{k}", more)
            contents[f"{instance}/audit_audit.log.{k}"] += more
    for _ in range(3):
        run_and_kill(rng.randrange(1, 10))  # of about 30 portions
    assert len(killed) >= 4, killed  # most runs were cut short, in the middle
    finished = subprocess.run(_command(rds, target), capture_output=True, text=True, timeout=60)
    assert finished.returncode == 0, finished.stderr
    assert "kept as" not in finished.stderr and "Traceback" not in finished.stderr
    never_shorter()
    assert local_files(target) == contents
    assert not any(name.endswith(".part") for name in os.listdir(target / INSTANCES[0]))
