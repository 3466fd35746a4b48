"""Credential masking (``tui.model.secrets``): the secret is gone from every field of the
masked copy, what helps an investigation (names, schemes, scopes) stays, ordinary records
come back unchanged, and masking twice changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, is_dataclass
from urllib.parse import quote, unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.hostile import (
    ACCESS_KEY_ID,
    API_KEY,
    BASIC,
    CREDENTIAL_LINES,
    HOSTILE_LINES,
    JWT,
    SESSION_TOKEN,
    SIGNATURE,
)
from tui.model import Malformed, Record, parse_entry
from tui.model.secrets import (
    MASK_CHAR,
    MASKED,
    has_secret,
    mask,
    mask_entry,
    mask_header,
    mask_record,
    mask_text,
)

SCOPE = "20261124/us-east-1/neptune-db/aws4_request"
SIGV4 = (
    f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/{SCOPE}, "
    f"SignedHeaders=host;x-amz-date, Signature={SIGNATURE}"
)
SIGV4_MASKED = (
    f"AWS4-HMAC-SHA256 Credential=•••• (masked, 20 chars)/{SCOPE}, "
    "SignedHeaders=host;x-amz-date, Signature=•••• (masked, 64 chars)"
)


def strings(value: object) -> list[str]:
    """Every string inside a parsed entry (mapping keys too), recursively."""
    if isinstance(value, str):
        return [value]
    if is_dataclass(value) and not isinstance(value, type):
        return [s for f in fields(value) for s in strings(getattr(value, f.name))]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in strings(k) + strings(v)]
    if isinstance(value, tuple | list):
        return [s for item in value for s in strings(item)]
    return []


def record(line: str) -> Record:
    entry = parse_entry(line)
    assert isinstance(entry, Record), entry
    return entry


# --------------------------------------------------------------------------------------
# 1. The mask


def test_mask_says_how_long_the_secret_was() -> None:
    assert mask(SIGNATURE) == "•••• (masked, 64 chars)"
    assert mask("x") == "•••• (masked, 1 char)"
    assert MASK_CHAR == "•"
    assert MASKED.fullmatch(mask(SIGNATURE)) and MASKED.fullmatch(mask("x"))


# --------------------------------------------------------------------------------------
# 2. Each credential shape in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"Authorization: {SIGV4}", f"Authorization: {SIGV4_MASKED}"),
        (
            f"Host: h Authorization: {SIGV4} X-Amz-Date: 20261124T115959Z",
            f"Host: h Authorization: {SIGV4_MASKED} X-Amz-Date: 20261124T115959Z",
        ),
        (
            f"X-Amz-Security-Token: {SESSION_TOKEN} Accept: */*",
            "X-Amz-Security-Token: •••• (masked, 101 chars) Accept: */*",
        ),
        (f"Authorization: Basic {BASIC}", "Authorization: Basic •••• (masked, 32 chars)"),
        (
            "Authorization: Basic dXNlcjpwYXNzd29yZA== Accept: */*",
            "Authorization: Basic •••• (masked, 20 chars) Accept: */*",
        ),
        (f"Authorization: Bearer {JWT}", "Authorization: Bearer •••• (masked, 119 chars)"),
        ("authorization: bearer abc.def", "authorization: bearer •••• (masked, 7 chars)"),
        ("Proxy-Authorization: Basic abcd", "Proxy-Authorization: Basic •••• (masked, 4 chars)"),
        ("Authorization: opaque-token-1", "Authorization: •••• (masked, 14 chars)"),
        (
            "Cookie: sid=abc123; theme=dark; flag",
            "Cookie: sid=•••• (masked, 6 chars); theme=•••• (masked, 4 chars); "
            "•••• (masked, 4 chars)",
        ),
        (
            "Set-Cookie: sid=abc123; Path=/; Secure; HttpOnly; Max-Age=60",
            "Set-Cookie: sid=•••• (masked, 6 chars); Path=/; Secure; HttpOnly; Max-Age=60",
        ),
        (f"X-Api-Key: {API_KEY}", "X-Api-Key: •••• (masked, 32 chars)"),
        (
            "x-api_key: k1 apikey: k2",
            "x-api_key: •••• (masked, 2 chars) apikey: •••• (masked, 2 chars)",
        ),
        (
            "X-Auth-Token: a X-Session-Token: b X-Client-Secret: c X-Password: d X-Passwd: e",
            "X-Auth-Token: •••• (masked, 1 char) X-Session-Token: •••• (masked, 1 char) "
            "X-Client-Secret: •••• (masked, 1 char) X-Password: •••• (masked, 1 char) "
            "X-Passwd: •••• (masked, 1 char)",
        ),
        (
            'Authorization: Digest username="bob", realm="neptune", response="abc"',
            'Authorization: Digest username=•••• (masked, 5 chars), realm="neptune", '
            "response=•••• (masked, 5 chars)",
        ),
    ],
)
def test_headers_are_masked(text: str, expected: str) -> None:
    assert mask_text(text) == expected
    assert has_secret(text)


def test_sigv4_keeps_scheme_scope_and_signed_headers() -> None:
    masked = mask_text(f"Authorization: {SIGV4}")
    assert ACCESS_KEY_ID not in masked and SIGNATURE not in masked
    assert "AWS4-HMAC-SHA256 Credential=" in masked
    assert f"/{SCOPE}, SignedHeaders=host;x-amz-date, Signature=" in masked


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f"/sparql?query=x&X-Amz-Credential={ACCESS_KEY_ID}%2F20261124%2Fus-east-1"
            f"&X-Amz-Signature={SIGNATURE}&X-Amz-SignedHeaders=host",
            "/sparql?query=x&X-Amz-Credential=•••• (masked, 20 chars)%2F20261124%2Fus-east-1"
            "&X-Amz-Signature=•••• (masked, 64 chars)&X-Amz-SignedHeaders=host",
        ),
        (
            f"X-Amz-Credential={ACCESS_KEY_ID}%2f20261124&x-amz-security-token=IQo%2B%2F%3D",
            "X-Amz-Credential=•••• (masked, 20 chars)%2f20261124"
            "&x-amz-security-token=•••• (masked, 12 chars)",
        ),
        (
            f"X-Amz-Credential={ACCESS_KEY_ID}/{SCOPE}",
            f"X-Amz-Credential=•••• (masked, 20 chars)/{SCOPE}",
        ),
        (
            "a=1&access_token=t0k&password=hunter2#frag",
            "a=1&access_token=•••• (masked, 3 chars)&password=•••• (masked, 7 chars)#frag",
        ),
        ('"query=x&token=""abc""", next', '"query=x&token=""•••• (masked, 3 chars)""", next'),
        (
            "AWSAccessKeyId=AKIA1&Signature=s1",
            "AWSAccessKeyId=•••• (masked, 5 chars)&Signature=•••• (masked, 2 chars)",
        ),
    ],
)
def test_query_parameters_are_masked(text: str, expected: str) -> None:
    assert mask_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "g.V().has('name','ann').out('knows')",
        "SELECT ?s WHERE { ?s ?p ?o } LIMIT 10",
        "query=SELECT+%3Fs+WHERE+%7B+%3Fs+%3Fp+%3Fo+%7D",
        "Host: h User-Agent: python-requests/2.31.0 Content-Type: application/json",
        "X-Amz-Date: 20261124T115959Z X-Amz-Content-Sha256: UNSIGNED-PAYLOAD",
        "MATCH (k:key) RETURN k.token AS token",  # trigger words, nothing shaped like one
        "the session token expired; signature mismatch; Cookie jar",
        "SignedHeaders=host;x-amz-date",
    ],
)
def test_text_without_credentials_is_unchanged(text: str) -> None:
    assert mask_text(text) == text
    assert not has_secret(text)


