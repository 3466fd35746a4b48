"""Styles as drawn: under ``NO_COLOR`` colours become greys of little contrast (red on a
dark background nearly vanishes), so what a colour said is said by weight instead."""

from __future__ import annotations

from rich.style import Style


def ink(style: Style | str, no_color: bool) -> Style:
    """``style``, or without ``NO_COLOR``'s greys: its colours dropped, a coloured piece
    bold, and nothing dimmed."""
    parsed = Style.parse(style) if isinstance(style, str) else style
    if not no_color:
        return parsed
    coloured = parsed.color is not None or parsed.bgcolor is not None
    return Style(
        bold=True if coloured or parsed.bold else None,
        italic=parsed.italic,
        underline=parsed.underline,
        reverse=parsed.reverse,
    )
