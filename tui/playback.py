"""Lesson and scenario playback: which step comes next, what each step did, and how to go back.

UI-free (no Textual here): the app and the compare screen drive it, the narration widget draws
it. A `Script` is a scenario opened for playback; a `Playback` walks it one step at a time on a
machine the app owns. Engine calls that change the machine (`run_step`, `undo_to`) run in the
app's worker thread; the bookkeeping methods run on the UI thread once the worker is done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import Machine, MachineConfig, OpResult

# op keys a step may carry besides the op's own arguments (engine.ops.NARRATION_KEYS)
NARRATION = ("say", "expect", "wait")


class ScriptError(ValueError):
    """A scenario or lesson that cannot be opened (one line)."""


@dataclass
class Script:
    """A scenario opened for playback: its machine config, title and steps."""

    config: MachineConfig
    title: str
    description: str
    steps: list[dict]
    source: str
    lesson: bool = False

    @property
    def n(self) -> int:
        return len(self.steps)


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


def load_script(scenario: str | None = None, lesson: str | None = None) -> Script:
    """Open a scenario file, or a built-in lesson by name / unique prefix / path."""
    from engine.scenario import ScenarioError, load_scenario

    if scenario:
        path = Path(scenario)
        if not path.exists() and lesson is None and path.suffix != ".toml":
            lesson, scenario = scenario, None      # `screenshot 04 out.svg`: a lesson name
    if lesson and not scenario:
        from engine.lessons import LessonError, find_lesson

        try:
            path = find_lesson(lesson)
        except LessonError as exc:
            raise ScriptError(_one_line(exc)) from None
        scenario = str(path)
    if not scenario:
        raise ScriptError("no scenario or lesson given")
    try:
        sc = load_scenario(scenario)
    except (ScenarioError, OSError, ValueError) as exc:
        raise ScriptError(_one_line(exc)) from None
    meta = sc.meta
    return Script(config=sc.config, title=str(sc.title), description=_one_line(meta.get("description", "")),
                  steps=[dict(s) for s in sc.steps], source=str(scenario),
                  lesson=bool(meta.get("lesson")))


# ------------------------------------------------------------------------------------------
# words for results and expect facts
# ------------------------------------------------------------------------------------------
def op_of(step: dict) -> dict:
    """The step without its narration keys: what the machine is asked to do."""
    return {k: v for k, v in step.items() if k not in NARRATION}


def describe_step(step: dict) -> str:
    """hot_add(size=128M, start=0x100000000) from a step's op keys."""
    op = op_of(step)
    name = op.pop("op", "?")
    return f"{name}({', '.join(f'{k}={v}' for k, v in op.items() if v is not None)})"


def describe_result(result: OpResult | None) -> str:
    """'ok', or '-EBUSY: the error · refused by: the check' (the check in words)."""
    if result is None:
        return "nothing happened"
    if result.ok:
        left = result.left_behind
        return "ok" + (f" (left behind: {', '.join(map(str, left))})" if left else "")
    errno = result.errno
    error = _one_line(result.error or "refused")
    text = f"-{errno}: {error}" if errno else error
    check = _one_line(result.check or "")
    if check and error in check:      # the check already says what the error says
        text = f"-{errno}: {check}" if errno else check
    elif check:
        text += f" · refused by: {check}"
    left = result.left_behind
    if left:
        text += f" · left behind: {', '.join(map(str, left))}"
    return text


