"""Errors a filter expression can produce, with the position a user needs to fix it."""

from __future__ import annotations


class FilterError(ValueError):
    """A filter expression that cannot be parsed or evaluated.

    ``position`` is the 0-based character offset of the problem in ``text``, and
    ``expected`` says what would have been valid there, so a UI can underline the spot.
    """

    def __init__(self, message: str, *, text: str, position: int, expected: str = "") -> None:
        self.message = message
        self.text = text
        self.position = max(0, min(position, len(text)))
        self.expected = expected
        super().__init__(self.describe())

    def describe(self) -> str:
        """One line: ``column N: message (expected ...)`` with a 1-based column."""
        detail = f" (expected {self.expected})" if self.expected else ""
        return f"column {self.position + 1}: {self.message}{detail}"

    def caret(self) -> str:
        """Two lines: the expression and a caret under the offending position."""
        return f"{self.text}\n{' ' * self.position}^"
