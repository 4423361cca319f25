"""mm/sparse-vmemmap.c and the arch vmemmap_populate(): where struct pages are stored.

The memmap of pfn p sits at vmemmap virtual offset p * sizeof(struct page). That virtual
range is mapped either with PMD leaves (one 2 MiB backing block each on x86) or with base
pages, backed by an altmap (pages at the start of the hot-added range itself), by the buddy
allocator (some node's existing memory) or, for boot memory, by memblock. Page-table pages
are always taken from the buddy, never from the altmap.
"""

from __future__ import annotations

from . import states as S
from .errors import OpFailed
from . import page_alloc
from .fault_inject import should_fail


# ------------------------------------------------------------------------------------------
# geometry of the vmemmap
# ------------------------------------------------------------------------------------------
def section_va(m, sec: int) -> tuple[int, int]:
    """Byte offsets (from the vmemmap base) of the struct pages of one section."""
    span = m.pps * m.struct_page_size
    return sec * span, (sec + 1) * span


def uses_pmd(m, va_lo: int, va_hi: int) -> bool:
    """Whether vmemmap_populate() takes the hugepage (PMD) path for this range."""
    a = m.arch
    if not a.vmemmap_pmd:
        return False
    if a.family == "ppc64":
        # radix maps the vmemmap with 2 MiB pages (boot memory; adds: radix_vmemmap_populate)
        return True
    # x86/arm64: base pages only for less than a section's memmap (subsection adds)
    return va_hi - va_lo >= m.pps * m.struct_page_size


def _spans(m):
    a = m.arch
    pmd_table = a.pt_entries[1] * a.pmd_size
    pud_table = a.pt_entries[2] * pmd_table
    return pmd_table, pud_table


