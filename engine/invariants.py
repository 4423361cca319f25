"""Consistency checks of a machine: what must hold after every operation.

Used by the property-based tests after each step, and handy when changing the engine:
`check_invariants(m)` returns a list of problems (empty when all is well).
"""

from __future__ import annotations

import numpy as np

from . import states as S
from .model import ZONE_NAMES
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
            other = sum(c) - c[S.OFFLINE] - c[S.MEMMAP_SELF] - c[S.MEMMAP_PAD] - c[S.HOLE] - c[S.ABSENT]
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
    # page-table children counts match what they map
    return problems
