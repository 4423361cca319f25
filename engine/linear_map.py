"""arch/arm64/mm/mmu.c: the linear map a hot-add builds, and the page-table pages it costs.

arch_add_memory() maps the new range into the kernel's linear map (__create_pgd_mapping)
before __add_pages(). When can_set_direct_map() is true (rodata=full, the arm64 default;
also debug_pagealloc and a late KFENCE pool) it passes NO_BLOCK_MAPPINGS, so every PMD
span of the range needs a PTE table page; otherwise PMD blocks (and on 4K pages PUD blocks
over whole aligned GiBs) need none. Tables are PAGE_SIZE pages from __get_free_page(), i.e.
the buddy of the node the hotplugging CPU runs on; they show in MemFree.
arch_remove_memory() unmaps and frees the tables left empty (free_empty_tables).

x86 and ppc64 radix map hot-added memory with 2 MiB / 1 GiB pages: one table page per GiB
at most (x86's 6.1 recording shows no change at all), which this model leaves out.
"""

from __future__ import annotations

import numpy as np

from . import states as S
from .errors import KernelBug, OpFailed
from .fault_inject import should_fail
from .units import format_size
from . import page_alloc


def can_set_direct_map(m) -> bool:
    """can_set_direct_map(): rodata=full needs a page-granular linear map (rodata=on/off do not)."""
    return m.config.rodata == "full"


def charged(m) -> bool:
    """Whether this machine's linear-map tables are modelled (arm64)."""
    return m.arch.family == "arm64"


def _pgtable_node(m) -> int:
    """numa_node_id() of the CPU doing the hotplug: the first node with boot memory."""
    return min((nid for nid, nd in m.nodes.items() if nd.boot_memory), default=min(m.nodes))


def _boot_covers(m, lo_b: int, hi_b: int) -> bool:
    """Whether boot RAM intersects [lo_b, hi_b) (its tables were built by map_mem())."""
    ps = m.page_shift
    return any((a << ps) < hi_b and lo_b < (b << ps) for nd in m.nodes.values() for a, b in nd.boot_ranges)