def unit_pfn_range(m, key: tuple[str, int]) -> tuple[int, int]:
    """The pfns whose struct pages a vmemmap unit (PMD leaf or base page) holds."""
    kind, idx = key
    size = m.arch.pmd_size if kind == "pmd" else m.page_size
    sp = m.struct_page_size
    lo = (idx * size) // sp
    hi = -(-((idx + 1) * size) // sp)
    return lo, hi


def unit_pages(m, kind: str) -> int:
    return m.arch.pmd_size // m.page_size if kind == "pmd" else 1


def units_of(m, va_lo: int, va_hi: int) -> list[tuple[str, int]]:
    """The vmemmap units now mapping [va_lo, va_hi)."""
    out = []
    pmd = m.arch.pmd_size
    ps = m.page_size
    for u in range(va_lo // pmd, -(-va_hi // pmd)):
        if ("pmd", u) in m.vmap:
            out.append(("pmd", u))
        else:
            lo, hi = max(va_lo, u * pmd), min(va_hi, (u + 1) * pmd)
            for p in range(lo // ps, -(-hi // ps)):
                if ("pte", p) in m.vmap:
                    out.append(("pte", p))
    return out


def va_str(m, off: int) -> str:
    return f"{m.arch.vmemmap_base + off:#x}"


# ------------------------------------------------------------------------------------------
# page tables
# ------------------------------------------------------------------------------------------
def _table_get(m, tx, level: str, idx: int, nid: int) -> None:
    key = (level, idx)
    if key in m.ptables:
        return
    got = None if should_fail(tx, "pgtable") else page_alloc.alloc_pages(m, tx, nid, 0, "kernel", S.PAGETABLE)
    if not got:
        raise OpFailed("ENOMEM", f"vmemmap: no page for a {level.upper()} table on node {nid}",
                       f"vmemmap_{level}_populate: alloc_pages_node(node {nid}, GFP_KERNEL, order 0) "
                       f"found no free page above the min watermark")
    pfn, z = got[0]
    tx.journal.dict_set(m.ptables, key, (pfn, z.node, "buddy", 0))
    tx.call(f"vmemmap_{level}_populate", f"table {idx}", f"page-table page pfn {pfn:#x} (node {z.node})")
    if level == "pmd":
        _, pud_table = _spans(m)
        pud_idx = (idx * _spans(m)[0]) // pud_table
        _child(m, tx, "pud", pud_idx, +1)
    elif level == "pte":
        pmd_table, _ = _spans(m)
        _child(m, tx, "pmd", (idx * m.arch.pmd_size) // pmd_table, +1)


def _child(m, tx, level: str, idx: int, delta: int) -> None:
    key = (level, idx)
    pfn, node, src, n = m.ptables[key]
    n += delta
    if n > 0 or src == "boot" or (level == "pud" and not m.arch.frees_pud_tables):
        tx.journal.dict_set(m.ptables, key, (pfn, node, src, n))
        return
    # empty: free the table page (free_pte_table / free_pmd_table / free_pud_table)
    tx.journal.dict_del(m.ptables, key)
    page_alloc.free_range(m, tx, pfn, pfn + 1)
    tx.call(f"free_{level}_table", f"table {idx}", f"page-table page pfn {pfn:#x} freed")
    pmd_table, pud_table = _spans(m)
    if level == "pte":
        _child(m, tx, "pmd", (idx * m.arch.pmd_size) // pmd_table, -1)
    elif level == "pmd":
        _child(m, tx, "pud", (idx * pmd_table) // pud_table, -1)


def _ensure_pmd_entry_tables(m, tx, u: int, nid: int) -> None:
    pmd_table, pud_table = _spans(m)
    va = u * m.arch.pmd_size
    _table_get(m, tx, "pud", va // pud_table, nid)
    _table_get(m, tx, "pmd", va // pmd_table, nid)


# ------------------------------------------------------------------------------------------
# populate
# ------------------------------------------------------------------------------------------
def vmemmap_populate(m, tx, va_lo: int, va_hi: int, nid: int, altmap) -> None:
    """vmemmap_populate(): map the struct pages of [va_lo, va_hi), PMD or base pages."""
    if m.arch.family == "ppc64":
        radix_vmemmap_populate(m, tx, va_lo, va_hi, nid, altmap)
        return
    if uses_pmd(m, va_lo, va_hi):
        vmemmap_populate_hugepages(m, tx, va_lo, va_hi, nid, altmap)
    else:
        # x86 never takes base pages from the altmap; arm64 and ppc pass it on
        use_altmap = altmap if m.arch.name != "x86_64" else None
        if altmap is not None and m.arch.name == "x86_64":
            raise OpFailed("ENOMEM", "no cpu support for altmap allocations",
                           "x86 vmemmap_populate: an altmap needs PMD mappings")
        vmemmap_populate_basepages(m, tx, va_lo, va_hi, nid, use_altmap)


def altmap_cross_boundary(m, altmap, va: int, size: int) -> bool:
    """altmap_cross_boundary(): the struct pages at [va, va+size) describe pfns outside the device."""
    first = va // m.struct_page_size
    last = first + size // m.struct_page_size - 1
    return last > altmap.end_pfn or first < altmap.base_pfn


def radix_vmemmap_populate(m, tx, va_lo: int, va_hi: int, nid: int, altmap) -> None:
    """ppc64 radix vmemmap, by profile.

    psize-2m (<6.6, init_64.c vmemmap_populate): 2 MiB pages (mmu_vmemmap_psize), altmap
    first then RAM, no base-page fallback. pmd-if-none (6.6, radix__vmemmap_populate): a
    PMD from RAM wherever the entry is empty, even for a memmap smaller than 2 MiB; with an
    altmap only at an aligned address inside the device, else base pages. pmd-if-aligned
    (the later fix): an unaligned start takes base pages for classic adds too.
    """
    rule = m.profile.ppc_vmemmap_rule
    pmd = m.arch.pmd_size
    pmd_pages = pmd // m.page_size
    pmd_table, _ = _spans(m)
    addr = va_lo // m.page_size * m.page_size
    while addr < va_hi:
        u = addr // pmd
        nxt = min(va_hi, (u + 1) * pmd)
        _ensure_pmd_entry_tables(m, tx, u, nid)
        if ("pmd", u) in m.vmap:
            addr = nxt          # a leaf maps it already (vmemmap_populated / vmemmap_check_pmd)
            continue
        base = ("pte", u) in m.ptables
        if not base and rule != "psize-2m":
            unaligned = addr % pmd != 0
            if (rule == "pmd-if-aligned" and unaligned) or \
                    (altmap is not None and (unaligned or altmap_cross_boundary(m, altmap, u * pmd, pmd))):
                base = True
        if base:
            # base pages; the altmap only where the page's struct pages stay inside the device
            am = altmap if altmap is not None and not altmap_cross_boundary(m, altmap, addr, m.page_size) else None
            vmemmap_populate_basepages(m, tx, addr, nxt, nid, am)
            addr = nxt
            continue
        pfn = src = None
        if altmap is not None and not altmap_cross_boundary(m, altmap, u * pmd, pmd):
            pfn = altmap_alloc(m, tx, altmap, pmd_pages)
            src = "altmap" if pfn is not None else None
        if pfn is None:
            got = None if should_fail(tx, "vmemmap", pmd_pages) else \
                page_alloc.alloc_pages(m, tx, nid, pmd_pages.bit_length() - 1, "kernel", S.MEMMAP_OTHER)
            if got:
                pfn, src = got[0][0], "buddy"
                nid_b = got[0][1].node
        if pfn is None:
            if rule == "psize-2m":
                raise OpFailed("ENOMEM", f"vmemmap: no free 2 MiB block for struct pages on node {nid}",
                               "vmemmap_populate (init_64.c): vmemmap_alloc_block_buf(2M) failed; "
                               "no base-page fallback before 6.6")
            vmemmap_populate_basepages(m, tx, addr, nxt, nid, None)
            addr = nxt
            continue
        node = nid_b if src == "buddy" else nid_of(m, pfn)
        tx.journal.dict_set(m.vmap, ("pmd", u), (pfn, node, src))
        tx.call("vmemmap_set_pmd" if rule != "psize-2m" else "vmemmap_create_mapping",
                f"{va_str(m, u * pmd)}", f"{src} pfn {pfn:#x}+{pmd_pages}")
        _child(m, tx, "pmd", (u * pmd) // pmd_table, +1)
        addr = nxt


def vmemmap_populate_hugepages(m, tx, va_lo: int, va_hi: int, nid: int, altmap) -> None:
    """vmemmap_populate_hugepages(): a PMD block per 2 MiB of struct pages."""
    pmd = m.arch.pmd_size
    pmd_pages = pmd // m.page_size
    order = pmd_pages.bit_length() - 1
    pmd_table, _ = _spans(m)
    for u in range(va_lo // pmd, -(-va_hi // pmd)):
        _ensure_pmd_entry_tables(m, tx, u, nid)
        if ("pmd", u) in m.vmap:
            continue        # vmemmap_check_pmd(): a leaf already maps it (shared)
        if ("pte", u) in m.ptables:
            lo, hi = max(va_lo, u * pmd), min(va_hi, (u + 1) * pmd)
            vmemmap_populate_basepages(m, tx, lo, hi, nid, altmap)
            continue
        if altmap is not None:
            pfn = altmap_alloc(m, tx, altmap, pmd_pages)
            if pfn is None:
                raise OpFailed("ENOMEM", "vmemmap: the altmap has no room for a PMD",
                               f"altmap_alloc_block_buf({pmd_pages} pages): "
                               f"{altmap.nr_free()} left (free={altmap.free}, alloc={altmap.alloc}, "
                               f"align={altmap.align}); no fallback with an altmap")
            tx.journal.dict_set(m.vmap, ("pmd", u), (pfn, nid_of(m, pfn), "altmap"))
            tx.call("vmemmap_set_pmd", f"{va_str(m, u * pmd)}", f"altmap pfn {pfn:#x}+{pmd_pages}")
        else:
            got = None if should_fail(tx, "vmemmap", pmd_pages) else \
                page_alloc.alloc_pages(m, tx, nid, order, "kernel", S.MEMMAP_OTHER)
            if not got:
                warn_alloc(m, tx, order)
                tx.call("vmemmap_alloc_block_buf", f"PMD_SIZE, node {nid}",
                        "failed: falling back to base pages")
                lo, hi = max(va_lo, u * pmd), min(va_hi, (u + 1) * pmd)
                vmemmap_populate_basepages(m, tx, lo, hi, nid, None)
                continue
            pfn, z = got[0]
            tx.journal.dict_set(m.vmap, ("pmd", u), (pfn, z.node, "buddy"))
            tx.call("vmemmap_set_pmd", f"{va_str(m, u * pmd)}",
                    f"buddy pfn {pfn:#x}+{pmd_pages} (node {z.node} {z.name})")
            vmemmap_verify(m, tx, z.node, nid, u * pmd, (u + 1) * pmd)
        _child(m, tx, "pmd", (u * pmd) // pmd_table, +1)


def vmemmap_populate_basepages(m, tx, va_lo: int, va_hi: int, nid: int, altmap) -> None:
    """vmemmap_populate_basepages(): one backing page per page of struct pages."""
    ps = m.page_size
    pmd = m.arch.pmd_size
    for p in range(va_lo // ps, -(-va_hi // ps)):
        if ("pte", p) in m.vmap:
            continue        # shared with a neighbour's memmap
        u = (p * ps) // pmd
        _ensure_pmd_entry_tables(m, tx, u, nid)
        _table_get(m, tx, "pte", u, nid)
        if altmap is not None:
            pfn = altmap_alloc(m, tx, altmap, 1)
            if pfn is None:
                raise OpFailed("ENOMEM", "vmemmap: the altmap has no room for a page",
                               f"altmap_alloc_block_buf(1 page): nothing left "
                               f"(free={altmap.free}, alloc={altmap.alloc})")
            tx.journal.dict_set(m.vmap, ("pte", p), (pfn, nid_of(m, pfn), "altmap"))
            tx.call("vmemmap_pte_populate", va_str(m, p * ps), f"altmap pfn {pfn:#x}")
        else:
            got = None if should_fail(tx, "vmemmap") else \
                page_alloc.alloc_pages(m, tx, nid, 0, "kernel", S.MEMMAP_OTHER)
            if not got:
                warn_alloc(m, tx, 0)
                raise OpFailed("ENOMEM", f"vmemmap: no page for struct pages on node {nid} or its fallbacks",
                               "vmemmap_pte_populate: alloc_pages_node(GFP_KERNEL, order 0) failed "
                               "above the min watermark")
            pfn, z = got[0]
            tx.journal.dict_set(m.vmap, ("pte", p), (pfn, z.node, "buddy"))
            tx.call("vmemmap_pte_populate", va_str(m, p * ps), f"buddy pfn {pfn:#x} (node {z.node})")
            vmemmap_verify(m, tx, z.node, nid, p * ps, (p + 1) * ps)
        _child(m, tx, "pte", u, +1)


def warn_alloc(m, tx, order: int) -> None:
    """vmemmap_alloc_block(): warn_alloc(gfp & ~__GFP_NOWARN, NULL, "vmemmap alloc failure:
    order:%u"), ratelimited (nopage_rs: one per 10 s, so once per operation here)."""
    if "warn_alloc" in tx.ratelimited:
        return
    tx.ratelimited.add("warn_alloc")
    # the cpuset's mems_allowed: the nodes with memory (N_MEMORY)
    mems = sorted({z.node for z in m.zones.values() if z.present})
    tx.log(f"vmemmap alloc failure: order:{order}, mode:0x4cc0(GFP_KERNEL|__GFP_RETRY_MAYFAIL), "
           f"nodemask=(null),cpuset=/,mems_allowed={_pbl(mems)}")


def _pbl(ids: list[int]) -> str:
    """printk %*pbl: a node list as ranges, "0-1,3"."""
    out, i = [], 0
    while i < len(ids):
        j = i
        while j + 1 < len(ids) and ids[j + 1] == ids[j] + 1:
            j += 1
        out.append(str(ids[i]) if i == j else f"{ids[i]}-{ids[j]}")
        i = j + 1
    return ",".join(out)


def vmemmap_verify(m, tx, backing_node: int, nid: int, va_lo: int, va_hi: int) -> None:
    """vmemmap_verify(): warn when struct pages land on a distant node."""
    if backing_node != nid and m.distance(backing_node, nid) > 10:
        # pr_warn_once("[%lx-%lx] potential offnode page_structs\n", start, end - 1)
        base = m.arch.vmemmap_base
        tx.log_once(m.printed_once, "vmemmap_verify",
                    f"[{base + va_lo:x}-{base + va_hi - 1:x}] potential offnode page_structs")


def altmap_alloc(m, tx, altmap, nr_pfns: int) -> int | None:
    """altmap_alloc_block_buf(): take nr_pfns naturally aligned pfns from the altmap."""
    plan = altmap.plan_alloc(nr_pfns)
    if plan is None:
        return None
    pfn, pad = plan
    if pad:
        m.store.set_range(pfn - pad, pfn, S.MEMMAP_PAD, tx.journal)
    tx.add(altmap, "alloc", nr_pfns)
    tx.add(altmap, "align", pad)
    m.store.set_range(pfn, pfn + nr_pfns, S.MEMMAP_SELF, tx.journal)
    return pfn


def nid_of(m, pfn: int) -> int:
    sec = pfn // m.pps
    return int(m.secs.node[sec]) if sec < m.secs.size else -1


# ------------------------------------------------------------------------------------------
# teardown
# ------------------------------------------------------------------------------------------
def _unit_in_use(m, key) -> bool:
    lo, hi = unit_pfn_range(m, key)
    s0, s1 = lo // m.pps, -(-hi // m.pps)
    s1 = min(s1, m.secs.size)
    return bool(m.secs.present[s0:s1].any()) if s0 < s1 else False


def vmemmap_free(m, tx, va_lo: int, va_hi: int, altmap_of, dying_section: int = -1) -> None:
    """vmemmap_free(): unmap struct pages no present section needs any more.

    Units shared with a still-present neighbour stay (x86 marks the unused part of a PMD or
    page and frees it only once all of it is unused). Altmap-backed units go back to the
    altmap (vmem_altmap_free), buddy-backed ones to the buddy.
    """
    for key in units_of(m, va_lo, va_hi):
        if _unit_in_use(m, key):
            continue
        pfn, node, src = m.vmap[key]
        npages = unit_pages(m, key[0])
        tx.journal.dict_del(m.vmap, key)
        if src == "altmap":
            am = altmap_of(pfn)
            if am is not None:
                tx.add(am, "alloc", -npages)         # vmem_altmap_free()
            # the backing pages belong to the range itself: offline while it is present;
            # in the section being torn down they go absent with it (the caller does that)
            bsec = pfn // m.pps
            if bsec != dying_section:
                still = bsec < m.secs.size and m.secs.present[bsec]
                m.store.set_range(pfn, pfn + npages, S.OFFLINE if still else S.ABSENT, tx.journal)
            tx.call("vmem_altmap_free", f"{npages}", f"pfn {pfn:#x} back to the altmap")
        elif src == "buddy":
            page_alloc.free_range(m, tx, pfn, pfn + npages)
            tx.call("free_pagetable" if key[0] == "pte" else "free_hugepage_table",
                    f"pfn {pfn:#x}+{npages}", "freed to the buddy")
        pmd = m.arch.pmd_size
        if key[0] == "pmd":
            pmd_table, _ = _spans(m)
            _child(m, tx, "pmd", (key[1] * pmd) // pmd_table, -1)
        else:
            _child(m, tx, "pte", (key[1] * m.page_size) // pmd, -1)


# ------------------------------------------------------------------------------------------
# boot
# ------------------------------------------------------------------------------------------
def populate_boot_memmap(m, nid: int, secs: list[int], j) -> None:
    """sparse_init(): the boot memmap of a node, memblock-allocated top-down on that node."""
    keys: list[tuple[str, int]] = []
    seen = set()
    pmd = m.arch.pmd_size
    ps = m.page_size
    for s in secs:
        lo, hi = section_va(m, s)
        if uses_pmd(m, lo, hi):
            cand = [("pmd", u) for u in range(lo // pmd, -(-hi // pmd))]
        else:
            cand = [("pte", p) for p in range(lo // ps, -(-hi // ps))]
        for k in cand:
            if k not in seen and k not in m.vmap:
                seen.add(k)
                keys.append(k)
    need = sum(unit_pages(m, k[0]) for k in keys)
    align = unit_pages(m, keys[0][0]) if keys else 1
    # top of the node's highest RAM range, aligned down to the unit size
    ranges = sorted(m.nodes[nid].boot_ranges, key=lambda r: r[1], reverse=True)
    base = None
    for lo, hi in ranges:
        start = ((hi - need) // align) * align
        if start >= lo:
            base = start
            break
    if base is None:
        base = ranges[0][0]
    page_alloc.reserve_boot(m, base, base + need, S.BOOT_RESERVED, j)
    pmd_table, pud_table = _spans(m)
    cur = base
    for k in keys:
        n = unit_pages(m, k[0])
        m.vmap[k] = (cur, nid, "boot")
        cur += n
        va = k[1] * (pmd if k[0] == "pmd" else ps)
        for level, idx in (("pud", va // pud_table), ("pmd", va // pmd_table)):
            if (level, idx) not in m.ptables:
                m.ptables[(level, idx)] = (-1, nid, "boot", 0)
        if k[0] == "pte":
            t = ("pte", va // pmd)
            if t not in m.ptables:
                m.ptables[t] = (-1, nid, "boot", 0)
    # children counts, so hot-added neighbours share the boot tables correctly
    for (level, idx), (pfn, node, src, _) in list(m.ptables.items()):
        m.ptables[(level, idx)] = (pfn, node, src, 0)
    for k in m.vmap:
        va = k[1] * (pmd if k[0] == "pmd" else ps)
        if k[0] == "pmd":
            _bump(m, ("pmd", va // pmd_table))
        else:
            _bump(m, ("pte", va // pmd))
    for (level, idx) in list(m.ptables):
        if level == "pte":
            _bump(m, ("pmd", (idx * pmd) // pmd_table))
        elif level == "pmd":
            _bump(m, ("pud", (idx * pmd_table) // pud_table))


def _bump(m, key) -> None:
    pfn, node, src, n = m.ptables[key]
    m.ptables[key] = (pfn, node, src, n + 1)
