"""The machine bar's layout: memory blocks in address order fitted to a width.

Computed once per change of the block list or of the width (an operation, a resize), so a
cursor move only looks its block up (a bisection) and redraws a few hundred cells: the
cost of a key does not grow with the number of blocks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine import BlockTable

from .labels import fit_bar_label


# what a block can be drawn as; a zone name when online in a zone the bar knows
KINDS = ("DMA", "DMA32", "Normal", "Movable", "Device", "online", "offline", "going-offline")
_KIND = {k: i for i, k in enumerate(KINDS)}


def block_kind(block: dict) -> str:
    """What one block (a `blocks()` dict) is drawn as: its zone when online, else its state."""
    if block["state"] == "going-offline":
        return "going-offline"
    if block["online"]:
        zone = block["zone"]
        return zone if zone in _KIND else "online"
    return "offline"


def table_kinds(table: BlockTable) -> np.ndarray:
    """`block_kind` of every row of a BlockTable, as indexes into KINDS (numpy, O(blocks))."""
    # zone index -> kind index; the last entry serves zone -1 (online, zone unnamed)
    zone_kind = np.array([_KIND.get(z, _KIND["online"]) for z in table.zone_names]
                         + [_KIND["online"]], dtype=np.int8)
    kinds = np.where(table.online, zone_kind[table.zone], _KIND["offline"]).astype(np.int8)
    kinds[table.going_offline] = _KIND["going-offline"]
    return kinds


@dataclass(frozen=True)
class BarCell:
    """One column of the bar: a gap between address ranges, or a run of blocks."""

    gap: bool
    kind: str = ""             # the most common block kind in the cell
    node: int | None = None
    first_id: int = -1         # block ids of the first and last block in the cell
    last_id: int = -1
    start_pfn: int = 0


@dataclass(frozen=True)
class BarLayout:
    cells: tuple[BarCell, ...]
    labels: str                # the label line, as wide as the bar
    total: int                 # block counts for the summary line
    online: int
    boot: int

    def cell_of_block(self, block_id: int | None) -> int | None:
        """Column of the (first) cell holding block `block_id`, or None. O(width), not O(blocks)."""
        if block_id is None:
            return None
        for x, cell in enumerate(self.cells):
            if not cell.gap and cell.first_id <= block_id <= cell.last_id:
                return x
        return None


def layout_bar(table: BlockTable, width: int) -> BarLayout:
    """Fit the blocks of `table` (id order) into `width` columns: up to 3 columns per block
    when they are few, several blocks per column when they are many, a gap column between
    address ranges. numpy over the blocks, Python over the columns: O(blocks + width)."""
    width = max(1, width)
    n = len(table)
    if n == 0:
        return BarLayout((), "", 0, 0, 0)
    kinds = table_kinds(table)
    # a new address range wherever a block does not start where the previous one ended
    breaks = np.flatnonzero(table.start_pfn[1:] != table.end_pfn[:-1]) + 1
    seg_lo = np.concatenate(([0], breaks)).tolist()
    seg_hi = np.concatenate((breaks, [n])).tolist()
    room = max(1, width - (len(seg_lo) - 1))
    repeat = max(1, min(3, room // n)) if n <= room else 1
    per = 1 if n <= room else math.ceil(n / room)
    ids, starts, nodes = table.id, table.start_pfn, table.node
    cells: list[BarCell] = []
    for i, (lo, hi) in enumerate(zip(seg_lo, seg_hi)):
        if len(cells) >= width:
            break
        if i:
            cells.append(BarCell(gap=True))
        for j in range(lo, hi, per):
            if len(cells) >= width:
                break
            k = min(j + per, hi)
            cell = BarCell(gap=False, kind=KINDS[_most_common(kinds[j:k])], node=int(nodes[j]),
                           first_id=int(ids[j]), last_id=int(ids[k - 1]),
                           start_pfn=int(starts[j]))
            cells.extend([cell] * repeat)
    cells = cells[:width]
    return BarLayout(tuple(cells), bar_labels(cells, width), n, int(table.online.sum()),
                     int(table.boot.sum()))


def _most_common(kinds: np.ndarray) -> int:
    """The most common kind of a group of blocks; of equally common ones, the first seen."""
    if len(kinds) == 1:
        return int(kinds[0])
    counts = np.bincount(kinds, minlength=len(KINDS))
    tied = np.flatnonzero(counts == counts.max())
    if len(tied) == 1:
        return int(tied[0])
    first = [int(np.argmax(kinds == t)) for t in tied]
    return int(tied[int(np.argmin(first))])


def bar_labels(cells: list[BarCell] | tuple[BarCell, ...], width: int) -> str:
    """The line under the bar: at the start of each run of one node and kind, its label in
    the longest spelling that fits before the next run (with a space to spare)."""
    starts: list[tuple[int, int | None, str]] = []
    prev = None
    for x, cell in enumerate(cells):
        key = None if cell.gap else (cell.node, cell.kind)
        if key is not None and key != prev:
            starts.append((x, cell.node, cell.kind))
        prev = key
    line = [" "] * width
    for i, (x, node, kind) in enumerate(starts):
        end = starts[i + 1][0] - 1 if i + 1 < len(starts) else width
        text = fit_bar_label(node, kind, end - x)
        line[x:x + len(text)] = text
    return "".join(line[:width]).rstrip()
