"""The lesson browser: the built-in lessons with their title, a one-line summary and the number
of steps, filtered as you type; enter answers with the chosen lesson's Script (the app then
boots its machine through the runner and plays it)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.events import Resize
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from engine.lessons import list_lessons
from tui.playback import Script, ScriptError, load_script
from tui.screens.dialogs import SafeModal


@dataclass(frozen=True)
class LessonEntry:
    """One built-in lesson as the browser lists it; `script` is None when it cannot be opened
    (`error` says why, in one line)."""

    name: str
    title: str
    summary: str
    script: Script | None
    error: str = ""

    @property
    def steps(self) -> int:
        return self.script.n if self.script is not None else 0

    @property
    def profile(self) -> str:
        return self.script.config.profile if self.script is not None else "?"

    def matches(self, query: str) -> bool:
        """Every word of `query` appears (any case) in the name, title or description."""
        words = query.lower().split()
        desc = self.script.description if self.script is not None else ""
        hay = f"{self.name} {self.title} {self.summary} {desc}".lower()
        return all(word in hay for word in words)


def lesson_entries() -> list[LessonEntry]:
    """The built-in lessons in teaching order (engine.lessons.list_lessons), each opened."""
    out = []
    for name, title, summary in list_lessons():
        try:
            out.append(LessonEntry(name, title, summary, load_script(lesson=name)))
        except ScriptError as exc:
            out.append(LessonEntry(name, title, summary, None, str(exc)))
    return out


def entry_prompt(entry: LessonEntry) -> Text:
    """Two lines: the title with its step count and profile, then the summary."""
    text = Text()
    text.append(entry.title, style="bold")
    if entry.script is None:
        text.append(f"\n  cannot open: {entry.error}", style="red")
        return text
    text.append(f"  · {entry.steps} steps · profile {entry.profile}", style="dim")
    text.append(f"\n  {entry.summary}")
    return text


class LessonsScreen(SafeModal):
    """The lesson browser (see the module docstring); answers a Script, or None on escape."""

    DEFAULT_CSS = """
    LessonsScreen { align: center middle; }
    LessonsScreen > #frame {
        width: 100; max-width: 100%; height: 90%; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    LessonsScreen #filter { height: 1; border: none; padding: 0 1; background: $boost; }
    LessonsScreen #lessons { height: 1fr; min-height: 2; text-wrap: nowrap;
                             text-overflow: ellipsis; }
    LessonsScreen #detail { height: auto; max-height: 5; color: $text-muted; }
    LessonsScreen #hint { height: auto; color: $text-muted; }
    LessonsScreen.-short #detail { display: none; }
    """
    BINDINGS = [
        Binding("escape", "close", "Close", show=False),
        Binding("down", "move(1)", show=False),
        Binding("up", "move(-1)", show=False),
        Binding("pagedown", "move(5)", show=False),
        Binding("pageup", "move(-5)", show=False),
    ]

    def __init__(self, entries: list[LessonEntry]) -> None:
        super().__init__()
        self.entries = entries
        self.shown: list[LessonEntry] = list(entries)

    def compose(self) -> ComposeResult:
        with Vertical(id="frame") as frame:
            frame.border_title = f"lessons ({len(self.entries)})"
            yield Input(placeholder="type to filter (words of the title or description, "
                                    "or a number)", id="filter")
            yield OptionList(id="lessons")
            yield Static("", id="detail", markup=False)
            yield Static("↑ ↓: choose · enter: start the lesson (boots its machine) · "
                         "escape: close", id="hint", markup=False)

    def on_mount(self) -> None:
        self.show_matches("")
        self.query_one("#filter", Input).focus()

    def on_resize(self, event: Resize) -> None:
        # on a short terminal the list keeps the room; the highlighted lesson's full
        # description goes
        self.set_class(event.size.height < 30, "-short")

    def show_matches(self, query: str) -> None:
        """Keep the lessons that match `query`, the first one highlighted."""
        self.shown = [entry for entry in self.entries if entry.matches(query)]
        options = self.query_one("#lessons", OptionList)
        options.clear_options()
        if self.shown:
            options.add_options([Option(entry_prompt(entry), id=entry.name)
                                 for entry in self.shown])
            options.highlighted = 0
        else:
            options.add_option(Option(Text(f"no lesson matches {query!r}", style="italic"),
                                      disabled=True))
        frame = self.query_one("#frame")
        frame.border_title = f"lessons ({len(self.shown)} of {len(self.entries)})"
        self.show_detail()

    @property
    def current(self) -> LessonEntry | None:
        """The highlighted lesson (None when nothing matches)."""
        index = self.query_one("#lessons", OptionList).highlighted
        if index is None or not 0 <= index < len(self.shown):
            return None
        return self.shown[index]

    def show_detail(self) -> None:
        entry = self.current
        detail = self.query_one("#detail", Static)
        if entry is None or entry.script is None:
            detail.update("")
            return
        detail.update(f"{entry.name}: {entry.script.description}")

    @on(Input.Changed, "#filter")
    def _filter(self, event: Input.Changed) -> None:
        self.show_matches(event.value)

    @on(Input.Submitted, "#filter")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.start(self.current)

    @on(OptionList.OptionHighlighted, "#lessons")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.show_detail()

    @on(OptionList.OptionSelected, "#lessons")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.start(self.current)

    def start(self, entry: LessonEntry | None) -> None:
        if entry is None:
            self.notify("no lesson matches: change the filter", severity="warning", timeout=3)
            return
        if entry.script is None:
            self.notify(f"{entry.name}: {entry.error}", severity="error", markup=False)
            return
        self.finish(entry.script)

    def action_move(self, delta: int) -> None:
        options = self.query_one("#lessons", OptionList)
        if not self.shown:
            return
        index = options.highlighted or 0
        options.highlighted = max(0, min(len(self.shown) - 1, index + delta))

    def action_close(self) -> None:
        self.finish(None)
