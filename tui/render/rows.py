"""Turning one line of cell data into Rich segments.

The work is proportional to the number of runs of identical cells, not to the number of
cells: cells are packed into int keys (see palette.py), runs are found with numpy, and
each run becomes one Segment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.segment import Segment
from rich.style import Style

from .labels import fit_section_header
from .palette import CROSS, CURSOR, HIGHLIGHT, LOWER_SHIFT, MIXED, Palette


@dataclass(frozen=True)
class CellRow:
    """One pfn row's cells: dominant state code, mixed flag, and optional highlight flag."""

    codes: np.ndarray                    # uint8 per cell
    mixed: np.ndarray | None = None      # bool per cell: more than one state inside
    highlight: np.ndarray | None = None  # bool per cell: overlaps a highlighted range

    @classmethod
    def of(cls, codes, mixed=None, highlight=None) -> "CellRow":
        return cls(np.asarray(codes, dtype=np.uint8),
                   None if mixed is None else np.asarray(mixed, dtype=bool),
                   None if highlight is None else np.asarray(highlight, dtype=bool))

    def keys(self, width: int) -> np.ndarray:
        """Per-cell key byte (see palette.py), padded with 0 (= no cell) to width."""
        n = min(len(self.codes), width)
        key = np.zeros(width, dtype=np.int32)
        key[:n] = self.codes[:n].astype(np.int32) + 1
        if self.mixed is not None:
            key[:n] |= self.mixed[:n].astype(np.int32) * MIXED
        if self.highlight is not None:
            key[:n] |= self.highlight[:n].astype(np.int32) * HIGHLIGHT
        return key


def render_cells(
    upper: CellRow,
    lower: CellRow | None = None,
    *,
    mode: str,
    palette: Palette,
    cursor: tuple[int, int] | None = None,
    cells: int | None = None,
    cross_col: int | None = None,
    cross_row: bool = False,
) -> list[Segment]:
    """Segments for `cells` cells (default: as many as upper has).

    mode "color" draws ▀ cells with upper's colour as foreground and lower's as
    background; "glyph" and "ascii" draw one glyph per cell and ignore `lower`.
    cursor: (column, half) of the cursor cell, half 1 meaning the lower pfn row; it is
    drawn as a solid cell in the cursor colour (reverse video).
    cross_col / cross_row: the crosshair, tinting the cells of the cursor's column and
    (when cross_row) of this whole line towards the cursor colour.
    """
    width = len(upper.codes) if cells is None else cells
    if width <= 0:
        return []
    key = upper.keys(width)
    if mode == "color" and lower is not None:
        key |= lower.keys(width) << LOWER_SHIFT
    if cross_row:
        key[key != 0] |= CROSS
    elif cross_col is not None and 0 <= cross_col < width and key[cross_col]:
        key[cross_col] |= CROSS
    if cursor is not None and 0 <= cursor[0] < width and key[cursor[0]]:
        col, half = cursor
        if mode == "color" and half == 1 and key[col] >> LOWER_SHIFT:
            key[col] |= CURSOR << LOWER_SHIFT
        else:
            key[col] |= CURSOR

    # One Segment per run of equal keys: the cost follows runs, not cells.
    boundaries = (np.flatnonzero(np.diff(key)) + 1).tolist()
    starts = [0, *boundaries]
    ends = [*boundaries, width]
    known = palette.cells(mode)
    segments = []
    append = segments.append
    for start, end, k in zip(starts, ends, key[starts].tolist()):
        char, style = known.get(k) or palette.cell(mode, k)
        append(Segment(char * (end - start), style))
    return segments


