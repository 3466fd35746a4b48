"""The process entry of ``neptune-audit`` and ``python -m tui``: the command line, started
for a short-lived process."""

from __future__ import annotations

import gc
import os
import signal

#: OpenBLAS starts a pool of threads when numpy is imported; nothing here does linear
#: algebra, and the pool doubles the CPU time of a short run. A user's setting stands.
_BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "1")
#: numpy asks Linux for 2 MB pages for its big arrays. The index's columns end part-way into
#: their last such page, and a scanner's temporaries are rounded up to them: 20 MB more at
#: the peak of a 1 GB load (205 -> 186 MiB without), for about 20 ms less of a re-open.
_HUGE_PAGES = ("NUMPY_MADVISE_HUGEPAGE", "0")
#: What the command sets in its environment unless the user did (benchmarks that drive the
#: viewer in their own process set the same, to measure what a user runs).
ENVIRONMENT = (_BLAS_THREADS, _HUGE_PAGES)


def run() -> None:
    """Run the command line and exit with its code.

    Importing builds many long-lived objects and no garbage, so the cyclic collector is
    off meanwhile (it would walk them all several times); at the end everything alive is
    frozen, so exiting does not walk it once more. Together about 30 ms of a 0.27 s start.
    """
    for name, value in ENVIRONMENT:
        os.environ.setdefault(name, value)
    if hasattr(signal, "SIGHUP"):  # (not on Windows)
        signal.signal(signal.SIGHUP, _hung_up)
    gc.disable()
    try:
        from tui.cli.main import main
    finally:
        gc.enable()
    try:
        code = main()
    finally:
        gc.freeze()
    raise SystemExit(code)


def _hung_up(signum: int, frame: object) -> None:
    """The terminal went away (an SSH session dropped): end as if interrupted, so that
    temporary files and directories are removed on the way out."""
    raise SystemExit(128 + signum)
