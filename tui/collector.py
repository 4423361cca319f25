"""When Python's cyclic garbage collector runs in the app: while nobody types.

Left to itself the collector runs a full pass whenever enough long-lived objects piled up,
walking every tracked object: the machine's state and undo journals, and the drawn lines
(strips, segments, styles) by the hundred thousand. Such passes (10-55 ms while typing at
200x60 with 1 TiB; 80-300 ms right after a TiB operation) landed in whatever key or frame
came next. So the app switches automatic collection off and runs it itself, once nothing has
been typed or clicked for a second: it collects what is new and freezes what survives
(`gc.freeze`), so the next pass walks only what is new again. Frozen objects that die later
in a cycle (Textual's strips and widgets do) would never be freed, so every FULL_EVERY-th pass
unfreezes everything first and walks it all. Should typing never pause, a pass runs anyway
once a million objects piled up. Reference counting frees everything else as usual, at once.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

IDLE_AFTER = 1.0             # seconds without input before the collector runs
CHECK_EVERY = 0.5            # how often the app asks
PILE_LIMIT = 1_000_000       # tracked objects allocated since the last pass: collect anyway
FULL_EVERY = 8               # every this many passes, frozen objects are walked too


def freeze_long_lived() -> None:
    """Collect the garbage cycles there are, then move every object that exists now out of
    the collector's passes (gc.freeze): the machine's state and undo journals live as long as
    the session. Engine state has no reference cycles, so a machine dropped later is still
    freed, by reference counting (tests/tui/test_runner_gc.py)."""
    gc.collect()
    gc.freeze()


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
        True if it did. `busy`: an engine job runs (a pass would hold up its worker)."""
        if busy or self._was_enabled is None:
            return False
        piled = gc.get_count()[0] > PILE_LIMIT
        idle = self._dirty and self._clock() - self._last_activity >= IDLE_AFTER
        if not (idle or piled):
            return False
        if self.passes % FULL_EVERY == FULL_EVERY - 1:
            gc.unfreeze()           # what was frozen and died since goes too
        freeze_long_lived()
        self._dirty = False
        self.passes += 1
        return True
