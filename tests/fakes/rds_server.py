"""A fake of the RDS log-file API that an unmodified boto3 ``rds`` client cannot tell from AWS.

It serves the RDS Query protocol (form-encoded ``Action=...`` requests, XML answers in the
``http://rds.amazonaws.com/doc/2014-10-31/`` namespace) over real HTTP on 127.0.0.1, using only
the standard library::

    with FakeRds() as rds:
        rds.add_cluster("db", writer="db-1", readers=["db-2"])
        rds.add_instance_file("db-1", "audit/audit.log", b"line\\n")
        client = boto3.client("rds", endpoint_url=rds.url, region_name="us-east-1",
                              aws_access_key_id="x", aws_secret_access_key="y")

Actions: ``DescribeDBClusters``, ``DescribeDBInstances``, ``DescribeDBLogFiles`` and
``DownloadDBLogFilePortion``. ``DownloadDBLogFilePortion`` follows the service's observed
behaviour: whole lines from an opaque ``"{generation}:{offset}"`` Marker, at most
``max_portion_bytes`` of data, and a portion whose selected lines do not fit is cut at the limit
with :data:`TRUNCATION_NOTICE` appended and a Marker that skips the rest of the cut line.
"""

from __future__ import annotations

import base64
import http
import re
import socket
import struct
import sys
import threading
import time
import uuid
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import escape

NAMESPACE = "http://rds.amazonaws.com/doc/2014-10-31/"
ACCOUNT = "123456789012"

#: What the service appends to a portion it cut at the size limit (as seen on the wire: the cut
#: data, then a line of its own that starts with a space, then a newline).
TRUNCATION_NOTICE = "\n [Your log message was truncated]\n"

#: Lines returned when neither Marker nor NumberOfLines is given (the documented default).
TAIL_DEFAULT_LINES = 10_000

# Characters XML 1.0 cannot carry, even as character references.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_XML_ENTITIES = {"\r": "&#13;"}  # a raw CR would be normalised to LF by the XML parser
_CONTROL_BYTES = bytes(set(range(32)) - {9, 10, 13})
_FILTER_NAME = re.compile(r"Filters\.(?:Filter|member)\.(\d+)\.Name")
_FILTER_VALUE = re.compile(r"Filters\.(?:Filter|member)\.(\d+)\.Values\.(?:Value|member)\.\d+")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class ApiError(Exception):
    """An error answered as an ``<ErrorResponse>``."""

    def __init__(self, status: int, code: str, message: str, *, sender: bool = True) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.sender = sender


#: The fault kinds answered with a fixed error (``status, code, message, sender``).
_STATIC_FAULTS: dict[str, tuple[int, str, str, bool]] = {
    "throttle": (400, "Throttling", "Rate exceeded", True),
    "500": (
        500,
        "InternalFailure",
        "An internal error has occurred. Please retry your request.",
        False,
    ),
    "expired_token": (
        403,
        "ExpiredToken",
        "The security token included in the request is expired",
        True,
    ),
    "invalid_token": (
        403,
        "InvalidClientTokenId",
        "The security token included in the request is invalid.",
        True,
    ),
}

#: The ``kind`` values :meth:`FakeRds.fail` accepts.
FAULT_KINDS = frozenset({*_STATIC_FAULTS, "reset", "partial", "access_denied"})


@dataclass
class _LogFile:
    data: bytearray
    generation: int
    last_written_ms: int
    newlines: list[int] | None = None  # offsets of b"\n", built on first need

    def line_ends(self) -> list[int]:
        if self.newlines is None:
            self.newlines = _find_newlines(self.data)
        return self.newlines


@dataclass
class _Instance:
    instance_id: str
    cluster_id: str | None
    engine: str
    files: dict[str, _LogFile] = field(default_factory=dict)


@dataclass
class _Cluster:
    cluster_id: str
    engine: str
    writer: str
    readers: tuple[str, ...]
    audit_log_exports: bool


@dataclass
class _Fault:
    action: str
    kind: str
    after: int
    times: int
    seen: int = 0


@dataclass
class Answer:
    """What to send for one request; ``fault`` is ``reset``/``partial`` or None."""

    request_id: str
    status: int
    body: bytes
    fault: str | None


