"""Runs of identical blocks and sections of a hot-add, done at once with the same effect.

Adding 60 TiB in 128 MiB blocks runs the kernel's per-block loop (6.8+
create_altmaps_and_memory_blocks()) half a million times, and each pass makes the same changes
at another address: the block's linear map (arm64), its sections present, each section's
memmap in PMDs from the block's own altmap, the block device. Without an altmap,
arch_add_memory()'s loop of sparse_add_section() takes each section's memmap from the buddy,
a PMD or a page at a time. Where a run is uniform (nothing there yet, the vmemmap page tables
above it exist, no fault armed, x86 or arm64) this module makes those changes for many blocks
or sections at once, with array writes and one undo record per kind of state; allocations
take exactly the pages the one-at-a-time calls would take, in the same order; events are
recorded as the loop records them. State, event trail, dmesg and undo equal those of the
loop (tests/engine/test_batch_equivalence.py, over many configurations); whatever is not part
of such a run, or where the buddy runs out, takes the loop.
"""

from __future__ import annotations

from bisect import bisect_right
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from . import linear_map, sparse
from . import states as S
from .model import VmemAltmap
from .pfnstore import PfnStore
from .page_alloc import alloc_sequence, free_runs_in_zones, take_runs, take_sequence, zonelist
from .vmemmap import _spans, va_str, vmemmap_verify

# False runs every block through the block-by-block path (the equivalence test compares both)
ENABLED = True
# sections per batch: the progress hook hears from every batch, a few milliseconds apart
CHUNK_SECTIONS = 1024


class BlockTemplate(NamedTuple):
    """What adding one block does inside it, relative to its first pfn (the same for every
    block of one geometry)."""
    codes: np.ndarray        # per section of the block: its pfn-store code afterwards
    details: list            # per section: its store detail (None unless the code is MIXED)
    units: tuple[int, ...]   # per vmemmap PMD of the block, in order: its backing pfn (offset)
    alloc: int               # the altmap's alloc and align afterwards
    align: int
    pad: int                 # force mode: pages of pageblock padding after the memmap


@lru_cache(maxsize=32)
def block_template(pps: int, spb: int, ups: int, pmd_pages: int, free: int,
                   dense_threshold: int) -> BlockTemplate | None:
    """Replay one block's sparse_add_section()s and altmap allocations on a scratch copy of
    its pfns; None when the block-by-block path would do something else (the altmap runs
    out, or a PMD is backed by a section not present yet)."""
    ppb = pps * spb
    dense = np.full(ppb, S.ABSENT, dtype=np.uint8)
    am = VmemAltmap(0, ppb - 1, free)
    units = []
    for i in range(spb):
        dense[i * pps:(i + 1) * pps] = S.OFFLINE
        for _ in range(ups):
            plan = am.plan_alloc(pmd_pages)
            if plan is None:
                return None
            pfn, pad = plan
            if pfn // pps > i:
                return None
            dense[pfn - pad:pfn] = S.MEMMAP_PAD
            am.alloc += pmd_pages
            am.align += pad
            dense[pfn:pfn + pmd_pages] = S.MEMMAP_SELF
            units.append(pfn)
    pad_lo, pad_hi = am.next_pfn(), am.base_pfn + am.reserve + am.free
    if pad_hi > pad_lo:
        dense[pad_lo:pad_hi] = S.MEMMAP_PAD
    store = PfnStore(pps)
    store.dense_threshold = dense_threshold
    enc = [store.encode_section(dense[i * pps:(i + 1) * pps]) for i in range(spb)]
    return BlockTemplate(np.array([c for c, _ in enc], dtype=np.uint8), [d for _, d in enc],
                         tuple(units), am.alloc, am.align, max(0, pad_hi - pad_lo))


