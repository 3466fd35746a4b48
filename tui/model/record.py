"""The parsed forms of one audit-log entry.

These objects exist only for records someone looks at (the detail pane, an export row):
the index keeps compact columns and byte offsets, and parses a record on demand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

#: Connection types the AWS documentation lists; others are kept but flagged.
KNOWN_TYPES: frozenset[str] = frozenset({"Websocket", "HTTP_POST", "HTTP_GET", "Bolt"})

#: Operation classes of records, in the order lists show them (``tui.insight`` decides them).
READ, WRITE, DELETE, ADMIN, HEALTH, UNKNOWN = (
    "read",
    "write",
    "delete",
    "admin",
    "health",
    "unknown",
)
OPERATIONS: tuple[str, ...] = (READ, WRITE, DELETE, ADMIN, HEALTH, UNKNOWN)

#: Names of the auth outcomes (``Record.auth_ok``), as filters, stats and exports write
#: them, in the order lists show them.
AUTH_NAMES: dict[bool | None, str] = {True: "ok", False: "failed", None: "none"}


@dataclass(frozen=True, slots=True)
class Host:
    """A client or server host split into its parts.

    ``raw`` is the field as logged: ``10.0.1.18:34266``, ``ip-10-0-3-215.ec2.internal/
    10.0.3.215:8182`` (Java's ``hostname/ip:port``), ``[2001:db8::1]:8182`` or Java's
    unbracketed IPv6 ``0:0:0:0:0:0:0:1:8182``.
    """

    raw: str
    name: str | None
    address: str | None
    port: int | None

    @property
    def key(self) -> str:
        """What identifies the host without its (often ephemeral) port."""
        return self.address or self.name or self.raw


@dataclass(frozen=True, slots=True)
class Principal:
    """An IAM caller ARN and its parts.

    ``kind`` is ``user``, ``role`` (an assumed-role session or a role), ``federated-user``,
    ``root`` or the ARN's resource type as written; every part is None for a non-ARN string.
    """

    arn: str
    partition: str | None = None
    service: str | None = None
    account: str | None = None
    kind: str | None = None
    name: str | None = None
    session: str | None = None

    @property
    def short(self) -> str:
        """A compact principal for a table cell, e.g. ``role/AppRole/worker-7``."""
        if self.kind is None or self.name is None:
            return self.arn
        parts = [self.kind, self.name]
        if self.session:
            parts.append(self.session)
        return "/".join(parts)

    @property
    def parts(self) -> tuple[str, ...]:
        """Every identifying part, for ``user=`` exact matches."""
        found = [self.arn, self.short]
        found += [p for p in (self.account, self.name, self.session) if p]
        return tuple(found)


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """The HTTP header field: Netty's request summary, the request line and the headers."""

    raw: str
    summary: str | None
    method: str | None
    target: str | None
    path: str | None
    query_string: str | None
    version: str | None
    headers: tuple[tuple[str, str], ...]

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    @property
    def user_agent(self) -> str | None:
        """The ``User-Agent`` header, if sent."""
        return self.header("User-Agent")


@dataclass(frozen=True, slots=True)
class Query:
    """The query a payload carries, decoded to the text a person would have typed.

    ``form`` names the payload shape it came from: ``form`` (URL-encoded body),
    ``query-string`` (GET), ``json``, ``request-message`` (TinkerPop WebSocket eval),
    ``bytecode`` (TinkerPop bytecode, rendered as a traversal) or ``text`` (as sent).
    ``parameters`` holds other named values sent with it (openCypher parameters, explain
    mode, bindings), as text.
    """

    text: str
    form: str
    parameters: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Record:
    """One audit-log record, fully parsed."""

    epoch_us: int
    client: Host | None
    server: Host | None
    conn_type: str | None
    principal: Principal | None
    auth_raw: str | None
    auth_context: Mapping[str, object] | None
    auth_ok: bool | None
    header_raw: str | None
    request: HttpRequest | None
    payload: str | None
    query: Query | None
    lang: str | None
    method: str | None
    path: str | None
    source: str
    line: int
    offset: int
    raw: str
    #: The Neptune instance, named by the index from the file's place or the server field.
    instance: str | None = None

    @property
    def arn(self) -> str | None:
        """The caller's IAM ARN, when IAM authentication is on."""
        return self.principal.arn if self.principal else None

    @property
    def user_agent(self) -> str | None:
        """The HTTP ``User-Agent``, when there is an HTTP header."""
        return self.request.user_agent if self.request else None

    @property
    def type_known(self) -> bool:
        """False for a connection type the documentation does not list."""
        return self.conn_type is None or self.conn_type in KNOWN_TYPES


@dataclass(frozen=True, slots=True)
class Malformed:
    """Input that is not a record, kept whole with the reason it was rejected."""

    reason: str
    raw: str
    source: str
    line: int
    offset: int


Entry = Record | Malformed