@dataclass
class _Portion:
    data: bytes
    marker: str
    pending: bool


def envelope(action: str, result: bytes, request_id: str = "") -> bytes:
    """A whole answer to ``action`` around the XML of its result (e.g. for ``scripted``)."""
    opening = f'<{action}Response xmlns="{NAMESPACE}">\n  <{action}Result>\n'
    closing = (
        f"  </{action}Result>\n  <ResponseMetadata>\n"
        f"    <RequestId>{request_id or uuid.uuid4()}</RequestId>\n"
        f"  </ResponseMetadata>\n</{action}Response>\n"
    )
    return b"".join((opening.encode(), result, closing.encode()))


def portion_xml(data: bytes, marker: str, pending: bool) -> bytes:
    """The result of a DownloadDBLogFilePortion answer (for ``scripted``)."""
    escaped, _ = _xml_data(data)
    head = f"    {_element('AdditionalDataPending', pending)}\n    {_element('Marker', marker)}\n"
    return b"".join((head.encode(), b"    <LogFileData>", escaped, b"</LogFileData>\n"))


def _find_newlines(data: bytes | bytearray) -> list[int]:
    found: list[int] = []
    find = data.find
    position = find(b"\n")
    while position >= 0:
        found.append(position)
        position = find(b"\n", position + 1)
    return found


def _xml_text(text: str) -> str:
    if _INVALID_XML.search(text):
        text = _INVALID_XML.sub("\ufffd", text)
    return escape(text, _XML_ENTITIES)


def _xml_data(data: bytes) -> tuple[bytes, int]:
    """UTF-8 ``data`` escaped as XML text, and its length before escaping.

    Works on bytes (what :func:`escape` does, ~40x faster on a 1 MB portion). CR becomes
    ``&#13;`` so that CRLF survives the parser; characters XML cannot carry become U+FFFD.
    """
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            data = data.decode("utf-8", "replace").encode()
    if (
        len(data.translate(None, _CONTROL_BYTES)) != len(data)
        or b"\xef\xbf\xbe" in data
        or b"\xef\xbf\xbf" in data
    ):
        data = _INVALID_XML.sub("\ufffd", data.decode()).encode()
    escaped = data.replace(b"&", b"&amp;").replace(b"<", b"&lt;").replace(b">", b"&gt;")
    return escaped.replace(b"\r", b"&#13;"), len(data)


def _element(name: str, value: object) -> str:
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{_xml_text(str(value))}</{name}>"


def _page_xml(tag: str, items: str, following: str | None) -> bytes:
    """A Describe result: the page's ``items`` in ``tag``, then the Marker of the next page."""
    marker = f"    {_element('Marker', following)}\n" if following else ""
    return f"    <{tag}>\n{items}    </{tag}>\n{marker}".encode()


