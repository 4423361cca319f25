"""The theme picker's entries: memmap-tui's own themes, not Textual's.

Textual's "Change theme" command lists every registered Textual theme; picking one of its own
("nord", "gruvbox") would leave the pfn grid on state colours meant for another background.
This provider lists the app's themes (each a Textual theme plus state colours) and applies a
choice through the app, so the grid, the legend and the status line follow it.
"""

from __future__ import annotations

from functools import partial
from typing import Protocol, runtime_checkable

from textual.command import DiscoveryHit, Hit, Hits, Provider


@runtime_checkable
class ThemeChoosing(Protocol):
    """What the picker needs from the app."""

    current_theme_name: str | None

    def theme_names(self) -> list[str]: ...

    def apply_theme(self, name: str | None) -> bool: ...


class AppThemeProvider(Provider):
    """Command-palette entries, one per app theme; choosing one calls `app.apply_theme`."""

    def _entries(self) -> list[tuple[str, str]]:
        app = self.app
        if not isinstance(app, ThemeChoosing):
            raise TypeError(f"{type(app).__name__} has no app themes (theme_names/apply_theme)")
        current = app.current_theme_name
        return [(name, "current theme" if name == current else "memmap-tui theme")
                for name in app.theme_names()]

    def _choose(self, name: str) -> None:
        app = self.app
        if isinstance(app, ThemeChoosing):
            app.apply_theme(name)

    async def discover(self) -> Hits:
        for name, help_text in self._entries():
            yield DiscoveryHit(name, partial(self._choose, name), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text in self._entries():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), partial(self._choose, name), text=name,
                          help=help_text)
