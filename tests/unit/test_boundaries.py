"""Every boundary where log or server text leaves the process, fed the same hostile corpus:
``query`` in every format (piped, as CI runs it), ``stats`` in both formats, and stderr.
Nothing in the escaped set ever comes out, CSV cells never start a formula, credentials are
masked unless asked for, and filters still match the original text."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.hostile import CREDENTIAL_LINES, HOSTILE_LINES, HOSTILE_TEXTS
from tui.cli.main import main
from tui.model.secrets import MASKED
from tui.model.text import ESCAPED

FORMATS = ("table", "csv", "jsonl")


def leaked(text: str) -> set[str]:
    """Characters in ``text`` that should have been escaped."""
    return {f"U+{ord(char):04X}" for char in text if ord(char) in ESCAPED and char != "\n"}


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def hostile_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "audit.log"
    path.write_text("".join(line + "\n" for line in HOSTILE_LINES.values()), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def credential_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("credentials") / "audit.log"
    path.write_text("".join(line + "\n" for line, _ in CREDENTIAL_LINES.values()))
    return path


@pytest.mark.parametrize("form", FORMATS)
def test_query_output_never_carries_controls(
    hostile_file: Path, form: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["query", str(hostile_file), "--format", form, "--malformed"], capsys)
    assert code == 0, err
    assert not leaked(out) and not leaked(err)
    if form == "jsonl":
        rows = [json.loads(line) for line in out.splitlines()]
        assert len(rows) == len(HOSTILE_LINES)


def test_csv_cells_never_start_a_formula_unless_asked(
    hostile_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(["query", str(hostile_file), "--format", "csv"], capsys)
    cells = [cell for row in csv.reader(io.StringIO(out)) for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert any(cell.startswith("'=HYPERLINK(") for cell in cells)
    _, raw, _ = run(["query", str(hostile_file), "--format", "csv", "--csv-raw"], capsys)
    raw_cells = [cell for row in csv.reader(io.StringIO(raw)) for cell in row]
    assert any(cell.startswith("=HYPERLINK(") for cell in raw_cells)
    assert not leaked(raw)  # raw CSV keeps formulas, never controls


@pytest.mark.parametrize("form", ["table", "json"])
def test_stats_output_never_carries_controls(
    hostile_file: Path, form: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["stats", str(hostile_file), "--format", form], capsys)
    assert code == 0 and not leaked(out)


@pytest.mark.parametrize(
    "name",
    [
        "newline_file_name",
        "osc52_clipboard",
        "bidi_override",
        "zero_width_space",
        "c1_csi",
        "markup_click",
    ],
)
def test_error_messages_are_one_inert_line(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / HOSTILE_TEXTS[name].replace("/", "_").replace("\x00", "")
    code, out, err = run(["query", str(missing)], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("neptune-audit: ")
    assert not leaked(err)


@pytest.mark.parametrize("form", FORMATS)
def test_credentials_are_masked_in_every_format(
    credential_file: Path, form: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(["query", str(credential_file), "--format", form], capsys)
    for name, (_, secrets) in CREDENTIAL_LINES.items():
        for secret in secrets:
            assert secret not in out, (name, secret)
    if form == "jsonl":
        decoded = "\n".join(
            json.dumps(json.loads(row), ensure_ascii=False) for row in out.split("\n") if row
        )
        assert MASKED.search(decoded) is not None
        assert "Credential=" in decoded and "SignedHeaders=host;x-amz-date" in decoded  # kept
    _, shown, _ = run(["query", str(credential_file), "--format", form, "--show-secrets"], capsys)
    if form == "jsonl":
        for _, secrets in CREDENTIAL_LINES.values():
            for secret in secrets:
                assert secret in shown


def test_filters_match_the_original_text_of_masked_values(
    credential_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.hostile import SIGNATURE

    _, out, _ = run(["query", str(credential_file), "-f", SIGNATURE, "--format", "jsonl"], capsys)
    rows = out.splitlines()
    assert rows and all(SIGNATURE not in row for row in rows)


def test_stats_top_lists_are_masked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.hostile import SIGNATURE

    line, _ = (
        CREDENTIAL_LINES["presigned_get"]
        if "presigned_get" in CREDENTIAL_LINES
        else next(iter(CREDENTIAL_LINES.values()))
    )
    path = tmp_path / "audit.log"
    path.write_text(line + "\n")
    for form in ("table", "json"):
        _, out, _ = run(["stats", str(path), "--format", form], capsys)
        assert SIGNATURE not in out
