"""The status line: what the screen is showing and whether the engine is busy, in one line.

    ▶ hot_add(size=1T) · profile 7.2 · 1 cell = 64 pfns (256 KiB) · x86_64 · 4 KiB pages ·
      128 MiB blocks · colour cells · theme dark · selected memory33-40

At small sizes it starts with the panels the terminal has folded away.

`render_status` is pure (unit-tested at every width); `StatusLine` holds a `StatusInfo` set
from above (`update_from`) and draws it at its own width. When the line does not fit, items
take their short form, least important first, then the least important are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rich.text import Text
from textual.widget import Widget

from engine import Machine
from tui.formatting import human_bytes

MODE_WORDS = {"color": ("colour cells", "colour"), "glyph": ("glyph cells", "glyph"),
              "ascii": ("ASCII cells", "ASCII")}
SEPARATOR = " · "


def short_bytes(nbytes: int) -> str:
    """4096 -> "4K", 128 MiB -> "128M" (the compact spelling of `human_bytes`)."""
    number, unit = human_bytes(nbytes).split()
    return number + ("" if unit == "B" else unit[0])


def describe_zoom(per_cell: int, page_size: int) -> str:
    """The zoom in words: "1 cell = 64 pfns (256 KiB)"."""
    pfns = "1 pfn" if per_cell == 1 else f"{per_cell} pfns"
    return f"1 cell = {pfns} ({human_bytes(per_cell * page_size)})"


@dataclass(frozen=True)
class StatusInfo:
    """Everything the status line shows; `running` is the label of the operation in progress."""

    profile: str
    arch: str
    page_size: int
    block_size: int
    per_cell: int
    mode: str
    theme: str | None = None
    running: str | None = None
    selection: str | None = None              # "memory33-40": the blocks a range op acts on
    hidden: tuple[str, ...] = ()              # panels a small terminal folded away

    @classmethod
    def of(cls, machine: Machine, *, per_cell: int, mode: str, theme: str | None,
           running: str | None = None, selection: str | None = None,
           hidden: tuple[str, ...] = ()) -> "StatusInfo":
        geo = machine.geometry
        return cls(profile=geo.profile, arch=geo.arch, page_size=geo.page_size,
                   block_size=geo.block_size, per_cell=per_cell, mode=mode, theme=theme,
                   running=running, selection=selection, hidden=tuple(hidden))


def running_forms(words: str) -> list[str]:
    """The running job from its full words ("hot_add 1T: sparse_add_section 5 of 8 · 0.3 s ·
    esc cancels") to the fewest: without the step and count, then "busy"."""
    forms = [f"▶ {words}"]
    parts = words.split(" · ")
    if ": " in parts[0]:
        forms.append("▶ " + " · ".join([parts[0].split(": ", 1)[0]] + parts[1:]))
    forms.append("▶ busy")
    return forms


# (key, long form, shorter forms...) in order of importance: the last ones shrink and go first.
def _items(info: StatusInfo) -> list[tuple[str, ...]]:
    mode_long, mode_short = MODE_WORDS.get(info.mode, (info.mode, info.mode))
    items = []
    if info.hidden:
        hidden = ", ".join(info.hidden)
        items.append(("hidden", f"hidden: {hidden} (enlarge the terminal; ? keys)",
                      f"hidden: {hidden}"))
    if info.running:
        items.append(("running", *running_forms(info.running)))
    items += [
        ("profile", f"profile {info.profile}", info.profile),
        ("zoom", describe_zoom(info.per_cell, info.page_size),
         f"{info.per_cell} pfn/cell" if info.per_cell > 1 else "1 pfn/cell"),
        ("arch", info.arch, info.arch),
        ("page", f"{human_bytes(info.page_size)} pages", f"{short_bytes(info.page_size)} pg"),
        ("block", f"{human_bytes(info.block_size)} blocks", f"{short_bytes(info.block_size)} blk"),
        ("mode", mode_long, mode_short),
    ]
    if info.theme:
        items.append(("theme", f"theme {info.theme}", info.theme))
    if info.selection:
        items.append(("selection", f"selected {info.selection}", info.selection))
    if not info.running:
        items.append(("idle", "idle", "idle"))
    return items


def _join(parts: list[tuple[str, str]]) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    for i, (key, words) in enumerate(parts):
        if i:
            text.append(SEPARATOR, style="dim")
        text.append(words, style="bold reverse" if key in ("running", "hidden") else "")
    return text


# How the line gives way, step by step, until it fits: shorten the details, drop "idle",
# shorten the zoom, drop the details, then the rest; what is hidden and what runs go last.
_GIVE_WAY = (
    ("short", "selection"), ("short", "theme"), ("short", "mode"), ("short", "block"), ("short", "page"),
    ("short", "arch"), ("short", "profile"), ("drop", "idle"), ("short", "zoom"),
    ("drop", "theme"), ("drop", "mode"), ("drop", "block"), ("drop", "page"), ("drop", "arch"),
    ("drop", "zoom"), ("drop", "profile"), ("drop", "selection"), ("short", "hidden"),
    ("short", "running"), ("short", "running"), ("drop", "running"),
)


def render_status(info: StatusInfo, width: int) -> Text:
    """The status line for `width` cells: long forms if they fit, then the steps of
    `_GIVE_WAY` one by one; what runs is kept longest."""
    if width <= 0:
        return Text("")
    items = {key: forms for key, *forms in _items(info)}
    shown = {key: forms[0] for key, *forms in _items(info)}

    def length() -> int:
        return len(SEPARATOR.join(shown.values()))

    for action, key in _GIVE_WAY:
        if length() <= width:
            break
        if key not in shown:
            continue
        if action == "short":
            # the next shorter form (the running job has three)
            forms = items[key]
            shown[key] = forms[min(forms.index(shown[key]) + 1, len(forms) - 1)]
        elif len(shown) > 1:
            del shown[key]
    text = _join(list(shown.items()))
    if text.cell_len > width:
        text.truncate(max(width, 0), overflow="ellipsis")
    return text


class StatusLine(Widget):
    """One line at the bottom of the main screen; the app sets `info` (via `update_from`)."""

    DEFAULT_CSS = """
    StatusLine {
        height: 1;
        background: $panel;
        color: $foreground;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.info: StatusInfo | None = None

    def update_from(self, machine: Machine, *, per_cell: int, mode: str, theme: str | None,
                    running: str | None = None, selection: str | None = None,
                    hidden: tuple[str, ...] = ()) -> None:
        """Show this machine at this zoom/mode/theme; `running`: the operation in progress,
        `selection`: the selected blocks, `hidden`: the panels a small terminal folds away."""
        self.set_info(StatusInfo.of(machine, per_cell=per_cell, mode=mode, theme=theme,
                                    running=running, selection=selection, hidden=hidden))

    def set_info(self, info: StatusInfo) -> None:
        if info != self.info:
            self.info = info
            self.refresh()

    def set_running(self, running: str | None) -> None:
        """An operation started (its label) or ended (None); the rest stays."""
        if self.info is not None:
            self.set_info(replace(self.info, running=running))

    def render(self) -> Text:
        if self.info is None:
            return Text("")
        return render_status(self.info, self.content_region.width or self.size.width)
