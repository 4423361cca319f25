"""An undo journal: every mutation of machine state records how to take it back.

Operations run inside a transaction; a refused operation rolls the journal back so the
machine is byte-for-byte as before, and a committed one keeps its journal for undo.
Snapshots would copy the whole machine per operation; the journal costs what changed.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable

import numpy as np

_MISSING = object()


# a rollback reports progress every this many units (an entry, or a row of a batched record)
PROGRESS_UNITS = 4096


class Journal:
    __slots__ = ("entries", "_rows")

    def __init__(self) -> None:
        self.entries: list[tuple[Callable[..., Any], tuple]] = []
        # entry index -> rows it undoes, for the records of batches (engine.batch_add)
        self._rows: dict[int, int] = {}

    def record(self, fn: Callable[..., Any], *args: Any) -> None:
        """Remember a call that undoes the change about to be made."""
        self.entries.append((fn, args))

    def record_rows(self, rows: int, fn: Callable[..., Any], *args: Any) -> None:
        """Like `record`, for one call that undoes a batch of `rows` rows (sections, blocks,
        mappings): a rollback's progress counts it as that many units of work."""
        if rows > 1:
            self._rows[len(self.entries)] = rows
        self.entries.append((fn, args))

    def set_attr(self, obj: Any, name: str, value: Any) -> None:
        old = getattr(obj, name)
        # weakly: the machine's own knobs are set through here, and the machine keeps its
        # journals for undo; a strong reference would make every machine a reference cycle,
        # freed only by the cyclic collector (which a front end may keep away from it)
        self.entries.append((_restore_attr, (_weak(obj), name, old)))
        setattr(obj, name, value)

    def add_attr(self, obj: Any, name: str, delta: int) -> None:
        self.set_attr(obj, name, getattr(obj, name) + delta)

    def dict_set(self, d: dict, key: Any, value: Any) -> None:
        old = d.get(key, _MISSING)
        if old is _MISSING:
            self.entries.append((_dict_pop, (d, key)))
        else:
            self.entries.append((d.__setitem__, (key, old)))
        d[key] = value

    def dict_del(self, d: dict, key: Any) -> None:
        old = d.pop(key)
        self.entries.append((d.__setitem__, (key, old)))

    def array_set(self, arr, index, value) -> None:
        old = arr[index]
        if isinstance(old, np.ndarray):
            old = old.copy()          # a slice is a view: keep the values, not the view
        self.entries.append((arr.__setitem__, (index, old)))
        arr[index] = value

    def list_append(self, lst: list, value: Any) -> None:
        self.entries.append((lst.pop, ()))
        lst.append(value)

    def rollback(self, progress: Callable[[int, int], None] | None = None) -> None:
        """Undo every recorded change, newest first. `progress(done, total)` is called every
        few thousand units (entries, or rows of batched records: a long undo shows progress)
        and once at the end; it must not raise."""
        entries, rows = self.entries, self._rows
        total = len(entries) + sum(rows.values()) - len(rows)
        done = 0
        # popped one by one: each record is freed as it is undone, not a million at the end
        # in one call that holds the interpreter for ~200 ms
        while entries:
            fn, args = entries.pop()
            fn(*args)
            before = done
            done += rows.pop(len(entries), 1) if rows else 1
            if progress is not None and before // PROGRESS_UNITS != done // PROGRESS_UNITS:
                progress(done, total)
        if progress is not None and total % PROGRESS_UNITS:
            progress(done, total)

    def rollback_to(self, mark: int) -> None:
        """Undo the changes recorded after `mark` (a length of the journal), newest first."""
        entries, rows = self.entries, self._rows
        while len(entries) > mark:
            fn, args = entries.pop()
            fn(*args)
            if rows:
                rows.pop(len(entries), None)

    def __len__(self) -> int:
        return len(self.entries)


def _dict_pop(d: dict, key: Any) -> None:
    d.pop(key, None)


class _Strong:
    """A strong reference with weakref's call interface, for objects without weakref support."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __call__(self) -> Any:
        return self.obj


def _weak(obj: Any) -> Callable[[], Any]:
    try:
        return weakref.ref(obj)
    except TypeError:       # a slotted object without __weakref__: it cannot own a journal
        return _Strong(obj)


def _restore_attr(ref: Callable[[], Any], name: str, old: Any) -> None:
    obj = ref()
    # gone: nothing else held it, so its attribute is no part of the state any more
    if obj is not None:
        setattr(obj, name, old)
