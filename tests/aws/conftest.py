"""AWS over real HTTP on 127.0.0.1: moto's server for CloudWatch Logs, our fake for RDS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

from tests.fakes import insights
from tests.fakes.rds_server import FakeRds

REGION = "us-east-1"


def bolt_line(epoch_ms: int, client: str, query: str) -> str:
    """One audit line of a Bolt request (no newline)."""
    return (
        f"{epoch_ms}, {client}:4000, 10.0.3.215:8182, Bolt, [unknown], [unknown], [unknown], "
        f"{query}"
    )


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
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    yield


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """moto in server mode, with Logs Insights able to run the queries ``stats`` sends."""
    import moto.logs.models

    original = getattr(moto.logs.models, "execute_query")  # noqa: B009
    setattr(moto.logs.models, "execute_query", insights.execute_query)  # noqa: B010
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        setattr(moto.logs.models, "execute_query", original)  # noqa: B010


@pytest.fixture
def rds() -> Iterator[FakeRds]:
    """Our fake of the RDS log-file API, on loopback."""
    with FakeRds() as fake:
        yield fake