def _page_token(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode()


def _paginate(
    keys: Sequence[str], params: dict[str, str], *, bounded: bool
) -> tuple[list[str], str | None]:
    """One page of sorted ``keys`` after ``Marker``, and the Marker of the next page."""
    limit = _int_param(params, "MaxRecords", 100)
    if bounded and not 20 <= limit <= 100:
        raise ApiError(
            400,
            "InvalidParameterValue",
            f"Invalid value {limit} for MaxRecords. Must be between 20 and 100",
        )
    if limit < 1:
        raise ApiError(400, "InvalidParameterValue", f"Invalid value {limit} for MaxRecords.")
    start = 0
    if "Marker" in params:
        try:
            after = base64.urlsafe_b64decode(params["Marker"].encode()).decode()
        except ValueError:
            raise ApiError(400, "InvalidParameterValue", "Invalid pagination token") from None
        start = bisect_left(keys, after)
    page = list(keys[start : start + limit])
    following = start + limit
    return page, (_page_token(keys[following]) if following < len(keys) else None)


def _int_param(params: dict[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, "InvalidParameterValue", f"Invalid value '{raw}' for {name}.") from None


def _filters(params: dict[str, str]) -> dict[str, set[str]]:
    names = {m.group(1): v for k, v in params.items() if (m := _FILTER_NAME.fullmatch(k))}
    values: dict[str, set[str]] = {name: set() for name in names.values()}
    for key, value in params.items():
        if (m := _FILTER_VALUE.fullmatch(key)) and m.group(1) in names:
            values[names[m.group(1)]].add(value)
    return values


class FakeRds:
    """An in-memory RDS with clusters, instances and log files, served over HTTP.

    Thread-safe: tests may change files while a client downloads. Attributes to read or set:
    ``url``, ``bytes_sent`` (UTF-8 bytes of LogFileData returned), ``calls`` (requests per
    Action, failed ones included), ``requests`` (Action and parameters of every request),
    ``deny`` (Actions answered with AccessDenied), ``overlap_lines``, ``max_portion_bytes``,
    ``truncation_notice``, ``omit_empty_data`` (leave ``LogFileData`` out of empty portions) and
    ``scripted`` (Action -> a function of the parameters giving the whole 200 body to send, or
    None to answer normally: for servers that misbehave in ways the model cannot).
    """

    def __init__(self, region: str = "us-east-1") -> None:
        self.region = region
        self.url = ""
        self.bytes_sent = 0
        self.calls: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.deny: set[str] = set()
        self.overlap_lines = 0
        self.max_portion_bytes = 1_048_576
        self.truncation_notice = TRUNCATION_NOTICE
        self.omit_empty_data = False
        self.scripted: dict[str, Callable[[dict[str, str]], bytes | None]] = {}
        self._lock = threading.RLock()
        self._clusters: dict[str, _Cluster] = {}
        self._instances: dict[str, _Instance] = {}
        self._faults: list[_Fault] = []
        self._generations = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._actions: dict[str, Callable[[dict[str, str]], tuple[bytes, int]]] = {
            "DescribeDBClusters": self._describe_db_clusters,
            "DescribeDBInstances": self._describe_db_instances,
            "DescribeDBLogFiles": self._describe_db_log_files,
            "DownloadDBLogFilePortion": self._download_db_log_file_portion,
        }

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeRds:
        """Listen on an ephemeral port of 127.0.0.1 and serve from a daemon thread."""
        if self._server is None:
            self._server = _Server(("127.0.0.1", 0), _Handler, self)
            host, port = self._server.server_address[:2]
            self.url = f"http://{host!s}:{port}"
            self._thread = threading.Thread(
                target=self._server.serve_forever, args=(0.02,), name="fake-rds", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeRds:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- model -------------------------------------------------------------------------------

    def add_cluster(
        self,
        cluster_id: str,
        *,
        writer: str,
        readers: Sequence[str] = (),
        engine: str = "neptune",
        audit_log_exports: bool = False,
    ) -> None:
        """Add a cluster and its member instances (created when missing)."""
        with self._lock:
            self._clusters[cluster_id] = _Cluster(
                cluster_id, engine, writer, tuple(readers), audit_log_exports
            )
            for instance_id in (writer, *readers):
                instance = self._instances.setdefault(
                    instance_id, _Instance(instance_id, cluster_id, engine)
                )
                instance.cluster_id, instance.engine = cluster_id, engine

    def add_instance(
        self, instance_id: str, *, cluster_id: str | None = None, engine: str = "neptune"
    ) -> None:
        """Add an instance outside :meth:`add_cluster` (e.g. one that belongs to no cluster)."""
        with self._lock:
            self._instances.setdefault(instance_id, _Instance(instance_id, cluster_id, engine))

    def add_instance_file(
        self, instance_id: str, name: str, data: bytes, *, last_written_ms: int | None = None
    ) -> None:
        """Add (or replace, as a new generation) a log file; unknown instances are created."""
        with self._lock:
            self.add_instance(instance_id)
            self._instances[instance_id].files[name] = _LogFile(
                bytearray(data),
                self._next_generation(),
                _now_ms() if last_written_ms is None else last_written_ms,
            )

    def append(self, instance_id: str, name: str, data: bytes) -> None:
        """Grow a file (its Size and LastWritten change; Markers stay valid)."""
        with self._lock:
            log = self._file(instance_id, name)
            if log.newlines is not None:
                log.newlines.extend(position + len(log.data) for position in _find_newlines(data))
            log.data += data
            log.last_written_ms = max(_now_ms(), log.last_written_ms + 1)

    def rotate(self, instance_id: str, name: str, data: bytes) -> None:
        """Overwrite a file with new content: Markers handed out before restart from 0."""
        with self._lock:
            log = self._file(instance_id, name)
            log.data = bytearray(data)
            log.newlines = None
            log.generation = self._next_generation()
            log.last_written_ms = max(_now_ms(), log.last_written_ms + 1)

    def remove_file(self, instance_id: str, name: str) -> None:
        """Delete a file (later downloads get ``DBLogFileNotFoundFault``)."""
        with self._lock:
            self._file(instance_id, name)
            del self._instances[instance_id].files[name]

    def file_bytes(self, instance_id: str, name: str) -> bytes:
        """The current content of a file."""
        with self._lock:
            return bytes(self._file(instance_id, name).data)

    def fail(self, action: str, kind: str, times: int = 1, *, after: int = 0) -> None:
        """Make the next ``times`` calls of ``action`` (``"*"``: any) after ``after`` fail.

        ``kind``: ``throttle`` (400 Throttling), ``500`` (500 InternalFailure), ``reset`` (the
        connection is closed without an answer), ``partial`` (half an answer, then closed),
        ``access_denied``, ``expired_token`` or ``invalid_token`` (403s).
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        with self._lock:
            self._faults.append(_Fault(action, kind, after, times))

    def _next_generation(self) -> int:
        self._generations += 1
        return self._generations

    def _file(self, instance_id: str, name: str) -> _LogFile:
        try:
            return self._instances[instance_id].files[name]
        except KeyError:
            raise KeyError(f"no file {name!r} on instance {instance_id!r}") from None

    # -- request handling --------------------------------------------------------------------

    def handle(self, params: dict[str, str], authorized: bool) -> Answer:
        """Answer one request (the HTTP layer acts on ``Answer.fault``)."""
        action = params.get("Action", "")
        request_id = str(uuid.uuid4())
        with self._lock:
            self.calls[action] += 1
            self.requests.append((action, params))
            kind = self._take_fault(action)
        try:
            if not authorized:
                raise ApiError(
                    403, "MissingAuthenticationToken", "Request is missing Authentication Token"
                )
            if kind == "reset":
                return Answer(request_id, 0, b"", kind)
            if kind is not None and kind != "partial":
                raise self._fault_error(kind, action, params)
            if action in self.deny:
                raise self._fault_error("access_denied", action, params)
            script = self.scripted.get(action)
            body = script(params) if script is not None else None
            if body is not None:
                return Answer(request_id, 200, body, kind)
            handler = self._actions.get(action)
            if handler is None:
                raise ApiError(
                    400,
                    "InvalidAction",
                    f"The action {action or '(none)'} is not valid for this web service.",
                )
            result, sent = handler(params)
        except ApiError as error:
            body = self._error_body(error, request_id).encode()
            return Answer(request_id, error.status, body, kind)
        if kind is None:  # a partial answer never reaches the client
            with self._lock:
                self.bytes_sent += sent
        return Answer(request_id, 200, envelope(action, result, request_id), kind)

    def _error_body(self, error: ApiError, request_id: str) -> str:
        return (
            f'<ErrorResponse xmlns="{NAMESPACE}">\n  <Error>\n'
            f"    <Type>{'Sender' if error.sender else 'Receiver'}</Type>\n"
            f"    {_element('Code', error.code)}\n    {_element('Message', error.message)}\n"
            f"  </Error>\n  <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n"
        )

    def _take_fault(self, action: str) -> str | None:
        chosen: str | None = None
        for fault in self._faults:
            if fault.action in (action, "*"):
                fault.seen += 1
                if chosen is None and fault.after < fault.seen <= fault.after + fault.times:
                    chosen = fault.kind
        self._faults = [f for f in self._faults if f.seen < f.after + f.times]
        return chosen

    def _fault_error(self, kind: str, action: str, params: dict[str, str]) -> ApiError:
        if kind in _STATIC_FAULTS:
            status, code, message, sender = _STATIC_FAULTS[kind]
            return ApiError(status, code, message, sender=sender)
        return ApiError(
            403,
            "AccessDenied",
            f"User: arn:aws:iam::{ACCOUNT}:user/tester is not authorized to perform: "
            f"rds:{action} on resource: {self._resource_arn(action, params)} because no "
            f"identity-based policy allows the rds:{action} action",
        )

    def _resource_arn(self, action: str, params: dict[str, str]) -> str:
        if action == "DescribeDBClusters":
            return self._arn("cluster", params.get("DBClusterIdentifier", "*"))
        return self._arn("db", params.get("DBInstanceIdentifier", "*"))

    def _arn(self, kind: str, resource_id: str) -> str:
        return f"arn:aws:rds:{self.region}:{ACCOUNT}:{kind}:{resource_id}"

    # -- actions (called with the lock NOT held) ---------------------------------------------

    def _describe_db_clusters(self, params: dict[str, str]) -> tuple[bytes, int]:
        filters = _filters(params)
        with self._lock:
            wanted = params.get("DBClusterIdentifier")
            if wanted is not None and wanted not in self._clusters:
                raise ApiError(404, "DBClusterNotFoundFault", f"DBCluster {wanted} not found.")
            clusters = {
                c.cluster_id: c
                for c in self._clusters.values()
                if (wanted is None or c.cluster_id == wanted)
                and c.engine in filters.get("engine", {c.engine})
                and c.cluster_id in filters.get("db-cluster-id", {c.cluster_id})
            }
            page, following = _paginate(sorted(clusters), params, bounded=True)
            items = "".join(self._cluster_xml(clusters[key]) for key in page)
        return _page_xml("DBClusters", items, following), 0

    def _cluster_xml(self, cluster: _Cluster) -> str:
        host = f"{cluster.cluster_id}.cluster-cxyz0abc1def.{self.region}.neptune.amazonaws.com"
        members = "".join(
            "<DBClusterMember>"
            + _element("DBInstanceIdentifier", instance_id)
            + _element("IsClusterWriter", instance_id == cluster.writer)
            + _element("DBClusterParameterGroupStatus", "in-sync")
            + _element("PromotionTier", 1)
            + "</DBClusterMember>"
            for instance_id in (cluster.writer, *cluster.readers)
        )
        exports = (
            "<EnabledCloudwatchLogsExports><member>audit</member></EnabledCloudwatchLogsExports>"
            if cluster.audit_log_exports
            else ""
        )
        return (
            "      <DBCluster>"
            + _element("DBClusterIdentifier", cluster.cluster_id)
            + _element("Engine", cluster.engine)
            + _element("EngineVersion", "1.3.2.1")
            + _element("Status", "available")
            + _element("Endpoint", host)
            + _element("ReaderEndpoint", host.replace(".cluster-", ".cluster-ro-", 1))
            + _element("Port", 8182)
            + _element("MultiAZ", bool(cluster.readers))
            + f"<DBClusterMembers>{members}</DBClusterMembers>"
            + exports
            + _element("DBClusterArn", self._arn("cluster", cluster.cluster_id))
            + "</DBCluster>\n"
        )

    def _describe_db_instances(self, params: dict[str, str]) -> tuple[bytes, int]:
        filters = _filters(params)
        with self._lock:
            wanted = params.get("DBInstanceIdentifier")
            if wanted is not None:
                self._instance(params)  # DBInstanceNotFound
            instances = {
                i.instance_id: i
                for i in self._instances.values()
                if (wanted is None or i.instance_id == wanted)
                and i.engine in filters.get("engine", {i.engine})
                and i.instance_id in filters.get("db-instance-id", {i.instance_id})
                and ("db-cluster-id" not in filters or i.cluster_id in filters["db-cluster-id"])
            }
            page, following = _paginate(sorted(instances), params, bounded=True)
            items = "".join(self._instance_xml(instances[key]) for key in page)
        return _page_xml("DBInstances", items, following), 0

    def _instance_xml(self, instance: _Instance) -> str:
        host = f"{instance.instance_id}.cxyz0abc1def.{self.region}.neptune.amazonaws.com"
        cluster = (
            _element("DBClusterIdentifier", instance.cluster_id) if instance.cluster_id else ""
        )
        return (
            "      <DBInstance>"
            + _element("DBInstanceIdentifier", instance.instance_id)
            + _element("DBInstanceClass", "db.r6g.large")
            + _element("Engine", instance.engine)
            + _element("DBInstanceStatus", "available")
            + f"<Endpoint>{_element('Address', host)}{_element('Port', 8182)}</Endpoint>"
            + _element("AvailabilityZone", f"{self.region}a")
            + cluster
            + _element("DBInstanceArn", self._arn("db", instance.instance_id))
            + "</DBInstance>\n"
        )

    def _instance(self, params: dict[str, str]) -> _Instance:
        instance_id = params.get("DBInstanceIdentifier")
        if instance_id is None:
            raise ApiError(
                400,
                "MissingParameter",
                "The request must contain the parameter DBInstanceIdentifier",
            )
        try:
            return self._instances[instance_id]
        except KeyError:
            raise ApiError(
                404, "DBInstanceNotFound", f"DBInstance {instance_id} not found."
            ) from None

    def _describe_db_log_files(self, params: dict[str, str]) -> tuple[bytes, int]:
        contains = params.get("FilenameContains", "")
        since = _int_param(params, "FileLastWritten", 0)  # "written since": LastWritten >= it
        larger = _int_param(params, "FileSize", -1)  # "files larger than": Size > it
        with self._lock:
            files = {
                name: (log.last_written_ms, len(log.data))
                for name, log in self._instance(params).files.items()
                if contains in name and log.last_written_ms >= since and len(log.data) > larger
            }
        page, following = _paginate(sorted(files), params, bounded=False)
        items = "".join(
            "      <DescribeDBLogFilesDetails>"
            + _element("LogFileName", name)
            + _element("LastWritten", files[name][0])
            + _element("Size", files[name][1])
            + "</DescribeDBLogFilesDetails>\n"
            for name in page
        )
        return _page_xml("DescribeDBLogFiles", items, following), 0

    def _download_db_log_file_portion(self, params: dict[str, str]) -> tuple[bytes, int]:
        name = params.get("LogFileName")
        if name is None:
            raise ApiError(
                400, "MissingParameter", "The request must contain the parameter LogFileName"
            )
        lines: int | None = None
        if "NumberOfLines" in params:
            lines = _int_param(params, "NumberOfLines", 0)
            if lines < 1:
                raise ApiError(
                    400, "InvalidParameterValue", f"Invalid value {lines} for NumberOfLines."
                )
        with self._lock:
            log = self._instance(params).files.get(name)
            if log is None:
                raise ApiError(
                    404,
                    "DBLogFileNotFoundFault",
                    f"DBLog File: {name}, is not found on the DB instance",
                )
            portion = self._portion(log, params.get("Marker"), lines)
        escaped, sent = _xml_data(portion.data)
        head = (
            f"    {_element('AdditionalDataPending', portion.pending)}\n"
            f"    {_element('Marker', portion.marker)}\n"
        ).encode()
        if not sent and self.omit_empty_data:
            return head, 0
        return b"".join((head, b"    <LogFileData>", escaped, b"</LogFileData>\n")), sent

    # -- the portion algorithm (lock held) ---------------------------------------------------

    def _portion(self, log: _LogFile, marker: str | None, lines: int | None) -> _Portion:
        data, size, limit = log.data, len(log.data), self.max_portion_bytes
        if marker is None:
            return self._tail(log, lines or TAIL_DEFAULT_LINES)
        start, resumed = 0, False
        if marker != "0":
            generation, _, offset = marker.partition(":")
            if not (generation.isdigit() and offset.isdigit()):
                raise ApiError(400, "InvalidParameterValue", f"Invalid marker: {marker}")
            if int(generation) == log.generation:
                start, resumed = int(offset), True
        overlap = self.overlap_lines if resumed and start > 0 else 0
        if start > size or (start == size and not overlap):
            return _Portion(b"", marker, False)
        first = start
        if overlap:  # repeated lines take at most half the room
            first = self._lines_before(log, start, overlap)
            while start - first > limit // 2:
                first = data.find(b"\n", first, start) + 1 or start
        end = self._end(log, start, lines, limit - (start - first))
        if end is None and first < start:  # never let repeated lines cause a cut
            first, end = start, self._end(log, start, lines, limit)
        if end is None:
            return self._truncated(log, start)
        return _Portion(bytes(data[first:end]), f"{log.generation}:{end}", end < size)

    def _end(self, log: _LogFile, start: int, lines: int | None, limit: int) -> int | None:
        """Where the whole lines selected from ``start`` end, or None if they exceed ``limit``."""
        data, size = log.data, len(log.data)
        if lines is None:
            if size - start <= limit:
                return size
            end = data.rfind(b"\n", start, start + limit) + 1
            return end or None
        newlines = log.line_ends()
        last = bisect_left(newlines, start) + lines - 1
        end = newlines[last] + 1 if last < len(newlines) else size
        return end if end - start <= limit else None

    def _truncated(self, log: _LogFile, start: int) -> _Portion:
        """The portion from ``start`` cut at the limit: the Marker skips the cut line."""
        data, notice = log.data, self.truncation_notice.encode()
        cut = max(start + 1, start + self.max_portion_bytes - len(notice))
        while cut > start + 1 and (data[cut] & 0xC0) == 0x80:  # not inside a UTF-8 sequence
            cut -= 1
        end = data.find(b"\n", cut - 1) + 1 or len(data)
        return _Portion(bytes(data[start:cut]) + notice, f"{log.generation}:{end}", True)

    def _lines_before(self, log: _LogFile, position: int, count: int) -> int:
        """Where the ``count``-th line that starts before ``position`` starts."""
        newlines = log.line_ends()
        starts_before = bisect_left(newlines, position - 1) + 1  # line 0, then one per newline
        index = starts_before - count
        return 0 if index <= 0 else newlines[index - 1] + 1

    def _tail(self, log: _LogFile, lines: int) -> _Portion:
        """No Marker: the last ``lines`` lines that fit, as the service documents."""
        size, limit = len(log.data), self.max_portion_bytes
        marker = f"{log.generation}:{size}"
        first = self._lines_before(log, size, lines) if size else 0
        if size - first > limit:
            newlines = log.line_ends()
            following = bisect_left(newlines, size - limit - 1)
            first = newlines[following] + 1 if following < len(newlines) else size
            if first >= size:  # the last line alone is over the limit
                cut = self._truncated(log, self._lines_before(log, size, 1))
                return _Portion(cut.data, marker, False)
        return _Portion(bytes(log.data[first:size]), marker, False)


# -- HTTP --------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        fake: FakeRds,
    ) -> None:
        self.fake = fake
        super().__init__(address, handler)

    def handle_error(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        """A client that went away in the middle of an answer is no error of the server's."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def get_request(self) -> tuple[socket.socket, tuple[str, int]]:
        connection, address = super().get_request()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8") if length else ""
        self._serve(_params(parse_qsl(body, keep_blank_values=True)))

    def do_GET(self) -> None:
        query = urlsplit(self.path).query
        self._serve(_params(parse_qsl(query, keep_blank_values=True)))

    def _serve(self, params: dict[str, str]) -> None:
        fake = cast(_Server, self.server).fake
        authorization = self.headers.get("Authorization", "")
        answer = fake.handle(params, authorization.startswith("AWS4-HMAC-SHA256 "))
        if answer.fault == "reset":
            self.close_connection = True
            linger = struct.pack("ii", 1, 0)  # close with a TCP reset
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            return
        body = answer.body
        head = (
            f"HTTP/1.1 {answer.status} {http.HTTPStatus(answer.status).phrase}\r\n"
            f"x-amzn-RequestId: {answer.request_id}\r\n"
            "Content-Type: text/xml\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"Date: {self.date_time_string()}\r\n\r\n"
        ).encode("ascii")
        if answer.fault == "partial":
            self.close_connection = True
            body = body[: len(body) // 2]
        self.wfile.write(head + body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Stay quiet."""


def _params(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, value in pairs:
        params.setdefault(key, value)
    return params
