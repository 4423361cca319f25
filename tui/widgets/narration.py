"""The narration panel of lesson / scenario playback.

It shows the lesson's title, "step i/n", the step's `say` text, what the step did (ok, or
-ERRNO with the refusing check in words) and its `expect` facts as ✓ / ✗ lines; on a `wait`
step it shows the student's instruction instead. Attributes down: the app calls
`show(playback)` after every change; the panel never touches the machine.
"""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.playback import Playback, describe_result, describe_step


def _say(step: dict | None) -> str:
    return " ".join(str((step or {}).get("say") or "").split())


def narration_text(pb: Playback, keys: dict[str, str] | None = None) -> Text:
    """The panel's content for the playback's current position."""
    keys = {"next": "space", "back": "backspace", "hint": "i", **(keys or {})}
    out = Text()
    n = pb.n
    kind = "lesson" if pb.script.lesson else "scenario"
    out.append(pb.script.title, style="bold")
    if pb.waiting:
        shown = pb.position + 1
        out.append(f"  ·  step {shown}/{n}", style="bold")
        out.append("  · your turn\n", style="bold reverse")
        out.append("▶ ", style="bold")
        out.append(pb.prompt() + "\n", style="bold")
        if pb.show_hint and pb.current_hint:
            out.append(f"hint: {pb.current_hint}\n", style="italic")
        if pb.note:
            out.append(pb.note + "\n", style="bold red" if pb.note_good is False else "bold")
        help_line = f"do it with the usual keys · {keys['next']}: let the lesson do it · " \
                    f"{keys['back']}: back"
        if pb.current_hint and not pb.show_hint:
            help_line += f" · {keys['hint']}: hint"
        out.append(help_line, style="dim")
        return out
    rec = pb.last
    if rec is None:
        out.append(f"  ·  {kind}, {n} steps", style="bold")
        out.append("\n")
        if pb.script.description:
            out.append(pb.script.description + "\n")
        out.append(f"{keys['next']}: first step", style="dim")
        return out
    step = pb.script.steps[rec.index]
    out.append(f"  ·  step {rec.index + 1}/{n}", style="bold")
    if rec.by == "student":
        out.append("  · done by you ✓", style="bold green")
    elif rec.by == "teacher":
        out.append("  · done by the lesson", style="bold")
    out.append("\n")
    out.append(describe_step(step) + "  → ", style="bold")
    ok = rec.result is not None and rec.result.ok
    out.append(describe_result(rec.result) + "\n", style="bold green" if ok else "bold red")
    say = _say(step)
    if say:
        out.append(say + "\n")
    for held, words in rec.marks:
        out.append("✓ " if held else "✗ ", style="bold green" if held else "bold red")
        out.append(words + "\n", style="" if held else "red")
    if pb.note and rec.by != "student":
        out.append(pb.note + "\n", style="bold red" if pb.note_good is False else "italic")
    if pb.at_end:
        held, total = pb.checks()
        tail = f"end of the {kind}"
        if total:
            tail += f": {held} of {total} expected facts held"
        out.append(tail + f" · {keys['back']}: back", style="bold")
    else:
        upcoming = pb.next_step or {}
        what = "your turn next" if upcoming.get("wait") else describe_step(upcoming)
        out.append(f"{keys['next']}: step {pb.position + 1} ({what}) · {keys['back']}: back",
                   style="dim")
    return out


class Narration(VerticalScroll, can_focus=False):
    """Scrollable narration; hidden (display: none) outside playback."""

    DEFAULT_CSS = """
    Narration {
        height: auto;
        max-height: 45%;
        border-top: heavy $accent;
        padding: 0 1;
        display: none;
    }
    Narration.-active { display: block; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.body = Static("", markup=False)
        self.border_title = "lesson"
        self.text = Text()

    def compose(self):
        yield self.body

    def show(self, pb: Playback | None, keys: dict[str, str] | None = None) -> None:
        if pb is None:
            self.remove_class("-active")
            return
        self.add_class("-active")
        self.border_title = ("lesson" if pb.script.lesson else "scenario") + \
            f" · step {min(pb.position + (1 if pb.waiting else 0), pb.n)}/{pb.n}"
        self.text = narration_text(pb, keys)
        self.body.update(self.text)
        self.scroll_home(animate=False)

    @property
    def plain(self) -> str:
        return self.text.plain
