"""drivers/base/memory.c: memory block devices, their online/offline and sysfs attributes."""

from __future__ import annotations

import numpy as np

from . import states as S
from .errors import OpFailed
from .model import ZONE_MOVABLE, ZONE_NAMES
from . import memory_hotplug as mh
from . import page_alloc, virtio_mem
from .fault_inject import errno_name
from .memory_notifier import (MEM_CANCEL_OFFLINE, MEM_CANCEL_ONLINE, MEM_GOING_OFFLINE,
                              MEM_GOING_ONLINE, MEM_OFFLINE, MEM_ONLINE, memory_notify,
                              node_has_memory, node_notify)

ONLINE_TYPES = ("online", "online_kernel", "online_movable")


def _block_exists(m, b: int) -> None:
    if not (0 <= b < m.blks.size and m.blks.exists[b]):
        raise OpFailed("ENODEV", f"there is no memory block {b}",
                       f"/sys/devices/system/memory/memory{b} does not exist")


def state_store(m, tx, b: int, online_type: str) -> None:
    """state_store(): a write of online/online_kernel/online_movable/offline to memoryN/state."""
    _block_exists(m, b)
    tx.call("state_store", f"memory{b}, \"{online_type}\"")
    with tx.nest():
        if online_type == "offline":
            if not m.blks.online[b]:
                raise OpFailed("EINVAL", f"memory block {b} is already offline",
                               "device_offline() returned 1 (already offline): state_store turns it into -EINVAL")
            memory_block_offline(m, tx, b)
        else:
            if m.blks.online[b]:
                raise OpFailed("EINVAL", f"memory block {b} is already online",
                               "device_online() returned 1 (already online): state_store turns it into -EINVAL")
            memory_block_online(m, tx, b, online_type)


def device_online_block(m, tx, b: int, online_type: str, sub: bool = False) -> None:
    """online_memory_block()/device_online(): used by auto-online and the eject rollback."""
    if m.blks.online[b]:
        return
    tx.call("device_online", f"memory{b} ({online_type})")
    with tx.nest():
        memory_block_online(m, tx, b, online_type)


def memory_block_online(m, tx, b: int, online_type: str) -> None:
    """memory_block_online(): init the vmemmap pages, online_pages() over the rest."""
    lo, hi = m.block_range(b)
    nr = hi - lo
    nid = int(m.blks.node[b])
    z = mh.zone_for_pfn_range(m, online_type, nid, lo, nr)
    counts = m.store.counts(lo, hi)
    nr_self = int(counts[S.MEMMAP_SELF] + counts[S.MEMMAP_PAD])
    nr_vmemmap = int(m.blks.nr_vmemmap[b])
    tx.call("memory_block_online", f"memory{b}, zone {z.name} (node {nid}), nr_vmemmap_pages={nr_vmemmap}")
    rfc = m.profile.memmap_rule == "rfc"
    if nr_vmemmap:
        # mhp_init_memmap_on_memory(): zone links, UNMOVABLE pageblocks, self-hosted flag
        mh.move_pfn_range_to_zone(m, tx, z, lo, nr_vmemmap)
        tx.call("mhp_init_memmap_on_memory", f"pfn={lo:#x}, nr_pages={nr_vmemmap}, zone={z.name}",
                "PageVmemmapSelfHosted" if "vmemmap_self_hosted" in m.profile.vmemmap_flags else "PageReserved")
    start = lo + nr_vmemmap
    nbuddy = nr - nr_vmemmap
    if not rfc and (nbuddy <= 0 or start % m.pageblock_pages or hi % m.pps):
        raise OpFailed("EINVAL", "online_pages: range not pageblock/section aligned",
                       "online_pages: WARN_ON_ONCE(!nr_pages || !pageblock_aligned(pfn) || "
                       "!IS_ALIGNED(pfn + nr_pages, PAGES_PER_SECTION))")
    online_pages(m, tx, start, hi, z, nr_vmemmap_rfc=nr_self if rfc else 0,
                 counts=counts if start == lo else None)
    if nr_vmemmap and m.profile.vmemmap_counts_present:
        mh.adjust_present_page_count(m, tx, z, nr_vmemmap, pfn=lo)
    m.blks.set_row(b, {"online": True, "zone": z.idx}, tx.journal)
    s0, s1 = lo // m.pps, hi // m.pps
    tx.journal.array_set(m.secs.online, slice(s0, s1), True)


