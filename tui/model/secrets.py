"""Masking credentials in log text: keep what helps an investigation, hide the secret.

Audit-log HTTP headers and request targets can carry credentials: SigV4 ``Authorization``
headers, ``X-Amz-Security-Token``, Basic and Bearer credentials, cookies, API-key headers,
and presigned-URL parameters (``X-Amz-Signature``, ``X-Amz-Credential``). ``mask_text``
replaces each secret by ``•••• (masked, N chars)`` and keeps the header name, the
authorization scheme, the SigV4 credential scope and signed-headers list, and cookie names.
Masking makes copies for showing and exporting; filters keep matching the original text.

Every function here is linear in the length of its text, and text without a word that
every credential's name contains (almost every log line) is returned after a few substring
scans. Masking is idempotent: a mask is never masked again.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache

from tui.model.record import Entry, HttpRequest, Malformed, Query, Record

#: The character a mask is drawn with.
MASK_CHAR = "•"

#: Matches one mask that ``mask`` produced.
MASKED: re.Pattern[str] = re.compile(MASK_CHAR * 4 + r" \(masked, [0-9]+ chars?\)")

# A parameter or header name is sensitive when it contains one of these (any case).
_SENSITIVE_NAME = re.compile(
    r"token|secret|passw|credential|signature|api[-_.]?key|access[-_.]?key",
    re.IGNORECASE | re.ASCII,
)
# Header names that carry a credential though they contain no sensitive word.
_AUTHORIZATION = frozenset({"authorization", "proxyauthorization"})
_COOKIE = frozenset({"cookie", "setcookie"})
# Set-Cookie attributes, kept as sent (the cookie is the first pair).
_COOKIE_ATTRIBUTES = frozenset(
    {"expires", "max-age", "domain", "path", "secure", "httponly", "samesite", "partitioned"}
)
# Authorization parameters that are not secrets (SigV4 and Digest).
_AUTH_PARAMS_KEPT = frozenset({"signedheaders", "realm", "uri", "algorithm", "qop", "nc"})
# RFC 7235 token68: the single credential of Basic, Bearer and similar schemes.
_TOKEN68 = re.compile(r"[A-Za-z0-9._~+/-]+=*")
_TOKEN_SCHEMES = frozenset({"basic", "bearer"})

# A header starts at the text's start or after a space, tab, newline or quote: a token and
# ``": "`` (the header field joins ``Name: value`` pairs with single spaces).
_HEADER = re.compile(r"(?<![^ \t\n\"])([A-Za-z][A-Za-z0-9_-]*+): ")
# ``name=`` starting a query-string or form parameter, or a parameter in free text.
_PARAM = re.compile(r"(?<![^?&;,\s\"'(])([A-Za-z0-9_.%-]++)=")
# What ends a secret parameter value (tokens are URL-safe or percent-encoded), and the
# first character of a mask, which is skipped whole.
_PARAM_STOP = re.compile(r"[&\s\"'#,;<>()\[\]{}•]")
# A parameter of an Authorization value (SigV4 ``Credential=``, Digest ``response="..."``).
_AUTH_PARAM = re.compile(r"[\s,]*([A-Za-z][A-Za-z0-9_-]*+)=")
_AUTH_STOP = re.compile(r"[\s,•]")
# Where a credential's access key id ends and its scope starts.
_SCOPE = re.compile(r"/|%2[Ff]")
# What separates a secret from its neighbours; kept, unmasked, around a mask.
_SPACING = " \t,"


def mask(secret: str) -> str:
    """The mask that stands for ``secret``: ``•••• (masked, 64 chars)``."""
    count = len(secret)
    return f"{MASK_CHAR * 4} (masked, {count} char{'' if count == 1 else 's'})"


def has_secret(text: str) -> bool:
    """Whether ``mask_text`` would change ``text``; a few substring scans for most text."""
    return _may_hold_secret(text) and mask_text(text) != text


def mask_text(text: str) -> str:
    """``text`` with every credential masked: a raw log line, a header field, a payload or a
    request target.

    Header-shaped runs ``Name: value`` are masked by name; the value ends where the next
    ``Name: `` starts, at a line end, at the end of the text, or at the quote that closes
    the CSV-quoted field it is in (a field opens with ``", "`` and a quote, and ends at a
    quote that is not doubled). Query-string and form parameters with sensitive names are
    masked anywhere.
    """
    return _mask(text, quoted=True)


def mask_header(name: str, value: str) -> str:
    """One parsed header's value (``HttpRequest.headers``), masked as in ``mask_text``."""
    kind = _header_kind(name)
    return _mask(value, quoted=False) if kind is None else _mask_header_value(kind, value)


