"""One operation in flight: its journal (for rollback and undo) and its event trail."""

from __future__ import annotations

import mmap
from dataclasses import dataclass, field

import numpy as np

from .events import Trail
from .journal import Journal


@dataclass
class Tx:
    journal: Journal = field(default_factory=Journal)
    trail: Trail = field(default_factory=Trail)
    # what the kernel's own error path leaves behind on failure (not rolled back)
    left_behind: list[str] = field(default_factory=list)
    # allocation cursors: within one operation nothing above a cursor is free any more
    alloc_hint: dict = field(default_factory=dict)
    # memory block devices this operation created (a hot-add's new memoryN), in order
    created_blocks: list[int] = field(default_factory=list)
    # dynamic debug on: pr_debug()/dev_dbg() lines reach the log (the machine's dyndbg knob)
    dyndbg: bool = False
    # armed faults (engine.fault_inject) and how many allocations of each kind this
    # operation made so far: a fault fires at its Nth page within one operation
    faults: dict = field(default_factory=dict)
    fault_counts: dict = field(default_factory=dict)
    # ratelimited printk sites that already printed in this operation (warn_alloc: one
    # message per 10 s, so one per operation)
    ratelimited: set = field(default_factory=set)

    def set(self, obj, name: str, value) -> None:
        if getattr(obj, name) != value:
            self.journal.set_attr(obj, name, value)

    def add(self, obj, name: str, delta: int) -> None:
        if delta:
            self.journal.set_attr(obj, name, getattr(obj, name) + delta)

    def call(self, func: str, args: str = "", outcome: str = "") -> None:
        self.trail.call(func, args, outcome)

    def log(self, line: str) -> None:
        """printk at the default console level (pr_info and above)."""
        self.trail.log(line)

    def debug(self, line: str) -> None:
        """pr_debug()/dev_dbg(): printed only with dynamic debug enabled for the site."""
        if self.dyndbg:
            self.trail.log(line)

    def log_once(self, once: set, key: str, line: str) -> None:
        """pr_warn_once()/WARN_ON_ONCE(): once per boot; `once` is the machine's journaled set."""
        if key in once:
            return
        self.journal.record(once.discard, key)
        once.add(key)
        self.trail.log(line)

    def mark(self) -> int:
        """A savepoint: rollback_to(mark) undoes what happened after it (a nested error path)."""
        return len(self.journal)

    def rollback_to(self, mark: int) -> None:
        self.journal.rollback_to(mark)

    def nest(self):
        return self.trail.nest()


def reserve(n: int, dtype) -> np.ndarray:
    """n zeroed elements in an anonymous mapping: pages are backed only when written.

    Not np.zeros: numpy asks for transparent huge pages on big arrays, so one write at the
    top of the address space would back 2 MiB per column instead of one page.
    """
    nbytes = max(1, n * np.dtype(dtype).itemsize)
    return np.frombuffer(mmap.mmap(-1, nbytes), dtype=dtype, count=n)


class Columns:
    """Parallel numpy columns indexed by section or block number, grown on demand.

    With a capacity (the rows of the whole physical address space) every column is reserved
    once with calloc'd memory: pages nobody writes are never backed, so absent address space
    costs no memory whatever its address, and growing is O(1) (no copy). Rows that were never
    written read 0 for every column, also where the fill is -1: look at `exists`/`present`
    before reading a row's node, zone or resource. Without a capacity (tests, small tables)
    columns are grown by copying, with the fill.
    """

    def __init__(self, spec: dict[str, tuple[type, object]], capacity: int | None = None):
        self._spec = spec
        self._capacity = capacity
        for name, (dtype, fill) in spec.items():
            if capacity is None:
                setattr(self, name, np.full(0, fill, dtype=dtype))
            else:
                setattr(self, name, reserve(capacity, dtype))
        self.size = 0

    def ensure(self, n: int, journal: Journal | None) -> None:
        if n <= self.size:
            return
        if self._capacity is not None:
            if n > self._capacity:
                raise IndexError(f"row {n - 1} is beyond the address space ({self._capacity} rows)")
            if journal is not None:
                journal.record(self._restore_size, self.size)
            # rows written below the old size keep their values; new rows are 0 until set
            self.size = min(self._capacity, max(n, 2 * self.size, 64))
            return
        new_size = max(n, 2 * self.size, 64)
        if journal is not None:
            journal.record(self._restore, {k: getattr(self, k) for k in self._spec}, self.size)
        for name, (dtype, fill) in self._spec.items():
            old = getattr(self, name)
            new = np.full(new_size, fill, dtype=dtype)
            new[: len(old)] = old
            setattr(self, name, new)
        self.size = new_size

    def fill_rows(self, lo: int, hi: int) -> None:
        """Write every column's fill value into rows [lo, hi) (boot, before it sets them up)."""
        for name, (_, fill) in self._spec.items():
            getattr(self, name)[lo:hi] = fill

    def _restore_size(self, size: int) -> None:
        self.size = size

    def _restore(self, arrays: dict, size: int) -> None:
        for k, v in arrays.items():
            setattr(self, k, v)
        self.size = size

    def set(self, name: str, index, value, journal: Journal) -> None:
        arr = getattr(self, name)
        journal.array_set(arr, index, value)

    def set_row(self, index: int, values: dict, journal: Journal) -> None:
        """Set several columns of one row with a single undo record."""
        old = {k: getattr(self, k)[index] for k in values}
        journal.record(self._restore_row, index, old)
        for k, v in values.items():
            getattr(self, k)[index] = v

    def set_rows(self, lo: int, hi: int, values: dict, journal: Journal) -> None:
        """Set several columns over rows [lo, hi) to one value each, with a single undo record."""
        old = {k: getattr(self, k)[lo:hi].copy() for k in values}
        journal.record_rows(hi - lo, self._restore_rows, lo, hi, old)
        for k, v in values.items():
            getattr(self, k)[lo:hi] = v

    def _restore_rows(self, lo: int, hi: int, old: dict) -> None:
        for k, v in old.items():
            getattr(self, k)[lo:hi] = v

    def _restore_row(self, index: int, old: dict) -> None:
        for k, v in old.items():
            getattr(self, k)[index] = v

    def fingerprint_into(self, h) -> None:
        # capacity is not state: hash each column up to its last non-default entry
        for name in sorted(self._spec):
            arr = getattr(self, name)[: self.size]
            fill = 0 if self._capacity is not None else self._spec[name][1]
            used = np.flatnonzero(arr != fill)
            n = int(used[-1]) + 1 if len(used) else 0
            h.update(name.encode() + n.to_bytes(8, "little"))
            h.update(arr[:n].tobytes())
