"""The user's key remapping: ``~/.config/neptune-audit/keymap.toml``, binding id = "keys"."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path


def keymap_path() -> Path:
    """Where a user's key remapping lives (XDG config directory)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "neptune-audit" / "keymap.toml"


def load_keymap(path: Path | None = None) -> dict[str, str]:
    """The user's keymap, or an empty one when there is none or it is unreadable."""
    try:
        loaded = tomllib.loads((path or keymap_path()).read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    return {str(key): str(value) for key, value in loaded.items() if isinstance(value, str)}
