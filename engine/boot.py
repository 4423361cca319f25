"""Boot: lay out RAM per node as QEMU does, build zones, the boot memmap and memory blocks.

Mirrors what e820/memblock, sparse_init() and memory_dev_init() leave behind. Boot memory's
memmap always lives in boot memory (memblock, top-down on its node): it never self-hosts.
"""

from __future__ import annotations

import numpy as np

from . import states as S
from .arch import probe_memory_block_size, boot_ram_ranges, firmware_holes
from .journal import Journal
from .model import ZONE_NAMES, ZONE_NORMAL, Node, Zone
from . import page_alloc, vmemmap

KERNEL_IMAGE_OFFSET = 16 << 20     # x86 loads the kernel at 16 MiB (CONFIG_PHYSICAL_START)
KERNEL_IMAGE_SIZE = 32 << 20       # text, data, bss, initrd and early allocations
BOOT_UNMOVABLE_SHIFT = 6           # 1/64 of a node's memory in use by the kernel after boot


def _subtract(ranges, holes):
    out = []
    for lo, hi in ranges:
        cur = [(lo, hi)]
        for hlo, hhi in holes:
            nxt = []
            for a, b in cur:
                if hhi <= a or hlo >= b:
                    nxt.append((a, b))
                    continue
                if a < hlo:
                    nxt.append((a, hlo))
                if hhi < b:
                    nxt.append((hhi, b))
            cur = nxt
        out.extend(cur)
    return out


