"""The data the machine is made of: zones, nodes, hot-added resources, altmaps, geometry."""

from __future__ import annotations

from dataclasses import dataclass, field

ZONE_NAMES = ("DMA", "DMA32", "Normal", "Movable")
ZONE_DMA, ZONE_DMA32, ZONE_NORMAL, ZONE_MOVABLE = range(4)
ZONE_INDEX = {n.lower(): i for i, n in enumerate(ZONE_NAMES)}


def zone_index(name: str) -> int:
    key = str(name).strip().lower()
    if key not in ZONE_INDEX:
        raise ValueError(f"unknown zone {name!r} (DMA, DMA32, Normal, Movable)")
    return ZONE_INDEX[key]


class Zone:
    """struct zone: span, present/managed accounting, free pages and watermarks."""

    __slots__ = ("node", "idx", "start_pfn", "end_pfn", "present", "managed", "free",
                 "present_early", "wmark_min", "wmark_low", "wmark_high", "boot_ranges")

    def __init__(self, node: int, idx: int):
        self.node, self.idx = node, idx
        self.start_pfn = self.end_pfn = 0
        self.present = self.managed = self.free = self.present_early = 0
        self.wmark_min = self.wmark_low = self.wmark_high = 0
        self.boot_ranges: tuple[tuple[int, int], ...] = ()

    @property
    def name(self) -> str:
        return ZONE_NAMES[self.idx]

    @property
    def spanned(self) -> int:
        return self.end_pfn - self.start_pfn

    def is_empty(self) -> bool:
        """zone_is_empty(): nothing spanned."""
        return self.spanned == 0

    def populated(self) -> bool:
        """populated_zone(): has present pages."""
        return self.present > 0

    def intersects(self, pfn: int, nr: int) -> bool:
        """zone_intersects()."""
        if self.is_empty():
            return False
        return not (pfn >= self.end_pfn or pfn + nr <= self.start_pfn)

    def state(self) -> tuple:
        return (self.start_pfn, self.end_pfn, self.present, self.managed, self.free,
                self.present_early, self.wmark_min)


class Node:
    __slots__ = ("id", "online", "distances", "boot_ranges", "boot_memory")

    def __init__(self, nid: int, distances: tuple[int, ...], boot_ranges, boot_memory: int):
        self.id = nid
        self.online = bool(boot_memory)
        self.distances = distances
        self.boot_ranges = boot_ranges
        self.boot_memory = boot_memory


@dataclass(frozen=True)
class Resource:
    """A hot-added "System RAM" range in /proc/iomem, with how its memmap was placed."""
    id: int
    start_pfn: int
    end_pfn: int
    node: int
    via: str                 # "acpi" | "driver" | "kmem" | "dlpar" | "virtio_mem"
    memmap: str              # "altmap-range" (rfc, 5.13-6.6) | "altmap-block" (6.8+) | "buddy"
    group: int               # the DIMM it came from (static memory group), split pieces keep it
    owner: str = ""          # the parent resource a driver requested first ("dax0.0" for kmem,
                             # "virtio0" for virtio-mem)

    @property
    def name(self) -> str:
        """The resource name add_memory() registers: driver-managed ones carry the driver's."""
        return {"acpi": "System RAM", "dlpar": "System RAM", "probe": "System RAM",
                "virtio_mem": "System RAM (virtio_mem)"}.get(self.via, "System RAM (kmem)")

    @property
    def flags(self) -> tuple[str, ...]:
        """register_memory_resource(): busy System RAM, DRIVER_MANAGED unless named "System RAM"."""
        base = ("IORESOURCE_SYSTEM_RAM", "IORESOURCE_BUSY")
        return base if self.name == "System RAM" else base + ("IORESOURCE_SYSRAM_DRIVER_MANAGED",)


class VmemAltmap:
    """struct vmem_altmap and its allocator (mm/sparse-vmemmap.c)."""

    __slots__ = ("base_pfn", "end_pfn", "reserve", "free", "align", "alloc")

    def __init__(self, base_pfn: int, end_pfn: int, free: int, reserve: int = 0):
        self.base_pfn, self.end_pfn = base_pfn, end_pfn
        self.reserve, self.free = reserve, free
        self.align = self.alloc = 0

    def next_pfn(self) -> int:
        """vmem_altmap_next_pfn(): base + reserve + alloc + align."""
        return self.base_pfn + self.reserve + self.alloc + self.align

    def nr_free(self) -> int:
        """vmem_altmap_nr_free(): room left under the `free` ceiling."""
        allocated = self.alloc + self.align
        return self.free - allocated if self.free > allocated else 0

    def offset(self) -> int:
        """vmem_altmap_offset(): pfns from base whose struct page is metadata."""
        return self.reserve + self.free

    def plan_alloc(self, nr_pfns: int) -> tuple[int, int] | None:
        """altmap_alloc_block_buf() without side effects: (pfn, padding) or None."""
        if nr_pfns <= 0:
            return None
        pfn_align = nr_pfns & -nr_pfns          # largest power of two dividing nr_pfns
        nxt = self.next_pfn()
        nr_align = (-nxt) % pfn_align
        if nr_pfns + nr_align > self.nr_free():
            return None
        return nxt + nr_align, nr_align

    def copy(self) -> "VmemAltmap":
        a = VmemAltmap(self.base_pfn, self.end_pfn, self.free, self.reserve)
        a.align, a.alloc = self.align, self.alloc
        return a

    def as_dict(self) -> dict:
        return {"base_pfn": self.base_pfn, "end_pfn": self.end_pfn, "reserve": self.reserve,
                "free": self.free, "align": self.align, "alloc": self.alloc}


@dataclass(frozen=True)
class Geometry:
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
    phys_bits: int
    pmd_size: int
    extra: dict = field(default_factory=dict)
