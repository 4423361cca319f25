"""Every workaround for a Textual bug, in one place, each guarded by the Textual version.

Textual 8.2.x (checked on 8.2.8) has races that fast typing and clicking reach (the random-key
test finds them); each one would take the whole app down. Each patch below names the bug, is
applied only on the versions it was written for, and has a test that the names it patches still
exist (tests/tui/test_textual_compat.py) plus a focused test of the race. On another Textual
version nothing is patched: the tests then say which workaround to re-check.
"""

from __future__ import annotations

from importlib.metadata import version

from textual.command import CommandPalette
from textual.css.query import NoMatches
from textual.widgets import OptionList

TEXTUAL_VERSION = version("textual")
# the versions these workarounds were written and tested for
PATCHED_SERIES = ("8.2.",)
# (class, attribute) pairs that the workarounds override or wrap
PATCHED_NAMES = (
    (CommandPalette, "_watch__list_visible"),
    (CommandPalette, "_refresh_command_list"),
    (CommandPalette, "dismiss"),
    (OptionList, "_on_click"),
    (OptionList, "_move_page"),
    (OptionList, "_index_to_line"),
)


def applies() -> bool:
    """True on the Textual versions the workarounds were written for."""
    return TEXTUAL_VERSION.startswith(PATCHED_SERIES)


class SafeCommandPalette(CommandPalette):
    """The command palette, minus two races of Textual 8.2:
    - it can finish gathering hits after it has been dismissed (ctrl+p, text, escape typed
      fast): its list-visibility watcher then queries children that are gone (NoMatches);
    - a second enter queued behind the first dismisses the screen below it."""

    def _watch__list_visible(self) -> None:
        if not self.is_attached:
            return
        try:
            super()._watch__list_visible()
        except NoMatches:     # the palette's children are already gone: nothing to show
            pass

    def dismiss(self, result=None):
        if not self.is_current:   # a second enter queued behind the first: nothing to close
            return None
        return super().dismiss(result)

    def _refresh_command_list(self, command_list, commands, clear_current) -> None:
        if not command_list.is_attached:
            return
        try:
            super()._refresh_command_list(command_list, commands, clear_current)
        except NoMatches:     # the list was removed between the check and the refresh
            pass


def guard_option_list_races() -> bool:
    """Two Textual 8.2 OptionList races, each fatal:
    - a click's option index comes from the last frame drawn; when the list under the mouse
      has just been replaced by a shorter one it is past the end and `_on_click` raises
      IndexError: drop such clicks;
    - page up/down before the list's first layout looks up an empty line map and raises
      KeyError: ignore the key.
    Idempotent; returns True when the patch is in place."""
    if not applies():
        return False
    original_click = OptionList._on_click
    if getattr(original_click, "_memmap_guarded", False):
        return True
    original_page = OptionList._move_page

    def _move_page(self, direction) -> None:
        if (self.highlighted or 0) not in self._index_to_line:
            return
        original_page(self, direction)

    async def _on_click(self, event) -> None:
        index = event.style.meta.get("option") if event.style else None
        if index is not None and not 0 <= index < self.option_count:
            return
        await original_click(self, event)

    _on_click._memmap_guarded = True  # type: ignore[attr-defined]
    OptionList._move_page = _move_page  # type: ignore[method-assign]
    OptionList._on_click = _on_click  # type: ignore[method-assign]
    return True


def command_palette_class() -> type[CommandPalette]:
    """The palette the app opens: ours on the versions it was written for, Textual's elsewhere."""
    return SafeCommandPalette if applies() else CommandPalette
