"""The fake RDS server, exercised only through an unmodified boto3 client (and raw HTTP)."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError
from botocore.parsers import ResponseParserError
from mypy_boto3_rds import RDSClient

from tests.fakes import TRUNCATION_NOTICE, FakeRds
from tests.fakes.rds_server import envelope, portion_xml

ClientFactory = Callable[..., RDSClient]

#: Everything a byte-exact transfer must survive.
TRICKY = (
    "  two leading spaces\n"
    "\n"
    "\n"
    "\ttab, trailing spaces  \n"
    "crlf line\r\n"
    "lone\rcarriage return\n"
    "non-ASCII: café, 日本語, ☃, 🚀\n"
    'xml: <a href="x">&amp; \' " ]]> </a>\n'
    "    \n"
    "last line\n"
)
ONE_ATTEMPT = Config(retries={"total_max_attempts": 1})


@pytest.fixture
def rds() -> Iterator[FakeRds]:
    with FakeRds() as fake:
        yield fake


@pytest.fixture
def make_client(rds: FakeRds) -> ClientFactory:
    def make(config: Config | None = None) -> RDSClient:
        return boto3.client(
            "rds",
            endpoint_url=rds.url,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="y",
            config=config or Config(retries={"mode": "standard"}),
        )

    return make


@pytest.fixture
def client(make_client: ClientFactory) -> RDSClient:
    return make_client()


def portion(
    client: RDSClient, marker: str | None = "0", lines: int | None = None, name: str = "f.log"
) -> tuple[str, str, bool]:
    """One DownloadDBLogFilePortion call: (data, Marker, AdditionalDataPending)."""
    arguments: dict[str, Any] = {"DBInstanceIdentifier": "db-1", "LogFileName": name}
    if marker is not None:
        arguments["Marker"] = marker
    if lines is not None:
        arguments["NumberOfLines"] = lines
    answer = client.download_db_log_file_portion(**arguments)
    return answer.get("LogFileData", ""), answer["Marker"], answer["AdditionalDataPending"]


def download(
    client: RDSClient, name: str = "f.log", marker: str = "0", lines: int | None = None
) -> tuple[str, str]:
    """A correct client: follow Markers, retry a truncated portion with fewer lines."""
    parts: list[str] = []
    while True:
        data, following, pending = portion(client, marker, lines, name)
        if data.endswith(TRUNCATION_NOTICE):
            assert lines != 1, "a single line is over the limit"
            lines = max(1, (lines or 1000) // 2)
            continue
        parts.append(data)
        marker = following
        if not pending:
            return "".join(parts), marker


def error_of(call: Callable[[], object]) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    status = caught.value.response["ResponseMetadata"]["HTTPStatusCode"]
    return error.get("Code", ""), status, error.get("Message", "")


# -- describe calls ------------------------------------------------------------------------------


def test_describe_db_clusters(rds: FakeRds, client: RDSClient) -> None:
    rds.add_cluster(
        "audit", writer="audit-1", readers=["audit-2", "audit-3"], audit_log_exports=True
    )
    rds.add_cluster("quiet", writer="quiet-1")
    rds.add_cluster("pg", writer="pg-1", engine="aurora-postgresql")

    clusters = client.describe_db_clusters()["DBClusters"]
    assert [c["DBClusterIdentifier"] for c in clusters] == ["audit", "pg", "quiet"]

    (audit,) = client.describe_db_clusters(DBClusterIdentifier="audit")["DBClusters"]
    assert audit["Engine"] == "neptune" and audit["Status"] == "available"
    assert audit["EnabledCloudwatchLogsExports"] == ["audit"]
    members = [(m["DBInstanceIdentifier"], m["IsClusterWriter"]) for m in audit["DBClusterMembers"]]
    assert members == [("audit-1", True), ("audit-2", False), ("audit-3", False)]

    (quiet,) = client.describe_db_clusters(DBClusterIdentifier="quiet")["DBClusters"]
    assert "EnabledCloudwatchLogsExports" not in quiet

    neptune = client.describe_db_clusters(Filters=[{"Name": "engine", "Values": ["neptune"]}])
    assert [c["DBClusterIdentifier"] for c in neptune["DBClusters"]] == ["audit", "quiet"]

    code, status, message = error_of(lambda: client.describe_db_clusters(DBClusterIdentifier="x"))
    assert (code, status, message) == ("DBClusterNotFoundFault", 404, "DBCluster x not found.")
    with pytest.raises(client.exceptions.DBClusterNotFoundFault):
        client.describe_db_clusters(DBClusterIdentifier="x")


def test_describe_db_instances(rds: FakeRds, client: RDSClient) -> None:
    rds.add_cluster("a", writer="a-1", readers=["a-2"])
    rds.add_cluster("b", writer="b-1")

    everything = client.describe_db_instances()["DBInstances"]
    assert [i["DBInstanceIdentifier"] for i in everything] == ["a-1", "a-2", "b-1"]
    (one,) = client.describe_db_instances(DBInstanceIdentifier="a-2")["DBInstances"]
    assert one["DBClusterIdentifier"] == "a" and one["Engine"] == "neptune"
    assert one["DBInstanceStatus"] == "available"

    in_a = client.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": ["a"]}])
    assert [i["DBInstanceIdentifier"] for i in in_a["DBInstances"]] == ["a-1", "a-2"]
    assert rds.requests[-1][1]["Filters.Filter.1.Values.Value.1"] == "a"  # botocore's encoding

    code, status, _ = error_of(lambda: client.describe_db_instances(DBInstanceIdentifier="nope"))
    assert (code, status) == ("DBInstanceNotFound", 404)
    with pytest.raises(client.exceptions.DBInstanceNotFoundFault):
        client.describe_db_instances(DBInstanceIdentifier="nope")


def test_describe_db_instances_paginates(rds: FakeRds, client: RDSClient) -> None:
    rds.add_cluster("big", writer="i-00", readers=[f"i-{n:02}" for n in range(1, 45)])
    pages = list(
        client.get_paginator("describe_db_instances").paginate(PaginationConfig={"PageSize": 20})
    )
    assert [len(p["DBInstances"]) for p in pages] == [20, 20, 5]
    names = [i["DBInstanceIdentifier"] for p in pages for i in p["DBInstances"]]
    assert names == [f"i-{n:02}" for n in range(45)]
    code, status, _ = error_of(lambda: client.describe_db_instances(MaxRecords=5))
    assert (code, status) == ("InvalidParameterValue", 400)


def test_describe_db_log_files_filters_and_pagination(rds: FakeRds, client: RDSClient) -> None:
    rds.add_cluster("db", writer="db-1")
    for hour in range(7):
        name = f"audit/audit.log.2026-11-24-{hour:02}"
        rds.add_instance_file("db-1", name, b"x" * hour, last_written_ms=1_000 * hour)
    rds.add_instance_file("db-1", "error/neptune.log", b"error\n", last_written_ms=9_000)

    everything = client.describe_db_log_files(DBInstanceIdentifier="db-1")["DescribeDBLogFiles"]
    assert len(everything) == 8
    last = everything[-1]
    assert last == {"LogFileName": "error/neptune.log", "LastWritten": 9_000, "Size": 6}

    audit = client.describe_db_log_files(DBInstanceIdentifier="db-1", FilenameContains="audit")
    assert len(audit["DescribeDBLogFiles"]) == 7
    recent = client.describe_db_log_files(
        DBInstanceIdentifier="db-1", FilenameContains="audit", FileLastWritten=5_000
    )
    assert [f["Size"] for f in recent["DescribeDBLogFiles"]] == [5, 6]
    larger = client.describe_db_log_files(DBInstanceIdentifier="db-1", FileSize=5)
    assert [f["Size"] for f in larger["DescribeDBLogFiles"]] == [6, 6]

    pages = list(
        client.get_paginator("describe_db_log_files").paginate(
            DBInstanceIdentifier="db-1", FilenameContains="audit", PaginationConfig={"PageSize": 3}
        )
    )
    assert [len(p["DescribeDBLogFiles"]) for p in pages] == [3, 3, 1]
    assert [f for p in pages for f in p["DescribeDBLogFiles"]] == audit["DescribeDBLogFiles"]
    assert "Marker" in pages[0] and "Marker" not in pages[-1]

    code, status, _ = error_of(lambda: client.describe_db_log_files(DBInstanceIdentifier="zz"))
    assert (code, status) == ("DBInstanceNotFound", 404)


# -- downloads -----------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [TRICKY, TRICKY + "no final newline", "", "\n"])
@pytest.mark.parametrize("limit", [1_048_576, 128])
@pytest.mark.parametrize("lines", [None, 1, 3])
def test_download_is_byte_exact(
    rds: FakeRds, client: RDSClient, content: str, limit: int, lines: int | None
) -> None:
    rds.max_portion_bytes = limit
    rds.add_instance_file("db-1", "f.log", content.encode())
    text, _ = download(client, lines=lines)
    assert text.encode() == content.encode()
    assert rds.bytes_sent == len(content.encode())


def test_number_of_lines(rds: FakeRds, client: RDSClient) -> None:
    rds.add_instance_file("db-1", "f.log", b"".join(b"line %d\n" % n for n in range(10)))
    data, marker, pending = portion(client, "0", 3)
    assert (data, pending) == ("line 0\nline 1\nline 2\n", True)
    data, marker, pending = portion(client, marker, 6)
    assert data.splitlines() == [f"line {n}" for n in range(3, 9)] and pending
    data, marker, pending = portion(client, marker, 6)
    assert (data, pending) == ("line 9\n", False)


def test_without_number_of_lines_returns_whole_lines_that_fit(
    rds: FakeRds, client: RDSClient
) -> None:
    rds.max_portion_bytes = 100
    rds.add_instance_file("db-1", "f.log", b"".join(b"%028d\n" % n for n in range(10)))  # 29 B
    data, marker, pending = portion(client)
    assert len(data) == 87 and data.count("\n") == 3 and pending
    assert TRUNCATION_NOTICE not in data


def test_truncated_portion(rds: FakeRds, client: RDSClient) -> None:
    rds.max_portion_bytes = 100
    content = b"".join(b"%028d\n" % n for n in range(10))  # 29-byte lines
    rds.add_instance_file("db-1", "f.log", content)

    data, marker, pending = portion(client, "0", 5)  # 145 bytes selected: cut
    assert data.endswith(TRUNCATION_NOTICE) and pending
    assert len(data.encode()) == 100
    kept = data[: -len(TRUNCATION_NOTICE)].encode()
    assert content.startswith(kept)
    # The Marker skips the rest of the cut line: a careless client loses data.
    cut_line_end = content.index(b"\n", len(kept) - 1) + 1
    following, _, _ = portion(client, marker, 1)
    assert following.encode() == content[cut_line_end:].split(b"\n")[0] + b"\n"

    data, _, pending = portion(client, "0", 3)  # 87 bytes: fits
    assert data.encode() == content[:87] and pending


def test_truncation_keeps_utf8_whole(rds: FakeRds, client: RDSClient) -> None:
    rds.max_portion_bytes = 100
    line = "é日🚀" * 40 + "\n"  # one line far over the limit, multi-byte characters
    rds.add_instance_file("db-1", "f.log", (line + "next\n").encode())
    for lines in (None, 1):
        data, marker, pending = portion(client, "0", lines)
        assert data.endswith(TRUNCATION_NOTICE) and pending
        kept = data[: -len(TRUNCATION_NOTICE)]
        assert "\ufffd" not in kept and line.startswith(kept)
        assert 100 - 4 < len(data.encode()) <= 100
        assert portion(client, marker)[0] == "next\n"


def test_growth_between_calls(rds: FakeRds, client: RDSClient) -> None:
    rds.add_instance_file("db-1", "f.log", b"one\n", last_written_ms=1)
    data, marker, pending = portion(client, "0", 1)
    assert (data, pending) == ("one\n", False)
    assert portion(client, marker) == ("", marker, False)

    rds.append("db-1", "f.log", b"two\npart")
    (details,) = client.describe_db_log_files(DBInstanceIdentifier="db-1")["DescribeDBLogFiles"]
    assert details["Size"] == 12 and details["LastWritten"] > 1
    data, marker, pending = portion(client, marker)
    assert (data, pending) == ("two\npart", False)  # a line still being written comes as is
    rds.append("db-1", "f.log", b"ial\nthree\n")
    assert portion(client, marker)[0] == "ial\nthree\n"
    assert rds.file_bytes("db-1", "f.log") == b"one\ntwo\npartial\nthree\n"


def test_rotate_restarts_old_markers(rds: FakeRds, client: RDSClient) -> None:
    rds.add_instance_file("db-1", "f.log", b"old 1\nold 2\nold 3\n")
    _, marker, _ = portion(client, "0", 2)
    rds.rotate("db-1", "f.log", b"new 1\nnew 2\n")
    data, _, pending = portion(client, marker)
    assert (data, pending) == ("new 1\nnew 2\n", False)
    rds.remove_file("db-1", "f.log")
    rds.add_instance_file("db-1", "f.log", b"again\n")
    assert portion(client, marker)[0] == "again\n"


def test_overlap_lines(rds: FakeRds, client: RDSClient) -> None:
    rds.overlap_lines = 2
    rds.add_instance_file("db-1", "f.log", b"".join(b"%d\n" % n for n in range(8)))
    data, marker, _ = portion(client, "0", 3)
    assert data == "0\n1\n2\n"  # nothing before the start to repeat
    data, marker, _ = portion(client, marker, 2)
    assert data == "1\n2\n3\n4\n"  # two repeated lines, then NumberOfLines new ones
    data, marker, pending = portion(client, marker)
    assert (data, pending) == ("3\n4\n5\n6\n7\n", False)
    assert portion(client, marker) == ("6\n7\n", marker, False)  # even at the end


def test_overlap_never_stalls(rds: FakeRds, client: RDSClient) -> None:
    rds.overlap_lines = 50  # more than fits: repeated lines take at most half a portion
    rds.max_portion_bytes = 64
    content = b"".join(b"%09d\n" % n for n in range(40))
    rds.add_instance_file("db-1", "f.log", content)
    lines: set[str] = set()
    marker, pending, calls = "0", True, 0
    while pending:
        data, marker, pending = portion(client, marker)
        lines.update(data.splitlines())
        calls += 1
    assert len(lines) == 40 and calls < 40


def test_markers(rds: FakeRds, client: RDSClient) -> None:
    rds.add_instance_file("db-1", "f.log", b"a\nb\n")
    _, marker, _ = portion(client, "0", 1)
    generation = marker.split(":")[0]
    beyond = f"{generation}:999"
    assert portion(client, beyond) == ("", beyond, False)
    code, status, _ = error_of(lambda: portion(client, "not-a-marker"))
    assert (code, status) == ("InvalidParameterValue", 400)


def test_without_marker_returns_the_tail(rds: FakeRds, client: RDSClient) -> None:
    rds.add_instance_file("db-1", "f.log", b"".join(b"%d\n" % n for n in range(20)))
    data, marker, pending = portion(client, None, 2)
    assert (data, pending) == ("18\n19\n", False)
    rds.append("db-1", "f.log", b"20\n")
    assert portion(client, marker)[0] == "20\n"
    assert portion(client, None)[0].count("\n") == 21


def test_omitted_empty_data(rds: FakeRds, client: RDSClient) -> None:
    rds.omit_empty_data = True
    rds.add_instance_file("db-1", "f.log", b"")
    answer = client.download_db_log_file_portion(
        DBInstanceIdentifier="db-1", LogFileName="f.log", Marker="0"
    )
    assert "LogFileData" not in answer and answer["AdditionalDataPending"] is False


def test_scripted_answers_replace_the_model_until_they_give_none(
    rds: FakeRds, client: RDSClient
) -> None:
    rds.add_instance_file("db-1", "f.log", b"a\nb\n")
    answers = [envelope("DownloadDBLogFilePortion", portion_xml(b"x\ry\n", "7:3", True)), None]
    rds.scripted["DownloadDBLogFilePortion"] = lambda params: answers.pop(0)
    assert portion(client) == ("x\ry\n", "7:3", True)
    assert portion(client) == ("a\nb\n", "1:4", False)  # None: the model answers
    rds.scripted["DescribeDBLogFiles"] = lambda params: envelope("Other", b"")
    assert rds.calls["DownloadDBLogFilePortion"] == 2
    with pytest.raises(KeyError):  # what botocore does with a well-formed wrong answer
        client.describe_db_log_files(DBInstanceIdentifier="db-1")


def test_unknown_file_and_instance(rds: FakeRds, client: RDSClient) -> None:
    rds.add_instance_file("db-1", "f.log", b"x\n")
    code, status, _ = error_of(lambda: portion(client, name="missing.log"))
    assert (code, status) == ("DBLogFileNotFoundFault", 404)
    with pytest.raises(client.exceptions.DBLogFileNotFoundFault):
        portion(client, name="missing.log")
    code, status, _ = error_of(
        lambda: client.download_db_log_file_portion(DBInstanceIdentifier="db-9", LogFileName="f")
    )
    assert (code, status) == ("DBInstanceNotFound", 404)


def test_concurrent_downloads(rds: FakeRds, client: RDSClient) -> None:
    rds.max_portion_bytes = 4096
    contents = {f"f{n}.log": b"".join(b"%d %d\n" % (n, k) for k in range(3000)) for n in range(4)}
    for name, content in contents.items():
        rds.add_instance_file("db-1", name, content)
    results: dict[str, bytes] = {}

    def fetch(name: str) -> None:
        results[name] = download(client, name)[0].encode()

    threads = [threading.Thread(target=fetch, args=(name,)) for name in contents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == contents


# -- faults and accounting -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "code", "status"),
    [
        ("throttle", "Throttling", 400),
        ("500", "InternalFailure", 500),
        ("access_denied", "AccessDenied", 403),
        ("expired_token", "ExpiredToken", 403),
        ("invalid_token", "InvalidClientTokenId", 403),
    ],
)
def test_fault_surfaces_as_client_error(
    rds: FakeRds, make_client: ClientFactory, kind: str, code: str, status: int
) -> None:
    client = make_client(ONE_ATTEMPT)
    rds.add_instance_file("db-1", "f.log", b"x\n")
    rds.fail("DownloadDBLogFilePortion", kind)
    assert error_of(lambda: portion(client))[:2] == (code, status)
    assert portion(client)[0] == "x\n"
    assert rds.bytes_sent == 2


def test_reset_and_partial_surface_as_connection_and_parse_errors(
    rds: FakeRds, make_client: ClientFactory
) -> None:
    client = make_client(ONE_ATTEMPT)
    rds.add_instance_file("db-1", "f.log", b"x\n")
    rds.fail("DownloadDBLogFilePortion", "reset")
    with pytest.raises(ConnectionClosedError):
        portion(client)
    rds.fail("DownloadDBLogFilePortion", "partial")
    with pytest.raises(ResponseParserError):  # botocore does not enforce Content-Length
        portion(client)
    assert portion(client)[0] == "x\n"
    assert rds.bytes_sent == 2


@pytest.mark.parametrize("kind", ["throttle", "500", "reset"])
@pytest.mark.parametrize(
    "config",
    [Config(retries={"mode": "standard"}), Config(retries={"mode": "legacy"})],
    ids=["standard", "legacy"],
)
def test_default_retries_recover(
    rds: FakeRds, make_client: ClientFactory, kind: str, config: Config
) -> None:
    client = make_client(config)
    rds.add_instance_file("db-1", "f.log", b"x\n")
    rds.fail("DownloadDBLogFilePortion", kind)
    answer = client.download_db_log_file_portion(
        DBInstanceIdentifier="db-1", LogFileName="f.log", Marker="0"
    )
    assert answer.get("LogFileData") == "x\n"
    assert answer["ResponseMetadata"]["RetryAttempts"] == 1
    assert rds.calls["DownloadDBLogFilePortion"] == 2


def test_fail_times_after_and_any_action(rds: FakeRds, make_client: ClientFactory) -> None:
    client = make_client(ONE_ATTEMPT)
    rds.add_instance("db-1")

    def describe() -> str:
        try:
            client.describe_db_log_files(DBInstanceIdentifier="db-1")
        except ClientError as error:
            return error.response["Error"].get("Code", "")
        return "ok"

    rds.fail("DescribeDBLogFiles", "throttle", times=2, after=1)
    assert [describe() for _ in range(4)] == ["ok", "Throttling", "Throttling", "ok"]
    rds.fail("*", "500")
    assert error_of(lambda: client.describe_db_instances())[:2] == ("InternalFailure", 500)
    assert describe() == "ok"
    with pytest.raises(ValueError, match="unknown fault kind"):
        rds.fail("DescribeDBLogFiles", "gremlins")


def test_deny_names_the_action(rds: FakeRds, client: RDSClient) -> None:
    rds.add_instance_file("db-1", "f.log", b"x\n")
    rds.deny.add("DownloadDBLogFilePortion")
    code, status, message = error_of(lambda: portion(client))
    assert (code, status) == ("AccessDenied", 403)
    assert message.startswith(
        "User: arn:aws:iam::123456789012:user/tester is not authorized to perform: "
        "rds:DownloadDBLogFilePortion on resource: arn:aws:rds:us-east-1:123456789012:db:db-1"
    )
    assert client.describe_db_log_files(DBInstanceIdentifier="db-1")["DescribeDBLogFiles"]
    assert rds.calls["DownloadDBLogFilePortion"] == 1  # denied calls are counted, not retried


def test_bytes_sent_and_calls(rds: FakeRds, client: RDSClient) -> None:
    rds.max_portion_bytes = 64
    content = ("é" * 20 + "\n") * 10
    rds.add_instance_file("db-1", "f.log", content.encode())
    _, marker = download(client)
    assert rds.bytes_sent == len(content.encode()) == 410
    calls = rds.calls["DownloadDBLogFilePortion"]
    assert calls == 10  # 41-byte lines, one per 64-byte portion
    assert download(client, marker=marker) == ("", marker)  # the second fetch transfers nothing
    assert rds.bytes_sent == 410 and rds.calls["DownloadDBLogFilePortion"] == calls + 1


# -- raw HTTP ------------------------------------------------------------------------------------


def raw(
    rds: FakeRds, query: str, *, post: bool = True, signed: bool = True
) -> tuple[int, dict[str, str], str]:
    headers = {"Authorization": "AWS4-HMAC-SHA256 Credential=x/20261124/us-east-1/rds/aws4_request"}
    request = urllib.request.Request(
        rds.url + ("/" if post else "/?" + query),
        data=query.encode() if post else None,
        headers=headers if signed else {},
        method="POST" if post else "GET",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def test_wire_format(rds: FakeRds) -> None:
    rds.add_instance_file("db-1", "f.log", b"a\r\n")
    query = "Action=DownloadDBLogFilePortion&Version=2014-10-31&DBInstanceIdentifier=db-1"
    status, headers, body = raw(rds, query + "&LogFileName=f.log&Marker=0", post=False)
    assert status == 200 and headers["Content-Type"] == "text/xml"
    assert body.startswith(
        '<DownloadDBLogFilePortionResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">'
    )
    assert "<LogFileData>a&#13;\n</LogFileData>" in body
    assert f"<RequestId>{headers['x-amzn-RequestId']}</RequestId>" in body

    status, _, body = raw(rds, "Action=DescribeDBLogFiles&Version=2014-10-31", signed=False)
    assert status == 403 and "<Code>MissingAuthenticationToken</Code>" in body
    status, _, body = raw(rds, "Action=DeleteDBCluster&Version=2014-10-31")
    assert status == 400 and "<Code>InvalidAction</Code>" in body
    assert "<Type>Sender</Type>" in body and body.startswith("<ErrorResponse")
