"""Follow soak: a writer appends records with unique ids while its files rotate, and
``neptune-audit query --follow`` prints them; every id written must come out exactly once.

One thread writes (at ``rate`` records/s, in batches every 10 ms) and rotates, like a
logging process and logrotate would: rename rotation, copy-truncate (the copy chasing the
growing file at a chosen speed, the truncation at once after it, or after a window of
records that no reader can be sure to see), lines written in two parts, new files. The
follower is the real command, as a subprocess. Records written in such a window are "at
risk": the only ones allowed to be missing, and only with a gap reported when the writer
does not append (its zeros measure what was lost).

``make soak`` runs every scenario at 20k records/s; the suite runs short ones
(``tests/unit/test_follow_soak.py``). ``python tests/perf/soak.py --seconds 20 --rate 20000``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np

BASE_MS = 1795500000000
_ID = re.compile(r"RETURN n(-?\d+) ")


def record(number: int) -> bytes:
    """A Bolt record of about 200 bytes whose time and query carry ``number``."""
    return (
        f"{BASE_MS + number}, 10.0.{number // 250 % 250}.{number % 250}:40000, "
        f"10.0.3.215:8182, Bolt, [unknown], [unknown], [unknown], MATCH (n:person) WHERE "
        f"n.name STARTS WITH 'soak-test-padding-padding-padding' RETURN n{number} LIMIT 10\n"
    ).encode()


@dataclass(frozen=True)
class Scenario:
    """What the writer does besides appending."""

    name: str
    rename_every_s: float = 0.0
    copytruncate_every_s: float = 0.0
    copy_bytes_per_s: float = 0.0  # 0: the copy is made at once
    window_records: int = 0  # records written between the copy and the truncation
    partial_lines: bool = False
    new_file_every_s: float = 0.0
    append: bool = True  # O_APPEND; else the writer keeps its offset (zeros after a truncate)
    prefill_records: int = 0  # records in the file before following starts


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("rename", rename_every_s=0.5),
    Scenario("copytruncate 1s", copytruncate_every_s=1.0),
    Scenario("copytruncate 0.2s", copytruncate_every_s=0.2),
    Scenario(  # a 300k-record file whose copy takes about a second
        "copytruncate slow copy",
        copytruncate_every_s=1.5,
        copy_bytes_per_s=60e6,
        prefill_records=300_000,
    ),
    Scenario("partial lines", partial_lines=True),
    Scenario("new files", new_file_every_s=0.3),
    Scenario(
        "combined",
        rename_every_s=0.9,
        copytruncate_every_s=0.4,
        copy_bytes_per_s=20e6,
        partial_lines=True,
        new_file_every_s=0.7,
    ),
    Scenario("copytruncate window, appending", copytruncate_every_s=0.5, window_records=20),
    Scenario(  # every copy holds the zeros too: rotations are rarer
        "copytruncate window, not appending",
        copytruncate_every_s=1.0,
        window_records=20,
        append=False,
    ),
)


@dataclass
class Figures:
    """What came out of one run."""

    scenario: str
    written: int = 0
    emitted: int = 0
    lost: int = 0  # written, not at risk, never printed
    duplicated: int = 0
    at_risk: int = 0
    at_risk_lost: int = 0
    at_risk_lost_bytes: int = 0
    gaps: int = 0
    gap_bytes: int = 0
    malformed: int = 0  # malformed entries other than gap notes
    rotations: int = 0
    events: list[str] = field(default_factory=list)
    lost_ids: list[int] = field(default_factory=list)  # the first few, to look into
    caught_up_s: float = 0.0  # from the writer's end until everything was printed

    def line(self) -> str:
        """One line for a report."""
        return (
            f"{self.scenario:36} written {self.written:>8,}  emitted {self.emitted:>8,}  "
            f"lost {self.lost:>4}  duplicated {self.duplicated:>4}  at risk {self.at_risk:>4} "
            f"(lost {self.at_risk_lost:>3}, {self.at_risk_lost_bytes:,} B)  "
            f"gaps {self.gaps:>3} ({self.gap_bytes:,} B)  "
            f"malformed {self.malformed}  rotations {self.rotations}  "
            f"caught up {self.caught_up_s:.1f} s after the writer stopped"
        )


class _Writer:
    """Appends records to the files of one directory and rotates them."""

    def __init__(self, directory: Path, scenario: Scenario, rate: float, seed: int) -> None:
        self.directory = directory
        self.scenario = scenario
        self.rate = rate
        self.rng = np.random.default_rng(seed)
        self.next_id = 1
        self.written: list[int] = []
        self.at_risk: set[int] = set()
        self.rotations = 0
        self.files: list[Path] = [directory / "audit.log"]
        self.handles: dict[Path, IO[bytes]] = {}
        self.carry: dict[Path, bytes] = {}  # the second part of a line written in two
        self.copies = 0
        for path in self.files:
            self._open(path)

    def _open(self, path: Path) -> None:
        if self.scenario.append:
            self.handles[path] = open(path, "ab", buffering=0)  # noqa: SIM115
        else:
            path.touch()
            handle = open(path, "r+b", buffering=0)  # noqa: SIM115
            handle.seek(0, os.SEEK_END)
            self.handles[path] = handle

    def records(self, count: int) -> bytes:
        numbers = range(self.next_id, self.next_id + count)
        self.next_id += count
        self.written.extend(numbers)
        return b"".join(record(n) for n in numbers)

    def write(self, path: Path, data: bytes) -> None:
        self.handles[path].write(data)

    def batch(self, count: int) -> None:
        """``count`` records spread over the files; with partial lines, each file's batch
        ends in the middle of a line, finished by the next batch."""
        shares = np.array_split(np.arange(count), len(self.files))
        for path, share in zip(self.files, shares, strict=True):
            data = self.carry.pop(path, b"") + self.records(len(share))
            if self.scenario.partial_lines and len(data) > 2:
                cut = int(self.rng.integers(1, len(data) - 1))
                data, self.carry[path] = data[:cut], data[cut:]
            self.write(path, data)

    def finish_lines(self) -> None:
        for path in list(self.carry):
            self.write(path, self.carry.pop(path))

    def rename(self) -> None:
        self.finish_lines()
        path = self.files[0]
        self.handles.pop(path).close()
        self.rotations += 1
        path.rename(path.with_name(f"{path.name}.r{self.rotations}"))
        self._open(path)

    def copytruncate(self, count_per_tick: int) -> None:
        """Copy the first file (chasing it while records keep coming), then truncate it."""
        self.finish_lines()
        path = self.files[0]
        self.copies += 1
        copy = path.with_name(f"{path.name}.c{self.copies}")
        speed = self.scenario.copy_bytes_per_s
        with open(path, "rb") as source, open(copy, "wb") as target:
            step = int(speed / 100) if speed else 1 << 24
            while chunk := source.read(step):
                target.write(chunk)
                if speed and len(chunk) == step:  # a slow copy: the writer keeps going
                    started = time.monotonic()
                    self.batch(count_per_tick)
                    self.finish_lines()
                    time.sleep(max(0.0, 0.01 - (time.monotonic() - started)))
        if self.scenario.window_records:
            first = self.next_id
            window = self.records(self.scenario.window_records)
            self.write(path, window)
            self.at_risk.update(range(first, self.next_id))
        os.truncate(path, 0)
        self.rotations += 1

    def new_file(self) -> None:
        self.finish_lines()
        instance = self.directory / f"db-{len(self.files)}"
        instance.mkdir(exist_ok=True)
        path = instance / "audit.log"
        self.files.append(path)
        self._open(path)

    def run(self, seconds: float) -> None:
        scenario = self.scenario
        per_tick = max(1, round(self.rate / 100))
        started = time.monotonic()
        due = {"rename": 0.0, "copytruncate": 0.0, "new": 0.0}
        while (now := time.monotonic() - started) < seconds:
            tick = time.monotonic()
            self.batch(per_tick)
            if scenario.rename_every_s and now - due["rename"] >= scenario.rename_every_s:
                due["rename"] = now
                self.rename()
            if scenario.copytruncate_every_s and (
                now - due["copytruncate"] >= scenario.copytruncate_every_s
            ):
                self.copytruncate(per_tick)
                due["copytruncate"] = time.monotonic() - started
            if scenario.new_file_every_s and now - due["new"] >= scenario.new_file_every_s:
                due["new"] = now
                self.new_file()
            time.sleep(max(0.0, 0.01 - (time.monotonic() - tick)))
        self.batch(per_tick)  # a writer goes on after a rotation
        self.finish_lines()
        for handle in self.handles.values():
            handle.close()


def _command() -> list[str]:
    return [sys.executable, "-m", "tui"]


def run_scenario(
    scenario: Scenario,
    *,
    seconds: float,
    rate: float,
    seed: int = 1,
    directory: Path | None = None,
    drain_s: float = 180.0,
) -> Figures:
    """Write for ``seconds`` while ``query --follow`` prints; count ids in and out."""
    owned = directory is None
    root = Path(tempfile.mkdtemp(prefix="neptune-audit-soak-")) if directory is None else directory
    try:
        return _run(scenario, root, seconds, rate, seed, drain_s)
    finally:
        if owned:
            shutil.rmtree(root, ignore_errors=True)


def _run(
    scenario: Scenario, root: Path, seconds: float, rate: float, seed: int, drain_s: float
) -> Figures:
    log = root / "audit.log"
    with log.open("wb") as handle:
        for start in range(0, scenario.prefill_records, 10_000):
            count = min(10_000, scenario.prefill_records - start)
            handle.write(b"".join(record(-(start + i) - 2) for i in range(count)))
        handle.write(record(0))  # the sentinel: printed once the follower runs
    process = subprocess.Popen(
        [*_command(), "query", str(root), "--follow", "--format", "jsonl", "--backlog", "1",
         "--malformed"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TZ": "UTC"},
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    emitted: Counter[int] = Counter()
    malformed: list[dict[str, object]] = []
    errors: list[str] = []
    started = threading.Event()

    def read_out() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            row = json.loads(line)
            if row.get("malformed"):
                malformed.append(row)
                continue
            match = _ID.search(str(row["payload"]))
            assert match is not None, row
            number = int(match[1])
            if number == 0:
                started.set()
            else:
                emitted[number] += 1

    def read_err() -> None:
        assert process.stderr is not None
        errors.extend(line.rstrip("\n") for line in process.stderr)

    readers = [threading.Thread(target=read_out), threading.Thread(target=read_err)]
    for thread in readers:
        thread.start()
    try:
        if not started.wait(30):
            raise RuntimeError(f"the follower did not start: {errors}")
        writer = _Writer(root, scenario, rate, seed)
        writer.run(seconds)
        expected = set(writer.written) - writer.at_risk
        stopped = time.monotonic()
        deadline = stopped + drain_s
        while time.monotonic() < deadline and not expected <= emitted.keys():
            time.sleep(0.1)
        caught_up_s = time.monotonic() - stopped
        time.sleep(0.5)  # anything duplicated late comes out too
        if not scenario.append:  # gaps are reported after a grace period
            lost = sum(len(record(n)) for n in writer.at_risk - emitted.keys())
            while time.monotonic() < deadline and _gap_bytes(errors) < lost:
                time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        for thread in readers:
            thread.join()
    written = set(writer.written)
    gap_notes = [row for row in malformed if "overwritten before" in str(row["error"])]
    gap_lines = [line for line in errors if "overwritten before" in line]
    figures = Figures(
        scenario=scenario.name,
        written=len(written),
        emitted=sum(emitted.values()),
        lost=len(written - writer.at_risk - emitted.keys()),
        duplicated=sum(count - 1 for count in emitted.values() if count > 1),
        at_risk=len(writer.at_risk),
        at_risk_lost=len(writer.at_risk - emitted.keys()),
        at_risk_lost_bytes=sum(len(record(n)) for n in writer.at_risk - emitted.keys()),
        gaps=len(gap_lines),
        gap_bytes=_gap_bytes(gap_lines),
        malformed=len(malformed) - len(gap_notes),
        rotations=writer.rotations,
        events=errors,
        lost_ids=sorted(written - writer.at_risk - emitted.keys())[:20],
        caught_up_s=caught_up_s,
    )
    stray = emitted.keys() - written
    if stray:
        raise AssertionError(f"ids never written came out: {sorted(stray)[:10]}")
    return figures


_GAP_BYTES = re.compile(r": ([0-9,]+) bytes .* overwritten before")


def _gap_bytes(lines: list[str]) -> int:
    """Bytes the follower reported lost, from its messages."""
    found = (_GAP_BYTES.search(line) for line in list(lines))
    return sum(int(match[1].replace(",", "")) for match in found if match)


def failures(scenario: Scenario, figures: Figures) -> list[str]:
    """What is wrong with a run: records lost (other than those overwritten before any
    read) or repeated, broken records, gaps that do not match what was overwritten."""
    wrong = []
    if figures.lost or figures.duplicated or figures.malformed:
        wrong.append("records lost, repeated or broken")
    if scenario.append and figures.gaps:
        wrong.append("gaps reported where nothing was measurably lost")
    if not scenario.append and figures.gap_bytes != figures.at_risk_lost_bytes:
        wrong.append(
            f"gaps of {figures.gap_bytes:,} bytes reported, {figures.at_risk_lost_bytes:,} lost"
        )
    return wrong


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=20_000.0)
    parser.add_argument("--only", help="run the scenarios whose name contains this")
    args = parser.parse_args()
    failed = False
    for scenario in SCENARIOS:
        if args.only and args.only not in scenario.name:
            continue
        figures = run_scenario(scenario, seconds=args.seconds, rate=args.rate)
        print(figures.line(), flush=True)
        bad = failures(scenario, figures)
        if bad:
            failed = True
            print("   ", "; ".join(bad))
            for event in figures.events[-20:]:
                print("   ", event)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
