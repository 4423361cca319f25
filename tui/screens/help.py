"""Help: every key (as currently mapped) and the legend of states, colours and glyphs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.keys import ACTIONS, GRID_KEYS, ActionSpec, display_keys
from tui.render.glyphs import legend
from tui.screens.dialogs import SafeModal
from tui.widgets.machine_bar import BLOCK_STYLES


def legend_rows() -> list[tuple[str, str, str, str]]:
    """(state, glyph, ascii, description) for every pfn state."""
    return legend()


MAIN_KEYS_TITLE = ("keys (every action is also in the command palette: ctrl+p; the lesson keys "
                   "act only with --lesson / --scenario or a lesson from L)")
MAIN_EXTRA_ROWS = (("ctrl+p", "command palette"), ("ctrl+q", "quit from anywhere"))


class HelpScreen(SafeModal):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 100; max-width: 100%; height: 100%; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    """
    BINDINGS = [Binding("escape,q,question_mark,f1", "close", "Close", show=False)]

    def __init__(self, keymap: dict[str, str] | None = None,
                 state_colors: dict[str, Any] | None = None, *,
                 actions: Sequence[ActionSpec] = ACTIONS, title: str = "memmap-tui help",
                 keys_title: str = MAIN_KEYS_TITLE,
                 extra_rows: Sequence[tuple[str, str]] = MAIN_EXTRA_ROWS) -> None:
        """The main app's help by default; compare mode passes its own actions and words."""
        super().__init__()
        self.keymap = keymap or {}
        self.state_colors = state_colors or {}
        self.actions = tuple(actions)
        self.title_text = title
        self.keys_title = keys_title
        self.extra_rows = tuple(extra_rows)

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = f"{self.title_text}  (escape closes)"
            yield Static(self.keys_table(), id="help-keys")
            yield Static(self.legend_table(), id="help-legend")
            yield Static(self.bar_legend(), id="help-bar")

    def keys_table(self) -> Table:
        table = Table(title=self.keys_title, show_header=True, header_style="bold", expand=True,
                      title_justify="left")
        table.add_column("key", style="bold", no_wrap=True)
        table.add_column("action")
        for spec in self.actions:
            if not spec.playback:
                table.add_row(display_keys(spec, self.keymap), spec.help)
        for keys, what in GRID_KEYS:
            table.add_row(keys, f"grid: {what}")
        for spec in self.actions:
            if spec.playback:
                table.add_row(display_keys(spec, self.keymap), spec.help)
        for keys, what in self.extra_rows:
            table.add_row(keys, what)
        return table

    def legend_table(self) -> Table:
        table = Table(title="pfn states (colour, glyph, ascii)", show_header=True,
                      header_style="bold", expand=True, title_justify="left")
        table.add_column("colour", no_wrap=True)
        table.add_column("glyph", no_wrap=True)
        table.add_column("ascii", no_wrap=True)
        table.add_column("state", no_wrap=True)
        table.add_column("meaning")
        for state, glyph, ascii_, desc in legend_rows():
            colour = self.state_colors.get(state)
            swatch = Text("  ██  ", style=str(colour)) if colour else Text("  -   ")
            table.add_row(swatch, glyph, ascii_, state, desc)
        return table

    def bar_legend(self) -> Text:
        out = Text("\nmachine bar (top): one cell per memory block (or group of blocks), "
                   "in address order; ┊ = a gap in the address space\n", style="bold")
        words = {"DMA": "online, ZONE_DMA", "DMA32": "online, ZONE_DMA32",
                 "Normal": "online, ZONE_NORMAL", "Movable": "online, ZONE_MOVABLE",
                 "Device": "ZONE_DEVICE", "online": "online", "offline": "offline",
                 "going-offline": "going offline"}
        for key, (colour, glyph, ascii_) in BLOCK_STYLES.items():
            out.append("  █ ", style=colour)
            out.append(f"{glyph} {ascii_}  {words.get(key, key)}\n")
        out.append("\ncounters: values changed by the last operation are shown reversed, "
                   "with their delta\n", style="dim")
        return out

    def action_close(self) -> None:
        self.finish(None)
