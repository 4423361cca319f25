"""The read interface the app draws a machine through.

`engine.Machine` satisfies it, and so does `bridge.live.LiveMachine`: the app may hold either.
Written as `typing.Protocol`s so the type checker (and `isinstance` with runtime_checkable)
tells whether an object can be drawn; nothing here is implemented.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class GeometryView(Protocol):
    """`machine.geometry`: the sizes the grid and the inspector compute with."""
    arch: str
    profile: str
    page_size: int
    page_shift: int
    pages_per_section: int
    section_size: int
    sections_per_block: int
    pages_per_block: int
    block_size: int
    struct_page_size: int
    pageblock_pages: int
    max_pfn: int


@runtime_checkable
class MachineView(Protocol):
    """What the app reads of a machine (docs/engine-api.md, "Geometry" and "Reading state")."""

    @property
    def geometry(self) -> GeometryView: ...

    @property
    def generation(self) -> int: ...

    @property
    def history(self) -> list[dict]: ...

    @property
    def can_undo(self) -> bool: ...

    @property
    def can_redo(self) -> bool: ...

    def present_sections(self) -> np.ndarray: ...

    def pfn_states(self, lo: int, hi: int) -> np.ndarray: ...

    def state_runs(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...

    def aggregate(self, lo: int, hi: int, per_cell: int) -> tuple[np.ndarray, np.ndarray]: ...

    def struct_page(self, pfn: int) -> dict: ...

    def section(self, nr: int) -> dict: ...

    def backing_of(self, lo: int, hi: int) -> list[tuple[int, int]]: ...

    def served_by(self, pfn: int) -> tuple[int, int] | None: ...

    def blocks(self) -> list[dict]: ...

    def block_of(self, pfn: int) -> int | None: ...

    def block(self, bid: int) -> dict | None: ...

    def resources(self) -> list[dict]: ...

    def meminfo(self) -> dict: ...

    def zoneinfo(self) -> list[dict]: ...

    def vmstat(self) -> dict: ...

    def iomem(self) -> list[tuple[int, int, str]]: ...

    def kpageflags(self, lo: int, hi: int) -> np.ndarray: ...

    def nodes_info(self) -> list[dict]: ...
