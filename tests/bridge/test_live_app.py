"""The app over a live machine (a fixture tree of a 6.1 machine): refresh, refusals, the twin."""

import asyncio

import pytest

from bridge.live import LIVE_REFUSAL, LiveMachine
from engine import Machine

from .fixtures import build_tree


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMMAP_TUI_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("TERM", "xterm-256color")


def log_text(app) -> str:
    return "\n".join(app.main_screen.log_widget.plain_lines)


def notifications(app) -> list[str]:
    return [f"{n.title or ''} {n.message}" for n in app._notifications]


async def _wait_for(pilot, cond, timeout=10.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        assert loop.time() < deadline, "timed out"
        await pilot.pause(0.05)


async def test_live_app_refreshes_refuses_and_opens_the_twin(tmp_path):
    from tui.app import MemmapApp
    from tui.config import Settings
    root = build_tree(tmp_path / "m", "6.1")
    live = LiveMachine(root)
    app = MemmapApp(machine=live, config=live.config, live_interval=0.2, settings=Settings(),
                    glyphs="color")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "live view of" in log_text(app)
        (root / "sys/devices/system/memory/memory32/state").write_text("offline\n")
        await _wait_for(pilot, lambda: "live: memory32: online -> offline" in log_text(app))
        assert app.machine.block(32)["state"] == "offline"
        for key in ("o", "f", "a", "u"):
            await pilot.press(key)
            await pilot.pause()
        assert app.machine is live and not app.busy
        refusals = [line for line in log_text(app).splitlines() if LIVE_REFUSAL in line]
        assert [line.split(":")[0] for line in refusals] == ["online", "offline", "hot_add", "undo"]
        assert any(LIVE_REFUSAL in n for n in notifications(app))
        await pilot.press("T")
        await _wait_for(pilot, lambda: isinstance(app.machine, Machine) and not app.busy)
        assert isinstance(app.machine, Machine)
        assert app.machine.geometry.profile == "6.1"
        assert app.machine.block(32)["state"] == "offline"   # the twin replays the DIMM as it is now
