"""The viewer's boundaries fed the hostile corpus: the table, the detail (parsed and raw), the
status line, the quick-filter dialog and notifications never show a control or invisible
character; credentials are masked on screen and in copies until revealed (after a yes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from tests.hostile import CREDENTIAL_LINES, HOSTILE_LINES
from tests.ui.conftest import make_app, settle, wait_ready
from tests.ui.test_app import detail_text, table_text
from tui.model.text import ESCAPED
from tui.ui.app import NeptuneAuditApp
from tui.ui.screens import ConfirmScreen, QuickFilterScreen


def leaked(text: str) -> set[str]:
    return {f"U+{ord(char):04X}" for char in text if ord(char) in ESCAPED and char != "\n"}


def screen_text(app: NeptuneAuditApp) -> str:
    """Everything the current screen's Static widgets show."""
    return "\n".join(str(widget.content) for widget in app.screen.query(Static))


async def test_hostile_records_show_inert_everywhere(tmp_path: Path, state_home: Path) -> None:
    (tmp_path / "audit.log").write_text("".join(line + "\n" for line in HOSTILE_LINES.values()))
    app = make_app(tmp_path)
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_ready(app)
        for row in range(0, len(app.view.ids), 7):
            app.table.move_to(row)
            await settle(app)
            for text in (table_text(app), detail_text(app), screen_text(app)):
                assert not leaked(text), (row, leaked(text))
            await pilot.press("r")  # the raw line
            await settle(app)
            assert not leaked(detail_text(app)), row
            await pilot.press("r", "equals_sign")
            await pilot.pause()
            assert isinstance(app.screen, QuickFilterScreen)
            assert not leaked(screen_text(app)), row
            await pilot.press("escape")
        assert not leaked(" ".join(str(n.message) for n in app._notifications))


async def test_credentials_are_masked_until_revealed(tmp_path: Path, state_home: Path) -> None:
    (tmp_path / "audit.log").write_text(
        "".join(line + "\n" for line, _ in CREDENTIAL_LINES.values())
    )
    secrets = [secret for _, values in CREDENTIAL_LINES.values() for secret in values]
    app = make_app(tmp_path)
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_ready(app)
        for row in range(len(app.view.ids)):
            app.table.move_to(row)
            await settle(app)
            shown = table_text(app) + detail_text(app)
            await pilot.press("r")
            await settle(app)
            shown += detail_text(app)
            await pilot.press("r", "y")
            shown += app.clipboard
            assert not [s for s in secrets if s in shown], row
        # Revealing asks first; "n" keeps them masked.
        await pilot.press("S")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert not app.view.reveal
        await pilot.press("S", "y")
        await settle(app)
        assert app.view.reveal
        assert "credentials shown in clear" in str(app.query_one("#status", Static).content)
        app.table.move_to(0)
        await settle(app)
        await pilot.press("y")
        row_secrets = CREDENTIAL_LINES[next(iter(CREDENTIAL_LINES))][1]
        assert all(secret in app.clipboard for secret in row_secrets)
        await pilot.press("S")  # masking again needs no question
        assert not app.view.reveal


@pytest.mark.parametrize("name", ["a\x1b]0;x\x07.log", "b\u202eexe.log", "[bold]c[_].log"])
async def test_file_names_in_notifications_are_inert(
    tmp_path: Path, state_home: Path, name: str
) -> None:
    broken = tmp_path / (name + ".gz")
    broken.write_bytes(b"\x1f\x8b\x08\x00broken")
    (tmp_path / "ok.log").write_text(next(iter(HOSTILE_LINES.values())) + "\n")
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_ready(app)
        await pilot.pause(0.2)
        notes = " ".join(f"{n.title} {n.message}" for n in app._notifications)
        assert not leaked(notes)
        assert app.is_running
