"""Parsing one entry's text into a Record, or a Malformed entry with its reason.

An entry is a line that starts a record (digits, then ``", "``) plus any following lines
that do not, joined with ``\\n``. Nothing here raises on bad input.
"""

from __future__ import annotations

from tui.model.fields import (
    RECORD_START,
    absent,
    auth_succeeded,
    parse_arn,
    parse_auth_context,
    parse_host,
    split_fields,
    timestamp_us,
    unsupported_width_reason,
)
from tui.model.header import parse_header, split_target
from tui.model.payload import SNIFF, decode_query, language_for, sniff_language
from tui.model.record import Entry, Malformed, Record

#: Reason for a line that does not start a record while no record is open.
FRAGMENT_REASON = "line does not start with a timestamp and no record is open to continue"

_TYPE_METHOD = {"HTTP_GET": "GET", "HTTP_POST": "POST"}


def starts_record(line: str) -> bool:
    """True when the line begins with digits and ``", "``, i.e. opens a new entry."""
    return RECORD_START.match(line) is not None


def parse_entry(text: str, *, source: str = "", line: int = 0, offset: int = 0) -> Entry:
    """Parse an entry's text (CR and trailing newline already removed)."""
    start = RECORD_START.match(text)
    if start is None:
        return Malformed(FRAGMENT_REASON, text, source, line, offset)
    digits = start.group(1)
    epoch_us = timestamp_us(digits)
    if epoch_us is None:
        return Malformed(unsupported_width_reason(len(digits)), text, source, line, offset)
    split = split_fields(text, start.end())
    if isinstance(split, str):
        return Malformed(split, text, source, line, offset)
    (client_raw, server_raw, type_raw, arn_raw, auth_raw, header_raw), payload = split

    conn_type = absent(type_raw)
    client = absent(client_raw)
    server = absent(server_raw)
    arn = absent(arn_raw)
    auth_text = absent(auth_raw)
    header_text = absent(header_raw)
    payload = absent(payload)

    request = parse_header(header_text) if header_text is not None else None
    path = request.path if request else None
    query_string = request.query_string if request else None
    if path is None and conn_type in _TYPE_METHOD and payload and payload.startswith("/"):
        path, query_string = split_target(payload.split(None, 1)[0])
    method = (request.method if request else None) or _TYPE_METHOD.get(conn_type or "")

    query = decode_query(payload, query_string)
    lang = language_for(conn_type, path)
    if lang == SNIFF:
        lang = sniff_language(query)
    context = parse_auth_context(auth_text) if auth_text is not None else None

    return Record(
        epoch_us=epoch_us,
        client=parse_host(client) if client is not None else None,
        server=parse_host(server) if server is not None else None,
        conn_type=conn_type,
        principal=parse_arn(arn) if arn is not None else None,
        auth_raw=auth_text,
        auth_context=context,
        auth_ok=auth_succeeded(context),
        header_raw=header_text,
        request=request,
        payload=payload,
        query=query,
        lang=lang,
        method=method,
        path=path,
        source=source,
        line=line,
        offset=offset,
        raw=text,
    )


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
