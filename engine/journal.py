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


class Journal:
    __slots__ = ("entries",)

    def __init__(self) -> None:
        self.entries: list[tuple[Callable[..., Any], tuple]] = []

    def record(self, fn: Callable[..., Any], *args: Any) -> None:
        """Remember a call that undoes the change about to be made."""
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
        few thousand entries (a long undo shows progress); it must not raise."""
        entries = self.entries
        total = len(entries)
        done = 0
        # popped one by one: each record is freed as it is undone, not a million at the end
        # in one call that holds the interpreter for ~200 ms
        while entries:
            fn, args = entries.pop()
            fn(*args)
            done += 1
            if progress is not None and (done & 4095) == 0:
                progress(done, total)

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
