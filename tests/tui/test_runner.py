"""The engine runner in the whole app: long jobs show their progress, keys wait, esc cancels
and the engine rolls back exactly; each outcome arrives as its own typed message."""

from __future__ import annotations

import time

from textual.widgets import Input, Static

from tui.messages import (MachineReplaced, OpApplied, OpCancelled, OpCrashed, OpRefused, Progress,
                          RangeApplied, Undone)
from tui.runner import EngineRunner
from tui.screens.main import MainScreen
from tui.screens.progress import ProgressScreen, progress_text

SIZE = (120, 40)


def slow_hook(monkeypatch, seconds: float = 0.01) -> None:
    """Make every progress call of the engine take a while, so that a job lasts seconds."""
    real = EngineRunner.hook

    def hook(self, step, done, total):
        time.sleep(seconds)
        return real(self, step, done, total)

    monkeypatch.setattr(EngineRunner, "hook", hook)


def recorder() -> tuple[list, object]:
    seen: list = []
    return seen, seen.append


async def start_add(pilot, app, size: str) -> None:
    await pilot.press("a")
    await pilot.pause()
    app.screen.query_one("#size", Input).value = size
    await pilot.press("enter")


def kinds(seen: list, *types) -> list:
    return [m for m in seen if isinstance(m, types)]


async def test_long_add_shows_progress_and_keys_wait(ui, make_app, monkeypatch):
    slow_hook(monkeypatch, 0.04)
    seen, hook = recorder()
    app = make_app()
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await start_add(pilot, app, "256G")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, ProgressScreen))
        await ui.wait_for(pilot, lambda: app.runner.total > 0)
        await ui.wait_for(pilot, lambda: app.screen.revealed)   # a job of seconds: seen
        body = str(app.screen.query_one("#progress-body", Static).render())
        assert "kernel step:" in body and "esc: cancel" in body
        await pilot.press("o", "u", "n")        # ignored while it runs
        assert isinstance(app.screen, ProgressScreen)
        await ui.settle(pilot, app)
        assert isinstance(app.screen, MainScreen)
        assert len(app.machine.resources()) == 1
    assert len(kinds(seen, OpApplied)) == 1
    assert len(kinds(seen, Progress)) >= 2
    assert kinds(seen, OpRefused, OpCancelled, OpCrashed) == []


async def test_escape_cancels_a_long_add_exactly(ui, make_app, monkeypatch):
    slow_hook(monkeypatch, 0.04)       # about 5 s: the add is surely still running at the escape
    seen, hook = recorder()
    app = make_app()
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        before = app.machine.fingerprint()
        await start_add(pilot, app, "256G")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, ProgressScreen))
        await pilot.press("escape")
        await ui.settle(pilot, app)
        assert isinstance(app.screen, MainScreen)
        assert app.machine.fingerprint() == before
        assert app.machine.resources() == []
        assert "cancelled" in ui.log_text(app)
    assert len(kinds(seen, OpCancelled)) == 1
    assert kinds(seen, OpApplied) == []


async def test_escape_during_undo_keeps_the_operation(ui, make_app, monkeypatch):
    seen, hook = recorder()
    app = make_app()
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await start_add(pilot, app, "256G")
        await ui.settle(pilot, app)
        added = app.machine.fingerprint()
        slow_hook(monkeypatch, 0.4)     # the undo journal reports every 4096 entries
        await pilot.press("u")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, ProgressScreen))
        await pilot.press("escape")
        await ui.settle(pilot, app)
        assert app.machine.fingerprint() == added
        assert len(app.machine.resources()) == 1
    assert len(kinds(seen, OpCancelled)) == 1
    assert kinds(seen, Undone) == []


async def test_each_outcome_is_its_own_message(ui, make_app):
    seen, hook = recorder()
    app = make_app()
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        res = await ui.hot_add(pilot, app, "1G")
        await ui.goto(pilot, app, res["start_pfn"])
        await pilot.press("r", "enter")           # remove works on offline blocks
        await ui.settle(pilot, app)
        await pilot.press("u")
        await ui.settle(pilot, app)
        await pilot.press("f")                    # offline an offline block: a notice only
        await ui.settle(pilot, app)
        await pilot.press("o", "3")               # online_movable
        await ui.settle(pilot, app)
        await pilot.press("r")                    # remove an online block: refused
        await ui.settle(pilot, app)
    assert [type(m).__name__ for m in kinds(seen, OpApplied, OpRefused, Undone)] == [
        "OpApplied", "OpApplied", "Undone", "OpApplied", "OpRefused"]
    refused = kinds(seen, OpRefused)[0].result
    assert refused.errno == "EBUSY"


async def test_the_crash_net_shows_the_traceback_and_the_app_goes_on(ui, make_app):
    seen, hook = recorder()
    app = make_app()
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        def broken(*args, **kwargs):
            raise RuntimeError("engine bug for the test")

        app.machine.hot_add = broken
        await pilot.press("a", "enter")
        await ui.settle(pilot, app)
        assert isinstance(app.screen, MainScreen)
        text = ui.log_text(app)
        assert "engine bug for the test" in text and "Traceback" in text
        assert app.runner.busy is False
    assert len(kinds(seen, OpCrashed)) == 1


