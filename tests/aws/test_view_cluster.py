"""``view --cluster --follow``: records appended on the server show up in the viewer."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tests.aws.conftest import bolt_line
from tests.fakes.rds_server import FakeRds
from tests.ui.conftest import NOW, wait_ready
from tui.cli.aws import cluster_files
from tui.cli.main import build_parser
from tui.model.record import Record
from tui.ui.app import NeptuneAuditApp

POLL_S = 1.0


def line(n: int) -> str:
    return (
        bolt_line(1795521000000 + n, f"10.5.5.{n % 250}", f"MATCH (n) RETURN 'remote-{n}'") + "\n"
    )


async def test_records_appended_on_the_server_appear_within_two_polls(
    rds: FakeRds, tmp_path: Path
) -> None:
    rds.add_cluster("demo", writer="db-1", readers=["db-2"])
    rds.add_instance_file("db-1", "audit/audit.log.0", "".join(line(n) for n in range(10)).encode())
    rds.add_instance_file("db-2", "audit/audit.log.0", b"")
    args = build_parser().parse_args(
        ["view", "--cluster", "demo", "--dir", str(tmp_path / "cache"), "--region", "us-east-1",
         "--endpoint-url", rds.url, "--follow", "--interval", str(POLL_S)]
    )  # fmt: skip
    paths, jobs, label = cluster_files(args)
    app = NeptuneAuditApp(
        paths, clock=lambda: NOW, keymap={}, follow=True, follow_interval=0.1,
        background=jobs, live_label=label,
    )  # fmt: skip
    async with app.run_test(size=(120, 30)):
        await wait_ready(app)
        assert app.index.records == 10 and "polling demo" in label
        rds.append("db-2", "audit/audit.log.0", "".join(line(n) for n in range(10, 15)).encode())
        written = time.monotonic()
        while len(app.view.ids) < 15:
            assert time.monotonic() - written < 2 * POLL_S, "not shown within two polls"
            await asyncio.sleep(0.05)
        newest = app.index.entry(int(app.view.ids[-1]))
        assert isinstance(newest, Record) and "remote-14" in newest.raw
        assert "polling demo every 1 s" in str(app.query_one("#status").content)  # type: ignore[attr-defined]
