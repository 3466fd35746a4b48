"""Splitting a record line into fields and parsing the small ones (time, hosts, ARN, auth).

These functions are the reference semantics: the vectorised scanner in ``tui.index`` must
give the same column values, and tests check that it does.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from functools import lru_cache

from tui.model.record import Host, Principal

#: Field values that mean "not there": IAM off, health probes, WebSocket headers.
ABSENT_VALUES: frozenset[str] = frozenset({"[unknown]", "null", ""})

#: A line starts a record when it begins with digits and ``", "``.
RECORD_START = re.compile(r"([0-9]+), ")

#: Timestamp width -> multiplier to microseconds (a negative value divides).
US_PER_UNIT: dict[int, int] = {10: 1_000_000, 13: 1_000, 16: 1, 19: -1_000}

#: The six fields between the timestamp and the payload.
FIELD_NAMES: tuple[str, ...] = ("client", "server", "type", "arn", "auth", "header")

_SEP = ", "
_AUTH_FIELD = 4  # index into FIELD_NAMES of the auth context, which may be a ``{...}`` map
_HEADER_FIELD = 5


def absent(value: str | None) -> str | None:
    """The value, or None when it is one of the log's ways of saying "absent"."""
    if value is None or value in ABSENT_VALUES:
        return None
    return value


def timestamp_us(digits: str) -> int | None:
    """Epoch microseconds from the timestamp digits; the width decides the unit.

    10 digits are seconds, 13 milliseconds, 16 microseconds and 19 nanoseconds (truncated).
    Any other width gives None: the caller reports the record as malformed.
    """
    factor = US_PER_UNIT.get(len(digits))
    if factor is None:
        return None
    value = int(digits)
    return value * factor if factor > 0 else value // -factor


def unsupported_width_reason(width: int) -> str:
    """The malformed-entry reason for a timestamp of an unsupported width."""
    return f"timestamp has {width} digits; expected 10, 13, 16 or 19"


def balanced_brace_end(text: str, start: int) -> int:
    """Index of the ``}`` closing the ``{`` at ``start``, or -1."""
    close = text.find("}", start)
    if close >= 0 and text.find("{", start + 1, close) < 0:
        return close  # the usual flat map: {authenticationSucceeded=true}
    depth = 0
    for index in range(start, len(text)):
        char = text[index]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
    return -1


def split_fields(text: str, start: int) -> tuple[list[str], str | None] | str:
    """Split the six fields after the timestamp (``start`` is just past ``"ts, "``).

    Returns ``(fields, payload)`` with CSV quoting undone, ``payload`` None when the line
    ends right after the header field; or a reason string when the line does not have the
    fields of a record. Quote-aware (RFC 4180 ``""`` doubling); the auth context may also
    be an unquoted ``{...}`` Java map containing ``", "``. Everything after the seventh
    separator is the payload: it may itself contain ``", "``.
    """
    fields: list[str] = []
    pos = start
    first = 0
    # Fast path: the five small fields are almost always plain (or quoted without a
    # separator inside, like a JSON auth context), so one C-level split finds them; a
    # quoted field the split cut, or a brace map it could cut, takes the careful loop.
    parts = text[start:].split(_SEP, _HEADER_FIELD)
    if len(parts) == _HEADER_FIELD + 1:
        small = parts[:-1]
        for index, part in enumerate(small):
            if part.startswith('"'):
                end, value = quoted_field(part, 0)
                if end != len(part):
                    break  # cut by the split, or text after the quote: the careful loop
                small[index] = value
        else:
            auth = parts[_AUTH_FIELD]
            if not auth.startswith("{") or balanced_brace_end(auth, 0) == len(auth) - 1:
                fields = small
                pos = len(text) - len(parts[-1])
                first = _HEADER_FIELD
    for index in range(first, len(FIELD_NAMES)):
        last = index == _HEADER_FIELD
        if text.startswith('"', pos):
            end, value = quoted_field(text, pos)
            if end < 0:
                return f"unterminated quoted {FIELD_NAMES[index]} field"
            fields.append(value)
            if end == len(text) and last:
                return fields, None
            if not text.startswith(_SEP, end):
                return f"unexpected text after the quoted {FIELD_NAMES[index]} field"
            pos = end + len(_SEP)
            continue
        if index == _AUTH_FIELD and text.startswith("{", pos):
            close = balanced_brace_end(text, pos)
            if close >= 0 and text.startswith(_SEP, close + 1):
                fields.append(text[pos : close + 1])
                pos = close + 1 + len(_SEP)
                continue
        sep = text.find(_SEP, pos)
        if sep < 0:
            if last:
                fields.append(text[pos:])
                return fields, None
            return f"expected 8 fields, found {index + 2}"
        fields.append(text[pos:sep])
        pos = sep + len(_SEP)
    return fields, unquote_payload(text[pos:])


def quoted_field(text: str, start: int) -> tuple[int, str]:
    """Parse the quoted field opening at ``start``: (index past the closing quote, value)."""
    pos = start + 1
    while True:
        quote = text.find('"', pos)
        if quote < 0:
            return -1, ""
        if text.startswith('"', quote + 1):
            pos = quote + 2
            continue
        return quote + 1, text[start + 1 : quote].replace('""', '"')


def unquote_payload(payload: str) -> str:
    """Strip one pair of surrounding quotes and un-double ``""`` when the payload is quoted."""
    if len(payload) >= 2 and payload[0] == '"' and payload[-1] == '"':
        return payload[1:-1].replace('""', '"')
    return payload


