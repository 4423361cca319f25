"""The user's config file: $XDG_CONFIG_HOME/memmap-tui/config.toml (platformdirs).

    theme = "dark"            # a theme name from themes.available()
    glyphs = "auto"           # auto | color | glyph | ascii
    mouse = true
    crosshair = false         # true: the cursor's row and column marked (# toggles it)
    [keys]                    # action id = "keys" (comma separated Textual key names)
    hot_add = "a,insert"
    undo = "u,ctrl+z"

A config that cannot be read gives one warning line and the defaults; it never stops the app.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from engine.tomlread import TomlReadError, read_text, loads as toml_loads
from tui.keys import BY_ID

MAX_CONFIG_BYTES = 1 << 20     # a settings file is a few lines; never read a huge one

GLYPH_CHOICES = ("auto", "color", "glyph", "ascii")


@dataclass
class Settings:
    theme: str | None = None
    glyphs: str = "auto"
    mouse: bool = True
    # the grid cursor's row and column tinted (off by default: every line changes when the
    # cursor moves sideways, which costs a key about 15 ms at 200x60; # toggles it)
    crosshair: bool = False
    keys: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    path: Path | None = None


def config_path() -> Path:
    override = os.environ.get("MEMMAP_TUI_CONFIG")
    if override:
        return Path(override)
    from platformdirs import user_config_dir

    return Path(user_config_dir("memmap-tui", appauthor=False)) / "config.toml"


def load_settings(path: Path | None = None) -> Settings:
    path = path or config_path()
    settings = Settings(path=path)
    if not path.is_file():
        return settings
    try:
        data = toml_loads(read_text(path, limit=MAX_CONFIG_BYTES))
    except TomlReadError as exc:
        settings.warnings.append(f"{path}: ignored ({_one_line(exc)}); using defaults")
        return settings
    return apply_data(settings, data, str(path))


def apply_data(settings: Settings, data: dict, where: str) -> Settings:
    """Validate a parsed config table into `settings`; collect one-line warnings."""
    bad: list[str] = []
    theme = data.get("theme")
    if theme is not None:
        if isinstance(theme, str) and theme:
            settings.theme = theme
        else:
            bad.append("theme must be a string")
    glyphs = data.get("glyphs")
    if glyphs is not None:
        if glyphs in GLYPH_CHOICES:
            settings.glyphs = glyphs
        else:
            bad.append(f"glyphs must be one of {', '.join(GLYPH_CHOICES)}")
    for flag in ("mouse", "crosshair"):
        value = data.get(flag)
        if value is not None:
            if isinstance(value, bool):
                setattr(settings, flag, value)
            else:
                bad.append(f"{flag} must be true or false")
    keys = data.get("keys", {})
    if not isinstance(keys, dict):
        bad.append("[keys] must be a table")
        keys = {}
    for name, value in keys.items():
        if name not in BY_ID:
            bad.append(f"unknown action {name!r} in [keys]")
        elif not isinstance(value, str) or not value.strip():
            bad.append(f"keys.{name} must be a non-empty string")
        else:
            settings.keys[name] = ",".join(k.strip() for k in value.split(",") if k.strip())
    for key in data:
        if key not in ("theme", "glyphs", "mouse", "crosshair", "keys"):
            bad.append(f"unknown setting {key!r}")
    if bad:
        settings.warnings.append(f"{where}: {bad[0]}" + (f" (+{len(bad) - 1} more)" if len(bad) > 1 else "")
                                 + "; those settings use their defaults")
    return settings


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
