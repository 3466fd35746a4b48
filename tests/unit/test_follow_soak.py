"""The follow soak, short: ``query --follow`` against a writer that rotates its files every
way at once; every record written comes out exactly once, and gaps are reported exactly
where the writer overwrote records before they could be read. ``make soak`` runs every
scenario for longer at 20k records/s (``tests/perf/soak.py``)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.perf.soak import SCENARIOS, Scenario, failures, run_scenario

_BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}
_SHORT = [
    replace(_BY_NAME["combined"], copytruncate_every_s=0.3),
    replace(_BY_NAME["copytruncate slow copy"], prefill_records=60_000, copytruncate_every_s=1),
    _BY_NAME["copytruncate window, appending"],
    replace(_BY_NAME["copytruncate window, not appending"], copytruncate_every_s=0.5),
]


@pytest.mark.parametrize("scenario", _SHORT, ids=[scenario.name for scenario in _SHORT])
def test_every_record_comes_out_once(scenario: Scenario) -> None:
    figures = run_scenario(scenario, seconds=2.5, rate=4000, drain_s=60)
    assert figures.written > 5000 and figures.rotations >= 2
    assert failures(scenario, figures) == [], figures.line()