def boot_machine(m) -> None:
    cfg, arch = m.config, m.arch
    j = Journal()          # boot is not an undoable operation; the journal is dropped
    shift = arch.page_shift
    node_cfgs = sorted(cfg.nodes, key=lambda n: n.id)
    ids = [n.id for n in node_cfgs]
    explicit = any(n.ram for n in node_cfgs)
    if explicit:
        # a given layout (a real machine's iomem): its gaps are the firmware holes
        byte_ranges = [list(n.ram or ()) for n in node_cfgs]
    else:
        byte_ranges = boot_ram_ranges(arch, [n.memory for n in node_cfgs])
    all_ranges = [r for rs in byte_ranges for r in rs]
    lowmem_end = all_ranges[0][1] if all_ranges else 0
    holes = [] if explicit else firmware_holes(arch, lowmem_end)
    boot_mem_end = max((hi for _, hi in all_ranges), default=0)

    m._block_size = cfg.block_size or probe_memory_block_size(
        arch, boot_mem_end, cfg.hypervisor, m.profile.block_size_rule)

    # nodes and zones --------------------------------------------------------------------
    for i, nc in enumerate(node_cfgs):
        dist = nc.distances or tuple(10 if other == nc.id else 20 for other in ids)
        ram = [(lo >> shift, hi >> shift) for lo, hi in _subtract(byte_ranges[i], holes)]
        m.nodes[nc.id] = Node(nc.id, tuple(dist), tuple(ram), nc.memory)
        limits = [(0, 0)]
        prev = 0
        for zname, end in arch.zone_limits:
            limits.append((ZONE_NAMES.index(zname), end >> shift))
        for zidx in range(len(ZONE_NAMES)):
            m.zones[(nc.id, zidx)] = Zone(nc.id, zidx)
        # boot RAM of this node split by zone limits; above the last limit is Normal
        bounds = []
        prev = 0
        for zidx, end in limits[1:]:
            bounds.append((zidx, prev, end))
            prev = end
        bounds.append((ZONE_NORMAL, prev, m.max_pfn))
        for zidx, zlo, zhi in bounds:
            z = m.zones[(nc.id, zidx)]
            rs = tuple((max(lo, zlo), min(hi, zhi)) for lo, hi in ram if max(lo, zlo) < min(hi, zhi))
            z.boot_ranges = tuple(sorted(set(z.boot_ranges) | set(rs)))
    for z in m.zones.values():
        if z.boot_ranges:
            z.start_pfn = z.boot_ranges[0][0]
            z.end_pfn = z.boot_ranges[-1][1]
            z.present = z.present_early = sum(hi - lo for lo, hi in z.boot_ranges)
            z.managed = z.free = z.present

    # sections, pfn states ---------------------------------------------------------------
    pps = m.pps
    top_pfn = max((hi for nd in m.nodes.values() for _, hi in nd.boot_ranges), default=0)
    m.store.ensure(-(-top_pfn // pps))
    m.secs.ensure(-(-top_pfn // pps), None)
    m.secs.fill_rows(0, -(-top_pfn // pps))      # boot rows carry real defaults (node -1, ...)
    for nid, nd in m.nodes.items():
        for lo, hi in byte_ranges[ids.index(nid)]:
            s0, s1 = (lo >> shift) // pps, -(-(hi >> shift) // pps)
            m.secs.present[s0:s1] = True
            m.secs.online[s0:s1] = True
            m.secs.early[s0:s1] = True
            m.secs.node[s0:s1] = nid
    present = np.flatnonzero(m.secs.present[: m.secs.size])
    for s in present:
        m.store.set_range(int(s) * pps, (int(s) + 1) * pps, S.HOLE, j)
    for nd in m.nodes.values():
        for lo, hi in nd.boot_ranges:
            m.store.set_range(lo, hi, S.FREE, j)

    # the boot memmap, top-down in each node, then the kernel image and early allocations
    for nid, nd in sorted(m.nodes.items()):
        secs = [int(s) for s in present if m.secs.node[s] == nid]
        if secs:
            vmemmap.populate_boot_memmap(m, nid, secs, j)
    if KERNEL_IMAGE_OFFSET + KERNEL_IMAGE_SIZE <= ((m.nodes[ids[0]].boot_memory or 0) + arch.ram_base):
        lo = (arch.ram_base + KERNEL_IMAGE_OFFSET) >> shift
        page_alloc.reserve_boot(m, lo, lo + (KERNEL_IMAGE_SIZE >> shift), S.BOOT_RESERVED, j)
    for nid, nd in sorted(m.nodes.items()):
        want = (nd.boot_memory >> shift) >> BOOT_UNMOVABLE_SHIFT
        if want:
            page_alloc.boot_allocate_top_down(m, nid, want, S.UNMOVABLE, j)

    # memory blocks ----------------------------------------------------------------------
    ppb = m.ppb
    nblocks = -(-top_pfn // ppb)
    m.blks.ensure(nblocks, None)
    m.blks.fill_rows(0, nblocks)
    for b in range(nblocks):
        lo, hi = b * ppb, (b + 1) * ppb
        secs = range(lo // pps, min(hi // pps, m.secs.size))
        if not any(m.secs.present[s] for s in secs):
            continue
        nid = int(next(m.secs.node[s] for s in secs if m.secs.present[s]))
        m.blks.exists[b] = True
        m.blks.online[b] = True
        m.blks.boot[b] = True
        m.blks.node[b] = nid
        # zones of every node with RAM here: a block over two nodes has no zone (the
        # kernel's memory_block_add_nid() sets mem->zone = NULL), like one over two zones
        zs = {(z.node, z.idx) for n in m.nodes for z in m.node_zones(n)
              if any(max(a, lo) < min(c, hi) for a, c in z.boot_ranges)}
        m.blks.zone[b] = zs.pop()[1] if len(zs) == 1 else -1

    m.nboot_blocks = nblocks
    m.counters.nr_memmap_boot_pages = sum(1 for v in m.vmap.values() if v[2] == "boot") and \
        _boot_memmap_pages(m)
    page_alloc.setup_per_zone_wmarks(m, None)
    m.policy_zone = page_alloc.highest_policy_zone(m, 0)


def _boot_memmap_pages(m) -> int:
    pages = 0
    for (kind, _), (_, _, src) in m.vmap.items():
        if src == "boot":
            pages += (m.arch.pmd_size // m.page_size) if kind == "pmd" else 1
    return pages