def add_uniform_blocks(m, tx, nid: int, b_lo: int, hi: int, rid: int, mgid: int, free: int,
                       done: list[int]) -> int:
    """The blocks from pfn b_lo on that form a uniform run (at most one batch), added as the
    per-block loop of create_altmaps_and_memory_blocks() adds them; how many (0: the block
    at b_lo takes the block-by-block path)."""
    a = m.arch
    if not ENABLED or tx.faults or a.family not in ("x86", "arm64") or not a.vmemmap_pmd:
        return 0
    pps, ppb, spb, pmd = m.pps, m.ppb, m.spb, a.pmd_size
    span = pps * m.struct_page_size             # memmap bytes of one section
    pmd_pages = pmd // m.page_size
    if span % pmd or ppb % pmd_pages:
        return 0                                # sections share PMDs, or blocks split them
    ups = span // pmd
    tpl = block_template(pps, spb, ups, pmd_pages, free, m.store.dense_threshold)
    if tpl is None:
        return 0
    n = _uniform_run(m, b_lo, min((hi - b_lo) // ppb, max(1, CHUNK_SECTIONS // spb)), ups)
    lm = None
    if n and linear_map.charged(m):
        n, lm = _linear_maps(m, tx, b_lo, n)
    if n:
        _add_run(m, tx, nid, b_lo, n, rid, mgid, free, tpl, ups, lm)
        done.extend(range(b_lo, b_lo + n * ppb, ppb))
    return n


class LinearMaps(NamedTuple):
    """The arm64 linear maps of a run of blocks: per block its plan (new PMD/PUD table keys,
    sections, PTE table pages per section), and the free runs they take, in order."""
    plans: list
    runs: list
    node: int


def _linear_maps(m, tx, b_lo: int, n: int) -> tuple[int, LinearMaps | None]:
    """arch_add_linear_mapping() of each block of the run, planned: how many blocks the buddy
    serves (each takes the next highest free pages, as alloc_bulk() does block by block)."""
    ps, ppb = m.page_shift, m.ppb
    built: set = set()
    plans, ends = [], []
    total = 0
    for k in range(n):
        start = (b_lo + k * ppb) << ps
        upper, secs, per_sec = linear_map.linear_map_plan(m, start, start + m.block_size, built)
        built.update(upper)
        plans.append((start, upper, secs, per_sec))
        total += len(upper) + per_sec * len(secs)
        ends.append(total)
    node = linear_map._pgtable_node(m)
    runs = free_runs_in_zones(m, tx, zonelist(m, node, "kernel"), total)
    n = bisect_right(ends, sum(b - a for a, b, _ in runs))
    return n, (LinearMaps(plans[:n], _cut(runs, [ends[n - 1]])[0], node) if n else None)


def _cut(runs: list, sizes: list[int]) -> list[list]:
    """Free runs [(lo, hi, zone)], highest first, cut into consecutive pieces of these sizes."""
    out, i, taken = [], 0, 0
    for size in sizes:
        piece = []
        while size:
            a, b, z = runs[i]
            hi = b - taken
            take = min(size, hi - a)
            piece.append((hi - take, hi, z))
            size -= take
            taken += take
            if taken == b - a:
                i, taken = i + 1, 0
        out.append(piece)
    return out


def _uniform_run(m, b_lo: int, nmax: int, ups: int) -> int:
    """How many blocks from b_lo (up to nmax) have nothing present or stored yet, no altmap,
    no vmemmap mapping, and every vmemmap page table above them already allocated."""
    pps, spb = m.pps, m.spb
    s0 = b_lo // pps
    bad = s0 + nmax * spb
    present = np.flatnonzero(m.secs.present[s0:bad])
    if len(present):
        bad = s0 + int(present[0])
    bad = m.store.first_used(s0, bad)
    b0 = b_lo // m.ppb
    for b in range(b0, b0 + (bad - s0) // spb):
        if b in m.altmaps:
            bad = s0 + (b - b0) * spb
            break
    pmd_table, pud_table = _spans(m)
    pmd = m.arch.pmd_size
    vmap, pt = m.vmap, m.ptables
    u0 = s0 * ups
    for u in range(u0, bad * ups):
        va = u * pmd
        if ("pmd", u) in vmap or ("pte", u) in pt or \
                ((u == u0 or va % pmd_table == 0) and ("pmd", va // pmd_table) not in pt) or \
                ((u == u0 or va % pud_table == 0) and ("pud", va // pud_table) not in pt):
            bad = u // ups
            break
    return (bad - s0) // spb


def _add_run(m, tx, nid: int, b_lo: int, n: int, rid: int, mgid: int, free: int,
             tpl: BlockTemplate, ups: int, lm: LinearMaps | None) -> None:
    pps, ppb, spb = m.pps, m.ppb, m.spb
    j = tx.journal
    s0 = b_lo // pps
    s1 = s0 + n * spb
    b0 = b_lo // ppb
    _grow(m, j, s0, s1)
    m.secs.set_rows(s0, s1, {"present": True, "node": nid}, j)
    if lm is None:
        m.store.fill_sections(s0, n, tpl.codes, tpl.details, j)
    else:
        # arm64: each block's linear map first, its table pages from the top of the buddy;
        # block by block, so that the store changes in the same order
        pieces = _cut(lm.runs, [len(up) + per_sec * len(secs) for _, up, secs, per_sec in lm.plans])
        for k, ((_, upper, secs, per_sec), runs) in enumerate(zip(lm.plans, pieces)):
            if runs:
                take_runs(m, tx, runs, S.PAGETABLE)
                linear_map.record_linear_map(m, tx, upper, secs, per_sec, runs, lm.node)
            m.store.fill_sections(s0 + k * spb, 1, tpl.codes, tpl.details, j)

    # vmemmap_populate_hugepages(): each PMD from its block's altmap, counted in its table
    u0, u1 = s0 * ups, s1 * ups
    vmap = m.vmap
    per_block = spb * ups
    for k in range(n):
        base, uk = b_lo + k * ppb, u0 + k * per_block
        vmap.update({("pmd", uk + r): (base + off, nid, "altmap") for r, off in enumerate(tpl.units)})
    j.record_rows(u1 - u0, _drop_keys, vmap, "pmd", u0, u1)
    count_pmd_entries(m, tx, u0, u1, +1)
    count_memmap_pages(m, tx, s1 - s0)

    for k in range(n):
        base = b_lo + k * ppb
        am = VmemAltmap(base, base + ppb - 1, free)
        am.alloc, am.align = tpl.alloc, tpl.align
        m.altmaps[b0 + k] = am
    j.record_rows(n, _drop_keys, m.altmaps, None, b0, b0 + n)
    m.blks.set_rows(b0, b0 + n, {"exists": True, "online": False, "node": nid, "zone": -1,
                                 "res": rid, "nr_vmemmap": free, "boot": False, "group": mgid}, j)
    tx.created_blocks.extend(range(b0, b0 + n))
    _events(m, tx.trail, nid, b_lo, n, free, tpl, ups, lm)
    m.tick_many("sparse_add_section", s1 - s0)


def count_pmd_entries(m, tx, u0: int, u1: int, sign: int) -> None:
    """_child() of the vmemmap PMD leaves [u0, u1) set (+1) or cleared (-1): each PMD table's
    count of entries, one journal record per table."""
    pmd_table, _ = _spans(m)
    per_table = pmd_table // m.arch.pmd_size
    for t in range(u0 // per_table, (u1 - 1) // per_table + 1):
        pfn, node, src, children = m.ptables[("pmd", t)]
        n = min(u1, (t + 1) * per_table) - max(u0, t * per_table)
        tx.journal.dict_set(m.ptables, ("pmd", t), (pfn, node, src, children + sign * n))


def count_memmap_pages(m, tx, sections: int) -> None:
    """nr_memmap_pages (6.11+) of sections added (> 0) or removed (< 0)."""
    if m.profile.has_nr_memmap_vmstat:
        tx.add(m.counters, "nr_memmap_pages", sparse.memmap_pages_per_section(m) * sections)


def _drop_keys(d: dict, kind: str | None, lo: int, hi: int) -> None:
    """Undo of a run of new keys: (kind, i) or i for i in [lo, hi)."""
    for i in range(lo, hi):
        d.pop(i if kind is None else (kind, i), None)


def _events(m, trail, nid: int, b_lo: int, n: int, free: int, tpl: BlockTemplate, ups: int,
            lm: LinearMaps | None) -> None:
    """The calls the per-block loop records, block by block while some still get a line of
    their own, then as counts."""
    d = trail.depth
    per_block = [("create_altmaps_and_memory_blocks", d, 1), ("arch_add_memory", d, 1),
                 ("__create_pgd_mapping", d + 1, 1 if lm is not None else 0),
                 ("vmemmap_set_pmd", d + 1, m.spb * ups), ("sparse_add_section", d + 1, m.spb),
                 ("memory_block_memmap_on_memory_pages", d, 1 if tpl.pad else 0),
                 ("create_memory_block_devices", d, 1)]
    for k in range(n):
        if all(trail.counting(f, dep) for f, dep, times in per_block if times):
            for f, dep, times in per_block:
                if times:
                    trail.call_repeated(f, times * (n - k), dep)
            return
        _block_events(m, trail, d, nid, b_lo + k * m.ppb, free, tpl, ups, None if lm is None else lm.plans[k])


def _block_events(m, trail, d: int, nid: int, b_lo: int, free: int, tpl: BlockTemplate, ups: int,
                  plan) -> None:
    ps, pps, pmd = m.page_shift, m.pps, m.arch.pmd_size
    b, b_hi = b_lo // m.ppb, b_lo + m.ppb
    pmd_pages = pmd // m.page_size
    trail.call("create_altmaps_and_memory_blocks", f"block {b}: altmap base_pfn={b_lo:#x} free={free}", "", d)
    trail.call("arch_add_memory", f"nid={nid}, [{b_lo << ps:#x}-{(b_hi << ps) - 1:#x}]"
               f", altmap(base_pfn={b_lo:#x}, free={free})", "", d)
    if plan is not None:
        start, upper, secs, per_sec = plan
        trail.call("__create_pgd_mapping", *linear_map.linear_map_call(m, start, start + m.block_size,
                                                                      upper, secs, per_sec), d + 1)
    u = b_lo // pps * ups
    for i in range(m.spb):
        for r in range(i * ups, (i + 1) * ups):
            trail.call("vmemmap_set_pmd", va_str(m, u * pmd), f"altmap pfn {b_lo + tpl.units[r]:#x}+{pmd_pages}",
                       d + 1)
            u += 1
        trail.call("sparse_add_section", f"nid={nid}, pfn={b_lo + i * pps:#x}, nr_pages={pps}", "0", d + 1)
    if tpl.pad:
        trail.call("memory_block_memmap_on_memory_pages", "", f"{free} (force: {tpl.pad} pages of padding)", d)
    trail.call("create_memory_block_devices", f"memory{b}", f"offline, nr_vmemmap_pages={free}", d)


# ==========================================================================================
# sections whose memmap comes from the buddy (arch_add_memory() without an altmap)
# ==========================================================================================
# units of memmap (PMDs or base pages) per batch
CHUNK_UNITS = 1024


def add_buddy_sections(m, tx, nid: int, s0: int, s1: int) -> int:
    """Sections from s0 on (before s1) that form a uniform run (at most one batch), added as
    arch_add_memory()'s loop of sparse_add_section() adds them with the memmap from the
    buddy; how many (0: section s0 takes the section-by-section path)."""
    a = m.arch
    if not ENABLED or tx.faults or a.family not in ("x86", "arm64"):
        return 0
    span = m.pps * m.struct_page_size
    # vmemmap_populate(): PMD leaves where the arch maps the vmemmap with them (a whole
    # section's memmap always qualifies), base pages otherwise
    pmd_units = a.vmemmap_pmd
    unit = a.pmd_size if pmd_units else m.page_size
    if span % unit:
        return 0
    ups = span // unit
    n = _buddy_run(m, s0, min(s1 - s0, max(1, CHUNK_UNITS // ups)), ups, unit, pmd_units)
    if not n:
        return 0
    requests, ends = _buddy_requests(m, s0, n, ups, pmd_units)
    order = (unit // m.page_size).bit_length() - 1
    seq = alloc_sequence(m, tx, nid, order, "kernel", len(requests))
    # the buddy runs out part way: batch the sections it still serves whole
    n = bisect_right(ends, len(seq))
    if n:
        _add_buddy_run(m, tx, nid, s0, ends[:n], ups, unit, order, requests[:ends[n - 1]], seq[:ends[n - 1]])
    return n


def _buddy_run(m, s0: int, nmax: int, ups: int, unit: int, pmd_units: bool) -> int:
    """How many sections from s0 (up to nmax) have nothing present or stored yet, no vmemmap
    mapping, and the vmemmap PUD and PMD tables above their memmap already allocated."""
    bad = s0 + nmax
    present = np.flatnonzero(m.secs.present[s0:bad])
    if len(present):
        bad = s0 + int(present[0])
    bad = m.store.first_used(s0, bad)
    pmd_table, pud_table = _spans(m)
    kind = "pmd" if pmd_units else "pte"
    vmap, pt = m.vmap, m.ptables
    u0 = s0 * ups
    for u in range(u0, bad * ups):
        va = u * unit
        if (kind, u) in vmap or (pmd_units and ("pte", u) in pt) or \
                ((u == u0 or va % pmd_table == 0) and ("pmd", va // pmd_table) not in pt) or \
                ((u == u0 or va % pud_table == 0) and ("pud", va // pud_table) not in pt):
            bad = u // ups
            break
    return bad - s0


def _buddy_requests(m, s0: int, n: int, ups: int, pmd_units: bool):
    """The allocations of n sections in the order the section-by-section path makes them:
    (True, pte table index) for a PTE table page, (False, unit index) for a PMD or page of
    memmap; and per section how many requests end with it."""
    requests: list[tuple[bool, int]] = []
    ends: list[int] = []
    pt = m.ptables
    per_pte_table = m.arch.pmd_size // m.page_size
    last_table = -1
    for sec in range(s0, s0 + n):
        for u in range(sec * ups, (sec + 1) * ups):
            if not pmd_units and u // per_pte_table != last_table:
                last_table = u // per_pte_table
                if ("pte", last_table) not in pt:
                    requests.append((True, last_table))
            requests.append((False, u))
        ends.append(len(requests))
    return requests, ends


def _add_buddy_run(m, tx, nid: int, s0: int, ends: list[int], ups: int, unit: int, order: int,
                   requests: list[tuple[bool, int]], seq: list) -> None:
    j = tx.journal
    n = len(ends)
    s1 = s0 + n
    pmd_units = m.arch.vmemmap_pmd
    _grow(m, j, s0, s1)
    m.secs.set_rows(s0, s1, {"present": True, "node": nid}, j)
    m.store.fill_sections(s0, n, np.array([S.OFFLINE], dtype=np.uint8), [None], j)
    take_sequence(m, tx, seq, order, [S.PAGETABLE if table else S.MEMMAP_OTHER for table, _ in requests])

    pt, vmap = m.ptables, m.vmap
    pmd = m.arch.pmd_size
    pmd_table, _ = _spans(m)
    per_pte_table = pmd // m.page_size
    kind = "pmd" if pmd_units else "pte"
    children: dict[tuple[str, int], int] = {}
    offnode = None
    for (table, idx), (pfn, z) in zip(requests, seq):
        if table:
            # _table_get(): a new PTE table, counted in its PMD table
            j.dict_set(pt, ("pte", idx), (pfn, z.node, "buddy", 0))
            key = ("pmd", idx * pmd // pmd_table)
        else:
            vmap[(kind, idx)] = (pfn, z.node, "buddy")
            key = ("pmd", idx * pmd // pmd_table) if pmd_units else ("pte", idx // per_pte_table)
            if offnode is None and z.node != nid and m.distance(z.node, nid) > 10:
                offnode = (z.node, idx)
        children[key] = children.get(key, 0) + 1
    j.record_rows((s1 - s0) * ups, _drop_keys, vmap, kind, s0 * ups, s1 * ups)
    for key, added in children.items():
        pfn, node, src, count = pt[key]
        j.dict_set(pt, key, (pfn, node, src, count + added))
    if offnode is not None:
        node, u = offnode
        vmemmap_verify(m, tx, node, nid, u * unit, (u + 1) * unit)
    count_memmap_pages(m, tx, n)
    _buddy_events(m, tx.trail, nid, s0, ends, requests, seq)
    m.tick_many("sparse_add_section", n)


def _grow(m, j, s0: int, s1: int) -> None:
    """The section columns and the pfn store grow as sparse_add_section() grows them, one
    section at a time from s0."""
    while m.secs.size < s1:
        m.secs.ensure(max(s0, m.secs.size) + 1, j)
    while len(m.store.sec_code) < s1:
        m.store.ensure(max(s0, len(m.store.sec_code)) + 1, j)


def _buddy_events(m, trail, nid: int, s0: int, ends: list[int], requests, seq) -> None:
    """The calls the section loop records: per section its table and memmap allocations,
    then sparse_add_section; section by section while some still get a line of their own."""
    pmd_units = m.arch.vmemmap_pmd
    unit_call = "vmemmap_set_pmd" if pmd_units else "vmemmap_pte_populate"
    d = trail.depth
    pps, ps, pmd = m.pps, m.page_size, m.arch.pmd_size
    i = 0
    for k, end in enumerate(ends):
        if trail.counting(unit_call, d) and trail.counting("sparse_add_section", d):
            trail.call_repeated(unit_call, len(requests) - i, d)
            trail.call_repeated("sparse_add_section", len(ends) - k, d)
            return
        for (table, idx), (pfn, z) in zip(requests[i:end], seq[i:end]):
            if table:
                trail.call("vmemmap_pte_populate", f"table {idx}", f"page-table page pfn {pfn:#x} (node {z.node})", d)
            elif pmd_units:
                trail.call("vmemmap_set_pmd", va_str(m, idx * pmd),
                           f"buddy pfn {pfn:#x}+{pmd // ps} (node {z.node} {z.name})", d)
            else:
                trail.call("vmemmap_pte_populate", va_str(m, idx * ps), f"buddy pfn {pfn:#x} (node {z.node})", d)
        i = end
        trail.call("sparse_add_section", f"nid={nid}, pfn={(s0 + k) * pps:#x}, nr_pages={pps}", "0", d)
