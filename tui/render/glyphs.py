"""What each pfn state looks like as a character, in Unicode and in plain ASCII.

Glyphs matter even with colour: NO_COLOR and monochrome terminals collapse state
colours to near-identical greys, so every state needs its own shape. All glyphs are
single-cell (no East Asian wide characters, no emoji) and come from blocks that the
Linux console font and common terminal fonts carry.
"""

from __future__ import annotations

from engine.states import DESCRIPTIONS, NAMES

# Rendering modes of the grid.
MODES = ("color", "glyph", "ascii")

# Upper half block: foreground paints the upper pfn, background the lower one.
HALF_BLOCK = "\u2580"  # ▀

UNICODE_GLYPHS: dict[str, str] = {
    "absent": " ",
    "boot-reserved": "\u2593",   # ▓ dense: locked away at boot
    "memmap-self": "\u2261",     # ≡ rows of struct pages, on their own block
    "memmap-other": "\u2550",    # ═ struct pages of someone else
    "pagetable": "\u253c",       # ┼ a table
    "offline": "\u2591",         # ░ present but unused
    "free": "\u00b7",            # · an empty slot
    "movable": "\u25cb",         # ○ hollow: can be moved out
    "unmovable": "\u25cf",       # ● solid: stays
    "pinned": "\u25c6",          # ◆ nailed down
    "memmap-pad": "\u2504",      # ┄ padding, wasted
    "hole": "\u2573",            # ╳ not RAM at all
    "unplugged": "\u25a1",       # □ an empty slot the host has not filled (virtio-mem)
}

ASCII_GLYPHS: dict[str, str] = {
    "absent": " ",
    "boot-reserved": "R",
    "memmap-self": "M",
    "memmap-other": "m",
    "pagetable": "T",
    "offline": ".",
    "free": "o",
    "movable": "u",
    "unmovable": "K",
    "pinned": "P",
    "memmap-pad": "p",
    "hole": "x",
    "unplugged": "_",
}

# Indexed by state code, for vectorised lookups.
UNICODE_BY_CODE: tuple[str, ...] = tuple(UNICODE_GLYPHS[name] for name in NAMES)
ASCII_BY_CODE: tuple[str, ...] = tuple(ASCII_GLYPHS[name] for name in NAMES)


def glyph_table(mode: str) -> tuple[str, ...]:
    """Glyph per state code for a mode ("color" cells are half blocks, not glyphs)."""
    return ASCII_BY_CODE if mode == "ascii" else UNICODE_BY_CODE


def legend() -> list[tuple[str, str, str, str]]:
    """(state, unicode glyph, ascii glyph, description) for every state, in code order."""
    return [(name, UNICODE_GLYPHS[name], ASCII_GLYPHS[name], DESCRIPTIONS[name]) for name in NAMES]
