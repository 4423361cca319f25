"""When Python's cyclic garbage collector runs in the app: while nobody types.

Left to itself the collector runs a full pass whenever enough long-lived objects piled up,
walking every tracked object that is not frozen. The engine's state is frozen after each job
(tui/runner.py), but a session keeps making drawn lines (strips, segments, styles) by the
hundred thousand, and full passes over them (10-55 ms at 200x60 with 1 TiB) landed in
whatever key was pressed at the time. So the app switches automatic collection off and runs
it itself: once nothing has been typed or clicked for a second, it collects everything (no
garbage cycle survives it) and freezes what is left, so the next idle pass walks only what is
new. Should typing never pause, a pass runs anyway once a million objects piled up (memory
stays bounded). Reference counting frees everything else as usual, at once.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

IDLE_AFTER = 1.0             # seconds without input before the collector runs
CHECK_EVERY = 0.5            # how often the app asks
PILE_LIMIT = 1_000_000       # tracked objects allocated since the last pass: collect anyway


class IdleCollector:
    """`start()` when the app mounts, `activity()` on every key or click, `tick(busy)` every
    CHECK_EVERY seconds, `stop()` when the app exits (the collector is as it was before)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last_activity = clock()
        self._dirty = True           # something may have been allocated since the last pass
        self._was_enabled: bool | None = None
        self.passes = 0              # how many passes ran (for tests and the curious)

    def start(self) -> None:
        if self._was_enabled is None:
            self._was_enabled = gc.isenabled()
            gc.disable()

    def stop(self) -> None:
        if self._was_enabled:
            gc.enable()
        self._was_enabled = None

    def activity(self) -> None:
        self._last_activity = self._clock()
        self._dirty = True

    def tick(self, busy: bool) -> bool:
        """Collect and freeze if the app has been idle long enough (or too much piled up);
        True if it did. `busy`: an engine job runs (its worker freezes what it built)."""
        if busy or self._was_enabled is None:
            return False
        piled = gc.get_count()[0] > PILE_LIMIT
        idle = self._dirty and self._clock() - self._last_activity >= IDLE_AFTER
        if not (idle or piled):
            return False
        gc.collect()
        gc.freeze()
        self._dirty = False
        self.passes += 1
        return True
