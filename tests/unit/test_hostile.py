"""The hostile corpus (``tests/hostile.py``) is what it claims: real-shaped lines that parse,
with the hostile text where its name says."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from urllib.parse import quote

import pytest

from tests.hostile import (
    CREDENTIAL_LINES,
    FIELDS,
    HOSTILE_LINES,
    HOSTILE_TEXTS,
    MALFORMED_LINES,
)
from tui.model import Malformed, Record, csv_cell, inert, inert_line, mask_entry, parse_entry
from tui.model.text import ESCAPED


def strings(value: object) -> list[str]:
    """Every string inside a parsed entry, recursively."""
    if isinstance(value, str):
        return [value]
    if is_dataclass(value) and not isinstance(value, type):
        return [s for f in fields(value) for s in strings(getattr(value, f.name))]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in strings(k) + strings(v)]
    if isinstance(value, tuple | list):
        return [s for item in value for s in strings(item)]
    return []


@pytest.mark.parametrize("name", sorted(HOSTILE_LINES))
def test_hostile_lines_parse(name: str) -> None:
    entry = parse_entry(HOSTILE_LINES[name])
    expected = Malformed if name in MALFORMED_LINES else Record
    assert isinstance(entry, expected), entry
    assert entry.raw == HOSTILE_LINES[name]


@pytest.mark.parametrize("field", FIELDS)
def test_each_text_lands_in_its_field(field: str) -> None:
    for name, text in HOSTILE_TEXTS.items():
        entry = parse_entry(HOSTILE_LINES[f"{field}:{name}"])
        assert isinstance(entry, Record)
        where = {
            "client": entry.client.raw if entry.client else None,
            "server": entry.server.raw if entry.server else None,
            "arn": entry.arn,
            "auth": entry.auth_raw,
            "header": entry.header_raw,
            "payload": entry.payload,
        }[field]
        assert where is not None and text in where, (field, name)
        if field == "header":
            assert entry.request is not None
            assert entry.request.target == f"/sparql?x={quote(text)}"


def test_named_lines_carry_their_hostile_parts() -> None:
    java_map = parse_entry(HOSTILE_LINES["auth_java_map_escape_key"])
    assert isinstance(java_map, Record) and java_map.auth_context is not None
    assert any(str(key).startswith("\x1b]52;") for key in java_map.auth_context)
    assert java_map.auth_ok is True
    form = parse_entry(HOSTILE_LINES["form_parameter_name_escape"])
    assert isinstance(form, Record) and form.query is not None
    assert form.query.parameters == (("\x1b]52;c;cHduZWQ=\x1b\\", "y"),)
    script = parse_entry(HOSTILE_LINES["websocket_escape_in_script"])
    assert isinstance(script, Record) and script.query is not None
    assert "\x1b[2J" in script.query.text
    json_body = parse_entry(HOSTILE_LINES["json_escape_in_gremlin"])
    assert isinstance(json_body, Record) and json_body.query is not None
    assert "\x1b]52;" in json_body.query.text


@pytest.mark.parametrize("name", sorted(CREDENTIAL_LINES))
def test_credential_lines_parse_and_hold_their_secrets(name: str) -> None:
    line, secrets = CREDENTIAL_LINES[name]
    entry = parse_entry(line)
    assert isinstance(entry, Record), entry
    assert secrets
    found = strings(entry)
    for secret in secrets:
        assert any(secret in s for s in found), secret


MULTILINE_ESCAPED = ESCAPED - {0x0A, 0x09}


@pytest.mark.parametrize("name", sorted(HOSTILE_LINES))
def test_every_parsed_string_is_made_safe(name: str) -> None:
    """Whatever a hostile line parses into, each string shows inert, stays on one line as a
    message, and cannot start a formula as a CSV cell; masking finds no credential in it."""
    entry = parse_entry(HOSTILE_LINES[name])
    for text in strings(entry):
        assert not any(ord(c) in ESCAPED for c in inert(text))
        assert not any(ord(c) in MULTILINE_ESCAPED for c in inert(text, multiline=True))
        assert "\n" not in inert_line(text, 80) and len(inert_line(text, 80)) <= 80
        assert csv_cell(text)[:1] not in ("=", "+", "-", "@", "\t", "\r")
    assert mask_entry(entry) is entry
