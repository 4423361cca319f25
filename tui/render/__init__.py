"""Pure rendering of the pfn grid: glyphs, colours, layout and rows, with no Textual App.

Everything here takes plain data (numpy arrays of state codes, colour strings) and
returns Rich segments or layout answers, so it can be unit-tested and benchmarked
without a terminal.
"""

from .glyphs import ASCII_GLYPHS, HALF_BLOCK, MODES, UNICODE_GLYPHS, glyph_table, legend
from .layout import CellPos, CellsLine, HeaderLine, Layout, zoom_levels
from .palette import Palette, to_rich_color
from .rows import (
    CellRow,
    crosshair_cell,
    format_section_header,
    gutter_label,
    highlight_mask,
    merge_ranges,
    render_cells,
    render_header,
    render_row,
)

__all__ = [
    "ASCII_GLYPHS", "HALF_BLOCK", "MODES", "UNICODE_GLYPHS", "glyph_table", "legend",
    "CellPos", "CellsLine", "HeaderLine", "Layout", "zoom_levels",
    "Palette", "to_rich_color",
    "CellRow", "crosshair_cell", "format_section_header", "gutter_label", "highlight_mask", "merge_ranges",
    "render_cells", "render_header", "render_row",
]