def test_a_value_ends_at_the_quote_that_closes_the_header_field() -> None:
    line = (
        '1700000000123, a:1, b:2, HTTP_POST, [unknown], [unknown], "POST /sparql HTTP/1.1 '
        'Authorization: Basic abcd", "query=SELECT+1"'
    )
    assert mask_text(line) == line.replace("Basic abcd", "Basic •••• (masked, 4 chars)")


def test_doubled_quotes_inside_the_header_field_do_not_end_the_value() -> None:
    line = (
        '1, a, b, HTTP_POST, x, y, "GET / HTTP/1.1 Authorization: Digest username=""bob"", '
        'response=""0123abcd""", payload'
    )
    masked = mask_text(line)
    assert "0123abcd" not in masked and "bob" not in masked
    assert masked.endswith('", payload')


def test_a_newline_ends_a_header_value() -> None:
    assert mask_text("X-Api-Key: abc\nnext line") == "X-Api-Key: •••• (masked, 3 chars)\nnext line"


def test_mask_header_masks_one_parsed_header() -> None:
    assert mask_header("Authorization", SIGV4) == SIGV4_MASKED
    assert mask_header("Cookie", "a=1; b=2") == "a=•••• (masked, 1 char); b=•••• (masked, 1 char)"
    assert mask_header("User-Agent", "curl/8.4.0") == "curl/8.4.0"
    assert mask_header("Referer", "https://x/?X-Amz-Signature=abc") == (
        "https://x/?X-Amz-Signature=•••• (masked, 3 chars)"
    )


