"""The index: merge order, accounting of every line, appends, and odd inputs."""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Loaded, build_index
from tui.index.columns import ColumnStore
from tui.index.index import Index
from tui.index.scan import Scanner
from tui.index.schema import KIND_MALFORMED, KIND_RECORD
from tui.model.parser import FRAGMENT_REASON
from tui.model.record import Malformed, Record
from tui.sources import local
from tui.sources.files import FileReader

REC = (
    "{t}, 10.0.1.{c}:4000{c}, 10.0.3.215:8182, Bolt, [unknown], [unknown], [unknown], "
    "MATCH (n) RETURN {c}"
)


def line(t: int, c: int = 1) -> str:
    return REC.format(t=t, c=c)


def write(path: Path, lines: list[str], *, end: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(end.join(lines) + end)
    return path


def ordered(index: Index) -> list[tuple[int, str, int]]:
    """(time, source name, line) of every entry in merged order."""
    order = index.order()
    return [
        (
            int(index.column("epoch_us")[e]),
            index.sources[int(index.column("source")[e])].name,
            int(index.column("line")[e]),
        )
        for e in order.tolist()
    ]


def test_merge_is_chronological_with_source_then_position_ties(tmp_path: Path) -> None:
    a = write(tmp_path / "a.log", [line(1700000000300), line(1700000000100), line(1700000000200)])
    b = write(tmp_path / "b.log", [line(1700000000200), line(1700000000100), line(1700000000200)])
    index = build_index([a, b])
    assert ordered(index) == [
        (1700000000100000, str(a), 2),
        (1700000000100000, str(b), 2),
        (1700000000200000, str(a), 3),
        (1700000000200000, str(b), 1),
        (1700000000200000, str(b), 3),
        (1700000000300000, str(a), 1),
    ]


def test_sample_counts_and_order(sample: Loaded) -> None:
    index, truth = sample.index, sample.truth
    assert (index.records, index.malformed, index.lines) == (
        truth.records,
        truth.malformed,
        truth.lines,
    )
    times = index.column("epoch_us")[index.order()]
    assert bool(np.all(times[1:] >= times[:-1]))
    assert sorted(index.order().tolist()) == list(range(index.size))
    kinds = index.column("kind")
    per_file = Counter(
        index.sources[int(s)].name for s in index.column("source")[kinds == KIND_RECORD].tolist()
    )
    expected = {name.removesuffix(".gz"): n for name, n in truth.per_file_records.items()}
    assert {name.removesuffix(".gz"): n for name, n in per_file.items()} == expected


def test_malformed_entries_sit_after_the_record_before_them(sample: Loaded) -> None:
    index = sample.index
    for entry in np.flatnonzero(index.column("kind") == KIND_MALFORMED).tolist():
        parsed = index.entry(entry)
        assert isinstance(parsed, Malformed)
        same_source = np.flatnonzero(index.column("source") == index.column("source")[entry])
        before = same_source[same_source < entry]
        if len(before):
            assert index.column("epoch_us")[entry] == index.column("epoch_us")[before[-1]]


def test_span_boundaries_do_not_change_the_result(
    sample: Loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local, "SPAN_BYTES", 7_001)
    monkeypatch.setattr(local, "FIRST_SPAN_BYTES", 3_333)
    monkeypatch.setattr(local, "_ALIGN_READ", 97)
    small = build_index([sample.directory], workers=2)
    big = sample.index
    assert small.size == big.size
    for name in ("offset", "length", "line", "epoch_us", "kind", "port", "auth", "lang"):
        a = small.column(name)[small.order()]
        b = big.column(name)[big.order()]
        assert np.array_equal(a, b), name
    for name in ("type", "client", "server", "principal", "method", "path"):
        left = [small.value(name, c) for c in small.column(name)[small.order()].tolist()]
        right = [big.value(name, c) for c in big.column(name)[big.order()].tolist()]
        assert left == right, name


def test_gzip_bom_crlf_no_final_newline_and_empty_files(tmp_path: Path) -> None:
    plain = [line(1700000000001 + i, i % 5) for i in range(50)]
    with gzip.open(tmp_path / "packed.log.gz", "wt") as handle:
        handle.write("\n".join(plain) + "\n")
    (tmp_path / "crlf.log").write_bytes(
        b"\xef\xbb\xbf" + "\r\n".join(plain[:10]).encode() + b"\r\n"
    )
    (tmp_path / "open.log").write_text("\n".join(plain[:3]))  # no final newline
    (tmp_path / "empty.log").write_text("")
    index = build_index([tmp_path])
    assert index.records == 63
    assert index.lines == 63
    crlf = next(s.id for s in index.sources if s.name.endswith("crlf.log"))
    first = int(np.flatnonzero(index.column("source") == crlf)[0])
    record = index.entry(first)
    assert isinstance(record, Record) and record.line == 1 and "\r" not in record.raw
    assert record.epoch_us == 1700000000001000


def test_lines_of_several_megabytes(tmp_path: Path) -> None:
    big = line(1700000000005).replace("RETURN 1", "RETURN '" + "x" * 5_000_000 + "'")
    path = write(tmp_path / "big.log", [line(1700000000001), big, line(1700000000009)])
    index = build_index([path])
    assert index.records == 3
    record = index.entry(int(index.order()[1]))
    assert isinstance(record, Record) and record.query is not None
    assert len(record.query.text) > 5_000_000


def test_continuation_lines_and_leading_fragment(tmp_path: Path) -> None:
    path = write(
        tmp_path / "x.log",
        ["orphan text", "", line(1700000000001), "  more of the query", line(1700000000002)],
    )
    index = build_index([path])
    assert (index.records, index.malformed, index.lines, index.blank_lines) == (2, 1, 5, 1)
    fragment = index.entry(0)
    assert isinstance(fragment, Malformed) and fragment.reason == FRAGMENT_REASON
    continued = index.entry(1)
    assert isinstance(continued, Record) and continued.payload is not None
    assert continued.payload.endswith("\n  more of the query")


def test_appends_extend_the_index_like_a_rebuild(tmp_path: Path) -> None:
    """Spans committed one after another (as when tailing) give the same order as one load."""
    rng = np.random.default_rng(5)
    files = [tmp_path / f"f{i}.log" for i in range(3)]
    chunks: list[list[list[str]]] = [[] for _ in files]
    for f in range(3):
        for _ in range(4):
            times = (1700000000000 + rng.integers(0, 50, 20)).tolist()
            chunks[f].append([line(t, f) for t in times])
    reader = FileReader()
    index = Index(reader)
    scanner = Scanner()
    for path in files:
        path.write_text("")
        reader.register(index.add_source(str(path)).id, path)
    for step in range(4):
        for f, path in enumerate(files):
            before = path.stat().st_size
            with path.open("a") as handle:
                handle.write("\n".join(chunks[f][step]) + "\n")
            data = path.read_bytes()[before:]
            span = scanner.scan(data, file_offset=before, at_file_start=before == 0, final=False)
            index.commit(f, span)
            index.order()  # merge incrementally after every append
    rebuilt = build_index(files)
    assert ordered(index) == ordered(rebuilt)


def test_continuation_arriving_later_reparses_the_open_entry(tmp_path: Path) -> None:
    path = tmp_path / "grow.log"
    first = (
        "1700000000001, 10.0.0.1:1, 10.0.0.2:8182, HTTP_POST, [unknown], [unknown], "
        '"Netty(x) POST /sp'
    )
    path.write_text(first + "\n")
    reader = FileReader()
    index = Index(reader)
    reader.register(index.add_source("grow.log").id, path)
    scanner = Scanner()
    index.commit(0, scanner.scan(path.read_bytes(), file_offset=0, at_file_start=True, final=False))
    assert index.malformed == 1
    size = path.stat().st_size
    with path.open("a") as handle:
        handle.write('arql HTTP/1.1", query=ASK+%7B%7D\n')
    more = path.read_bytes()[size:]
    index.commit(0, scanner.scan(more, file_offset=size, at_file_start=False, final=False))
    assert (index.records, index.malformed) == (1, 0)
    record = index.entry(0)
    assert isinstance(record, Record) and record.lang == "sparql"
    assert int(index.column("length")[0]) == path.stat().st_size


def _nonblank_lines(data: bytes) -> int:
    text = data.decode("utf-8", errors="replace")
    return sum(1 for piece in text.split("\n") if piece.strip())


_PIECES = st.sampled_from(
    [
        line(1700000000123),
        line(1700000000777, 3),
        "1700000000123, 10.0.1.1:1, 10.0.3.215:8182, HTTP_GET, [unknown], [unknown], "
        '"Netty(x) GET /status HTTP/1.1", /status',
        "garbage",
        "",
        "   ",
        "17000000001, too, short",
        "\x00\xff\xfe",
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.one_of(_PIECES, st.text(max_size=40)), max_size=30),
    st.lists(st.integers(min_value=0, max_value=10_000), max_size=6),
    st.binary(max_size=200),
    st.sampled_from(["\n", "\r\n"]),
)
def test_any_input_is_accounted_for(
    tmp_path_factory: pytest.TempPathFactory,
    pieces: list[str],
    cuts: list[int],
    noise: bytes,
    newline: str,
) -> None:
    """No exception escapes, and every non-blank line belongs to exactly one entry."""
    data = newline.join(pieces).encode("utf-8", errors="surrogateescape")
    for cut in cuts:  # random cuts through real records
        position = cut % (len(data) + 1)
        data = data[:position] + data[position + len(data) // 7 :]
    data = noise + data
    path = tmp_path_factory.mktemp("any") / "input.log"
    path.write_bytes(data)
    index = build_index([path])
    assert index.records + index.malformed == index.size
    assert index.lines == data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    offsets = index.column("offset").astype(int).tolist()
    lengths = index.column("length").astype(int).tolist()
    covered = 0
    for offset, length in zip(offsets, lengths, strict=True):
        assert offset == (offsets[0] if covered == 0 else covered)
        covered = offset + length
        index.entry(offsets.index(offset))  # every entry parses without raising
    body = data[offsets[0] :] if offsets else b""
    if offsets:
        assert covered == len(data)
        assert _nonblank_lines(data[: offsets[0]].removeprefix(b"\xef\xbb\xbf")) == 0
    counted = sum(_nonblank_lines(index.read(e) or b"") for e in range(index.size))
    assert counted == _nonblank_lines(body) == _nonblank_lines(data.removeprefix(b"\xef\xbb\xbf"))


def test_value_codes_widen_when_a_table_outgrows_sixteen_bits(tmp_path: Path) -> None:
    # 70,000 distinct callers: the principal column starts 16 bits wide and widens; every
    # entry keeps its value, filters and counts see them all, the other columns stay narrow.
    users = 70_000
    arn = "arn:aws:iam::123456789012:user/u{i}"
    lines = [
        f"{1700000000000 + i}, 10.0.1.1:4000, 10.0.3.215:8182, Bolt, {arn.format(i=i)}, "
        "[unknown], [unknown], MATCH (n) RETURN n"
        for i in range(users)
    ]
    index = build_index([write(tmp_path / "a.log", lines)])
    assert index.records == users
    codes = index.column("principal")
    assert codes.dtype == np.uint32 and index.column("path").dtype == np.uint16
    values = index.tables["principal"].values
    assert [values[code] for code in codes[[0, 65_535, 65_536, users - 1]].tolist()] == [
        arn.format(i=i) for i in (0, 65_535, 65_536, users - 1)
    ]
    from tui.index.filtering import evaluate
    from tui.index.stats import compute_stats
    from tui.query import parse_filter

    assert int(evaluate(index, parse_filter("user=u69999")).mask.sum()) == 1
    assert len(compute_stats(index).top_users) == 10
    assert index.nbytes_per_entry() == 47 + 2  # 47 with every code column narrow


def test_offsets_stay_32_bits_wide_until_a_file_passes_4_gb() -> None:
    index = Index(FileReader())
    data = ("\n".join(line(1700000000000 + i) for i in range(3)) + "\n").encode()
    near = index.add_source("near.log")
    index.commit(near.id, Scanner().scan(data, file_offset=0, at_file_start=True, final=False))
    assert index.column("offset").dtype == np.uint32
    far = index.add_source("far.log")
    far.end = 5 << 30  # as if its first 5 GB had been indexed before
    index.commit(
        far.id, Scanner().scan(data, file_offset=5 << 30, at_file_start=False, final=False)
    )
    size = len(data) // 3
    assert index.column("offset").dtype == np.int64
    assert index.column("offset").tolist() == [0, size, 2 * size] + [
        (5 << 30) + k * size for k in range(3)
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(-(2**40), 2**40), max_size=300),
    st.sampled_from([0, 2**20, 2**62, -(2**63)]),
    st.sampled_from([7, 1 << 16]),
)
def test_the_time_order_is_a_stable_sort(times: list[int], shift: int, block: int) -> None:
    """Packed or not (the times' span decides), positions packed in blocks or at once, ties
    keep their order."""
    from tui.index import index

    keys = np.array(times, np.int64) // 1000 * 1000  # many ties
    if shift < 0 and len(keys):
        keys[0] = shift  # an entry with no time: the span is too wide to pack
    elif shift:
        keys += shift
    expected = np.argsort(keys, kind="stable")
    original, index._POSITIONS_BLOCK = index._POSITIONS_BLOCK, block
    try:
        assert index._stable_time_order(keys.copy()).tolist() == expected.tolist()
    finally:
        index._POSITIONS_BLOCK = original


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 40), st.booleans()), max_size=200),
    st.sampled_from([0.0, 0.05, 0.5, 1.0]),
    st.sampled_from([4, 7, 41]),
    st.sampled_from([1, 3, 6, 50]),
)
def test_counting_the_chosen_codes_is_a_bincount_of_them(
    rows: list[tuple[int, bool]], share_left_out: float, codes_below: int, minlength: int
) -> None:
    """Counted a chunk at a time (every row chosen, a few left out, most left out), code by
    code (few codes) or not, the counts are those of the chosen rows, whatever codes are
    beyond ``minlength``."""
    from tui.index import stats

    codes = np.array([code % codes_below for code, _ in rows], np.uint16)
    rng = np.random.default_rng(len(rows))
    mask = rng.random(len(rows)) >= share_left_out
    original = stats._COUNT_CHUNK
    stats._COUNT_CHUNK = 16  # chunk boundaries inside the rows
    try:
        found = stats.masked_bincount(codes, mask, minlength)
    finally:
        stats._COUNT_CHUNK = original
    expected = np.bincount(codes[mask].astype(np.int64), minlength=minlength)
    assert found[: len(expected)].tolist() == expected.tolist()
    assert not found[len(expected) :].any()


