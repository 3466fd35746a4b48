"""Parsing one entry's text into a Record, or a Malformed entry with its reason.

An entry is a line that starts a record (digits, then ``", "``) plus any following lines
that do not, joined with ``\\n``. Nothing here raises on bad input.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tui.model.fields import (
    RECORD_START,
    absent,
    auth_succeeded,
    parse_arn,
    parse_auth_context,
    parse_host,
    split_fields,
    timestamp_us,
    unquote_payload,
    unsupported_width_reason,
)
from tui.model.header import header_value, parse_header, split_target
from tui.model.payload import SNIFF, decode_query, language_for, sniff_language
from tui.model.record import Entry, HttpRequest, Malformed, Query, Record

#: Reason for a line that does not start a record while no record is open.
FRAGMENT_REASON = "line does not start with a timestamp and no record is open to continue"

_TYPE_METHOD = {"HTTP_GET": "GET", "HTTP_POST": "POST"}


def starts_record(line: str) -> bool:
    """True when the line begins with digits and ``", "``, i.e. opens a new entry."""
    return RECORD_START.match(line) is not None


@dataclass(frozen=True, slots=True)
class RawFields:
    """The fields of a record line as logged: CSV quoting undone, absent values None."""

    epoch_us: int
    client: str | None
    server: str | None
    conn_type: str | None
    arn: str | None
    auth: str | None
    header: str | None
    payload: str | None


def raw_fields(text: str) -> RawFields | str:
    """Split an entry's text into fields, or the reason it is malformed."""
    start = RECORD_START.match(text)
    if start is None:
        return FRAGMENT_REASON
    digits = start.group(1)
    epoch_us = timestamp_us(digits)
    if epoch_us is None:
        return unsupported_width_reason(len(digits))
    split = split_fields(text, start.end())
    if isinstance(split, str):
        return split
    (client, server, conn_type, arn, auth, header), payload = split
    return RawFields(
        epoch_us=epoch_us,
        client=absent(client),
        server=absent(server),
        conn_type=absent(conn_type),
        arn=absent(arn),
        auth=absent(auth),
        header=absent(header),
        payload=absent(payload),
    )


def request_of(fields: RawFields) -> HttpRequest | None:
    """The parsed HTTP header, when there is one."""
    return parse_header(fields.header) if fields.header is not None else None


def target_of(fields: RawFields, request: HttpRequest | None) -> tuple[str | None, str | None]:
    """(path, query string): from the request line, or for an HTTP record without a header
    from a payload that is itself the target (``/status``)."""
    path = request.path if request else None
    query_string = request.query_string if request else None
    payload = fields.payload
    if path is None and fields.conn_type in _TYPE_METHOD and payload and payload.startswith("/"):
        path, query_string = split_target(payload.split(None, 1)[0])
    return path, query_string


def query_of(fields: RawFields, request: HttpRequest | None) -> Query | None:
    """The decoded query of a record."""
    return decode_query(fields.payload, target_of(fields, request)[1])


def parse_entry(
    text: str, *, source: str = "", line: int = 0, offset: int = 0, instance: str | None = None
) -> Entry:
    """Parse an entry's text (CR and trailing newline already removed); a record gets the
    ``instance`` it is from."""
    fields = raw_fields(text)
    if isinstance(fields, str):
        return Malformed(fields, text, source, line, offset)
    request = request_of(fields)
    path, query_string = target_of(fields, request)
    conn_type = fields.conn_type
    method = (request.method if request else None) or _TYPE_METHOD.get(conn_type or "")
    query = decode_query(fields.payload, query_string)
    lang = language_for(conn_type, path)
    if lang == SNIFF:
        lang = sniff_language(query)
    context = parse_auth_context(fields.auth) if fields.auth is not None else None
    return Record(
        epoch_us=fields.epoch_us,
        client=parse_host(fields.client) if fields.client is not None else None,
        server=parse_host(fields.server) if fields.server is not None else None,
        conn_type=conn_type,
        principal=parse_arn(fields.arn) if fields.arn is not None else None,
        auth_raw=fields.auth,
        auth_context=context,
        auth_ok=auth_succeeded(context),
        header_raw=fields.header,
        request=request,
        payload=fields.payload,
        query=query,
        lang=lang,
        method=method,
        path=path,
        source=source,
        line=line,
        offset=offset,
        raw=text,
        instance=instance,
    )


