"""Compare mode: one scenario under two settings, stepping together, differences highlighted."""

from __future__ import annotations

import pytest

SIZE = (130, 44)


def test_bad_arguments_exit_2(capsys):
    from tui.cmd_compare import build_app

    with pytest.raises(SystemExit) as exc:
        build_app(["05b", "--profiles", "6.1"])
    assert exc.value.code == 2 and "exactly two" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        build_app(["no-such-lesson", "--memmap-on-memory", "on,off"])
    assert exc.value.code == 2 and "no lesson" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build_app(["05b", "--memmap-on-memory", "on,sideways"])


def test_rows_group_blocks_and_mark_differences():
    from tui.screens.compare import compare_rows

    left = {"step result": "-EINVAL", "MemTotal kB": 10, "memory40 nr_vmemmap": 0,
            "memory41 nr_vmemmap": 0}
    right = {"step result": "ok", "MemTotal kB": 10, "memory40 nr_vmemmap": 512,
             "memory41 nr_vmemmap": 512, "memory42 nr_vmemmap": 512}
    rows = compare_rows(left, right)
    assert rows == [("step result", "-EINVAL", "ok", True), ("MemTotal kB", 10, 10, False),
                    ("memory40-41 nr_vmemmap", 0, 512, True),
                    ("memory42 nr_vmemmap", "—", 512, True)]


async def test_profiles_step_together_and_differences_are_highlighted(ui):
    from tui.cmd_compare import build_app

    app = build_app(["05b", "--profiles", "6.1,6.8", "--glyphs", "color"])
    async with app.run_test(size=SIZE) as pilot:
        await ui.settle(pilot, app)
        screen = app.compare_screen
        left, right = app.sides
        assert (left.label, right.label) == ("profile 6.1", "profile 6.8")
        assert left.machine.geometry.profile == "6.1" and right.machine.geometry.profile == "6.8"
        assert left.machine.history == right.machine.history == []

        await pilot.press("space")
        await ui.settle(pilot, app)
        assert len(left.machine.history) == len(right.machine.history) == 1
        # the 6.1 driver add of 1 GiB gets no self-hosted memmap; 6.8 splits it per block
        assert "memory40-47 nr_vmemmap" in screen.differing

        await pilot.press("full_stop")
        await ui.settle(pilot, app)
        assert left.playback.position == right.playback.position == 2
        assert left.playback.last.result.errno == "EINVAL" and right.playback.last.result.ok
        assert "step result" in screen.differing and "MemTotal kB" not in screen.differing
        text = screen.texts["left"]
        row = next(span for span in text.spans if "reverse" in str(span.style)
                   and "step result" in text.plain[span.start:span.end])
        assert "-EINVAL" in text.plain[row.start:row.end]

        await pilot.press("backspace")
        await ui.settle(pilot, app)
        assert left.playback.position == right.playback.position == 1
        assert len(left.machine.history) == 1 and len(right.machine.history) == 1
        assert "step result" not in screen.differing


async def test_memmap_on_memory_sides_and_start_step(ui):
    from tui.cmd_compare import build_app

    app = build_app(["04", "--memmap-on-memory", "on,off", "--step", "1"])
    async with app.run_test(size=(100, 30)) as pilot:
        await ui.settle(pilot, app)
        left, right = app.sides
        assert (left.label, right.label) == ("memmap_on_memory=on", "memmap_on_memory=off")
        assert left.playback.position == right.playback.position == 1
        screen = app.compare_screen
        # the buddy-allocated memmap of the "off" side comes out of MemFree
        assert {"MemFree kB", "memory32 nr_vmemmap"} <= screen.differing
        assert "step 1/6" in screen.narration_text().plain


# -- parity with the main app: runner, per-side expect, keys --------------------------------
SCENARIO = """
[scenario]
title = "one 1 GiB ACPI add"
description = "6.1 takes its memmap from the buddy; 6.8 self-hosts it per block."

[machine]
profile = "6.1"
arch = "x86_64"
memmap_on_memory = true
auto_online = "offline"
block_size = "128M"

[[machine.node]]
id = 0
memory = "4G"

[[step]]
op = "hot_add"
size = "{size}"
start = "0x140000000"
via = "acpi"
say = "a DIMM"
expect = {{ ok = true, nr_vmemmap_pages = {{ "40" = 0 }} }}
"""