async def test_range_online_offline_and_remove_block_by_block(ui, make_app):
    seen, hook = recorder()
    app = make_app()
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        res = await ui.hot_add(pilot, app, "1G")
        blocks = list(res["blocks"])
        await ui.goto(pilot, app, res["start_pfn"])
        await pilot.press("R", "3")               # online_movable every block of the range
        await ui.settle(pilot, app)
        assert [app.machine.block(b)["zone"] for b in blocks] == ["Movable"] * len(blocks)
        # a selected run: the first two blocks only
        await pilot.press("m")
        app.main_screen.grid.goto_pfn(app.machine.block(blocks[1])["start_pfn"])
        await pilot.pause()
        await pilot.press("R", "4")               # offline
        await ui.settle(pilot, app)
        assert [app.machine.block(b)["online"] for b in blocks] == \
            [False, False] + [True] * (len(blocks) - 2)
        await pilot.press("R", "5")               # remove the whole range, block by block
        await ui.settle(pilot, app)
        assert app.machine.resources() == []
    ranges = kinds(seen, RangeApplied)
    assert [len(r.results) for r in ranges] == [len(blocks), 2, 2 * len(blocks) - 2]
    assert all(r.ok for rng in ranges for r in rng.results)


async def test_new_machine_resets_cursor_and_deltas(ui, make_app):
    seen, hook = recorder()
    app = make_app()
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await ui.hot_add(pilot, app, "1G")
        await pilot.press("n", "2")               # preset 2: arm64 with 64K pages
        await ui.settle(pilot, app)
        assert app.machine.geometry.arch == "arm64-64k"
        first = int(app.machine.present_sections()[0]) * app.machine.geometry.pages_per_section
        assert app.main_screen.cursor_pfn() == first
    assert len(kinds(seen, MachineReplaced)) == 1


def test_progress_text_counts_and_bar():
    text = progress_text("hot_add 1T", "sparse_add_section", 512, 2048, 1.25, 3, 40, False)
    plain = text.plain
    assert "kernel step: sparse_add_section" in plain
    assert "512 of 2,048 done" in plain
    assert " 25.0%" in plain
    assert plain.count("█") == round(0.25 * 28)
    assert "esc: cancel" in plain
    early = progress_text("x", "", 0, 0, 0.0, 0, 40, True).plain
    assert "rolling back" in early
    # as many lines before the first count as after: the display is laid out only once
    assert early.count("\n") == plain.count("\n")


async def test_dialogs_remember_the_last_answer(ui, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ui.hot_add(pilot, app, "512M")
        await pilot.press("a")
        await pilot.pause()
        assert app.screen.query_one("#size", Input).value == "512M"
        await pilot.press("escape", "slash")
        await pilot.pause()
        app.screen.query_one("#value", Input).value = "block 33"
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("slash")
        await pilot.pause()
        assert app.screen.query_one("#value", Input).value == "block 33"


async def test_status_line_shows_step_count_and_time_and_esc_cancels(ui, make_app, monkeypatch):
    slow_hook(monkeypatch, 0.04)
    seen, hook = recorder()
    app = make_app()
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        before = app.machine.fingerprint()
        await start_add(pilot, app, "256G")
        # the progress display is pushed at once: keys go to it, not to the machine
        await ui.wait_for(pilot, lambda: isinstance(app.screen, ProgressScreen))
        await ui.wait_for(pilot, lambda: app.runner.total > 0)
        status = app.main_screen.query_one("#status").render().plain
        assert "hot_add" in status and " of " in status and " s · esc cancels" in status
        await pilot.press("escape")
        await ui.settle(pilot, app)
        assert app.machine.fingerprint() == before
        assert "idle" in app.main_screen.query_one("#status").render().plain
    assert len(kinds(seen, OpCancelled)) == 1
    assert kinds(seen, OpApplied) == []


async def test_the_progress_frame_waits_show_after_and_a_quicker_job_never_shows_it(
        ui, make_app, monkeypatch):
    import tui.screens.progress as progress

    shown: list[bool] = []
    real = ProgressScreen.reveal
    monkeypatch.setattr(ProgressScreen, "reveal", lambda self: (shown.append(True), real(self)))
    # no timing in the test: the job is surely quicker than a SHOW_AFTER of a minute
    monkeypatch.setattr(progress, "SHOW_AFTER", 60.0)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        res = await ui.hot_add(pilot, app, "128M")
        await ui.goto(pilot, app, res["start_pfn"])
        await pilot.press("o", "1")
        await ui.settle(pilot, app)
        assert app.machine.block(res["blocks"][0])["online"]
        assert isinstance(app.screen, MainScreen)
    assert shown == []


def test_job_words_name_the_step_the_count_and_how_to_stop():
    from tui.runner import job_words

    assert job_words("hot_add 1T", "sparse_add_section", 1234, 8192, False) == \
        "hot_add 1T: sparse_add_section 1,234 of 8,192 · esc cancels"
    assert job_words("undo", "", 0, 0, False) == "undo · esc cancels"
    assert job_words("undo", "", 0, 0, False, 1.25) == "undo · 1.2 s · esc cancels"
    assert job_words("eject", "offline_pages", 3, 0, True) == \
        "eject: offline_pages · cancelling, rolling back"
