"""End to end: the installed ``neptune-audit`` command in a real pseudo-terminal.

The viewer runs as a separate process on the slave side of a pty; everything it writes is read
from the master side and fed to a ``pyte`` screen, and keystrokes are written to the master.

Textual sends a few terminal queries at start-up (DECRQM ``CSI ?2026$p`` and ``CSI ?2048$p``,
plus the kitty keyboard ``CSI >25u``) but never waits for the answers, so nothing here replies:
the tests passing without replies is the check that the app does not block on them.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pyte
import pytest

ROWS = 30
COLS = 110
RECORDS = 2000
SEED = 9
LANGUAGES = ("gremlin", "sparql", "cypher")
ENTER_ALTERNATE_SCREEN = b"\x1b[?1049h"
LEAVE_ALTERNATE_SCREEN = b"\x1b[?1049l"

Display = list[str]


def command() -> Path:
    """The console script installed next to the running interpreter."""
    script = Path(sys.executable).with_name("neptune-audit")
    assert script.exists(), f"{script} is missing: install the package (pip install -e .)"
    return script


class Terminal:
    """A process running in a pseudo-terminal, with its output rendered on a pyte screen."""

    def __init__(self, args: list[str], env: dict[str, str], rows: int, cols: int) -> None:
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        master, slave = os.openpty()
        self.master = master
        try:
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            self.process = subprocess.Popen(
                args,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                start_new_session=True,
                env=env,
            )
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        self.reader = threading.Thread(target=self._read, name="pty-reader", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        """Feed the master's output to the screen until the slave side is gone."""
        while not self.stopping.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:  # EIO: every process holding the slave has exited
                return
            if not data:
                return
            with self.lock:
                self.raw.extend(data)
                self.stream.feed(data)

    def display(self) -> Display:
        """The screen's text, one string per row."""
        with self.lock:
            return list(self.screen.display)

    def colours(self, first: int, stop: int) -> list[tuple[str, str]]:
        """(foreground, background) of every cell in rows ``first`` up to ``stop``."""
        with self.lock:
            return [
                (self.screen.buffer[y][x].fg, self.screen.buffer[y][x].bg)
                for y in range(first, stop)
                for x in range(self.screen.columns)
            ]

    def output(self) -> bytes:
        """Every byte the process has written so far."""
        with self.lock:
            return bytes(self.raw)

    def write(self, keys: bytes) -> None:
        """Type ``keys`` into the terminal."""
        os.write(self.master, keys)

    def wait_for(
        self, predicate: Callable[[Display], bool], timeout: float, what: str = "condition"
    ) -> Display:
        """Poll the screen until ``predicate`` holds for it; returns that screen's text."""
        deadline = time.monotonic() + timeout
        while True:
            shown = self.display()
            if predicate(shown):
                return shown
            if time.monotonic() >= deadline:
                status = self.process.poll()
                running = "still running" if status is None else f"exited with {status}"
                pytest.fail(
                    f"timed out after {timeout:.0f}s waiting for {what} (process {running}); "
                    f"screen:\n{render(shown)}"
                )
            time.sleep(0.05)

    def wait_exit(self, timeout: float) -> int:
        """Wait for the process to end, then for the reader to drain the remaining output."""
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(
                f"the process did not exit within {timeout:.0f}s; screen:\n{render(self.display())}"
            )
        self.reader.join(5)
        return code

    def close(self) -> None:
        """Kill the whole process group (if still running) and release the pty."""
        try:
            if self.process.poll() is None:
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.process.wait(5)
        finally:
            self.stopping.set()
            self.reader.join(5)
            os.close(self.master)


def render(display: Display) -> str:
    """A screen's text with row numbers, for failure messages."""
    return "\n".join(f"{row:2}|{line}|" for row, line in enumerate(display))


def border_row(display: Display) -> int:
    """The row of the detail pane's top border (the table ends above it); -1 if not shown."""
    for row, line in enumerate(display):
        if row > 1 and line.strip() and set(line.strip()) == {"─"}:
            return row
    return -1


def header_row(display: Display) -> int:
    """The row of the table's header (under the status line and the timeline); -1 if none."""
    for row in range(1, min(4, len(display))):
        if "TIME (UTC)" in display[row] and "QUERY" in display[row]:
            return row
    return -1


def table_rows(display: Display) -> list[str]:
    """The non-empty table rows: below the header, above the detail pane's border."""
    end = border_row(display)
    start = header_row(display)
    if end < 0 or start < 0:
        return []
    return [line for line in display[start + 1 : end] if line.strip()]


def header_shown(display: Display) -> bool:
    return header_row(display) >= 0


