"""Rich styles for grid cells, built once per theme and looked up by a small integer key.

A cell's look depends only on a few small facts (state of the upper pfn, of the lower
pfn, and whether each is mixed, highlighted or under the cursor), so they are packed into
an int "cell key" (see `cell_key`) and each distinct key's Style is built once and cached.
"""

from __future__ import annotations

from rich.color import Color, ColorParseError, blend_rgb
from rich.style import Style

from engine.states import NAMES

from .glyphs import HALF_BLOCK, glyph_table

# Cell key layout: bits 0-7 describe the upper pfn (or the only pfn in glyph modes),
# bits 8-15 the lower pfn. Within a byte: state code + 1 (0 = no pfn here) in bits 0-4.
CODE_MASK = 0x1F
MIXED = 1 << 5
HIGHLIGHT = 1 << 6
CURSOR = 1 << 7
LOWER_SHIFT = 8
# Above both bytes: the cell lies on the cursor's crosshair (its line or its column).
CROSS = 1 << 16
# How far a crosshair cell's colours move towards the cursor colour: enough to see the
# line across the room, little enough that the states underneath stay told apart.
CROSS_TINT = 0.35
# Glyph cells keep their text readable (WCAG AA) on the crosshair: no tint, an underline
# carries the line instead (glyph and ASCII modes; colour mode keeps the tint)
GLYPH_CROSS_TINT = 0.0
# The cursor cell in colour mode: a solid cell in the cursor colour with an arrow that
# points at the half (pfn row) the cursor is on.
CURSOR_UPPER_GLYPH = "\u25b2"   # ▲
CURSOR_LOWER_GLYPH = "\u25bc"   # ▼

GRID_COLOUR_KEYS = ("grid-cursor", "grid-backing", "grid-mixed")


def to_rich_color(value: str) -> Color:
    """Parse a theme colour (Textual or Rich spelling) into a Rich colour.

    "ansi_red" (Textual's spelling of the terminal palette) becomes Rich's "red", which
    Rich also emits as a palette colour, so the `ansi` theme follows the terminal.
    """
    text = value.strip()
    if text == "ansi_default":
        return Color.default()
    if text.startswith("ansi_"):
        text = text[len("ansi_"):]
    try:
        return Color.parse(text)
    except ColorParseError:
        pass
    # CSS-only spellings (hsl(), CSS colour names): let Textual's parser have a go.
    from textual.color import Color as TextualColor

    return TextualColor.parse(value).rich_color


class Palette:
    """Styles for every kind of grid cell, for one set of state colours."""

    def __init__(
        self,
        colors: dict[str, str],
        *,
        base: Style | None = None,
        header: Style | None = None,
        gutter: Style | None = None,
    ) -> None:
        """colors: state name (or "state-<name>") -> colour, plus the grid-* keys.

        base: the grid's own foreground/background (from the widget's CSS); every
        cell style is layered on it so no Segment is left without a background.
        """
        from themes import STATE_DEFAULTS

        merged = dict(STATE_DEFAULTS)
        for key, value in colors.items():
            merged[key if key.startswith(("state-", "grid-")) else f"state-{key}"] = value
        self.colors = merged
        self.base = base or Style(color="default", bgcolor="default")
        self.header = self.base + (header or Style(bold=True, dim=True))
        self.gutter = self.base + (gutter or Style(dim=True))
        self.blank = self.base
        self.state_color = [to_rich_color(merged[f"state-{name}"]) for name in NAMES]
        self.cursor_color = to_rich_color(merged["grid-cursor"])
        self.backing_color = to_rich_color(merged["grid-backing"])
        self.mixed_color = to_rich_color(merged["grid-mixed"])
        self.background = self.base.bgcolor or Color.default()
        self._glyph_styles: dict[int, Style] = {}
        self._color_styles: dict[int, Style] = {}
        self._cells: dict[str, dict[int, tuple[str, Style]]] = {mode: {} for mode in ("color", "glyph", "ascii")}

    def cells(self, mode: str) -> dict[int, tuple[str, Style]]:
        """The (character, style) entries built so far for a mode, for fast lookups."""
        return self._cells[mode]

    def cell(self, mode: str, key: int) -> tuple[str, Style]:
        """(character, style) of a cell with this key in this mode; cached, as rows ask a lot."""
        cells = self._cells[mode]
        entry = cells.get(key)
        if entry is None:
            code = (key & CODE_MASK) - 1
            if mode == "color" and code >= 0 and key & (CURSOR | CURSOR << LOWER_SHIFT):
                glyph = CURSOR_UPPER_GLYPH if key & CURSOR else CURSOR_LOWER_GLYPH
                entry = (glyph, self.color_style(key))
            elif mode == "color":
                entry = (HALF_BLOCK if code >= 0 else " ", self.color_style(key))
            else:
                entry = (glyph_table(mode)[code] if code >= 0 else " ", self.glyph_style(key))
            cells[key] = entry
        return entry

    def glyph_style(self, key: int) -> Style:
        """Style of a glyph/ascii cell: state colour as foreground on the grid's background.

        Mixed cells are underlined on a tinted background, highlighted cells are shown
        reversed in the backing colour, the cursor reversed and bold in the cursor colour:
        attributes survive NO_COLOR, colours alone would not.
        """
        style = self._glyph_styles.get(key)
        if style is None:
            style = self._glyph_styles[key] = self._build_glyph_style(key)
        return style

    def _build_glyph_style(self, key: int) -> Style:
        code = (key & CODE_MASK) - 1
        if code < 0:
            return self.blank
        mixed = bool(key & MIXED)
        if key & CURSOR:
            extra = Style(color=self.cursor_color, bgcolor=self.background, reverse=True, bold=True)
        elif key & HIGHLIGHT:
            extra = Style(color=self.backing_color, bgcolor=self.background, reverse=True)
        else:
            background = self.mixed_color if mixed else self.background
            if key & CROSS:
                background = self.tint(background, GLYPH_CROSS_TINT)
            extra = Style(color=self.state_color[code], bgcolor=background)
        return self.base + extra + Style(underline=mixed or bool(key & CROSS))

    def tint(self, color: Color, amount: float = CROSS_TINT) -> Color:
        """`color` moved part of the way towards the cursor colour (crosshair cells)."""
        return Color.from_triplet(blend_rgb(color.get_truecolor(foreground=False),
                                            self.cursor_color.get_truecolor(), amount))

    def color_style(self, key: int) -> Style:
        """Style of a half-block cell: fg paints the upper pfn, bg the lower one."""
        style = self._color_styles.get(key)
        if style is None:
            style = self._color_styles[key] = self._build_color_style(key)
        return style

    def _build_color_style(self, key: int) -> Style:
        upper, lower = key & 0xFF, (key >> LOWER_SHIFT) & 0xFF
        if not upper & CODE_MASK:
            return self.blank
        if (upper | lower) & CURSOR:
            # reverse video: the whole cell in the cursor colour, the arrow in the background's
            return self.base + Style(color=self.background, bgcolor=self.cursor_color, bold=True)
        fg = self._half_color(upper)
        bg = self._half_color(lower) if lower & CODE_MASK else self.background
        if key & CROSS:
            fg, bg = self.tint(fg), self.tint(bg)
        mixed = bool((upper | lower) & MIXED)
        return self.base + Style(color=fg, bgcolor=bg, underline=mixed)

    def _half_color(self, half: int) -> Color:
        if half & HIGHLIGHT:
            return self.backing_color
        return self.state_color[(half & CODE_MASK) - 1]