def scenario(tmp_path, size: str = "1G") -> str:
    path = tmp_path / f"add-{size}.toml"
    path.write_text(SCENARIO.format(size=size))
    return str(path)


def recorder():
    seen: list = []
    return seen, seen.append


async def test_each_side_checks_expect_on_its_own_machine(ui, tmp_path):
    from tui.cmd_compare import build_app
    from tui.screens.compare import CompareStepped

    seen, hook = recorder()
    app = build_app([scenario(tmp_path), "--profiles", "6.1,6.8"])
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await pilot.press("space")
        await ui.settle(pilot, app)
        left, right = app.sides
        # 6.1: a 1 GiB add is not one block, so no self-hosted memmap: the fact holds;
        # 6.8 gives every block its own memmap (512 pages): the same fact fails there
        assert left.playback.last.marks == [(True, "ok: true"), (True, "nr_vmemmap_pages: 40 0")]
        assert right.playback.last.marks[0] == (True, "ok: true")
        held, words = right.playback.last.marks[1]
        assert not held and "memory40 has 512" in words
        assert (left.counters["expect held"], right.counters["expect held"]) == ("2/2", "1/2")
        screen = app.compare_screen
        assert "expect held" in screen.differing
        assert "✓ nr_vmemmap_pages: 40 0" in screen.texts["left"].plain
        assert "✗ nr_vmemmap_pages: memory40 has 512" in screen.texts["right"].plain
        log = "\n".join(screen.log_widget.plain_lines)
        assert "profile 6.1: ok · expect 2/2" in log and "profile 6.8: ok · expect 1/2" in log
    stepped = [m for m in seen if isinstance(m, CompareStepped)]
    assert len(stepped) == 1
    assert [all(ok for ok, _ in s.marks) for s in stepped[0].steps] == [True, False]


async def test_a_long_step_shows_progress_and_esc_restores_both_sides(ui, tmp_path,
                                                                     monkeypatch):
    from tui.cmd_compare import build_app
    from tui.messages import OpCancelled, Progress
    from tui.runner import EngineRunner
    from tui.screens.compare import CompareScreen, CompareStepped
    from tui.screens.progress import ProgressScreen

    real = EngineRunner.hook

    def slow(self, step, done, total):
        import time

        time.sleep(0.03)
        return real(self, step, done, total)

    monkeypatch.setattr(EngineRunner, "hook", slow)
    seen, hook = recorder()
    app = build_app([scenario(tmp_path, "128G"), "--profiles", "6.1,6.8"])
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        left, right = app.sides
        before = [left.machine.fingerprint(), right.machine.fingerprint()]
        await pilot.press("space")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, ProgressScreen))
        await pilot.press("space", "backspace")          # keys wait while a step runs
        # cancel once the left side is done and the right one is half-way: the left side's
        # step is taken back too, so both machines are as before
        await ui.wait_for(pilot, lambda: len(left.machine.history) == 1)
        await pilot.press("escape")
        await ui.settle(pilot, app)
        assert isinstance(app.screen, CompareScreen)
        assert [left.machine.fingerprint(), right.machine.fingerprint()] == before
        assert left.machine.history == right.machine.history == []
        assert left.playback.position == right.playback.position == 0
        assert "both machines are exactly as before" in "\n".join(
            app.compare_screen.log_widget.plain_lines)
    assert len([m for m in seen if isinstance(m, OpCancelled)]) == 1
    assert [m for m in seen if isinstance(m, CompareStepped)] == []
    assert len([m for m in seen if isinstance(m, Progress)]) >= 2


def test_cancelled_step_back_redoes_the_side_already_undone():
    from engine import Cancelled, Machine, MachineConfig
    from tui.screens.compare import back_job

    config = MachineConfig.from_dict({"profile": "6.8", "node": [{"id": 0, "memory": "4G"}]})
    machines = [Machine(config), Machine(config)]
    for machine in machines:
        machine.hot_add("64G")
    added = [m.fingerprint() for m in machines]

    def cancel(step, done, total):
        raise Cancelled(step)

    machines[1].progress_hook = cancel
    with pytest.raises(Cancelled):
        back_job("back", machines, [config, config], [0, 0])()
    assert [m.fingerprint() for m in machines] == added
    assert [len(m.history) for m in machines] == [1, 1]


