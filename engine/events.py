"""The event trail of one operation: kernel functions in call order, dmesg lines, the verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

# Per-section calls repeat thousands of times for a large add; past this many of one
# function the trail keeps a count instead of a line each.
DETAIL_LIMIT = 24


class Event(NamedTuple):
    func: str
    args: str
    outcome: str = ""
    depth: int = 0

    def line(self) -> str:
        out = f" -> {self.outcome}" if self.outcome else ""
        return f"{'  ' * self.depth}{self.func}({self.args}){out}"


@dataclass
class Trail:
    events: list[Event] = field(default_factory=list)
    dmesg: list[str] = field(default_factory=list)
    _counts: dict[str, int] = field(default_factory=dict)
    _suppressed: dict[tuple[str, int], int] = field(default_factory=dict)
    depth: int = 0

    def call(self, func: str, args: str = "", outcome: str = "", depth: int | None = None) -> None:
        d = self.depth if depth is None else depth
        n = self._counts.get(func, 0) + 1
        self._counts[func] = n
        if n > DETAIL_LIMIT:
            key = (func, d)
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return
        self.events.append(Event(func, args, outcome, d))

    def counting(self, func: str, depth: int) -> bool:
        """Whether calls of func at this depth are already only counted."""
        return (func, depth) in self._suppressed

    def call_repeated(self, func: str, n: int, depth: int) -> None:
        """n more calls of func at depth, where `counting(func, depth)` holds: what n `call`s
        would record, without building their lines."""
        key = (func, depth)
        if key not in self._suppressed:
            raise ValueError(f"{func} at depth {depth} still gets lines of its own")
        self._counts[func] += n
        self._suppressed[key] += n

    def log(self, line: str) -> None:
        if len(self.dmesg) < 400:
            self.dmesg.append(line)
        elif len(self.dmesg) == 400:
            self.dmesg.append("... (more lines suppressed)")

    def finish(self) -> None:
        for (func, depth), n in self._suppressed.items():
            self.events.append(Event(func, f"... {n} more calls", "", depth))
        self._suppressed.clear()

    def nest(self) -> "_Nest":
        return _Nest(self)


class _Nest:
    def __init__(self, trail: Trail):
        self.trail = trail

    def __enter__(self):
        self.trail.depth += 1
        return self.trail

    def __exit__(self, *exc):
        self.trail.depth -= 1
        return False
