"""Hostile input for every boundary: strings, audit-log lines built from them, and lines
that carry credentials. Data only; the tests that use it decide what must hold.

``HOSTILE_TEXTS`` are bare strings. ``HOSTILE_LINES`` embed each of them in each field of a
real-shaped record line (``<field>:<text name>``), plus a few named whole lines; every line
parses as a Record except the names listed in ``MALFORMED_LINES``. ``CREDENTIAL_LINES`` map
a name to (line, secrets that must never appear in a masked copy).
"""

from __future__ import annotations

from urllib.parse import quote

HOSTILE_TEXTS: dict[str, str] = {
    # Terminal control: OSC 52 writes the clipboard, OSC 0 sets the title, CSI clears.
    "osc52_clipboard": "\x1b]52;c;cHduZWQ=\x07",
    "osc0_title": "\x1b]0;you have been pwned\x07",
    "csi_clear_screen": "\x1b[2J\x1b[H",
    "csi_sgr_colour": "\x1b[31mred\x1b[0m",
    "c1_csi": "\x9b2J",
    "c1_osc": "\x9d0;title\x9c",
    "bel": "ding\x07",
    "nul": "nul\x00byte",
    "del": "del\x7fete",
    "backspace_overwrite": "alice\x08\x08\x08\x08\x08mallory",
    "carriage_return_overwrite": "innocent\rEVIL",
    # Bidi: a right-to-left override and an isolate reorder what follows them.
    "bidi_override": "user\u202etxt.exe",
    "bidi_isolate": "\u2066admin\u2069",
    "bidi_marks": "a\u200eb\u200fc\u061cd",
    # Zero-width and invisible characters inside a principal name: reads as "alice".
    "zero_width_space": "al\u200bice",
    "zero_width_joiner": "al\u200dice",
    "zero_width_non_joiner": "al\u200cice",
    "word_joiner": "al\u2060ice",
    "byte_order_mark": "al\ufeffice",
    "soft_hyphen": "al\u00adice",
    "mongolian_vowel_separator": "al\u180eice",
    "invisible_times": "al\u2062ice",
    "interlinear_annotation": "al\ufff9ice\ufffb",
    "tag_characters": "alice\U000e0001\U000e0061\U000e0064\U000e006d\U000e007f",
    "line_separator": "one\u2028two\u2029three",
    # Markup that Rich or Textual would interpret if text were ever parsed as markup.
    "markup_bold": "[bold red]x[/]",
    "markup_click": "[@click=app.quit]q[/]",
    "markup_stray_close": "[/x]",
    "markup_file_name": "audit[old].log",
    # A newline in a file name must not fake a second message line.
    "newline_file_name": "audit.log\nneptune-audit: error: credentials expired, run aws sso",
    # URL-encoded ESC sequences in a form parameter name (decoded, they are an OSC 52).
    "form_name_escape": "query=SELECT+1&%1B%5D52%3Bc%3BcHduZWQ%3D%1B%5C=y",
    # A Java-map auth context whose key carries an escape sequence.
    "java_map_escape": "{authenticationSucceeded=true, \x1b]52;c;cHduZWQ=\x07=x}",
    # Spreadsheet formulas (OWASP CSV injection).
    "csv_hyperlink": '=HYPERLINK("http://x")',
    "csv_plus": "+1",
    "csv_minus": "-1",
    "csv_at": "@SUM(A1)",
    "csv_tab": "\t=1+1",
    "csv_cr": "\r=1+1",
    # Backslash sequences typed as text: they must stay text, never pass for controls.
    "literal_backslash_escape": "\\x1b[31m \\u202e \\n",
    "literal_marker": "‹ESC›",
    # Text that needs no escaping but is not ASCII; variation selectors are kept.
    "ordinary_unicode": "Zoë José Søren 日本語 👍🏽 ✔\ufe0f",
}

_T = "1700000000123"
_NETTY = (
    "HttpObjectAggregator$AggregatedFullHttpRequest(decodeResult: success, version: HTTP/1.1, "
    "content: CompositeByteBuf(ridx: 0, widx: 57, cap: 57, components=1))"
)
_HOST = "db.cluster-abc.us-east-1.neptune.amazonaws.com:8182"
_FORM = "query=SELECT+%3Fs+WHERE+%7B+%3Fs+%3Fp+%3Fo+%7D+LIMIT+10"


