"""Answers for the inspector: struct pages, sections, who backs whose memmap."""

from __future__ import annotations

import numpy as np

from . import states as S
from .procfs import kpageflags, kpf_names
from . import vmemmap


def aggregate(m, lo: int, hi: int, per_cell: int):
    """Dominant state per cell of per_cell pfns over [lo, hi), and whether a cell is mixed.

    Vectorised over runs: per-state cumulative counts at run starts, read at the cell edges
    with searchsorted, so the cost follows the number of runs and cells, not of pfns.
    """
    per_cell = max(1, int(per_cell))
    n = max(0, -(-(hi - lo) // per_cell))
    if n == 0:
        return np.zeros(0, dtype=np.uint8), np.zeros(0, dtype=bool)
    if per_cell == 1:
        return m.store.get(lo, hi), np.zeros(hi - lo, dtype=bool)
    starts, ends, codes = m.store.runs(lo, hi)
    edges = np.minimum(lo + np.arange(n + 1, dtype=np.int64) * per_cell, hi)
    # runs are maximal, so a cell is uniform exactly when one run covers it
    first = np.searchsorted(starts, edges[:-1], side="right") - 1
    last = np.searchsorted(starts, edges[1:] - 1, side="right") - 1
    mixed = first != last
    dominant = codes[np.clip(first, 0, len(codes) - 1)].astype(np.uint8)
    idx = np.flatnonzero(mixed)
    if len(idx):
        # per-state cumulative counts at run starts, over the states present only,
        # read at the edges of the mixed cells
        present, local = np.unique(codes, return_inverse=True)
        lengths = ends - starts
        onehot = np.zeros((len(codes), len(present)), dtype=np.int64)
        onehot[np.arange(len(codes)), local] = 1
        cum = np.vstack((np.zeros((1, len(present)), dtype=np.int64),
                         np.cumsum(onehot * lengths[:, None], axis=0)))

        def count_to(x):
            k = np.clip(np.searchsorted(starts, x, side="right") - 1, 0, len(starts) - 1)
            return cum[k] + onehot[k] * np.minimum(x - starts[k], lengths[k])[:, None]

        counts = count_to(edges[idx + 1]) - count_to(edges[idx])
        dominant[idx] = present[counts.argmax(axis=1)]
    return dominant, mixed


def _reverse_index(m):
    cache = getattr(m, "_rev_cache", None)
    if cache is not None and cache[0] == m.generation and cache[1] == len(m.vmap):
        return cache[2]
    items = sorted((pfn, vmemmap.unit_pages(m, key[0]), key) for key, (pfn, _, _) in m.vmap.items())
    starts = np.array([i[0] for i in items], dtype=np.int64)
    m._rev_cache = (m.generation, len(m.vmap), (starts, items))
    return starts, items


def served_by(m, pfn: int):
    """The pfns whose struct pages are stored in page `pfn` (None if it holds no memmap)."""
    starts, items = _reverse_index(m)
    i = int(np.searchsorted(starts, pfn, side="right")) - 1
    if i < 0:
        return None
    start, npages, key = items[i]
    if not (start <= pfn < start + npages):
        return None
    unit_lo, unit_hi = vmemmap.unit_pfn_range(m, key)
    off = pfn - start
    if key[0] == "pmd":
        lo = unit_lo + (off * m.page_size) // m.struct_page_size
        hi = unit_lo + -(-((off + 1) * m.page_size) // m.struct_page_size)
    else:
        lo, hi = unit_lo, unit_hi
    return int(lo), int(hi)


def backing_of(m, lo: int, hi: int) -> list[tuple[int, int]]:
    """pfn ranges of the pages that hold the struct pages of [lo, hi)."""
    sp = m.struct_page_size
    out: list[tuple[int, int]] = []
    for key in vmemmap.units_of(m, lo * sp, hi * sp):
        pfn, _, _ = m.vmap[key]
        n = vmemmap.unit_pages(m, key[0])
        if key[0] == "pmd":
            # only the pages of the PMD block that hold struct pages of [lo, hi)
            u_va = key[1] * m.arch.pmd_size
            a = max(lo * sp, u_va) - u_va
            b = min(hi * sp, u_va + m.arch.pmd_size) - u_va
            seg = (pfn + a // m.page_size, pfn + -(-b // m.page_size))
        else:
            seg = (pfn, pfn + n)
        if out and out[-1][1] == seg[0]:
            out[-1] = (out[-1][0], seg[1])
        else:
            out.append(seg)
    return out


def section_info(m, nr: int) -> dict:
    pps = m.pps
    lo, hi = nr * pps, (nr + 1) * pps
    present = nr < m.secs.size and bool(m.secs.present[nr])
    info = {"nr": nr, "start_pfn": lo, "end_pfn": hi, "present": present,
            "online": present and bool(m.secs.online[nr]),
            "node": int(m.secs.node[nr]) if present else None,
            "block": m.block_of(lo) if present else None,   # None for sections a failed add left
            "early": present and bool(m.secs.early[nr]),
            "memmap": {"source": None, "mapped": None, "backing": []}}
    if not present:
        return info
    va_lo, va_hi = vmemmap.section_va(m, nr)
    keys = vmemmap.units_of(m, va_lo, va_hi)
    srcs = {m.vmap[k][2] for k in keys}
    info["memmap"]["source"] = "/".join(sorted(srcs)) if srcs else None
    kinds = {k[0] for k in keys}
    info["memmap"]["mapped"] = "/".join("PMD" if k == "pmd" else "base pages" for k in sorted(kinds)) or None
    backing = []
    for a, b in backing_of(m, lo, hi):
        backing.append({"start_pfn": a, "end_pfn": b, "node": vmemmap.nid_of(m, a)})
    info["memmap"]["backing"] = backing
    return info


def struct_page(m, pfn: int) -> dict:
    code = m.store.code_at(pfn)
    state = S.NAMES[code]
    sec = pfn // m.pps
    p = m.profile
    block = m.block_of(pfn)
    online = sec < m.secs.size and bool(m.secs.online[sec])
    z = m.zone_of_pfn(pfn) if online else None
    info = {"pfn": pfn, "state": state, "section": sec if code != S.ABSENT else None,
            "block": block, "zone": z.name if z else None,
            "node": int(m.secs.node[sec]) if sec < m.secs.size and m.secs.present[sec] else None,
            "flags": [], "refcount": 0, "mapping": "NULL", "memmap_of": None,
            "kpageflags": kpf_names(int(kpageflags(m, pfn, pfn + 1)[0]))}
    if code == S.ABSENT:
        info["note"] = "no struct page: the section is not present"
        return info
    rfc = p.memmap_rule == "rfc"
    if code in (S.MEMMAP_SELF, S.MEMMAP_PAD):
        if rfc:
            info.update(flags=["reserved"], refcount=1, mapping="VMEMMAP_PAGE",
                        note="PageVmemmap: PageReserved + mapping == VMEMMAP_PAGE (marked at add)")
        elif online:
            info.update(flags=list(p.vmemmap_flags), refcount=1, mapping=p.vmemmap_mapping,
                        note="self-hosted memmap page: part of the zone (present), never in the buddy")
        else:
            info.update(flags=["poisoned"], refcount=0,
                        note="memmap of an offline block: not initialised until online")
    elif code == S.OFFLINE:
        if rfc:
            info.update(flags=["reserved"], refcount=1, note="hot-added, not yet online (4.13: PageReserved)")
        else:
            info.update(flags=["poisoned"], note="offline: struct page not initialised (pfn_to_online_page() is NULL)")
    elif code == S.UNPLUGGED:
        if online:
            info.update(flags=["offline"], refcount=1,
                        note="virtio-mem: subblock not plugged; kept fake-offline by the online page "
                             "callback (PageOffline), counted present, not managed")
        else:
            info.update(flags=["poisoned"], note="virtio-mem: subblock not plugged, in an offline block")
    elif code == S.FREE:
        info.update(flags=["buddy"], refcount=0)
    elif code == S.MOVABLE:
        info.update(flags=["uptodate", "lru", "swapbacked"], refcount=1, mapping="anon_vma | PAGE_MAPPING_ANON")
    elif code == S.PINNED:
        info.update(flags=["uptodate", "lru", "swapbacked"], refcount=1 + 1024,
                    mapping="anon_vma | PAGE_MAPPING_ANON", note="FOLL_PIN: refcount += GUP_PIN_COUNTING_BIAS")
    elif code == S.UNMOVABLE:
        info.update(flags=["slab"], refcount=1)
    elif code in (S.BOOT_RESERVED, S.HOLE):
        info.update(flags=["reserved"], refcount=1)
    elif code in (S.MEMMAP_OTHER, S.PAGETABLE):
        info.update(flags=[], refcount=1)
    served = served_by(m, pfn)
    if served is not None:
        info["memmap_of"] = {"first_pfn": served[0], "last_pfn": served[1] - 1,
                             "section": served[0] // m.pps}
    return info
