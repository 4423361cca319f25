"""fs/proc: meminfo, zoneinfo, vmstat, iomem and kpageflags as the profile computes them."""

from __future__ import annotations

import numpy as np

from . import states as S
from .model import ZONE_NAMES

# include/uapi/linux/kernel-page-flags.h (and the kernel-internal bits above 31)
KPF = {
    "LOCKED": 0, "ERROR": 1, "REFERENCED": 2, "UPTODATE": 3, "DIRTY": 4, "LRU": 5, "ACTIVE": 6,
    "SLAB": 7, "WRITEBACK": 8, "RECLAIM": 9, "BUDDY": 10, "MMAP": 11, "ANON": 12,
    "SWAPCACHE": 13, "SWAPBACKED": 14, "COMPOUND_HEAD": 15, "COMPOUND_TAIL": 16, "HUGE": 17,
    "UNEVICTABLE": 18, "HWPOISON": 19, "NOPAGE": 20, "KSM": 21, "THP": 22, "OFFLINE": 23,
    "ZERO_PAGE": 24, "IDLE": 25, "PGTABLE": 26,
    "RESERVED": 32, "MLOCKED": 33, "MAPPEDTODISK": 34, "PRIVATE": 35, "PRIVATE_2": 36,
    "OWNER_PRIVATE": 37, "ARCH": 38, "UNCACHED": 39, "SOFTDIRTY": 40, "ARCH_2": 41,
}
KPF_NAMES = {v: k for k, v in KPF.items()}


def _bits(*names: str) -> int:
    v = 0
    for n in names:
        v |= 1 << KPF[n]
    return v


def kpf_names(value: int) -> list[str]:
    return [KPF_NAMES[b] for b in sorted(KPF_NAMES) if value >> b & 1]


def _online_table(m) -> np.ndarray:
    """kpageflags of a pfn in an online section, by state, for this profile."""
    t = np.zeros(S.NSTATES, dtype=np.uint64)
    p = m.profile
    selfhosted = 0
    if "reserved" in p.vmemmap_flags:
        selfhosted |= _bits("RESERVED")
    if "vmemmap_self_hosted" in p.vmemmap_flags:
        selfhosted |= _bits("OWNER_PRIVATE")        # PG_vmemmap_self_hosted = PG_owner_priv_1
    t[S.ABSENT] = _bits("NOPAGE")
    t[S.BOOT_RESERVED] = _bits("RESERVED")
    t[S.HOLE] = _bits("RESERVED")
    t[S.MEMMAP_SELF] = selfhosted
    t[S.MEMMAP_PAD] = selfhosted
    t[S.MEMMAP_OTHER] = 0
    t[S.PAGETABLE] = 0
    t[S.FREE] = _bits("BUDDY")                      # is_free_buddy_page() marks tails too
    t[S.MOVABLE] = _bits("UPTODATE", "LRU", "MMAP", "ANON", "SWAPBACKED")
    t[S.PINNED] = t[S.MOVABLE]
    t[S.UNMOVABLE] = _bits("SLAB")
    t[S.OFFLINE] = _offline_bits(m)
    t[S.UNPLUGGED] = _bits("OFFLINE")               # virtio-mem fake-offline: PageOffline
    return t


def _offline_bits(m) -> int:
    return _bits(*m.profile.offline_kpageflags)


def kpageflags(m, lo: int, hi: int) -> np.ndarray:
    """/proc/kpageflags for [lo, hi): read through pfn_to_online_page() (except the RFC era)."""
    states = m.store.get(lo, hi)
    table = _online_table(m)
    out = table[states]
    if m.profile.memmap_rule == "rfc":
        # 4.13 read any pfn_valid() page: offline hot-added memory was PageReserved
        return out
    # sections that are not online read as offline memory does in this profile
    pps = m.pps
    s0, s1 = lo // pps, -(-hi // pps)
    n = m.secs.size
    online = np.zeros(s1 - s0, dtype=bool)
    k = max(0, min(s1, n) - s0)
    online[:k] = m.secs.online[s0:s0 + k]
    if online.all():
        return out
    per_pfn = np.repeat(online, pps)[lo - s0 * pps: hi - s0 * pps]
    out = np.where(per_pfn, out, np.uint64(_offline_bits(m)))
    return out