async def test_keys_at_parity_help_screenshot_theme_mode_and_grids_together(ui, tmp_path,
                                                                            monkeypatch):
    import themes
    from tui.cmd_compare import build_app
    from tui.render import to_rich_color
    from tui.screens.compare import CompareScreen
    from tui.screens.help import HelpScreen
    from tui.textual_compat import command_palette_class

    from engine.states import NAMES

    monkeypatch.chdir(tmp_path)
    app = build_app([scenario(tmp_path), "--profiles", "6.1,6.8", "--glyphs", "color"])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space")
        await ui.settle(pilot, app)
        screen = app.compare_screen
        left_grid, right_grid = screen.grids()

        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys = app.screen.keys_table()
        rows = ["".join(str(c) for c in col._cells) for col in keys.columns]
        assert "Apply the next step on both sides" in rows[1]
        assert "F8" in rows[0] and "Switch to the next theme" in rows[1]
        await pilot.press("escape", "f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()

        await pilot.press("f8")
        await pilot.pause()
        shots = list(tmp_path.glob("*.svg"))
        assert len(shots) == 1
        said = [n.message for n in app._notifications]
        assert f"screenshot saved: {shots[0]}" in said
        assert f"screenshot saved: {shots[0]}" in screen.log_widget.plain_lines

        # the grids move together: the focused one leads, the other follows
        start = 0x140000000 >> 12
        left_grid.goto_pfn(start)
        await pilot.pause()
        await pilot.press("l", "l", "j")
        await pilot.pause()
        assert left_grid.cursor_pfn != start
        assert right_grid.cursor_pfn == left_grid.cursor_pfn
        await pilot.press("tab", "h", "minus")
        await pilot.pause()
        assert screen.focused is right_grid
        assert left_grid.cursor_pfn == right_grid.cursor_pfn
        assert left_grid.per_cell == right_grid.per_cell == 2

        first = app.current_theme_name
        await pilot.press("t")
        await pilot.pause()
        name = app.current_theme_name
        assert name != first and app.theme == name
        spec = themes.load_theme(name)
        assert app.state_colors == spec.state_colors
        for grid, side in zip((left_grid, right_grid), app.sides):
            state = NAMES[side.machine.pfn_states(grid.cursor_pfn, grid.cursor_pfn + 1)[0]]
            want = to_rich_color(spec.state_colors[state])
            colours = {style.color for y in range(grid.scrollable_content_region.height)
                       for seg in grid.render_line(y) if (style := seg.style) is not None} | \
                      {seg.style.bgcolor for y in range(grid.scrollable_content_region.height)
                       for seg in grid.render_line(y) if seg.style is not None}
            assert want in colours, (name, state)
            assert to_rich_color(themes.load_theme(first).state_colors[state]) != want
        assert f"theme {name}" in str(screen.query_one("#cmp-status").render())

        await pilot.press("ctrl+p")                 # the palette, with the race guards
        await pilot.pause()
        assert type(app.screen) is command_palette_class()
        await pilot.press("escape")
        await pilot.pause()

        await pilot.press("c")
        await pilot.pause()
        assert left_grid.mode == right_grid.mode == "glyph"
        assert "mode glyphs" in str(screen.query_one("#cmp-status").render())
        assert isinstance(app.screen, CompareScreen)


async def test_the_crash_net_logs_the_traceback_and_compare_goes_on(ui, tmp_path,
                                                                   monkeypatch):
    import tui.screens.compare as compare
    from tui.cmd_compare import build_app
    from tui.messages import OpCrashed

    def broken(machine, step):
        raise RuntimeError("engine bug for the test")

    monkeypatch.setattr(compare, "run_step", broken)
    seen, hook = recorder()
    app = build_app([scenario(tmp_path), "--profiles", "6.1,6.8"])
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await pilot.press("space")
        await ui.settle(pilot, app)
        log = "\n".join(app.compare_screen.log_widget.plain_lines)
        assert "engine error: RuntimeError: engine bug for the test" in log
        lines = app.compare_screen.log_widget.plain_lines
        assert lines[-1] == "RuntimeError: engine bug for the test"
        assert any("in broken" in line for line in lines)
        assert app.sides[0].playback.position == 0 and not app.busy
    assert len([m for m in seen if isinstance(m, OpCrashed)]) == 1
