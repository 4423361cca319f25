"""drivers/base/memory.c memory groups and the group-aware auto-movable zone choice of
mm/memory_hotplug.c (5.15+).

A memory group ties memory blocks to the device that added them, so that the
auto-movable online policy can treat a device as a unit:

* a static group (a DIMM, a dax/kmem device) is added in one go and removed in one go:
  if any of it is online in a kernel zone, the rest follows it there; otherwise the
  whole device goes to ZONE_MOVABLE if all of it would still fit the ratio;
* a dynamic group (virtio-mem) is added and removed in units of `unit_pages`; each unit
  is decided as a whole, and kernel memory the group already has lets the same group
  carry more movable memory.

Groups are registered by the driver; add_memory() with MHP_NID_IS_MGID takes the group
id in place of the node. Each memory block remembers its group (`m.blks.group`, -1 for
none). Present pages are counted per group by adjust_present_page_count().
"""

from __future__ import annotations

from .errors import OpFailed
from .model import ZONE_MOVABLE, Zone

# add_memory flag: the "nid" argument is a memory group id (include/linux/memory_hotplug.h)
MHP_NID_IS_MGID = "MHP_NID_IS_MGID"


class MemoryGroup:
    """struct memory_group: node, kind, size limit or unit, present pages by zone kind."""

    __slots__ = ("id", "nid", "is_dynamic", "max_pages", "unit_pages",
                 "present_kernel_pages", "present_movable_pages", "owner")

    def __init__(self, mgid: int, nid: int, is_dynamic: bool, max_pages: int = 0,
                 unit_pages: int = 0, owner: str = ""):
        self.id = mgid
        self.nid = nid
        self.is_dynamic = is_dynamic
        self.max_pages = max_pages        # static groups: s.max_pages
        self.unit_pages = unit_pages      # dynamic groups: d.unit_pages
        self.present_kernel_pages = 0
        self.present_movable_pages = 0
        self.owner = owner                # who registered it (for display): "acpi", "virtio_mem vmem0"

    def as_dict(self) -> dict:
        return {"id": self.id, "nid": self.nid, "dynamic": self.is_dynamic,
                "max_pages": self.max_pages, "unit_pages": self.unit_pages,
                "present_kernel_pages": self.present_kernel_pages,
                "present_movable_pages": self.present_movable_pages, "owner": self.owner}

    def __repr__(self) -> str:
        return f"MemoryGroup({self.as_dict()!r})"


def _journal_set(tx, d: dict, key, value) -> None:
    if tx is None:
        d[key] = value          # at boot (device probe) there is nothing to undo
    else:
        tx.journal.dict_set(d, key, value)


def memory_group_register(m, tx, group: MemoryGroup) -> int:
    """memory_group_register(): node must be possible; xa_alloc picks the lowest free id."""
    if group.nid not in m.nodes:
        raise OpFailed("EINVAL", f"node {group.nid} does not exist",
                       "memory_group_register: !node_possible(nid)")
    mgid = m.groups.lowest_free()
    group.id = mgid
    _journal_set(tx, m.groups, mgid, group)
    if tx is not None:
        kind = f"dynamic, unit {group.unit_pages} pages" if group.is_dynamic else \
            f"static, max {group.max_pages} pages"
        tx.call("memory_group_register_dynamic" if group.is_dynamic else "memory_group_register_static",
                f"nid={group.nid}", f"mgid {mgid} ({kind})")
    return mgid


def memory_group_register_static(m, tx, nid: int, max_pages: int, owner: str = "") -> int:
    """memory_group_register_static(): a group added and removed in one go (DIMM, dax/kmem)."""
    if not max_pages:
        raise OpFailed("EINVAL", "a static memory group needs max_pages > 0",
                       "memory_group_register_static: !max_pages")
    return memory_group_register(m, tx, MemoryGroup(-1, nid, False, max_pages=max_pages, owner=owner))


def memory_group_register_dynamic(m, tx, nid: int, unit_pages: int, owner: str = "") -> int:
    """memory_group_register_dynamic(): a group added/removed in units (virtio-mem)."""
    if not unit_pages or unit_pages & (unit_pages - 1) or unit_pages < m.ppb:
        raise OpFailed("EINVAL", f"unit of {unit_pages} pages is not a power of two of at least "
                       f"one memory block ({m.ppb} pages)",
                       "memory_group_register_dynamic: !unit_pages || !is_power_of_2 || < memory block")
    return memory_group_register(m, tx, MemoryGroup(-1, nid, True, unit_pages=unit_pages, owner=owner))