def _fmt_value(value: Any) -> str:
    if isinstance(value, dict):
        if set(value) <= {"min", "max"} and value:
            parts = []
            if "min" in value:
                parts.append(f">= {value['min']}")
            if "max" in value:
                parts.append(f"<= {value['max']}")
            return " and ".join(parts)
        return ", ".join(f"{k} {_fmt_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def expect_marks(step: dict, result: OpResult, before: dict | None, after: dict | None) -> list[tuple[bool, str]]:
    """One (held, words) line per fact of the step's `expect`: ✓ facts say what held, ✗ facts
    say what was found instead (engine.lessons.check_expect, asked one key at a time)."""
    from engine.lessons import check_expect

    exp = step.get("expect")
    if not isinstance(exp, dict) or not exp:
        return []
    marks: list[tuple[bool, str]] = []
    for key, want in exp.items():
        problems = check_expect({"expect": {key: want}}, result, before, after)
        if problems:
            marks.extend((False, _one_line(p)) for p in problems)
        else:
            marks.append((True, f"{key}: {_fmt_value(want)}"))
    return marks


def run_step(machine: Machine, step: dict) -> tuple[OpResult, list[tuple[bool, str]]]:
    """Apply one step (worker thread): its result and its expect marks."""
    from engine.lessons import snapshot

    has_expect = bool(step.get("expect"))
    before = snapshot(machine, step) if has_expect else None
    result = machine.apply(dict(step))
    marks = expect_marks(step, result, before, snapshot(machine, step)) if has_expect else []
    return result, marks


def undo_to(machine: Machine, length: int, config: MachineConfig | None = None
            ) -> tuple[Machine, int]:
    """Take the machine back to `length` history entries (worker thread).

    Uses the engine's undo; should the undo stack be shorter than needed (its limit), a new
    machine replays the first `length` operations instead. Returns (machine, undone) where
    machine is the same object unless it had to be rebuilt."""
    undone = 0
    while len(machine.history) > length and machine.can_undo:
        if not machine.undo():
            break
        undone += 1
    if len(machine.history) > length:
        keep = [dict(op) for op in machine.history[:length]]
        undone += len(machine.history) - length
        machine = Machine(config if config is not None else machine.config)
        for op in keep:
            machine.apply(op)
    return machine, undone


# ------------------------------------------------------------------------------------------
# the walk through a script
# ------------------------------------------------------------------------------------------
@dataclass
class StepRecord:
    """A step that has been played."""

    index: int                       # 0-based index into script.steps
    result: OpResult
    marks: list[tuple[bool, str]]    # expect facts
    history_before: int              # len(machine.history) before the step (for going back)
    history_after: int
    by: str = "lesson"               # "lesson", "student" (a wait step the student did), "teacher"


@dataclass
class Playback:
    """Where a playback is: the steps done, and whether the next one waits for the student."""

    script: Script
    done: list[StepRecord] = field(default_factory=list)
    waiting: bool = False            # the next step is a `wait` step shown to the student
    wait_history_before: int = 0     # len(history) when the wait began (going back undoes to it)
    wait_before: dict | None = None  # snapshot before the student's next operation
    show_hint: bool = False
    note: str = ""                   # one line about the last thing that happened
    note_good: bool | None = None    # colour of the note: True good, False bad, None neutral

    @property
    def n(self) -> int:
        return self.script.n

    @property
    def position(self) -> int:
        """Steps done so far (0..n)."""
        return len(self.done)

    @property
    def at_end(self) -> bool:
        return self.position >= self.n

    @property
    def next_step(self) -> dict | None:
        return None if self.at_end else self.script.steps[self.position]

    @property
    def last(self) -> StepRecord | None:
        return self.done[-1] if self.done else None

    @property
    def current_hint(self) -> str:
        step = self.next_step if self.waiting else None
        return _one_line(((step or {}).get("wait") or {}).get("hint") or "")

    def next_is_wait(self) -> bool:
        step = self.next_step
        return bool(step and step.get("wait"))

    def prompt(self) -> str:
        step = self.next_step or {}
        return _one_line((step.get("wait") or {}).get("prompt") or describe_step(step))

    # -- bookkeeping on the UI thread ----------------------------------------------------
    def begin_wait(self, machine: Machine) -> None:
        from engine.lessons import snapshot

        step = self.next_step or {}
        self.waiting = True
        self.show_hint = False
        self.wait_history_before = len(machine.history)
        self.wait_before = snapshot(machine, step) if step.get("expect") else None
        self.note = ""
        self.note_good = None

    def cancel_wait(self) -> None:
        self.waiting = False
        self.wait_before = None
        self.show_hint = False

    def record(self, result: OpResult, marks: list[tuple[bool, str]], history_before: int,
               history_after: int, by: str = "lesson") -> StepRecord:
        rec = StepRecord(self.position, result, marks, history_before, history_after, by)
        self.done.append(rec)
        self.cancel_wait()
        held = sum(1 for ok, _ in marks if ok)
        if by == "student":
            self.note = f"✓ step {rec.index + 1} done by you"
            self.note_good = True
        else:
            self.note = ""
            self.note_good = None
        if marks and held < len(marks):
            self.note = (self.note + " · " if self.note else "") + \
                f"{len(marks) - held} of {len(marks)} expected facts do not hold"
            self.note_good = False
        return rec

    def student_op(self, machine: Machine, op: dict, result: OpResult) -> bool:
        """The student's operation finished while a step waits: does it do what the step asks?
        If so the step is recorded (with its expect marks) and True is returned."""
        from engine.lessons import snapshot, wait_matches

        step = self.next_step
        if not self.waiting or step is None:
            return False
        if wait_matches(step, op):
            before = self.wait_before
            marks = expect_marks(step, result, before, snapshot(machine, step)) \
                if step.get("expect") else []
            # going back from here undoes everything since the wait began
            self.record(result, marks, self.wait_history_before, len(machine.history),
                        by="student")
            return True
        self.note = f"that was {describe_step(op)}; this step asks: {self.prompt()}"
        self.note_good = False
        self.refresh_wait(machine)
        return False

    def refresh_wait(self, machine: Machine) -> None:
        """The machine changed while a step waits: its `expect` compares with the state now."""
        from engine.lessons import snapshot

        step = self.next_step
        if self.waiting and step is not None:
            self.wait_before = snapshot(machine, step) if step.get("expect") else None

    def back_target(self) -> int | None:
        """History length that going back returns to (None: nothing to go back to)."""
        if self.waiting:
            return self.wait_history_before
        if self.done:
            return self.done[-1].history_before
        return None

    def stepped_back(self) -> None:
        """Going back finished: leave the wait, or forget the last step."""
        if self.waiting:
            self.cancel_wait()
            self.note = "left the student's turn"
        elif self.done:
            rec = self.done.pop()
            self.note = f"↶ step {rec.index + 1} taken back"
        self.note_good = None

    def sync(self, machine: Machine) -> None:
        """After a plain undo: forget the steps whose effect the machine no longer has."""
        length = len(machine.history)
        while self.done and length < self.done[-1].history_after:
            rec = self.done.pop()
            self.note = f"↶ undo took back step {rec.index + 1}"
            self.note_good = None
        if self.waiting and length < self.wait_history_before:
            self.cancel_wait()
        self.refresh_wait(machine)

    def checks(self) -> tuple[int, int]:
        """(facts that held, facts checked) over the steps done."""
        held = total = 0
        for rec in self.done:
            total += len(rec.marks)
            held += sum(1 for ok, _ in rec.marks if ok)
        return held, total
