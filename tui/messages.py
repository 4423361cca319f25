"""Typed messages: one per outcome of an engine job (posted by the runner's worker), plus the
widgets' own. Each has its own handler on the app; nothing is picked apart by branches."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message

from engine import Machine, MachineConfig, OpResult
from tui.playback import Playback


class Progress(Message):
    """A long job's current kernel step and count (posted at most ~10 times a second)."""

    def __init__(self, label: str, step: str, done: int, total: int) -> None:
        super().__init__()
        self.label = label
        self.step = step
        self.done = done
        self.total = total


class OpApplied(Message):
    """One operation (or a redo) went through."""

    def __init__(self, label: str, result: OpResult, seconds: float, *, redo: bool = False) -> None:
        super().__init__()
        self.label = label
        self.result = result
        self.seconds = seconds
        self.redo = redo


class OpRefused(Message):
    """One operation was refused by a kernel check (errno, message, check); the machine is as
    before, except what the kernel itself leaves behind (`result.left_behind`)."""

    def __init__(self, label: str, result: OpResult, seconds: float) -> None:
        super().__init__()
        self.label = label
        self.result = result
        self.seconds = seconds


class RangeApplied(Message):
    """A range operation (chmem-style: online/offline/remove a run of blocks) ran; each block
    was its own kernel operation, in order. It stops at the first refusal, as chmem reports."""

    def __init__(self, label: str, results: list[OpResult], seconds: float) -> None:
        super().__init__()
        self.label = label
        self.results = results
        self.seconds = seconds


class Undone(Message):
    """The last operation was taken back."""

    def __init__(self, label: str, op: dict, seconds: float) -> None:
        super().__init__()
        self.label = label
        self.op = op
        self.seconds = seconds


@dataclass
class ReplayOutcome:
    """What a replay on a new machine did, step by step."""

    results: list[OpResult] = field(default_factory=list)
    says: list[str | None] = field(default_factory=list)

    @property
    def refused(self) -> list[OpResult]:
        return [r for r in self.results if not r.ok]


class MachineReplaced(Message):
    """A new machine was booted (and a session or scenario replayed on it). `playback`: a lesson
    or scenario to play on the new machine from its first step (the lesson browser's)."""

    def __init__(self, label: str, machine: Machine, config: MachineConfig,
                 replay: ReplayOutcome, seconds: float, *,
                 playback: Playback | None = None) -> None:
        super().__init__()
        self.label = label
        self.machine = machine
        self.config = config
        self.replay = replay
        self.seconds = seconds
        self.playback = playback


class PlaybackStepped(Message):
    """A lesson / scenario step was applied; `marks` are its expect checks (held, text)."""

    def __init__(self, label: str, result: OpResult, marks: list[tuple[bool, str]], *, by: str,
                 history_before: int, history_after: int, seconds: float) -> None:
        super().__init__()
        self.label = label
        self.result = result
        self.marks = marks
        self.by = by
        self.history_before = history_before
        self.history_after = history_after
        self.seconds = seconds


class PlaybackSteppedBack(Message):
    """A lesson / scenario step was taken back; `machine` is a rebuilt machine when the undo
    journal did not reach far enough (None: the same machine, undone in place)."""

    def __init__(self, label: str, machine: Machine | None, undone: int, seconds: float) -> None:
        super().__init__()
        self.label = label
        self.machine = machine
        self.undone = undone
        self.seconds = seconds


class OpCancelled(Message):
    """The user stopped a long job; the engine rolled the machine back exactly."""

    def __init__(self, label: str, seconds: float) -> None:
        super().__init__()
        self.label = label
        self.seconds = seconds


class OpCrashed(Message):
    """An engine job raised (an engine bug): shown with its traceback in the log, never fatal."""

    def __init__(self, label: str, error: BaseException, traceback: str) -> None:
        super().__init__()
        self.label = label
        self.error = error
        self.traceback = traceback


class BlockClicked(Message):
    """The machine bar was clicked on a memory block."""

    def __init__(self, block_id: int, start_pfn: int) -> None:
        super().__init__()
        self.block_id = block_id
        self.start_pfn = start_pfn