def _csv(text: str) -> str:
    """A field as the log writes it: quoted only when it must be."""
    if ", " in text or text.startswith('"') or text.endswith('"'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _header(request_line: str, headers: str) -> str:
    return _csv(f"{_NETTY} {request_line} {headers}")


def _line(
    *,
    client: str = "10.0.1.18:34266",
    server: str = "10.0.3.215:8182",
    conn: str = "HTTP_POST",
    arn: str = "arn:aws:iam::123456789012:user/alice",
    auth: str = "{authenticationSucceeded=true}",
    header: str | None = None,
    payload: str = _FORM,
) -> str:
    if header is None:
        header = _header(
            "POST /sparql HTTP/1.1",
            f"Host: {_HOST} User-Agent: python-requests/2.31.0 Accept: */* "
            "Content-Length: 57 Content-Type: application/x-www-form-urlencoded",
        )
    return ", ".join((_T, client, server, conn, arn, auth, header, payload))


def _embedded(field: str, text: str) -> str:
    """A record line with ``text`` inside ``field``."""
    if field == "client":
        return _line(client=_csv(f"ip-{text}/10.0.1.18:34266"))
    if field == "server":
        return _line(server=_csv(f"{text}.ec2.internal/10.0.3.215:8182"))
    if field == "arn":
        return _line(arn=_csv(f"arn:aws:sts::123456789012:assumed-role/AppRole/{text}"))
    if field == "auth":
        return _line(auth="{authenticationSucceeded=true, note=" + text + "}")
    if field == "header":
        return _line(
            header=_header(
                f"POST /sparql?x={quote(text)} HTTP/1.1",
                f"Host: {_HOST} User-Agent: {text} Content-Type: application/json",
            )
        )
    if field == "payload":
        return _line(conn="Bolt", header="[unknown]", payload=f"MATCH (n) RETURN '{text}' AS x")
    raise ValueError(field)


#: The fields hostile text is embedded in.
FIELDS: tuple[str, ...] = ("client", "server", "arn", "auth", "header", "payload")

HOSTILE_LINES: dict[str, str] = {
    f"{field}:{name}": _embedded(field, text)
    for field in FIELDS
    for name, text in HOSTILE_TEXTS.items()
}
HOSTILE_LINES |= {
    "auth_java_map_escape_key": _line(auth=HOSTILE_TEXTS["java_map_escape"]),
    "form_parameter_name_escape": _line(payload=HOSTILE_TEXTS["form_name_escape"]),
    "json_escape_in_gremlin": _line(
        header=_header("POST /gremlin HTTP/1.1", f"Host: {_HOST} Content-Type: application/json"),
        payload=_csv("{\"gremlin\": \"g.V().has('name', '\\u001b]52;c;cHduZWQ=\\u0007')\"}"),
    ),
    "websocket_escape_in_script": (
        f"{_T}, 10.0.1.19:40112, 10.0.3.215:8182, Websocket, [unknown], [unknown], [unknown], "
        "\"RequestMessage{, requestId=6f1c, op='eval', processor='', "
        "args={gremlin=g.V().has('\x1b[2J\x1b]52;c;cHduZWQ=\x07'), aliases={g=g}}}\""
    ),
    "raw_newline_in_payload": _line(payload="query=x\n1700000000999, fake"),
    "escape_instead_of_timestamp": "\x1b]52;c;cHduZWQ=\x07, 10.0.1.18:34266, rest",
}

#: Lines that are malformed on purpose (the tests expect a Malformed entry).
MALFORMED_LINES: frozenset[str] = frozenset({"escape_instead_of_timestamp"})

# Credentials: distinct, recognisable values, each used once.
ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SIGNATURE = "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024"
SESSION_TOKEN = (
    "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD6"
    "+Ck5zVvXn7ZUxExampleSessionTokenXy0LZ2B3Fq8=="
)
BASIC = "bmVwdHVuZTpodW50ZXIyLXBhc3N3b3Jk"  # neptune:hunter2-password
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTc5NTUyMTYwMH0."
    "c2lnbmF0dXJlLW9mLXRoZS1qd3QtZXhhbXBsZQ"
)
COOKIE_SESSION = "s%3AexampleCookieSession.4f8d2c1b9a"
API_KEY = "ak_live_51ExampleApiKeyValue0099"
_SCOPE = "20261124/us-east-1/neptune-db/aws4_request"
_SIGV4 = (
    f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/{_SCOPE}, "
    f"SignedHeaders=host;x-amz-date;x-amz-security-token, Signature={SIGNATURE}"
)
_PRESIGNED = (
    "X-Amz-Algorithm=AWS4-HMAC-SHA256"
    f"&X-Amz-Credential={quote(ACCESS_KEY_ID + '/' + _SCOPE, safe='')}"
    "&X-Amz-Date=20261124T115959Z&X-Amz-Expires=300"
    f"&X-Amz-Security-Token={quote(SESSION_TOKEN, safe='')}"
    "&X-Amz-SignedHeaders=host"
    f"&X-Amz-Signature={SIGNATURE}"
)
_GET_QUERY = "query=SELECT+%2A+WHERE+%7B+%3Fs+%3Fp+%3Fo+%7D+LIMIT+1"


