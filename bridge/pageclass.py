"""Classing real pfns into the engine's states from /proc/kpageflags and /proc/kpagecount.

The structure comes first (is there a memory block, is it online, is the pfn System RAM), then
the flags.  Which flags mark a self-hosted memmap page depends on the running kernel:

- 5.13-5.19: PG_reserved only, so such a page is known by its place (a reserved run at the start
  of a block, as long as the block's memmap);
- 6.0-6.10: PG_reserved + PG_vmemmap_self_hosted (= PG_owner_priv_1, KPF_OWNER_PRIVATE);
- 6.11+ (memmap initialised PageOffline, cleared for the vmemmap): KPF_OWNER_PRIVATE alone.

Every pfn gets a reason code beside its state so the inspector can say why it was classed so.
"""

from __future__ import annotations

import numpy as np

from engine import KPF, kpf_names
from engine import states as S

# the /proc/kpageflags bit numbers (include/uapi/linux/kernel-page-flags.h), as the engine names them
KPF_BITS = KPF


def bit(*names: str) -> np.uint64:
    v = 0
    for n in names:
        v |= 1 << KPF_BITS[n]
    return np.uint64(v)


def flag_names(value: int) -> list[str]:
    return kpf_names(int(value))


# Structure codes: what the sysfs/iomem layout alone says about a pfn
NO_BLOCK, BLOCK_OFFLINE, NOT_RAM, RAM = 0, 1, 2, 3

# Reason codes (uint8, stored beside the state of each pfn)
REASONS: tuple[str, ...] = (
    "no memory block covers this pfn (not present)",                                      # 0
    "its memory block is offline: the kernel reads no flags there (pfn_to_online_page() is NULL)",  # 1
    "in an online block but not System RAM in /proc/iomem (firmware hole or reserved)",   # 2
    "RESERVED + OWNER_PRIVATE: PG_reserved with PG_vmemmap_self_hosted, "
    "a self-hosted memmap page (6.0-6.10)",                                               # 3
    "OWNER_PRIVATE and nothing else: PG_vmemmap_self_hosted on a page neither reserved nor "
    "in use, a self-hosted memmap page (6.11+)",                                          # 4
    "RESERVED at the start of its block, as long as the block's memmap: a self-hosted memmap "
    "page by position (5.13-5.19 set no other flag)",                                     # 5
    "BUDDY: free, in the buddy allocator",                                                # 6
    "SLAB: a slab page (kernel, unmovable)",                                              # 7
    "PGTABLE: a page-table page (kernel, unmovable)",                                     # 8
    "LRU/ANON/MMAP: a user or page-cache page (movable)",                                 # 9
    "RESERVED: reserved at boot (memblock: kernel image, boot memmap) or by a driver",    # 10
    "no flags, refcount 0: free but on no buddy list the kernel reports (per-CPU lists, "
    "or memory not yet handed to the buddy)",                                             # 11
    "no flags, refcount > 0: a kernel allocation (alloc_pages, vmalloc), unmovable",      # 12
    "OFFLINE: PageOffline in an online block, handed to a driver (a virtio-mem subblock "
    "not plugged, or a balloon page)",                                                    # 13
    "other flags without LRU/BUDDY/SLAB: kernel use, unmovable",                          # 14
    "no flags and no refcount to read (no /proc/kpagecount): counted as free",            # 15
    "page flags not read (/proc/kpageflags needs root): an online RAM page, shown as free", # 16
    "NOPAGE inside an online block: no struct page (a hole the kernel knows)",            # 17
)
(R_NO_BLOCK, R_OFFLINE_BLOCK, R_NOT_RAM, R_SELF_RES_OP, R_SELF_OP, R_SELF_POS, R_BUDDY, R_SLAB,
 R_PGTABLE, R_USER, R_RESERVED, R_FREE_NOFLAG, R_KERNEL_NOFLAG, R_PAGE_OFFLINE, R_OTHER,
 R_NOCOUNT, R_NOT_READ, R_NOPAGE) = range(len(REASONS))

# which rule marks self-hosted memmap pages, by kernel version
RULE_NONE, RULE_POSITION, RULE_RESERVED_OWNER, RULE_OWNER = \
    "none", "reserved-by-position", "reserved+owner_private", "owner_private"


