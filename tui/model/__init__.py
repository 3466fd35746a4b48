"""The record model: parsing one Neptune audit-log entry, with no UI dependencies."""

from tui.model.fields import (
    ABSENT_VALUES,
    absent,
    auth_succeeded,
    parse_arn,
    parse_auth_context,
    parse_host,
    split_fields,
    timestamp_us,
)
from tui.model.header import parse_header
from tui.model.parser import FRAGMENT_REASON, decode_entry_bytes, parse_entry, starts_record
from tui.model.payload import (
    GREMLIN,
    LANGUAGES,
    OPENCYPHER,
    SPARQL,
    decode_query,
    language_for,
    sniff_language,
)
from tui.model.record import (
    AUTH_NAMES,
    KNOWN_TYPES,
    Entry,
    Host,
    HttpRequest,
    Malformed,
    Principal,
    Query,
    Record,
)
from tui.model.secrets import has_secret, mask, mask_entry, mask_record, mask_text
from tui.model.text import ESCAPE_MARKER, csv_cell, inert, inert_line

__all__ = [
    "ABSENT_VALUES",
    "AUTH_NAMES",
    "ESCAPE_MARKER",
    "FRAGMENT_REASON",
    "GREMLIN",
    "KNOWN_TYPES",
    "LANGUAGES",
    "OPENCYPHER",
    "SPARQL",
    "Entry",
    "Host",
    "HttpRequest",
    "Malformed",
    "Principal",
    "Query",
    "Record",
    "absent",
    "auth_succeeded",
    "csv_cell",
    "decode_entry_bytes",
    "decode_query",
    "has_secret",
    "inert",
    "inert_line",
    "language_for",
    "mask",
    "mask_entry",
    "mask_record",
    "mask_text",
    "parse_arn",
    "parse_auth_context",
    "parse_entry",
    "parse_header",
    "parse_host",
    "sniff_language",
    "split_fields",
    "starts_record",
    "timestamp_us",
]