def online_pages(m, tx, lo: int, hi: int, z, nr_vmemmap_rfc: int = 0, counts=None) -> None:
    """online_pages(): hand the range to the buddy allocator in zone z."""
    nr = hi - lo
    populated = z.populated()
    mh.move_pfn_range_to_zone(m, tx, z, lo, nr)
    first_memory = not node_has_memory(m, z.node)
    if first_memory:
        node_notify(m, tx, "NODE_ADDING_FIRST_MEMORY", z.node)
    err, who = memory_notify(m, tx, MEM_GOING_ONLINE, lo, nr)
    if err:
        # failed_addition: everything done so far is undone (the journal does it)
        addr = lambda p: p << m.page_shift
        tx.debug(f"online_pages [mem {addr(lo):#010x}-{addr(hi) - 1:#010x}] failed")
        memory_notify(m, tx, MEM_CANCEL_ONLINE, lo, nr)
        if first_memory:
            node_notify(m, tx, "NODE_CANCEL_ADDING_FIRST_MEMORY", z.node)
        raise OpFailed(errno_name(err), f"a memory notifier ({who}) vetoed MEM_GOING_ONLINE "
                       f"with {err}", f"online_pages: memory_notify(MEM_GOING_ONLINE) -> "
                       f"notifier_to_errno() = {err} ({who})")
    if virtio_mem.virtio_mem_online_page_cb(m, tx, lo, hi):
        counts = None            # unplugged subblocks were kept back
    if counts is None:
        counts = m.store.counts(lo, hi)
    n_free = int(counts[S.OFFLINE])
    # every offline pfn becomes a free buddy page; self-hosted memmap pages are skipped
    if n_free == nr:
        m.store.set_range(lo, hi, S.FREE, tx.journal)
    else:
        vals = m.store.get(lo, hi)
        vals = np.where(vals == S.OFFLINE, S.FREE, vals).astype(np.uint8)
        m.store.set_array(lo, vals, tx.journal)
    present = n_free if m.profile.memmap_rule == "rfc" else nr
    mh.adjust_present_page_count(m, tx, z, present, pfn=lo)
    tx.add(z, "managed", n_free)
    tx.add(z, "free", n_free)
    # new free pages: an allocation later in this operation may find them (DLPAR's next LMB)
    tx.alloc_hint.clear()
    tx.call("online_pages", f"pfn={lo:#x}, nr_pages={nr}, zone={z.name}",
            f"{n_free} pages to the buddy" + (f", {nr_vmemmap_rfc} PageVmemmap pages skipped" if nr_vmemmap_rfc else ""))
    if not populated:
        # need_zonelists_rebuild: before init_per_zone_wmark_min(), with the old watermarks
        page_alloc.build_all_zonelists(m, tx)
    page_alloc.setup_per_zone_wmarks(m, tx)
    if first_memory:
        node_notify(m, tx, "NODE_ADDED_FIRST_MEMORY", z.node)
    memory_notify(m, tx, MEM_ONLINE, lo, nr)


def memory_block_offline(m, tx, b: int) -> None:
    """memory_block_offline(): offline_pages() over the buddy part, then the vmemmap pages."""
    lo, hi = m.block_range(b)
    zidx = int(m.blks.zone[b])
    if zidx < 0:
        raise OpFailed("EINVAL", f"memory block {b} spans more than one zone (valid_zones: none)",
                       "memory_block_offline: !mem->zone")
    nid = int(m.blks.node[b])
    z = m.zones[(nid, zidx)]
    nr_vmemmap = int(m.blks.nr_vmemmap[b])
    tx.call("memory_block_offline", f"memory{b}, zone {z.name}, nr_vmemmap_pages={nr_vmemmap}")
    counts_present = nr_vmemmap and m.profile.vmemmap_counts_present
    if counts_present:
        # taken out before offline_pages so an emptied zone/node is torn down right
        mh.adjust_present_page_count(m, tx, z, -nr_vmemmap, pfn=lo)
    try:
        offline_pages(m, tx, lo + nr_vmemmap, hi, z, b)
    except OpFailed:
        if counts_present:
            mh.adjust_present_page_count(m, tx, z, nr_vmemmap, pfn=lo)
        raise
    if nr_vmemmap:
        tx.call("mhp_deinit_memmap_on_memory", f"pfn={lo:#x}, nr_pages={nr_vmemmap}")
    m.blks.set_row(b, {"online": False, "zone": -1}, tx.journal)
    mh.remove_pfn_range_from_zone(m, tx, z, lo, hi - lo)
    s0, s1 = lo // m.pps, hi // m.pps
    tx.journal.array_set(m.secs.online, slice(s0, s1), False)


