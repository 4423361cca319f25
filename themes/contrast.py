"""WCAG 2 contrast of every text colour a theme draws against the background it is drawn on.

The pairs come from the theme's data as Textual expands it (its colour system plus our
variables), so a test can hold every shipped theme to WCAG AA (4.5:1 for text). A pair is
(what is drawn, foreground variable, background variable); colours with an alpha ("auto 60%",
"#ffffff 50%") are blended over their background first, as the terminal shows them.

Terminal-palette colours ("ansi_red") have no fixed value: they are judged against Textual's own
reference palette for dark themes (MONOKAI) or light ones (ALABASTER), the one Textual itself
uses when it has to turn them into RGB. A terminal with another palette may do worse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.terminal_theme import TerminalTheme
from textual._ansi_theme import ALABASTER, MONOKAI
from textual.color import Color

from engine.states import NAMES as STATE_NAMES
from themes import ANSI_NAMES, ThemeSpec

AA_TEXT = 4.5

# Text colours the app and Textual's widgets draw, and the surfaces they sit on.
TEXT_COLOURS = ("foreground", "text", "text-muted", "text-primary", "text-secondary",
                "text-accent", "text-warning", "text-error", "text-success")
SURFACES = ("background", "surface", "panel")
# Fixed pairs of Textual's own widgets (footer, list cursor) that every screen shows.
WIDGET_PAIRS = (
    ("footer key", "footer-key-foreground", "footer-background"),
    ("footer description", "footer-description-foreground", "footer-description-background"),
    ("list cursor", "block-cursor-foreground", "block-cursor-background"),
)
# States drawn as a visible glyph in the glyph and ASCII modes (absent is a blank cell).
GLYPH_STATES = tuple(name for name in STATE_NAMES if name != "absent")
GRID_BACKGROUND = "surface"

_WITH_ALPHA = re.compile(r"^(?P<colour>.+?)\s+(?P<percent>\d+(?:\.\d+)?)%$")


@dataclass(frozen=True)
class Pair:
    """One text colour on one background, resolved to RGB."""

    what: str
    foreground: Color
    background: Color

    @property
    def ratio(self) -> float:
        return contrast_ratio(self.foreground, self.background)

    def describe(self) -> str:
        return (f"{self.what}: {self.foreground.hex} on {self.background.hex} "
                f"= {self.ratio:.2f}:1")


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: Color) -> float:
    """WCAG 2 relative luminance of an opaque colour (0 black .. 1 white)."""
    r, g, b = colour.rgb
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(a: Color, b: Color) -> float:
    """WCAG 2 contrast ratio of two opaque colours, 1.0 .. 21.0."""
    la, lb = relative_luminance(a), relative_luminance(b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


def reference_palette(spec: ThemeSpec) -> TerminalTheme:
    """The terminal palette ansi_* colours are judged against for this theme."""
    return MONOKAI if spec.dark else ALABASTER


def _ansi(name: str, palette: TerminalTheme, *, as_background: bool) -> Color:
    if name == "default":
        triplet = palette.background_color if as_background else palette.foreground_color
    else:
        triplet = palette.ansi_colors[ANSI_NAMES.index(name)]
    return Color(*triplet)


def resolve(value: str, background: Color, palette: TerminalTheme, *,
            as_background: bool = False) -> Color:
    """An opaque RGB colour for a theme value drawn over `background`."""
    text = value.strip()
    alpha = 1.0
    match = _WITH_ALPHA.match(text)
    if match:
        text, alpha = match["colour"], float(match["percent"]) / 100
    if text == "auto":
        colour = background.get_contrast_text(1.0)
    elif text.startswith("ansi_"):
        colour = _ansi(text[len("ansi_"):], palette, as_background=as_background)
    else:
        colour = Color.parse(text)
    colour = colour.multiply_alpha(alpha)
    if colour.a < 1.0:
        colour = background.blend(colour.with_alpha(1.0), colour.a)
    return colour.with_alpha(1.0)


def theme_variables(spec: ThemeSpec) -> dict[str, str]:
    """Every CSS variable the theme gives, as the app sees them (Textual's expansion + ours)."""
    theme = spec.textual_theme()
    return {**theme.to_color_system().generate(), **theme.variables}


def text_pairs(spec: ThemeSpec) -> list[Pair]:
    """Every (text colour, background) pair the theme draws, resolved to RGB."""
    palette = reference_palette(spec)
    variables = theme_variables(spec)
    base = Color(*palette.background_color)

    def surface(name: str) -> Color:
        return resolve(variables[name], base, palette, as_background=True)

    pairs: list[Pair] = []
    for bg_name in SURFACES:
        bg = surface(bg_name)
        for fg_name in TEXT_COLOURS:
            pairs.append(Pair(f"${fg_name} on ${bg_name}", resolve(variables[fg_name], bg, palette), bg))
    for what, fg_name, bg_name in WIDGET_PAIRS:
        bg = resolve(variables[bg_name], surface("panel"), palette, as_background=True)
        pairs.append(Pair(what, resolve(variables[fg_name], bg, palette), bg))

    grid = surface(GRID_BACKGROUND)
    mixed = resolve(variables["grid-mixed"], grid, palette, as_background=True)
    for state in GLYPH_STATES:
        fg = resolve(variables[f"state-{state}"], grid, palette)
        pairs.append(Pair(f"{state} glyph on the grid", fg, grid))
        pairs.append(Pair(f"{state} glyph in a mixed cell", fg, mixed))
    # The cursor and the backing highlight are drawn reversed: the grid's background colour
    # becomes the glyph's colour on a cell of the cursor (or backing) colour.
    for key in ("cursor", "backing"):
        cell = resolve(variables[f"grid-{key}"], grid, palette, as_background=True)
        pairs.append(Pair(f"glyph under the {key}", grid, cell))
    return pairs


def failing_pairs(spec: ThemeSpec, minimum: float = AA_TEXT) -> list[Pair]:
    """The pairs below `minimum` (WCAG AA for text by default)."""
    return [pair for pair in text_pairs(spec) if pair.ratio < minimum]
