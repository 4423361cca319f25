"""Thousands of random keys and clicks at several terminal sizes: nothing may crash.

Keys and clicks go straight into the app's event queue (as the terminal driver would deliver
them) with only `pause(0)`-style yields in between, so a run of 2,100 events fits in CI time;
Pilot.press waits for the CPU to go idle after every key, which costs ~100 ms a key.
"""

from __future__ import annotations

import asyncio
import random

import pytest
from textual import events
from textual.command import CommandPalette
from textual.geometry import Offset
from textual.pilot import _get_mouse_message_arguments

KEYS = (
    # actions (q / ctrl+q are left out: quitting would end the run early)
    list("naroefpxvusbctmR") + ["right_square_bracket", "left_square_bracket", "slash", "ctrl+z", "ctrl+y", "question_mark", "f1", "f8", "ctrl+p"]
    # the grid
    + ["up", "down", "left", "right", "pageup", "pagedown", "home", "end", "plus", "minus"]
    + list("hjklgG")
    # dialogs and typing
    + ["escape", "escape", "enter", "enter", "tab", "shift+tab", "space", "backspace"]
    + list("0123456789") + list("MGKxyzdmw") + ["1", "2", "3"]
)
CHARS = {"slash": "/", "question_mark": "?", "plus": "+", "minus": "-", "space": " ",
         "enter": "\r", "tab": "\t", "escape": "\x1b", "backspace": "\x7f"}

SIZES = [(40, 12), (80, 24), (200, 60)]
PER_SIZE = 700   # 2,100 events in all


def send_key(app, key: str) -> None:
    char = CHARS.get(key, key if len(key) == 1 else None)
    app._driver.send_message(events.Key(key, char))


def send_click(app, x: int, y: int) -> None:
    screen = app.screen
    args = _get_mouse_message_arguments(screen, (x, y), button=1)
    app.mouse_position = Offset(x, y)
    for cls in (events.MouseDown, events.MouseUp, events.Click):
        kwargs = {**args, "chain": 1} if cls is events.Click else args
        screen._forward_event(cls(**kwargs))


def send_scroll(app, x: int, y: int, down: bool) -> None:
    screen = app.screen
    args = _get_mouse_message_arguments(screen, (x, y))
    cls = events.MouseScrollDown if down else events.MouseScrollUp
    app.mouse_position = Offset(x, y)
    screen._forward_event(cls(**args))


@pytest.mark.slow
@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
async def test_random_keys_and_clicks_never_crash(ui, make_app, size, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)          # F8 screenshots land here
    rng = random.Random(f"memmap-{size}")
    app = make_app()
    quits: list[str] = []
    async with app.run_test(size=size) as pilot:
        real_exit = app.exit
        app.exit = lambda *a, **k: quits.append("exit")   # a palette "Quit" must not end the run
        width, height = size
        for i in range(PER_SIZE):
            roll = rng.random()
            if roll < 0.06:
                send_click(app, rng.randrange(width), rng.randrange(height))
            elif roll < 0.08:
                send_scroll(app, rng.randrange(width), rng.randrange(height), rng.random() < 0.5)
            else:
                send_key(app, rng.choice(KEYS))
            await asyncio.sleep(0)
            if isinstance(app.screen, CommandPalette):
                # Textual's own palette races with key events injected faster than a person
                # types (double dismiss, paging an emptied list): drive it at human pace.
                await pilot.pause(0.02)
            elif i % 10 == 0:
                await pilot.pause(0)
            if i % 100 == 50:
                await pilot.resize_terminal(rng.choice([40, 80, 120]), rng.choice([12, 24, 40]))
                await pilot.pause(0)
                await pilot.resize_terminal(width, height)
        await ui.settle(pilot, app, timeout=60)
        # the app is alive and its machine consistent
        assert app.main_screen is not None
        assert app.machine.fingerprint()
        app.exit = real_exit