def is_grey(colour: str) -> bool:
    """Whether a pyte colour is the terminal default or a shade of grey (r == g == b)."""
    if colour == "default":
        return True
    return bool(re.fullmatch(r"[0-9a-fA-F]{6}", colour)) and (
        colour[0:2] == colour[2:4] == colour[4:6]
    )


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """Sample logs written by the installed command; returns the directory and its file count."""
    directory = tmp_path_factory.mktemp("e2e") / "logs"
    written = subprocess.run(
        [
            str(command()),
            "demo",
            "--write",
            str(directory),
            "--records",
            str(RECORDS),
            "--seed",
            str(SEED),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert written.returncode == 0, written.stderr
    found = re.search(r"in (\d+) files", written.stdout)
    assert found, written.stdout
    return directory, int(found.group(1))


def terminal_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES")
        and not key.startswith("TEXTUAL")
    }
    env.update(
        TERM="xterm-256color",
        COLORTERM="truecolor",
        TZ="UTC",
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
    )
    env.update(extra)
    return env


@pytest.fixture
def viewer_factory(
    sample_dir: tuple[Path, int], tmp_path: Path
) -> Iterator[Callable[[dict[str, str]], Terminal]]:
    """Starts ``neptune-audit view`` on the sample; every process started is killed at the end."""
    started: list[Terminal] = []

    def start(extra_env: dict[str, str]) -> Terminal:
        directory, _ = sample_dir
        terminal = Terminal(
            [str(command()), "view", str(directory)],
            terminal_env(tmp_path, **extra_env),
            ROWS,
            COLS,
        )
        started.append(terminal)
        return terminal

    try:
        yield start
    finally:
        for terminal in started:
            terminal.close()


def loaded(files: int) -> Callable[[Display], bool]:
    """The whole sample is indexed and its records fill the table."""

    def check(display: Display) -> bool:
        rows = table_rows(display)
        typed = [row for row in rows if any(lang in row for lang in LANGUAGES)]
        return (
            f"{files} files" in display[0]
            and f"{RECORDS:,} records" in display[0]
            and header_shown(display)
            and len(typed) >= 5
            and any("gremlin" in row or "cypher" in row for row in typed)
        )

    return check


@pytest.mark.e2e
def test_view_filter_and_quit(
    viewer_factory: Callable[[dict[str, str]], Terminal], sample_dir: tuple[Path, int]
) -> None:
    _, files = sample_dir
    terminal = viewer_factory({})
    before = terminal.wait_for(loaded(files), 15, "the records to be shown")
    assert "files" in before[0] and "records" in before[0]

    # Colours are really on here, which is what makes the NO_COLOR test's check meaningful.
    table_colours = terminal.colours(1, border_row(before))
    assert not all(is_grey(fg) and is_grey(bg) for fg, bg in table_colours)

    terminal.write(b"/")
    terminal.wait_for(
        lambda d: any(line.startswith("filter") for line in d[border_row(d) :]),
        5,
        "the filter bar to open",
    )
    terminal.write(b"lang:sparql")
    terminal.wait_for(
        lambda d: any("lang:sparql" in line for line in d[border_row(d) :]),
        5,
        "the typed filter to be echoed",
    )
    terminal.write(b"\r")

    def filtered(display: Display) -> bool:
        rows = table_rows(display)
        return (
            "filter lang:sparql" in display[0]
            and header_shown(display)
            and len(rows) >= 5
            and all("sparql" in row for row in rows)
        )

    after = terminal.wait_for(filtered, 10, "the table to show only SPARQL records")
    assert table_rows(after) != table_rows(before)
    assert any("gremlin" in row or "cypher" in row for row in table_rows(before))

    terminal.write(b"q")
    assert terminal.wait_exit(10) == 0
    raw = terminal.output()
    assert ENTER_ALTERNATE_SCREEN in raw
    last_enter = raw.rfind(ENTER_ALTERNATE_SCREEN)
    assert raw.rfind(LEAVE_ALTERNATE_SCREEN) > last_enter, "the alternate screen was not left"
    assert LEAVE_ALTERNATE_SCREEN in raw[-512:], f"output ends with {raw[-512:]!r}"


@pytest.mark.e2e
def test_no_color_still_shows_records(
    viewer_factory: Callable[[dict[str, str]], Terminal], sample_dir: tuple[Path, int]
) -> None:
    _, files = sample_dir
    terminal = viewer_factory({"NO_COLOR": "1"})
    shown = terminal.wait_for(loaded(files), 15, "the records to be shown")

    # Textual honours NO_COLOR with its Monochrome filter: every colour becomes a truecolor
    # grey rather than the terminal's default colour, so "no colour" is checked as "no hue".
    table_colours = terminal.colours(1, border_row(shown))
    hued = sorted({colour for cell in table_colours for colour in cell if not is_grey(colour)})
    assert not hued, f"colours in the table with NO_COLOR set: {hued}"

    terminal.write(b"q")
    assert terminal.wait_exit(10) == 0


@pytest.mark.e2e
def test_follow_shows_records_written_by_another_process(tmp_path: Path) -> None:
    """``view --follow`` on a file that a background writer appends to: each new record is
    on screen within 2 s of being written."""
    log = tmp_path / "logs" / "audit.log"
    log.parent.mkdir()
    base = 1795500000000

    def line(n: int) -> str:
        return (
            f"{base + n}, 10.4.4.{n}:40000, 10.0.3.215:8182, Bolt, [unknown], [unknown], "
            f"[unknown], RETURN 'marker-{n}'\n"
        )

    log.write_text("".join(line(n) for n in range(5)))
    terminal = Terminal(
        [str(command()), "view", "--follow", str(log.parent)],
        terminal_env(tmp_path),
        ROWS,
        COLS,
    )
    try:
        terminal.wait_for(lambda d: any("marker-4" in row for row in d), 15, "the first records")
        for n in range(5, 10):
            written = time.monotonic()
            with log.open("a") as handle:
                handle.write(line(n))
            marker = f"marker-{n}"

            def shown(display: Display, marker: str = marker) -> bool:
                return any(marker in row for row in table_rows(display))

            terminal.wait_for(shown, 2.0, f"record {n} to appear within 2 s")
            assert time.monotonic() - written < 2.0
        display = terminal.display()
        assert "following" in display[0]
        terminal.write(b"q")
        assert terminal.wait_exit(10) == 0
    finally:
        terminal.close()


@pytest.mark.e2e
def test_the_viewer_reads_logs_from_standard_input_and_keys_from_the_terminal(
    tmp_path: Path,
) -> None:
    base = 1795500000000
    lines = "".join(
        f"{base + n}, 10.4.4.{n}:40000, 10.0.3.215:8182, Bolt, [unknown], [unknown], "
        f"[unknown], MATCH (n) RETURN 'piped-{n}'\n"
        for n in range(40)
    )
    log = tmp_path / "audit.log"
    log.write_text(lines)
    terminal = Terminal(
        ["bash", "-c", f"cat {log} | {command()} view -"], terminal_env(tmp_path), ROWS, COLS
    )
    try:
        terminal.wait_for(
            lambda d: (
                "40 records" in d[0]
                and any("10.4.4.0 " in row for row in d)
                and any("<stdin>" in row for row in d)
            ),  # the source, in the detail pane
            15,
            "the piped records",
        )
        terminal.write(b"G")  # keys come from the terminal, not from the pipe
        terminal.wait_for(lambda d: any("10.4.4.39" in row for row in d), 5, "the last record")
        terminal.write(b"q")
        assert terminal.wait_exit(10) == 0
    finally:
        terminal.close()


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


@pytest.mark.e2e
def test_a_five_megabyte_query_opens_and_q_quits_at_once(tmp_path: Path) -> None:
    """A 5 MB Gremlin script among ordinary records: moving onto it shows the start of its
    detail, the viewer stays under 300 MB, and q quits within 2 s."""
    log = tmp_path / "logs" / "audit.log"
    log.parent.mkdir()
    base = 1795500000000
    lines = [
        f"{base + n}, 10.4.4.{n % 200}:40000, 10.0.3.215:8182, Bolt, [unknown], [unknown], "
        f"[unknown], MATCH (n) RETURN 'ordinary-{n}'\n"
        for n in range(300)
    ]
    script = "g.V()" + ".out()" * 830_000
    lines.append(
        f"{base + 1000}, 10.4.5.5:40001, 10.0.3.215:8182, Websocket, [unknown], [unknown], "
        f"[unknown], \"RequestMessage{{, requestId=big, op='eval', processor='', "
        f'args={{gremlin={script}, aliases={{g=g}}}}}}"\n'
    )
    log.write_text("".join(lines))
    assert log.stat().st_size > 5_000_000
    terminal = Terminal([str(command()), "view", str(log.parent)], terminal_env(tmp_path), 60, COLS)
    try:
        terminal.wait_for(
            lambda d: "301 records" in d[0] and header_shown(d), 15, "the records to be shown"
        )
        terminal.write(b"G")  # the big one is the newest
        terminal.wait_for(
            lambda d: (
                any("Query · gremlin" in line for line in d)
                and any("g.V().out().out()" in line for line in d[border_row(d) :])
            ),
            10,
            "the start of the big query in the detail",
        )
        assert peak_rss_mb(terminal.process.pid) < 300
        started = time.monotonic()
        terminal.write(b"q")
        assert terminal.wait_exit(5) == 0
        assert time.monotonic() - started < 2.0
    finally:
        terminal.close()


@pytest.mark.e2e
def test_a_hung_up_terminal_leaves_no_temporary_files(tmp_path: Path) -> None:
    """A dropped SSH session hangs the terminal up: the demo's sample logs (and any
    temporary copy) are removed on the way out, as when quitting with q."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = terminal_env(tmp_path, TMPDIR=str(temporary))
    terminal = Terminal([str(command()), "demo", "--records", "500"], env, ROWS, COLS)
    try:
        terminal.wait_for(lambda shown: "following" in shown[0], 15, "the demo to load")
        assert [path.name[:19] for path in temporary.iterdir()] == ["neptune-audit-demo-"]
        terminal.process.send_signal(signal.SIGHUP)
        terminal.wait_exit(10)
        assert list(temporary.iterdir()) == []
    finally:
        terminal.close()
