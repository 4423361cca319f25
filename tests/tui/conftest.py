"""Shared fixtures for the TUI tests: an app on the default machine, isolated from user config."""

from __future__ import annotations

import asyncio

import pytest


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path, monkeypatch):
    """Never read the developer's own config; no colour-related env surprises."""
    monkeypatch.setenv("MEMMAP_TUI_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")


@pytest.fixture
def make_app():
    """make_app(**kwargs) -> a MemmapApp on the default machine (or the given config)."""
    from tui.app import MemmapApp
    from tui.config import Settings

    def factory(**kwargs):
        kwargs.setdefault("settings", Settings())
        kwargs.setdefault("glyphs", "color")
        return MemmapApp(**kwargs)

    return factory


async def settle(pilot, app, timeout: float = 20.0) -> None:
    """Wait until no engine operation is running and the screen has caught up."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    await pilot.pause()
    while app.busy:
        if loop.time() > deadline:
            raise AssertionError(f"operation still running after {timeout}s: {app.runner.label}")
        await asyncio.sleep(0.01)
        await pilot.pause()
    await pilot.pause()


async def wait_for(pilot, predicate, timeout: float = 20.0) -> None:
    """Wait until `predicate()` holds (the app keeps running meanwhile)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)
        await pilot.pause()


def log_text(app) -> str:
    return "\n".join(app.main_screen.log_widget.plain_lines)


def notifications(app) -> list[str]:
    return [f"{n.title or ''} {n.message}" for n in app._notifications]


async def hot_add(pilot, app, size: str | None = None, node: int | None = None) -> dict:
    """Drive the hot-add dialog with the keyboard; return the new resource."""
    before = len(app.machine.resources())
    await pilot.press("a")
    await pilot.pause()
    if size is not None:
        from textual.widgets import Input

        app.screen.query_one("#size", Input).value = size
    await pilot.press("enter")
    await settle(pilot, app)
    resources = app.machine.resources()
    assert len(resources) == before + 1, log_text(app)
    return resources[-1]


async def goto(pilot, app, pfn: int) -> None:
    app.main_screen.grid.goto_pfn(pfn)
    await pilot.pause()


class _Ui:
    """Helpers handed to tests through the `ui` fixture (tests/ is not a package)."""

    settle = staticmethod(settle)
    wait_for = staticmethod(wait_for)
    log_text = staticmethod(log_text)
    notifications = staticmethod(notifications)
    hot_add = staticmethod(hot_add)
    goto = staticmethod(goto)


@pytest.fixture
def ui():
    return _Ui