def crosshair_cell(upper: CellRow, lower: CellRow | None, col: int, *, mode: str,
                   palette: Palette) -> Segment | None:
    """The crosshair's cell of a line it crosses (not the cursor's line), as render_cells
    draws it with `cross_col=col`: one Segment, or None where the line has no cell there.
    Lets the grid draw a line once and move the crosshair over it (see PfnGrid)."""
    if not 0 <= col < len(upper.codes):
        return None
    key = int(upper.keys(col + 1)[col])
    if mode == "color" and lower is not None and col < len(lower.codes):
        key |= int(lower.keys(col + 1)[col]) << LOWER_SHIFT
    if not key:
        return None
    key |= CROSS
    char, style = palette.cells(mode).get(key) or palette.cell(mode, key)
    return Segment(char, style)


def render_row(
    upper: CellRow,
    lower: CellRow | None = None,
    *,
    mode: str,
    palette: Palette,
    cursor: tuple[int, int] | None = None,
    label: str = "",
    cells: int | None = None,
    width: int | None = None,
    cross_col: int | None = None,
    cross_row: bool = False,
) -> list[Segment]:
    """A full grid line: gutter label, the cells, then padding up to `width` columns.

    Every Segment carries a Style (Textual's NO_COLOR filter cannot handle None). On the
    cursor's line (and the crosshair's row) the gutter label is reversed: a wide mark that a
    room can find on a projector even when one cell is too small to see.
    """
    marked = cross_row or cursor is not None
    label_style = palette.gutter + Style(reverse=True, bold=True) if marked else palette.gutter
    segments = [Segment(label, label_style)] if label else []
    segments += render_cells(upper, lower, mode=mode, palette=palette, cursor=cursor, cells=cells,
                             cross_col=cross_col, cross_row=cross_row)
    # Labels and cells are one column per character, so the used width is known
    # without measuring every segment.
    used = len(label) + (len(upper.codes) if cells is None else cells)
    return _pad(segments, width, palette, used)


def render_header(text: str, *, palette: Palette, label: str = "", width: int | None = None) -> list[Segment]:
    """A band's header line: the label gutter, then the text, cropped or padded to width."""
    segments = [Segment(label, palette.gutter)] if label else []
    if width is not None:
        text = text[: max(0, width - len(label))]
    segments.append(Segment(text, palette.header))
    return _pad(segments, width, palette, len(label) + len(text))


def _pad(segments: list[Segment], width: int | None, palette: Palette, used: int) -> list[Segment]:
    if width is not None and used < width:
        segments.append(Segment(" " * (width - used), palette.blank))
    return segments


# 'section 32 · block 32 · pfn 0x100000–0x107fff · node 0 · Movable', or with a width the
# longest spelling that fits (abbreviated word by word, see labels.py)
format_section_header = fit_section_header


def gutter_label(pfn: int, digits: int) -> str:
    """The pfn of a line's first cell, in fixed-width hex, plus a separating space."""
    return f"{pfn:0{digits}x} "


def merge_ranges(ranges) -> tuple[np.ndarray, np.ndarray]:
    """Sort and merge (lo, hi) pfn ranges into disjoint (starts, ends) arrays."""
    pairs = sorted((int(lo), int(hi)) for lo, hi in ranges if hi > lo)
    merged: list[list[int]] = []
    for lo, hi in pairs:
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    starts = np.array([m[0] for m in merged], dtype=np.int64)
    ends = np.array([m[1] for m in merged], dtype=np.int64)
    return starts, ends


def highlight_mask(lo: int, hi: int, per_cell: int, starts: np.ndarray, ends: np.ndarray) -> np.ndarray | None:
    """Per cell of [lo, hi): does it overlap any merged range? None when nothing does."""
    if not len(starts) or starts[0] >= hi or ends[-1] <= lo:
        return None
    cell_lo = np.arange(lo, hi, per_cell, dtype=np.int64)
    cell_hi = np.minimum(cell_lo + per_cell, hi)
    # With disjoint sorted ranges, a cell overlaps one iff more ranges start before the
    # cell ends than end at or before the cell starts.
    mask = np.searchsorted(starts, cell_hi, side="left") > np.searchsorted(ends, cell_lo, side="right")
    return mask if mask.any() else None
