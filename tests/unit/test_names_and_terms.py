"""Instance names in every output (one name per instance, from the place of its files, else
a learned host name, else the address) and ``client:``/``server:`` terms with a port as
exported (issue 10, items 8 and 11)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tui.cli.main import main


def record(t_ms: int, client: str, server: str, n: int) -> str:
    return (
        f"{t_ms}, {client}, {server}, Bolt, [unknown], [unknown], [unknown], MATCH (n) RETURN {n}\n"
    )


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(list(args)) == 0
    return capsys.readouterr().out


def instances(capsys: pytest.CaptureFixture[str], *paths: str) -> dict[str, str]:
    """Each record's query (by its number) and instance, from jsonl and csv alike."""
    jsonl = run(capsys, "query", *paths, "--format", "jsonl")
    rows = [json.loads(text) for text in jsonl.splitlines()]
    from_json = {row["query"]: row["instance"] for row in rows}
    table = run(capsys, "query", *paths, "--format", "csv")
    from_csv = {row["query"]: row["instance"] for row in csv.DictReader(io.StringIO(table))}
    assert from_json == from_csv
    return from_json


def test_a_parent_directory_names_instances_by_their_own_folders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = tmp_path / "root" / "cluster-a"
    for number, name in enumerate(("db-1", "db-2")):
        (cluster / name).mkdir(parents=True)
        (cluster / name / "audit.log").write_text(
            record(1_700_000_000_000 + number, "10.9.0.1:40001", f"10.1.0.1{number}:8182", number)
        )
    expected = {"MATCH (n) RETURN 0": "db-1", "MATCH (n) RETURN 1": "db-2"}
    assert instances(capsys, str(tmp_path / "root")) == expected  # not "cluster-a"
    assert instances(capsys, str(cluster)) == expected


def test_one_name_per_server_address_learned_from_any_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "audit.log"
    log.write_text(
        record(1_700_000_000_000, "10.9.0.1:40001", "10.1.0.10:8182", 0)
        + record(1_700_000_000_001, "10.9.0.1:40001", "ip-10-1-0-10.ec2.internal/10.1.0.10:8182", 1)
        + record(1_700_000_000_002, "10.9.0.1:40001", "10.1.0.11:8182", 2)
        + record(1_700_000_000_003, "10.9.0.1:40001", "10.1.0.12:8182", 3)
    )
    named = instances(capsys, str(log))
    assert named["MATCH (n) RETURN 0"] == named["MATCH (n) RETURN 1"]  # one instance, one name
    assert named["MATCH (n) RETURN 0"].startswith("ip-10-1-0-10")
    assert named["MATCH (n) RETURN 2"] != named["MATCH (n) RETURN 3"]  # never just "10"
    assert "10.1.0.11" in named["MATCH (n) RETURN 2"]
    only = run(capsys, "query", str(log), "-f", f"instance={named['MATCH (n) RETURN 0']}",
               "--format", "jsonl")  # fmt: skip
    assert len(only.splitlines()) == 2


@pytest.mark.parametrize(
    ("term", "count"),
    [
        ("client:10.9.0.1:40001", 1),  # pasted from the output: address and port
        ("client=10.9.0.1:40001", 1),
        ("client:10.9.0.1", 2),
        ("client:0.1:4000", 2),  # a substring of the value as exported
        ("server:10.1.0.10:8182", 1),
        ("client:10.9.0.1:40003", 0),
    ],
)
def test_client_and_server_terms_read_the_value_as_exported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], term: str, count: int
) -> None:
    log = tmp_path / "audit.log"
    log.write_text(
        record(1_700_000_000_000, "10.9.0.1:40001", "10.1.0.10:8182", 0)
        + record(1_700_000_000_001, "10.9.0.1:40002", "10.1.0.11:8182", 1)
    )
    out = run(capsys, "query", str(log), "-f", term, "--format", "jsonl")
    assert len(out.splitlines()) == count
