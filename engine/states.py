"""pfn state codes: what one page frame is doing, as the engine and the TUI name it.

The codes are stored one byte per pfn (or one byte per uniform section), so the
numbers are part of the storage format: append new states, never renumber.
"""

from __future__ import annotations

import numpy as np

ABSENT = 0          # no section here: nothing plugged, or removed again
BOOT_RESERVED = 1   # memblock-reserved at boot: kernel image, the boot memmap
MEMMAP_SELF = 2     # self-hosted memmap: backs struct pages of its own block (vmem_altmap)
MEMMAP_OTHER = 3    # a buddy page holding the memmap of another (hot-added) range
PAGETABLE = 4       # a vmemmap page-table page (PMD/PTE/PUD table) taken from the buddy
OFFLINE = 5         # present section, memory block offline: memmap not initialised
FREE = 6            # in the buddy allocator
MOVABLE = 7         # allocated, movable (user anon / page cache)
UNMOVABLE = 8       # allocated, unmovable (slab, kernel)
PINNED = 9          # allocated movable page with a long-term pin (FOLL_LONGTERM)
MEMMAP_PAD = 10     # force mode: pageblock padding after the memmap, wasted
HOLE = 11           # inside a present section but not RAM (e820 reserved): PageReserved, not present
UNPLUGGED = 12      # virtio-mem subblock not plugged: present, kept out of the buddy (PageOffline)

NAMES: tuple[str, ...] = (
    "absent",
    "boot-reserved",
    "memmap-self",
    "memmap-other",
    "pagetable",
    "offline",
    "free",
    "movable",
    "unmovable",
    "pinned",
    "memmap-pad",
    "hole",
    "unplugged",
)
NSTATES = len(NAMES)
CODE: dict[str, int] = {name: i for i, name in enumerate(NAMES)}

DESCRIPTIONS: dict[str, str] = {
    "absent": "no memory here (not plugged, or removed)",
    "boot-reserved": "reserved at boot (kernel image, boot memmap)",
    "memmap-self": "vmemmap-backing: struct pages of this block, on the block itself",
    "memmap-other": "buddy page holding another range's memmap",
    "pagetable": "vmemmap page-table page from the buddy",
    "offline": "present but offline (memmap not initialised)",
    "free": "free, in the buddy allocator",
    "movable": "allocated, movable (can migrate)",
    "unmovable": "allocated, unmovable (slab/kernel)",
    "pinned": "long-term pinned page (cannot migrate)",
    "memmap-pad": "force-mode padding after the memmap (wasted)",
    "hole": "hole inside a section (e820 reserved)",
    "unplugged": "virtio-mem: not plugged by the host; present, kept out of the buddy (PageOffline)",
}

# States whose pfns are handed out by the page allocator: a zone's managed pages
# are exactly the pfns in these states that lie in an online block of that zone.
MANAGED_STATES = (MEMMAP_OTHER, PAGETABLE, FREE, MOVABLE, UNMOVABLE, PINNED)
ALLOCATED_STATES = (MEMMAP_OTHER, PAGETABLE, MOVABLE, UNMOVABLE, PINNED)
MEMMAP_SELF_STATES = (MEMMAP_SELF, MEMMAP_PAD)


def state_name(code: int) -> str:
    return NAMES[int(code)]


def names_of(codes: np.ndarray) -> list[str]:
    return [NAMES[int(c)] for c in codes]
