"""AWS over real HTTP on 127.0.0.1: moto's server for CloudWatch Logs, our fake for RDS."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

from tests.fakes import insights
from tests.fakes.rds_server import FakeRds
from tui.cli import main
from tui.sources.aws.rds_logs import LOCK_FILE, STATE_FILE
from tui.sources.demo import INSTANCES, iter_lines

REGION = "us-east-1"


def bolt_line(epoch_ms: int, client: str, query: str) -> str:
    """One audit line of a Bolt request (no newline)."""
    return (
        f"{epoch_ms}, {client}:4000, 10.0.3.215:8182, Bolt, [unknown], [unknown], [unknown], "
        f"{query}"
    )


def make_lines(instance: str, seed: int, size: int) -> bytes:
    """Realistic audit lines for ``instance``, about ``size`` bytes."""
    count = size // 400 + 10
    data = "".join(line + "\n" for line in iter_lines(count, seed=seed, instance=instance)).encode()
    return data[: data.rfind(b"\n", 0, size) + 1] if len(data) > size else data


def cluster(
    fake: FakeRds, name: str = "demo", size: int = 1 << 20, files: int = 3
) -> dict[str, bytes]:
    """A cluster with a writer and two readers, ``files`` audit files each."""
    fake.add_cluster(name, writer=INSTANCES[0], readers=list(INSTANCES[1:]))
    contents: dict[str, bytes] = {}
    for i, instance in enumerate(INSTANCES):
        for k in range(files):
            data = make_lines(instance, seed=10 * i + k, size=size)
            fake.add_instance_file(instance, f"audit/audit.log.{k}", data)
            contents[f"{instance}/audit_audit.log.{k}"] = data
    return contents


def fetch(
    capsys: pytest.CaptureFixture[str],
    fake: FakeRds,
    directory: Path,
    *extra: str,
    target: Sequence[str] = (),
) -> tuple[int, str, str]:
    """``fetch`` of ``target`` (default: ``--cluster demo``) into ``directory``."""
    selection = target or ("--cluster", "demo")
    code = main(["fetch", *selection, "--dir", str(directory), "--endpoint-url", fake.url, *extra])
    out, err = capsys.readouterr()
    return code, out, err


def local_files(directory: Path) -> dict[str, bytes]:
    """Every file below ``directory`` (but the state and the lock) by relative path."""
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in directory.rglob("*")
        if path.is_file() and path.name not in (STATE_FILE, LOCK_FILE)
    }


@pytest.fixture(autouse=True)
def aws_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Test credentials and region, a private cache, and never a real AWS endpoint."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # Beside the test's directory, not in it: fetch tests compare every file they fetched.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path.with_name(tmp_path.name + "-xdg")))
    yield


#: The Logs Insights fake behind moto (one per session, reset for each test).
INSIGHTS = insights.FakeInsights()


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """moto in server mode, with our Logs Insights (``tests.fakes.insights``) behind it."""
    undo = INSIGHTS.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        undo()


@pytest.fixture
def insights_fake(moto_url: str) -> Iterator[insights.FakeInsights]:
    """The Insights fake, with its defaults again after the test."""
    INSIGHTS.reset()
    try:
        yield INSIGHTS
    finally:
        INSIGHTS.reset()


@pytest.fixture
def rds() -> Iterator[FakeRds]:
    """Our fake of the RDS log-file API, on loopback."""
    with FakeRds() as fake:
        yield fake