def _fields_of(text: str, cut: bool) -> RawFields | None:
    """The raw fields of an entry's text (None for a malformed one); ``cut``: the text is
    the start of a longer entry, its quoted payload has lost its closing quote."""
    fields = raw_fields(text)
    if isinstance(fields, str):
        return None
    payload = fields.payload
    if cut and payload is not None and payload.startswith('"') and not payload.endswith('"'):
        fields = replace(fields, payload=payload[1:].replace('""', '"'))
    return fields


def text_field(text: str, name: str, *, cut: bool = False) -> str | None:
    """One of the fields the index keeps no column for (``query``, ``header``, ``agent``),
    derived as ``parse_entry`` derives it but without parsing the rest; None for absent
    values and malformed entries. ``cut``: ``text`` is the start of a longer entry, so a
    quoted payload has lost its closing quote (its opening one is dropped all the same)."""
    fields = _fields_of(text, cut)
    return _text_field_of(fields, name) if fields is not None else None


#: What follows a bare absent header field.
_BARE_HEADER = b"[unknown], "


def hinted_text_field(
    data: bytes, at: int, conn_type: str | None, name: str, *, end: int | None = None
) -> str | None:
    """``text_field`` of the entry ``data[:end]`` when the scanner proved the fields before
    its header plain: the header field opens at byte ``at`` and is either quoted with no
    quote inside or ``[unknown]``, and ``", "`` follows it. Reads only the header (and, for
    the query, the payload): no splitting of the fields before it. ``data`` may be a block
    of entries: ``at`` is then counted from the block's start, and ``end`` ends the entry."""
    if data[at] == 34:  # '"'
        close = data.find(b'"', at + 1)
        header = absent(data[at + 1 : close].decode("utf-8", "replace"))
        payload_at = close + 3
    else:
        header = None
        payload_at = at + len(_BARE_HEADER)
    # (header and agent return here: building the fields for ``_text_field_of`` costs a
    # microsecond an entry, a fifth of an agent: search)
    if name == "header":
        return header
    if name == "agent":
        return header_value(header, "User-Agent") if header is not None else None
    payload = absent(unquote_payload(decode_entry_bytes(data[payload_at:end])))
    return _text_field_of(RawFields(0, None, None, conn_type, None, None, header, payload), name)


def _text_field_of(fields: RawFields, name: str) -> str | None:
    """A text field from the fields it derives from (the header, the payload and the
    connection type: the others are not read)."""
    if name == "header":
        return fields.header
    if name == "agent":
        return header_value(fields.header, "User-Agent") if fields.header is not None else None
    if name == "query":
        query = _query_only(fields)
        return query.text if query else None
    raise ValueError(f"no text field {name!r}")


def query_field(text: str, *, cut: bool = False) -> Query | None:
    """The decoded query of an entry's text (with its form), as ``parse_entry`` decodes it,
    without parsing the rest; ``cut`` as for ``text_field``."""
    fields = _fields_of(text, cut)
    if fields is None:
        return None
    return _query_only(fields)


def _query_only(fields: RawFields) -> Query | None:
    # The header is needed only when the payload does not carry the query itself.
    payload = (fields.payload or "").strip()
    needs_header = not payload or (payload.startswith("/") and "?" not in payload)
    return query_of(fields, request_of(fields) if needs_header else None)


def decode_entry_bytes(data: bytes) -> str:
    """Entry bytes to text: invalid UTF-8 replaced, CRLF made LF, trailing blank lines and
    the final newline removed (an entry's byte span runs up to the next entry)."""
    text = data.decode("utf-8", errors="replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    text = text.rstrip("\r\n")
    if "\n" in text:
        lines = text.split("\n")
        while len(lines) > 1 and not lines[-1].strip():
            lines.pop()
        text = "\n".join(lines).rstrip("\r")
    return text
