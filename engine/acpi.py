"""drivers/acpi/acpi_memhotplug.c and scan.c: what plugging and ejecting a DIMM does."""

from __future__ import annotations

from .errors import KernelBug, OpFailed
from . import memory_hotplug as mh
from .memory_block import memory_block_offline, memory_block_online


def acpi_memory_device_without_driver(m, tx, start: int, size: int, nid: int) -> None:
    """A DIMM plug on a kernel built without CONFIG_ACPI_HOTPLUG_MEMORY (Debian's arm64).

    ACPI enumerates the PNP0C80 device, but no driver claims it: acpi_memory_enable_device()
    never runs, so nothing is added, no memory block appears and nothing fails.
    """
    tx.call("acpi_bus_scan", f"PNP0C80 [{start:#x}-{start + size - 1:#x}], node {nid}",
            "memory device enumerated")
    tx.call("acpi_bus_attach", "PNP0C80", "no driver bound: CONFIG_ACPI_HOTPLUG_MEMORY is not set, "
            "so the memory is not added (dax/kmem and virtio-mem are the hotplug paths here)")


def acpi_eject(m, tx, start: int, size: int) -> None:
    """acpi_scan_hot_remove(): offline every block of the DIMM (two passes), then remove it.

    If a block cannot be offlined the blocks taken offline are put back online with
    device_online(), i.e. with online_type MMOP_ONLINE (memory_subsys_online resets it after
    every online): they come back in whatever zone the online policy picks now.
    """
    ps = m.page_shift
    lo, hi = start >> ps, (start + size) >> ps
    dimm = [r for r in m.res.values() if r.start_pfn == lo and r.end_pfn == hi and r.via == "acpi"]
    if not dimm:
        raise OpFailed("ENODEV", f"no ACPI memory device (DIMM) spans exactly [{start:#x}-{start + size - 1:#x}]",
                       "acpi_scan_hot_remove: no PNP0C80 device for that range")
    blocks = list(range(lo // m.ppb, hi // m.ppb))
    tx.call("acpi_scan_try_to_offline", f"PNP0C80 [{start:#x}-{start + size - 1:#x}], {len(blocks)} blocks")
    put_online: list[int] = []
    errors: dict[int, OpFailed] = {}
    with tx.nest():
        # first pass: errors are ignored, a later block may hold what an earlier one needs
        for b in blocks:
            m.tick("offline_pages")
            if not m.blks.online[b]:
                continue
            try:
                _offline_one(m, tx, b)
                put_online.append(b)
            except OpFailed as e:
                errors[b] = e.with_traceback(None)     # kept without its frames: no cycle
                tx.call("acpi_bus_offline", f"memory{b}", f"-{e.errno} (first pass, ignored)")
        if errors:
            # second pass: retry the ones that failed; a failure now is final
            for b in blocks:
                if b in put_online or not m.blks.online[b]:
                    continue
                try:
                    _offline_one(m, tx, b)
                    put_online.append(b)
                except OpFailed as e:
                    tx.log(f"memory memory{b}: Offline failed.")
                    tx.call("acpi_bus_offline", f"memory{b}", f"-{e.errno} (second pass): giving up")
                    for ob in sorted(put_online):
                        try:
                            tx.call("acpi_bus_online", f"memory{ob}", "device_online() with MMOP_ONLINE")
                            memory_block_online(m, tx, ob, "online")
                        except OpFailed as e2:
                            tx.call("acpi_bus_online", f"memory{ob}", f"-{e2.errno}: stays offline")
                    if put_online:
                        tx.left_behind.append(
                            f"blocks {', '.join(map(str, sorted(put_online)))} were offlined and put back "
                            f"online with online_type 'online' (zone chosen anew by the policy)")
                    raise OpFailed("EBUSY", f"memory block {b} could not be offlined ({e.errno}: {e.message})",
                                   f"acpi_scan_try_to_offline: second pass failed on memory{b}: {e.check}") from None
        tx.call("acpi_memory_remove_memory", f"[{start:#x}-{start + size - 1:#x}]")
        with tx.nest():
            try:
                mh.try_remove_memory(m, tx, start, size, caller="__remove_memory")
            except KernelBug:
                raise
            except OpFailed as e:
                # __remove_memory(): "if (try_remove_memory(start, size)) BUG();"
                tx.log("------------[ cut here ]------------")
                tx.log("kernel BUG at mm/memory_hotplug.c!")
                raise KernelBug("mm/memory_hotplug.c", "__remove_memory: BUG() because "
                                f"try_remove_memory() failed (-{e.errno}): {e.check}", e.message) from None


def _offline_one(m, tx, b: int) -> None:
    """device_offline(memoryN); failures inside are rolled back per block by the kernel."""
    mark = tx.mark()
    left = len(tx.left_behind)
    try:
        tx.call("device_offline", f"memory{b}")
        with tx.nest():
            memory_block_offline(m, tx, b)
    except OpFailed:
        # offline_pages() restores the block as it was (except pages it already migrated)
        if len(tx.left_behind) == left:
            tx.rollback_to(mark)
        raise

