"""The filter compiler: golden queries for every field, operator and edge case, and the pieces
(case-insensitive literals, regex translation, the record parse) against their references.

Golden output lives in ``golden/insights_queries.json``; after a deliberate change, run with
``UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fakes.insights import Event, python_regex, run_query
from tui.cli import main
from tui.model.fields import split_fields
from tui.model.parser import raw_fields
from tui.query import FilterError, parse_filter
from tui.query.regex import compile_regex, escape
from tui.sources.aws.insights_ql import (
    MAX_QUERY_CHARS,
    RECORD_REGEX,
    ci_literal,
    compile_filter,
    explain_condition,
    rows_query,
    translate_regex,
)

GOLDEN = Path(__file__).parent / "golden" / "insights_queries.json"

#: Every field with every operator, the enums, text and regex terms, time terms, and the
#: edges: quotes, regex metacharacters, non-ASCII, empty values, nesting.
CASES = (
    # text and regex terms on the whole line
    "alice",
    '"two words"',
    '"a.b*c+d?(e)[f]{g}|h^$\\\\/"',
    '"say \\"hi\\""',
    '""',
    "café",
    "İstanbul",
    "ΑΣ",
    "Kelvin",
    "/drop\\(\\)/",
    "/drop\\(\\)/i",
    "/^1795.*status$/",
    "/\\d{3}-\\w+\\s/",
    "/[^a-z0-9]x./",
    "/\\bbob\\b/",
    "/a{1000}/",
    "/é/i",
    "/x\\/y/",
    # RE2's own syntax and semantics
    "/status\\z/",
    "/[[:alpha:]]+-[[:^digit:]]/",
    "/\\Qa.b*\\E/",
    "/(?U)a+b/",
    "/x{,2}/",
    "/\\x{e9}/",
    "/(?i)\\w+k/",
    "/[\\W.]/",
    "/\\pL+/",
    "/(?P<n>a)(?<m>b)/",
    "/(?i)i/",
    # fields: contains, equals, regex
    "type:bolt",
    "type=HTTP_GET",
    "type:/^HTTP_/",
    "client:10.0.1",
    "client=10.0.1.18",
    "client=10.0.1.18:34266",
    "client=[::1]:8182",
    "client:/:4000$/",
    "server:ip-10-0-3-215",
    "server=10.0.3.215:8182",
    "user:worker",
    "user=alice",
    "user=123456789012",
    "user=role/AppRole/worker-7",
    "user=role/AppRole",
    "user=user/alice",
    "user=root/123456789012",
    "user=Role/x/y",
    "user=ΑΣ",
    'user=""',
    "user:/assumed-role\\/App/",
    "auth:ok",
    "auth:failed",
    "auth:none",
    "lang:gremlin",
    "lang:sparql",
    "lang:opencypher",
    "lang:none",
    "method:P",
    "method=GET",
    "method:/^P/",
    "path:/status",
    "path=/gremlin",
    'path:"with\\"quote"',
    "path:/^\\/sparql$/",
    "agent:python",
    'agent=""',
    "agent:/curl/",
    'query:"?s ?p ?o"',
    "query=g.V().count()",
    "query:/drop/",
    "header:Content-Type",
    'header="a""b"',
    "header:/Host: db/",
    "source:reader",
    "instance:demo-writer",
    "instance=demo-writer-1",
    # time terms
    "after:2026-11-24T08:00",
    "before:1795518000000",
    "after:1795518000000500",
    "after:1795518000000 before:1795521600000 type:Bolt",
    "type:Bolt OR after:2026-11-24T08:00",
    "-before:1795518000000500",
    "last:15m",
    # nesting
    "-path:/status lang:sparql",
    "NOT (lang:sparql OR lang:gremlin) -auth:ok",
    "(user=alice OR user=bob) (client:10.0.1 | client:10.0.2) -source:x",
    "NOT NOT type:Bolt",
)


def compiled_summary(text: str) -> dict[str, object]:
    compiled = compile_filter(parse_filter(text), text)
    return {
        "possible": explain_condition(compiled.possible),
        "sure": explain_condition(compiled.sure),
        "parses": list(compiled.parses),
        "terms": [f"{term.mode}: {term.text}" for term in compiled.terms],
        "range": [compiled.since_us, compiled.until_us],
    }


def test_compiled_queries_match_the_golden_file() -> None:
    found = {text: compiled_summary(text) for text in CASES}
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(found, indent=1, ensure_ascii=False) + "\n")
    expected = json.loads(GOLDEN.read_text())
    assert list(found) == list(expected)
    for text in CASES:
        assert found[text] == expected[text], text


@pytest.mark.parametrize("text", CASES)
def test_every_golden_query_is_accepted_and_short_enough(text: str) -> None:
    compiled = compile_filter(parse_filter(text), text)
    for which in ("possible", "uncertain"):
        query = rows_query(compiled, 0, 1, 10_000, which)
        run_query(query.text, [], 0, 0)  # the fake reads it (else QueryError)
        assert len(query.text) <= MAX_QUERY_CHARS


#: Regexes RE2 cannot run: the filter is refused when it is parsed, before any query.
REFUSED = (
    ("/a{2000}/", "a repetition count is at most 1000"),
    ("/(?<=user\\/)alice/", "lookbehind"),
    ("/(a)\\1/", "backreferences"),
    ("/a++/", "possessive quantifiers"),
)


@pytest.mark.parametrize(("text", "reason"), REFUSED)
def test_regexes_re2_refuses_are_filter_errors_and_no_query(
    text: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(FilterError, match=re.escape(reason)):
        parse_filter(text)
    code = main(
        ["query", "--cloudwatch", "--log-group", "g", "--since", "30d", "-f", text, "--explain"]
    )
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and reason in err


def test_exact_and_local_terms_are_named() -> None:
    compiled = compile_filter(parse_filter("type:Bolt source:x user=alice"), "")
    modes = {term.span.start: term.mode for term in compiled.terms}
    assert sorted(modes.values()) == ["approximated", "exact", "local"]
    assert not compile_filter(parse_filter("type:Bolt user:alice"), "").local_terms


def test_a_filter_too_long_for_one_query_leaves_terms_to_the_recheck() -> None:
    text = " ".join(f'"{index}-Aa Bb Cc Dd Ee Ff Gg Hh Ii Jj Kk Ll Mm"' for index in range(60))
    compiled = compile_filter(parse_filter(text), text)
    query = rows_query(compiled, 0, 1, 10_000, "uncertain")
    assert len(query.text) <= MAX_QUERY_CHARS
    assert any(term.mode == "local" and "10,000 characters" in term.note for term in compiled.terms)


def test_a_term_is_found_by_the_offset_of_its_condition() -> None:
    text = "type:Bolt user:alice"
    compiled = compile_filter(parse_filter(text), text)
    query = rows_query(compiled, 0, 1, 10)
    offset = query.text.index("arn =~")
    assert compiled.terms[query.term_at(offset) or 0].text == "user:alice"
    assert query.term_at(0) is None


# -- the pieces against their references ---------------------------------------------------------

TRICKY = "aAkKK\u212asSſiIİı\u0307σςΣßẞéÉ.*?[]()\\/\"' ,-_\n\x00"


@settings(max_examples=300, deadline=None)
@given(value=st.text(TRICKY, max_size=4), text=st.text(TRICKY, max_size=8))
def test_case_insensitive_literals_mean_lower_in_lower(value: str, text: str) -> None:
    wanted = value.lower() in text.lower()
    possible, sure = ci_literal(value, anchored=False)
    if value:
        assert python_regex(possible).search(text) is not None or not wanted
        assert python_regex(sure).search(text) is None or wanted
        if possible == sure:
            assert (python_regex(possible).search(text) is not None) == wanted
    equal = value.lower() == text.lower()
    possible, sure = ci_literal(value, anchored=True)
    assert python_regex(f"^{possible}\\z").search(text) is not None or not equal
    assert python_regex(f"^{sure}\\z").search(text) is None or equal
    if possible == sure:
        assert (python_regex(f"^{possible}\\z").search(text) is not None) == equal


PATTERNS = (
    "a.c",
    "^k",
    "s$",
    "[a-c]+",
    "[^a]",
    "\\d\\w\\s",
    "\\D\\W\\S",
    "[\\d\\s]",
    "[\\D]",
    "[\\W.]",
    "[^\\s.]",
    "x|y",
    "(?:ab)*?",
    "a{2,3}",
    "x{,2}",
    "(?i)K",
    "(?i:k)s",
    "(?s).",
    "(?m)^a",
    "(?m)a$",
    "\\Aa",
    "a\\z",
    "\\bx",
    "ſ",
    "İ",
    "i",
    "σ",
    "ϑ",
    "a$\\n",
    "[[:alpha:]]",
    "[[:^alpha:]x]",
    "[[:punct:]]",
    "\\Q.*\\E",
    "(?U)a+?",
    "\\x{212a}",
    "(?P<n>a)(?<m>b)?",
    "\\pL",
)


@settings(max_examples=300, deadline=None)
@given(
    pattern=st.sampled_from(PATTERNS),
    ignore_case=st.booleans(),
    text=st.text(TRICKY + "bcxy12\t\u00a0", max_size=6),
)
def test_translated_regexes_match_at_least_as_much(
    pattern: str, ignore_case: bool, text: str
) -> None:
    reference = compile_regex(pattern, ignore_case=ignore_case)  # what filters run
    translation = translate_regex(pattern, ignore_case)
    if translation.text is None:
        assert not translation.exact
        return
    found = python_regex(translation.text).search(text) is not None
    if reference.search(text):
        assert found, (pattern, translation.text, text)
    if translation.exact:
        assert found == reference.search(text), (pattern, translation.text, text)


def test_only_word_boundaries_and_unicode_classes_are_not_exact() -> None:
    for pattern in PATTERNS:
        for ignore_case in (False, True):
            translation = translate_regex(pattern, ignore_case)
            # RE2 folds a negated POSIX class before negating it: left to the re-check.
            folded_negation = ignore_case and "[:^" in pattern
            inexact = pattern in ("\\bx", "\\pL") or folded_negation
            assert translation.exact == (not inexact), pattern


def test_case_insensitive_letters_are_re2s_case_folding() -> None:
    """Every character with a case: the class a case-insensitive regex letter becomes holds
    exactly what RE2 matches for it (Python's tables differ for ``i``/``İ`` and ``ϑ``/``ϴ``)."""
    cased = "".join(
        chr(code)
        for code in range(0x110000)
        if len({chr(code), chr(code).lower(), chr(code).upper(), chr(code).casefold()}) > 1
    )
    for char in cased:
        spans = compile_regex(escape(char), ignore_case=True).finditer_spans(cased)
        expected = {cased[start:end] for start, end in spans}
        found = translate_regex(escape(char), True).text
        assert found is not None
        assert {m.group() for m in python_regex(found).finditer(cased)} == expected, char


LINES = (
    "1700000000123, 10.0.1.18:34266, 10.0.3.215:8182, HTTP_POST, [unknown], [unknown], "
    '"Netty(x: a, y: b) POST /sparql HTTP/1.1 Host: h", query=SELECT+%3Fs',
    "1700000000456, 10.0.1.19:40112, 10.0.3.215:8182, Websocket, [unknown], [unknown], "
    '[unknown], "RequestMessage{, args={gremlin=g.V().has(""a"")}}"',
    "1700000000789, a, b, c, arn:x, {authenticationSucceeded=true, other={x=1, y=2}}, h, p, q",
    "1700000000789, , , , , , ",
    '1700000000789, "", "a, b", "c""d", e, "{x}", "h", "p"',
    "1700000000789, a,, b, c, d, e, f, g",
    "1700000000789, ,a, b, c, d, e, f",
    '1700000000789, a, b, c, d, e, "h"x, p',
    '1700000000789, a, b, c, d, e, "h"',
    "1700000000789, a, b, c, d, e",
    "1700000000789, a, b, c, d, {e, f}, g",
    "1700000000789, a, b, c, d, {{{{x}}}}, g",
    "17000000007890, a, b, c, d, e, f, g",
    "1700000000, a, b, c, d, e, f, g",
    "1700000000000000, a, b, c, d, e, f, g",
    "1700000000000000000, a, b, c, d, e, f, g",
    '1700000000789, "unterminated, x, y, z, a, b',
    "not a record",
    "1700000000789, a\nb, c, d, e, f, g, h",
)


@pytest.mark.parametrize("line", LINES)
def test_the_record_parse_reads_fields_as_the_parser_does(line: str) -> None:
    found = python_regex(RECORD_REGEX).search(line)
    reference = raw_fields(line)
    if isinstance(reference, str):
        assert found is None, reference
        return
    assert found is not None
    start = line.index(", ") + 2
    split = split_fields(line, start)
    assert not isinstance(split, str)
    (client, server, ctype, arn, auth, header), payload = split

    def unquote(raw: str) -> str:
        return raw[1:-1].replace('""', '"') if raw.startswith('"') else raw

    groups = found.groupdict()
    assert [unquote(groups[k]) for k in ("client", "server", "ctype", "arn", "auth", "header")] == [
        client,
        server,
        ctype,
        arn,
        auth,
        header,
    ]
    if payload is None:
        assert groups["payload"] is None
    else:
        assert groups["payload"] is not None


def test_an_event_the_parse_does_not_match_keeps_no_fields() -> None:
    outcome = run_query(
        f"parse @message /{RECORD_REGEX.replace('/', chr(92) + '/')}/ | filter not ispresent(ts) "
        "| fields @message",
        [Event(0, "garbage", "s", "g", "p")],
        0,
        0,
    )
    assert [row["@message"] for row in outcome.rows] == ["garbage"]


def emitted_regexes(query: str) -> list[str]:
    """The ``/.../`` literals of a query, unescaped."""
    found: list[str] = []
    index = 0
    while (index := query.find(" /", index)) >= 0:
        end = index + 2
        chars: list[str] = []
        while end < len(query) and query[end] != "/":
            step = 2 if query[end] == "\\" else 1
            chars.append(query[end : end + step])
            end += step
        found.append("".join(chars).replace("\\/", "/"))
        index = end + 1
    return found


def test_emitted_regexes_compile_in_re2() -> None:
    """Insights reads Java-style regexes; RE2 (the other engine they are written for) must
    read every one we emit (runs where google-re2 is installed)."""
    re2 = pytest.importorskip("re2")
    options = re2.Options()
    options.log_errors = False
    for text in CASES:
        compiled = compile_filter(parse_filter(text), text)
        for which in ("possible", "uncertain"):
            query = rows_query(compiled, 0, 1, 10, which)
            for regex in emitted_regexes(query.text):
                re2.compile(regex, options)
