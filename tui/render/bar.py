"""The machine bar's layout: memory blocks in address order fitted to a width.

Computed once per change of the block list or of the width (an operation, a resize), so a
cursor move only looks its block up (a bisection) and redraws a few hundred cells: the
cost of a key does not grow with the number of blocks.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from .labels import fit_bar_label


def block_kind(block: dict) -> str:
    """What a block is drawn as: its zone when online, else its state (offline...)."""
    state = str(block.get("state") or "")
    if state == "going-offline":
        return state
    if block.get("online"):
        zone = block.get("zone")
        return zone if zone in ("DMA", "DMA32", "Normal", "Movable", "Device") else "online"
    return "offline"


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


def layout_bar(blocks: list[dict], width: int) -> BarLayout:
    """Fit `blocks` (any order) into `width` columns: up to 3 columns per block when they are
    few, several blocks per column when they are many, a gap column between address ranges."""
    blocks = sorted(blocks, key=lambda b: b.get("start_pfn", 0))
    width = max(1, width)
    segments: list[list[dict]] = []
    prev_end = None
    for b in blocks:
        if prev_end is None or b.get("start_pfn") != prev_end:
            segments.append([])
        segments[-1].append(b)
        prev_end = b.get("end_pfn")
    cells: list[BarCell] = []
    if segments:
        room = max(1, width - (len(segments) - 1))
        repeat = max(1, min(3, room // len(blocks))) if len(blocks) <= room else 1
        per = 1 if len(blocks) <= room else math.ceil(len(blocks) / room)
        for i, seg in enumerate(segments):
            if i:
                cells.append(BarCell(gap=True))
            for j in range(0, len(seg), per):
                group = seg[j:j + per]
                kinds = Counter(block_kind(b) for b in group)
                kind = kinds.most_common(1)[0][0]
                cell = BarCell(gap=False, kind=kind, node=group[0].get("node"),
                               first_id=int(group[0].get("id", 0)),
                               last_id=int(group[-1].get("id", 0)),
                               start_pfn=int(group[0].get("start_pfn", 0)))
                cells.extend([cell] * repeat)
    cells = cells[:width]
    online = sum(1 for b in blocks if b.get("online"))
    boot = sum(1 for b in blocks if b.get("boot"))
    return BarLayout(tuple(cells), bar_labels(cells, width), len(blocks), online, boot)


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
