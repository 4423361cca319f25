"""Pilot tests: drive memmap-tui with keys and check the engine state and what is drawn."""

from __future__ import annotations

import argparse
import time

import pytest
from textual.widgets import Input, Select

from tui.screens.dialogs import ChoiceDialog, HotAddDialog, NewMachineDialog, PromptDialog
from tui.screens.help import HelpScreen
from tui.screens.main import MainScreen

SIZE = (100, 40)


def first_block_of(app, res: dict) -> dict:
    return app.machine.block(res["blocks"][0])


async def test_opens_on_default_machine(ui, make_app):
    from engine import MachineConfig

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ui.settle(pilot, app)
        assert isinstance(app.screen, MainScreen)
        assert app.machine.resources() == []
        assert app.config == MachineConfig.default()
        assert "booted" in ui.log_text(app)
        bar = app.main_screen.query_one("#bar")
        assert bar.table.id.tolist() == [b["id"] for b in app.machine.blocks()] != []
        assert "MemTotal" in app.main_screen.query_one("#counters").render_text().plain


async def test_hot_add_dialog_adds_memory_and_logs_kernel_steps(ui, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, HotAddDialog)
        app.screen.query_one("#size", Input).value = "1G"
        await pilot.press("enter")
        await ui.settle(pilot, app)
        assert isinstance(app.screen, MainScreen)
        res = app.machine.resources()
        assert len(res) == 1 and res[0]["size"] == 1 << 30
        text = ui.log_text(app)
        assert "add_memory_resource" in text
        counters = app.main_screen.query_one("#counters")
        assert counters.changed, "the counters must mark what the hot-add changed"
        # the bar shows the machine's blocks, the new one included
        table = app.main_screen.query_one("#bar").table
        assert table.id.tolist() == [b["id"] for b in app.machine.blocks()]
        assert table.start_pfn.tolist() == [b["start_pfn"] for b in app.machine.blocks()]


async def test_hot_add_dialog_offers_kmem_with_its_dax_attribute(ui, make_app):
    from textual.widgets import Checkbox, Static
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, HotAddDialog)
        assert [v for _, v in HotAddDialog.VIAS] == ["acpi", "driver", "kmem", "dlpar"]
        assert "ACPI_HOTPLUG_MEMORY=y" in str(dialog.query_one("#acpi-note", Static).render())
        dialog.query_one("#size", Input).value = "1G"
        dialog.query_one("#memmap_on_memory", Checkbox).value = True
        await pilot.press("enter")                   # acpi with the dax attribute: refused
        await pilot.pause()
        assert isinstance(app.screen, HotAddDialog)
        assert "kmem" in str(dialog.query_one("#error", Static).render())
        dialog.query_one("#via", Select).value = 2   # kmem
        await pilot.pause()
        await pilot.press("enter")
        await ui.settle(pilot, app)
        res = app.machine.resources()
        assert len(res) == 1 and res[0]["via"] == "kmem" and res[0]["memmap"] == "altmap-block"


