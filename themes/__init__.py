"""Colour themes for memmap-tui, kept as data: one TOML file per theme in this folder.

A theme file has three tables:

    [theme]    Textual's basics: primary, secondary, background, surface, panel,
               foreground, accent, warning, error, success, boost (optional),
               dark (bool), ansi (bool: use the terminal's own palette).
    [states]   one colour per engine state, keyed by the state's name ("free", ...).
    [grid]     cursor, backing (the "show backing" highlight), mixed (aggregated cells
               holding more than one state).
    [variables] (optional) any further Textual CSS variables, passed through as-is.

States and grid colours become Textual CSS variables named `state-<name>` and
`grid-<name>`; whatever a theme leaves out comes from STATE_DEFAULTS, so an incomplete
theme still loads and the app's CSS can always refer to every variable.

Colours are anything Textual parses ("#rrggbb", "rgb(...)", "ansi_red") plus the
sixteen terminal colour names as Rich spells them ("red", "bright_red"), which mean
the terminal's palette here, not the CSS colour of the same name.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from engine.states import NAMES as STATE_NAMES
from textual.color import Color, ColorParseError
from textual.theme import Theme

THEME_DIR = Path(__file__).resolve().parent

BASIC_KEYS = (
    "primary", "secondary", "background", "surface", "panel", "foreground",
    "accent", "warning", "error", "success", "boost",
)
GRID_KEYS = ("cursor", "backing", "mixed")

# Terminal palette names as Rich spells them; Textual spells the same colours "ansi_<name>".
ANSI_NAMES = (
    "black", "red", "green", "yellow", "blue", "magenta", "cyan", "white",
    "bright_black", "bright_red", "bright_green", "bright_yellow",
    "bright_blue", "bright_magenta", "bright_cyan", "bright_white",
)

# Defaults for every variable the grid uses: a neutral dark-friendly set that stays
# readable on a light background too.
STATE_DEFAULTS: dict[str, str] = {
    "state-absent": "#2b2f36",
    "state-boot-reserved": "#9a7bb0",
    "state-memmap-self": "#e5a50a",
    "state-memmap-other": "#f0684f",
    "state-pagetable": "#d98ad9",
    "state-offline": "#4a5260",
    "state-free": "#2e8b57",
    "state-movable": "#4a90d9",
    "state-unmovable": "#c85a1e",
    "state-pinned": "#ff3d8b",
    "state-memmap-pad": "#8a6a1e",
    "state-hole": "#14161a",
    "state-unplugged": "#2f6f78",
    "grid-cursor": "#ffffff",
    "grid-backing": "#00d7ff",
    "grid-mixed": "#555b66",
}

STATE_VARIABLES = tuple(f"state-{name}" for name in STATE_NAMES)
GRID_VARIABLES = tuple(f"grid-{key}" for key in GRID_KEYS)

_THEME_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def normalise_colour(value: str) -> str:
    """Spell a colour the way Textual's CSS parses it; raise ValueError if it is no colour."""
    text = value.strip()
    if text in ANSI_NAMES:
        text = f"ansi_{text}"
    try:
        Color.parse(text)
    except ColorParseError:
        raise ValueError(f"not a colour: {value!r}") from None
    return text


@dataclass(frozen=True)
class ThemeSpec:
    """A loaded theme: Textual's basics plus the grid's state colours."""

    name: str
    dark: bool
    ansi: bool
    basics: dict[str, str]
    # Every state-* and grid-* variable (defaults filled in) plus any passthrough ones.
    variables: dict[str, str] = field(default_factory=dict)

    @property
    def state_colors(self) -> dict[str, str]:
        """State name -> colour, plus "grid-cursor", "grid-backing", "grid-mixed"."""
        colours = {name: self.variables[f"state-{name}"] for name in STATE_NAMES}
        colours.update({var: self.variables[var] for var in GRID_VARIABLES})
        return colours

    def textual_theme(self) -> Theme:
        return Theme(
            name=self.name,
            dark=self.dark,
            ansi=self.ansi,
            variables=dict(self.variables),
            **self.basics,
        )


def available() -> list[str]:
    """Names of the themes shipped in this package, sorted."""
    return sorted(path.stem for path in THEME_DIR.glob("*.toml"))


def load_theme(name: str) -> ThemeSpec:
    """Load a shipped theme by name; ValueError (one line) if unknown or malformed."""
    if not _THEME_NAME.match(name) or not (THEME_DIR / f"{name}.toml").is_file():
        raise ValueError(f"unknown theme {name!r} (available: {', '.join(available())})")
    return load_theme_file(THEME_DIR / f"{name}.toml")


def load_theme_file(path: str | Path) -> ThemeSpec:
    """Load a theme from any TOML file; the theme is named after the file's stem."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"theme file {path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"theme file {path}: invalid TOML: {exc}") from None
    try:
        return _parse(path.stem, data)
    except ValueError as exc:
        raise ValueError(f"theme file {path}: {exc}") from None


def _table(data: dict, key: str) -> dict:
    table = data.get(key, {})
    if not isinstance(table, dict):
        raise ValueError(f"[{key}] must be a table")
    return table


def _parse(name: str, data: dict) -> ThemeSpec:
    unknown_tables = set(data) - {"theme", "states", "grid", "variables"}
    if unknown_tables:
        raise ValueError(f"unknown table(s): {', '.join(sorted(unknown_tables))}")
    theme, states = _table(data, "theme"), _table(data, "states")
    grid, extra = _table(data, "grid"), _table(data, "variables")

    flags = {"dark": theme.get("dark", True), "ansi": theme.get("ansi", False)}
    for flag, value in flags.items():
        if not isinstance(value, bool):
            raise ValueError(f"[theme] {flag} must be true or false")
    unknown = set(theme) - set(BASIC_KEYS) - set(flags)
    if unknown:
        raise ValueError(f"[theme] unknown key(s): {', '.join(sorted(unknown))}")
    if "primary" not in theme:
        raise ValueError("[theme] needs at least 'primary'")
    basics = {key: _colour(f"[theme] {key}", theme[key]) for key in BASIC_KEYS if key in theme}

    variables = dict(STATE_DEFAULTS)
    for state, value in states.items():
        if state not in STATE_NAMES:
            raise ValueError(f"[states] unknown state {state!r}")
        variables[f"state-{state}"] = _colour(f"[states] {state}", value)
    for key, value in grid.items():
        if key not in GRID_KEYS:
            raise ValueError(f"[grid] unknown key {key!r} (expected {', '.join(GRID_KEYS)})")
        variables[f"grid-{key}"] = _colour(f"[grid] {key}", value)
    for key, value in extra.items():
        if not isinstance(value, str):
            raise ValueError(f"[variables] {key} must be a string")
        variables.setdefault(key, value)
    return ThemeSpec(name=name, dark=flags["dark"], ansi=flags["ansi"],
                     basics=basics, variables=variables)


def _colour(where: str, value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{where} must be a colour string")
    try:
        return normalise_colour(value)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
