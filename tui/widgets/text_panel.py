"""TextPanel: a scrollable panel of Rich Text drawn with the Line API.

A `Static` inside a `VerticalScroll` (what the inspector and counters were) lays the whole
screen out again whenever its text changes, and its scrollbars follow a frame later: one
cursor key then costs three screen updates. This panel wraps its text into Strips once per
change and repaints only itself, in the same frame as whatever changed it.
"""

from __future__ import annotations

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget


def set_virtual_size_quietly(widget: Widget, size: Size) -> None:
    """Resize a ScrollView's scrollable area without a screen-wide layout pass.

    Assigning `virtual_size` is a layout reactive: the whole screen is laid out again and
    repainted a frame later. When the widget's own size stays and no scrollbar has to
    appear or disappear, updating the scrollbars and repainting the widget is enough.
    """
    if size == widget.virtual_size:
        return
    old = widget.virtual_size
    region = widget.scrollable_content_region
    # with overflow "scroll" or "hidden" the scrollbars stay as they are whatever the size
    styles = widget.styles
    needs_layout = ((styles.overflow_y == "auto"
                     and (old.height > region.height) != (size.height > region.height))
                    or (styles.overflow_x == "auto"
                        and (old.width > region.width) != (size.width > region.width)))
    if needs_layout or not widget.is_mounted:
        widget.virtual_size = size
        return
    widget.set_reactive(Widget.virtual_size, size)
    widget._scroll_update(size)
    widget.refresh()


def wrap_text(text: Text, width: int, base: Style, console: Console) -> list[list[Segment]]:
    """The text wrapped to `width` cells, each line padded to it, every segment styled.
    A final newline ends the last line (it does not add an empty one)."""
    if text.plain.endswith("\n"):
        text = text.copy()
        text.right_crop(1)
    lines = console.render_lines(text, console.options.update_width(max(1, width)),
                                 style=base, pad=True)
    return [[Segment(seg.text, base + seg.style if seg.style else base) for seg in line
             if not seg.control] for line in lines]


def _text_key(text: Text) -> tuple:
    return (text.plain, tuple(text.spans), str(text.style))


class TextPanel(ScrollView):
    """Shows Rich Text; `set_text` replaces it and repaints only the lines that changed.

    The text may be given as paragraphs (a list of Text): each is wrapped once per width and
    cached, so a panel whose lower paragraphs rarely change (the inspector's section and
    block) only wraps its first one again.
    """

    DEFAULT_CSS = """
    TextPanel {
        overflow-x: hidden;
        overflow-y: scroll;
        scrollbar-size-vertical: 1;
    }
    """

    WRAP_CACHE_SIZE = 64

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._paragraphs: list[Text] = []
        self._keys: list[tuple] = []
        self._strips: list[Strip] = []
        self._wrapped_width = -1
        self._wrap_cache: dict[tuple, list[Strip]] = {}
        self.last_text = ""

    def set_text(self, text: Text | list[Text]) -> None:
        """Show `text` (one Text or paragraphs); nothing is redrawn when nothing changed."""
        paragraphs = [text] if isinstance(text, Text) else list(text)
        keys = [_text_key(p) for p in paragraphs]
        if keys == self._keys:
            return
        self._paragraphs, self._keys = paragraphs, keys
        self.last_text = "".join(p.plain for p in paragraphs)
        self._rewrap()

    def _wrapped(self, index: int, width: int) -> list[Strip]:
        key = (self._keys[index], width)
        strips = self._wrap_cache.get(key)
        if strips is None:
            if len(self._wrap_cache) >= self.WRAP_CACHE_SIZE:
                self._wrap_cache.clear()
            lines = wrap_text(self._paragraphs[index], width, self.rich_style, self.app.console)
            strips = self._wrap_cache[key] = [Strip(line, width) for line in lines]
        return strips

    def _rewrap(self) -> None:
        width = self.scrollable_content_region.width
        if width <= 0:
            self._wrapped_width = -1
            return
        if width != self._wrapped_width:
            self._wrap_cache.clear()
        old = self._strips
        strips: list[Strip] = []
        for index in range(len(self._paragraphs)):
            strips.extend(self._wrapped(index, width))
        self._strips = strips
        same_shape = self._wrapped_width == width and len(old) == len(strips)
        self._wrapped_width = width
        if not same_shape:
            set_virtual_size_quietly(self, Size(width, len(strips)))
            self.refresh()
            return
        # repaint only the lines that differ (a cursor move changes a few of them)
        top = self.scroll_offset.y
        height = self.scrollable_content_region.height
        for y in range(max(0, top), min(len(strips), top + height)):
            if strips[y] != old[y]:
                self.refresh_line(y)

    def on_resize(self) -> None:
        self._rewrap()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        if self.is_mounted:
            self._wrap_cache.clear()
            self._wrapped_width = -1
            self._rewrap()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        line = y + self.scroll_offset.y
        if 0 <= line < len(self._strips):
            strip = self._strips[line]
            # between a resize and its Resize event the strips may be for the old width
            return strip if self._wrapped_width == width else strip.crop_extend(0, width, self.rich_style)
        return Strip.blank(width, self.rich_style)
