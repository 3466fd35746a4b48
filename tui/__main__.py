"""Allow ``python -m tui``."""

from tui.entry import run

run()
