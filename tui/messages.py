"""Typed messages the app's workers and widgets post upwards."""

from __future__ import annotations

from typing import Any

from textual.message import Message


class OperationFinished(Message):
    """An engine operation run in a worker thread is done (successfully or refused)."""

    def __init__(self, label: str, result: Any, *, undo: bool = False,
                 replaced_machine: Any = None, replaced_config: Any = None,
                 extra: list[Any] | None = None, seconds: float = 0.0,
                 says: list[str | None] | None = None, playback: Any = None) -> None:
        super().__init__()
        self.label = label                      # what the user asked for, in words
        self.result = result                    # an engine OpResult, or None (undo, new machine)
        self.undo = undo                        # True for undo/redo
        self.replaced_machine = replaced_machine  # a freshly built Machine to switch to
        self.replaced_config = replaced_config
        self.extra = extra or []                # further OpResults (profile replay)
        self.seconds = seconds
        self.says = says or []                  # a scenario step's "say" text, per extra result
        self.playback = playback                # lesson playback: {"kind": "step" | "back", ...}


class OperationCrashed(Message):
    """An engine call raised (bad input, or an engine bug): shown, never fatal."""

    def __init__(self, label: str, error: BaseException) -> None:
        super().__init__()
        self.label = label
        self.error = error


class BlockClicked(Message):
    """The machine bar was clicked on a memory block."""

    def __init__(self, block_id: int, start_pfn: int) -> None:
        super().__init__()
        self.block_id = block_id
        self.start_pfn = start_pfn