def selfhosted_rule(version: tuple[int, int] | None) -> str:
    """The flags the running kernel gives a self-hosted memmap page (None: unknown version)."""
    if version is None:
        return RULE_OWNER
    if version < (5, 13):
        return RULE_NONE
    if version < (6, 0):
        return RULE_POSITION
    if version < (6, 11):
        return RULE_RESERVED_OWNER
    return RULE_OWNER


_USE = bit("LRU", "ANON", "MMAP", "SWAPBACKED", "SWAPCACHE", "KSM", "THP", "HUGE", "UNEVICTABLE")
_ANY_USE = _USE | bit("SLAB", "BUDDY", "PGTABLE", "COMPOUND_HEAD", "COMPOUND_TAIL", "UPTODATE",
                      "OFFLINE", "RESERVED", "NOPAGE", "HWPOISON", "ZERO_PAGE")


def classify(structure: np.ndarray, flags: np.ndarray | None, counts: np.ndarray | None,
             rule: str) -> tuple[np.ndarray, np.ndarray]:
    """(state codes, reason codes) per pfn, from the structure codes and the page files.

    `flags` None: the page files were not readable; RAM pfns are then shown free (reason 16).
    """
    n = len(structure)
    st = np.full(n, S.FREE, dtype=np.uint8)
    why = np.full(n, R_NOT_READ, dtype=np.uint8)
    ram = structure == RAM
    if flags is not None:
        f = flags
        has = lambda m: (f & m) != 0          # noqa: E731  (a local shorthand)
        no_use = (f & _ANY_USE) == 0
        owner = has(bit("OWNER_PRIVATE"))
        reserved = has(bit("RESERVED"))
        # the order matters: later assignments win
        zero = f == 0
        if counts is None:
            st[zero], why[zero] = S.FREE, R_NOCOUNT
        else:
            busy = counts > 0
            st[zero & ~busy], why[zero & ~busy] = S.FREE, R_FREE_NOFLAG
            st[zero & busy], why[zero & busy] = S.UNMOVABLE, R_KERNEL_NOFLAG
        other = ~zero
        st[other], why[other] = S.UNMOVABLE, R_OTHER
        for mask, state, reason in ((bit("RESERVED"), S.BOOT_RESERVED, R_RESERVED),
                                    (_USE, S.MOVABLE, R_USER),
                                    (bit("PGTABLE"), S.UNMOVABLE, R_PGTABLE),
                                    (bit("SLAB"), S.UNMOVABLE, R_SLAB),
                                    (bit("OFFLINE"), S.UNPLUGGED, R_PAGE_OFFLINE),
                                    (bit("BUDDY"), S.FREE, R_BUDDY),
                                    (bit("NOPAGE"), S.HOLE, R_NOPAGE)):
            sel = has(mask)
            st[sel], why[sel] = state, reason
        if rule == RULE_RESERVED_OWNER:
            sel = reserved & owner & ~has(_USE | bit("SLAB", "BUDDY"))
            st[sel], why[sel] = S.MEMMAP_SELF, R_SELF_RES_OP
        elif rule == RULE_OWNER:
            sel = owner & no_use
            st[sel], why[sel] = S.MEMMAP_SELF, R_SELF_OP
    st[~ram], why[~ram] = S.ABSENT, R_NO_BLOCK
    for code, state, reason in ((BLOCK_OFFLINE, S.OFFLINE, R_OFFLINE_BLOCK),
                                (NOT_RAM, S.HOLE, R_NOT_RAM)):
        sel = structure == code
        st[sel], why[sel] = state, reason
    return st, why


def mark_by_position(states: np.ndarray, reasons: np.ndarray, lo: int, ppb: int,
                     memmap_pages: int, hot_blocks: set[int]) -> None:
    """5.13-5.19: a reserved run of exactly the block's memmap at the start of a hot-added block."""
    first = -(-lo // ppb)
    for b in range(first, (lo + len(states)) // ppb + 1):
        if b not in hot_blocks:
            continue
        a = b * ppb - lo
        if a < 0 or a + memmap_pages > len(states):
            continue
        seg = states[a:a + memmap_pages]
        if (seg == S.BOOT_RESERVED).all() and (a + memmap_pages >= len(states) or
                                               states[a + memmap_pages] != S.BOOT_RESERVED):
            states[a:a + memmap_pages] = S.MEMMAP_SELF
            reasons[a:a + memmap_pages] = R_SELF_POS
