"""Tests for ``tui.insight``: query fingerprints (same shape across literals, different shapes
apart, per language and payload shape) and operation classes on every endpoint."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from urllib.parse import quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pygments.lexer import RegexLexer
from pygments.lexers.graph import CypherLexer

from tests.unit.test_model import (
    SPEC_BOLT,
    SPEC_GREMLIN_JSON,
    SPEC_SPARQL_FORM,
    SPEC_STATUS,
    SPEC_WEBSOCKET,
    entry_line,
    http_header,
    record,
)
from tui import insight
from tui.insight import (
    OPERATIONS,
    Fingerprint,
    cache_clear,
    cache_info,
    fingerprint,
    operation,
    operation_of,
    path_operation,
    record_fingerprint,
    shape_of,
)
from tui.insight.fastlex import FastLexer
from tui.insight.lexers import OpenCypherLexer, SparqlLexer
from tui.model import GREMLIN, OPENCYPHER, SPARQL, Record, parse_entry
from tui.model.gremlin_lexer import GremlinLexer
from tui.sources.demo import INSTANCES, iter_lines

G, S, C = GREMLIN, SPARQL, OPENCYPHER


def fid(text: str, lang: str | None, *, bytecode: bool = False) -> str:
    return fingerprint(text, lang, bytecode=bytecode).id


def assert_one_shape(lang: str, *queries: str) -> None:
    ids = {q: fid(q, lang) for q in queries}
    assert len(set(ids.values())) == 1, ids


def assert_all_apart(lang: str, *queries: str) -> None:
    ids = [fid(q, lang) for q in queries]
    assert len(set(ids)) == len(ids), list(zip(queries, ids, strict=True))


# --------------------------------------------------------------------------------------
# The fingerprint itself


def test_id_is_8_lowercase_hex_and_pinned() -> None:
    """Ids are stable across runs and machines (hashlib, not ``hash()``): these are pinned,
    so a change to the normalisation (which changes ids users may have saved) is deliberate."""
    found = fingerprint("g.V().drop()", G)
    assert re.fullmatch(r"[0-9a-f]{8}", found.id)
    assert found == Fingerprint("3cf6ae0c", "g.V().drop()", G, "delete")
    assert fid("g.V().has('person','name','alice').out('knows').limit(10)", G) == "a23f03ab"
    assert fid("SELECT ?s WHERE { ?s ?p ?o } LIMIT 10", S) == "b80f7201"
    assert fid("MATCH (p:person)-[:knows]->(f) RETURN f.name LIMIT 10", C) == "8f26dc50"


def test_the_issue_example() -> None:
    alice = fingerprint("g.V().has('person','name','alice').out('knows').limit(10)", G)
    bob = fingerprint("g.V().has('person','name','bob').out('knows').limit(25)", G)
    drop = fingerprint("g.V().drop()", G)
    assert alice.id == bob.id != drop.id
    assert alice.shape == "g.V().has(?,?,?).out(?).limit(?)"
    assert (alice.operation, drop.operation) == ("read", "delete")


def test_languages_never_share_an_id() -> None:
    text = "g.V().count()"
    assert len({fid(text, lang) for lang in (G, S, C, None)}) == 4


def test_cache_returns_the_same_fingerprint_and_counts_hits() -> None:
    cache_clear()
    text = "g.V().has('code','SEA').count()"
    first = fingerprint(text, G)
    hits, misses, entries = cache_info()
    assert (hits, misses, entries) == (0, 1, 1)
    assert fingerprint(text, G) is first
    assert cache_info()[0] == 1
    assert shape_of(text, G) == first  # uncached, same answer


def test_unknown_language_collapses_whitespace_only() -> None:
    found = fingerprint("  frobnicate   'x'\n 5 ", None)
    assert found.shape == "frobnicate 'x' 5"
    assert (found.lang, found.operation) == (None, "unknown")
    assert found.id == fid("frobnicate 'x'   5", None) != fid("frobnicate 'y' 5", None)


def test_a_huge_query_is_shaped_from_its_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tui.insight.fingerprints.MAX_SHAPE_CHARS", 200)
    head = "g.V()" + ".has('k','v')" * 20
    found = shape_of(head + ".out('a')" * 30, G)
    assert found.shape.endswith(" …") and len(found.shape) < 200
    assert found.id != shape_of(head + ".out('b')" * 30, G).id  # the tail is in the id
    assert found.id == shape_of(head + ".out('a')" * 30, G).id


# --------------------------------------------------------------------------------------
# Gremlin


def test_gremlin_same_shape_across_literals_quotes_whitespace_and_comments() -> None:
    assert_one_shape(
        G,
        "g.V().has('airport','code','SEA').out('route').limit(10)",
        'g.V().has("airport", "code", "LAX").out("route").limit(5)',
        "g.V().has('''airport''',\"\"\"code\"\"\",'JFK').out('route').limit(7L)",
        "g.V().has('airport' ,  'code','JFK')\n  .out('route')   // hops\n  .limit(100)",
        "g.V().has('airport','code','ORD')./* inline */out('route').limit(-1)",
    )


def test_gremlin_numbers_booleans_and_ids() -> None:
    assert_one_shape(G, "g.V(1).values('x')", "g.V('p-00042').values('y')", "g.V(7L).values('z')")
    assert_one_shape(G, "g.V(1, 2, 3).count()", "g.V('a').count()", "g.V(['a','b']).count()")
    assert_one_shape(
        G, "g.V().has('age', gt(2.5))", "g.V().has('age', gt(-3))", "g.V().has('a', gt(1e3))"
    )
    assert_all_apart(G, "g.V().valueMap(true)", "g.V().valueMap(false)", "g.V().valueMap()")


def test_gremlin_value_sets_are_one_placeholder() -> None:
    assert_one_shape(
        G,
        "g.V().has('code', within('SEA','SFO','LAX'))",
        "g.V().has('code', within('SEA'))",
        "g.V().has('code', within(['SEA','SFO']))",
        "g.V().has('code', P.within('SEA','SFO'))",
    )
    assert_one_shape(G, "g.V().hasId('a','b').count()", "g.V().hasId('c').count()")
    # Other steps keep their arity: has(key, value) is not has(label, key, value).
    assert_all_apart(G, "g.V().has('a','b')", "g.V().has('a','b','c')", "g.V().has('a')")


def test_gremlin_namespaces_and_anonymous_traversals_as_bytecode_writes_them() -> None:
    assert_one_shape(
        G,
        "g.V().where(__.out('knows')).has('age', P.gt(30)).order().by('age', Order.desc)"
        ".by(T.id).has('name', TextP.startingWith('a'))",
        "g.V().where(out('knows')).has('age', gt(30)).order().by('age', desc)"
        ".by(id).has('name', startingWith('b'))",
    )


def test_gremlin_different_structures_apart() -> None:
    assert_all_apart(
        G,
        "g.V().has('person','name','alice').out('knows').limit(10)",
        "g.V().has('person','name','alice').in('knows').limit(10)",
        "g.V().has('person','name','alice').out('knows').range(0, 10)",
        "g.V().has('person','name','alice').out('knows').limit(local, 10)",
        "g.V().has('person','name','alice').out('knows')",
        "g.V().has('person','name','alice').out('knows').limit(10).drop()",
        "g.E().has('person','name','alice').out('knows').limit(10)",
        "g.V().has('age', gt(30))",
        "g.V().has('age', lt(30))",
        "g.V().has('age', 30)",
        "g.V().order().by('age', desc)",
        "g.V().order().by('age', asc)",
        "g.V().drop()",
        "g.V().count()",
        "g.addV('person')",
        "g.addE('knows')",
    )


def test_gremlin_variables_are_placeholders_like_bound_parameters() -> None:
    assert_one_shape(G, "g.V(vid).out(label1)", "g.V(x).out('knows')", "g.V(1).out('a')")
    assert fingerprint("g.V(x).out(y)", G).shape == "g.V(?).out(?)"


@pytest.mark.parametrize(
    ("bytecode", "script"),
    [
        (
            "[[], [V(), has(person, name, ann), count()]]",
            "g.V().has('person','name','bob').count()",
        ),
        (
            "[[], [V(), has(person, name, Ann Smith), out(knows), limit(10)]]",
            'g.V().has("person", "name", "Zoë").out("knows").limit(5)',
        ),
        (
            "[[], [V(p-00042), property(single, lastSeen, 1790000000123)]]",
            "g.V('p-00001').property(single,'lastSeen',1790000000000)",
        ),
        (
            "[[], [V(), has(age, gt(25)), has(code, within([SEA, SFO])), order(), by(name, desc)]]",
            "g.V().has('age', P.gt(30)).has('code', within('LAX')).order().by('name', Order.desc)",
        ),
        (
            "[[], [V(), repeat([[], [out(route), simplePath()]]), times(2), path()]]",
            "g.V().repeat(__.out('route').simplePath()).times(3).path()",
        ),
        ("[[], [V(1), drop()]]", "g.V(2).drop()"),
    ],
)
def test_gremlin_bytecode_equals_the_same_traversal_as_a_script(bytecode: str, script: str) -> None:
    payload = (
        "\"RequestMessage{, requestId=2, op='bytecode', processor='traversal', "
        f'args={{gremlin={bytecode}, aliases={{g=g}}}}}}"'
    )
    from_bytecode = record(entry_line("Websocket", "[unknown]", payload))
    assert from_bytecode.query is not None and from_bytecode.query.form == "bytecode"
    found = record_fingerprint(from_bytecode)
    assert found is not None
    assert found == fingerprint(script, G)


def test_gremlin_bytecode_literal_that_looks_like_an_enum_stays_an_enum() -> None:
    """The documented limit: bytecode renders ``'desc'`` and ``desc`` alike."""
    assert fingerprint("g.V().has(a, desc)", G, bytecode=True).shape == "g.V().has(?,desc)"


def test_gremlin_operation_classes() -> None:
    reads = ["g.V().count()", "g.V().properties('x')", "g.V().has('drop','addV')"]
    writes = [
        "g.addV('person').property('name','x')",
        "g.V('1').addE('knows').to(__.V('2'))",
        "g.V('1').property(single,'age',3)",
        "g.mergeV([(T.id): 1])",
        "g.V().mergeE([(T.label): 'x'])",
    ]
    deletes = ["g.V().drop()", "g.V('1').outE('knows').drop()", "g.V().sideEffect(drop()).addV()"]
    for texts, expected in ((reads, "read"), (writes, "write"), (deletes, "delete")):
        for text in texts:
            assert fingerprint(text, G).operation == expected, text


# --------------------------------------------------------------------------------------
# SPARQL

FOAF = "PREFIX foaf: <http://xmlns.com/foaf/0.1/>\n"


def test_sparql_same_shape_across_literals_case_comments_and_prefixes() -> None:
    assert_one_shape(
        S,
        FOAF + 'SELECT ?friend WHERE {\n  ?p foaf:name "ann" .\n  ?p foaf:knows ?friend .\n}'
        "\nLIMIT 10",
        "select ?friend where { ?p <http://xmlns.com/foaf/0.1/name> 'bob'@en . "
        "?p <http://xmlns.com/foaf/0.1/knows> ?friend } limit 5 # a comment",
        'PREFIX f: <http://xmlns.com/foaf/0.1/> SELECT ?friend WHERE { ?p f:name """x\ny""" '
        ". ?p f:knows ?friend . } LIMIT 1",
        "SELECT $friend WHERE { ?p <http://xmlns.com/foaf/0.1/name> 'it\\'s' . "
        "?p <http://xmlns.com/foaf/0.1/knows> ?friend } LIMIT 99",
    )


def test_sparql_subject_and_object_iris_are_values_predicates_and_classes_are_not() -> None:
    assert_one_shape(
        S,
        "ASK { <http://example.org/person/p-1> ?p ?o }",
        "ASK { <http://example.org/person/p-2> ?p ?o }",
    )
    assert_one_shape(
        S,
        "SELECT ?n WHERE { <http://e/a> <http://e/knows> <http://e/b> . ?x <http://e/name> ?n }",
        "SELECT ?n WHERE { <http://e/c> <http://e/knows> <http://e/d> . ?x <http://e/name> ?n }",
    )
    assert_all_apart(
        S,
        "SELECT ?s WHERE { ?s <http://xmlns.com/foaf/0.1/name> ?o }",
        "SELECT ?s WHERE { ?s <http://xmlns.com/foaf/0.1/age> ?o }",
        "SELECT ?s WHERE { ?s a <http://e/Airport> }",
        "SELECT ?s WHERE { ?s a <http://e/Country> }",
        "SELECT ?s WHERE { GRAPH <http://e/g1> { ?s ?p ?o } }",
        "SELECT ?s WHERE { GRAPH <http://e/g2> { ?s ?p ?o } }",
        "SELECT ?s WHERE { ?s ?p ?o }",
        "SELECT ?t WHERE { ?t ?p ?o }",  # variables are kept
    )
    assert_one_shape(
        S,
        "SELECT ?s WHERE { ?s a <http://e/A> }",
        "SELECT ?s WHERE { ?s rdf:type <http://e/A> }",
        "SELECT ?s WHERE { ?s <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://e/A> }",
    )


def test_sparql_values_in_lists_and_numbers() -> None:
    assert_one_shape(
        S,
        "SELECT ?x WHERE { VALUES ?x { <http://a> <http://b> } ?x ?p ?o FILTER(?o IN (1, 2)) }",
        "SELECT ?x WHERE { VALUES ?x { 'a' } ?x ?p ?o FILTER(?o IN (3)) }",
    )
    assert_one_shape(S, "SELECT * WHERE { ?s ?p 2.5 }", "SELECT * WHERE { ?s ?p -7 }")
    assert_all_apart(
        S, "SELECT * WHERE { ?s ?p 1 } LIMIT 5", "SELECT * WHERE { ?s ?p 1 } LIMIT 5 OFFSET 10"
    )


def test_sparql_readable_shape() -> None:
    found = fingerprint(
        FOAF + "SELECT ?name (COUNT(?f) AS ?n) WHERE { ?p foaf:name ?name ; foaf:knows ?f . "
        'FILTER(?name != "x") } GROUP BY ?name ORDER BY DESC(?n) LIMIT 10',
        S,
    )
    assert found.shape == (
        "SELECT ?name (COUNT(?f) AS ?n) WHERE { ?p <http://xmlns.com/foaf/0.1/name> ?name ; "
        "<http://xmlns.com/foaf/0.1/knows> ?f . FILTER (?name != ?) } GROUP BY ?name "
        "ORDER BY DESC(?n) LIMIT ?"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SELECT * WHERE { ?s ?p 'DELETE' }", "read"),
        ("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", "read"),
        ("DESCRIBE <http://e/x>", "read"),
        ("INSERT DATA { <http://e/a> <http://e/p> 1 }", "write"),
        ("insert { ?s <http://e/p> 1 } where { ?s ?p ?o }", "write"),
        ("LOAD <s3://bucket/data.nt> INTO GRAPH <http://e/g>", "write"),
        ("CREATE GRAPH <http://e/g>", "write"),
        ("ADD <http://e/a> TO <http://e/b>", "write"),
        ("DELETE DATA { <http://e/a> <http://e/p> 1 }", "delete"),
        (FOAF + "DELETE WHERE { <http://e/a> foaf:age ?age }", "delete"),
        ("DELETE { ?s ?p ?o } INSERT { ?s ?p 2 } WHERE { ?s ?p ?o }", "delete"),
        ("WITH <http://e/g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }", "delete"),
        ("CLEAR GRAPH <http://e/g>", "delete"),
        ("DROP ALL", "delete"),
        ("DROP GRAPH <http://e/g>", "delete"),
        ("MOVE <http://e/a> TO <http://e/b>", "delete"),
        ("COPY DEFAULT TO <http://e/b>", "delete"),
    ],
)
def test_sparql_operation_classes(text: str, expected: str) -> None:
    assert fingerprint(text, S).operation == expected


# --------------------------------------------------------------------------------------
# openCypher


def test_cypher_same_shape_across_literals_params_case_and_comments() -> None:
    assert_one_shape(
        C,
        "MATCH (p:person {name: 'ann'})-[:knows]->(f:person) RETURN f.name ORDER BY f.age "
        "DESC LIMIT 10",
        'match (p:person {name: "bob"})-[:knows]->(f:person)\n  return f.name order by f.age'
        " desc limit 5 // newest first",
        "MATCH (p:person {name: $name})-[:knows]->(f:person) /* by age */ RETURN f.name "
        "ORDER BY f.age DESC LIMIT $limit",
    )
    assert_one_shape(
        C,
        "MATCH (a) WHERE a.x IN ['a', 'b'] AND a.y = 2.5 RETURN a",
        "MATCH (a) WHERE a.x IN $codes and a.y = -1 RETURN a",
        "MATCH (a) WHERE a.x IN [1] AND a.y = true RETURN a",
    )
    assert_one_shape(C, "MATCH (`p`:person) RETURN count(p)", "MATCH (p:person) RETURN COUNT(p)")


def test_cypher_labels_types_and_property_keys_are_kept() -> None:
    assert_all_apart(
        C,
        "MATCH (p:person {name: 'ann'})-[:knows]->(f) RETURN f.name",
        "MATCH (p:Person {name: 'ann'})-[:knows]->(f) RETURN f.name",
        "MATCH (p:person {nick: 'ann'})-[:knows]->(f) RETURN f.name",
        "MATCH (p:person {name: 'ann'})-[:likes]->(f) RETURN f.name",
        "MATCH (p:person {name: 'ann'})<-[:knows]-(f) RETURN f.name",
        "MATCH (p:person {name: 'ann'})-[:knows]->(f) RETURN f.age",
        "MATCH (p:person {name: 'ann'})-[:knows*1..2]->(f) RETURN f.name",
        "MATCH (p:person {name: 'ann'})-[:knows]->(f) RETURN f.name LIMIT 1",
        "MATCH (p:person {order: 'ann'})-[:knows]->(f) RETURN f.name",
        "MATCH (p:person {ORDER: 'ann'})-[:knows]->(f) RETURN f.name",
    )


def test_cypher_readable_shape() -> None:
    found = fingerprint(
        "MATCH (a:airport {code: 'SEA'})-[r:route]->(d) WHERE r.dist > 500 "
        "RETURN d.code, r.dist ORDER BY r.dist DESC",
        C,
    )
    assert found.shape == (
        "MATCH (a:airport { code:? })-[r:route]->(d) WHERE r.dist > ? "
        "RETURN d.code, r.dist ORDER BY r.dist DESC"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("MATCH (n) RETURN n", "read"),
        ("MATCH (n {name: 'CREATE'}) RETURN n.delete", "read"),
        ("MATCH (n) RETURN n {.set}", "read"),
        ("CREATE (p:person {name: 'x'}) RETURN id(p)", "write"),
        ("MERGE (p:person {name: $n}) ON CREATE SET p.age = 1", "write"),
        ("MATCH (p) SET p.seen = 1", "write"),
        ("MATCH (p) REMOVE p.seen", "write"),
        ("MATCH (p) DELETE p", "delete"),
        ("MATCH (p) DETACH DELETE p", "delete"),
        ("match (p) detach delete p", "delete"),
        ("MATCH (p) SET p.x = 1 WITH p DELETE p", "delete"),
    ],
)
def test_cypher_operation_classes(text: str, expected: str) -> None:
    assert fingerprint(text, C).operation == expected


# --------------------------------------------------------------------------------------
# Real payload shapes (field guide, section 3), through the parser

SIGNED = "Host: db:8182 Content-Type: application/x-www-form-urlencoded"


def test_spec_lines() -> None:
    shapes = {}
    for line in (SPEC_SPARQL_FORM, SPEC_WEBSOCKET, SPEC_GREMLIN_JSON, SPEC_BOLT, SPEC_STATUS):
        found = record_fingerprint(record(line))
        shapes[line[:13]] = found.shape if found else None
    assert shapes == {
        "1700000000123": "SELECT ?s WHERE { ?s ?p ?o } LIMIT ?",  # form-encoded SPARQL
        "1700000000456": "g.V().has(?,?,?).out(?).limit(?)",  # WebSocket RequestMessage
        "1700000000789": "g.V().count()",  # JSON body
        "1700000001000": "MATCH (p:person)-[:knows]->(f) RETURN f.name LIMIT ?",  # Bolt
        "1700000000999": None,  # GET /status carries no query
    }


def test_payload_forms_of_one_query_share_an_id() -> None:
    sparql = "SELECT ?s WHERE { ?s ?p 'x' } LIMIT 10"
    form = record(
        entry_line("HTTP_POST", http_header("POST /sparql", SIGNED), "query=" + quote_plus(sparql))
    )
    target = "/sparql?query=" + quote_plus(sparql.replace("10", "20"))
    get = record(entry_line("HTTP_GET", http_header(f"GET {target}"), target))
    body = '"{""query"": ""SELECT ?s WHERE { ?s ?p \'y\' } LIMIT 5""}"'
    json_body = record(entry_line("HTTP_POST", http_header("POST /sparql"), body))
    ids = {r.query.form if r.query else None: record_fingerprint(r) for r in (form, get, json_body)}
    assert set(ids) == {"form", "query-string", "json"}
    assert len({f.id for f in ids.values() if f}) == 1

    cypher_json = (
        '"{""query"": ""MATCH (n {code: $code}) RETURN n"", ""parameters"": {""code"": ""SEA""}}"'
    )
    cypher_form = "query=" + quote_plus("MATCH (n {code: 'LAX'}) RETURN n")
    bolt = "MATCH (n {code: 'JFK'}) RETURN n"
    cypher = [
        record(entry_line("HTTP_POST", http_header("POST /openCypher"), cypher_json)),
        record(entry_line("HTTP_POST", http_header("POST /openCypher", SIGNED), cypher_form)),
        record(entry_line("Bolt", "[unknown]", bolt)),
    ]
    found = {record_fingerprint(r) for r in cypher}
    assert len(found) == 1 and None not in found


def test_sample_generator_queries_fall_into_their_templates() -> None:
    """Thousands of distinct queries from the sample generator fall into one shape per query
    template, whatever literals each drew: 17 Gremlin, 12 SPARQL and 13 openCypher shapes
    (14 templates, one sent both with a literal and with ``$country``: one shape). Update the
    counts when the generator gains templates."""
    texts: set[str] = set()
    ids_by_lang: dict[str | None, set[str]] = defaultdict(set)
    for instance in INSTANCES:
        for line in iter_lines(2500, seed=11, instance=instance):
            entry = parse_entry(line)
            assert isinstance(entry, Record)
            found = record_fingerprint(entry)
            if found is not None and entry.query is not None:
                texts.add(entry.query.text)
                ids_by_lang[found.lang].add(found.id)
    assert {lang: len(ids) for lang, ids in ids_by_lang.items()} == {G: 17, S: 12, C: 13}
    assert len(texts) > 2000


# --------------------------------------------------------------------------------------
# Operation classes


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/status", "health"),
        ("/status/", "health"),
        ("/STATUS", "health"),
        ("/gremlin", "query"),
        ("/sparql", "query"),
        ("/openCypher", "query"),
        ("/opencypher/", "query"),
        (None, "query"),
        ("/gremlin/explain", "read"),
        ("/gremlin/profile", "read"),
        ("/sparql/profile", "read"),
        ("/openCypher/explain", "read"),
        ("/gremlin/status", "admin"),
        ("/sparql/status", "admin"),
        ("/openCypher/status", "admin"),
        ("/sparql/stream", "admin"),
        ("/loader", "admin"),
        ("/loader/0a1b2c", "admin"),
        ("/system", "admin"),
        ("/propertygraph/stream", "admin"),
        ("/propertygraph/statistics", "admin"),
        ("/pg/statistics/summary", "admin"),
        ("/rdf/statistics", "admin"),
        ("/ml/dataprocessing", "admin"),
        ("/", "unknown"),
        ("/favicon.ico", "unknown"),
        ("/status/extra", "unknown"),
    ],
)
def test_path_operation(path: str | None, expected: str) -> None:
    assert path_operation(path) == expected


JSON = "Content-Type: application/json"


def http(method: str, target: str, payload: str, headers: str = "Host: h") -> Record:
    conn = "HTTP_GET" if method == "GET" else "HTTP_POST"
    return record(entry_line(conn, http_header(f"{method} {target}", headers), payload))


def ws(script: str, op: str = "eval") -> Record:
    payload = (
        f"\"RequestMessage{{, requestId=1, op='{op}', processor='', "
        f'args={{gremlin={script} , aliases={{g=g}}}}}}"'
    )
    return record(entry_line("Websocket", "[unknown]", payload))


def gremlin_json(path: str, script: str) -> Record:
    return http("POST", path, f'"{{""gremlin"": ""{script}""}}"', JSON)


def form(path: str, key: str, text: str) -> Record:
    return http("POST", path, f"{key}={quote_plus(text)}", SIGNED)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        # /status
        (record(SPEC_STATUS), "health"),
        (http("POST", "/status", "/status"), "health"),
        # /gremlin, JSON and GET
        (record(SPEC_GREMLIN_JSON), "read"),
        (gremlin_json("/gremlin", "g.addV('x').property('a', 1)"), "write"),
        (gremlin_json("/gremlin", "g.V('1').drop()"), "delete"),
        (http("GET", "/gremlin?gremlin=g.V().count()", "/gremlin?gremlin=g.V().count()"), "read"),
        # /gremlin/explain and /gremlin/profile: planning, whatever the traversal
        (gremlin_json("/gremlin/explain", "g.V().drop()"), "read"),
        (gremlin_json("/gremlin/profile", "g.addV('x')"), "read"),
        # /sparql: form query and update, GET
        (record(SPEC_SPARQL_FORM), "read"),
        (form("/sparql", "update", "INSERT DATA { <http://e/a> <http://e/p> 1 }"), "write"),
        (form("/sparql", "update", "DELETE WHERE { <http://e/a> ?p ?o }"), "delete"),
        (form("/sparql", "update", "CLEAR ALL"), "delete"),
        (http("GET", "/sparql?query=ASK%7B%7D", "/sparql?query=ASK%7B%7D"), "read"),
        # /openCypher: form and JSON
        (form("/openCypher", "query", "MATCH (n) RETURN n"), "read"),
        (form("/openCypher", "query", "CREATE (n:x)"), "write"),
        (
            http(
                "POST",
                "/openCypher",
                '"{""query"": ""MATCH (n {id: $id}) DETACH DELETE n"", ""parameters"": {}}"',
                JSON,
            ),
            "delete",
        ),
        # /loader, /system
        (
            http("POST", "/loader", '"{""source"": ""s3://b/k/"", ""format"": ""csv""}"', JSON),
            "admin",
        ),
        (http("GET", "/loader?loadId=1234", "/loader?loadId=1234"), "admin"),
        (http("DELETE", "/loader/1234", "/loader/1234"), "admin"),
        (http("POST", "/system", "action=initiateDatabaseReset", SIGNED), "admin"),
        (http("POST", "/system", "action=performDatabaseReset&token=abc", SIGNED), "admin"),
        (form("/gremlin/status", "cancelQuery", "yes"), "admin"),
        (http("GET", "/sparql/status", "/sparql/status"), "admin"),
        # WebSocket
        (record(SPEC_WEBSOCKET), "read"),
        (ws("g.addV('person').property('name','x')"), "write"),
        (ws("g.V('1').drop()"), "delete"),
        (ws("[[], [V(1), drop()]]", "bytecode"), "delete"),
        (ws("[[], [V(), count()]]", "bytecode"), "read"),
        (
            record(
                entry_line(
                    "Websocket",
                    "[unknown]",
                    "\"RequestMessage{, requestId=1, op='authentication', processor='', "
                    'args={sasl=AHVzZXIAcGFzcw==}}"',
                )
            ),
            "unknown",
        ),
        # Bolt
        (record(SPEC_BOLT), "read"),
        (record(entry_line("Bolt", "[unknown]", "MERGE (n:x {id: 1})")), "write"),
        (record(entry_line("Bolt", "[unknown]", "MATCH (n) DETACH DELETE n")), "delete"),
        # elsewhere
        (http("GET", "/favicon.ico", "/favicon.ico"), "unknown"),
    ],
)
def test_operation_of_records_on_every_endpoint(entry: Record, expected: str) -> None:
    assert operation(entry) == expected
    assert expected in OPERATIONS
    query = entry.query
    assert (
        operation_of(
            entry.path,
            entry.lang,
            query.text if query else None,
            bytecode=query is not None and query.form == "bytecode",
        )
        == expected
    )


def test_operation_of_the_sample_mix() -> None:
    """Readers take no writes; on the writer every class the generator makes shows, and the
    path-decided ones match the paths exactly."""
    for instance in INSTANCES:
        by_op: Counter[str] = Counter()
        by_path: Counter[str | None] = Counter()
        for line in iter_lines(3000, seed=5, instance=instance):
            entry = parse_entry(line)
            assert isinstance(entry, Record)
            by_op[operation(entry)] += 1
            by_path[entry.path] += 1
        assert by_op["health"] == by_path["/status"]
        assert by_op["admin"] == by_path["/loader"] + by_path["/system"]
        assert by_op["unknown"] == 0
        if instance == INSTANCES[0]:
            assert set(by_op) == {"read", "write", "delete", "admin", "health"}
            assert by_op["read"] > by_op["write"] > by_op["delete"] > 0
        else:
            assert set(by_op) == {"read", "health"}


# --------------------------------------------------------------------------------------
# Robustness


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=120), lang=st.sampled_from([G, S, C, None]))
def test_any_text_gets_a_fingerprint(text: str, lang: str | None) -> None:
    found = shape_of(text, lang)
    assert re.fullmatch(r"[0-9a-f]{8}", found.id)
    assert found.operation in OPERATIONS
    assert shape_of(text, lang) == found
    assert shape_of(f"  {text}\n", lang).id == found.id


@settings(max_examples=60, deadline=None)
@given(
    name=st.text(st.characters(blacklist_characters="'\\\n", blacklist_categories=["Cs"])),
    number=st.integers(min_value=-(10**12), max_value=10**12),
)
def test_gremlin_literals_never_change_the_shape(name: str, number: int) -> None:
    text = f"g.V().has('person','name','{name}').out('knows').limit({number})"
    assert fingerprint(text, G).shape == "g.V().has(?,?,?).out(?).limit(?)"


def test_public_names() -> None:
    assert OPERATIONS == ("read", "write", "delete", "admin", "health", "unknown")
    assert {"fingerprint", "operation", "operation_of", "Fingerprint"} <= set(insight.__all__)


# --------------------------------------------------------------------------------------
# FastLexer: the lexers' own tokens, faster

LEXERS: list[RegexLexer] = [GremlinLexer(), SparqlLexer(), OpenCypherLexer(), CypherLexer()]
SAMPLE_QUERIES = sorted(
    {
        entry.query.text
        for instance in INSTANCES
        for entry in map(parse_entry, iter_lines(600, seed=13, instance=instance))
        if isinstance(entry, Record) and entry.query is not None
    }
)


@pytest.mark.parametrize("lexer", LEXERS, ids=lambda lexer: type(lexer).__name__)
def test_fast_lexer_gives_the_lexers_own_tokens(lexer: RegexLexer) -> None:
    fast = FastLexer(lexer)
    for text in SAMPLE_QUERIES:
        assert list(fast.tokens(text)) == list(lexer.get_tokens_unprocessed(text)), text


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(st.sampled_from("gV().'\"{}[]<>?$:;,-*/#\\\n\t aeSELCTMAhs019_`@^|=!%~é")),
    which=st.integers(0, len(LEXERS) - 1),
)
def test_fast_lexer_on_any_text(text: str, which: int) -> None:
    lexer = LEXERS[which]
    assert list(FastLexer(lexer).tokens(text)) == list(lexer.get_tokens_unprocessed(text))


def test_fast_lexer_joins_every_state_it_can() -> None:
    fast = FastLexer(OpenCypherLexer())
    list(fast.tokens("MATCH (n {x: 'a'}) RETURN n"))
    assert fast.joined_states() == {"root": True}
    stock = FastLexer(CypherLexer())  # its string rule has a backreference
    list(stock.tokens("MATCH (n {x: 'a'}) RETURN n"))
    assert stock.joined_states() == {"root": False}
