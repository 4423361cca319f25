"""Themes as data (the `themes` package) applied to a Textual app, and the grid's drawing mode.

Shared by the main app and the compare app: both are a `ThemedApp`, whose pfn grids take the
theme's state colours."""

from __future__ import annotations

import os
from collections.abc import Mapping

from textual.app import App

import themes
from tui.textual_compat import command_palette_class
from tui.theme_picker import AppThemeProvider
from tui.widgets.pfn_grid import PfnGrid

MODES = ("color", "glyph", "ascii")
MODE_WORDS = {"color": "colour", "glyph": "glyphs", "ascii": "ASCII"}
DEFAULT_THEME = "dark"


def auto_glyphs(requested: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """The grid mode: as asked, or glyphs when colour cannot carry the states (NO_COLOR, console)."""
    env = os.environ if env is None else env
    if requested and requested != "auto":
        return requested
    if env.get("NO_COLOR"):
        return "glyph"
    if env.get("TERM") == "linux":
        return "glyph"
    return "color"


def next_mode(mode: str) -> str:
    return MODES[(MODES.index(mode) + 1) % len(MODES)] if mode in MODES else MODES[0]


class ThemedApp(App):
    """An app drawn in one of our themes; its pfn grids follow the theme's state colours."""

    state_colors: dict[str, str] = {}
    current_theme_name: str | None = None

    def state_grids(self) -> list[PfnGrid]:
        """The pfn grids that take the theme's state colours."""
        return []

    def get_theme_variable_defaults(self) -> dict[str, str]:
        """Defaults for app-specific $variables (the state colours), so any theme parses."""
        defaults = dict(super().get_theme_variable_defaults())
        # A Theme(ansi=True) skips the colour system's ansi-* variables that Textual's own
        # widgets' CSS refers to; the built-in ansi themes set them by hand, so do the same.
        defaults.setdefault("ansi-background", "ansi_default")
        defaults.setdefault("ansi-foreground", "ansi_default")
        defaults.update(themes.load_theme(DEFAULT_THEME).variables)
        return defaults

    def theme_names(self) -> list[str]:
        return themes.available()

    def search_themes(self) -> None:
        """Textual's theme picker ("Theme" in ctrl+p), offering our themes: Textual's own have
        no state colours for the grid."""
        self.push_screen(command_palette_class()(providers=[AppThemeProvider],
                                                 placeholder="Search for themes…"))

    def apply_theme(self, name: str | None) -> bool:
        """Switch to theme `name` (None: the default); a one-line notice when it cannot."""
        if name is None:
            name = DEFAULT_THEME
        try:
            spec = themes.load_theme(name)
        except ValueError as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return False
        self.register_theme(spec.textual_theme())
        self.theme = spec.name
        self.state_colors = spec.state_colors
        for grid in self.state_grids():
            grid.set_state_colors(self.state_colors)
        self.current_theme_name = name
        return True

    def screenshot_here(self) -> str | None:
        """F8: save an SVG of the screen in the current directory and say where (served to a
        browser: hand it to the browser as a download). The saved path, None otherwise."""
        if self.is_web:
            self.deliver_screenshot()
            self.notify("screenshot sent to the browser as a download")
            return None
        try:
            path = self.save_screenshot(path=os.getcwd())
        except OSError as exc:
            self.notify(f"screenshot: {' '.join(str(exc).split())}", severity="error",
                        markup=False)
            return None
        self.notify(f"screenshot saved: {path}", markup=False)
        return path

    def cycle_theme(self) -> str | None:
        names = self.theme_names()
        current = self.current_theme_name
        nxt = names[(names.index(current) + 1) % len(names)] if current in names else names[0]
        return nxt if self.apply_theme(nxt) else None
