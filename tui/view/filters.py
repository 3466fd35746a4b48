"""The viewer's filter: what the user typed, the quick filters and the probe toggle, as trees.

The typed text is parsed once, when it is set. Quick filters (``=``/``-`` on a record's
value) and the health-probe toggle are tree nodes built from values, never text glued
together; ``combined`` is what the index evaluates. To edit, the filter bar gets the typed
text with the quick filters written after it (``editable_text``), and what comes back
replaces both.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tui.query import MatchAll, Node, Span, parse_filter
from tui.query.ast import FieldMatch, Not, TimeBound
from tui.query.format import NO_SPAN, all_of, field_term, format_filter

#: Hides health probes: ``-path:/status``.
PROBES: Node = Not(FieldMatch("path", "contains", "/status", None, NO_SPAN), NO_SPAN)


@dataclass(frozen=True)
class ViewFilter:
    """The filter the viewer applies (immutable; each change makes a new one)."""

    text: str = ""
    node: Node = MatchAll(Span(0, 0))
    quick: tuple[Node, ...] = ()
    hide_probes: bool = False
    only: frozenset[int] | None = None  # only these entries (the marked ones), when set

    @classmethod
    def parse(cls, text: str, *, hide_probes: bool = False) -> ViewFilter:
        """A filter from typed text (raises FilterError)."""
        return cls(text.strip(), parse_filter(text), (), hide_probes)

    def with_text(self, text: str) -> ViewFilter:
        """The typed text replaced (and with it the quick filters it now contains)."""
        return replace(ViewFilter.parse(text, hide_probes=self.hide_probes), only=self.only)

    def with_terms(
        self, terms: tuple[tuple[str, str], ...], *, exclude: bool = False
    ) -> ViewFilter:
        """Only (or all but) the records where every ``field`` equals its ``value``."""
        node = all_of([field_term(field, value) for field, value in terms])
        return replace(self, quick=(*self.quick, Not(node, NO_SPAN) if exclude else node))

    def with_time_range(self, start_us: int, end_us: int) -> ViewFilter:
        """Only the records at or after ``start_us`` and before ``end_us``."""
        span = (TimeBound("after", start_us, NO_SPAN), TimeBound("before", end_us, NO_SPAN))
        return replace(self, quick=(*self.quick, *span))

    def with_only(self, entries: frozenset[int] | None) -> ViewFilter:
        """Only these entries (None: all that the rest keeps)."""
        return replace(self, only=entries)

    def with_probes_hidden(self, hidden: bool) -> ViewFilter:
        """The probe toggle set."""
        return replace(self, hide_probes=hidden)

    def with_quick(self, field: str, value: str, *, exclude: bool) -> ViewFilter:
        """Only (or all but) the records whose ``field`` equals ``value``."""
        return replace(self, quick=(*self.quick, field_term(field, value, exclude=exclude)))

    def cleared(self) -> ViewFilter:
        """No filter at all."""
        return ViewFilter()

    def preview(self, text: str) -> Node:
        """What applying ``text`` from the filter bar would evaluate (raises FilterError)."""
        return all_of([parse_filter(text), *self._probes()])

    @property
    def combined(self) -> Node:
        """The tree the index evaluates."""
        return all_of([self.node, *self.quick, *self._probes()])

    @property
    def active(self) -> bool:
        """Whether anything is filtered out."""
        return self.only is not None or not isinstance(self.combined, MatchAll)

    @property
    def editable_text(self) -> str:
        """The typed text and the quick filters, as the filter bar shows them to edit."""
        return format_filter(all_of([self.node, *self.quick])) if self.quick else self.text

    def describe(self) -> str:
        """One line for the status: the typed text, then quick filters and the probe toggle."""
        parts = [self.editable_text] if self.editable_text else []
        if self.hide_probes:
            parts.append("(probes hidden)")
        if self.only is not None:
            parts.append("(marked only)")
        return " ".join(parts)

    def _probes(self) -> tuple[Node, ...]:
        return (PROBES,) if self.hide_probes else ()
