"""The main screen: machine bar, pfn grid, inspector + counters, narration (lesson playback only),
event log, footer.

The app owns the machine; it hands it down with `show_machine` after every change. Widgets post
messages up (cursor moved, block clicked) and the screen keeps the inspector in step.

Speed: a key must change the screen in one update. The grid calls `_follow_cursor` directly
when its cursor moves (before the frame is drawn), and the panels that follow the cursor
(inspector, the machine bar's marker) read only that pfn's page, section and block. Whatever
reads every block (the bar's layout, the counters) runs only after an operation.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer, Static

from bridge.protocol import MachineView
from tui.keys import make_bindings
from tui.messages import BlockClicked
from tui.playback import Playback
from tui.widgets.counters import Counters
from tui.widgets.event_log import EventLog
from tui.widgets.inspector import Inspector
from tui.widgets.legend import Legend
from tui.widgets.machine_bar import MachineBar
from tui.widgets.narration import Narration
from tui.widgets.pfn_grid import PfnGrid
from tui.widgets.status_line import StatusLine


def grid_available() -> bool:
    return True


class MainScreen(Screen):
    BINDINGS = make_bindings()

    def __init__(self, machine: MachineView, *, mode: str = "color") -> None:
        super().__init__(id="main")
        self.machine = machine
        self.mode = mode
        self.highlight: list[tuple[int, int]] = []
        self._inspected: int | None = None   # the pfn the inspector shows
        self.selection: list[int] = []
        self.status_facts: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        yield MachineBar(id="bar")
        with Horizontal(id="middle"):
            yield PfnGrid(self.machine, mode=self.mode, id="grid")
            with Vertical(id="side"):
                yield Inspector(id="inspector")
                yield Counters(id="counters")
        yield Legend(mode=self.mode, id="legend")
        yield Narration(id="narration")
        yield EventLog(id="log")
        yield Footer(id="footer")

    def on_mount(self) -> None:
        self.query_one("#bar", MachineBar).set_mode(self.mode)
        self.grid.cursor_listener = self._follow_cursor
        self.grid.zoom_listener = self._follow_zoom
        self.grid.engine_busy = lambda: self.app.busy
        self.show_machine(self.machine, mark_changes=False)
        self.grid.focus()
        self._apply_size(self.size.width, self.size.height)

    # -- attributes down ---------------------------------------------------------------
    @property
    def grid(self) -> PfnGrid:
        return self.query_one("#grid", PfnGrid)

    @property
    def narration(self) -> Narration:
        return self.query_one("#narration", Narration)

    def show_playback(self, playback: Playback | None, keys: dict[str, str] | None = None) -> None:
        """Draw the playback's position in the narration panel (None hides the panel)."""
        self.narration.show(playback, keys)
        self.set_class(playback is not None, "-playback")
        self.refresh_bindings()

    @property
    def log_widget(self) -> EventLog:
        return self.query_one("#log", EventLog)

    def cursor_pfn(self) -> int:
        return int(self.grid.cursor_pfn)

    def show_machine(self, machine: MachineView, *, mark_changes: bool = True, new: bool = False) -> None:
        """The machine changed (an operation, undo, or a whole new machine): redraw every panel,
        all in the same screen update."""
        with self.app.batch_update():
            self.machine = machine
            grid = self.grid
            if new or grid.machine is not machine:
                grid.machine = machine
            grid.refresh_from_machine()
            # the blocks are read here, once per operation, as numpy columns: the panels'
            # cost follows the number of blocks in numpy, not in Python
            table = machine.block_table()
            self.query_one("#bar", MachineBar).update_blocks(table, machine.geometry.block_size)
            self.query_one("#counters", Counters).update_from(machine, mark_changes=mark_changes,
                                                              table=table)
            self.query_one("#legend", Legend).update_from(machine)
            self.refresh_inspector()

    def refresh_inspector(self) -> None:
        """Show the cursor's pfn in the inspector and its block in the machine bar."""
        pfn = self.cursor_pfn()
        self._inspected = pfn
        self.query_one("#inspector", Inspector).show(self.machine, pfn)
        self.query_one("#bar", MachineBar).set_cursor_block(self.machine.block_of(pfn))

    def _follow_cursor(self, pfn: int) -> None:
        """Called by the grid as its cursor moves, inside the key's handler."""
        if pfn != self._inspected:
            self.refresh_inspector()

    def show_status(self, facts: dict[str, str]) -> None:
        """The status line: profile, arch, page and block size, zoom in words, mode, theme,
        the running job, the block selection, the panels a small terminal hides."""
        grid = self.grid
        selection = (f"memory{self.selection[0]}-{self.selection[-1]}" if self.selection
                     else None)
        self.status_facts = facts
        self.query_one("#status", StatusLine).update_from(
            self.machine, per_cell=grid.per_cell if grid is not None else 1, mode=self.mode,
            theme=facts["theme"] or None, running=facts["running"] or None,
            selection=selection, hidden=tuple(self.hidden_panels()))

    def hidden_panels(self) -> list[str]:
        """The panels a small terminal has folded away (said on the status line)."""
        hidden = []
        if self.has_class("-narrow"):
            hidden += ["inspector", "counters"]
        if self.has_class("-tiny"):
            hidden += ["event log"]
        return hidden

    def set_selection(self, blocks: list[int] | None) -> None:
        """The selected run of blocks for range operations (None: no selection)."""
        self.selection = list(blocks or [])
        if self.status_facts:
            self.show_status(self.status_facts)

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.grid.mode = mode
        self.query_one("#bar", MachineBar).set_mode(mode)
        self.query_one("#legend", Legend).mode = mode

    def set_highlight(self, ranges: list[tuple[int, int]]) -> None:
        self.highlight = list(ranges)
        self.grid.set_highlight(self.highlight)

    def toggle_crosshair(self) -> bool:
        """Show or hide the crosshair on the cursor's line and column; returns the new state."""
        grid = self.grid
        grid.crosshair = not grid.crosshair
        return grid.crosshair

    # -- messages up -------------------------------------------------------------------
    @on(PfnGrid.CursorMoved)
    def _cursor_moved(self, event: PfnGrid.CursorMoved) -> None:
        # normally already shown by _follow_cursor; this catches moves made before mount
        if event.pfn != self._inspected:
            self.refresh_inspector()

    def _follow_zoom(self, per_cell: int) -> None:
        """Called by the grid as the zoom changes, inside the key's handler: the status line
        says the new zoom in the same frame as the grid shows it."""
        if self.status_facts:
            self.show_status(self.status_facts)

    @on(BlockClicked)
    def _block_clicked(self, event: BlockClicked) -> None:
        grid = self.grid
        grid.goto_pfn(event.start_pfn)
        grid.focus()
        self.refresh_inspector()

    # -- small terminals: collapse panels ----------------------------------------------
    def on_resize(self, event: Resize) -> None:
        self._apply_size(event.size.width, event.size.height)

    def _apply_size(self, width: int, height: int) -> None:
        self.set_class(width < 76, "-narrow")
        self.set_class(height < 30, "-short")
        self.set_class(height < 15 or width < 50, "-tiny")
        if self.status_facts:
            self.show_status(self.status_facts)
