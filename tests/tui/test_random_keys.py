"""Thousands of random keys and clicks at several terminal sizes: nothing may crash."""

from __future__ import annotations

import random
import time

import pytest

KEYS = (
    # actions (q / ctrl+q are left out: quitting would end the run early)
    list("naroefpxvusbct") + ["slash", "ctrl+z", "ctrl+y", "question_mark", "f1", "f8", "ctrl+p"]
    # the grid
    + ["up", "down", "left", "right", "pageup", "pagedown", "home", "end", "plus", "minus"]
    + list("hjklgG")
    # dialogs and typing
    + ["escape", "escape", "enter", "enter", "tab", "shift+tab", "space", "backspace"]
    + list("0123456789") + list("MGKxyzdmw") + ["1", "2", "3"]
)

SIZES = [(40, 12), (80, 24), (200, 60)]
PER_SIZE = 700   # 2,100 keys in all


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
        started = time.perf_counter()
        for i in range(PER_SIZE):
            if rng.random() < 0.08:
                await pilot.click(offset=(rng.randrange(width), rng.randrange(height)))
            else:
                await pilot.press(rng.choice(KEYS))
            if i % 50 == 0 and rng.random() < 0.3:
                await pilot.resize_terminal(rng.choice([40, 80, 120, width]), rng.choice([12, 24, 40, height]))
                await pilot.resize_terminal(width, height)
        await ui.settle(pilot, app, timeout=60)
        elapsed = time.perf_counter() - started
        # the app is still alive and consistent
        assert app.main_screen is not None
        assert app.machine.fingerprint()
        app.exit = real_exit
    assert elapsed < 120, f"{PER_SIZE} keys took {elapsed:.0f}s"
