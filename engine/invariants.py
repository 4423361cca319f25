"""Consistency checks of a machine: what must hold after every operation.

Used by the property-based tests after each step, and handy when changing the engine:
`check_invariants(m)` returns a list of problems (empty when all is well).
"""

from __future__ import annotations

import numpy as np

from . import states as S
from .model import ZONE_MOVABLE, ZONE_NAMES
from . import vmemmap


def check_invariants(m) -> list[str]:
    problems: list[str] = []
    rfc = m.profile.memmap_rule == "rfc"
    total_managed = 0
    ps_kb = m.page_size >> 10
    for (nid, zidx), z in m.zones.items():
        name = f"node {nid} {ZONE_NAMES[zidx]}"
        counts = [0] * S.NSTATES
        for lo, hi in m.zone_ranges(z):
            c = m.store.counts(lo, hi)
            counts = [a + b for a, b in zip(counts, c)]
        free = counts[S.FREE]
        managed = sum(counts[s] for s in S.MANAGED_STATES)
        present = sum(counts) - counts[S.HOLE] - counts[S.ABSENT]
        if rfc:
            present -= counts[S.MEMMAP_SELF] + counts[S.MEMMAP_PAD]
        if counts[S.OFFLINE]:
            problems.append(f"{name}: {counts[S.OFFLINE]} offline pfns inside online blocks")
        if z.free != free:
            problems.append(f"{name}: free counter {z.free} but {free} free pfns")
        if z.managed != managed:
            problems.append(f"{name}: managed {z.managed} but {managed} pfns in managed states")
        if z.present != present:
            problems.append(f"{name}: present {z.present} but {present} present pfns")
        for lo, hi in m.zone_ranges(z):
            if not (z.start_pfn <= lo and hi <= z.end_pfn):
                problems.append(f"{name}: span [{z.start_pfn:#x}-{z.end_pfn:#x}) misses [{lo:#x}-{hi:#x})")
                break
        total_managed += z.managed
    if m.meminfo()["MemTotal"] != total_managed * ps_kb:
        problems.append("MemTotal is not the sum of managed pages")

    # blocks and sections agree; offline blocks hold only offline or memmap pages
    n = m.blks.size
    for b in np.flatnonzero(m.blks.exists[:n]).tolist():
        lo, hi = m.block_range(b)
        secs = m.secs.present[lo // m.pps: hi // m.pps]
        if not secs.all() and not m.blks.boot[b]:
            problems.append(f"block {b}: exists but not all its sections are present")
        if not m.blks.online[b]:
            c = m.store.counts(lo, hi)
            other = (sum(c) - c[S.OFFLINE] - c[S.MEMMAP_SELF] - c[S.MEMMAP_PAD] - c[S.HOLE] - c[S.ABSENT]
                     - c[S.UNPLUGGED])
            if other:
                problems.append(f"block {b}: offline but {other} pfns are in use or free")
    # no residue: pfns of absent sections are absent, units serve present sections
    ns = m.secs.size
    # vectorised: the sections reach the top of the address space on big machines
    k = min(ns, len(m.store.sec_code))
    residue = np.flatnonzero(~m.secs.present[:k] & (m.store.sec_code[:k] != S.ABSENT))
    if len(residue):
        problems.append(f"section {int(residue[0])}: not present but its pfns are not absent")
    for key, (pfn, node, src) in m.vmap.items():
        lo, hi = vmemmap.unit_pfn_range(m, key)
        s0, s1 = lo // m.pps, min(-(-hi // m.pps), ns)
        if not m.secs.present[s0:s1].any():
            problems.append(f"vmemmap unit {key} maps struct pages of no present section")
            continue
        if src == "altmap":
            served_block = lo // m.ppb
            back_block = pfn // m.ppb
            rid = int(m.blks.res[served_block]) if served_block < n else -1
            r = m.res.get(rid)
            if r is not None and not (r.start_pfn <= pfn < r.end_pfn):
                problems.append(f"self-hosted memmap at pfn {pfn:#x} outside the range it serves")
            if m.profile.altmap_in_block and back_block != served_block:
                problems.append(f"self-hosted memmap at pfn {pfn:#x} outside its own block {served_block}")
            code = m.store.code_at(pfn)
            if code != S.MEMMAP_SELF:
                problems.append(f"altmap page {pfn:#x} is {S.NAMES[code]}, not memmap-self")
        elif src == "buddy":
            code = m.store.code_at(pfn)
            if code != S.MEMMAP_OTHER:
                problems.append(f"buddy memmap page {pfn:#x} is {S.NAMES[code]}")
    for b, am in m.altmaps.items():
        if not (b < n and m.blks.exists[b]):
            problems.append(f"altmap of block {b} outlives the block")
    # memory groups count exactly the present pages of their online blocks, by zone kind
    for mgid, g in m.groups.items():
        sel = np.flatnonzero(m.blks.exists[:n] & (m.blks.group[:n] == mgid) & m.blks.online[:n])
        movable = int(np.count_nonzero(m.blks.zone[sel] == ZONE_MOVABLE)) * m.ppb
        kernel = len(sel) * m.ppb - movable
        if (g.present_kernel_pages, g.present_movable_pages) != (kernel, movable):
            problems.append(f"memory group {mgid}: present kernel/movable {g.present_kernel_pages}/"
                            f"{g.present_movable_pages} but its online blocks hold {kernel}/{movable}")
    problems += _virtio_mem_invariants(m)
    # page-table children counts match what they map
    return problems


def _virtio_mem_invariants(m) -> list[str]:
    """The host's plugged size matches the driver's bitmaps; unplugged pages are exactly
    the unplugged subblocks of added blocks."""
    problems: list[str] = []
    expected_unplugged = 0
    for vm in m.virtio_mem.values():
        if vm.in_sbm:
            plugged = sum(bin(x).count("1") for x in vm.sb_states.values()) * vm.sb_size
            sb_pages = vm.sb_size >> m.page_shift
            for mb, mask in vm.sb_states.items():
                if not (mb < m.blks.size and m.blks.exists[mb]):
                    problems.append(f"{vm.id}: block {mb} has plugged subblocks but was never added")
                    continue
                lo, hi = m.block_range(mb)
                un = (m.store.get(lo, hi) == S.UNPLUGGED).reshape(vm.sbs_per_mb, sb_pages).sum(axis=1)
                for sb in range(vm.sbs_per_mb):
                    want = 0 if mask >> sb & 1 else sb_pages
                    if int(un[sb]) != want:
                        problems.append(f"{vm.id}: block {mb} subblock {sb} has {int(un[sb])} unplugged "
                                        f"pages, expected {want}")
                        break
                expected_unplugged += (vm.sbs_per_mb - bin(mask).count("1")) * sb_pages
        else:
            plugged = len(vm.bb_states) * vm.bb_size
        if plugged != vm.plugged_size:
            problems.append(f"{vm.id}: plugged_size {vm.plugged_size:#x} but {plugged:#x} is plugged")
        if vm.wq_queued or vm.wq_active:
            problems.append(f"{vm.id}: work left queued or running between operations")
    total = m.store.counts(0, m.secs.size * m.pps)[S.UNPLUGGED] if m.secs.size else 0
    if total != expected_unplugged:
        problems.append(f"{total} unplugged pfns, but the devices have {expected_unplugged} unplugged")
    return problems