def kpageflags_runs(m, lo: int, hi: int):
    """Runs of equal (state, kpageflags) over [lo, hi), without a per-pfn array for big ranges."""
    starts, ends, codes = m.store.runs(lo, hi)
    table = _online_table(m)
    rfc = m.profile.memmap_rule == "rfc"
    off = np.uint64(_offline_bits(m))
    out = []
    pps = m.pps
    for a, b, c in zip(starts.tolist(), ends.tolist(), codes.tolist()):
        # split at section boundaries only where online-ness changes
        cur = a
        while cur < b:
            sec = cur // pps
            on = rfc or (sec < m.secs.size and bool(m.secs.online[sec]))
            nxt = cur
            # extend over following sections with the same online-ness
            while nxt < b:
                s = nxt // pps
                o = rfc or (s < m.secs.size and bool(m.secs.online[s]))
                if o != on:
                    break
                nxt = min(b, (s + 1) * pps)
            flags = int(table[c]) if on else int(off)
            if out and out[-1][2] == c and out[-1][3] == flags and out[-1][1] == cur:
                out[-1] = (out[-1][0], nxt, c, flags)
            else:
                out.append((cur, nxt, c, flags))
            cur = nxt
    return out


def meminfo(m) -> dict:
    kb = m.page_size >> 10
    total = sum(z.managed for z in m.zones.values())
    free = sum(z.free for z in m.zones.values())
    return {"MemTotal": total * kb, "MemFree": free * kb}


def zoneinfo(m) -> list[dict]:
    out = []
    for (nid, zidx), z in sorted(m.zones.items()):
        if nid not in m.nodes:
            continue
        out.append({"node": nid, "zone": ZONE_NAMES[zidx], "start_pfn": z.start_pfn,
                    "spanned": z.spanned, "present": z.present, "managed": z.managed,
                    "free": z.free, "min": z.wmark_min, "low": z.wmark_low, "high": z.wmark_high})
    return out


def vmstat(m) -> dict:
    out = {"nr_free_pages": sum(z.free for z in m.zones.values())}
    if m.profile.has_nr_memmap_vmstat:
        out["nr_memmap_pages"] = m.counters.nr_memmap_pages
        out["nr_memmap_boot_pages"] = m.counters.nr_memmap_boot_pages
    return out


def iomem(m) -> list[tuple[int, int, str]]:
    """/proc/iomem's RAM entries in address order; a driver's parent region (kmem's
    "daxX.Y", a virtio-mem device) comes before its children, which are indented."""
    ps = m.page_shift
    out = []
    for nd in m.nodes.values():
        for lo, hi in nd.boot_ranges:
            out.append((lo << ps, (hi << ps) - 1, 0, "System RAM"))
    vmem = []
    for r in m.res.values():
        if r.via == "virtio_mem":
            vmem.append((r.start_pfn << ps, r.end_pfn << ps))
            continue
        if r.owner:
            out.append((r.start_pfn << ps, (r.end_pfn << ps) - 1, 0, r.owner))
        out.append((r.start_pfn << ps, (r.end_pfn << ps) - 1, 1 if r.owner else 0, r.name))
    # virtio-mem: the device's parent resource (named after the device) holds its System RAM,
    # adjacent pieces merged (MHP_MERGE_RESOURCE)
    from .virtio_mem import RESOURCE_NAME
    for vm in m.virtio_mem.values():
        out.append((vm.addr, vm.addr + vm.region_size - 1, 0, vm.name))
        mine = sorted((a, b) for a, b in vmem if vm.addr <= a < vm.addr + vm.region_size)
        merged: list[list[int]] = []
        for a, b in mine:
            if merged and merged[-1][1] == a:
                merged[-1][1] = b
            else:
                merged.append([a, b])
        out += [(a, b - 1, 1, RESOURCE_NAME) for a, b in merged]
    # a parent before its children (the /proc/iomem writer indents them by containment)
    return [(a, b, name) for a, b, depth, name in sorted(out, key=lambda e: (e[0], e[2], -e[1]))]
