"""drivers/dax/kmem.c and the dax bus's memmap_on_memory attribute: device-dax as System RAM.

This is how persistent memory and CXL memory become RAM (`daxctl reconfigure-device
--mode=system-ram`): the dax device's range is aligned to memory blocks, a static memory
group is registered for it, its region is requested under the device's name, and
add_memory_driver_managed() adds it as "System RAM (kmem)". kmem passes
MHP_NID_IS_MGID, and from 6.8 also MHP_MEMMAP_ON_MEMORY when the device's
memmap_on_memory attribute (default 0) was set before binding.
"""

from __future__ import annotations

from .errors import OpFailed
from . import memory_group as mg
from . import memory_hotplug as mh


def dax_kmem_range(m, start: int, size: int) -> tuple[int, int]:
    """dax_kmem_range(): the device range shrunk to whole memory blocks, [start, end)."""
    bs = m.block_size
    return -(-start // bs) * bs, (start + size) // bs * bs


def dax_device_name(m) -> str:
    """The next free daxN.0 name (one region per device in this model)."""
    used = {r.owner for r in m.res.values() if r.via == "kmem"}
    n = 0
    while f"dax{n}.0" in used:
        n += 1
    return f"dax{n}.0"


def memmap_on_memory_store(m, tx, dev: str, value: bool) -> None:
    """memmap_on_memory_store() (drivers/dax/bus.c, 6.8+): refuses 1 when the core cannot."""
    if not m.profile.kmem_memmap_attr:
        raise OpFailed("ENOENT", f"/sys/bus/dax/devices/{dev}/memmap_on_memory does not exist in "
                       f"profile {m.profile.name}: kmem never asks for MHP_MEMMAP_ON_MEMORY before 6.8",
                       "drivers/dax/bus.c: the memmap_on_memory attribute arrived in 6.8")
    if value:
        ok, why = mh.mhp_supports_memmap_on_memory(m)
        if not ok:
            raise OpFailed("EOPNOTSUPP", f"{dev}: memmap_on_memory is not available ({why})",
                           "memmap_on_memory_store: val && !mhp_supports_memmap_on_memory()")
    tx.call("memmap_on_memory_store", f"{dev}, {int(value)}", "ok")


def dev_dax_kmem_probe(m, tx, start: int, size: int, nid: int, memmap_on_memory: bool) -> None:
    """dev_dax_kmem_probe(): align, group, request the region, add it driver-managed."""
    dev = dax_device_name(m)
    end = start + size
    if memmap_on_memory:
        memmap_on_memory_store(m, tx, dev, True)
    tx.call("dev_dax_kmem_probe", f"{dev} [{start:#x}-{end - 1:#x}], target_node={nid}")
    with tx.nest():
        if nid not in m.nodes:
            tx.log(f"dax_kmem {dev}: rejecting DAX region with invalid node: {nid}")
            raise OpFailed("EINVAL", f"target node {nid} does not exist",
                           "dev_dax_kmem_probe: numa_node < 0 (no such node)")
        a, b = dax_kmem_range(m, start, size)
        if a >= b:
            tx.log(f"dax_kmem {dev}: mapping0: {start:#x}-{end - 1:#x} too small after alignment")
            tx.log(f"dax_kmem {dev}: rejecting DAX region without any memory after alignment")
            raise OpFailed("EINVAL", f"[{start:#x}-{end - 1:#x}] holds no whole memory block "
                           f"({m.block_size:#x} bytes)", "dev_dax_kmem_probe: total_len == 0 after "
                           "dax_kmem_range() aligned every range to memory_block_size_bytes()")
        if (a, b) != (start, end):
            tx.call("dax_kmem_range", f"[{start:#x}-{end - 1:#x}]",
                    f"[{a:#x}-{b - 1:#x}] (aligned to memory blocks; the rest is not added)")
        mgid = -1
        if m.profile.has_memory_groups:
            mgid = mg.memory_group_register_static(m, tx, nid, (b - a) >> m.page_shift, owner="kmem")
        if mh._overlaps(m, a >> m.page_shift, b >> m.page_shift):
            tx.log(f"dax_kmem {dev}: mapping0: {a:#x}-{b - 1:#x} could not reserve region")
            raise OpFailed("EBUSY", f"[{a:#x}-{b - 1:#x}] is already claimed in iomem",
                           "dev_dax_kmem_probe: request_mem_region() failed")
        tx.call("request_mem_region", f"{a:#x}, {b - a:#x}, \"{dev}\"",
                "IORESOURCE_SYSTEM_RAM (not busy, so add_memory can nest below it)")
        flags = (mg.MHP_NID_IS_MGID,) if mgid >= 0 else ()
        try:
            mh.add_memory(m, tx, a, b - a, mgid if mgid >= 0 else nid, "kmem", mhp_flags=flags,
                          memmap_flag=memmap_on_memory, owner=dev)
        except OpFailed:
            tx.log(f"dax_kmem {dev}: mapping0: {a:#x}-{b - 1:#x} memory add failed")
            raise
