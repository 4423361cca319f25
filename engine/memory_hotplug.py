"""mm/memory_hotplug.c: adding and removing memory, onlining and offlining pfn ranges."""

from __future__ import annotations

import numpy as np

from . import states as S
from .errors import KernelBug, OpFailed
from .arch import arch_get_mappable_range
from .model import ZONE_MOVABLE, ZONE_NORMAL, Resource, VmemAltmap, Zone
from . import batch_add, batch_remove, linear_map, sparse
from .fault_inject import should_fail

# callers that register a static memory group for the whole device (MHP_NID_IS_MGID)
STATIC_GROUP_VIAS = ("acpi", "kmem")


# ==========================================================================================
# memmap on memory: is it possible, how many pages
# ==========================================================================================
def memory_block_memmap_size(m) -> int:
    """memory_block_memmap_size(): bytes of struct pages for one memory block."""
    return m.ppb * m.struct_page_size


def memory_block_memmap_on_memory_pages(m) -> int:
    """memory_block_memmap_on_memory_pages(): memmap pages per block, padded in force mode."""
    nr = -(-memory_block_memmap_size(m) // m.page_size)
    if m.memmap_mode == "force":
        pb = m.pageblock_pages
        nr = -(-nr // pb) * pb
    return nr


def mhp_supports_memmap_on_memory(m, size: int | None = None) -> tuple[bool, str]:
    """mhp_supports_memmap_on_memory(): can this add keep its memmap on itself? (and why not)"""
    p = m.profile
    if m.memmap_mode == "off":
        return False, "memory_hotplug.memmap_on_memory is off"
    vmemmap_size = memory_block_memmap_size(m)
    if p.memmap_rule == "rfc":
        return True, "the RFC always uses the added range"
    if p.memmap_rule in ("block-size", "fallback") and size is not None and size != m.block_size:
        return False, (f"size {size:#x} is not exactly one memory block ({m.block_size:#x}); "
                       f"profile {p.name} supports single-block adds only")
    if p.memmap_rule == "block-size":
        # 5.13-6.5: whole PMDs of vmemmap, pageblock-aligned remainder
        if vmemmap_size % m.arch.pmd_size:
            return False, (f"vmemmap of a block is {vmemmap_size} bytes, not a multiple of "
                           f"PMD_SIZE ({m.arch.pmd_size})")
        remaining = m.block_size - vmemmap_size
        if remaining % (m.pageblock_pages * m.page_size):
            return False, ("the memory left after the vmemmap is not a multiple of the "
                           f"pageblock ({m.pageblock_pages} pages)")
        return True, "supported"
    memmap_pages = memory_block_memmap_on_memory_pages(m)
    if vmemmap_size % m.page_size:
        return False, f"vmemmap of a block ({vmemmap_size} bytes) is not page-aligned"
    if memmap_pages % m.pageblock_pages:
        return False, (f"{memmap_pages} memmap pages are not pageblock-aligned "
                       f"({m.pageblock_pages} pages); \"force\" would pad them")
    if memmap_pages == m.ppb:
        return False, "the memmap would fill the whole block (no effective hotplugged memory)"
    if not m.arch.arch_supports_memmap_on_memory(vmemmap_size):
        return False, (f"arch_supports_memmap_on_memory({vmemmap_size}) is false on {m.arch.name} "
                       f"(needs whole PMDs of {m.arch.pmd_size} bytes)")
    return True, "supported"


# ==========================================================================================
# hot add
# ==========================================================================================
def _overlaps(m, lo: int, hi: int) -> str | None:
    for nd in m.nodes.values():
        for a, b in nd.boot_ranges:
            if a < hi and lo < b:
                return "boot System RAM"
    hit = m.res.overlapping(lo, hi)
    if hit:
        a, b = hit[0].start_pfn, hit[0].end_pfn
        return f"System RAM [{a << m.page_shift:#x}-{(b << m.page_shift) - 1:#x}]"
    return None


def register_memory_resource(m, tx, start: int, size: int, name: str) -> None:
    """register_memory_resource(): range allowed, then claim it in /proc/iomem."""
    end = start + size
    lo_ok, hi_ok = mhp_get_pluggable_range(m)
    if not (start < end and start >= lo_ok and end - 1 <= hi_ok):
        tx.log(f"Hotplug memory [{start:#x}-{end:#x}] exceeds maximum addressable range [{lo_ok:#x}-{hi_ok:#x}]")
        raise OpFailed("E2BIG", f"[{start:#x}-{end:#x}] is outside the pluggable range "
                       f"[{lo_ok:#x}-{hi_ok:#x}]" + ("" if m.arch.family != "arm64" else
                                                     " (the arm64 linear map covers only that)"),
                       "mhp_range_allowed: outside mhp_get_pluggable_range()")
    who = _overlaps(m, start >> m.page_shift, -(-end >> m.page_shift))
    if who:
        tx.debug(f"Unable to reserve System RAM region: {start:016x}->{end:016x}")
        raise OpFailed("EEXIST", f"[{start:#x}-{end - 1:#x}] overlaps {who}",
                       "register_memory_resource: __request_region conflicts in iomem")
    flags = "IORESOURCE_SYSTEM_RAM | IORESOURCE_BUSY" + (
        "" if name == "System RAM" else " | IORESOURCE_SYSRAM_DRIVER_MANAGED")
    tx.call("register_memory_resource", f"{start:#x}, {size:#x}, \"{name}\"", flags)


def mhp_get_pluggable_range(m) -> tuple[int, int]:
    """mhp_get_pluggable_range(need_mapping=true): arch_get_mappable_range() within MAX_PHYSMEM_BITS."""
    max_phys = (1 << m.arch.phys_bits) - 1
    ram_start = min((lo for nd in m.nodes.values() for lo, _ in nd.boot_ranges), default=0) << m.page_shift
    lo, hi = arch_get_mappable_range(m.arch, ram_start)
    if lo > max_phys:
        return 0, 0
    return lo, min(hi, max_phys)


def check_hotplug_memory_range(m, tx, start: int, size: int) -> None:
    """check_hotplug_memory_range(): non-zero, block-aligned start and size."""
    bs = m.block_size
    if not size or start % bs or size % bs:
        tx.log(f"Block size [{bs:#x}] unaligned hotplug range: start {start:#x}, size {size:#x}")
        raise OpFailed("EINVAL", f"start {start:#x} / size {size:#x} not aligned to the "
                       f"{bs:#x}-byte memory block", "check_hotplug_memory_range: block size unaligned")


def auto_start(m, size: int) -> int:
    """Where QEMU would put a new DIMM: the first free gap in the device memory region,
    which starts 1 GiB-aligned above boot memory and at or above 4 GiB (on x86).

    We also align to the memory block, so an automatic placement is a plug Linux can use.
    """
    ps = m.page_shift
    boot_end = max((hi for nd in m.nodes.values() for _, hi in nd.boot_ranges), default=0) << ps
    base = max(boot_end, 4 << 30 if m.arch.name == "x86_64" else 0)
    align = max(m.block_size, 1 << 30)
    base = -(-base // align) * align
    # virtio-mem devices hold their whole region in QEMU's device memory: skip over them
    from .virtio_mem import device_regions
    regions = device_regions(m)
    while True:
        cur = m.res.first_fit(base, size, m.block_size, ps)
        clash = next((end for begin, end, _ in regions if begin < cur + size and cur < end), None)
        if clash is None:
            return cur
        base = clash


# who refuses a zero-sized device, per `via` (the caller of add_memory). A generic driver is
# not listed: add_memory_driver_managed() calls register_memory_resource() first, whose
# mhp_range_allowed() (start < end) answers E2BIG before check_hotplug_memory_range() runs
EMPTY_DEVICE_CHECK = {
    "acpi": "acpi_memory_enable_device: total_length == 0 (\"device is empty\")",
    "kmem": "dev_dax_kmem_probe: no range left after alignment (\"rejecting DAX region without any memory\")",
    "dlpar": "dlpar_memory: the request counts LMBs",
}


def add_memory(m, tx, start: int, size: int, nid: int, via: str, mhp_flags: tuple[str, ...] = (),
               name: str | None = None, memmap_flag: bool = False, owner: str = "") -> None:
    """__add_memory() / add_memory_driver_managed() -> add_memory_resource(): all or nothing.

    via: "acpi" (a DIMM), "kmem" (dax/kmem), "dlpar" (pseries), "driver" (a generic caller
    that always asks for MHP_MEMMAP_ON_MEMORY), "virtio_mem" or "probe" (the sysfs probe
    file, MHP_NONE). With MHP_NID_IS_MGID in mhp_flags, nid is a memory group id (the group's node is used). Without it, an ACPI or
    dax/kmem add registers its static memory group first, as those drivers do (5.15+).
    `memmap_flag` is what kmem passes for MHP_MEMMAP_ON_MEMORY (its device attribute);
    `owner` is the parent resource a driver requested first ("dax0.0" for kmem).
    """
    from . import memory_group as mg
    if name is None:
        name = "System RAM" if via in ("acpi", "dlpar", "probe") else "System RAM (kmem)"
    caller = {"acpi": "acpi_memory_enable_device", "dlpar": "__add_memory",
              "probe": "probe_store"}.get(via, "add_memory_driver_managed")
    if not size and via in EMPTY_DEVICE_CHECK:
        # these drivers never call add_memory for nothing: they refuse an empty device first
        # (a generic driver reaching register_memory_resource gets its E2BIG)
        raise OpFailed("EINVAL", "an empty memory device (size 0) cannot be added",
                       EMPTY_DEVICE_CHECK[via])
    static_group = m.profile.has_memory_groups and via in STATIC_GROUP_VIAS
    flags = [mg.MHP_NID_IS_MGID] if (mg.MHP_NID_IS_MGID in mhp_flags or static_group) else []
    if via == "driver" or (via == "kmem" and memmap_flag):
        flags.append("MHP_MEMMAP_ON_MEMORY")
    tx.call(caller, f"start={start:#x}, size={size:#x}, " +
            (f"mgid={nid}" if mg.MHP_NID_IS_MGID in mhp_flags else f"node={nid}") +
            (f", {' | '.join(flags)}" if flags else ""))
    with tx.nest():
        mgid = -1
        if mg.MHP_NID_IS_MGID in mhp_flags:
            mgid = nid
        elif static_group and nid in m.nodes:
            mgid = mg.memory_group_register_static(m, tx, nid, size >> m.page_shift, owner=via)
        try:
            register_memory_resource(m, tx, start, size, name)
            tx.call("add_memory_resource", f"nid={nid}, [{start:#x}-{start + size - 1:#x}]")
            with tx.nest():
                check_hotplug_memory_range(m, tx, start, size)
                if mgid >= 0:
                    group = mg.memory_group_find_by_id(m, mgid)
                    if group is None:
                        raise OpFailed("EINVAL", f"there is no memory group {mgid}",
                                       "add_memory_resource: MHP_NID_IS_MGID and memory_group_find_by_id() is NULL")
                    nid = group.nid
                if nid not in m.nodes:
                    tx.log(f"WARNING: node {nid} was absent from the node_possible_map")
                    raise OpFailed("EINVAL", f"node {nid} does not exist", "node_possible(nid) is false")
                _add_memory_resource(m, tx, start, size, nid, via, mgid, memmap_flag, owner)
        except OpFailed as e:
            if via == "acpi":
                acpi_add_memory_failed(m, tx, e)
            raise


def acpi_add_memory_failed(m, tx, e: OpFailed) -> None:
    """drivers/acpi/acpi_memhotplug.c acpi_memory_enable_device(): what the driver does with
    an error of __add_memory() for its only range.

    -EEXIST means "already used by the kernel": the range still counts as enabled, its
    existing blocks are bound to the device and the driver attaches (returns 0). Any other
    error skips the range; with no range enabled the driver reports "add_memory failed" and
    acpi_memory_device_add() fails with -EINVAL, leaving the device without a driver.
    """
    dev = f"acpi PNP0C80:{_acpi_instance(m):02x}"
    if e.errno == "EEXIST":
        tx.call("acpi_memory_enable_device", "__add_memory() -> -EEXIST",
                "counted as enabled: acpi_bind_memory_blocks(), device attached (0); nothing added")
        return
    tx.log(f"{dev}: add_memory failed")
    tx.log(f"{dev}: acpi_memory_enable_device() error")
    tx.call("acpi_memory_enable_device", f"__add_memory() -> -{e.errno}",
            "num_enabled == 0: -EINVAL, the PNP0C80 device stays without a driver")


def _acpi_instance(m) -> int:
    """The ACPI instance number of a new DIMM: QEMU enumerates them in plug order."""
    return len({r.group for r in m.res.values() if r.via == "acpi"})


def _memmap_plan(m, tx, size: int, via: str, memmap_flag: bool = False) -> str:
    """Which placement the profile picks: "rfc", "single", "per-block" or "buddy"."""
    p = m.profile
    if via == "probe":
        # ARCH_MEMORY_PROBE's probe_store() calls __add_memory(..., MHP_NONE): never self-hosted
        return "buddy"
    ok, why = mhp_supports_memmap_on_memory(m, size)
    if p.memmap_rule == "rfc":
        return "rfc" if ok else "buddy"
    if via == "virtio_mem":
        # virtio_mem_add_memory() passes MHP_MERGE_RESOURCE only, never MHP_MEMMAP_ON_MEMORY
        tx.call("add_memory_driver_managed", "MHP_MERGE_RESOURCE | MHP_NID_IS_MGID",
                "no MHP_MEMMAP_ON_MEMORY: the memmap comes from existing memory")
        return "buddy"
    if via == "kmem" and not memmap_flag:
        # dax/kmem passes MHP_NID_IS_MGID only: the memmap comes from the buddy
        tx.call("add_memory_driver_managed", "MHP_NID_IS_MGID", "no MHP_MEMMAP_ON_MEMORY: memmap from the buddy")
        return "buddy"
    tx.call("mhp_supports_memmap_on_memory", f"{size:#x}" if p.memmap_rule != "per-block" else "",
            "true" if ok else f"false: {why}")
    # the ACPI driver and pseries DLPAR ask only when the core says yes; a generic driver
    # (and kmem with its attribute set) always asks
    flag = ok if via in ("acpi", "dlpar") else True
    if not flag:
        return "buddy"
    if not ok:
        if p.memmap_rule == "block-size":
            raise OpFailed("EINVAL", f"MHP_MEMMAP_ON_MEMORY requested but unsupported: {why}",
                           f"add_memory_resource: mhp_supports_memmap_on_memory() is false ({why})")
        tx.call("add_memory_resource", "MHP_MEMMAP_ON_MEMORY", "unsupported: falling back to the buddy")
        return "buddy"
    # 6.6 keeps a per-block altmap (mem->altmap) too; it only refuses multi-block adds
    return "per-block" if p.memmap_rule in ("per-block", "fallback") else "single"


def _add_memory_resource(m, tx, start: int, size: int, nid: int, via: str, mgid: int = -1,
                         memmap_flag: bool = False, owner: str = "") -> None:
    ps = m.page_shift
    lo, hi = start >> ps, (start + size) >> ps
    node = m.nodes[nid]
    new_node = not node.online
    if not m.arch.name.startswith("x86"):
        # CONFIG_ARCH_KEEP_MEMBLOCK (arm64, powerpc): memblock learns the range first
        tx.call("memblock_add_node", f"{start:#x}, {size:#x}, nid={nid}",
                "MEMBLOCK_DRIVER_MANAGED" if via != "acpi" else "MEMBLOCK_NONE")
    if new_node:
        # the node's pgdat exists from here; node_set_online() itself comes after the
        # memory block devices (the model marks it online now so allocations see it)
        tx.set(node, "online", True)
        tx.call("__try_online_node", f"{nid}, set_node_online=false", "new node: pgdat initialised")
        if m.profile.new_node_online_early:
            tx.call("node_set_online", f"{nid}")
            tx.call("register_node", f"{nid}")
    plan = _memmap_plan(m, tx, size, via, memmap_flag)
    m.blks.ensure(hi // m.ppb + 1, tx.journal)
    # resources are named by their first pfn, so nothing is left counting after a removal
    rid = lo
    memmap_kind = {"rfc": "altmap-range", "single": "altmap-range", "per-block": "altmap-block",
                   "buddy": "buddy"}[plan]
    try:
        if plan == "per-block":
            create_altmaps_and_memory_blocks(m, tx, nid, lo, hi, rid, mgid)
        else:
            altmap = None
            if plan in ("rfc", "single"):
                altmap = VmemAltmap(lo, hi - 1, hi - lo)
                if m.profile.memmap_rule == "fallback" and should_fail(tx, "altmap"):
                    # 6.6: params.altmap = kmemdup(...) fails before anything was added
                    raise OpFailed("ENOMEM", "kmemdup() of the vmem_altmap failed",
                                   "add_memory_resource: params.altmap = kmemdup() returned NULL")
            arch_add_memory(m, tx, nid, lo, hi, altmap, rfc=(plan == "rfc"))
            nr_vmemmap = altmap.alloc + altmap.align if (altmap is not None and plan == "single") else 0
            try:
                create_memory_block_devices(m, tx, nid, lo, hi, rid, nr_vmemmap, mgid)
            except OpFailed:
                # error path: arch_remove_memory(start, size, params.altmap), then release
                tx.call("add_memory_resource", "create_memory_block_devices failed",
                        "arch_remove_memory(start, size, params.altmap)")
                if altmap is not None and plan == "single":
                    tx.journal.dict_set(m.altmaps, lo // m.ppb, altmap)
                arch_remove_memory(m, tx, lo, hi)
                raise
            if plan == "single":
                # 5.13-6.5 kept only nr_vmemmap_pages; removal rebuilt an altmap from it
                keep = VmemAltmap(lo, hi - 1, altmap.free)
                keep.alloc, keep.align = altmap.alloc, altmap.align
                tx.journal.dict_set(m.altmaps, lo // m.ppb, keep)
    except OpFailed:
        # the error path sets a new node offline again; without leftovers the journal does it
        if new_node and tx.left_behind:
            tx.set(node, "online", False)
            tx.call("node_set_offline", f"{nid}", "error path")
        raise
    tx.journal.dict_set(m.res, rid, Resource(rid, lo, hi, nid, via, memmap_kind, lo, owner))
    if new_node and not m.profile.new_node_online_early:
        tx.call("node_set_online", f"{nid}")
        tx.call("__register_one_node", f"{nid}")
    tx.call("register_memory_blocks_under_node", f"nid={nid}, pfn {lo:#x}-{hi - 1:#x}")
    if via in ("acpi", "dlpar", "probe"):
        # only a resource named "System RAM" gets a firmware map entry (not driver-managed)
        tx.call("firmware_map_add_hotplug", f"{start:#x}-{start + size:#x}", "System RAM")
    tx.call("add_memory_resource", "", "0")
    # auto-online, with the type in auto_online_blocks; failures are not the add's failure
    if m.auto_online != "offline":
        from .memory_block import device_online_block
        for b in range(lo // m.ppb, hi // m.ppb):
            m.tick("online_pages")
            mark = tx.mark()
            try:
                device_online_block(m, tx, b, m.auto_online, sub=True)
            except OpFailed as e:
                # memory_block_online()'s own error path undoes the block's partial online
                tx.rollback_to(mark)
                tx.call("online_memory_block", f"memory{b}", f"-{e.errno}: {e.message} (ignored)")


def create_altmaps_and_memory_blocks(m, tx, nid: int, lo: int, hi: int, rid: int, mgid: int = -1) -> None:
    """create_altmaps_and_memory_blocks() (6.8+): one altmap and one arch_add_memory per block."""
    free = memory_block_memmap_on_memory_pages(m)
    done: list[int] = []
    b_lo = lo
    while b_lo < hi:
        # runs of identical blocks are added in batches, with the same effect as this loop
        batched = batch_add.add_uniform_blocks(m, tx, nid, b_lo, hi, rid, mgid, free, done)
        if batched:
            b_lo += batched * m.ppb
            continue
        b_hi = b_lo + m.ppb
        altmap = VmemAltmap(b_lo, b_hi - 1, free)
        tx.call("create_altmaps_and_memory_blocks",
                f"block {b_lo // m.ppb}: altmap base_pfn={b_lo:#x} free={free}")
        try:
            if should_fail(tx, "altmap"):
                raise OpFailed("ENOMEM", f"kmemdup() of the vmem_altmap of block {b_lo // m.ppb} failed",
                               "create_altmaps_and_memory_blocks: params.altmap = kmemdup() returned NULL")
            arch_add_memory(m, tx, nid, b_lo, b_hi, altmap)
        except OpFailed:
            # remove_memory_blocks_and_altmaps() for the blocks already complete;
            # the failing block's earlier sections stay (arch_add_memory has no rollback)
            for d_lo in done:
                remove_block_and_altmap(m, tx, d_lo)
            raise
        tx.journal.dict_set(m.altmaps, b_lo // m.ppb, altmap)
        pad_lo = altmap.base_pfn + altmap.reserve + altmap.alloc + altmap.align
        pad_hi = altmap.base_pfn + altmap.reserve + altmap.free
        if pad_hi > pad_lo:
            # force mode: the rest of the pageblock after the memmap is wasted
            m.store.set_range(pad_lo, pad_hi, S.MEMMAP_PAD, tx.journal)
            tx.call("memory_block_memmap_on_memory_pages", "", f"{altmap.free} (force: {pad_hi - pad_lo} pages of padding)")
        try:
            create_memory_block_devices(m, tx, nid, b_lo, b_hi, rid, altmap.free, mgid)
        except OpFailed:
            if m.profile.block_devices_error_null_altmap:
                # arch_remove_memory(cur_start, memblock_size, NULL): without the altmap the
                # self-hosted memmap pages go to free_pages() instead of vmem_altmap_free()
                n_self = altmap.alloc
                tx.journal.dict_del(m.altmaps, b_lo // m.ppb)
                tx.call("create_altmaps_and_memory_blocks", f"block {b_lo // m.ppb}: create_memory_block_devices failed",
                        f"arch_remove_memory(cur_start, memblock_size, NULL): {n_self} altmap pages of the "
                        f"range handed to free_pages() (the buddy now holds pages of unplugged memory)")
            else:
                tx.call("create_altmaps_and_memory_blocks", f"block {b_lo // m.ppb}: create_memory_block_devices failed",
                        "arch_remove_memory(cur_start, memblock_size, params.altmap); altmap_free()")
            arch_remove_memory(m, tx, b_lo, b_hi)
            if b_lo // m.ppb in m.altmaps:
                tx.journal.dict_del(m.altmaps, b_lo // m.ppb)
            for d_lo in done:
                remove_block_and_altmap(m, tx, d_lo)
            raise
        done.append(b_lo)
        b_lo = b_hi


def remove_block_and_altmap(m, tx, b_lo: int, devices: bool = True) -> None:
    b = b_lo // m.ppb
    altmap = m.altmaps.get(b)
    if devices:
        remove_memory_block_devices(m, tx, b_lo, b_lo + m.ppb)
    arch_remove_memory(m, tx, b_lo, b_lo + m.ppb)
    if altmap is not None:
        if altmap.alloc:
            tx.log("WARNING: Altmap not fully unmapped")
        tx.journal.dict_del(m.altmaps, b)


def arch_add_memory(m, tx, nid: int, lo: int, hi: int, altmap, rfc: bool = False) -> None:
    """arch_add_memory() -> __add_pages(): sparse_add_section() per section, no rollback."""
    tx.call("arch_add_memory", f"nid={nid}, [{lo << m.page_shift:#x}-{(hi << m.page_shift) - 1:#x}]"
            + (f", altmap(base_pfn={altmap.base_pfn:#x}, free={altmap.free})" if altmap else ""))
    added = []
    with tx.nest():
        # arm64: the linear map first (__create_pgd_mapping), undone if __add_pages fails
        linear_map.arch_add_linear_mapping(m, tx, lo << m.page_shift, hi << m.page_shift)
        s0, s1 = lo // m.pps, hi // m.pps
        sec = s0
        while sec < s1:
            if altmap is None:
                # runs of sections with the memmap from the buddy go in batches, to the same effect
                batched = batch_add.add_buddy_sections(m, tx, nid, sec, s1)
                if batched:
                    added.extend(range(sec, sec + batched))
                    sec += batched
                    continue
            m.tick("sparse_add_section", sec - s0, s1 - s0)
            try:
                sparse.sparse_add_section(m, tx, nid, sec, altmap)
            except OpFailed:
                linear_map.arch_remove_linear_mapping(m, tx, lo << m.page_shift, hi << m.page_shift)
                if added:
                    a, b = added[0] * m.pps, (added[-1] + 1) * m.pps
                    tx.left_behind.append(
                        f"sections {added[0]}-{added[-1]} (pfn {a:#x}-{b - 1:#x}) stay present with their "
                        f"memmap: __add_pages() does not undo the sections it added")
                if m.arch.name.startswith("x86"):
                    # x86 add_pages(): WARN_ON_ONCE(ret), once per boot
                    tx.log_once(m.printed_once, "x86-add_pages",
                                "WARNING: CPU: 0 PID: 1 at arch/x86/mm/init_64.c add_pages")
                raise
            added.append(sec)
            if rfc and altmap is not None:
                # flush_alloc_pfns -> mark_vmemmap_pages, then the v2 "rewind"
                tx.add(altmap, "base_pfn", altmap.alloc)
                tx.set(altmap, "alloc", 0)
            sec += 1


def create_memory_block_devices(m, tx, nid: int, lo: int, hi: int, rid: int, nr_vmemmap: int,
                                mgid: int = -1) -> None:
    """create_memory_block_devices(): memoryN devices, created offline, on their group's list."""
    b0, b1 = lo // m.ppb, hi // m.ppb
    bl = m.blks
    row = {"exists": True, "online": False, "node": nid, "zone": -1, "res": rid,
           "nr_vmemmap": nr_vmemmap, "boot": False, "group": mgid}
    one_by_one = b0
    if "memory_block_devices" not in tx.faults:
        # nothing can fail: every device at once, as the loop below would leave them
        bl.set_rows(b0, b1, row, tx.journal)
        one_by_one = b1
    for b in range(one_by_one, b1):
        if should_fail(tx, "memory_block_devices"):
            # init_memory_block() failed: the blocks created so far are removed again
            tx.call("init_memory_block", f"memory{b}", "-ENOMEM")
            if b > b0:
                remove_memory_block_devices(m, tx, lo, b * m.ppb)
            raise OpFailed("ENOMEM", f"creating the memory block device memory{b} failed",
                           "create_memory_block_devices: init_memory_block() returned -ENOMEM")
        bl.set_row(b, row, tx.journal)
    tx.created_blocks.extend(range(b0, b1))
    tx.call("create_memory_block_devices", f"memory{b0}" + (f"..memory{b1 - 1}" if b1 - b0 > 1 else ""),
            f"offline, nr_vmemmap_pages={nr_vmemmap}")


def remove_memory_block_devices(m, tx, lo: int, hi: int) -> None:
    b0, b1 = lo // m.ppb, hi // m.ppb
    bl = m.blks
    tx.journal.array_set(bl.exists, slice(b0, b1), False)
    tx.journal.array_set(bl.res, slice(b0, b1), -1)
    tx.journal.array_set(bl.node, slice(b0, b1), -1)
    tx.journal.array_set(bl.nr_vmemmap, slice(b0, b1), 0)
    tx.journal.array_set(bl.group, slice(b0, b1), -1)
    tx.call("remove_memory_block_devices", f"memory{b0}" + (f"..memory{b1 - 1}" if b1 - b0 > 1 else ""))


def arch_remove_memory(m, tx, lo: int, hi: int) -> None:
    """arch_remove_memory() -> __remove_pages(): every section goes, with its memmap."""
    tx.call("arch_remove_memory", f"[{lo << m.page_shift:#x}-{(hi << m.page_shift) - 1:#x}]")
    with tx.nest():
        s0, s1 = lo // m.pps, hi // m.pps
        for sec in range(s0, s1):
            m.tick("sparse_remove_section", sec - s0, s1 - s0)
            if m.secs.present[sec]:
                sparse.sparse_remove_section(m, tx, sec)
        linear_map.arch_remove_linear_mapping(m, tx, lo << m.page_shift, hi << m.page_shift)


# ==========================================================================================
# zones
# ==========================================================================================
def default_kernel_zone_for_pfn(m, nid: int, pfn: int, nr: int) -> Zone:
    """default_kernel_zone_for_pfn(): the first of DMA/DMA32 that intersects, else Normal."""
    for zidx in range(ZONE_NORMAL):
        z = m.zones[(nid, zidx)]
        if z.intersects(pfn, nr):
            return z
    return m.zones[(nid, ZONE_NORMAL)]


def default_zone_for_pfn(m, nid: int, pfn: int, nr: int) -> Zone:
    """default_zone_for_pfn() (contig-zones): keep zones contiguous where possible."""
    kernel = default_kernel_zone_for_pfn(m, nid, pfn, nr)
    movable = m.zones[(nid, ZONE_MOVABLE)]
    in_kernel = kernel.intersects(pfn, nr)
    in_movable = movable.intersects(pfn, nr)
    if in_kernel ^ in_movable:
        return kernel if in_kernel else movable
    return movable if m.config.movable_node else kernel


def zone_for_pfn_range(m, online_type: str, nid: int, pfn: int, nr: int) -> Zone:
    """zone_for_pfn_range(): the zone an online of this type would use (the block's memory
    group, mem->group, feeds the auto-movable policy)."""
    if online_type == "online_kernel":
        return default_kernel_zone_for_pfn(m, nid, pfn, nr)
    if online_type == "online_movable":
        return m.zones[(nid, ZONE_MOVABLE)]
    if m.online_policy == "auto-movable":
        from . import memory_group as mg
        return mg.auto_movable_zone_for_pfn(m, nid, mg.group_of_pfn(m, pfn), pfn, nr)
    return default_zone_for_pfn(m, nid, pfn, nr)


def move_pfn_range_to_zone(m, tx, z: Zone, lo: int, nr: int) -> None:
    """move_pfn_range_to_zone(): grow the zone span over the range."""
    hi = lo + nr
    if z.is_empty():
        tx.set(z, "start_pfn", lo)
        tx.set(z, "end_pfn", hi)
    else:
        tx.set(z, "start_pfn", min(z.start_pfn, lo))
        tx.set(z, "end_pfn", max(z.end_pfn, hi))


def remove_pfn_range_from_zone(m, tx, z: Zone, lo: int, nr: int) -> None:
    """remove_pfn_range_from_zone() -> shrink_zone_span(): trim the span at its edges.

    Called once the range's block is no longer online in z. A range strictly inside the
    span leaves it alone (a hole); at an edge the kernel walks to the nearest online
    section still in the zone, which is the min/max of what remains.
    """
    hi = lo + nr
    if z.start_pfn < lo and hi < z.end_pfn:
        return
    # common case: a neighbouring block of the same zone is still online, the edge moves to it
    b = m.blks
    nxt, prv = hi // m.ppb, lo // m.ppb - 1
    def same_zone(blk):
        return 0 <= blk < b.size and b.online[blk] and b.zone[blk] == z.idx and \
            b.node[blk] == z.node and not b.boot[blk]
    if lo == z.start_pfn and hi < z.end_pfn and same_zone(nxt):
        tx.set(z, "start_pfn", hi)
        return
    if hi == z.end_pfn and lo > z.start_pfn and same_zone(prv):
        tx.set(z, "end_pfn", lo)
        return
    first, last = m.zone_extent(z)
    tx.set(z, "start_pfn", first)
    tx.set(z, "end_pfn", last)


def try_remove_memory(m, tx, start: int, size: int, caller: str = "remove_memory") -> None:
    """try_remove_memory(): all blocks offline, granularity per profile, then tear down."""
    ps = m.page_shift
    tx.call(caller, f"{start:#x}, {size:#x}")
    with tx.nest():
        try:
            check_hotplug_memory_range(m, tx, start, size)
        except OpFailed as e:
            # every version: BUG_ON(check_hotplug_memory_range(start, size)), not an errno
            tx.log("------------[ cut here ]------------")
            tx.log("kernel BUG at mm/memory_hotplug.c!")
            tx.log("invalid opcode: 0000 [#1] PREEMPT SMP NOPTI")
            tx.log("RIP: 0010:try_remove_memory")
            raise KernelBug("mm/memory_hotplug.c", "try_remove_memory: BUG_ON(check_hotplug_memory_range("
                            "start, size)): " + e.check, e.message) from None
        lo, hi = start >> ps, (start + size) >> ps
        blocks = range(lo // m.ppb, hi // m.ppb)
        missing, boot = _first_missing_or_boot(m, blocks)
        if not boot and _stale_resource_only(m, lo, hi):
            _remove_stale_range(m, tx, lo, hi)
            return
        if missing is not None or boot:
            raise OpFailed("EINVAL", f"[{start:#x}-{start + size - 1:#x}] is not hot-added memory"
                           + (f" (no memory block {missing})" if missing is not None else " (boot memory)"),
                           "remove_memory: only ranges added with add_memory can be removed")
        for b in blocks:
            if m.blks.online[b]:
                blo, bhi = m.block_range(b)
                tx.log(f"removing memory fails, because memory [{_pa(blo << ps)}-{_pa((bhi << ps) - 1)}] is onlined")
                raise OpFailed("EBUSY", f"memory block {b} is online: offline it first",
                               "try_remove_memory: check_memblock_offlined_cb found an online block")
        rule = m.profile.removal_rule
        with_vmemmap = [b for b in blocks if m.blks.nr_vmemmap[b] or _rfc_selfhosted(m, b)]
        per_block = False
        if rule == "whole-add":
            rids = {int(m.blks.res[b]) for b in blocks}
            for rid in rids:
                r = m.res[rid]
                if r.memmap == "altmap-range" and (r.start_pfn < lo or r.end_pfn > hi):
                    raise OpFailed("EINVAL", "the memmap of this add is packed at its start: "
                                   "remove the whole added range at once",
                                   "rfc-2017: the self-hosted range is removed as a whole")
        elif rule == "single-block":
            if m.memmap_mode != "off" and with_vmemmap and size != m.block_size:
                tx.log(f"Refuse to remove {start:#x} - {start + size:#x},wrong granularity")
                raise OpFailed("EINVAL", f"blocks with vmemmap pages must be removed one block "
                               f"({m.block_size:#x} bytes) at a time",
                               "try_remove_memory: nr_vmemmap_pages set and size != memory_block_size_bytes(): wrong granularity")
        else:
            n_alt = sum(1 for b in blocks if b in m.altmaps)
            if m.memmap_mode != "off" and n_alt:
                if n_alt != len(blocks):
                    tx.log_once(m.printed_once, "memory_blocks_have_altmaps",
                                "WARNING: memory_blocks_have_altmaps: some blocks have altmaps, some do not")
                    raise OpFailed("EINVAL", f"{n_alt} of {len(blocks)} blocks carry their own memmap: "
                                   "a mixed range cannot be removed in one call",
                                   "memory_blocks_have_altmaps: WARN_ON_ONCE(num_memblocks != num_altmaps)")
                per_block = True
        tx.call("memory_blocks_have_altmaps" if rule == "altmap-blocks" else "try_remove_memory",
                "", "per-block removal" if per_block else "one removal")
        mgids = {int(m.blks.group[b]) for b in blocks} - {-1}
        if per_block:
            # remove_memory_blocks_and_altmaps(): per block; the devices go in one sweep
            remove_memory_block_devices(m, tx, lo, hi)
            b = blocks.start
            while b < blocks.stop:
                # runs of identical blocks go in batches, with the same effect as one by one
                batched = batch_remove.remove_uniform_blocks(m, tx, b, blocks.stop)
                if batched:
                    b += batched
                    continue
                remove_block_and_altmap(m, tx, b * m.ppb, devices=False)
                b += 1
        else:
            remove_memory_block_devices(m, tx, lo, hi)
            arch_remove_memory(m, tx, lo, hi)
            for b in blocks:
                if b in m.altmaps:
                    tx.journal.dict_del(m.altmaps, b)
        _release_resources(m, tx, lo, hi)
        try_offline_node(m, tx)
        _unregister_emptied_groups(m, tx, mgids)


def _unregister_emptied_groups(m, tx, mgids) -> None:
    """The ACPI and dax/kmem drivers unregister their static group once its memory is gone."""
    from . import memory_group as mg
    for mgid in sorted(mgids):
        g = m.groups.get(mgid)
        if g is not None and g.owner in STATIC_GROUP_VIAS and not mg.group_blocks(m, mgid):
            mg.memory_group_unregister(m, tx, mgid)


def _first_missing_or_boot(m, blocks: range) -> tuple[int | None, bool]:
    """The first block of the range that does not exist, and whether any is a boot block;
    vectorised and bounded by the blocks that exist, so a range of petabytes costs nothing."""
    b0, b1 = blocks.start, blocks.stop
    known = max(b0, min(b1, m.blks.size))
    exists = m.blks.exists[b0:known]
    holes = np.flatnonzero(~exists)
    if len(holes):
        return b0 + int(holes[0]), False
    if known < b1:
        return known, False
    return None, bool(m.blks.boot[b0:b1].any())


def _stale_resource_only(m, lo: int, hi: int) -> bool:
    """A range with no memory block and no present section left, but still claimed by a
    "System RAM" entry that an earlier spanning removal could not release."""
    r = m.res.containing(lo)
    if r is None or not (r.start_pfn <= lo and hi <= r.end_pfn):
        return False
    b0, b1 = lo // m.ppb, hi // m.ppb
    s0, s1 = lo // m.pps, min(hi // m.pps, m.secs.size)
    no_blocks = not (b0 < m.blks.size and m.blks.exists[b0:min(b1, m.blks.size)].any())
    return no_blocks and not (s0 < s1 and m.secs.present[s0:s1].any())


def _remove_stale_range(m, tx, lo: int, hi: int) -> None:
    """try_remove_memory() over a range whose memory is already gone: no block is online (there
    are none), remove_memory_block_devices() and __remove_pages() find nothing and
    WARN_ON_ONCE (find_memory_block_by_id() NULL, !valid_section()), and
    release_mem_region_adjustable() now finds the stale entry holding the range: released."""
    tx.call("remove_memory_block_devices", f"pfn {lo:#x}-{hi - 1:#x}", "no memory block: WARN_ON_ONCE(!mem)")
    tx.log_once(m.printed_once, "remove_memory_block_devices",
                "WARNING: CPU: 0 PID: 1 at drivers/base/memory.c remove_memory_block_devices")
    tx.call("arch_remove_memory", f"pfn {lo:#x}-{hi - 1:#x}", "no valid section: WARN_ON_ONCE(!valid_section(ms))")
    tx.log_once(m.printed_once, "sparse_remove_section",
                "WARNING: CPU: 0 PID: 1 at mm/sparse.c sparse_remove_section")
    _release_resources(m, tx, lo, hi)


def _rfc_selfhosted(m, b: int) -> bool:
    if m.profile.memmap_rule != "rfc":
        return False
    lo, hi = m.block_range(b)
    return bool(m.store.counts(lo, hi)[S.MEMMAP_SELF])


def _pa(addr: int) -> str:
    """printk %pa of a 64-bit phys_addr_t: 0x and 16 zero-padded hex digits."""
    return f"0x{addr:016x}"


def _release_resources(m, tx, lo: int, hi: int) -> None:
    """release_mem_region_adjustable(): trim or split the one resource holding the range.

    The kernel walks the iomem siblings for a busy resource that contains the whole range
    and adjusts only that one (free, trim the start, trim the end, or split in two). A
    removal that spans several resources finds none: nothing is released, silently, and
    the stale entries keep claiming the range (a later add there meets -EEXIST).
    """
    ps = m.page_shift
    overlapping = list(m.res.overlapping(lo, hi))
    holder = [r for r in overlapping if r.start_pfn <= lo and hi <= r.end_pfn]
    if not holder:
        tx.call("release_mem_region_adjustable", f"{lo << ps:#x}, {(hi - lo) << ps:#x}",
                "no single busy resource contains the range: nothing released; stale: " +
                ", ".join(f"[{r.start_pfn << ps:#x}-{(r.end_pfn << ps) - 1:#x}]" for r in overlapping))
        return
    for r in holder[:1]:
        rid = r.start_pfn
        tx.journal.dict_del(m.res, rid)
        pieces = []
        if r.start_pfn < lo:
            pieces.append((r.start_pfn, lo))
        if hi < r.end_pfn:
            pieces.append((hi, r.end_pfn))
        for i, (a, b) in enumerate(pieces):
            nid = a
            tx.journal.dict_set(m.res, nid, Resource(nid, a, b, r.node, r.via, r.memmap, r.group, r.owner))
            for blk in range(a // m.ppb, b // m.ppb):
                m.blks.set("res", blk, nid, tx.journal)
        how = {0: "freed", 1: "trimmed", 2: "split in two"}[len(pieces)]
        tx.call("release_mem_region_adjustable", f"{lo << ps:#x}, {(hi - lo) << ps:#x}",
                f"[{r.start_pfn << ps:#x}-{(r.end_pfn << ps) - 1:#x}] {how}")


def try_offline_node(m, tx) -> None:
    """try_offline_node(): a node without present sections (and no CPUs) goes offline."""
    n = m.secs.size
    for nid, node in m.nodes.items():
        if node.online and not node.boot_memory and not np.any(m.secs.present[:n] & (m.secs.node[:n] == nid)):
            tx.set(node, "online", False)
            tx.call("try_offline_node", f"{nid}", "node offline")


def adjust_present_page_count(m, tx, z: Zone, nr: int, early: bool = False, pfn: int | None = None) -> None:
    """adjust_present_page_count(): zone and node present pages, and the memory group's
    present kernel/movable pages (the group of the block at pfn)."""
    from . import memory_group as mg
    tx.add(z, "present", nr)
    if early:
        tx.add(z, "present_early", nr)
    if pfn is not None:
        mg.account_group(tx, mg.group_of_pfn(m, pfn), z, nr)