# --------------------------------------------------------------------------------------
# 3. Records


@pytest.mark.parametrize("name", sorted(CREDENTIAL_LINES))
def test_no_secret_survives_in_a_masked_record(name: str) -> None:
    line, secrets = CREDENTIAL_LINES[name]
    original = record(line)
    masked = mask_record(original)
    assert masked is not original
    found = strings(masked)
    for secret in secrets:
        for form in {secret, quote(secret, safe=""), unquote(secret)}:
            assert not any(form in s for s in found), (secret, [s for s in found if form in s])
    # The original is untouched: filters still match it.
    assert any(secrets[0] in s for s in strings(original))
    assert mask_entry(original) == masked


@pytest.mark.parametrize("name", sorted(CREDENTIAL_LINES))
def test_a_masked_record_keeps_what_helps_an_investigation(name: str) -> None:
    original = record(CREDENTIAL_LINES[name][0])
    masked = mask_record(original)
    assert (masked.epoch_us, masked.client, masked.server) == (
        original.epoch_us,
        original.client,
        original.server,
    )
    assert (masked.principal, masked.auth_context, masked.auth_ok) == (
        original.principal,
        original.auth_context,
        original.auth_ok,
    )
    assert (masked.method, masked.path, masked.lang) == (
        original.method,
        original.path,
        original.lang,
    )
    assert masked.request is not None and original.request is not None
    assert [n for n, _ in masked.request.headers] == [n for n, _ in original.request.headers]
    assert masked.query is not None and original.query is not None
    assert masked.query.text == original.query.text
    assert [n for n, _ in masked.query.parameters] == [n for n, _ in original.query.parameters]
    assert mask_record(masked) == masked


@pytest.mark.parametrize("form", ["jsonl", "csv", "table"])
def test_an_export_writes_what_it_wrote_of_a_fully_masked_record(form: str) -> None:
    """Exports mask only what they write (``mask_written``): the same output as from
    ``mask_record``, and nothing of the raw line or the request to leak later."""
    import io

    from tui.cli.export import TableWriter, Writer, make_writer
    from tui.model.secrets import mask_written

    def written(mask: Callable[[Record], Record]) -> str:
        out = io.StringIO()
        writer: Writer = (
            TableWriter(out, width=200, reveal=True)
            if form == "table"
            else make_writer(form, out, reveal=True)
        )
        for line, _ in CREDENTIAL_LINES.values():
            writer.record(mask(record(line)))
        writer.close()
        return out.getvalue()

    assert written(mask_written) == written(mask_record)
    for line, secrets in CREDENTIAL_LINES.values():
        masked = mask_written(record(line))
        assert masked.raw == "" and masked.request is None
        assert not any(secret in s for secret in secrets for s in strings(masked))


def test_masked_record_parts() -> None:
    masked = mask_record(record(CREDENTIAL_LINES["everything"][0]))
    assert masked.request is not None and masked.header_raw is not None
    assert masked.request.header("Authorization") == SIGV4_MASKED.replace(
        "host;x-amz-date", "host;x-amz-date;x-amz-security-token"
    )
    assert masked.request.header("Cookie") == "sid=•••• (masked, 35 chars)"
    assert masked.request.header("X-Amz-Security-Token") == "•••• (masked, 101 chars)"
    assert masked.request.target is not None
    assert "X-Amz-Signature=•••• (masked, 64 chars)" in masked.request.target
    assert masked.request.query_string is not None
    assert "X-Amz-SignedHeaders=host&" in masked.request.query_string
    for part in (masked.raw, masked.header_raw, masked.request.raw):
        assert f"Credential=•••• (masked, 20 chars)/{SCOPE}, SignedHeaders=" in part
        assert "X-Amz-Credential=•••• (masked, 20 chars)%2F20261124%2F" in part


