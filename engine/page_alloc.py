"""A small part of mm/page_alloc.c: zonelists, watermarks, allocation, freeing, migration.

Allocation hands out the highest free pfns first (deterministic; the real buddy's order is
not part of what the simulator promises). Every allocation checks the min watermark, as a
GFP_KERNEL or __GFP_RETRY_MAYFAIL request does after reclaim has nothing left to give.
"""

from __future__ import annotations

import math

import numpy as np

from . import states as S
from .errors import OpFailed
from .model import ZONE_DMA, ZONE_DMA32, ZONE_MOVABLE, ZONE_NORMAL, Zone

GFP_ZONES = {
    # highest usable zone first, as the zonelist walks them
    "movable": (ZONE_MOVABLE, ZONE_NORMAL, ZONE_DMA32, ZONE_DMA),   # GFP_HIGHUSER_MOVABLE
    "kernel": (ZONE_NORMAL, ZONE_DMA32, ZONE_DMA),                  # GFP_KERNEL, GFP_USER
}


# ------------------------------------------------------------------------------------------
# boot-time helpers (no watermarks, no journal of interest)
# ------------------------------------------------------------------------------------------
def reserve_boot(m, lo: int, hi: int, code: int, j) -> None:
    """memblock_reserve(): pages that never reach the buddy (not managed)."""
    counts = m.store.counts(lo, hi)
    nfree = int(counts[S.FREE])
    m.store.set_range(lo, hi, code, j)
    z = m.boot_zone_of_pfn(lo)
    if z is not None:
        z.managed -= nfree
        z.free -= nfree


def boot_allocate_top_down(m, nid: int, n: int, code: int, j) -> None:
    for lo, hi in sorted(m.nodes[nid].boot_ranges, reverse=True):
        if n <= 0:
            break
        starts, ends, codes = m.store.runs(lo, hi)
        for a, b, c in zip(starts[::-1], ends[::-1], codes[::-1]):
            if c != S.FREE or n <= 0:
                continue
            take = min(n, int(b - a))
            for zlo, zhi, z in _boot_zone_pieces(m, nid, int(b) - take, int(b)):
                z.free -= zhi - zlo
            m.store.set_range(int(b) - take, int(b), code, j)
            n -= take


def _boot_zone_pieces(m, nid, lo, hi):
    for z in m.node_zones(nid):
        for a, c in z.boot_ranges:
            x, y = max(a, lo), min(c, hi)
            if x < y:
                yield x, y, z


