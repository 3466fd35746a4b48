"""The compiled Insights query against the reference predicate, on generated lines and filters.

For any filter and any lines: the events Insights keeps with the *possible* condition hold
every local match (so the re-check here loses nothing), those kept with the *sure* condition
are all local matches (so counting them in AWS is right), and a filter the compiler calls
exact keeps exactly the local matches.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.aws.insights_data import (
    compiled_for,
    events_of,
    filters,
    insights_matches,
    lines,
    local_matches,
    newest_record_us,
)

EXAMPLES = int(os.environ.get("INSIGHTS_PROPERTY_EXAMPLES", "120"))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(text=filters(), generated=st.lists(lines(), min_size=1, max_size=25))
def test_insights_keeps_every_match_and_only_matches_for_sure(
    text: str, generated: list[object]
) -> None:
    from tests.aws.insights_data import Line

    assert all(isinstance(line, Line) for line in generated)
    batch = [line for line in generated if isinstance(line, Line)]
    newest = newest_record_us(batch)
    node, compiled = compiled_for(text, newest)
    events = events_of(batch)
    local = local_matches(node, batch, newest)
    possible = insights_matches(compiled, events, "possible")
    sure = insights_matches(compiled, events, "sure")
    missing = local - possible
    assert not missing, (text, [batch[i].message for i in missing])
    wrong = sure - local
    assert not wrong, (text, [batch[i].message for i in wrong])
    if compiled.exact:
        assert possible == local, text