def _upper_keys(m, start: int, end: int, blocks: bool) -> list[tuple[str, int]]:
    """PMD and PUD table pages the range [start, end) needs (shared, so keyed by span)."""
    a = m.arch
    keys = []
    pmd_span, pud_span = a.linear_pmd_span, a.linear_pud_span
    for i in range(start // pmd_span, -(-end // pmd_span)):
        lo, hi = i * pmd_span, (i + 1) * pmd_span
        if blocks and a.pud_block and start <= lo and hi <= end:
            continue            # alloc_init_pud(): a PUD block, no PMD table below it
        keys.append(("pmd", i))
    if a.pgtable_levels >= 4:
        keys += [("pud", i) for i in range(start // pud_span, -(-end // pud_span))]
    return keys


def _span(m, key: tuple[str, int]) -> tuple[int, int]:
    size = m.arch.linear_pmd_span if key[0] == "pmd" else m.arch.linear_pud_span
    return key[1] * size, (key[1] + 1) * size


def linear_map_plan(m, start: int, end: int, built=frozenset()) -> tuple[list, list[int], int]:
    """What __create_pgd_mapping() needs for [start, end): the new PMD/PUD table keys (none
    in m.lmap or `built`, none over boot RAM), the sections, and PTE table pages per section."""
    blocks = not can_set_direct_map(m)
    upper = [k for k in _upper_keys(m, start, end, blocks)
             if k not in m.lmap and k not in built and not _boot_covers(m, *_span(m, k))]
    secs = list(range((start >> m.page_shift) // m.pps, (end >> m.page_shift) // m.pps))
    per_sec = 0 if blocks else m.arch.section_size // m.arch.linear_pte_span
    return upper, secs, per_sec


def linear_map_call(m, start: int, end: int, upper: list, secs: list[int], per_sec: int) -> tuple[str, str]:
    """The (args, outcome) of the __create_pgd_mapping event."""
    need = len(upper) + per_sec * len(secs)
    mode = ("block mappings" if not can_set_direct_map(m) else
            f"NO_BLOCK_MAPPINGS | NO_CONT_MAPPINGS (can_set_direct_map(): rodata={m.config.rodata})")
    if not need:
        return f"[{start:#x}-{end - 1:#x}], {mode}", "no new page-table pages"
    return (f"[{start:#x}-{end - 1:#x}], {mode}",
            f"{need} page-table pages ({format_size(need * m.page_size)}) from node {_pgtable_node(m)}: "
            f"{per_sec * len(secs)} PTE tables, {len(upper)} PMD/PUD tables")


def record_linear_map(m, tx, upper: list, secs: list[int], per_sec: int, runs, nid: int) -> None:
    """The table pages in `runs` become the new PMD/PUD tables, then each section's PTE tables."""
    pfns = _split(runs, [1] * len(upper) + [per_sec] * len(secs))
    for key, chunk in zip(upper, pfns):
        tx.journal.dict_set(m.lmap, key, (chunk[0][0], nid))
    for sec, chunk in zip(secs, pfns[len(upper):]):
        tx.journal.dict_set(m.lmap_pte, sec, tuple(chunk))


def arch_add_linear_mapping(m, tx, start: int, end: int) -> None:
    """__create_pgd_mapping() for a hot-added range: take the table pages from the buddy."""
    if not charged(m):
        return
    upper, secs, per_sec = linear_map_plan(m, start, end)
    need = len(upper) + per_sec * len(secs)
    if not need:
        tx.call("__create_pgd_mapping", *linear_map_call(m, start, end, upper, secs, per_sec))
        return
    nid = _pgtable_node(m)
    runs = [] if should_fail(tx, "pgtable", need) else \
        page_alloc.alloc_bulk(m, tx, page_alloc.zonelist(m, nid, "kernel"), need, S.PAGETABLE)
    if not runs:
        room = sum(max(0, z.free - z.wmark_min) for z in page_alloc.zonelist(m, nid, "kernel"))
        what = (f"the linear map of [{start:#x}-{end - 1:#x}] needs {need} page-table pages; "
                f"{room} free above the min watermark")
        if m.profile.arm64_pgtable_alloc_fail == "bug":
            tx.log("kernel BUG at arch/arm64/mm/mmu.c!")
            raise KernelBug("arch/arm64/mm/mmu.c", "__pgd_pgtable_alloc: BUG_ON(!ptr)", what)
        raise OpFailed("ENOMEM", what,
                       "__create_pgd_mapping: pgtable_alloc() failed, arch_add_memory returns -ENOMEM")
    record_linear_map(m, tx, upper, secs, per_sec, runs, nid)
    tx.call("__create_pgd_mapping", *linear_map_call(m, start, end, upper, secs, per_sec))


def _split(runs, sizes: list[int]) -> list[list[tuple[int, int]]]:
    """Cut allocated runs [(lo, hi, zone)] into consecutive pieces of the given page counts."""
    out = []
    it = iter((int(a), int(b)) for a, b, _ in runs)
    cur_a, cur_b = next(it)
    for n in sizes:
        piece = []
        while n:
            if cur_a == cur_b:
                cur_a, cur_b = next(it)
            take = min(n, cur_b - cur_a)
            piece.append((cur_a, cur_a + take))
            cur_a += take
            n -= take
        out.append(piece)
    return out


def arch_remove_linear_mapping(m, tx, start: int, end: int) -> None:
    """__remove_pgd_mapping(): unmap, then free_empty_tables() frees what maps nothing now."""
    if not charged(m):
        return
    freed = 0
    for sec in range((start >> m.page_shift) // m.pps, (end >> m.page_shift) // m.pps):
        runs = m.lmap_pte.get(sec)
        if runs is None:
            continue
        tx.journal.dict_del(m.lmap_pte, sec)
        for a, b in runs:
            page_alloc.free_range(m, tx, a, b)
            freed += b - a
    n = m.secs.size
    for key in _keys_over(m, start, end):
        lo, hi = _span(m, key)
        s0, s1 = min(n, (lo >> m.page_shift) // m.pps), min(n, -(-(hi >> m.page_shift) // m.pps))
        if s0 < s1 and np.any(m.secs.present[s0:s1]):
            continue            # still maps other memory
        pfn, _ = m.lmap[key]
        tx.journal.dict_del(m.lmap, key)
        page_alloc.free_range(m, tx, pfn, pfn + 1)
        freed += 1
    tx.call("__remove_pgd_mapping", f"[{start:#x}-{end - 1:#x}]",
            f"free_empty_tables: {freed} page-table pages freed")


def _keys_over(m, start: int, end: int) -> list[tuple[str, int]]:
    """The PMD/PUD table keys of m.lmap whose span meets [start, end), looked up by span
    index (a removal costs its own range, not every table of the machine)."""
    out = []
    for level, size in (("pmd", m.arch.linear_pmd_span), ("pud", m.arch.linear_pud_span)):
        out += [(level, i) for i in range(start // size, -(-end // size)) if (level, i) in m.lmap]
    return out


def linear_map_leaf_size(m, pa: int) -> int:
    """Size of the linear-map leaf entry that maps pa (arm64; page size where pages are forced).

    Block mappings: a PUD block (4K pages) where one arch_add_memory() call, or boot RAM,
    covered a whole aligned PUD span (no PMD table was built for it), a PMD block otherwise.
    """
    a = m.arch
    if a.family != "arm64" or can_set_direct_map(m):
        return m.page_size
    if a.pud_block:
        key = ("pmd", pa // a.linear_pmd_span)
        lo, hi = _span(m, key)
        if key not in m.lmap and (not _boot_covers(m, lo, hi) or _boot_spans_whole(m, lo, hi)):
            return a.linear_pmd_span
    return a.linear_pte_span


def _boot_spans_whole(m, lo_b: int, hi_b: int) -> bool:
    ps = m.page_shift
    return any((a << ps) <= lo_b and hi_b <= (b << ps) for nd in m.nodes.values() for a, b in nd.boot_ranges)


def linear_map_pages(m) -> int:
    """Page-table pages the linear maps of hot-added memory hold now."""
    return len(m.lmap) + sum(b - a for runs in m.lmap_pte.values() for a, b in runs)
