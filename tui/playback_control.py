"""Lesson / scenario playback in the app: the keys (next, back, hint), the jobs they run, and
keeping the playback in step with what the user does meanwhile.

A mixin of `MemmapApp`: it reads the app's machine, runner and main screen, and posts its
outcomes as typed messages (PlaybackStepped, PlaybackSteppedBack) handled here."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from engine import OpResult
from tui.keys import BY_ID, display_keys
from tui.messages import PlaybackStepped, PlaybackSteppedBack
from tui.playback import Playback, Script, describe_step, run_step, undo_to

if TYPE_CHECKING:
    from tui.app import MemmapApp

PLAYBACK_ACTIONS = ("playback_next", "playback_back", "playback_hint")


class PlaybackControl:
    """The playback half of the app (see the module docstring)."""

    playback: Playback | None

    def playback_keys(self: MemmapApp) -> dict[str, str]:
        """The first key of each playback action, as the user types it (after remapping)."""
        out = {}
        for name in ("next", "back", "hint"):
            keys = display_keys(BY_ID[f"playback_{name}"], self.keymap_config).split()
            out[name] = keys[0] if keys else f"playback_{name}"
        return out

    def show_playback(self: MemmapApp) -> None:
        main = self.main_screen
        if main is not None:
            main.show_playback(self.playback, self.playback_keys())

    def start_playback(self: MemmapApp, playback: Playback) -> None:
        """Begin playing a script on the current machine (which must be the script's)."""
        self.playback = playback
        keys = self.playback_keys()
        main = self.main_screen
        if main is not None:
            main.log_widget.note(f"{'lesson' if playback.script.lesson else 'scenario'}: "
                                 f"{playback.script.title} ({playback.n} steps) · {keys['next']}: "
                                 f"next step, {keys['back']}: back", style="bold")
        self.show_playback()

    def play_script(self: MemmapApp, script: Script) -> bool:
        """Boot the script's machine through the runner (progress, esc cancels: the current
        machine and playback then stay), then play the script from its first step."""
        kind = "lesson" if script.lesson else "scenario"
        return self.replace_machine(f"open {kind} {script.title}", script.config, [],
                                    playback=Playback(script))

    def playback_allows(self: MemmapApp, action: str) -> bool:
        """Playback keys exist only in playback; the hint only while a step with one waits."""
        pb = self.playback
        if pb is None:
            return False
        if action == "playback_hint":
            return bool(pb.waiting and pb.current_hint)
        return True

    def action_playback_next(self: MemmapApp) -> None:
        """Next step: show a wait step's prompt, or apply the step."""
        self.playback_step(do_wait=False)

    def playback_step(self: MemmapApp, *, do_wait: bool = False) -> bool:
        """Move the playback one step on; False when there is nothing to do (or we are busy).
        `do_wait` applies a wait step at once instead of handing it to the student."""
        pb = self.playback
        if pb is None or self.idle_main() is None:
            return False
        if pb.at_end:
            self.notify(f"end of the {'lesson' if pb.script.lesson else 'scenario'}: "
                        f"{self.playback_keys()['back']} steps back", timeout=3)
            return False
        if pb.next_is_wait() and not pb.waiting and not do_wait:
            pb.begin_wait(self.machine)
            self.show_playback()
            self.notify(f"your turn: {pb.prompt()}", title=f"step {pb.position + 1}/{pb.n}",
                        timeout=3, markup=False)
            return True
        index = pb.position
        step = dict(pb.script.steps[index])
        by = "teacher" if pb.waiting else "lesson"
        machine = self.machine
        history_before = pb.wait_history_before if pb.waiting else len(machine.history)
        label = f"step {index + 1}/{pb.n}: {describe_step(step)}"

        def job() -> PlaybackStepped:
            start = time.perf_counter()
            result, marks = run_step(machine, step)
            return PlaybackStepped(label, result, marks, by=by, history_before=history_before,
                                   history_after=len(machine.history),
                                   seconds=time.perf_counter() - start)

        return self.run_job(label, job)

    def action_playback_back(self: MemmapApp) -> None:
        pb = self.playback
        if pb is None or self.idle_main() is None:
            return
        target = pb.back_target()
        if target is None:
            self.notify("at the start: nothing to step back", severity="warning", timeout=3)
            return
        machine, config = self.machine, self.config
        label = (f"leave step {pb.position + 1}/{pb.n}" if pb.waiting
                 else f"take back step {pb.position}/{pb.n}")

        def job() -> PlaybackSteppedBack:
            start = time.perf_counter()
            new, undone = undo_to(machine, target, config)
            return PlaybackSteppedBack(label, new if new is not machine else None, undone,
                                       time.perf_counter() - start)

        self.run_job(label, job)

    def action_playback_hint(self: MemmapApp) -> None:
        pb = self.playback
        if pb is None or not pb.waiting:
            return
        if not pb.current_hint:
            self.notify("this step has no hint", timeout=3)
            return
        pb.show_hint = True
        self.show_playback()

    # -- outcomes ---------------------------------------------------------------------
    def on_playback_stepped(self: MemmapApp, message: PlaybackStepped) -> None:
        self.job_done()
        pb = self.playback
        main = self.main_screen
        if pb is None or main is None:
            return
        main.log_widget.log_result(message.label, message.result, message.seconds)
        pb.record(message.result, message.marks, message.history_before,
                  message.history_after, by=message.by)
        self.after_change(message.result)
        self.show_playback()

    def on_playback_stepped_back(self: MemmapApp, message: PlaybackSteppedBack) -> None:
        self.job_done()
        pb = self.playback
        main = self.main_screen
        if main is None:
            return
        if message.machine is not None:
            self.machine = message.machine
        main.log_widget.note(f"↶ {message.label}", style="bold")
        if pb is not None:
            pb.stepped_back()
        self.after_change(None, new_machine=message.machine is not None)
        self.show_playback()

    def playback_after_user_op(self: MemmapApp, result: OpResult) -> None:
        """The user's own operation finished during playback: does it do the waiting step?"""
        pb = self.playback
        if pb is None or not pb.waiting:
            return
        op = {"op": result.op, **result.args}
        index = pb.position
        main = self.main_screen
        if pb.student_op(self.machine, op, result):
            self.notify(f"step {index + 1}/{pb.n} done: well done", title="lesson", timeout=4)
            if main is not None:
                main.log_widget.note(f"✓ lesson step {index + 1}/{pb.n} done by you",
                                     style="bold green")
        self.show_playback()

    def playback_after_undo(self: MemmapApp) -> None:
        if self.playback is not None:
            self.playback.sync(self.machine)
            self.show_playback()

    def end_playback(self: MemmapApp, why: str) -> None:
        if self.playback is None:
            return
        self.playback = None
        main = self.main_screen
        if main is not None:
            main.log_widget.note(f"playback ended: {why}", style="bold")
            main.show_playback(None, self.playback_keys())

