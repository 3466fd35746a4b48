"""The user's key remapping: ``~/.config/neptune-audit/keymap.toml``, binding id = "keys"."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from textual.binding import Binding
from textual.dom import DOMNode


def keymap_path() -> Path:
    """Where a user's key remapping lives (XDG config directory)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "neptune-audit" / "keymap.toml"


def read_keymap(path: Path | None = None) -> tuple[dict[str, str], str | None]:
    """The user's keymap (empty when there is none or it is unreadable) and what is wrong
    with the file, if anything, to tell the user."""
    path = path or keymap_path()
    try:
        loaded = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return {}, None
    except (OSError, ValueError, UnicodeDecodeError) as error:
        return {}, f"{path} was not used: {error}"
    keymap = {str(key): str(value) for key, value in loaded.items() if isinstance(value, str)}
    odd = sorted(str(key) for key, value in loaded.items() if not isinstance(value, str))
    problem = f'{path}: keys must be text, as in view.detail = "D" ({", ".join(odd)})'
    return keymap, problem if odd else None


def binding_ids() -> set[str]:
    """The ids of every key binding a keymap may name (ours and Textual's)."""
    found: set[str] = set()
    seen: set[type] = set()
    pending: list[type] = [DOMNode]
    while pending:
        cls = pending.pop()
        subclasses: list[type] = cls.__subclasses__()
        for sub in subclasses:
            if sub not in seen:
                seen.add(sub)
                pending.append(sub)
                for binding in sub.__dict__.get("BINDINGS", ()):
                    if isinstance(binding, Binding) and binding.id:
                        found.add(binding.id)
    return found
