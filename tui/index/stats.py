"""Summary counts over the index or a filtered part of it, straight from the columns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tui.index.index import Index
from tui.index.schema import AUTH_BY_NAME, KIND_MALFORMED, KIND_RECORD, LANG_NAMES

Bool = npt.NDArray[np.bool_]

TOP = 10


@dataclass(frozen=True)
class Stats:
    """What ``neptune-audit stats`` reports. Counts are most common first, ties by value;
    ``lines`` counts every physical line read, whatever the filter."""

    lines: int
    records: int
    malformed: int
    first_us: int | None
    last_us: int | None
    by_type: dict[str, int]
    by_lang: dict[str, int]
    by_auth: dict[str, int]
    top_clients: list[tuple[str, int]]
    top_users: list[tuple[str, int]]
    top_paths: list[tuple[str, int]]


def compute_stats(index: Index, mask: Bool | None = None, *, top: int = TOP) -> Stats:
    """Counts over the entries in ``mask`` (default: all)."""
    size = index.size if mask is None else len(mask)
    kind = index.column("kind")[:size]
    selected = np.ones(size, bool) if mask is None else mask
    records = selected & (kind == KIND_RECORD)
    times = index.column("epoch_us")[:size][records]

    def counts(column: str) -> dict[str, int]:
        codes = index.column(column)[:size][records]
        found = np.bincount(codes.astype(np.int64), minlength=1)
        values = index.tables[column].values
        pairs = [
            (str(values[code]), int(number))
            for code, number in enumerate(found.tolist())
            if number and values[code] is not None
        ]
        return dict(sorted(pairs, key=lambda pair: (-pair[1], pair[0])))

    def ranked(column: str) -> list[tuple[str, int]]:
        return list(counts(column).items())[:top]

    lang_codes = index.column("lang")[:size][records].astype(np.int64)
    lang_counts = np.bincount(lang_codes, minlength=len(LANG_NAMES))
    auth = index.column("auth")[:size][records]
    return Stats(
        lines=index.lines,
        records=int(np.count_nonzero(records)),
        malformed=int(np.count_nonzero(selected & (kind == KIND_MALFORMED))),
        first_us=int(times.min()) if len(times) else None,
        last_us=int(times.max()) if len(times) else None,
        by_type=counts("type"),
        by_lang={
            (LANG_NAMES[code] or "none"): int(lang_counts[code])
            for code in np.argsort(-lang_counts, kind="stable").tolist()
            if lang_counts[code]
        },
        by_auth={
            name: int(np.count_nonzero(auth == value)) for name, value in AUTH_BY_NAME.items()
        },
        top_clients=ranked("client"),
        top_users=ranked("principal"),
        top_paths=ranked("path"),
    )
