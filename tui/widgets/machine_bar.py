"""The machine overview: the physical address space as a bar of memory blocks.

Blocks are drawn in address order, coloured by what they are (online in a zone, offline),
with node and zone labels under the runs, a marker under the cursor's block and a summary.
Attributes down: the screen hands it the block list with `update_blocks`; a click posts
`BlockClicked` up.
"""

from __future__ import annotations

import math

from rich.text import Text
from textual.events import Click
from textual.widget import Widget

from tui.messages import BlockClicked

# key -> (colour, glyph, ascii)
BLOCK_STYLES: dict[str, tuple[str, str, str]] = {
    "DMA": ("magenta", "D", "D"),
    "DMA32": ("yellow", "3", "3"),
    "Normal": ("green3", "N", "N"),
    "Movable": ("deep_sky_blue1", "M", "M"),
    "Device": ("grey50", "V", "V"),
    "online": ("green3", "n", "n"),       # online, zone unknown
    "offline": ("grey42", "░", "o"),
    "going-offline": ("orange1", "~", "~"),
}
GAP = ("grey23", "┊", ":")


def block_key(block: dict) -> str:
    state = str(block.get("state") or "")
    if state == "going-offline":
        return state
    if block.get("online"):
        zone = block.get("zone")
        return zone if zone in BLOCK_STYLES else "online"
    return "offline"


def _human(nbytes: int) -> str:
    value = float(nbytes)
    for unit in ("B", "K", "M", "G", "T", "P"):
        if value < 1024 or unit == "P":
            return f"{value:.0f}{unit}" if value == int(value) else f"{value:.1f}{unit}"
        value /= 1024
    return f"{nbytes}B"


class MachineBar(Widget):
    DEFAULT_CSS = """
    MachineBar { height: 3; }
    MachineBar.-one-line { height: 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.blocks: list[dict] = []
        self.block_bytes = 0
        self.cursor_block: int | None = None
        self.mode = "color"
        self._cells: list[tuple[int, int, dict]] = []   # (x0, x1, first block) for clicks
        self._hotadded_bytes = 0

    # -- attributes down ---------------------------------------------------------------
    def update_blocks(self, blocks: list[dict], block_bytes: int, hotadded_bytes: int = 0) -> None:
        self.blocks = sorted(blocks, key=lambda b: b.get("start_pfn", 0))
        self.block_bytes = block_bytes
        self._hotadded_bytes = hotadded_bytes
        self.refresh()

    def set_cursor_block(self, block: int | None) -> None:
        if block != self.cursor_block:
            self.cursor_block = block
            self.refresh()

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.refresh()

    # -- drawing -----------------------------------------------------------------------
    def _layout(self, width: int) -> list[tuple[str, list[dict]]]:
        """Cells: ("gap", []) or ("blk", blocks in this cell), fitted to `width`."""
        segments: list[list[dict]] = []
        prev_end = None
        for b in self.blocks:
            if prev_end is None or b.get("start_pfn") != prev_end:
                segments.append([])
            segments[-1].append(b)
            prev_end = b.get("end_pfn")
        if not segments:
            return []
        gaps = len(segments) - 1
        nblocks = len(self.blocks)
        room = max(1, width - gaps)
        cells: list[tuple[str, list[dict]]] = []
        if nblocks <= room:
            repeat = max(1, min(3, room // nblocks))
            for i, seg in enumerate(segments):
                if i:
                    cells.append(("gap", []))
                for b in seg:
                    cells.extend(("blk", [b]) for _ in range(repeat))
        else:
            per = math.ceil(nblocks / room)
            for i, seg in enumerate(segments):
                if i:
                    cells.append(("gap", []))
                for j in range(0, len(seg), per):
                    cells.append(("blk", seg[j:j + per]))
        return cells[:width]

    def render(self) -> Text:
        width = max(1, self.size.width)
        cells = self._layout(width)
        glyph_index = {"color": 1, "glyph": 1, "ascii": 2}.get(self.mode, 1)
        bar = Text(no_wrap=True, overflow="crop")
        labels = [" "] * width
        self._cells = []
        prev_label = None
        label_at: list[tuple[int, str]] = []
        cursor_x = None
        for x, (kind, blks) in enumerate(cells):
            if kind == "gap":
                bar.append(GAP[glyph_index] if self.mode != "color" else "┊", style=GAP[0])
                prev_label = None
                continue
            keys = [block_key(b) for b in blks]
            key = max(set(keys), key=keys.count)
            colour, glyph, ascii_ = BLOCK_STYLES[key]
            if self.mode == "color":
                ch = "█" if key != "offline" else "░"
            else:
                ch = glyph if self.mode == "glyph" else ascii_
            style = colour if self.mode != "ascii" else ""
            if self.cursor_block is not None and any(b.get("id") == self.cursor_block for b in blks):
                style = f"{style} reverse".strip()
                cursor_x = x if cursor_x is None else cursor_x
            bar.append(ch, style=style or "none")
            self._cells.append((x, x + 1, blks[0]))
            node = blks[0].get("node")
            label = f"n{node}:{key}" if key != "offline" else f"n{node}:off"
            if label != prev_label:
                label_at.append((x, label))
                prev_label = label
        for i, (x, label) in enumerate(label_at):
            nxt = label_at[i + 1][0] if i + 1 < len(label_at) else width
            text = label[: max(0, nxt - x - 1)] if nxt - x - 1 < len(label) else label
            for k, ch in enumerate(text):
                if x + k < width:
                    labels[x + k] = ch
        lines = Text(no_wrap=True, overflow="crop")
        lines.append_text(bar)
        if self.size.height >= 2:
            lines.append("\n")
            lines.append("".join(labels).rstrip(), style="dim")
        if self.size.height >= 3:
            lines.append("\n")
            lines.append_text(self._summary_line(width, cursor_x))
        return lines

    def _summary_line(self, width: int, cursor_x: int | None) -> Text:
        online = sum(1 for b in self.blocks if b.get("online"))
        total = len(self.blocks)
        boot = sum(1 for b in self.blocks if b.get("boot"))
        summary = (f"{total} blocks of {_human(self.block_bytes)}: {online} online, "
                   f"{total - online} offline; boot {boot}, hot-added {total - boot}")
        line = Text(no_wrap=True, overflow="crop")
        if cursor_x is not None and self.cursor_block is not None:
            marker = f"▲ block {self.cursor_block}"
            if cursor_x + len(marker) + 3 + len(summary) <= width:
                line.append(" " * cursor_x + marker, style="bold")
                line.append("   " + summary, style="dim")
                return line
            line.append(" " * min(cursor_x, max(0, width - len(marker))) + marker, style="bold")
            return line
        line.append(summary, style="dim")
        return line

    def on_click(self, event: Click) -> None:
        for x0, x1, block in self._cells:
            if x0 <= event.x < x1:
                self.post_message(BlockClicked(int(block.get("id", 0)), int(block.get("start_pfn", 0))))
                return
