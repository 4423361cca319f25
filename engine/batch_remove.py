"""Runs of identical memory blocks removed at once (remove_memory_blocks_and_altmaps, 6.8+).

The mirror of engine.batch_add for try_remove_memory()'s per-block removal: each block with
its own altmap goes through arch_remove_memory(), whose sections give their memmap PMDs back
to that altmap and go absent. Where a run of blocks is uniform (x86, every section present,
each PMD of memmap backed by its own block's altmap, page tables that stay in use) this
makes those changes for many blocks at once, with the events, undo and progress calls of the
block-by-block loop (tests/engine/test_batch_equivalence.py compares both).
"""

from __future__ import annotations

import numpy as np

from . import batch_add
from . import states as S
from .vmemmap import _spans

ENABLED = True


def remove_uniform_blocks(m, tx, b0: int, b1: int) -> int:
    """The blocks from b0 on (before b1) that form a uniform run (at most one batch), removed
    as remove_block_and_altmap() removes them one by one; how many (0: block b0 takes that
    path)."""
    a = m.arch
    if not ENABLED or a.family != "x86" or not a.vmemmap_pmd:
        return 0
    pps, spb, pmd = m.pps, m.spb, a.pmd_size
    span = pps * m.struct_page_size
    if span % pmd:
        return 0
    ups = span // pmd
    n = _uniform_run(m, b0, min(b1 - b0, max(1, batch_add.CHUNK_SECTIONS // spb)), ups)
    if n:
        _remove_run(m, tx, b0, n, ups)
    return n


def _uniform_run(m, b0: int, nmax: int, ups: int) -> int:
    """How many blocks from b0 (up to nmax) have every section present, each memmap PMD backed
    by the block's own altmap, which holds exactly those PMDs, and PMD tables that keep
    other entries (or came from boot) after them."""
    pps, ppb, spb = m.pps, m.ppb, m.spb
    pmd_pages = m.arch.pmd_size // m.page_size
    s0 = b0 * spb
    present = m.secs.present[s0:s0 + nmax * spb]
    missing = np.flatnonzero(~present)
    if len(missing):
        nmax = int(missing[0]) // spb
    pmd_table, _ = _spans(m)
    per_table = pmd_table // m.arch.pmd_size
    left: dict[int, int] = {}
    vmap, pt = m.vmap, m.ptables
    for k in range(nmax):
        b = b0 + k
        am = m.altmaps.get(b)
        if am is None or am.alloc != spb * ups * pmd_pages:
            return k
        u0 = b * spb * ups
        for u in range(u0, u0 + spb * ups):
            got = vmap.get(("pmd", u))
            if got is None or got[2] != "altmap" or got[0] // ppb != b:
                return k
        for u in range(u0, u0 + spb * ups):
            t = u // per_table
            if t not in left:
                _, _, src, children = pt[("pmd", t)]
                left[t] = children if src != "boot" else 1 << 62
            left[t] -= 1
            if left[t] <= 0:
                return k         # the table would be freed: that block goes one by one
    return nmax


def _remove_run(m, tx, b0: int, n: int, ups: int) -> None:
    pps, ppb, spb = m.pps, m.ppb, m.spb
    pmd_pages = m.arch.pmd_size // m.page_size
    j = tx.journal
    s0, s1 = b0 * spb, (b0 + n) * spb
    u0, u1 = s0 * ups, s1 * ups
    m.secs.set_rows(s0, s1, {"present": False, "online": False, "node": -1}, j)
    m.store.fill_sections(s0, s1 - s0, np.array([S.ABSENT], dtype=np.uint8), [None], j)
    # vmemmap_free(): each PMD back to its block's altmap, one child less in its table
    vmap = m.vmap
    old = [vmap.pop(("pmd", u)) for u in range(u0, u1)]
    j.record_rows(u1 - u0, _restore_keys, vmap, "pmd", u0, old)
    batch_add.count_pmd_entries(m, tx, u0, u1, -1)
    batch_add.count_memmap_pages(m, tx, -(s1 - s0))
    # vmem_altmap_free() took each PMD back: the altmaps are empty, then dropped
    altmaps = [(b, m.altmaps.pop(b)) for b in range(b0, b0 + n)]
    j.record_rows(n, _restore_altmaps, m.altmaps, [(b, am, am.alloc) for b, am in altmaps])
    for _, am in altmaps:
        am.alloc = 0
    _events(m, tx.trail, b0, n, ups, old, pmd_pages)
    m.tick_many("sparse_remove_section", s1 - s0)


def _restore_keys(d: dict, kind: str, lo: int, values: list) -> None:
    """Undo of removed keys (kind, lo + i): back in the order one-by-one undo puts them back."""
    for i in range(len(values) - 1, -1, -1):
        d[(kind, lo + i)] = values[i]


def _restore_altmaps(d: dict, altmaps: list) -> None:
    """Undo of removed block altmaps: each back (in the order one-by-one undo puts them back),
    with its PMDs allocated again."""
    for b, am, alloc in reversed(altmaps):
        am.alloc = alloc
        d[b] = am


def _events(m, trail, b0: int, n: int, ups: int, old: list, pmd_pages: int) -> None:
    d = trail.depth
    spb, pps, ps = m.spb, m.pps, m.page_shift
    per_block = [("arch_remove_memory", d, 1), ("vmem_altmap_free", d + 1, spb * ups),
                 ("sparse_remove_section", d + 1, spb)]
    for k in range(n):
        if all(trail.counting(f, dep) for f, dep, _ in per_block):
            for f, dep, times in per_block:
                trail.call_repeated(f, times * (n - k), dep)
            return
        b = b0 + k
        lo, hi = b * m.ppb, (b + 1) * m.ppb
        trail.call("arch_remove_memory", f"[{lo << ps:#x}-{(hi << ps) - 1:#x}]", "", d)
        for i in range(spb):
            sec = b * spb + i
            for r in range(ups):
                pfn = old[(k * spb + i) * ups + r][0]
                trail.call("vmem_altmap_free", f"{pmd_pages}", f"pfn {pfn:#x} back to the altmap", d + 1)
            trail.call("sparse_remove_section", f"pfn={sec * pps:#x}", "0", d + 1)
