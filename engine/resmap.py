"""Indexed engine tables. The hot-added System RAM resources, kept sorted so lookups cost O(log n), not a sort per op.

The kernel keeps iomem as a sorted tree; we keep a dict (id -> Resource, the id being the first
pfn) plus the sorted list of ids. Every change goes through __setitem__/pop (the journal uses
them, rollback included), so the order is never rebuilt.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right, insort

from .model import Resource


class ResourceMap(dict):
    """dict rid -> Resource with rid == start_pfn, plus sorted ids and a first-fit cache."""

    def __init__(self) -> None:
        super().__init__()
        self._ids: list[int] = []
        # (base, size, align) -> a pfn below which no gap can hold that size; dropped
        # when a removal opens a gap below it
        self._fit: dict[tuple[int, int, int], int] = {}

    # -- the dict operations the engine and its journal use --------------------------------
    def __setitem__(self, rid: int, r: Resource) -> None:
        assert rid == r.start_pfn, "resources are named by their first pfn"
        if rid not in self:
            insort(self._ids, rid)
        super().__setitem__(rid, r)

    def pop(self, rid, *default):
        if rid in self:
            del self._ids[bisect_left(self._ids, rid)]
            self._opened(rid)
        return super().pop(rid, *default)

    def __delitem__(self, rid) -> None:
        self.pop(rid)

    def _opened(self, pfn: int) -> None:
        self._fit = {k: v for k, v in self._fit.items() if v <= pfn}

    def update(self, *a, **kw):   # pragma: no cover - not used; keep the order right anyway
        for k, v in dict(*a, **kw).items():
            self[k] = v

    # -- ordered queries ---------------------------------------------------------------------
    def ordered(self) -> list[Resource]:
        return [dict.__getitem__(self, i) for i in self._ids]

    def ids(self) -> list[int]:
        """Resource ids (first pfns) in address order."""
        return list(self._ids)

    def index(self, rid: int) -> int:
        """Position of rid in address order (the `resource` index of a block)."""
        i = bisect_left(self._ids, rid)
        if i == len(self._ids) or self._ids[i] != rid:
            raise KeyError(rid)
        return i

    def containing(self, pfn: int) -> Resource | None:
        i = bisect_right(self._ids, pfn) - 1
        if i >= 0:
            r = dict.__getitem__(self, self._ids[i])
            if r.start_pfn <= pfn < r.end_pfn:
                return r
        return None

    def overlapping(self, lo: int, hi: int) -> list[Resource]:
        """Resources meeting [lo, hi), in address order (they never overlap each other)."""
        i = max(0, bisect_right(self._ids, lo) - 1)
        out = []
        while i < len(self._ids) and self._ids[i] < hi:
            r = dict.__getitem__(self, self._ids[i])
            if r.end_pfn > lo:
                out.append(r)
            i += 1
        return out

    def first_fit(self, base: int, size: int, align: int, shift: int) -> int:
        """The lowest align-aligned address >= base with `size` free bytes before the next
        resource (addresses in bytes; resources in pfns, shift = page_shift)."""
        up = lambda x: -(-x // align) * align
        key = (base, size, align)
        cur = max(up(base), self._fit.get(key, 0) << shift)
        ids = self._ids
        i = bisect_right(ids, cur >> shift) - 1
        if i >= 0:
            r = dict.__getitem__(self, ids[i])
            if (r.end_pfn << shift) > cur:
                cur = up(r.end_pfn << shift)
        i += 1
        while i < len(ids):
            r = dict.__getitem__(self, ids[i])
            start = r.start_pfn << shift
            if start - cur >= size:
                break
            cur = max(cur, up(r.end_pfn << shift))
            i += 1
        self._fit[key] = cur >> shift        # in pfns, like the ids _opened compares with
        return cur


class IdMap(dict):
    """dict id -> object whose lowest free id is O(log n), as xa_alloc() finds it.

    Ids are handed out densely from 0; a removed id goes to a heap of holes, and the lowest
    free id is the smallest hole, else the next id after the dense run. Works through the
    journal's __setitem__/pop like any dict, rollback included.
    """

    def __init__(self) -> None:
        super().__init__()
        self._next = 0                 # every id below this is in use or in _holes
        self._holes: list[int] = []    # heap of free ids below _next (may hold stale ids)

    def __setitem__(self, key: int, value) -> None:
        super().__setitem__(key, value)
        while self._next in self:
            self._next += 1
        if key > self._next:
            # an id set beyond the dense run: the ids between are holes
            for k in range(self._next, key):
                if k not in self:
                    heapq.heappush(self._holes, k)
            self._next = key + 1

    def pop(self, key, *default):
        if key in self:
            heapq.heappush(self._holes, key)
        return super().pop(key, *default)

    def __delitem__(self, key) -> None:
        self.pop(key)

    def lowest_free(self) -> int:
        while self._holes and self._holes[0] in self:
            heapq.heappop(self._holes)      # taken again since it was freed
        return self._holes[0] if self._holes else self._next