def memory_group_unregister(m, tx, mgid: int) -> None:
    """memory_group_unregister(): refused while any memory block still belongs to the group."""
    if mgid not in m.groups:
        raise OpFailed("EINVAL", f"there is no memory group {mgid}", "memory_group_unregister: !group")
    if group_blocks(m, mgid):
        raise OpFailed("EBUSY", f"memory group {mgid} still has memory blocks",
                       "memory_group_unregister: !list_empty(&group->memory_blocks)")
    tx.journal.dict_del(m.groups, mgid)
    tx.call("memory_group_unregister", f"mgid {mgid}", "0")


def memory_group_find_by_id(m, mgid: int) -> MemoryGroup | None:
    """memory_group_find_by_id()."""
    return m.groups.get(mgid)


def group_of_block(m, b: int) -> MemoryGroup | None:
    """mem->group of memory block b (None for boot blocks and ungrouped adds)."""
    if not (0 <= b < m.blks.size):
        return None
    return m.groups.get(int(m.blks.group[b]))


def group_of_pfn(m, pfn: int) -> MemoryGroup | None:
    return group_of_block(m, pfn // m.ppb)


def group_blocks(m, mgid: int) -> list[int]:
    """The memory blocks on the group's list (group->memory_blocks)."""
    import numpy as np
    n = m.blks.size
    return np.flatnonzero(m.blks.exists[:n] & (m.blks.group[:n] == mgid)).tolist()


def walk_dynamic_memory_groups(m, nid: int | None, excluded: MemoryGroup | None) -> list[MemoryGroup]:
    """walk_dynamic_memory_groups(): dynamic groups of a node (all nodes for None)."""
    return [g for _, g in sorted(m.groups.items())
            if g.is_dynamic and g is not excluded and (nid is None or g.nid == nid)]


def account_group(tx, group: MemoryGroup | None, z: Zone, nr: int) -> None:
    """The group half of adjust_present_page_count(): present pages by zone kind."""
    if group is None or not nr:
        return
    if z.idx == ZONE_MOVABLE:
        tx.add(group, "present_movable_pages", nr)
    else:
        tx.add(group, "present_kernel_pages", nr)


# ==========================================================================================
# auto-movable
# ==========================================================================================
def auto_movable_can_online_movable(m, nid: int | None, group: MemoryGroup | None, nr_pages: int) -> bool:
    """auto_movable_can_online_movable(): would nr_pages more MOVABLE keep MOVABLE:KERNEL_EARLY
    within the ratio? Dynamic groups other than this one are taken out of the sums with the
    kernel memory their movable memory needs."""
    ratio = m.auto_movable_ratio
    zones = [z for z in m.zones.values() if (nid is None or z.node == nid) and z.populated()]
    movable = sum(z.present for z in zones if z.idx == ZONE_MOVABLE)
    kernel_early = sum(z.present_early for z in zones if z.idx != ZONE_MOVABLE)
    req_kernel_early = group_movable = 0
    if ratio:
        # auto_movable_stats_account_group()
        for g in walk_dynamic_memory_groups(m, nid, group):
            pages = g.present_movable_pages * 100 // ratio - g.present_kernel_pages
            if pages > 0:
                req_kernel_early += pages
            group_movable += g.present_movable_pages
    if kernel_early <= req_kernel_early:
        return False
    kernel_early -= req_kernel_early
    movable -= group_movable
    if group is not None and group.is_dynamic:
        kernel_early += group.present_kernel_pages
    return movable + nr_pages <= (ratio * kernel_early) // 100


def auto_movable_zone_for_pfn(m, nid: int, group: MemoryGroup | None, pfn: int, nr: int) -> Zone:
    """auto_movable_zone_for_pfn(): MOVABLE if the whole unit (static group, dynamic unit or
    this range) could currently go MOVABLE within the ratio; a unit with anything online in
    a kernel zone keeps the rest there too."""
    from .memory_hotplug import default_kernel_zone_for_pfn
    kernel = lambda: default_kernel_zone_for_pfn(m, nid, pfn, nr)
    if not m.auto_movable_ratio:
        return kernel()
    online = 0
    if group is not None and not group.is_dynamic:
        if group.present_kernel_pages:
            return kernel()
        max_pages = group.max_pages
        online = group.present_movable_pages
    elif group is None or group.unit_pages == nr:
        max_pages = nr
    else:
        max_pages = group.unit_pages
        # the online sections of this unit: all in one zone kind, or the unit stays kernel
        u_lo = pfn - pfn % group.unit_pages
        for sec in range(u_lo // m.pps, (u_lo + group.unit_pages) // m.pps):
            if sec >= m.secs.size or not m.secs.online[sec]:
                continue
            if m.zone_of_pfn(sec * m.pps).idx != ZONE_MOVABLE:
                return kernel()
            online += m.pps
    need = max_pages - online
    if not auto_movable_can_online_movable(m, None, group, need):
        return kernel()
    if m.config.auto_movable_numa_aware and not auto_movable_can_online_movable(m, nid, group, need):
        return kernel()
    return m.zones[(nid, ZONE_MOVABLE)]