def _signed(headers: str, *, request_line: str = "POST /sparql HTTP/1.1") -> str:
    return _line(
        header=_header(
            request_line,
            f"Host: {_HOST} User-Agent: aws-sdk-java/2.25 {headers} "
            "Content-Type: application/x-www-form-urlencoded",
        )
    )


def _get(target: str, headers: str = "") -> str:
    return _line(
        conn="HTTP_GET",
        header=_header(
            f"GET {target} HTTP/1.1",
            f"Host: {_HOST} User-Agent: curl/8.4.0 {headers}content-length: 0",
        ),
        payload=target,
    )


CREDENTIAL_LINES: dict[str, tuple[str, list[str]]] = {
    "sigv4_authorization": (
        _signed(f"X-Amz-Date: 20261124T115959Z Authorization: {_SIGV4}"),
        [ACCESS_KEY_ID, SIGNATURE],
    ),
    "sigv4_authorization_last": (
        _line(
            header=_header(
                "POST /sparql HTTP/1.1",
                f"Host: {_HOST} X-Amz-Date: 20261124T115959Z Authorization: {_SIGV4}",
            )
        ),
        [ACCESS_KEY_ID, SIGNATURE],
    ),
    "security_token_header": (
        _signed(f"X-Amz-Security-Token: {SESSION_TOKEN} Authorization: {_SIGV4}"),
        [SESSION_TOKEN, ACCESS_KEY_ID, SIGNATURE],
    ),
    "basic": (_signed(f"Authorization: Basic {BASIC}"), [BASIC]),
    "bearer_jwt": (_signed(f"Authorization: Bearer {JWT}"), [JWT]),
    "proxy_authorization": (_signed(f"Proxy-Authorization: Basic {BASIC}"), [BASIC]),
    "cookie": (
        _signed(f"Cookie: connect.sid={COOKIE_SESSION}; theme=dark-mode-7f3a"),
        [COOKIE_SESSION, "dark-mode-7f3a"],
    ),
    "set_cookie": (
        _signed(f"Set-Cookie: connect.sid={COOKIE_SESSION}; Path=/; Secure; HttpOnly"),
        [COOKIE_SESSION],
    ),
    "api_key_header": (_signed(f"X-Api-Key: {API_KEY}"), [API_KEY]),
    "token_secret_password_headers": (
        _signed(
            "x-auth-token: tok-3f9a8b7c6d5e X-Session-Token: sess-9d8c7b6a5f4e "
            "X-Client-Secret: sec-1a2b3c4d5e6f X-DB-Password: pw-correct-horse "
            "X-Passwd: pw-battery-staple apikey: key-0f1e2d3c4b5a"
        ),
        [
            "tok-3f9a8b7c6d5e",
            "sess-9d8c7b6a5f4e",
            "sec-1a2b3c4d5e6f",
            "pw-correct-horse",
            "pw-battery-staple",
            "key-0f1e2d3c4b5a",
        ],
    ),
    "presigned_get": (
        _get(f"/sparql?{_GET_QUERY}&{_PRESIGNED}"),
        [ACCESS_KEY_ID, SIGNATURE, quote(SESSION_TOKEN, safe=""), SESSION_TOKEN],
    ),
    "presigned_raw_slashes": (
        _get(
            f"/sparql?{_GET_QUERY}&X-Amz-Credential={ACCESS_KEY_ID}/{_SCOPE}"
            f"&X-Amz-Signature={SIGNATURE}"
        ),
        [ACCESS_KEY_ID, SIGNATURE],
    ),
    "presigned_form_body": (
        _line(payload=f"{_GET_QUERY}&{_PRESIGNED}"),
        [ACCESS_KEY_ID, SIGNATURE, quote(SESSION_TOKEN, safe=""), SESSION_TOKEN],
    ),
    "presigned_in_referer": (
        _signed(f"Referer: https://console.example/sparql?{_PRESIGNED}"),
        [ACCESS_KEY_ID, SIGNATURE, quote(SESSION_TOKEN, safe="")],
    ),
    "everything": (
        _signed(
            f"X-Amz-Security-Token: {SESSION_TOKEN} Cookie: sid={COOKIE_SESSION} "
            f"X-Api-Key: {API_KEY} Authorization: {_SIGV4}",
            request_line=f"POST /sparql?{_PRESIGNED} HTTP/1.1",
        ),
        [ACCESS_KEY_ID, SIGNATURE, SESSION_TOKEN, COOKIE_SESSION, API_KEY],
    ),
}
