"""What a filter means for one parsed entry: the reference semantics.

The index evaluates filters over columns for speed; for the fields it has no column for
(``agent``, ``query``, ``header``) it calls ``field_matches`` on parsed records, and the
tests check that both agree entry by entry. Regexes are RE2 patterns (``tui.query.regex``),
the same engine the index's block search uses.
"""

from __future__ import annotations

from tui.insight import operation, record_fingerprint
from tui.model.record import AUTH_NAMES, Entry, Host, Principal, Record
from tui.query.ast import And, FieldMatch, Last, MatchAll, Node, Not, Or, Regex, Text, TimeBound


def field_values(record: Record, field: str) -> list[str]:
    """The texts a field has in a record (none when absent)."""
    value: str | None
    if field == "type":
        value = record.conn_type
    elif field == "client":
        value = record.client.key if record.client else None
    elif field == "server":
        value = record.server.raw if record.server else None
    elif field == "user":
        value = record.arn
    elif field == "auth":
        value = AUTH_NAMES[record.auth_ok]
    elif field == "lang":
        value = record.lang or "none"
    elif field == "method":
        value = record.method
    elif field == "path":
        value = record.path
    elif field == "agent":
        value = record.user_agent
    elif field == "query":
        value = record.query.text if record.query else None
    elif field == "header":
        value = record.header_raw
    elif field == "source":
        value = record.source
    elif field == "instance":
        value = record.instance
    elif field == "op":
        value = operation(record)
    elif field == "fp":
        found = record_fingerprint(record)
        value = found.id if found is not None else None
    else:
        raise ValueError(f"unknown field {field!r}")
    return [] if value is None else [value]


def client_text(host: Host) -> str:
    """A client as its text is searched (``client:`` and ``client:/re/``): the address and
    the port, as exported and shown (``10.0.1.18:34266``)."""
    return f"{host.key}:{host.port}" if host.port is not None else host.key


def split_client_value(value: str) -> tuple[str, int | None]:
    """``10.0.1.18:34266`` -> (``10.0.1.18``, 34266); other values have no port part."""
    head, sep, tail = value.rpartition(":")
    if sep and head and ":" not in head and tail.isdigit() and len(tail) <= 5:
        return head, int(tail)
    if sep and head.startswith("[") and head.endswith("]") and tail.isdigit():
        return head[1:-1], int(tail)
    return value, None


def user_equals(principal: Principal, value: str) -> bool:
    """``user=value``: the value is the whole ARN or one of its parts (any case)."""
    wanted = value.lower()
    return any(part.lower() == wanted for part in principal.parts)


def text_matches(node: FieldMatch, text: str) -> bool:
    """Whether one field text satisfies a field term's operator."""
    if node.op == "regex":
        return node.pattern is not None and node.pattern.search(text)
    if node.op == "equals":
        return text.lower() == node.value.lower()
    return node.value.lower() in text.lower()


def field_matches(node: FieldMatch, entry: Entry) -> bool:
    """Whether an entry satisfies a ``field:value`` term (malformed entries have no fields,
    except the file they came from)."""
    if not isinstance(entry, Record):
        return node.field == "source" and text_matches(node, entry.source)
    if node.field == "user" and node.op == "equals":
        return entry.principal is not None and user_equals(entry.principal, node.value)
    if node.field == "client" and entry.client is not None:
        if node.op != "equals":
            return text_matches(node, client_text(entry.client))
        address, port = split_client_value(node.value)
        if port is not None:
            return entry.client.key.lower() == address.lower() and entry.client.port == port
    return any(text_matches(node, text) for text in field_values(entry, node.field))


def matches(node: Node, entry: Entry, raw: str, *, epoch_us: int, newest_us: int) -> bool:
    """Whether an entry (with its raw text and index time) satisfies a filter."""
    if isinstance(node, MatchAll):
        return True
    if isinstance(node, Text):
        return node.value.lower() in raw.lower()
    if isinstance(node, Regex):
        return node.pattern.search(raw)
    if isinstance(node, FieldMatch):
        return field_matches(node, entry)
    if isinstance(node, TimeBound):
        return epoch_us >= node.epoch_us if node.op == "after" else epoch_us < node.epoch_us
    if isinstance(node, Last):
        return epoch_us >= newest_us - node.duration_us
    if isinstance(node, Not):
        return not matches(node.operand, entry, raw, epoch_us=epoch_us, newest_us=newest_us)
    if isinstance(node, And):
        return all(
            matches(child, entry, raw, epoch_us=epoch_us, newest_us=newest_us)
            for child in node.operands
        )
    if isinstance(node, Or):
        return any(
            matches(child, entry, raw, epoch_us=epoch_us, newest_us=newest_us)
            for child in node.operands
        )
    raise TypeError(f"not a filter node: {node!r}")
