"""A few SVG snapshots of structured screens (pytest-textual-snapshot; plain def tests).

Update after an intended change with: pytest tests/tui/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

import asyncio

from tui.app import MemmapApp
from tui.config import Settings


def make(**kwargs) -> MemmapApp:
    kwargs.setdefault("settings", Settings())
    kwargs.setdefault("glyphs", "color")
    kwargs.setdefault("theme", "dark")
    return MemmapApp(**kwargs)


async def _settle(pilot) -> None:
    app = pilot.app
    await pilot.pause()
    for _ in range(500):
        if not app.busy:
            break
        await asyncio.sleep(0.01)
    await pilot.pause()


async def _add_and_online(pilot) -> None:
    await pilot.press("a", "enter")
    await _settle(pilot)
    res = pilot.app.machine.resources()[-1]
    pilot.app.main_screen.grid.goto_pfn(res["start_pfn"] + 1024)
    await pilot.pause()
    await pilot.press("o", "3")
    await _settle(pilot)
    pilot.app.clear_notifications()
    await pilot.pause()


def test_main_screen_default_machine(snap_compare):
    assert snap_compare(make(), terminal_size=(100, 30), run_before=_settle)


def test_main_screen_after_hot_add_and_online(snap_compare):
    assert snap_compare(make(), terminal_size=(100, 30), run_before=_add_and_online)


def test_main_screen_80x24_glyphs(snap_compare):
    assert snap_compare(make(glyphs="glyph"), terminal_size=(80, 24), run_before=_settle)


def test_main_screen_40x12(snap_compare):
    assert snap_compare(make(), terminal_size=(40, 12), run_before=_settle)


def _open(key: str):
    """Open a dialog and wait until it is drawn, with its text cursor held still (a blinking
    cursor caught in either phase made the hot-add snapshot flaky)."""

    async def before(pilot) -> None:
        from textual.widgets import Input

        await _settle(pilot)
        await pilot.press(key)
        await pilot.pause()
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause()

    return before


def test_hot_add_dialog(snap_compare):
    assert snap_compare(make(), terminal_size=(100, 30), run_before=_open("a"))


def test_new_machine_dialog(snap_compare):
    assert snap_compare(make(), terminal_size=(100, 40), run_before=_open("n"))


def test_online_choice_dialog(snap_compare):
    async def before(pilot):
        await pilot.press("a", "enter")
        await _settle(pilot)
        res = pilot.app.machine.resources()[-1]
        pilot.app.main_screen.grid.goto_pfn(res["start_pfn"])
        await pilot.pause()
        await pilot.press("o")
        await pilot.pause()

    assert snap_compare(make(), terminal_size=(100, 30), run_before=before)


def test_help_screen(snap_compare):
    assert snap_compare(make(), terminal_size=(100, 40), press=["question_mark"])


def test_refused_remove_in_log(snap_compare):
    async def before(pilot):
        await _add_and_online(pilot)
        await pilot.press("r")
        await _settle(pilot)

    assert snap_compare(make(), terminal_size=(100, 30), run_before=before)
