"""Tiny terminals: nothing crashes at 1x1 with any dialog open."""

from __future__ import annotations

from tui.screens.main import MainScreen

DIALOG_KEYS = ["a", "o", "x", "n", "v", "slash", "s", "R", "question_mark", "ctrl+p"]


async def test_every_dialog_survives_1x1(ui, make_app):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        res = await ui.hot_add(pilot, app, "1G")
        opened = []
        for key in DIALOG_KEYS:
            await ui.goto(pilot, app, res["start_pfn"])      # o and R act on the block there
            await pilot.press(key)
            await pilot.pause()
            opened.append(type(app.screen).__name__)
            for size in ((1, 1), (2, 1), (1, 3), (40, 12), (100, 30)):
                await pilot.resize_terminal(*size)
                await pilot.pause()
            assert app.is_running
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, MainScreen), key
    assert "MainScreen" not in opened          # every key opened its dialog
    assert len(opened) == len(DIALOG_KEYS)
