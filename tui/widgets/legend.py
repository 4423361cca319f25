"""The legend strip: every state present on the machine, drawn as the grid draws it, and named.

    ▀▀ boot-reserved  ▀▀ memmap-self  ▀▀ offline  ▀▀ free  ▀▀ unmovable  ▀▀ hole

In colour mode a state is a swatch of its colour; in the glyph and ASCII modes its glyph in its
colour on the grid's background. The name is always written, so no state is told by colour
alone. Narrow strips use short names, then say how many states did not fit.

Which states are present comes from `PresentStates`: one read of the machine's state runs per
machine generation (the runs cover present sections only, so the cost follows the number of
runs, not of pfns), cached until the machine changes; keys that do not change the machine
cost nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from engine import Machine
from engine.states import NAMES
from themes import STATE_DEFAULTS
from tui.render.glyphs import ASCII_GLYPHS, UNICODE_GLYPHS
from tui.render.palette import to_rich_color

SHORT_NAMES = {
    "absent": "absent", "boot-reserved": "boot", "memmap-self": "mm-self",
    "memmap-other": "mm-other", "pagetable": "ptable", "offline": "offline", "free": "free",
    "movable": "movable", "unmovable": "unmov", "pinned": "pinned", "memmap-pad": "mm-pad",
    "hole": "hole", "unplugged": "unplug",
}
SWATCH = "\u2588\u2588"      # ██ a solid patch of the state's colour
GAP = "  "


def states_present(machine: Machine) -> tuple[str, ...]:
    """Names of the states some pfn of a present section is in, in state-code order."""
    sections = machine.present_sections()
    if len(sections) == 0:
        return ()
    pps = machine.geometry.pages_per_section
    end = (int(sections[-1]) + 1) * pps
    starts, ends, codes = machine.state_runs(0, end)
    pfns = np.bincount(codes, weights=(ends - starts).astype(np.float64), minlength=len(NAMES))
    # sections that are not present are wholly absent, and the grid does not draw them
    pfns[NAMES.index("absent")] -= float((end // pps - len(sections)) * pps)
    return tuple(NAMES[code] for code in np.flatnonzero(pfns > 0))


class PresentStates:
    """`states_present`, recomputed only when the machine (or its generation) changes."""

    def __init__(self) -> None:
        self._key: tuple[int, int] | None = None
        self._states: tuple[str, ...] = ()
        self.computed = 0          # how many times the machine was read (for tests)

    def of(self, machine: Machine) -> tuple[str, ...]:
        key = (id(machine), machine.generation)
        if key != self._key:
            self._states = states_present(machine)
            self._key = key
            self.computed += 1
        return self._states


@dataclass(frozen=True)
class LegendEntry:
    state: str
    mark: str          # what the grid draws for it in this mode
    colour: str        # the theme's colour for it


def legend_entries(states: tuple[str, ...] | list[str], mode: str,
                   colours: dict[str, str]) -> list[LegendEntry]:
    """One entry per state, with its mark in this cell mode and its colour in this theme."""
    glyphs = ASCII_GLYPHS if mode == "ascii" else UNICODE_GLYPHS
    return [LegendEntry(state, SWATCH if mode == "color" else glyphs[state],
                        colours[f"state-{state}"]) for state in states]


def _entry_text(entry: LegendEntry, mode: str, name: str) -> Text:
    """The mark in the state's colour (as the grid draws it), then the name in the text colour."""
    colour = to_rich_color(entry.colour)
    if mode == "color":
        mark = (entry.mark, Style(color=colour))
    elif entry.mark.strip():
        # on the strip's own background, which is the grid's ($surface)
        mark = (entry.mark, Style(color=colour, bold=True))
    else:
        mark, name = (" ", Style()), f"{name} (blank)"
    return Text.assemble(mark, f" {name}")


def render_legend(entries: list[LegendEntry], width: int, *, mode: str,
                  max_lines: int = 2) -> list[Text]:
    """The legend in lines of at most `width` cells: full names if they fit in `max_lines`,
    else short names, else as many entries as fit and "+N more" (the help screen has them all)."""
    if not entries or width <= 0:
        return []
    for names in ({e.state: e.state for e in entries}, {e.state: SHORT_NAMES[e.state] for e in entries}):
        pieces = [_entry_text(e, mode, names[e.state]) for e in entries]
        lines = _flow(pieces, width)
        if len(lines) <= max_lines and max(p.cell_len for p in pieces) <= width:
            return lines
    # even short names overflow: fill max_lines and say how many are left out
    for count in range(len(pieces) - 1, -1, -1):
        left = len(pieces) - count
        if any(piece.cell_len > width for piece in pieces[:count]):
            continue          # never cut a name in the middle
        for more in (f"+{left} more (?)", f"+{left}"):
            if len(more) > width:
                continue
            lines = _flow(pieces[:count] + [Text(more, style="bold")], width)
            if len(lines) <= max_lines and all(line.cell_len <= width for line in lines):
                return lines
    return [Text(f"+{len(pieces)}", style="bold")]


def _flow(pieces: list[Text], width: int) -> list[Text]:
    """Pieces left to right, a new line when the next does not fit; a piece wider than the
    line is cut with an ellipsis."""
    lines: list[Text] = []
    line = Text()
    for piece in pieces:
        if piece.cell_len > width:
            piece = piece.copy()
            piece.truncate(width, overflow="ellipsis")
        needed = piece.cell_len + (len(GAP) if line.cell_len else 0)
        if line.cell_len and line.cell_len + needed > width:
            lines.append(line)
            line = Text()
        if line.cell_len:
            line.append(GAP)
        line.append_text(piece)
    if line.cell_len:
        lines.append(line)
    return lines


class Legend(Widget):
    """The legend strip under the grid. The screen calls `update_from(machine)` after every
    change (cheap when nothing changed) and sets `mode`; colours follow the app's theme."""

    DEFAULT_CSS = """
    Legend {
        height: auto;
        max-height: 2;
        background: $surface;
        color: $foreground;
        padding: 0 1;
    }
    """

    def __init__(self, *, mode: str = "color", id: str | None = None) -> None:
        super().__init__(id=id)
        self._mode = mode
        self.states: tuple[str, ...] = ()
        self.present = PresentStates()

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, mode: str) -> None:
        if mode != self._mode:
            self._mode = mode
            self.refresh(layout=True)

    def update_from(self, machine: Machine) -> None:
        states = self.present.of(machine)
        if states != self.states:
            self.states = states
            self.refresh(layout=True)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.refresh(layout=True)     # a new theme: new colours (and maybe a new background)

    def _lines(self, width: int) -> list[Text]:
        # the app registers every state-* variable; STATE_DEFAULTS covers a bare Textual theme
        colours = {**STATE_DEFAULTS, **self.app.theme_variables}
        return render_legend(legend_entries(self.states, self._mode, colours), width,
                             mode=self._mode)

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(1, len(self._lines(width)))

    def render(self) -> Text:
        return Text("\n").join(self._lines(self.content_region.width or self.size.width))