#: Distinct values whose parse is kept: a log has few addresses, callers and auth contexts
#: (client fields add a port, so the address test is kept apart from the host's).
_CACHED = 4096


@lru_cache(maxsize=_CACHED)
def is_ip(text: str) -> bool:
    """Whether ``text`` is an IPv4 or IPv6 address (a zone suffix allowed)."""
    try:
        ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _port(text: str) -> int | None:
    if 1 <= len(text) <= 5 and text.isascii() and text.isdigit():
        value = int(text)
        if value <= 65535:
            return value
    return None


@lru_cache(maxsize=_CACHED)
def parse_host(raw: str) -> Host:
    """Split a host field into name, address and port.

    Handles ``ip:port``, ``hostname/ip:port``, ``hostname:port``, ``[v6]:port`` and Java's
    unbracketed IPv6 with the port as a ninth group (``0:0:0:0:0:0:0:1:8182``).
    """
    name: str | None = None
    rest = raw
    if "/" in raw:
        head, rest = raw.rsplit("/", 1)  # the address is after the last slash
        name = head or None
    address, port = rest, None
    if rest.startswith("["):
        close = rest.find("]")
        if close > 0:
            address = rest[1:close]
            tail = rest[close + 1 :]
            port = _port(tail[1:]) if tail.startswith(":") else None
    elif rest.count(":") == 1:
        head, tail = rest.split(":")
        port = _port(tail)
        if port is not None:
            address = head
    elif rest.count(":") > 1:
        head, _, tail = rest.rpartition(":")
        candidate = _port(tail)
        nine_groups = rest.count(":") == 8
        if candidate is not None and is_ip(head) and (nine_groups or not is_ip(rest)):
            address, port = head, candidate
    if address and not is_ip(address):
        if name is None:
            name = address
            address = ""
    return Host(raw=raw, name=name, address=address or None, port=port)


@lru_cache(maxsize=_CACHED)
def parse_arn(raw: str) -> Principal:
    """Split an IAM or STS ARN into account, kind, name and session."""
    parts = raw.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return Principal(arn=raw)
    _, partition, service, _region, account, resource = parts
    kind, _, rest = resource.partition("/")
    name: str | None = rest or None
    session: str | None = None
    if kind == "assumed-role":
        kind = "role"
        role, _, session_part = rest.partition("/")
        name, session = role or None, session_part or None
    elif kind in ("user", "role", "federated-user", "group") and rest:
        name = rest.rsplit("/", 1)[-1]
    elif kind == "root" or resource == "root":
        kind, name = "root", account or None
    return Principal(
        arn=raw,
        partition=partition or None,
        service=service or None,
        account=account or None,
        kind=kind or None,
        name=name,
        session=session,
    )


def split_top_level(text: str, opens: str = "{[", closes: str = "}]") -> list[str]:
    """Split ``a=1, b={x=1, y=2}`` at the commas outside any of the brackets given, each part
    stripped; an empty text gives no parts."""
    parts: list[str] = []
    depth = 0
    begin = 0
    for index, char in enumerate(text):
        if char in opens:
            depth += 1
        elif char in closes:
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[begin:index].strip())
            begin = index + 1
    tail = text[begin:].strip()
    if tail or parts:
        parts.append(tail)
    return parts


def parse_auth_context(raw: str) -> Mapping[str, object] | None:
    """The auth context as a mapping, from JSON or Java's ``{key=value, ...}`` map form.

    Returns None when the text is neither (the raw text is still shown).
    """
    parsed = _auth_context(raw)
    return dict(parsed) if parsed is not None else None  # a copy: the cached one stays


@lru_cache(maxsize=_CACHED)
def _auth_context(raw: str) -> Mapping[str, object] | None:
    text = raw.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return None
    try:
        loaded = json.loads(text)
    except (ValueError, RecursionError):
        loaded = None
    if isinstance(loaded, dict):
        return loaded
    if balanced_brace_end(text, 0) != len(text) - 1:
        return None
    result: dict[str, object] = {}
    for item in split_top_level(text[1:-1]):
        key, sep, value = item.partition("=")
        if not sep:
            return None
        result[key.strip()] = value.strip()
    return result


def auth_succeeded(context: Mapping[str, object] | None) -> bool | None:
    """``authenticationSucceeded`` as a tri-state: True, False or None when absent."""
    if context is None:
        return None
    value = context.get("authenticationSucceeded")
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
    return None


_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")


def is_host_name(name: str) -> bool:
    """Whether ``name`` is a DNS host name (labels of letters, digits and inner hyphens):
    only such a name may stand for an instance, never arbitrary text from a log line."""
    return len(name) <= 253 and _HOST_NAME.fullmatch(name) is not None


def server_instance_names(servers: list[str | None]) -> list[str | None]:
    """The instance each server field names, one name per instance: its host name (first
    label: ``ip-10-0-3-215``), learned from any value of the same address that has one
    (Java's ``hostname/ip:port``), else the address itself; None for an absent server."""
    hosts = [parse_host(server) if server else None for server in servers]
    learned: dict[str, str] = {}
    for host in hosts:
        if host is not None and host.name and host.address and is_host_name(host.name):
            learned.setdefault(host.address, host.name)
    names: list[str | None] = []
    for host in hosts:
        if host is None:
            names.append(None)
            continue
        own = host.name if host.name and (is_host_name(host.name) or not host.address) else None
        name = own or (learned.get(host.address) if host.address else None)
        if name:
            names.append(name if is_ip(name) else name.split(".")[0])
        else:
            names.append(host.address or host.raw)
    return names