def mask_record(record: Record) -> Record:
    """A copy of ``record`` with credentials masked in its raw line, header, payload,
    request parts and query parameters; ``record`` itself when it has none."""
    masked = _masked(record, whole=True)
    return record if masked == record else masked


def mask_written(record: Record) -> Record:
    """``record`` as an export writes it, credentials masked: its header, payload and query
    masked as ``mask_record`` masks them, and its raw line and parsed request, which no
    export writes, left out (empty) rather than masked (they cost most to mask)."""
    return _masked(record, whole=False)


def _masked(record: Record, *, whole: bool) -> Record:
    """``record`` with its header, payload and query masked, and its raw line and request
    masked too (``whole``) or left out; ``record`` itself when it may hold no credential."""
    # The header, payload and request are parts of the raw line; decoded query parameters
    # may hold what the line has only percent-encoded.
    if not (_may_hold_secret(record.raw) or _query_may_hold_secret(record.query)):
        return record
    return replace(
        record,
        raw=mask_text(record.raw) if whole else "",
        header_raw=_mask_field(record.header_raw),
        payload=_mask_field(record.payload),
        request=_mask_request(record.request) if whole else None,
        query=_mask_query(record.query),
    )


def mask_entry(entry: Entry) -> Entry:
    """``mask_record`` for a record; a malformed entry's raw text masked."""
    if isinstance(entry, Malformed):
        raw = mask_text(entry.raw)
        return entry if raw == entry.raw else replace(entry, raw=raw)
    return mask_record(entry)


# --------------------------------------------------------------------------------------
# Text


def _mask(text: str, *, quoted: bool) -> str:
    """Mask header runs and parameters; ``quoted`` when ``text`` may hold CSV-quoted fields
    (a raw line), so that a field's closing quote ends a header value inside it."""
    if not _may_hold_secret(text):
        return text
    out: list[str] = []
    pos = 0  # text before pos is in out
    fields = _QuotedFields(text) if quoted else None
    for header in _HEADER.finditer(text):
        if header.start() < pos:
            continue  # inside the value of a header already masked
        kind = _header_kind(header.group(1))
        if kind is None:
            continue
        end = _header_value_end(text, header.end())
        if fields is not None:
            end = fields.value_end(header.start(), header.end(), end)
        out.append(_mask_params(text[pos : header.start()]))
        out.append(text[header.start() : header.end()])
        out.append(_mask_header_value(kind, text[header.end() : end]))
        pos = end
    out.append(_mask_params(text[pos:]))
    return "".join(out)


def _header_value_end(text: str, start: int) -> int:
    """Where the header value starting at ``start`` ends: before the separator ahead of
    the next header name (as in ``parse_header``, a name right at ``start`` is value), at a
    line end, or at the end of the text."""
    following = _HEADER.search(text, start + 1)
    limit = following.start() - 1 if following else len(text)
    for line_end in ("\n", "\r"):
        found = text.find(line_end, start, limit)
        if found >= 0:
            limit = found
    while limit > start and text[limit - 1] in " \t":
        limit -= 1
    return limit