async def test_bad_size_is_refused_not_crashed(ui, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        await pilot.pause()
        app.screen.query_one("#size", Input).value = "banana"
        await pilot.press("enter")
        await ui.settle(pilot, app)
        assert app.machine.resources() == []
        assert isinstance(app.screen, MainScreen)
        assert "✗" in ui.log_text(app)
        assert ui.notifications(app)


async def test_online_then_offline_the_block_under_the_cursor(ui, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        res = await ui.hot_add(pilot, app, "256M")
        block = first_block_of(app, res)
        await ui.goto(pilot, app, block["end_pfn"] - 1)
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceDialog)
        await pilot.press("3")  # online_movable
        await ui.settle(pilot, app)
        after = app.machine.block(block["id"])
        assert after["online"] and after["zone"] == "Movable", ui.log_text(app)
        assert "online" in app.main_screen.query_one("#inspector").last_text
        await pilot.press("f")
        await ui.settle(pilot, app)
        assert not app.machine.block(block["id"])["online"], ui.log_text(app)


async def test_online_on_boot_memory_or_nothing_notifies(ui, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ui.goto(pilot, app, 0x1000)
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert any("already online" in n for n in ui.notifications(app))
        await pilot.press("r")
        await pilot.pause()
        assert any("boot memory" in n for n in ui.notifications(app))
        gen = app.machine.generation
        main = app.main_screen
        main.cursor_pfn = lambda: None          # nothing selected
        for key in "ofrepb":
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, MainScreen)
        assert app.machine.generation == gen
        assert any("nothing selected" in n for n in ui.notifications(app))


async def test_refused_remove_shows_errno_and_check(ui, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        res = await ui.hot_add(pilot, app, "128M")
        block = first_block_of(app, res)
        await ui.goto(pilot, app, block["end_pfn"] - 1)
        await pilot.press("o", "1")
        await ui.settle(pilot, app)
        assert app.machine.block(block["id"])["online"]
        await pilot.press("r")
        await ui.settle(pilot, app)
        assert len(app.machine.resources()) == 1
        result = app.last_result
        assert result is not None and not result.ok and result.errno
        assert f"-{result.errno}" in ui.log_text(app)
        assert result.check and result.check in ui.log_text(app)
        assert any(result.errno in n for n in ui.notifications(app))


async def test_remove_and_undo_redo(ui, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        res = await ui.hot_add(pilot, app, "256M")
        await ui.goto(pilot, app, res["start_pfn"] + 1)
        await pilot.press("r")
        await ui.settle(pilot, app)
        assert app.machine.resources() == [], ui.log_text(app)
        await pilot.press("u")
        await ui.settle(pilot, app)
        assert len(app.machine.resources()) == 1
        await pilot.press("ctrl+z")
        await ui.settle(pilot, app)
        assert app.machine.resources() == []
        await pilot.press("ctrl+y")
        await ui.settle(pilot, app)
        assert len(app.machine.resources()) == 1
        assert "undo" in ui.log_text(app)


async def test_eject(ui, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        res = await ui.hot_add(pilot, app, "128M")
        await ui.goto(pilot, app, res["start_pfn"])
        await pilot.press("e")
        await ui.settle(pilot, app)
        assert app.last_result is not None and app.last_result.op == "eject"
        assert app.last_result.ok, app.last_result.summary()
        assert app.machine.resources() == []


async def test_pin_blocks_offline_until_unpinned(ui, make_app):
    from engine.states import PINNED

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        res = await ui.hot_add(pilot, app, "128M")
        block = first_block_of(app, res)
        await ui.goto(pilot, app, block["end_pfn"] - 1)
        await pilot.press("o", "2")   # online_kernel: a pin in ZONE_MOVABLE would migrate out
        await ui.settle(pilot, app)
        await pilot.press("p")
        await ui.settle(pilot, app)
        states = app.machine.pfn_states(block["start_pfn"], block["end_pfn"])
        assert int((states == PINNED).sum()) == 1, ui.log_text(app)
        await pilot.press("f")
        await ui.settle(pilot, app)
        assert app.machine.block(block["id"])["online"]
        assert not app.last_result.ok
        await pilot.press("p")
        await ui.settle(pilot, app)
        states = app.machine.pfn_states(block["start_pfn"], block["end_pfn"])
        assert int((states == PINNED).sum()) == 0


async def test_alloc_dialog(ui, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        free_before = app.machine.meminfo()["MemFree"]
        await pilot.press("x")
        await pilot.pause()
        app.screen.query_one("#pages", Input).value = "1000"
        app.screen.query_one("#pages", Input).focus()
        await pilot.press("enter")
        await ui.settle(pilot, app)
        assert app.last_result is not None and app.last_result.ok, ui.log_text(app)
        assert app.machine.meminfo()["MemFree"] < free_before


async def test_jump_to_block_address_and_bad_input(ui, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        res = await ui.hot_add(pilot, app, "256M")
        bid = res["blocks"][-1]
        await pilot.press("slash")
        await pilot.pause()
        assert isinstance(app.screen, PromptDialog)
        await pilot.press(*"nonsense", "enter")
        await pilot.pause()
        assert isinstance(app.screen, PromptDialog)   # stays open, shows why
        app.screen.query_one("#value", Input).value = f"block {bid}"
        await pilot.press("enter")
        await pilot.pause()
        assert app.main_screen.grid.cursor_pfn == app.machine.block(bid)["start_pfn"]
        await pilot.press("slash")
        await pilot.pause()
        app.screen.query_one("#value", Input).value = hex(res["start"])
        await pilot.press("enter")
        await pilot.pause()
        assert app.main_screen.grid.cursor_pfn == res["start_pfn"]


async def test_show_backing_highlights_the_memmap(ui, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        res = await ui.hot_add(pilot, app, "128M")
        await ui.goto(pilot, app, res["end_pfn"] - 1)
        await pilot.press("b")
        await pilot.pause()
        geo = app.machine.geometry
        sec = (res["end_pfn"] - 1) // geo.pages_per_section
        expected = [tuple(map(int, r)) for r in app.machine.backing_of(
            sec * geo.pages_per_section, (sec + 1) * geo.pages_per_section)]
        assert app.main_screen.highlight == expected and expected
        await pilot.press("b")
        await pilot.pause()
        assert app.main_screen.highlight == []
        # on a memmap page: the pfns it describes
        lo, _hi = expected[0]
        await ui.goto(pilot, app, lo)
        await pilot.press("b")
        await pilot.pause()
        served = app.machine.served_by(lo)
        assert served is not None and app.main_screen.highlight == [tuple(served)]


@pytest.mark.parametrize("key,check", [
    ("2", lambda m: m.geometry.arch == "arm64-64k" and m.geometry.page_size == 65536),
    ("3", lambda m: m.geometry.struct_page_size == 80),
])
async def test_new_machine_presets_are_two_keys_away(ui, make_app, key, check):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, NewMachineDialog)
        await pilot.press(key)
        await ui.settle(pilot, app)
        assert isinstance(app.screen, MainScreen)
        assert check(app.machine), app.machine.geometry
        assert app.main_screen.grid.machine is app.machine


async def test_new_machine_form_validates(ui, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await pilot.pause()
        app.screen.query_one("#k-struct_page_size", Input).value = "13"
        app.screen.submit()
        await pilot.pause()
        assert isinstance(app.screen, NewMachineDialog)
        assert "struct_page_size" in str(app.screen.query_one("#error").render())
        app.screen.query_one("#k-struct_page_size", Input).value = "72"
        app.screen.submit()
        await ui.settle(pilot, app)
        assert app.machine.geometry.struct_page_size == 72


async def test_profile_replays_history(ui, make_app):
    from engine import PROFILES

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ui.hot_add(pilot, app, "256M")
        history = list(app.machine.history)
        names = list(PROFILES)
        target = names.index("6.8")
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceDialog)
        app.screen.action_pick(target)
        await ui.settle(pilot, app)
        assert app.machine.geometry.profile == names[target]
        # the same operations, replayed in order on the new machine
        assert app.machine.history == history
        assert "replay" in ui.log_text(app)


async def test_save_session_as_scenario(ui, make_app, tmp_path):
    from engine.scenario import parse_scenario

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ui.hot_add(pilot, app, "128M")
        await pilot.press("s")
        await pilot.pause()
        target = tmp_path / "session.toml"
        app.screen.query_one("#value", Input).value = str(target)
        await pilot.press("enter")
        await pilot.pause()
        text = target.read_text()
        sc = parse_scenario(text, "session")
        assert len(sc.steps) == 1


async def test_modes_themes_help_and_screenshot(ui, make_app, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")
        assert app.main_screen.grid.mode == "glyph"
        await pilot.press("c", "c")
        assert app.main_screen.grid.mode == "color"
        first = app.theme
        await pilot.press("t")
        await pilot.pause()
        assert app.theme != first
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.press("f8")
        await pilot.pause()
        assert list(tmp_path.glob("*.svg"))


async def test_command_palette_runs_actions(ui, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"hot-add memory")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert isinstance(app.screen, HotAddDialog)


async def test_remapped_keys_from_config(ui, tmp_path, monkeypatch):
    from tui.app import MemmapApp
    from tui.config import load_settings

    cfg = tmp_path / "config.toml"
    cfg.write_text('glyphs = "ascii"\n[keys]\nhot_add = "insert"\n')
    settings = load_settings(cfg)
    assert not settings.warnings
    app = MemmapApp(settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        assert app.main_screen.grid.mode == "ascii"
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        await pilot.press("insert")
        await pilot.pause()
        assert isinstance(app.screen, HotAddDialog)


def test_bad_config_gives_one_line_warning(tmp_path):
    from tui.config import load_settings

    bad = tmp_path / "bad.toml"
    bad.write_text("theme = [unclosed\n")
    s = load_settings(bad)
    assert len(s.warnings) == 1 and "\n" not in s.warnings[0]
    bad.write_text('glyphs = "neon"\nfrobnicate = 1\n[keys]\nnope = "z"\n')
    s = load_settings(bad)
    assert len(s.warnings) == 1 and "\n" not in s.warnings[0] and s.glyphs == "auto"


def test_glyph_mode_is_automatic():
    from tui.app import auto_glyphs

    assert auto_glyphs("auto", {"NO_COLOR": "1"}) == "glyph"
    assert auto_glyphs("auto", {"TERM": "linux"}) == "glyph"
    assert auto_glyphs("auto", {"TERM": "xterm"}) == "color"
    assert auto_glyphs("ascii", {"NO_COLOR": "1"}) == "ascii"


def test_launch_builds_the_app_from_cli_arguments():
    from tui.launch import build_app

    from tui.cli import _launch_parser

    ns = _launch_parser().parse_args(["--theme", "light", "--glyphs", "glyph", "--no-mouse"])
    app = build_app(ns)
    assert app.mode == "glyph" and app.requested_theme == "light"


async def test_small_terminal_collapses_panels(ui, make_app):
    app = make_app()
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        main = app.main_screen
        assert main.has_class("-narrow") and main.has_class("-tiny")
        assert not main.query_one("#side").display
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("enter")
        await ui.settle(pilot, app)
        assert len(app.machine.resources()) == 1
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert main.query_one("#side").display and main.query_one("#log").display


async def test_lesson_opens_in_playback_mode(ui, tmp_path):
    from tui.launch import build_app, find_lesson

    path = find_lesson("06")
    assert path is not None, "lesson 06 ships with the package"
    ns = argparse.Namespace(scenario=None, lesson="06", profile=None, theme=None, glyphs="auto",
                            no_mouse=False)
    app = build_app(ns)
    async with app.run_test(size=SIZE) as pilot:
        await ui.settle(pilot, app, timeout=60)
        assert app.playback is not None and not app.machine.history   # steps wait for space
        assert "lesson: 6." in ui.log_text(app)
        await pilot.press("space")
        await ui.settle(pilot, app, timeout=60)
        assert app.playback.position == 1 and app.machine.history, ui.log_text(app)
