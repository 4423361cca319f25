"""The machine overview: the physical address space as a bar of memory blocks.

Blocks are drawn in address order, coloured by what they are (online in a zone, offline),
with node and zone labels under the runs, the cursor's block marked by a glyph (its zone
colour kept) and a summary. Attributes down: the screen hands it the block table with
`update_blocks` (after an operation) and the cursor's block with `set_cursor_block` (on a
cursor move, which costs a look-up in the cached layout, not a pass over the blocks); a
click posts `BlockClicked` up.
"""

from __future__ import annotations

from rich.text import Text
from textual.events import Click
from textual.widget import Widget

from engine import BlockTable
from tui.messages import BlockClicked
from tui.render.bar import BarLayout, layout_bar

# kind -> (colour, glyph, ascii)
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
# the cursor's block in colour mode: a glyph in the block's own colour, so both stay readable
CURSOR_GLYPH = "◆"


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
        self.table: BlockTable | None = None
        self.block_bytes = 0
        self.cursor_block: int | None = None
        self.mode = "color"
        self._layout: BarLayout | None = None
        self._layout_width = -1

    # -- attributes down ---------------------------------------------------------------
    def update_blocks(self, table: BlockTable, block_bytes: int) -> None:
        """The machine's blocks (its `block_table()`, read once per operation)."""
        self.table = table
        self.block_bytes = block_bytes
        self._layout = None
        self.refresh()

    def set_cursor_block(self, block: int | None) -> None:
        if block != self.cursor_block:
            self.cursor_block = block
            self.refresh()

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.refresh()

    # -- drawing -----------------------------------------------------------------------
    def bar_layout(self, width: int) -> BarLayout:
        """The layout for `width` columns, rebuilt only when the blocks or the width change."""
        if self._layout is None or self._layout_width != width:
            self._layout = (layout_bar(self.table, width) if self.table is not None
                            else BarLayout((), "", 0, 0, 0))
            self._layout_width = width
        return self._layout

    def render(self) -> Text:
        width = max(1, self.size.width)
        layout = self.bar_layout(width)
        glyph_index = 2 if self.mode == "ascii" else 1
        cursor_x = layout.cell_of_block(self.cursor_block)
        # one span per run of equal cells, not one per cell: Textual's cost follows spans
        runs: list[tuple[str, str]] = []
        for x, cell in enumerate(layout.cells):
            ch, style = self._cell_look(cell, x == cursor_x, glyph_index)
            if runs and runs[-1][1] == style and x - 1 != cursor_x:
                runs[-1] = (runs[-1][0] + ch, style)
            else:
                runs.append((ch, style))
        bar = Text(no_wrap=True, overflow="crop")
        for text, style in runs:
            bar.append(text, style=style)
        lines = Text(no_wrap=True, overflow="crop")
        lines.append_text(bar)
        if self.size.height >= 2:
            lines.append("\n")
            lines.append(layout.labels, style="dim")
        if self.size.height >= 3:
            lines.append("\n")
            lines.append_text(self._summary_line(layout, width, cursor_x))
        return lines

    def _cell_look(self, cell, is_cursor: bool, glyph_index: int) -> tuple[str, str]:
        """(character, style) of one bar cell."""
        if cell.gap:
            return (GAP[glyph_index] if self.mode != "color" else "┊"), GAP[0]
        colour, glyph, ascii_ = BLOCK_STYLES[cell.kind]
        if self.mode == "color":
            ch = "█" if cell.kind != "offline" else "░"
        else:
            ch = glyph if self.mode == "glyph" else ascii_
        style = colour if self.mode != "ascii" else ""
        if is_cursor:
            if self.mode == "color":
                ch, style = CURSOR_GLYPH, f"bold {colour}"
            else:
                style = f"{style} bold reverse".strip()
        return ch, style or "none"

    def _summary_line(self, layout: BarLayout, width: int, cursor_x: int | None) -> Text:
        total, online, boot = layout.total, layout.online, layout.boot
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
        if self._layout is None:
            return
        cells = self._layout.cells
        if 0 <= event.x < len(cells) and not cells[event.x].gap:
            cell = cells[event.x]
            self.post_message(BlockClicked(cell.first_id, cell.start_pfn))
