"""The main screen: machine bar, pfn grid, inspector + counters, narration (lesson playback only),
event log, footer.

The app owns the machine; it hands it down with `show_machine` after every change. Widgets post
messages up (cursor moved, block clicked) and the screen keeps the inspector in step.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer, Static

from tui.formatting import human_bytes
from tui.keys import make_bindings
from tui.messages import BlockClicked
from tui.widgets.counters import Counters
from tui.widgets.event_log import EventLog
from tui.widgets.inspector import Inspector
from tui.widgets.machine_bar import MachineBar
from tui.widgets.narration import Narration

try:  # the pfn grid is written by another helper; run without it until it exists
    from tui.widgets.pfn_grid import PfnGrid
except ImportError:  # pragma: no cover - only before the grid is merged
    PfnGrid = None  # type: ignore[assignment]


def grid_available() -> bool:
    return PfnGrid is not None


class MainScreen(Screen):
    BINDINGS = make_bindings()

    def __init__(self, machine: Any, *, mode: str = "color") -> None:
        super().__init__(id="main")
        self.machine = machine
        self.mode = mode
        self.highlight: list[tuple[int, int]] = []
        self.selection: list[int] = []
        self.status_facts: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield Static("", id="status", markup=False)
        yield MachineBar(id="bar")
        with Horizontal(id="middle"):
            if PfnGrid is not None:
                yield PfnGrid(self.machine, mode=self.mode, id="grid")
            else:
                yield Static("pfn grid not available yet", id="grid")
            with Vertical(id="side"):
                yield Inspector(id="inspector")
                yield Counters(id="counters")
        yield Narration(id="narration")
        yield EventLog(id="log")
        yield Footer(id="footer")

    def on_mount(self) -> None:
        self.query_one("#bar", MachineBar).set_mode(self.mode)
        self.show_machine(self.machine, mark_changes=False)
        grid = self.grid
        if grid is not None:
            grid.focus()
        self._apply_size(self.size.width, self.size.height)

    # -- attributes down ---------------------------------------------------------------
    @property
    def grid(self):
        if PfnGrid is None:
            return None
        try:
            return self.query_one("#grid", PfnGrid)
        except Exception:
            return None

    @property
    def narration(self) -> Narration:
        return self.query_one("#narration", Narration)

    def show_playback(self, playback: Any, keys: dict[str, str] | None = None) -> None:
        """Draw the playback's position in the narration panel (None hides the panel)."""
        self.narration.show(playback, keys)
        self.set_class(playback is not None, "-playback")
        self.refresh_bindings()

    @property
    def log_widget(self) -> EventLog:
        return self.query_one("#log", EventLog)

    def cursor_pfn(self) -> int | None:
        grid = self.grid
        if grid is None:
            return None
        try:
            return int(grid.cursor_pfn)
        except Exception:
            return None

    def show_machine(self, machine: Any, *, mark_changes: bool = True, new: bool = False) -> None:
        """The machine changed (an operation, undo, or a whole new machine): redraw everything."""
        self.machine = machine
        grid = self.grid
        if grid is not None:
            if new or grid.machine is not machine:
                grid.machine = machine
            grid.refresh_from_machine()
        self._refresh_bar()
        self.query_one("#counters", Counters).update_from(machine, mark_changes=mark_changes)
        self.refresh_inspector()

    def _refresh_bar(self) -> None:
        m = self.machine
        try:
            blocks = m.blocks()
            resources = m.resources()
        except Exception:
            blocks, resources = [], []
        hot = sum(int(r.get("size", 0)) for r in resources)
        self.query_one("#bar", MachineBar).update_blocks(blocks, m.geometry.block_size, hot)

    def refresh_inspector(self) -> None:
        pfn = self.cursor_pfn()
        self.query_one("#inspector", Inspector).show(self.machine, pfn)
        block = None
        if pfn is not None:
            try:
                block = self.machine.block_of(pfn)
            except Exception:
                block = None
        self.query_one("#bar", MachineBar).set_cursor_block(block)

    def show_status(self, facts: dict[str, str]) -> None:
        """The status line: profile, arch, page and block size, zoom in words, mode, theme,
        the running job, the block selection."""
        grid = self.grid
        zoom = ""
        if grid is not None:
            geo = self.machine.geometry
            per = grid.per_cell
            zoom = f"1 cell = {per} pfn{'s' if per != 1 else ''} ({human_bytes(per * geo.page_size)})"
        parts = [f"{facts['arch']} · profile {facts['profile']}",
                 f"{facts['page']} pages, {facts['block']} blocks", zoom,
                 f"mode {facts['mode']}", f"theme {facts['theme']}"]
        if self.selection:
            parts.append(f"selected memory{self.selection[0]}-{self.selection[-1]}")
        parts.append(f"running: {facts['running']}" if facts["running"] else "idle")
        hidden = self.hidden_panels()
        if hidden:
            parts.insert(0, f"hidden: {', '.join(hidden)} (enlarge the terminal; ? keys)")
        self.status_facts = facts
        self.query_one("#status", Static).update(" │ ".join(p for p in parts if p))

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
        grid = self.grid
        if grid is not None:
            grid.mode = mode
        self.query_one("#bar", MachineBar).set_mode(mode)

    def set_highlight(self, ranges: list[tuple[int, int]]) -> None:
        self.highlight = list(ranges)
        grid = self.grid
        if grid is not None:
            grid.set_highlight(self.highlight)

    # -- messages up -------------------------------------------------------------------
    if PfnGrid is not None:
        @on(PfnGrid.CursorMoved)
        def _cursor_moved(self, event) -> None:
            self.refresh_inspector()

    if PfnGrid is not None:
        @on(PfnGrid.ZoomChanged)
        def _zoom_changed(self, event) -> None:
            if self.status_facts:
                self.show_status(self.status_facts)

    @on(BlockClicked)
    def _block_clicked(self, event: BlockClicked) -> None:
        grid = self.grid
        if grid is not None:
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