def test_presigned_get_parameters_are_masked_decoded() -> None:
    masked = mask_record(record(CREDENTIAL_LINES["presigned_get"][0]))
    assert masked.query is not None
    parameters = dict(masked.query.parameters)
    assert parameters["X-Amz-Credential"] == f"•••• (masked, 20 chars)/{SCOPE}"
    assert parameters["X-Amz-Signature"] == "•••• (masked, 64 chars)"
    assert parameters["X-Amz-Security-Token"] == mask(SESSION_TOKEN)
    assert parameters["X-Amz-Date"] == "20261124T115959Z"
    assert masked.query.text == "SELECT * WHERE { ?s ?p ?o } LIMIT 1"


def test_a_bolt_payload_is_masked_in_its_query_text_too() -> None:
    line = (
        "1700000001000, 10.0.1.22:7687, 10.0.3.215:8182, Bolt, [unknown], [unknown], "
        "[unknown], MATCH (n) WHERE n.x = 1 // Authorization: Bearer abc.def.ghi"
    )
    masked = mask_record(record(line))
    assert masked.query is not None and masked.payload is not None
    for text in (masked.raw, masked.payload, masked.query.text):
        assert text.endswith("// Authorization: Bearer •••• (masked, 11 chars)")


@pytest.mark.parametrize("name", sorted(HOSTILE_LINES))
def test_ordinary_records_come_back_unchanged(name: str) -> None:
    entry = parse_entry(HOSTILE_LINES[name])
    assert mask_entry(entry) is entry


def test_a_malformed_entry_is_masked_too() -> None:
    entry = parse_entry(f"not a record Authorization: Basic {BASIC}")
    assert isinstance(entry, Malformed)
    masked = mask_entry(entry)
    assert isinstance(masked, Malformed)
    assert masked.raw == "not a record Authorization: Basic •••• (masked, 32 chars)"
    assert (masked.reason, masked.source, masked.line) == (entry.reason, entry.source, entry.line)


# --------------------------------------------------------------------------------------
# 4. Properties


_ATOMS = st.sampled_from(
    [
        "Authorization: ", "Cookie: ", "Set-Cookie: ", "X-Api-Key: ", "Host: ",
        "x-amz-security-token: ", "Basic ", "Bearer ", "AWS4-HMAC-SHA256 ", "Digest ",
        "Credential=", "Signature=",
        "SignedHeaders=", "X-Amz-Signature=", "X-Amz-Credential=", "token=", "password=", "?",
        "&", "=", "==", ";", " ", ", ", ",", '"', '""', "'", "\n", "\r", "\t", "/", "%2F",
        "AKIA", "abc", "•", "••••", mask("abc"), "(masked, 3 chars)", ":", ": ", "Path=/",
        "{", "}", "realm=",
    ]
)  # fmt: skip
TEXT = st.one_of(st.text(), st.lists(st.one_of(_ATOMS, st.text(max_size=3))).map("".join))


@settings(max_examples=300)
@given(TEXT)
def test_mask_text_is_idempotent_and_never_raises(text: str) -> None:
    masked = mask_text(text)
    assert mask_text(masked) == masked
    assert has_secret(text) == (masked != text)


@settings(max_examples=150)
@given(st.sampled_from(["Authorization", "Cookie", "Set-Cookie", "X-Api-Key", "Referer"]), TEXT)
def test_mask_header_is_idempotent(name: str, value: str) -> None:
    masked = mask_header(name, value)
    assert mask_header(name, masked) == masked


@settings(max_examples=150)
@given(st.sampled_from(sorted(CREDENTIAL_LINES)), TEXT, st.sampled_from(["header", "payload"]))
def test_mask_record_is_idempotent_on_mangled_lines(name: str, noise: str, where: str) -> None:
    line = CREDENTIAL_LINES[name][0]
    if where == "header":
        line = line.replace(" Content-Type:", f" {noise.replace(chr(34), '')} Content-Type:", 1)
    else:
        line = line + noise
    entry = parse_entry(line)
    masked = mask_entry(entry)
    assert mask_entry(masked) == masked


def test_pathological_text_is_masked_in_linear_time() -> None:
    """No timing assert: a quadratic pass over these would not finish in the test run."""
    for text in (
        "token=" * 20_000,
        "Authorization: " * 20_000,
        "Authorization: AWS4 " + "a=b," * 20_000,
        "Cookie: " + "a=b; " * 20_000,
        "X-Api-Key: " + '"' * 100_000,
        ', "Authorization: x ""' * 10_000,
        "token=" + "•" * 100_000,
        " " + "a" * 100_000 + " token",
    ):
        masked = mask_text(text)
        assert mask_text(masked) == masked
