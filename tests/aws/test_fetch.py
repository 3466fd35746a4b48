"""Fetching audit logs through the RDS log-file API, against our fake on loopback."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.aws.conftest import cluster, fetch, local_files, make_lines
from tests.fakes.rds_server import FakeRds
from tui.sources.aws.rds_logs import STATE_FILE, Fetcher
from tui.sources.aws.session import AwsError, AwsOptions
from tui.sources.demo import INSTANCES

FILE_BYTES = 20 << 20


def test_three_instances_of_three_twenty_megabyte_files_arrive_byte_identical(
    rds: FakeRds, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    contents = cluster(rds, size=FILE_BYTES)
    started = time.perf_counter()
    code, out, err = fetch(capsys, rds, tmp_path)
    elapsed = time.perf_counter() - started
    assert code == 0, err
    assert local_files(tmp_path) == contents
    total = sum(len(data) for data in contents.values())
    assert rds.bytes_sent == total
    assert f"9 files from 3 instances into {tmp_path}: 9 updated" in out
    print(f"fetched {total / 1e6:.0f} MB in {elapsed:.2f} s ({total / 1e6 / elapsed:.0f} MB/s)")


def test_second_fetch_transfers_nothing_and_third_only_what_was_appended(
    rds: FakeRds, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    contents = cluster(rds)
    assert fetch(capsys, rds, tmp_path)[0] == 0
    sent = rds.bytes_sent
    code, out, _ = fetch(capsys, rds, tmp_path)
    assert code == 0 and rds.bytes_sent == sent and ": 0 updated, 0.0 MB new" in out
    extra = make_lines(INSTANCES[1], seed=99, size=300_000)
    rds.append(INSTANCES[1], "audit/audit.log.2", extra)
    rds.add_instance_file(INSTANCES[2], "audit/audit.log.3", extra)  # a new file
    assert fetch(capsys, rds, tmp_path)[0] == 0
    assert rds.bytes_sent - sent == 2 * len(extra)
    contents[f"{INSTANCES[1]}/audit_audit.log.2"] += extra
    contents[f"{INSTANCES[2]}/audit_audit.log.3"] = extra
    assert local_files(tmp_path) == contents


def test_repeated_data_after_a_resume_is_dropped(
    rds: FakeRds, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    contents = cluster(rds, files=1)
    assert fetch(capsys, rds, tmp_path)[0] == 0
    rds.overlap_lines = 3
    extra = make_lines(INSTANCES[0], seed=7, size=50_000)
    rds.append(INSTANCES[0], "audit/audit.log.0", extra)
    assert fetch(capsys, rds, tmp_path)[0] == 0
    contents[f"{INSTANCES[0]}/audit_audit.log.0"] += extra
    assert local_files(tmp_path) == contents


def test_throttling_and_connection_resets_mid_fetch_change_nothing(
    rds: FakeRds, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    contents = cluster(rds, size=3 << 20)
    rds.fail("DownloadDBLogFilePortion", "throttle", times=3, after=2)
    rds.fail("DownloadDBLogFilePortion", "reset", times=2, after=6)
    rds.fail("DownloadDBLogFilePortion", "500", times=1, after=9)
    code, _, err = fetch(capsys, rds, tmp_path)
    assert code == 0, err
    assert local_files(tmp_path) == contents


def test_network_failure_mid_download_resumes_on_the_next_run(
    rds: FakeRds, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    contents = cluster(rds, size=3 << 20)
    rds.fail("DownloadDBLogFilePortion", "partial", times=1, after=4)
    code, out, err = fetch(capsys, rds, tmp_path)
    last = err.splitlines()[-1]  # after the lines of files that did complete
    assert code == 2 and out == "" and last.startswith("neptune-audit: network failure")
    assert "next run resumes" in last and "Content-Type" not in err
    partial = local_files(tmp_path)
    assert any(name.endswith(".part") for name in partial)  # not visible as complete
    assert fetch(capsys, rds, tmp_path)[0] == 0
    assert local_files(tmp_path) == contents


def test_truncated_portions_are_asked_again_with_fewer_lines(rds: FakeRds, tmp_path: Path) -> None:
    contents = cluster(rds, files=1, size=600_000)
    rds.max_portion_bytes = 64 << 10
    fetcher = Fetcher(
        AwsOptions(region="us-east-1", endpoint_url=rds.url), tmp_path, initial_lines=10_000
    )
    fetcher.fetch(cluster="demo")
    assert local_files(tmp_path) == contents
    downloads = [r for r in rds.requests if r[0] == "DownloadDBLogFilePortion"]
    assert any("NumberOfLines" in params for _, params in downloads)


def test_rotated_in_place_file_keeps_the_previous_copy(
    rds: FakeRds, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    contents = cluster(rds, files=1)
    assert fetch(capsys, rds, tmp_path)[0] == 0
    new = make_lines(INSTANCES[0], seed=55, size=20_000)
    rds.rotate(INSTANCES[0], "audit/audit.log.0", new)
    rds.remove_file(INSTANCES[1], "audit/audit.log.0")
    code, out, err = fetch(capsys, rds, tmp_path)
    assert code == 0
    assert "was overwritten; the previous copy is kept" in err
    assert "rotated away on the instance; the local copy is kept" in err
    files = local_files(tmp_path)
    assert files[f"{INSTANCES[0]}/audit_audit.log.0"] == new
    old = [v for k, v in files.items() if k.startswith(f"{INSTANCES[0]}/audit_audit.log.0.")]
    assert old == [contents[f"{INSTANCES[0]}/audit_audit.log.0"]]
    assert (
        files[f"{INSTANCES[1]}/audit_audit.log.0"] == contents[f"{INSTANCES[1]}/audit_audit.log.0"]
    )


def test_state_file_records_markers(
    rds: FakeRds, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster(rds, files=1)
    assert fetch(capsys, rds, tmp_path)[0] == 0
    state = json.loads((tmp_path / STATE_FILE).read_text())["files"]
    assert set(state) == {f"{i}/audit/audit.log.0" for i in INSTANCES}
    assert all(entry["complete"] and entry["marker"] for entry in state.values())


@pytest.mark.parametrize(
    ("setup", "arguments", "message"),
    [
        ("expired", [], "the AWS credentials have expired"),
        ("denied", [], "access denied: the credentials may not call rds:DownloadDBLogFilePortion"),
        ("invalid", [], "the AWS credentials are not valid"),
        ("none", ["--cluster", "nope"], "no Neptune cluster 'nope'"),
        ("none", ["--instance", "nope"], "no database instance 'nope'"),
        ("no-audit", [], "neptune_enable_audit_log=1"),
        ("throttled", [], "AWS kept throttling DescribeDBClusters"),
        ("no-credentials", [], "no AWS credentials found"),
    ],
)
def test_errors_are_one_line_with_exit_code_2(
    rds: FakeRds,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    setup: str,
    arguments: list[str],
    message: str,
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    if setup == "no-audit":
        rds.add_cluster("demo", writer="db-1")
        rds.add_instance_file("db-1", "error/neptune.log", b"not audit\n")
    else:
        cluster(rds, files=1, size=10_000)
    if setup == "expired":
        rds.fail("DescribeDBClusters", "expired_token")
    elif setup == "denied":
        rds.deny.add("DownloadDBLogFilePortion")
    elif setup == "invalid":
        rds.fail("DescribeDBClusters", "invalid_token")
    elif setup == "throttled":
        rds.fail("DescribeDBClusters", "throttle", times=10)
    elif setup == "no-credentials":
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    code, out, err = fetch(capsys, rds, tmp_path, target=arguments)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert "testing" not in err


def test_fetcher_error_type() -> None:
    assert issubclass(AwsError, Exception)
