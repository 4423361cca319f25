"""Where each pfn goes on screen: the machine's present sections laid out as text lines.

Vocabulary:
  cell      one character of the grid, showing `per_cell` consecutive pfns.
  pfn row   a row of cells, `row_cells` wide.
  line      one text line. In "color" mode a line shows two pfn rows (upper and lower
            half of a ▀ cell), otherwise one.
  band      a header line followed by the lines of a run of sections. At fine zoom a band
            is one section; at coarse zoom, when two or more sections fit in a pfn row,
            a band is a run of consecutive present sections (broken at gaps and at the
            `breaks` the caller asks for, e.g. the start of each hot-added range), and
            sections sit side by side, each starting on a cell boundary.

Every lookup goes through per-band numpy arrays and `searchsorted`, so the cost does
not depend on how many pfns the machine has: 1 TiB hot-added is 8192 bands, not 2**28 pfns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np


@dataclass(frozen=True)
class HeaderLine:
    band: int
    first_section: int
    nr_sections: int
    lo: int  # first pfn of the band
    hi: int  # end pfn (exclusive)


@dataclass(frozen=True)
class CellsLine:
    band: int
    # (lo, hi) pfns of each pfn row on this line: one, or two in color mode (the second
    # may be missing at the end of a band).
    pfn_rows: tuple[tuple[int, int], ...]

    @property
    def lo(self) -> int:
        return self.pfn_rows[0][0]

    @property
    def hi(self) -> int:
        return self.pfn_rows[-1][1]


@dataclass(frozen=True)
class CellPos:
    line: int
    col: int
    half: int  # which pfn row of the line: 0 upper, 1 lower (color mode only)


def zoom_levels(pages_per_section: int) -> list[int]:
    """Pfns per cell: 1, 2, 4, ... up to a whole section per cell."""
    levels, per_cell = [], 1
    while per_cell <= pages_per_section:
        levels.append(per_cell)
        per_cell *= 2
    return levels


class Layout:
    """Maps text lines and columns to pfn ranges and back, for one zoom and mode."""

    def __init__(
        self,
        sections: np.ndarray,
        pages_per_section: int,
        cols: int,
        per_cell: int = 1,
        rows_per_line: int = 1,
        breaks: Iterable[int] = (),
    ) -> None:
        if per_cell < 1 or pages_per_section % per_cell:
            raise ValueError(f"per_cell {per_cell} must divide pages_per_section {pages_per_section}")
        if cols < 1 or rows_per_line not in (1, 2):
            raise ValueError("cols must be >= 1 and rows_per_line 1 or 2")
        self.sections = np.asarray(sections, dtype=np.int64)
        self.pages_per_section = pps = int(pages_per_section)
        self.per_cell = int(per_cell)
        self.rows_per_line = int(rows_per_line)
        self.cols = int(cols)
        self.cells_per_section = cps = pps // self.per_cell

        # One band per section while a section needs (more than) half a pfn row;
        # otherwise pack runs of consecutive sections side by side.
        self.section_per_band = cps * 2 > cols
        if self.section_per_band:
            self.row_cells = cols
            starts = np.arange(len(self.sections))
        else:
            self.row_cells = (cols // cps) * cps
            starts = self._run_starts(self.sections, breaks)
        ends = np.append(starts[1:], len(self.sections)).astype(np.int64)

        self.band_section0 = self.sections[starts] if len(starts) else np.zeros(0, np.int64)
        self.band_nr_sections = ends - starts
        self.band_pfn0 = self.band_section0 * pps
        self.band_pfn1 = self.band_pfn0 + self.band_nr_sections * pps
        self.band_cells = self.band_nr_sections * cps
        self.band_prows = -(-self.band_cells // self.row_cells)
        self.band_lines = 1 + (-(-self.band_prows // self.rows_per_line))
        # Exclusive prefix sums: where each band starts in lines, pfn rows and cells.
        self.band_line0 = _exclusive_cumsum(self.band_lines)
        self.band_prow0 = _exclusive_cumsum(self.band_prows)
        self.band_cell0 = _exclusive_cumsum(self.band_cells)
        self.total_lines = int(self.band_lines.sum())
        self.total_prows = int(self.band_prows.sum())
        self.total_cells = int(self.band_cells.sum())

    @staticmethod
    def _run_starts(sections: np.ndarray, breaks: Iterable[int]) -> np.ndarray:
        if not len(sections):
            return np.zeros(0, dtype=np.int64)
        gap = np.flatnonzero(np.diff(sections) != 1) + 1
        breaks_at = np.flatnonzero(np.isin(sections, np.fromiter(breaks, dtype=np.int64)))
        return np.unique(np.concatenate(([0], gap, breaks_at))).astype(np.int64)

    # -- sizes ---------------------------------------------------------------------

    @property
    def nr_bands(self) -> int:
        return len(self.band_section0)

    @property
    def empty(self) -> bool:
        return self.total_cells == 0

    @property
    def first_pfn(self) -> int | None:
        return None if self.empty else int(self.band_pfn0[0])

    @property
    def last_pfn(self) -> int | None:
        """First pfn of the last cell."""
        return None if self.empty else int(self.band_pfn1[-1]) - self.per_cell

    # -- lines ---------------------------------------------------------------------

    def band_of_line(self, line: int) -> int | None:
        if not 0 <= line < self.total_lines:
            return None
        return int(np.searchsorted(self.band_line0, line, side="right")) - 1

    def line_info(self, line: int) -> HeaderLine | CellsLine | None:
        band = self.band_of_line(line)
        if band is None:
            return None
        offset = line - int(self.band_line0[band])
        if offset == 0:
            return HeaderLine(band, int(self.band_section0[band]), int(self.band_nr_sections[band]),
                              int(self.band_pfn0[band]), int(self.band_pfn1[band]))
        first_prow = (offset - 1) * self.rows_per_line
        last_prow = min(first_prow + self.rows_per_line, int(self.band_prows[band]))
        rows = tuple(self._prow_span(band, p) for p in range(first_prow, last_prow))
        return CellsLine(band, rows)

    def _prow_span(self, band: int, prow: int) -> tuple[int, int]:
        pfns_per_row = self.row_cells * self.per_cell
        lo = int(self.band_pfn0[band]) + prow * pfns_per_row
        return lo, min(lo + pfns_per_row, int(self.band_pfn1[band]))

    # -- pfn -> screen -------------------------------------------------------------

    def band_of_pfn(self, pfn: int) -> int | None:
        """Band holding pfn, or None if pfn is not in a present section."""
        band = int(np.searchsorted(self.band_pfn0, pfn, side="right")) - 1
        if band < 0 or pfn >= self.band_pfn1[band]:
            return None
        return band

    def locate(self, pfn: int) -> CellPos | None:
        band = self.band_of_pfn(pfn)
        if band is None:
            return None
        cell = (pfn - int(self.band_pfn0[band])) // self.per_cell
        prow, col = divmod(cell, self.row_cells)
        line = int(self.band_line0[band]) + 1 + prow // self.rows_per_line
        return CellPos(line, col, prow % self.rows_per_line)

    def cell_span(self, pfn: int) -> tuple[int, int]:
        lo = pfn - pfn % self.per_cell
        return lo, lo + self.per_cell

    # -- screen -> pfn -------------------------------------------------------------

    def cell_at(self, line: int, col: int, half: int = 0) -> tuple[int, int] | None:
        """Pfn range of the cell at (line, col), or None for headers and empty space."""
        info = self.line_info(line)
        if not isinstance(info, CellsLine) or not 0 <= col < self.row_cells:
            return None
        if not 0 <= half < len(info.pfn_rows):
            return None
        lo = info.pfn_rows[half][0] + col * self.per_cell
        if lo >= info.pfn_rows[half][1]:
            return None
        return lo, lo + self.per_cell

    # -- navigation ----------------------------------------------------------------

    def nearest_pfn(self, pfn: int) -> int | None:
        """pfn itself if laid out, else the start of the next band (or the last cell)."""
        if self.empty:
            return None
        if self.band_of_pfn(pfn) is not None:
            return int(pfn)
        nxt = int(np.searchsorted(self.band_pfn0, pfn, side="right"))
        return int(self.band_pfn0[nxt]) if nxt < self.nr_bands else self.last_pfn

    def step_cells(self, pfn: int, delta: int) -> int | None:
        """Move `delta` cells in reading order, across rows and bands; clamps at the ends."""
        band = self.band_of_pfn(pfn)
        if band is None:
            return None
        cell = int(self.band_cell0[band]) + (pfn - int(self.band_pfn0[band])) // self.per_cell
        cell = min(max(cell + delta, 0), self.total_cells - 1)
        band = int(np.searchsorted(self.band_cell0, cell, side="right")) - 1
        return int(self.band_pfn0[band]) + (cell - int(self.band_cell0[band])) * self.per_cell

    def step_rows(self, pfn: int, delta: int) -> int | None:
        """Move `delta` pfn rows keeping the column (clamped to a shorter row)."""
        band = self.band_of_pfn(pfn)
        if band is None:
            return None
        cell = (pfn - int(self.band_pfn0[band])) // self.per_cell
        prow, col = divmod(cell, self.row_cells)
        g = min(max(int(self.band_prow0[band]) + prow + delta, 0), self.total_prows - 1)
        band = int(np.searchsorted(self.band_prow0, g, side="right")) - 1
        prow = g - int(self.band_prow0[band])
        cell = min(prow * self.row_cells + col, int(self.band_cells[band]) - 1)
        return int(self.band_pfn0[band]) + cell * self.per_cell


def _exclusive_cumsum(values: np.ndarray) -> np.ndarray:
    out = np.zeros(len(values), dtype=np.int64)
    if len(values) > 1:
        np.cumsum(values[:-1], out=out[1:])
    return out