def test_the_index_knows_whether_any_record_time_is_finer_than_a_millisecond(
    tmp_path: Path,
) -> None:
    """Kept as spans arrive (the table's time width reads it, never the whole column)."""
    millis = write(tmp_path / "ms.log", [line(1700000000100), line(1700000000200)])
    index = build_index([millis])
    assert not index.sub_ms_times
    micros = write(tmp_path / "us.log", [line(1700000000100), line(1700000000200123)])
    assert build_index([millis, micros]).sub_ms_times
    # A malformed line's digits are no record time.
    odd = write(tmp_path / "odd.log", [line(1700000000100), "1700000000200123, cut short"])
    assert not build_index([odd]).sub_ms_times


def test_room_reserved_for_rows_sure_to_come_starts_zeroed_and_holds_what_comes() -> None:
    """Such room is a memory map of its own whose pages for the sure rows are made at once
    (where the system can); it reads and grows as any other."""
    store = ColumnStore({"wide": np.int64, "narrow": np.uint16}, capacity=4)
    store.append({"wide": np.array([5, 6]), "narrow": np.array([7, 8], np.uint16)})
    store.reserve(1_000_000, sure=700_000)
    assert store.column("wide").tolist() == [5, 6]
    assert not store._arrays["wide"][2:].any() and not store._arrays["narrow"][2:].any()
    rows = np.arange(700_000, dtype=np.int64)
    store.append({"wide": rows, "narrow": (rows % 7).astype(np.uint16)})
    store.append({"wide": rows, "narrow": (rows % 5).astype(np.uint16)})  # past the room
    assert len(store) == 1_400_002
    wide, narrow = store.column("wide"), store.column("narrow")
    assert wide[:2].tolist() == [5, 6] and (wide[2:700_002] == rows).all()
    assert (wide[700_002:] == rows).all() and (narrow[700_002:] == rows % 5).all()
    assert (narrow[2:700_002] == rows % 7).all()