# states that make start_isolate_page_range() fail in a kernel zone (has_unmovable_pages)
_UNMOVABLE = (S.BOOT_RESERVED, S.MEMMAP_OTHER, S.PAGETABLE, S.UNMOVABLE, S.HOLE)


def offline_pages(m, tx, lo: int, hi: int, z, b: int) -> None:
    """offline_pages(): isolate, migrate what moves, take the free pages out of the buddy."""
    nr = hi - lo
    addr = lambda p: p << m.page_shift
    fail = lambda reason: tx.debug(f"memory offlining [mem {addr(lo):#010x}-{addr(hi) - 1:#010x}] "
                                   f"failed due to {reason}")
    counts = m.store.counts(lo, hi)
    rfc = m.profile.memmap_rule == "rfc"
    if not rfc and (nr <= 0 or lo % m.pageblock_pages or hi % m.pps):
        raise OpFailed("EINVAL", "offline_pages: range not pageblock/section aligned",
                       "offline_pages: WARN_ON_ONCE(alignment)")
    if counts[S.HOLE] or counts[S.ABSENT]:
        fail("memory holes")
        raise OpFailed("EINVAL", f"memory block {b} contains holes (not all of it is System RAM)",
                       "offline_pages: walk_system_ram_range() counted fewer pages than the range: memory holes")
    tx.call("start_isolate_page_range", f"[{lo:#x}-{hi - 1:#x}], MIGRATE_MOVABLE")
    if z.idx != ZONE_MOVABLE:
        vals = m.store.get(lo, hi)
        bad = np.flatnonzero(np.isin(vals, _UNMOVABLE))
        if len(bad):
            pfn = lo + int(bad[0])
            what = S.NAMES[int(vals[bad[0]])]
            tx.log(f"page:{pfn:#x} refcount:1 mapcount:0 pfn:{pfn:#x} ({what})")
            tx.log("page dumped because: unmovable page")
            fail("failure to isolate range")
            raise OpFailed("EBUSY", f"block {b} holds {len(bad)} unmovable page(s) in zone {z.name} "
                           f"(first: pfn {pfn:#x}, {what})",
                           "start_isolate_page_range: has_unmovable_pages() found an unmovable page "
                           "in a kernel zone: failure to isolate range")
    # 6.17+: the node's last memory going -> NODE_REMOVING_LAST_MEMORY first
    last_memory = nr >= node_has_memory(m, z.node)
    if last_memory:
        node_notify(m, tx, "NODE_REMOVING_LAST_MEMORY", z.node)
    err, who = memory_notify(m, tx, MEM_GOING_OFFLINE, lo, nr)
    if err:
        # failed_removal_isolated: undo the isolation, tell the chain, report
        tx.call("undo_isolate_page_range", f"[{lo:#x}-{hi - 1:#x}], MIGRATE_MOVABLE")
        memory_notify(m, tx, MEM_CANCEL_OFFLINE, lo, nr)
        if last_memory:
            node_notify(m, tx, "NODE_CANCEL_REMOVING_LAST_MEMORY", z.node)
        fail("notifier failure")
        raise OpFailed(errno_name(err), f"a memory notifier ({who}) vetoed MEM_GOING_OFFLINE with {err}",
                       f"offline_pages: memory_notify(MEM_GOING_OFFLINE) -> notifier_to_errno() = "
                       f"{err} ({who}): notifier failure")
    nid = int(m.blks.node[b])
    moved, failed = page_alloc.migrate_out(m, tx, lo, hi, nid, counts)
    if moved:
        counts = m.store.counts(lo, hi)
    pinned = counts[S.PINNED]
    if failed or pinned:
        why = []
        if pinned:
            why.append(f"{pinned} long-term pinned page(s) cannot migrate")
        if failed:
            why.append(f"no room elsewhere for {failed} movable page(s)")
        if moved:
            tx.left_behind.append(f"{moved} pages already migrated stay where they went")
        tx.call("do_migrate_range", f"[{lo:#x}-{hi - 1:#x}]", "migration keeps failing; retrying until a signal")
        memory_notify(m, tx, MEM_CANCEL_OFFLINE, lo, nr)
        if last_memory:
            node_notify(m, tx, "NODE_CANCEL_REMOVING_LAST_MEMORY", z.node)
        fail("signal backoff")
        raise OpFailed("EINTR", "; ".join(why) + "; offlining retried until interrupted",
                       "offline_pages: migration never completes (signal_pending -> -EINTR, signal backoff)")
    # __offline_isolated_pages(): free pages leave the buddy, the range goes offline
    n_free = int(counts[S.FREE])
    vals = None
    # virtio-mem's fake-offline (unplugged) pages are skipped: they stay unplugged
    if n_free + int(counts[S.MEMMAP_SELF] + counts[S.MEMMAP_PAD] + counts[S.UNPLUGGED]) == nr or n_free == nr:
        if n_free == nr:
            m.store.set_range(lo, hi, S.OFFLINE, tx.journal)
        else:
            vals = m.store.get(lo, hi)
            vals = np.where(vals == S.FREE, S.OFFLINE, vals).astype(np.uint8)
            m.store.set_array(lo, vals, tx.journal)
    else:
        raise OpFailed("EBUSY", "pages still in use after migration", "test_pages_isolated failed")
    (tx.log if m.profile.offlined_pages_info else tx.debug)(f"Offlined Pages {nr if not rfc else n_free}")
    tx.add(z, "managed", -n_free)
    tx.add(z, "free", -n_free)
    present = n_free if rfc else nr
    mh.adjust_present_page_count(m, tx, z, -present, pfn=lo)
    tx.call("offline_pages", f"pfn={lo:#x}, nr_pages={nr}", f"{n_free} pages taken from the buddy")
    page_alloc.setup_per_zone_wmarks(m, tx)
    if not z.populated():
        # after init_per_zone_wmark_min(), unlike online_pages()
        page_alloc.build_all_zonelists(m, tx)
    if last_memory:
        node_notify(m, tx, "NODE_REMOVED_LAST_MEMORY", z.node)
    memory_notify(m, tx, MEM_OFFLINE, lo, nr)


