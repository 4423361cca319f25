"""Lesson / scenario playback in the app: stepping, going back, the student's turn, expect marks."""

from __future__ import annotations

import argparse

from tui.app import MemmapApp
from tui.screens.dialogs import ChoiceDialog

SIZE = (110, 40)


def lesson_app(name: str = "04", **kw) -> MemmapApp:
    from tui.launch import build_app

    ns = argparse.Namespace(scenario=kw.get("scenario"), lesson=None if kw.get("scenario") else name,
                            profile=None, theme=None, glyphs="color", no_mouse=True)
    return build_app(ns)


def narration(app) -> str:
    return app.main_screen.narration.plain


def footer_actions(app) -> set[str]:
    return {b.binding.action for b in app.screen.active_bindings.values()}


async def test_lesson_opens_in_playback_and_steps_forward_and_back(ui):
    app = lesson_app("04")
    async with app.run_test(size=SIZE) as pilot:
        await ui.settle(pilot, app)
        assert app.playback is not None and app.machine.history == []   # nothing replayed
        assert "4. Online, offline" in narration(app) and "6 steps" in narration(app)
        assert app.main_screen.narration.display
        assert "app.playback_next" in footer_actions(app)

        await pilot.press("space")
        await ui.settle(pilot, app)
        assert len(app.machine.history) == 1 and len(app.machine.resources()) == 1
        text = narration(app)
        assert "step 1/6" in text and "→ ok" in text and "Plug one 128 MiB DIMM" in text
        assert "✓ memtotal_delta_kb: 0" in text and "✗" not in text

        await pilot.press("space")          # step 2 is the student's turn: nothing is applied
        await ui.settle(pilot, app)
        assert app.playback.waiting and len(app.machine.history) == 1
        assert "your turn" in narration(app) and "Online memory32 movable" in narration(app)

        await pilot.press("backspace")      # leave the student's turn
        await ui.settle(pilot, app)
        assert not app.playback.waiting and app.playback.position == 1
        assert "step 1/6" in narration(app)

        await pilot.press("comma")          # and take step 1 back: the machine is as booted
        await ui.settle(pilot, app)
        assert app.playback.position == 0 and app.machine.history == []
        assert app.machine.resources() == [] and "6 steps" in narration(app)

        await pilot.press("full_stop")      # "." steps forward too
        await ui.settle(pilot, app)
        assert app.playback.position == 1


async def test_wait_step_is_done_with_the_normal_keys(ui):
    app = lesson_app("04")
    async with app.run_test(size=SIZE) as pilot:
        await ui.settle(pilot, app)
        await pilot.press("space", "space")
        await ui.settle(pilot, app)
        assert app.playback.waiting
        block = app.machine.block(32)
        await ui.goto(pilot, app, block["start_pfn"] + 1000)

        await pilot.press("o")              # the wrong online type first: the lesson still waits
        await pilot.pause()
        assert isinstance(app.screen, ChoiceDialog)
        await pilot.press("2")              # online_kernel
        await ui.settle(pilot, app)
        assert app.playback.waiting and app.machine.block(32)["zone"] == "Normal"
        assert "this step asks" in narration(app)
        await pilot.press("u")              # undo it with the normal key
        await ui.settle(pilot, app)
        assert app.playback.waiting and not app.machine.block(32)["online"]

        await pilot.press("o")
        await pilot.pause()
        await pilot.press("3")              # online_movable: what the step asks
        await ui.settle(pilot, app)
        pb = app.playback
        assert not pb.waiting and pb.position == 2 and pb.last.by == "student"
        text = narration(app)
        assert "done by you" in text and "step 2/6" in text
        assert "✓ kpageflags" in text and "✗" not in text
        assert any("done" in n for n in ui.notifications(app))

        await pilot.press("backspace")      # back over the student's step: block offline again
        await ui.settle(pilot, app)
        assert pb.position == 1 and not app.machine.block(32)["online"]


async def test_space_on_a_waiting_step_lets_the_lesson_do_it(ui):
    app = lesson_app("04")
    async with app.run_test(size=SIZE) as pilot:
        await ui.settle(pilot, app)
        await pilot.press("space", "space", "space")
        await ui.settle(pilot, app)
        pb = app.playback
        assert pb.position == 2 and pb.last.by == "teacher"
        assert app.machine.block(32)["zone"] == "Movable"
        assert "done by the lesson" in narration(app)


async def test_failed_expect_is_marked(ui, tmp_path):
    path = tmp_path / "wrong.toml"
    path.write_text('''
[scenario]
title = "A wrong expectation"

[machine]
profile = "6.1"
memmap_on_memory = true
block_size = "128M"

[[machine.node]]
id = 0
memory = "512M"

[[step]]
op = "hot_add"
size = "128M"
say = "Plug a DIMM."
expect = { ok = true, memtotal_delta_kb = 4096 }

[[step]]
op = "remove"
start = "0x100000000"
size = "1G"
say = "Remove more than was plugged."
''')
    app = lesson_app(scenario=str(path))
    async with app.run_test(size=SIZE) as pilot:
        await ui.settle(pilot, app)
        assert "scenario, 2 steps" in narration(app)
        await pilot.press("space")
        await ui.settle(pilot, app)
        text = narration(app)
        assert "✓ ok: true" in text
        assert "✗ memtotal_delta_kb: MemTotal changed by +0 kB, expected 4096" in text
        assert "1 of 2 expected facts do not hold" in text
        await pilot.press("space")
        await ui.settle(pilot, app)
        text = narration(app)
        assert "→ -E" in text and "end of the scenario: 1 of 2 expected facts held" in text
        assert app.playback.at_end


async def test_playback_keys_only_act_in_playback(ui, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ui.settle(pilot, app)
        assert app.playback is None and not app.main_screen.narration.display
        assert "app.playback_next" not in footer_actions(app)
        assert app.check_action("playback_next", ()) is False
        await pilot.press("space", "full_stop", "backspace", "comma", "i")
        await ui.settle(pilot, app)
        assert app.machine.history == [] and app.screen is app.main_screen


async def test_playback_commands_in_palette_and_help(ui):
    from tui.screens.help import HelpScreen

    app = lesson_app("04")
    async with app.run_test(size=SIZE) as pilot:
        await ui.settle(pilot, app)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"next step")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await ui.settle(pilot, app)
        assert app.playback.position == 1
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        cells = [str(c) for c in app.screen.keys_table().columns[1]._cells]
        assert any("take the last step back" in c for c in cells)
