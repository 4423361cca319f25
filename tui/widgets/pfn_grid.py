"""PfnGrid: the machine's physical memory, pfn by pfn, as a scrollable Line-API widget.

The widget owns interaction and caching only; where pfns go on screen is
`tui.render.Layout`, and how a line looks is `tui.render.render_row`. Lines are rendered
lazily (only visible ones, through `render_line`) and cached as Strips keyed by
everything that can change their look, so scrolling over cached lines and moving the
cursor (which repaints just the old and new cursor lines) stay far below a frame.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import ClassVar

import numpy as np
from rich.segment import Segment
from textual import events
from textual._context import NoActiveAppError
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from bridge.protocol import MachineView
from tui.widgets.text_panel import set_virtual_size_quietly
from tui.render import (
    MODES,
    CellRow,
    crosshair_cell,
    CellsLine,
    HeaderLine,
    Layout,
    Palette,
    format_section_header,
    gutter_label,
    highlight_mask,
    merge_ranges,
    render_header,
    render_row,
    zoom_levels,
)

STRIP_CACHE_SIZE = 2048
FRAME_TIMES_KEPT = 10_000
# A key that changed nothing leaves its time behind; a repaint requested this much later
# (say, by a finished engine operation) is not that key's frame.
STALE_KEY_SECONDS = 1.0
# The clock Textual stamps events with (Message.time), so a key's latency can be counted
# from when the key event was made, including any wait in the message queue.
event_clock = time.perf_counter if sys.platform == "win32" else time.monotonic
# Idle prefetch: a while after painting, render the pages above and below the view into
# the cache in slices of at most this long, so page moves mostly hit the cache while a
# key arriving meanwhile waits for one slice at most.
PREFETCH_DELAY_S = 0.02
PREFETCH_SLICE_S = 0.003


def choose_cols(available: int) -> int:
    """Cells per pfn row for `available` columns.

    A power of two keeps row starts on round pfn numbers (and pageblocks aligned), so
    it is preferred unless it would waste more than a quarter of the width; then the
    widest multiple of 16.
    """
    if available < 16:
        return max(1, available)
    power = 1 << (available.bit_length() - 1)
    return power if power * 4 >= available * 3 else available - available % 16


class PfnGrid(ScrollView, can_focus=True):
    """Scrollable map of the present sections; one cell = `per_cell` pfns."""

    DEFAULT_CSS = """
    PfnGrid {
        background: $surface;
        color: $foreground;
        overflow-y: scroll;
        overflow-x: auto;
    }
    PfnGrid > .pfn-grid--header {
        color: $text-muted;
        background: $panel;
        text-style: bold;
    }
    PfnGrid > .pfn-grid--gutter {
        color: $text-muted;
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"pfn-grid--header", "pfn-grid--gutter"}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(0,-1)", "Up", show=False),
        Binding("down,j", "cursor(0,1)", "Down", show=False),
        Binding("left,h", "cursor(-1,0)", "Left", show=False),
        Binding("right,l", "cursor(1,0)", "Right", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("g,home", "home", "First pfn", show=False),
        Binding("G,end", "end", "Last pfn", show=False),
        Binding("plus,equals_sign", "zoom_in", "Zoom in"),
        Binding("minus", "zoom_out", "Zoom out"),
    ]

    class CursorMoved(Message):
        """The cursor is on a new pfn."""

        def __init__(self, pfn: int) -> None:
            super().__init__()
            self.pfn = pfn

    class ZoomChanged(Message):
        """The number of pfns per cell changed."""

        def __init__(self, per_cell: int) -> None:
            super().__init__()
            self.per_cell = per_cell

    def __init__(
        self,
        machine: MachineView | None,
        *,
        mode: str = "color",
        id: str | None = None,
        name: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, name=name, classes=classes)
        if mode not in MODES:
            raise ValueError(f"unknown grid mode {mode!r} (expected one of {', '.join(MODES)})")
        self._machine = machine
        self._mode = mode
        self._per_cell = 1
        self._cursor_pfn = 0
        self._layout: Layout | None = None
        self._sections = np.zeros(0, dtype=np.int64)
        self._breaks: tuple[int, ...] = ()
        self._machine_generation = -1
        # Bumped by anything that changes every line's look without changing the key
        # fields named in the cache key (colours, highlights, machine contents).
        self._epoch = 0
        self._cache: LRUCache[tuple, Strip] = LRUCache(STRIP_CACHE_SIZE)
        # the engine's answer for a line (codes, mixed), independent of the cursor, so a
        # cursor move never asks the engine again; filled a band at a time per frame
        self._cells: LRUCache[tuple, tuple] = LRUCache(STRIP_CACHE_SIZE)
        self._headers: dict[tuple[int, int, int | None], str] = {}
        self._layouts: dict[tuple, Layout] = {}
        self._colors: dict[str, str] = {}
        self._palette = Palette({})
        self._highlight = merge_ranges([])
        self._gutter_digits = 8
        # Frame timing: a key's arrival time is held until the next render pass ends.
        self.frame_times: list[float] = []
        self._key_time: float | None = None
        self._frame_started: float | None = None
        self._frame_ended: float | None = None
        self._prefetch_scheduled = False
        self._view: tuple | None = None
        self._crosshair = False
        # Called with the new pfn as soon as the cursor moves, before this key's frame is
        # drawn, so the panels that follow the cursor land in the same screen update
        # (CursorMoved is also posted, but it arrives a frame later).
        self.cursor_listener: Callable[[int], None] | None = None
        self.zoom_listener: Callable[[int], None] | None = None   # the same for the zoom
        # Set by the owner: True while an operation changes the machine in a worker thread
        # (the grid then draws only cached lines and does not prefetch).
        self.engine_busy: Callable[[], bool] | None = None
        self._read_machine(initial=True)

    # -- public API ------------------------------------------------------------------

    @property
    def machine(self) -> MachineView | None:
        return self._machine

    @machine.setter
    def machine(self, machine: MachineView | None) -> None:
        self._machine = machine
        self._sections = np.zeros(0, dtype=np.int64)
        self.refresh_from_machine()

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown grid mode {mode!r} (expected one of {', '.join(MODES)})")
        if mode != self._mode:
            self._relayout(lambda: setattr(self, "_mode", mode))

    @property
    def per_cell(self) -> int:
        return self._per_cell

    @per_cell.setter
    def per_cell(self, per_cell: int) -> None:
        levels = self.zoom_levels
        # Snap to the nearest level at or below the request.
        wanted = max([level for level in levels if level <= per_cell] or [levels[0]])
        if wanted != self._per_cell:
            self._relayout(lambda: setattr(self, "_per_cell", wanted), keep_cache=True)
            if self.zoom_listener is not None:
                self.zoom_listener(wanted)
            self.post_message(self.ZoomChanged(wanted))

    @property
    def zoom_levels(self) -> list[int]:
        return zoom_levels(self._pages_per_section())

    @property
    def cursor_pfn(self) -> int:
        return self._cursor_pfn

    @cursor_pfn.setter
    def cursor_pfn(self, pfn: int) -> None:
        self.goto_pfn(pfn)

    @property
    def crosshair(self) -> bool:
        """Whether the cursor's line and column are tinted across the whole grid."""
        return self._crosshair

    @crosshair.setter
    def crosshair(self, on: bool) -> None:
        if bool(on) != self._crosshair:
            self._crosshair = bool(on)
            self._mark_frame()
            self.refresh()

    @property
    def layout_map(self) -> Layout | None:
        """The current Layout (None until the widget has a width)."""
        return self._layout

    def refresh_from_machine(self) -> None:
        """Call after every engine operation: re-reads sections, drops cached lines."""
        self._read_machine()
        self.refresh()

    def move_cursor(self, dx: int = 0, dy: int = 0, *, follow: bool = True) -> None:
        """Move by dx cells along reading order and dy pfn rows (same column)."""
        layout = self._layout
        if layout is None or layout.empty:
            return
        pfn = layout.nearest_pfn(self._cursor_pfn)
        if dx:
            pfn = layout.step_cells(pfn, dx)
        if dy:
            pfn = layout.step_rows(pfn, dy)
        self._set_cursor(pfn, follow=follow)

    def goto_pfn(self, pfn: int) -> None:
        """Put the cursor on pfn (or the next laid-out pfn), scrolling it into view."""
        layout = self._layout
        if layout is None:
            self._cursor_pfn = int(pfn)
            return
        target = layout.nearest_pfn(int(pfn))
        if target is not None:
            self._set_cursor(target, center=True)

    def home(self) -> None:
        if self._layout is not None and not self._layout.empty:
            self._set_cursor(self._layout.first_pfn)

    def end(self) -> None:
        if self._layout is not None and not self._layout.empty:
            self._set_cursor(self._layout.last_pfn)

    def zoom_in(self) -> None:
        self.per_cell = max(1, self._per_cell // 2)

    def zoom_out(self) -> None:
        self.per_cell = self._per_cell * 2

    def set_highlight(self, ranges: list[tuple[int, int]]) -> None:
        """Mark these pfn ranges (e.g. the pages backing a section's memmap)."""
        self._highlight = merge_ranges(ranges)
        self._invalidate()

    def set_state_colors(self, colors: dict[str, str]) -> None:
        """State name (or "state-<name>") -> colour, plus grid-cursor/backing/mixed."""
        self._colors = dict(colors)
        self._rebuild_palette()

    # -- machine and layout ------------------------------------------------------------

    def _pages_per_section(self) -> int:
        if self._machine is None:
            return 1
        return int(self._machine.geometry.pages_per_section)

    def _read_machine(self, initial: bool = False) -> None:
        machine = self._machine
        if machine is None:
            sections, breaks = np.zeros(0, dtype=np.int64), ()
        else:
            sections = np.asarray(machine.present_sections(), dtype=np.int64)
            pps = int(machine.geometry.pages_per_section)
            # Start a new coarse band at every hot-added range, so boot memory and
            # each hot-add read as separate blocks of the map.
            breaks = tuple(sorted({int(r["start_pfn"]) // pps for r in machine.resources()}))
            self._gutter_digits = max(4, len(f"{max(int(machine.geometry.max_pfn) - 1, 1):x}"))
            self._per_cell = min(self._per_cell, pps)
            self._machine_generation = int(machine.generation)
        changed = (not np.array_equal(sections, self._sections)) or breaks != self._breaks
        self._sections, self._breaks = sections, breaks
        if changed:
            self._layouts.clear()     # every cached layout was built for the old sections
        if initial:
            self._cursor_pfn = int(sections[0]) * self._pages_per_section() if len(sections) else 0
            return
        if changed or self._layout is None:
            self._relayout(lambda: None)
        else:
            self._invalidate()

    def _available_cols(self) -> int:
        width = self.scrollable_content_region.width
        return width - (self._gutter_digits + 1)

    def _build_layout(self, per_cell: int | None = None) -> Layout | None:
        if not self.is_mounted or self.scrollable_content_region.width <= 0:
            return None
        per_cell = self._per_cell if per_cell is None else per_cell
        cols = choose_cols(max(1, self._available_cols()))
        # layouts are cheap but not free; the zoom prefetch builds the neighbours' early
        key = (per_cell, self._mode, cols)
        layout = self._layouts.get(key)
        if layout is None:
            if len(self._layouts) > 8:
                self._layouts.clear()
            layout = self._layouts[key] = Layout(
                self._sections,
                self._pages_per_section(),
                cols=cols,
                per_cell=per_cell,
                rows_per_line=2 if self._mode == "color" else 1,
                breaks=self._breaks,
            )
        return layout

    def _relayout(self, change, keep_cache: bool = False) -> None:
        """Apply `change` (mode/zoom/sections), rebuild the layout, keep the cursor's
        place on screen. A zoom keeps the caches: their keys carry pfns per cell, so the
        lines the prefetch drew for this zoom level are still good."""
        old_line = self._cursor_line()
        screen_offset = None if old_line is None else old_line - round(self.scroll_y)
        change()
        self._layout = self._build_layout()
        if keep_cache:
            self._mark_frame()
            self.refresh()
        else:
            self._invalidate()
        if self._layout is None:
            return
        self._set_virtual_size(Size(self._gutter_digits + 1 + self._layout.row_cells,
                                    self._layout.total_lines))
        target = self._layout.nearest_pfn(self._cursor_pfn)
        if target is None:
            return
        if target != self._cursor_pfn:  # its section went away
            self._cursor_pfn = target
            self._announce_cursor()
        new_line = self._cursor_line()
        if screen_offset is not None and 0 <= screen_offset < self.scrollable_content_region.height:
            self.scroll_to(y=max(0, new_line - screen_offset), animate=False, immediate=True)
        else:
            self._scroll_to_cursor(center=True)

    def _set_virtual_size(self, size: Size) -> None:
        """Resize the scrollable area without a screen-wide layout pass (see
        `set_virtual_size_quietly`): a zoom would otherwise cost a second frame."""
        set_virtual_size_quietly(self, size)

    def _invalidate(self) -> None:
        self._epoch += 1
        self._cache.clear()
        self._cells.clear()
        self._headers.clear()
        self._mark_frame()
        self.refresh()

    # -- cursor ------------------------------------------------------------------------

    def _cursor_line(self) -> int | None:
        if self._layout is None:
            return None
        pos = self._layout.locate(self._cursor_pfn)
        return None if pos is None else pos.line

    def _set_cursor(self, pfn: int | None, *, center: bool = False, follow: bool = True) -> None:
        if pfn is None or pfn == self._cursor_pfn:
            return
        old = self._cursor_place()
        self._cursor_pfn = int(pfn)
        new = self._cursor_place()
        if self._crosshair and (old is None or new is None or old[1] != new[1]):
            self.refresh()   # the crosshair's column moved: every line changes
        else:
            # only the lines the cursor (and the crosshair's row) left and entered
            for place in {old, new} - {None}:
                self.refresh_line(place[0])
        self._mark_frame()
        if follow:
            self._scroll_to_cursor(center=center)
        self._announce_cursor()

    def _announce_cursor(self) -> None:
        if self.cursor_listener is not None:
            self.cursor_listener(self._cursor_pfn)
        self.post_message(self.CursorMoved(self._cursor_pfn))

    def _cursor_place(self) -> tuple[int, int] | None:
        """(line, column) of the cursor's cell."""
        if self._layout is None:
            return None
        pos = self._layout.locate(self._cursor_pfn)
        return None if pos is None else (pos.line, pos.col)

    def _scroll_to_cursor(self, *, center: bool = False) -> None:
        line = self._cursor_line()
        if line is None:
            return
        height = max(1, self.scrollable_content_region.height)
        top = round(self.scroll_y)
        if top <= line - 1 and line < top + height:
            return  # visible, with a line of context above (a band's header)
        if top == line == 0:
            return
        if center:
            target = line - height // 2
        elif line <= top:
            target = line - 1
        else:
            target = line - height + 1
        self.scroll_to(y=max(0, target), animate=False, immediate=True)

    # -- actions and events ------------------------------------------------------------

    def action_cursor(self, dx: int, dy: int) -> None:
        self.move_cursor(dx, dy)

    def action_page(self, direction: int) -> None:
        if self._layout is None:
            return
        lines = max(1, self.scrollable_content_region.height - 1)
        old_line, top = self._cursor_line(), round(self.scroll_y)
        self.move_cursor(0, direction * lines * self._layout.rows_per_line, follow=False)
        new_line = self._cursor_line()
        if old_line is not None and new_line is not None:
            # Scroll by as much as the cursor moved, so it keeps its place on screen;
            # at either end the scroll is clamped, so make sure the cursor still shows.
            self.scroll_to(y=max(0, top + new_line - old_line), animate=False, immediate=True)
        self._scroll_to_cursor()

    def action_home(self) -> None:
        self.home()

    def action_end(self) -> None:
        self.end()

    def action_zoom_in(self) -> None:
        self.zoom_in()

    def action_zoom_out(self) -> None:
        self.zoom_out()

    def on_key(self, event: events.Key) -> None:
        # The key reaches this widget before its bindings run: start the frame clock at
        # the moment Textual made the event.
        self._key_time = event.time

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or self._layout is None:
            return
        line = offset.y + round(self.scroll_y)
        col = offset.x + round(self.scroll_x) - (self._gutter_digits + 1)
        # In color mode the lower half of a cell is the second pfn row, when the
        # terminal reports where in the cell the pointer is.
        half = 1 if self._mode == "color" and event.pointer_y % 1 >= 0.5 else 0
        cell = self._layout.cell_at(line, col, half) or self._layout.cell_at(line, col, 0)
        if cell is not None:
            self._set_cursor(cell[0])

    def on_resize(self, event: events.Resize) -> None:
        self._relayout(lambda: None)

    def on_mount(self) -> None:
        super().on_mount()
        self._rebuild_palette()
        self._relayout(lambda: None)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        # A theme change lands here: pick up its state colours (if the app registered
        # our variables) and the new base styles.
        try:
            variables = self.app.theme_variables
        except NoActiveAppError:  # not attached to an app yet
            return
        theme_colors = {k: v for k, v in variables.items() if k.startswith(("state-", "grid-"))}
        if theme_colors:
            self._colors = theme_colors
        self._rebuild_palette()
        # the component classes (gutter, header) take the new theme's styles only after this
        # update: read them again once they have
        self.call_after_refresh(self._rebuild_palette)

    def _rebuild_palette(self) -> None:
        if not self.is_mounted:
            self._palette = Palette(self._colors)
            return
        self._palette = Palette(
            self._colors,
            base=self.rich_style,
            header=self.get_component_rich_style("pfn-grid--header", partial=True),
            gutter=self.get_component_rich_style("pfn-grid--gutter", partial=True),
        )
        self._invalidate()

    # -- rendering ---------------------------------------------------------------------

    def _mark_frame(self) -> None:
        """A repaint was requested; if a key caused it, time it to the end of the paint."""
        if self._key_time is None:
            return
        if event_clock() - self._key_time > STALE_KEY_SECONDS:
            # That key repainted nothing; this repaint has another cause.
            self._key_time = None
            return
        if self._frame_started is None:
            # A refresh may paint the grid in several render passes (one per dirty
            # region): each pass moves the end mark, and the frame is closed once the
            # screen refresh is over.
            self.call_after_refresh(self._close_frame)
        self._frame_started, self._key_time = self._key_time, None

    def _close_frame(self) -> None:
        if self._frame_started is not None and self._frame_ended is not None:
            self.frame_times.append((self._frame_ended - self._frame_started) * 1000.0)
            if len(self.frame_times) > FRAME_TIMES_KEPT:
                del self.frame_times[: len(self.frame_times) - FRAME_TIMES_KEPT]
        self._frame_started = self._frame_ended = None

    def render_lines(self, crop: Region) -> list[Strip]:
        # What every line of this pass shares, computed once rather than per line.
        self._view = self._view_state()
        if self._engine_busy():
            # an operation is changing the machine in the worker thread: draw only what is
            # cached (a resize can ask for a repaint meanwhile) and come back when it is done
            return [self._cache_only(self._view[1] + y) for y in range(crop.y, crop.y + crop.height)]
        self._fetch_cells(range(self._view[1] + crop.y, self._view[1] + crop.y + crop.height))
        try:
            strips = super().render_lines(crop)
        finally:
            self._view = None
        if self._frame_started is not None:
            self._frame_ended = event_clock()
        if not self._prefetch_scheduled:
            self._prefetch_scheduled = True
            self.set_timer(PREFETCH_DELAY_S, self._prefetch)
        return strips

    def _engine_busy(self) -> bool:
        return self.engine_busy is not None and self.engine_busy()

    def _cache_only(self, line: int) -> Strip:
        scroll_x, _, width, _ = self._view
        for key in list(self._cache.keys()):
            if key[0] == line and key[1] == scroll_x and key[2] == width:
                strip = self._cache.get(key)
                if strip is not None:
                    return strip
        return Strip.blank(width, self._palette.blank)

    def _prefetch(self) -> None:
        """Render not-yet-cached lines of the neighbouring pages, one time slice per call."""
        self._prefetch_scheduled = False
        if self._engine_busy():
            return
        layout = self._layout
        if layout is None or not self.is_mounted:
            return
        height = self.scrollable_content_region.height
        top = round(self.scroll_y)
        view = self._view_state()
        # in the order keys most likely ask for them: the next page, a zoom out or in,
        # the previous page
        zooms = self._zoom_views(view)
        jobs = [(layout, view, range(top + height, top + 2 * height))]
        jobs += [(other, v, range(v[1], v[1] + height)) for other, v in zooms]
        jobs.append((layout, view, range(top - height, top)))
        deadline = time.perf_counter() + PREFETCH_SLICE_S
        for job_layout, job_view, lines in jobs:
            lines = [n for n in lines if 0 <= n < job_layout.total_lines]
            self._fetch_cells(lines, job_layout)
            for line in lines:
                self._strip_for_line(line, job_view, job_layout)
                if time.perf_counter() > deadline:
                    self._prefetch_scheduled = True
                    self.call_later(self._prefetch)
                    return

    def _zoom_views(self, view):
        """(layout, view) of what zooming one level in and out would show (as _relayout does)."""
        layout = self._layout
        pos = layout.locate(self._cursor_pfn) if layout is not None else None
        if pos is None:
            return []
        height = self.scrollable_content_region.height
        offset = pos.line - view[1]
        if not 0 <= offset < height:
            return []
        levels = self.zoom_levels
        i = levels.index(self._per_cell) if self._per_cell in levels else -1
        out = []
        for j in (i + 1, i - 1):
            if i < 0 or not 0 <= j < len(levels):
                continue
            other = self._build_layout(levels[j])
            if other is None or other.nearest_pfn(self._cursor_pfn) != self._cursor_pfn:
                continue
            p = other.locate(self._cursor_pfn)
            if p is None:
                continue
            top = min(max(0, p.line - offset), max(0, other.total_lines - height))
            out.append((other, (view[0], top, view[2], (p.line, p.col, p.half))))
        return out

    def _view_state(self) -> tuple[int, int, int, tuple[int, int, int] | None]:
        """(scroll_x, scroll_y, width, cursor (line, col, half) or None)."""
        scroll_x, scroll_y = self.scroll_offset
        pos = None if self._layout is None else self._layout.locate(self._cursor_pfn)
        cursor = None if pos is None else (pos.line, pos.col, pos.half)
        return scroll_x, scroll_y, self.scrollable_content_region.width, cursor

    def render_line(self, y: int) -> Strip:
        view = self._view or self._view_state()
        line = view[1] + y
        layout = self._layout
        if layout is None or line >= layout.total_lines:
            return Strip.blank(view[2], self._palette.blank)
        return self._strip_for_line(line, view)

    def _strip_for_line(self, line: int, view, layout: Layout | None = None) -> Strip:
        layout = layout or self._layout
        per_cell = layout.per_cell
        scroll_x, _, width, cursor_at = view
        cursor = cursor_at[1:] if cursor_at is not None and cursor_at[0] == line else None
        # the crosshair: (column, on the cursor's line) or None
        cross = (cursor_at[1], cursor is not None) if self._crosshair and cursor_at else None
        key = (line, scroll_x, width, self._machine_generation, self._mode,
               per_cell, cursor, cross, self._epoch)
        strip = self._cache.get(key)
        if strip is None:
            if cross is not None and not cross[1]:
                # a line the crosshair's column crosses: the line as drawn without it, with
                # one cell replaced (a sideways key then redraws a cell per line, not lines)
                plain = self._strip_for_line(line, (scroll_x, 0, width, None), layout)
                strip = self._cross_over(plain, line, cross[0], scroll_x, layout)
            else:
                segments = self._line_segments(line, cursor, layout, cross)
                strip = Strip(segments).crop_extend(scroll_x, scroll_x + width,
                                                    self._palette.blank)
            self._cache[key] = strip
        return strip

    def _cross_over(self, plain: Strip, line: int, col: int, scroll_x: int,
                    layout: Layout) -> Strip:
        """`plain` (a line without the crosshair) with the crosshair's cell at column `col`."""
        info = layout.line_info(line)
        x = self._gutter_digits + 1 + col - scroll_x
        if not isinstance(info, CellsLine) or not 0 <= x < plain.cell_length:
            return plain
        rows = self._cell_rows(info, line, layout.per_cell)
        cell = crosshair_cell(rows[0], rows[1] if len(rows) > 1 else None, col,
                              mode=self._mode, palette=self._palette)
        if cell is None:
            return plain
        return Strip.join([plain.crop(0, x), Strip([cell], 1),
                           plain.crop(x + 1, plain.cell_length)])

    def _line_segments(self, line: int, cursor: tuple[int, int] | None,
                       layout: Layout | None = None,
                       cross: tuple[int, bool] | None = None) -> list[Segment]:
        layout = layout or self._layout
        info = layout.line_info(line)
        full_width = self._gutter_digits + 1 + layout.row_cells
        if isinstance(info, HeaderLine):
            return render_header(self._header_text(info, layout.per_cell, layout.row_cells),
                                 palette=self._palette,
                                 label=" " * (self._gutter_digits + 1), width=full_width)
        assert isinstance(info, CellsLine)
        rows = self._cell_rows(info, line, layout.per_cell)
        return render_row(
            rows[0], rows[1] if len(rows) > 1 else None,
            mode=self._mode, palette=self._palette, cursor=cursor,
            label=gutter_label(info.lo, self._gutter_digits),
            cells=layout.row_cells, width=full_width,
            cross_col=None if cross is None else cross[0],
            cross_row=cross is not None and cross[1],
        )

    def _cells_key(self, line: int, per_cell: int | None = None) -> tuple:
        per_cell = self._per_cell if per_cell is None else per_cell
        return (line, self._machine_generation, per_cell, self._mode, self._epoch)

    def _fetch_cells(self, lines, layout: Layout | None = None) -> None:
        """One engine call per run of pfn-contiguous lines not yet known (a band at most)."""
        layout = layout or self._layout
        if layout is None:
            return
        per_cell = layout.per_cell
        todo = []
        for line in lines:
            if 0 <= line < layout.total_lines and self._cells.get(self._cells_key(line, per_cell)) is None:
                info = layout.line_info(line)
                if isinstance(info, CellsLine):
                    todo.append((line, info))
        i = 0
        while i < len(todo):
            j = i + 1
            while j < len(todo) and todo[j][1].lo == todo[j - 1][1].hi:
                j += 1
            lo, hi = todo[i][1].lo, todo[j - 1][1].hi
            if per_cell == 1:
                codes, mixed = self._machine.pfn_states(lo, hi), None
            else:
                codes, mixed = self._machine.aggregate(lo, hi, per_cell)
            for line, info in todo[i:j]:
                a, b = (info.lo - lo) // per_cell, (info.hi - lo) // per_cell
                self._cells[self._cells_key(line, per_cell)] = (
                    codes[a:b], None if mixed is None else mixed[a:b])
            i = j

    def _cell_rows(self, info: CellsLine, line: int | None = None,
                   per_cell: int | None = None) -> list[CellRow]:
        """States of the line's pfn rows, from the per-frame batch when there is one."""
        per_cell = self._per_cell if per_cell is None else per_cell
        lo, hi = info.lo, info.hi
        got = self._cells.get(self._cells_key(line, per_cell)) if line is not None else None
        if got is not None:
            codes, mixed = got
        elif per_cell == 1:
            codes, mixed = self._machine.pfn_states(lo, hi), None
        else:
            codes, mixed = self._machine.aggregate(lo, hi, per_cell)
        marks = highlight_mask(lo, hi, per_cell, *self._highlight)
        rows, start = [], 0
        for row_lo, row_hi in info.pfn_rows:
            end = start + (row_hi - row_lo) // per_cell
            rows.append(CellRow.of(
                codes[start:end],
                None if mixed is None else mixed[start:end],
                None if marks is None else marks[start:end],
            ))
            start = end
        return rows

    def _header_text(self, info: HeaderLine, per_cell: int | None = None,
                     room: int | None = None) -> str:
        key = (self._per_cell if per_cell is None else per_cell, info.band, room)
        text = self._headers.get(key)
        if text is None:
            text = self._headers[key] = self._describe_band(info, room)
        return text

    def _describe_band(self, info: HeaderLine, room: int | None = None) -> str:
        section = self._machine.section(info.first_section)
        block_id = section.get("block")
        zone = None
        if info.nr_sections == 1 and block_id is not None:
            zone = (self._machine.block(block_id) or {}).get("zone")
        return format_section_header(
            info.first_section, info.lo, info.hi,
            nr_sections=info.nr_sections,
            block=block_id if info.nr_sections == 1 else None,
            node=section.get("node"),
            zone=zone,
            online=section.get("online"),
            width=room,
        )
