"""The Textual workarounds: the names they patch still exist on the installed Textual, they are
applied only on the versions they were written for, and each race they cover no longer kills."""

from __future__ import annotations

from rich.style import Style
from textual import events
from textual.app import App, ComposeResult
from textual.widgets import OptionList

from tui import textual_compat
from tui.textual_compat import (PATCHED_NAMES, SafeCommandPalette, applies,
                                command_palette_class, guard_option_list_races)


def test_patched_names_still_exist():
    missing = [f"{cls.__name__}.{name}" for cls, name in PATCHED_NAMES if not hasattr(cls, name)]
    assert missing == []


def test_workarounds_only_on_the_versions_they_were_written_for(monkeypatch):
    assert applies() is textual_compat.TEXTUAL_VERSION.startswith(textual_compat.PATCHED_SERIES)
    monkeypatch.setattr(textual_compat, "TEXTUAL_VERSION", "99.0.0")
    assert applies() is False
    assert command_palette_class() is not SafeCommandPalette
    assert guard_option_list_races() is False


class Lists(App):
    def compose(self) -> ComposeResult:
        yield OptionList("one", "two", "three")


def _click_on_option(index: int) -> events.Click:
    return events.Click(widget=None, x=0, y=0, delta_x=0, delta_y=0, button=1, shift=False,
                        meta=False, ctrl=False, style=Style(meta={"option": index}))


async def test_click_on_an_option_that_is_gone_is_dropped():
    assert guard_option_list_races() is applies()
    app = Lists()
    async with app.run_test() as pilot:
        ol = app.query_one(OptionList)
        ol.highlighted = 1
        await ol._on_click(_click_on_option(7))      # the list under the mouse got shorter
        await pilot.pause()
        assert ol.highlighted == 1 and app.is_running
        await ol._on_click(_click_on_option(2))      # a real option still selects
        await pilot.pause()
        assert ol.highlighted == 2


async def test_page_down_before_the_first_layout_is_ignored():
    app = Lists()
    async with app.run_test() as pilot:
        ol = OptionList("a", "b")
        ol._index_to_line.clear()                    # as before its first layout
        ol._move_page(1)
        await pilot.pause()
        assert app.is_running


async def test_a_second_dismiss_of_the_palette_closes_nothing_else():
    app = Lists()
    async with app.run_test() as pilot:
        palette = SafeCommandPalette()
        await app.push_screen(palette)
        await pilot.pause()
        base = app.screen_stack[0]
        palette.dismiss(None)
        await pilot.pause()
        assert palette.dismiss(None) is None         # not current any more: a no-op
        await pilot.pause()
        assert app.screen is base
