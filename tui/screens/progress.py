"""The progress display of a long engine job: its current kernel step, a count, a bar, the time
so far, and `esc` to cancel (the engine rolls the machine back exactly).

It is pushed as the job starts (before the worker runs: its layout costs nothing in the race
for the interpreter later), so it also keeps keys away from a machine the worker is changing;
its frame shows once the job outlives `SHOW_AFTER` (short operations never flash it). It
repaints on every Progress message and at least every 0.1 s on its own (the elapsed time and
spinner), so the screen never looks frozen."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from tui.runner import EngineRunner
from tui.screens.dialogs import SafeModal

# seconds a job runs before its progress display is seen (the status line says what runs from
# the start); a quicker operation never flashes it
SHOW_AFTER = 0.15
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def progress_text(label: str, step: str, done: int, total: int, elapsed: float, tick: int,
                  width: int, cancelling: bool) -> Text:
    """The body of the progress display (pure; unit-tested)."""
    width = max(10, width)
    text = Text()
    text.append(f"{SPINNER[tick % len(SPINNER)]} ", style="bold")
    text.append(label + "\n", style="bold")
    text.append(f"kernel step: {step or 'starting'}\n")
    # always five lines: the display is laid out once, when the job starts, before any count
    bar_w = max(4, width - 12)
    if total > 0:
        frac = min(1.0, max(0.0, done / total))
        filled = int(round(frac * bar_w))
        text.append("█" * filled + "░" * (bar_w - filled))
        text.append(f" {frac * 100:5.1f}%\n")
        text.append(f"{done:,} of {total:,} done · {elapsed:.1f} s\n")
    else:
        text.append("░" * bar_w + "      \n")
        text.append(f"counting · {elapsed:.1f} s\n")
    text.append("cancelling: rolling back…" if cancelling else "esc: cancel (rolled back exactly)",
                style="italic")
    return text


class ProgressScreen(SafeModal):
    """Shown while a long engine job runs; see the module docstring."""

    DEFAULT_CSS = """
    ProgressScreen { align: center middle; background: transparent; }
    ProgressScreen > #frame { width: 60; max-width: 100%; height: auto; max-height: 100%;
                              border: round $warning; background: $surface; padding: 0 1; }
    ProgressScreen > #frame.-waiting { visibility: hidden; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, runner: EngineRunner) -> None:
        super().__init__()
        self.runner = runner
        self.tick = 0

    def compose(self) -> ComposeResult:
        # laid out at once, seen only once the job outlives SHOW_AFTER: short jobs never
        # flash it, and showing it later costs no layout pass in the middle of the job
        with Vertical(id="frame", classes="-waiting"):
            yield Static(id="progress-body")

    def on_mount(self) -> None:
        self.repaint()
        self.set_interval(0.1, self._on_tick)
        wait = SHOW_AFTER - self.runner.elapsed()
        if wait > 0:
            self.set_timer(wait, self.reveal)
        else:                   # the job already ran that long (a busy machine)
            self.reveal()

    def reveal(self) -> None:
        """The job outlived SHOW_AFTER: the frame is seen from now on."""
        frames = self.query("#frame").results(Vertical)
        frame = next(frames, None)
        if frame is not None:
            frame.remove_class("-waiting")

    @property
    def revealed(self) -> bool:
        return not self.query_one("#frame").has_class("-waiting")

    def _on_tick(self) -> None:
        self.tick += 1
        self.repaint()

    def repaint(self) -> None:
        r = self.runner
        bodies = self.query("#progress-body").results(Static)
        body = next(bodies, None)
        if body is None:        # popped while it was still being mounted: nothing to draw
            return
        width = max(10, self.query_one("#frame").content_size.width or 56)
        # the body's size does not change: repaint without a layout pass
        body.update(progress_text(r.label, r.step, r.done, r.total, r.elapsed(), self.tick, width,
                                  r.cancelling), layout=False)

    def action_cancel(self) -> None:
        if self.runner.cancel():
            self.repaint()
