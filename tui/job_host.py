"""The app side of the engine runner, shared by the main app and the compare app: start a job,
show its progress display once it outlives SHOW_AFTER, repaint it on every Progress message,
and take it away when the job's outcome arrives.

A mixin of a Textual App that has a `runner` (EngineRunner); the app says which machines a job
touches (`job_machines`: they get the runner's progress hook, hence progress and esc cancel) and
what to redraw when a job starts or ends (`refresh_status`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from textual.app import App
from textual.events import Event, Key, MouseDown, MouseScrollDown, MouseScrollUp
from textual.message import Message
from textual.timer import Timer

from engine import Machine
from tui.collector import CHECK_EVERY, IdleCollector
from tui.formatting import one_line
from tui.messages import OpCrashed, Progress
from tui.runner import EngineRunner
from tui.screens.progress import ProgressScreen
from tui.widgets.event_log import EventLog

STATUS_TICK = 0.1       # seconds between repaints of the status line while a job runs


_AppBase = App if TYPE_CHECKING else object


class JobHost(_AppBase):
    """Runs engine jobs through the app's one EngineRunner (see the module docstring)."""

    runner: EngineRunner
    collector: IdleCollector
    _status_clock: Timer | None = None

    @property
    def busy(self) -> bool:
        return self.runner.busy

    # -- the cyclic garbage collector runs while nobody types (tui/collector.py) -----------
    def start_idle_collector(self) -> None:
        """From mount on, collect only when idle; the collector is restored at unmount."""
        self.collector.start()
        self.set_interval(CHECK_EVERY, lambda: self.collector.tick(self.runner.busy))

    def on_unmount(self) -> None:
        self.collector.stop()

    async def on_event(self, event: Event) -> None:
        if isinstance(event, (Key, MouseDown, MouseScrollDown, MouseScrollUp)):
            self.collector.activity()
        await super().on_event(event)

    def job_machines(self) -> Sequence[Machine]:
        """The machines a job may change (each gets the progress hook while it runs)."""
        raise NotImplementedError

    def refresh_status(self) -> None:
        """Redraw what says whether a job runs (the status line)."""

    def run_job(self, label: str, job: Callable[[], Message]) -> bool:
        """Hand `job` to the engine runner; its progress shows if it outlives SHOW_AFTER."""
        if not self.runner.start(label, self.job_machines(), job):
            self.notify(f"busy with {self.runner.label}: wait, or esc to cancel",
                        severity="warning", markup=False)
            return False
        self.refresh_status()
        if not isinstance(self.screen, ProgressScreen):
            self.push_screen(ProgressScreen(self.runner))
        # the status line's clock ticks while the job runs, whatever the engine reports: a
        # stretch without progress calls (building the read caches of a TiB) still shows life
        self._status_clock = self.set_interval(STATUS_TICK, self.refresh_status)
        return True

    def job_done(self) -> None:
        """A job's outcome arrived: the runner is free; its progress display goes."""
        self.runner.finished()
        if self._status_clock is not None:
            self._status_clock.stop()
            self._status_clock = None
        if isinstance(self.screen, ProgressScreen):
            self.pop_screen()
        self.refresh_status()

    def on_progress(self, message: Progress) -> None:
        # the status line shows the step and count from the start; the progress display's
        # frame is seen once the job outlives SHOW_AFTER
        self.refresh_status()
        screen = self.screen
        # A Progress can arrive between push_screen and the display's compose (a busy
        # machine): it then has nothing to paint yet, and its own timer paints it soon.
        if isinstance(screen, ProgressScreen) and screen.is_mounted:
            screen.repaint()

    def report_crash(self, log: EventLog | None, message: OpCrashed) -> None:
        """The crash net's outcome: what raised and its traceback (first line and last 12) in
        the log, and one line as a notification; the app carries on."""
        text = one_line(message.error)
        if log is not None:
            log.note(f"✗ {message.label}: engine error: {type(message.error).__name__}: {text}",
                     style="bold red")
            lines = message.traceback.rstrip().splitlines()
            for line in lines if len(lines) <= 13 else [lines[0], "  …"] + lines[-12:]:
                log.note(line, style="red")
        self.notify(f"{message.label}: {text}", title="engine error", severity="error",
                    markup=False)
