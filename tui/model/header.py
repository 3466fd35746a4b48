"""Parsing the HTTP header field: Netty's summary, the request line and the headers.

A real header field reads::

    HttpObjectAggregator$AggregatedFullHttpRequest(decodeResult: success, version: HTTP/1.1,
    content: CompositeByteBuf(...)) POST /sparql HTTP/1.1 Host: db...:8182 User-Agent: ...

The request line is at the start of the field when the field has no summary, else the first
``) METHOD /target`` after the summary. Headers are ``Name: value`` joined by single
spaces, so a header starts wherever a space is followed by a token and ``": "``.
"""

from __future__ import annotations

import functools
import re

from tui.model.record import HttpRequest

#: The request line after Netty's summary (the scanner in tui.index applies the same rule).
REQUEST_AFTER_SUMMARY = re.compile(r"\) ([A-Z]+) (/\S*)")
_REQUEST_AT_START = re.compile(r"([A-Z]+) (/\S*)")
_VERSION = re.compile(r" (HTTP/\d+(?:\.\d+)?)(?= |$)")
_HEADER_NAME = re.compile(r"(?:^| )([A-Za-z][A-Za-z0-9-]*): ")
#: ``_HEADER_NAME`` where ``^`` cannot hold: led by its space, which ``re`` skips to fast.
_SPACED_HEADER_NAME = re.compile(r" ([A-Za-z][A-Za-z0-9-]*): ")


def split_target(target: str) -> tuple[str, str | None]:
    """``/sparql?query=x`` -> (``/sparql``, ``query=x``)."""
    path, sep, query = target.partition("?")
    return path, (query if sep else None)


def _request_line(raw: str) -> tuple[re.Match[str] | None, str | None, str | None, int]:
    """The request line's match (None when there is none), the summary before it, the HTTP
    version after it, and where the headers start."""
    summary: str | None = None
    match = _REQUEST_AT_START.match(raw)
    if match is None:
        match = REQUEST_AFTER_SUMMARY.search(raw)
        if match:
            summary = raw[: match.start() + 1]
    if match is None:
        return None, None, None, 0
    version = _VERSION.match(raw, match.end())
    if version is None:
        return match, summary, None, match.end()
    return match, summary, version.group(1), version.end()


def parse_header(raw: str) -> HttpRequest:
    """Parse the header field; what cannot be recognised stays in ``summary``."""
    match, summary, version, rest_start = _request_line(raw)
    if not match:
        return HttpRequest(
            raw=raw,
            summary=raw or None,
            method=None,
            target=None,
            path=None,
            query_string=None,
            version=None,
            headers=(),
        )
    method, target = match.group(1), match.group(2)
    path, query_string = split_target(target)
    return HttpRequest(
        raw=raw,
        summary=summary,
        method=method,
        target=target,
        path=path,
        query_string=query_string,
        version=version,
        headers=parse_header_lines(raw[rest_start:]),
    )


def header_value(raw: str, name: str) -> str | None:
    """``parse_header(raw).header(name)``, without reading the headers after it.

    The headers are the non-overlapping matches of ``_HEADER_NAME``. The first place the
    name itself matches is one of them unless a match just before it took its leading space
    (then the character before that space is the earlier match's colon), so only then are
    the matches walked one by one.
    """
    match, _, _, rest_start = _request_line(raw)
    if not match:
        return None
    text = raw[rest_start:].strip()
    start, end = _named_span(text, name)
    if start < 0:
        return None
    if start > 0 and text[start - 1] == ":":
        return _walked_value(text, name)
    # (``end`` > 0: a header name after it starts after a space, never at ``^``)
    following = _SPACED_HEADER_NAME.search(text, end)
    return text[end : following.start() if following else len(text)].strip()


def _named_span(text: str, name: str) -> tuple[int, int]:
    """The span of ``_named_header(name)``'s first match in ``text``, (-1, -1) for none.
    ASCII text and name are searched lower-cased with ``str.find`` (lowering ASCII keeps
    every position; the regex in any case scans several times slower)."""
    if not (text.isascii() and name.isascii()):
        found = _named_header(name).search(text)
        return (found.start(), found.end()) if found else (-1, -1)
    needle = name.lower() + ": "
    lowered = text.lower()
    at = lowered.find(needle)
    while at > 0 and lowered[at - 1] != " ":
        at = lowered.find(needle, at + 1)
    if at < 0:
        return -1, -1
    return max(at - 1, 0), at + len(needle)


@functools.lru_cache(maxsize=16)
def _named_header(name: str) -> re.Pattern[str]:
    """``_HEADER_NAME`` for one name, in any ASCII case (as ``str.lower`` compares it)."""
    return re.compile(rf"(?:^| )(?:{re.escape(name)}): ", re.IGNORECASE | re.ASCII)


def _walked_value(text: str, name: str) -> str | None:
    """The value of the first header ``name`` in ``text``, walking every header."""
    wanted = name.lower()
    found = _HEADER_NAME.finditer(text)
    for start in found:
        if start.group(1).lower() == wanted:
            following = next(found, None)
            return text[start.end() : following.start() if following else len(text)].strip()
    return None


def parse_header_lines(text: str) -> tuple[tuple[str, str], ...]:
    """``Host: a User-Agent: b c`` -> ((``Host``, ``a``), (``User-Agent``, ``b c``))."""
    text = text.strip()
    starts = list(_HEADER_NAME.finditer(text))
    headers: list[tuple[str, str]] = []
    for index, match in enumerate(starts):
        end = starts[index + 1].start() if index + 1 < len(starts) else len(text)
        headers.append((match.group(1), text[match.end() : end].strip()))
    if starts and starts[0].start() > 0:
        headers.insert(0, ("", text[: starts[0].start()].strip()))
    elif not starts and text:
        headers.append(("", text))
    return tuple(headers)