class _QuotedFields:
    """Which header values lie in a CSV-quoted field of a raw line, read left to right as
    ``split_fields`` reads them: a field opens with a quote at the start, after a line end
    or after ``", "``, and closes at the next quote that is not doubled.

    Only text outside the values being masked is read, so a second pass over the masked
    text sees the same fields: masking is idempotent.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.scanned = 0  # quotes before this index have been read
        self.floor = 0  # where the text last resumed after a masked value
        self.open = False

    def value_end(self, name_start: int, value_start: int, end: int) -> int:
        """``end``, or the closing quote before it when the header at ``name_start`` is in a
        quoted field; what lies up to the returned index is skipped."""
        self._read(name_start)
        if self.open:
            close = self._closing_quote(value_start, end)
            if close >= 0:
                end = close
        self.scanned = self.floor = end
        return end

    def _read(self, upto: int) -> None:
        text = self.text
        while self.scanned < upto:
            if self.open:
                close = self._closing_quote(self.scanned, upto)
                if close < 0:
                    self.scanned = upto
                    return
                self.open = False
                self.scanned = close + 1
                continue
            quote = text.find('"', self.scanned, upto)
            if quote < 0:
                self.scanned = upto
                return
            self.open = (
                quote == 0
                or (quote - 1 >= self.floor and text[quote - 1] == "\n")
                or (quote - 2 >= self.floor and text.startswith(", ", quote - 2))
            )
            self.scanned = quote + 1

    def _closing_quote(self, start: int, limit: int) -> int:
        """The first quote in ``[start, limit)`` that is not doubled, or -1."""
        text = self.text
        quote = text.find('"', start, limit)
        while quote >= 0 and quote + 1 < limit and text[quote + 1] == '"':
            quote = text.find('"', quote + 2, limit)
        return quote


def _mask_params(text: str) -> str:
    """Mask the values of parameters with sensitive names (``X-Amz-Signature=...``)."""
    if not _may_hold_secret(text):
        return text
    out: list[str] = []
    pos = 0
    for param in _PARAM.finditer(text):
        if param.start() < pos or not _sensitive(param.group(1)):
            continue
        start = param.end()
        while start < len(text) and text[start] in "\"'":
            start += 1  # a quoted value (quotes doubled in a CSV field): mask inside
        end = _value_end(text, start, _PARAM_STOP)
        out.append(text[pos:start])
        out.append(_mask_plain(param.group(1), text[start:end]))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _value_end(text: str, start: int, stops: re.Pattern[str]) -> int:
    """Where a secret value starting at ``start`` ends: at the first stop character, or
    after the closing quote of a quoted value; a mask inside the value is skipped whole."""
    if text.startswith('"', start):
        close = text.find('"', start + 1)
        return len(text) if close < 0 else close + 1
    pos = start
    while True:
        found = stops.search(text, pos)
        if found is None:
            return len(text)
        if text[found.start()] != MASK_CHAR:
            return found.start()
        masked = MASKED.match(text, found.start())
        pos = masked.end() if masked else found.end()


# --------------------------------------------------------------------------------------
# Record parts


def _mask_field(text: str | None) -> str | None:
    """A field of a parsed record: its CSV quoting is already undone."""
    return None if text is None else _mask(text, quoted=False)


def _mask_request(request: HttpRequest | None) -> HttpRequest | None:
    if request is None:
        return None
    return replace(
        request,
        raw=_mask(request.raw, quoted=False),
        summary=_mask_field(request.summary),
        target=_mask_field(request.target),
        query_string=_mask_field(request.query_string),
        headers=tuple((name, mask_header(name, value)) for name, value in request.headers),
    )


def _query_may_hold_secret(query: Query | None) -> bool:
    if query is None:
        return False
    return any(
        _may_hold_secret(name) or _may_hold_secret(value) for name, value in query.parameters
    )


def _mask_query(query: Query | None) -> Query | None:
    """Parameters masked by name; the text too when it is the payload as sent."""
    if query is None:
        return None
    parameters = tuple(
        (name, _mask_plain(name, value) if _sensitive(name) else _mask(value, quoted=False))
        for name, value in query.parameters
    )
    text = _mask(query.text, quoted=False) if query.form == "text" else query.text
    return replace(query, text=text, parameters=parameters)


# --------------------------------------------------------------------------------------
# Names and values


def _may_hold_secret(text: str) -> bool:
    """False when ``text`` has none of the words every credential's name contains (a
    superset of the names masked; inline substring tests are the fastest check)."""
    lower = text.lower()
    return (
        "authoriz" in lower
        or "cookie" in lower
        or "token" in lower
        or "secret" in lower
        or "passw" in lower
        or "credential" in lower
        or "signature" in lower
        or "key" in lower
    )


@lru_cache(maxsize=512)
def _normal(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "").replace(".", "")


def _sensitive(name: str) -> bool:
    return _SENSITIVE_NAME.search(name) is not None


@lru_cache(maxsize=512)
def _header_kind(name: str) -> str | None:
    """``authorization``, ``cookie``, ``set-cookie``, ``plain`` (mask the whole value) or
    None for a header that carries no credential."""
    normal = _normal(name)
    if normal in _AUTHORIZATION:
        return "authorization"
    if normal in _COOKIE:
        return "set-cookie" if normal == "setcookie" else "cookie"
    return "plain" if _sensitive(name) else None


def _mask_header_value(kind: str, value: str) -> str:
    if kind == "authorization":
        return _mask_authorization(value)
    if kind in ("cookie", "set-cookie"):
        return _mask_cookies(value, set_cookie=kind == "set-cookie")
    return _mask_spaced(value)


def _mask_authorization(value: str) -> str:
    """Keep the scheme (``Basic``, ``Bearer``, ``AWS4-HMAC-SHA256``) and, for a parameter
    list (SigV4, Digest), the names, the credential scope and the signed headers."""
    body = value.lstrip(_SPACING)
    if _already_masked(body.rstrip(_SPACING)):
        return value
    scheme, space, rest = body.partition(" ")
    if not space:
        return _mask_spaced(value)
    head = value[: len(value) - len(rest)]
    if (
        scheme.lower() in _TOKEN_SCHEMES
        or _TOKEN68.fullmatch(rest.strip()) is not None
        or _AUTH_PARAM.match(rest) is None
    ):
        return head + _mask_spaced(rest)
    out = [head]
    pos = 0
    while pos < len(rest):
        param = _AUTH_PARAM.match(rest, pos)
        if param is None:
            out.append(_mask_spaced(rest[pos:]))  # not a parameter: mask the rest
            break
        out.append(param.group(0))
        end = _value_end(rest, param.end(), _AUTH_STOP)
        if end < len(rest) and rest[end] not in " \t,":
            out.append(_mask_spaced(rest[param.end() :]))  # no separator after the value
            break
        name, secret = param.group(1), rest[param.end() : end]
        out.append(secret if name.lower() in _AUTH_PARAMS_KEPT else _mask_plain(name, secret))
        pos = end
    return "".join(out)


def _mask_cookies(value: str, *, set_cookie: bool) -> str:
    """Keep cookie names (and Set-Cookie attributes), mask cookie values."""
    parts = value.split(";")
    for index, part in enumerate(parts):
        name, equals, cookie = part.partition("=")
        attribute = set_cookie and index > 0
        if not equals:
            parts[index] = part if attribute else _mask_spaced(part)
        elif not (attribute and name.strip().lower() in _COOKIE_ATTRIBUTES):
            parts[index] = name + equals + _mask_spaced(cookie)
    return ";".join(parts)


def _mask_plain(name: str, value: str) -> str:
    """A sensitive value; a credential keeps its scope after the access key id."""
    if _normal(name).endswith("credential"):
        scope = _SCOPE.search(value)
        if scope is not None:
            return _mask_whole(value[: scope.start()]) + value[scope.start() :]
    return _mask_whole(value)


def _mask_spaced(text: str) -> str:
    """``text`` masked, the spaces and commas around it kept."""
    core = text.strip(_SPACING)
    if not core:
        return text
    start = len(text) - len(text.lstrip(_SPACING))
    return text[:start] + _mask_whole(core) + text[start + len(core) :]


def _mask_whole(value: str) -> str:
    return value if _already_masked(value) else mask(value)


def _already_masked(value: str) -> bool:
    return not value or MASKED.fullmatch(value) is not None
