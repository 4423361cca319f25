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


async def test_40x12_says_what_is_hidden(make_app):
    app = make_app()
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        status = str(app.main_screen.query_one("#status").render())
        assert status.startswith("hidden: inspector, counters, event log")
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert "hidden" not in str(app.main_screen.query_one("#status").render())


async def test_80x24_footer_offers_help(make_app):
    from textual.widgets._footer import FooterKey

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        keys = [k for k in app.main_screen.query(FooterKey) if k.action == "app.help"]
        assert len(keys) == 1
        region = keys[0].region
        assert region.width > 0 and region.right <= 80 and region.y == 23
