"""Python's cyclic garbage collector held off while one operation runs.

An operation allocates its journal and event trail by the hundred thousand (a multi-TiB add);
every 700 allocations the collector would walk the young objects and, as they age, the undo
journals kept for undo, which are never garbage. Paused, the collector walks the new objects
once when the operation ends instead. Re-entrant and thread-safe: the collector runs again
when the last operation in flight (in any thread) ends, if it was running before the first.
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def collector_paused():
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
