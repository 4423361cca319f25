"""The event log: each operation's kernel call tree, its dmesg lines, and refusals in words.

Lines are kept as logical lines (text in roles, plus an indent: the depth of a kernel call) and
wrapped for the panel's current width when drawn, so a resize or a narrow side panel re-wraps
them at word boundaries, with a hanging indent, instead of cutting them off. A word longer than
the line folds onto the next line whole; deep indents shrink on narrow panels. Colours come
from the theme (component classes over $text-success, $text-error, ...), so they follow it and
keep the theme's contrast.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len, get_character_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from engine import OpResult

# Roles a piece of a line can have (space-separated, like "bold error").
ROLE_CLASSES = {"ok": "event-log--ok", "error": "event-log--error",
                "warning": "event-log--warning", "muted": "event-log--muted",
                "call": "event-log--call"}
ATTRIBUTE_ROLES = {"bold": Style(bold=True), "italic": Style(italic=True)}
# The Rich style names callers used before roles (note(..., style="yellow")).
STYLE_ROLES = {"dim": "muted", "yellow": "warning", "red": "error", "green": "ok",
               "cyan": "call", "bold red": "bold error", "bold green": "bold ok",
               "bold": "bold", "italic": "italic", "": ""}

HANG = 4               # continuation lines sit this much deeper than their first line


@dataclass(frozen=True)
class LogLine:
    """One logical line: its pieces (text, role) and its indent in cells."""

    pieces: tuple[tuple[str, str], ...]
    indent: int = 0

    @property
    def plain(self) -> str:
        return "".join(text for text, _ in self.pieces)


def _fit(plain: str, start: int, width: int, narrow: bool) -> int:
    """The largest end such that plain[start:end] takes at most `width` cells (at least one
    character, so that the wrap always advances)."""
    if narrow:
        return min(len(plain), start + max(width, 1))
    cells, end = 0, start
    while end < len(plain):
        size = get_character_cell_size(plain[end])
        if cells + size > width and end > start:
            break
        cells += size
        end += 1
    return end


def wrap_offsets(plain: str, first_width: int, rest_width: int) -> list[tuple[int, int]]:
    """Where to break `plain`: (start, end) per visual line. Breaks after the last space that
    fits, else after the last ',', '(' or '=' that fits, else folds the word; no character is
    ever dropped except the spaces at a break."""
    narrow = cell_len(plain) == len(plain)
    out: list[tuple[int, int]] = []
    pos, width = 0, max(first_width, 1)
    while pos < len(plain):
        if out:
            while pos < len(plain) and plain[pos] == " ":
                pos += 1
            if pos >= len(plain):
                break
        end = _fit(plain, pos, width, narrow)
        if end < len(plain):
            space = plain.rfind(" ", pos + 1, end + 1)
            if space > pos:
                end = space
            else:
                mark = max(plain.rfind(ch, pos + 1, end) for ch in ",(=")
                if mark > pos:
                    end = mark + 1
        out.append((pos, end))
        pos, width = end, max(rest_width, 1)
    return out or [(0, 0)]


def indents(indent: int, width: int) -> tuple[int, int]:
    """(first-line indent, continuation indent) for a panel `width` cells wide: deep calls
    give up indent before the text gives up room (a line keeps at least 2/3 of the width)."""
    first = min(indent, width // 4)
    rest = min(first + HANG, width // 3)
    return first, rest


def wrap_line(line: LogLine, width: int) -> list[tuple[int, int, int]]:
    """The visual lines of a logical line at `width`: (indent, start, end) into line.plain."""
    first, rest = indents(line.indent, width)
    spans = wrap_offsets(line.plain, width - first, width - rest)
    return [(first if i == 0 else rest, start, end) for i, (start, end) in enumerate(spans)]


def render_plain(line: LogLine, width: int) -> list[str]:
    """The line as the panel shows it at `width` (for tests and copying)."""
    plain = line.plain
    return [" " * indent + plain[start:end] for indent, start, end in wrap_line(line, width)]


class EventLog(ScrollView, can_focus=True):
    DEFAULT_CSS = """
    EventLog { height: 8; background: $surface; color: $foreground;
               overflow-x: hidden; overflow-y: scroll; }
    EventLog > .event-log--ok { color: $text-success; }
    EventLog > .event-log--error { color: $text-error; }
    EventLog > .event-log--warning { color: $text-warning; }
    EventLog > .event-log--muted { color: $text-muted; }
    EventLog > .event-log--call { color: $text-primary; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = set(ROLE_CLASSES.values())

    MAX_EVENTS_PER_OP = 400
    MAX_ENTRIES = 3000     # logical lines kept; the oldest go in chunks of a quarter

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "event log"
        self.entries: list[LogLine] = []
        self.plain_lines: list[str] = []   # what was logged, as text (for tests and copy)
        self._rows: list[tuple[int, int, int, int]] = []   # (entry, indent, start, end)
        self._rows_width = 0

    # -- writing ---------------------------------------------------------------------------
    def _put(self, pieces: list[tuple[str, str]], indent: int = 0) -> None:
        line = LogLine(tuple((text, role) for text, role in pieces if text), indent)
        self.entries.append(line)
        self.plain_lines.append(" " * indent + line.plain)
        if self._rows_width:
            index = len(self.entries) - 1
            self._rows += [(index, *row) for row in wrap_line(line, self._rows_width)]

    def _written(self) -> None:
        """After a batch of lines: drop the oldest past the limit, resize, follow the end."""
        at_end = self.scroll_y >= self.max_scroll_y
        if len(self.entries) > self.MAX_ENTRIES:
            drop = len(self.entries) - self.MAX_ENTRIES + self.MAX_ENTRIES // 4
            del self.entries[:drop]
            del self.plain_lines[:drop]
            self._rows_width = 0                  # rebuilt for the entries that are left
        self._update_size()
        if at_end:
            self.scroll_end(animate=False, immediate=True, force=True)
        self.refresh()

    def note(self, message: str, style: str = "dim") -> None:
        """One line of text; `style`: a role ("muted", "bold error") or one of the Rich
        style names callers use ("dim", "yellow", "bold red")."""
        self._put([(message, STYLE_ROLES.get(style, style))])
        self._written()

    def log_result(self, label: str, result: OpResult, seconds: float = 0.0) -> None:
        """One operation: a header line, the kernel steps indented by depth, dmesg, the verdict."""
        head = [("✓ " if result.ok else "✗ ", "bold ok" if result.ok else "bold error"),
                (result.summary() or label, "bold")]
        if seconds >= 0.5:
            head.append((f"  ({seconds:.2f}s)", "muted"))
        self._put(head)
        for event in result.events[: self.MAX_EVENTS_PER_OP]:
            pieces = [(f"{event.func}({event.args})", "call")]
            if event.outcome:
                bad = event.outcome.startswith("-E") or event.outcome.lower().startswith("fail")
                pieces += [(" -> ", ""), (event.outcome, "error" if bad else "")]
            self._put(pieces, indent=2 + 2 * event.depth)
        if len(result.events) > self.MAX_EVENTS_PER_OP:
            self._put([(f"… {len(result.events) - self.MAX_EVENTS_PER_OP} more steps", "muted")], 2)
        for message in result.dmesg[:200]:
            self._put([(f"dmesg: {message}", "warning")], 2)
        if not result.ok:
            verdict = [("refused: ", "bold error"), (f"-{result.errno}" if result.errno else "error", "")]
            if result.error:
                verdict.append((f" ({result.error})", ""))
            self._put(verdict, 2)
            if result.check:
                self._put([(f"because: {result.check}", "error")], 2)
        self._written()

    # -- layout ----------------------------------------------------------------------------
    def _text_width(self) -> int:
        return max(self.scrollable_content_region.width, 1)

    def _update_size(self) -> None:
        width = self._text_width()
        if width != self._rows_width:
            self._rows = [(index, *row) for index, line in enumerate(self.entries)
                          for row in wrap_line(line, width)]
            self._rows_width = width
        self.virtual_size = Size(width, len(self._rows))

    def _rewrap(self) -> None:
        """The panel's width changed: wrap again, and stay at the end if we were there."""
        at_end = self.scroll_y >= self.max_scroll_y
        self._update_size()
        if at_end:
            self.scroll_end(animate=False, immediate=True, force=True)
        self.refresh()

    def on_resize(self) -> None:
        # the content region has its new width once the resize is laid out
        self.call_after_refresh(self._rewrap)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.refresh()                 # a new theme: the roles' colours change

    # -- drawing ---------------------------------------------------------------------------
    def _role_style(self, role: str) -> Style:
        style = Style()
        for token in role.split():
            if token in ATTRIBUTE_ROLES:
                style += ATTRIBUTE_ROLES[token]
            elif token in ROLE_CLASSES:
                style += self.get_component_rich_style(ROLE_CLASSES[token], partial=True)
        return style

    def visual_lines(self) -> list[str]:
        """Every line as drawn at the current width (for tests)."""
        self._update_size()
        return [" " * indent + self.entries[index].plain[start:end]
                for index, indent, start, end in self._rows]

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        row = round(self.scroll_offset.y) + y
        if not self._rows_width:
            self._update_size()
        if not 0 <= row < len(self._rows):
            return Strip.blank(width, base)
        index, indent, start, end = self._rows[row]
        text = Text(" " * indent, end="")
        position = 0
        for piece, role in self.entries[index].pieces:
            lo, hi = max(start, position), min(end, position + len(piece))
            if lo < hi:
                text.append(piece[lo - position:hi - position], self._role_style(role))
            position += len(piece)
        segments = list(Segment.apply_style(text.render(self.app.console), base))
        return Strip(segments).crop_extend(0, width, base)