# ------------------------------------------------------------------------------------------
# watermarks
# ------------------------------------------------------------------------------------------
def setup_per_zone_wmarks(m, tx) -> None:
    """init_per_zone_wmark_min() + __setup_per_zone_wmarks(), recomputed after (off)lining."""
    zones = m.zones.values()
    lowmem = 0
    for z in zones:
        if z.idx != ZONE_MOVABLE:
            lowmem += z.managed
    lowmem_kbytes = lowmem * (m.page_size >> 10)
    min_free_kbytes = max(128, min(int(math.isqrt(lowmem_kbytes * 16)), 262144))
    pages_min = min_free_kbytes // (m.page_size >> 10)
    for z in zones:
        managed = z.managed
        if z.idx == ZONE_MOVABLE:
            wmin = max(32, min(managed // 1024, 128)) if managed else 0
        else:
            wmin = pages_min * managed // lowmem if lowmem else 0
        step = max(wmin // 4, managed * 10 // 10000)
        if (z.wmark_min, z.wmark_low, z.wmark_high) == (wmin, wmin + step, wmin + 2 * step):
            continue
        if tx is None:
            z.wmark_min, z.wmark_low, z.wmark_high = wmin, wmin + step, wmin + 2 * step
        else:
            tx.set(z, "wmark_min", wmin)
            tx.set(z, "wmark_low", wmin + step)
            tx.set(z, "wmark_high", wmin + 2 * step)
    if tx is None:
        m.min_free_kbytes = min_free_kbytes
    else:
        tx.set(m, "min_free_kbytes", min_free_kbytes)


# MIGRATE_UNMOVABLE, MOVABLE, RECLAIMABLE, HIGHATOMIC, CMA, ISOLATE: a distribution kernel
# has CONFIG_CMA and CONFIG_MEMORY_ISOLATION, so six migrate types
MIGRATE_TYPES = 6


def highest_policy_zone(m, current: int) -> int:
    """check_highest_zone() over the populated zones: policy_zone only ever grows."""
    for z in m.zones.values():
        if z.populated() and z.idx != ZONE_MOVABLE and z.idx > current and m.nodes[z.node].online:
            current = z.idx
    return current


def build_all_zonelists(m, tx) -> None:
    """build_all_zonelists(): rebuilt when a zone becomes (un)populated; prints its summary.

    "Total pages" is nr_free_zone_pages(GFP_HIGHUSER_MOVABLE): over the populated zones of
    the fallback zonelist (every online node), managed pages above the high watermark, with
    the watermarks as they are at that moment (online_pages() rebuilds before it
    recomputes them, offline_pages() after).
    """
    from .model import ZONE_NAMES
    tx.set(m, "policy_zone", highest_policy_zone(m, m.policy_zone))
    zones = [z for z in m.zones.values() if z.populated() and m.nodes[z.node].online]
    total = sum(z.managed - z.wmark_high for z in zones if z.managed > z.wmark_high)
    nr_online = sum(1 for n in m.nodes.values() if n.online)
    grouping = "off" if total < m.pageblock_pages * MIGRATE_TYPES else "on"
    tx.call("build_all_zonelists", "", f"{nr_online} zonelists, {total} pages above high")
    tx.log(f"Built {nr_online} zonelists, mobility grouping {grouping}.  Total pages: {total}")
    tx.log(f"Policy zone: {ZONE_NAMES[m.policy_zone]}")


# ------------------------------------------------------------------------------------------
# finding free pages
# ------------------------------------------------------------------------------------------
def zonelist(m, nid: int, gfp: str, nodes: list[int] | None = None) -> list[Zone]:
    """The fallback list of a node: nearest node first, highest allowed zone first."""
    order = m.nodes_by_distance(nid)
    if nodes is not None:
        order = [n for n in order if n in nodes]
    return [m.zones[(n, z)] for n in order for z in GFP_ZONES[gfp]]


def _free_blocks_in_zone(m, tx, z: Zone, order: int, want: int, exclude=None):
    """Up to `want` naturally aligned free blocks of 2^order pages in zone z, highest first."""
    size = 1 << order
    found: list[int] = []
    hint_key = (z.node, z.idx, order)
    hints = getattr(tx, "alloc_hint", None) if tx is not None else None
    limit = hints.get(hint_key) if hints else None
    ppb = m.ppb
    for lo, hi in reversed(m.zone_ranges(z)):
        if limit is not None and lo >= limit:
            continue
        if limit is not None:
            hi = min(hi, limit)
        # walk block by block from the top so a huge zone costs what it gives
        top = hi
        while top > lo and len(found) < want:
            blo = max(lo, ((top - 1) // ppb) * ppb)
            starts, ends, codes = m.store.runs(blo, top)
            for a, b, c in zip(starts[::-1], ends[::-1], codes[::-1]):
                if c != S.FREE:
                    continue
                a, b = int(a), int(b)
                if exclude is not None:
                    ex_lo, ex_hi = exclude
                    if a < ex_hi and b > ex_lo:
                        # split around the excluded (isolated) range
                        parts = [(a, min(b, ex_lo)), (max(a, ex_hi), b)]
                    else:
                        parts = [(a, b)]
                else:
                    parts = [(a, b)]
                for pa, pb in reversed(parts):
                    t = (pb // size) * size
                    while t - size >= pa and len(found) < want:
                        found.append(t - size)
                        t -= size
                if len(found) >= want:
                    break
            if len(found) >= want:
                if hints is not None:
                    hints[hint_key] = found[-1] + size
                return found
            top = blo
        if len(found) >= want:
            break
    if hints is not None and found:
        hints[hint_key] = found[-1] + size
    return found


def alloc_pages(m, tx, nid: int, order: int, gfp: str, code: int, count: int = 1,
                zones: list[Zone] | None = None, exclude=None, check_wmark: bool = True,
                partial: bool = False) -> list[tuple[int, Zone]]:
    """alloc_pages_node(): `count` blocks of 2^order pages; [] if the request cannot be met.

    With partial=True returns as many as could be had. Marks the pages `code` and takes
    them off the zone's free count.
    """
    size = 1 << order
    got: list[tuple[int, Zone]] = []
    for z in (zones if zones is not None else zonelist(m, nid, gfp)):
        if not z.populated() or z.free <= 0:
            continue
        room = z.free - (z.wmark_min if check_wmark else 0)
        n_here = min(count - len(got), room // size)
        if n_here <= 0:
            continue
        blocks = _free_blocks_in_zone(m, tx, z, order, n_here, exclude)
        for start in blocks:
            got.append((start, z))
        if len(got) >= count:
            break
    if len(got) < count and not partial:
        return []
    for start, z in got:
        m.store.set_range(start, start + size, code, tx.journal)
        tx.add(z, "free", -size)
    return got


def alloc_sequence(m, tx, nid: int, order: int, gfp: str, count: int) -> list[tuple[int, Zone]]:
    """The blocks `count` successive alloc_pages(nid, order, gfp) calls of one block each
    would return, in order, up to the first that would fail; nothing is taken (see
    take_sequence). Each call takes the highest free block left below the operation's cursor
    in the first zone of the zonelist with room above its min watermark."""
    size = 1 << order
    saved = dict(tx.alloc_hint)
    out: list[tuple[int, Zone]] = []
    for z in zonelist(m, nid, gfp):
        if len(out) >= count:
            break
        if not z.populated() or z.free <= 0:
            continue
        room = (z.free - z.wmark_min) // size
        if room > 0:
            out += [(b, z) for b in _free_blocks_in_zone(m, tx, z, order, min(room, count - len(out)))]
    tx.alloc_hint.clear()
    tx.alloc_hint.update(saved)
    return out


def take_sequence(m, tx, seq: list[tuple[int, Zone]], order: int, codes: list[int]) -> None:
    """Take the blocks of an alloc_sequence() prefix, block i marked codes[i]: the state
    (pages, zone free counts, allocation cursors) those alloc_pages() calls leave."""
    size = 1 << order
    taken: dict[Zone, int] = {}
    lowest: dict[Zone, int] = {}
    i = 0
    while i < len(seq):
        # consecutive blocks handed out top-down with one code make one run
        j = i + 1
        while j < len(seq) and seq[j][1] is seq[i][1] and codes[j] == codes[i] and \
                seq[j][0] == seq[j - 1][0] - size:
            j += 1
        lo, hi, z = seq[j - 1][0], seq[i][0] + size, seq[i][1]
        m.store.set_range(lo, hi, codes[i], tx.journal)
        taken[z] = taken.get(z, 0) + (hi - lo)
        lowest[z] = min(lowest.get(z, lo), lo)
        i = j
    for z, n in taken.items():
        tx.add(z, "free", -n)
        tx.alloc_hint[(z.node, z.idx, order)] = lowest[z] + size


def free_runs_in_zones(m, tx, zones, want: int, exclude=None, check_wmark=True):
    """Free pfn runs, highest first, across zones in order: [(lo, hi, zone)] totalling <= want."""
    out = []
    for z in zones:
        if want <= 0:
            break
        if not z.populated() or z.free <= 0:
            continue
        room = min(want, z.free - (z.wmark_min if check_wmark else 0))
        if room <= 0:
            continue
        for lo, hi in reversed(m.zone_ranges(z)):
            if room <= 0:
                break
            for a, b in _free_runs_top_down(m, lo, hi):
                if room <= 0:
                    break
                parts = [(a, b)]
                if exclude is not None and a < exclude[1] and b > exclude[0]:
                    parts = [p for p in ((a, min(b, exclude[0])), (max(a, exclude[1]), b)) if p[0] < p[1]]
                for pa, pb in reversed(parts):
                    take = min(room, pb - pa)
                    if take <= 0:
                        continue
                    if out and out[-1][2] is z and out[-1][0] == pb:
                        # one free run that the block-by-block walk read in two pieces
                        out[-1] = (pb - take, out[-1][1], z)
                    else:
                        out.append((pb - take, pb, z))
                    room -= take
                    want -= take
    return out


def _free_runs_top_down(m, lo: int, hi: int):
    """The free runs of [lo, hi), highest first, read a memory block at a time from the top:
    a huge zone costs what is taken from it, not its size (a run crossing a block boundary
    comes in two pieces)."""
    ppb = m.ppb
    top = hi
    while top > lo:
        blo = max(lo, ((top - 1) // ppb) * ppb)
        starts, ends, codes = m.store.runs(blo, top)
        for a, b, c in zip(starts[::-1].tolist(), ends[::-1].tolist(), codes[::-1].tolist()):
            if c == S.FREE:
                yield a, b
        top = blo


def alloc_bulk(m, tx, zones, n: int, code: int, exclude=None, check_wmark=True,
               partial=False) -> list[tuple[int, int, Zone]]:
    """Order-0 pages in bulk (runs, not a list per page): n pages or [] unless partial."""
    runs = free_runs_in_zones(m, tx, zones, n, exclude, check_wmark)
    got = sum(b - a for a, b, _ in runs)
    if got < n and not partial:
        return []
    take_runs(m, tx, runs, code)
    return runs


def take_runs(m, tx, runs, code: int) -> None:
    """Mark free runs [(lo, hi, zone)] allocated as `code`, off their zones' free counts."""
    for a, b, z in runs:
        m.store.set_range(a, b, code, tx.journal)
        tx.add(z, "free", -(b - a))


def free_range(m, tx, lo: int, hi: int) -> None:
    """__free_pages(): give allocated pfns [lo, hi) back to their zone."""
    counts = m.store.counts(lo, hi)
    n = int(sum(counts[c] for c in S.ALLOCATED_STATES))
    m.store.set_range(lo, hi, S.FREE, tx.journal)
    z = m.zone_of_pfn(lo)
    if z is not None:
        tx.add(z, "free", n)
    tx.alloc_hint.clear()


def nodes_with_memory(m) -> list[int]:
    """node_states[N_MEMORY]."""
    return [nid for nid in m.nodes if any(z.present for z in m.node_zones(nid))]


def migrate_out(m, tx, lo: int, hi: int, nid: int, counts=None) -> tuple[int, int]:
    """do_migrate_range() over [lo, hi): move every movable page somewhere else.

    Targets: GFP_USER | __GFP_MOVABLE from any node with memory but this one (unless it is
    the only one), never inside the range being offlined. Returns (migrated, failed).
    """
    if counts is None:
        counts = m.store.counts(lo, hi)
    if not counts[S.MOVABLE]:
        return 0, 0
    vals = m.store.get(lo, hi)
    src = np.flatnonzero(vals == S.MOVABLE)
    if len(src) == 0:
        return 0, 0
    nmask = [n for n in nodes_with_memory(m) if n != nid] or [nid]
    targets = alloc_bulk(m, tx, zonelist(m, nid, "movable", nmask), len(src), S.MOVABLE,
                         exclude=(lo, hi), partial=True)
    moved = sum(b - a for a, b, _ in targets)
    if moved:
        vals = vals.copy()
        vals[src[:moved]] = S.FREE
        m.store.set_array(lo, vals, tx.journal)
        z = m.zone_of_pfn(lo)
        if z is not None:
            tx.add(z, "free", moved)
        tx.call("migrate_pages", f"{moved} pages from [{lo:#x}-{hi - 1:#x}]",
                f"to {_describe_targets(targets)}")
    return moved, len(src) - moved


def _describe_targets(targets) -> str:
    by_zone: dict[tuple[int, str], int] = {}
    for a, b, z in targets:
        by_zone[(z.node, z.name)] = by_zone.get((z.node, z.name), 0) + (b - a)
    return ", ".join(f"node {n} {zn}: {c}" for (n, zn), c in sorted(by_zone.items()))


def require(cond: bool, errno: str, message: str, check: str) -> None:
    if not cond:
        raise OpFailed(errno, message, check)
