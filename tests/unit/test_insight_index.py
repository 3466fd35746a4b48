"""The index's operation and shape columns equal the reference on every record, and the
filters, ``stats --shapes`` and exports that read them agree with it."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from tests.conftest import Loaded, build_index
from tui.cli.main import main
from tui.index.filtering import evaluate
from tui.index.insight import payload_key
from tui.index.schema import KIND_RECORD, OP_NAMES
from tui.insight import operation, record_fingerprint
from tui.model.record import Record
from tui.query import parse_filter


def test_columns_equal_the_reference_on_every_record(sample: Loaded) -> None:
    index = build_index([sample.directory])
    insight = index.insight
    insight.fill()
    assert insight.done == index.size
    kinds = index.column("kind")
    for entry in range(index.size):
        if kinds[entry] != KIND_RECORD:
            continue
        record = index.entry(entry)
        assert isinstance(record, Record)
        assert OP_NAMES[int(insight.op[entry])] == operation(record), record.raw
        found = record_fingerprint(record)
        shape = insight.shapes[int(insight.fp[entry])]
        assert (shape.id if shape else None) == (found.id if found else None), record.raw
    index.close()


def test_fill_continues_where_it_stopped_and_counts(sample: Loaded) -> None:
    index = build_index([sample.directory])
    insight = index.insight
    insight.fill(1000)
    assert insight.done == 1000 and not insight.op[1000:].any()
    insight.fill()
    records = index.column("kind") == KIND_RECORD
    by_op = insight.by_op(records)
    assert sum(by_op.values()) == index.records
    assert by_op["health"] == sample.truth.by_path["/status"]
    top = insight.top_shapes(records, 5)
    assert len(top) == 5 and top[0][1] >= top[-1][1]
    index.close()


def test_fp_and_op_filters_equal_the_reference(sample: Loaded) -> None:
    index = sample.index
    parsed = [index.entry(e) for e in range(index.size)]
    shapes = Counter(
        found.id for e in parsed if isinstance(e, Record) and (found := record_fingerprint(e))
    )
    common = shapes.most_common(1)[0][0]
    for text, test in (
        (f"fp={common}", lambda e: (f := record_fingerprint(e)) is not None and f.id == common),
        ("op:delete", lambda e: operation(e) == "delete"),
        ("-op:read", lambda e: operation(e) != "read"),
    ):
        mask = evaluate(index, parse_filter(text)).mask
        expected = [
            isinstance(e, Record) and test(e)  # type: ignore[no-untyped-call]
            if not text.startswith("-")
            else (not isinstance(e, Record) or test(e))  # type: ignore[no-untyped-call]
            for e in parsed
        ]
        assert mask.tolist() == expected, text


@pytest.mark.parametrize(
    ("line", "key"),
    [
        (
            "1700000000123, 10.0.1.19:40112, 10.0.3.215:8182, Websocket, [unknown], [unknown], "
            "[unknown], \"RequestMessage{, requestId=6f1c, op='eval', args={gremlin=g.V()}}\"",
            "\"RequestMessage{, , op='eval', args={gremlin=g.V()}}\"",
        ),
        (
            "1700000001000, 10.0.1.22:7687, 10.0.3.215:8182, Bolt, [unknown], [unknown], "
            "[unknown], MATCH (n), (m) RETURN n",
            "MATCH (n), (m) RETURN n",
        ),
        (
            '1700000000999, 10.0.1.21:47148, [unknown], HTTP_GET, [unknown], [unknown], "GET '
            '/status HTTP/1.1 Host: x", /status',
            None,
        ),
        (
            '1700000000789, "10.0.1.20:51000", 10.0.3.215:8182, Bolt, [unknown], [unknown], '
            "[unknown], MATCH (n) RETURN n",
            None,
        ),
    ],
)
def test_payload_key(line: str, key: str | None) -> None:
    assert payload_key(line) == key


def test_stats_shapes_in_json(sample: Loaded, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", str(sample.directory), "--shapes", "--format", "json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert sum(stats["by_op"].values()) == sample.truth.records
    assert stats["top_fingerprints"] and all(len(item) == 3 for item in stats["top_fingerprints"])
    assert sum(stats["timeline"]["deletes"]) == stats["by_op"].get("delete", 0)
    assert main(["stats", str(sample.directory), "--format", "json"]) == 0
    assert "by_op" not in json.loads(capsys.readouterr().out)


def test_export_keys_carry_shape_and_operation(
    sample: Loaded, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["query", str(sample.directory), "-f", "op:delete", "--format", "jsonl"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows and {row["op"] for row in rows} == {"delete"}
    assert all(row["fingerprint"] and len(row["fingerprint"]) == 8 for row in rows)
    assert np.all(np.diff([row["epoch_us"] for row in rows]) >= 0)


def test_fill_reports_progress_that_adds_up(
    sample: Loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui.index import insight as insight_module

    monkeypatch.setattr(insight_module, "_PROGRESS_EVERY", 100)
    index = build_index([sample.directory])
    reports: list[tuple[int, int]] = []
    index.insight.fill(on_progress=lambda done, total: reports.append((done, total)))
    dones = [done for done, _ in reports]
    total = reports[-1][1]
    assert len(reports) > 3 and dones == sorted(dones) and dones[-1] == total
    assert dones[1] == 200  # counted from the pass's start, not per batch
    index.close()


def test_a_selection_is_classified_alone_and_the_rest_later(sample: Loaded) -> None:
    # The overview and ``stats --shapes`` of a few records classify those records only; a
    # later pass over everything classifies the rest, and the columns equal one full pass.
    index = build_index([sample.directory])
    insight = index.insight
    records = index.column("kind") == KIND_RECORD
    chosen = np.zeros(index.size, bool)
    chosen[np.flatnonzero(records)[::50]] = True
    progress: list[tuple[int, int]] = []
    insight.fill(only=chosen, on_progress=lambda done, total: progress.append((done, total)))
    assert progress[-1][1] <= int(chosen.sum())  # health checks are decided by their path
    assert insight.covers(chosen) and not insight.covers(records)
    assert np.all(insight.op[: index.size][chosen] > 0)
    selected_ops = insight.op[: index.size][chosen].copy()
    insight.fill()
    assert insight.done == index.size and insight.covers(records)
    full = build_index([sample.directory])
    full.insight.fill()
    assert np.array_equal(insight.op[: index.size], full.insight.op[: full.size])
    assert np.array_equal(selected_ops, full.insight.op[: full.size][chosen])
    index.close()
    full.close()