# ==========================================================================================
# sysfs
# ==========================================================================================
def valid_zones(m, b: int) -> str:
    """valid_zones_show()."""
    lo, hi = m.block_range(b)
    nid = int(m.blks.node[b])
    if m.blks.online[b]:
        z = int(m.blks.zone[b])
        return "none" if z < 0 else ZONE_NAMES[z]
    default = mh.zone_for_pfn_range(m, "online", nid, lo, hi - lo)
    names = [default.name]
    for t in ("online_kernel", "online_movable"):
        z = mh.zone_for_pfn_range(m, t, nid, lo, hi - lo)
        if z is not default:
            names.append(z.name)
    return " ".join(names)


def block_sysfs(m, b: int) -> dict:
    lo, hi = m.block_range(b)
    online = bool(m.blks.online[b])
    z = int(m.blks.zone[b])
    rid = int(m.blks.res[b])
    return {
        "id": b,
        "state": "online" if online else "offline",
        "online": 1 if online else 0,
        "phys_index": f"{lo // m.pps:08x}",
        "phys_device": 0,
        "removable": 1,
        "valid_zones": valid_zones(m, b),
        "node": int(m.blks.node[b]),
        "nr_vmemmap_pages": int(m.blks.nr_vmemmap[b]),
        "start_pfn": lo,
        "end_pfn": hi,
        "zone": ZONE_NAMES[z] if (online and z >= 0) else None,
        "resource": m.res.index(rid) if rid in m.res else None,
        "boot": bool(m.blks.boot[b]),
    }
