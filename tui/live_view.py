"""Live view: the app over a real machine (bridge.live.LiveMachine), a mixin of `MemmapApp`.

A worker re-reads the machine every `interval` seconds (the text files only: page flags are read
by the grid as it draws); the new state is swapped in on the UI thread, the counters mark what
moved and the log says what changed. Every key that would change the machine is refused with the
live-view line; `T` opens the twin (a simulated copy booted like this machine) instead.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from textual.message import Message

from bridge.live import LIVE_REFUSAL, LiveMachine, LiveState

if TYPE_CHECKING:
    from tui.app import MemmapApp

# the actions that would change the machine: refused while the machine is a live one
MUTATING = ("hot_add", "remove", "eject", "online", "offline", "pin", "alloc", "inject", "virtio",
            "tick", "range", "profile", "undo", "redo")


class LiveRead(Message):
    """A worker read the live machine's text files again."""

    def __init__(self, state: LiveState, seconds: float) -> None:
        super().__init__()
        self.state = state
        self.seconds = seconds


def _refusing(name: str):
    def action(self: MemmapApp) -> None:
        if isinstance(self.machine, LiveMachine):
            self.refuse_live(name)
        else:
            getattr(super(LiveView, self), f"action_{name}")()
    action.__name__ = f"action_{name}"
    action.__doc__ = f"{name}, refused on a live machine"
    return action


class LiveView:
    """Refresh and refusals for a LiveMachine (see the module docstring)."""

    live_interval: float = 2.0

    def start_live(self: MemmapApp) -> None:
        live = self.machine
        self.main_screen.log_widget.note(
            f"live view of {live.sysroot}: kernel {live.state.release}, {len(live.state.blocks)} "
            f"blocks, refreshed every {self.live_interval:g} s; read-only (T opens the twin)",
            style="bold")
        if not live.has_page_flags:
            self.main_screen.log_widget.note(live.page_files_note, style="yellow")
        self.set_interval(self.live_interval, self._live_tick)

    def _live_tick(self: MemmapApp) -> None:
        live = self.machine
        if not isinstance(live, LiveMachine):
            return

        def read() -> None:
            start = time.perf_counter()
            state = live.read_state()
            self.post_message(LiveRead(state, time.perf_counter() - start))

        self.run_worker(read, name="live read", group="live", thread=True, exclusive=True,
                        exit_on_error=False)

    def on_live_read(self: MemmapApp, message: LiveRead) -> None:
        live = self.machine
        main = self.main_screen
        if not isinstance(live, LiveMachine) or main is None or not main.is_mounted \
                or self._exit:
            return          # the app is closing: a late read is dropped
        lines = live.apply_state(message.state)
        for line in lines:
            main.log_widget.note(f"live: {line}")
        with self.batch_update():
            main.show_machine(live, mark_changes=True)

    def refuse_live(self: MemmapApp, what: str) -> None:
        line = f"{what}: {LIVE_REFUSAL}"
        main = self.main_screen
        if main is not None:
            main.log_widget.note(line, style="yellow")
        self.notify(line, title="live view", severity="warning", markup=False)

    def action_twin(self: MemmapApp) -> None:
        """Open the twin of the live machine: a simulation booted like it, with its hot-adds."""
        live = self.machine
        if not isinstance(live, LiveMachine):
            self.notify("T opens the twin of a live machine (memmap-tui --live)", markup=False)
            return
        from engine import ConfigError

        from bridge.twin import twin_config, twin_steps
        try:
            config = twin_config(live)
        except ConfigError as e:
            self.notify(str(e), severity="error", markup=False)
            return
        self.replace_machine(f"twin of {live.state.release or live.sysroot}", config,
                             twin_steps(live))


for _name in MUTATING:
    setattr(LiveView, f"action_{_name}", _refusing(_name))
