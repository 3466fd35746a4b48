"""The headless front end: argument parsing and dispatch, the AWS commands, export writers."""

from tui.cli.main import main

__all__ = ["main"]
