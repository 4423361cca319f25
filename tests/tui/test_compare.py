"""Compare mode: one scenario under two settings, stepping together, differences highlighted."""

from __future__ import annotations

import asyncio

import pytest

SIZE = (130, 44)


async def idle(pilot, app, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    await pilot.pause()
    while app.busy:
        assert loop.time() < deadline, "compare step still running"
        await asyncio.sleep(0.01)
        await pilot.pause()
    await pilot.pause()


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


async def test_profiles_step_together_and_differences_are_highlighted():
    from tui.cmd_compare import build_app

    app = build_app(["05b", "--profiles", "6.1,6.8", "--glyphs", "color"])
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot, app)
        screen = app.compare_screen
        left, right = app.sides
        assert (left.label, right.label) == ("profile 6.1", "profile 6.8")
        assert left.machine.geometry.profile == "6.1" and right.machine.geometry.profile == "6.8"
        assert left.machine.history == right.machine.history == []

        await pilot.press("space")
        await idle(pilot, app)
        assert len(left.machine.history) == len(right.machine.history) == 1
        # the 6.1 driver add of 1 GiB gets no self-hosted memmap; 6.8 splits it per block
        assert "memory40-47 nr_vmemmap" in screen.differing

        await pilot.press("full_stop")
        await idle(pilot, app)
        assert left.playback.position == right.playback.position == 2
        assert left.playback.last.result.errno == "EINVAL" and right.playback.last.result.ok
        assert "step result" in screen.differing and "MemTotal kB" not in screen.differing
        text = screen.texts["left"]
        row = next(span for span in text.spans if "reverse" in str(span.style)
                   and "step result" in text.plain[span.start:span.end])
        assert "-EINVAL" in text.plain[row.start:row.end]

        await pilot.press("backspace")
        await idle(pilot, app)
        assert left.playback.position == right.playback.position == 1
        assert len(left.machine.history) == 1 and len(right.machine.history) == 1
        assert "step result" not in screen.differing


async def test_memmap_on_memory_sides_and_start_step():
    from tui.cmd_compare import build_app

    app = build_app(["04", "--memmap-on-memory", "on,off", "--step", "1"])
    async with app.run_test(size=(100, 30)) as pilot:
        await idle(pilot, app)
        left, right = app.sides
        assert (left.label, right.label) == ("memmap_on_memory=on", "memmap_on_memory=off")
        assert left.playback.position == right.playback.position == 1
        screen = app.compare_screen
        # the buddy-allocated memmap of the "off" side comes out of MemFree
        assert {"MemFree kB", "memory32 nr_vmemmap"} <= screen.differing
        assert "step 1/6" in screen.narration_text().plain
