"""arch/powerpc/platforms/pseries/hotplug-memory.c: DLPAR memory add and remove in LMBs.

On a pseries LPAR the hypervisor hands memory over in LMBs (logical memory blocks, the
memory block size). dlpar_add_lmb() adds one LMB with __add_memory() (no memory group;
MHP_MEMMAP_ON_MEMORY only when mhp_supports_memmap_on_memory(), 6.6+) and then onlines
it itself with device_online() (MMOP_ONLINE: the zone the online policy picks). A request
for several LMBs is one LMB at a time; if not all can be added, the ones added are removed
again, and a failed removal is undone by adding the removed LMBs back. LMB k's classic
memmap is allocated after LMB k-1 went online, so it may sit in LMB k-1 and pin it.
"""

from __future__ import annotations

from .acpi import _offline_one
from .errors import OpFailed
from . import memory_hotplug as mh
from .memory_block import device_online_block

DRC_INDEX_BASE = 0x80000000     # LMB DRC indexes as QEMU's pseries machine numbers them


def _drc(m, addr: int) -> int:
    return DRC_INDEX_BASE + addr // m.block_size


def _require_pseries(m) -> None:
    if m.arch.family != "ppc64":
        raise OpFailed("ENODEV", f"DLPAR is a pseries (PowerVM/QEMU pseries) interface; {m.arch.name} has none",
                       "dlpar_memory: no pseries platform")


def _assigned(m, addr: int) -> bool:
    """DRCONF_MEM_ASSIGNED: the LMB holds memory now (boot memory or an earlier add); the
    region of a virtio-mem device is never an LMB of this LPAR either."""
    from .virtio_mem import device_regions
    lo = addr >> m.page_shift
    if any(a <= addr < b for a, b, _ in device_regions(m)):
        return True
    return mh._overlaps(m, lo, lo + m.ppb) is not None


def _first_online_node(m) -> int:
    return min(nid for nid, nd in m.nodes.items() if nd.online)


def dlpar_add_lmb(m, tx, addr: int, nid: int) -> None:
    """dlpar_add_lmb(): __add_memory() the LMB, then dlpar_online_lmb(); undo the add if that fails."""
    lmb = m.block_size
    if nid not in m.nodes:
        # of_drconf_to_nid_single() gave no possible node: "Fake one if necessary"
        nid = _first_online_node(m)
    tx.call("dlpar_add_lmb", f"drc index {_drc(m, addr):#x} [{addr:#x}-{addr + lmb - 1:#x}], node {nid}")
    with tx.nest():
        mh.add_memory(m, tx, addr, lmb, nid, "dlpar")
        b = addr // m.block_size
        try:
            tx.call("dlpar_online_lmb", f"memory{b}", "device_online(): MMOP_ONLINE, zone by the online policy")
            with tx.nest():
                device_online_block(m, tx, b, "online")
        except OpFailed:
            mh.try_remove_memory(m, tx, addr, lmb, caller="__remove_memory")
            raise


def dlpar_remove_lmb(m, tx, addr: int) -> None:
    """dlpar_remove_lmb(): device_offline() the LMB's block, then __remove_memory()."""
    lmb = m.block_size
    b = addr // m.block_size
    tx.call("dlpar_remove_lmb", f"drc index {_drc(m, addr):#x} [{addr:#x}-{addr + lmb - 1:#x}]")
    with tx.nest():
        if m.blks.online[b]:
            _offline_one(m, tx, b)
        mh.try_remove_memory(m, tx, addr, lmb, caller="__remove_memory")


def _attempt(m, tx, fn, *args) -> OpFailed | None:
    """Run one LMB step; a failure the kernel fully undoes leaves no trace but its events."""
    mark, left = len(tx.journal), len(tx.left_behind)
    try:
        fn(m, tx, *args)
    except OpFailed as e:
        if len(tx.left_behind) == left:
            tx.rollback_to(mark)
        return e.with_traceback(None)      # kept without its frames: no reference cycle
    return None


def _lmb_candidates(m, start: int | None, n: int) -> list[int]:
    lmb = m.block_size
    if start is not None:
        return [start + i * lmb for i in range(n)]
    # by count: the first unassigned LMBs above boot memory, in drmem (address) order;
    # the LMB table is modelled as the request plus a few spares
    boot_end = max((hi for nd in m.nodes.values() for _, hi in nd.boot_ranges), default=0) << m.page_shift
    addr = -(-boot_end // lmb) * lmb
    out: list[int] = []
    limit = 1 << m.arch.phys_bits
    while len(out) < n + 8 and addr + lmb <= limit:
        if not _assigned(m, addr):
            out.append(addr)
        addr += lmb
    return out


def dlpar_memory_add(m, tx, start: int, size: int, nid: int, by_index: bool) -> None:
    """dlpar_memory_add_by_count() / _by_ic(): add size/LMB LMBs, all of them or none."""
    _require_pseries(m)
    lmb = m.block_size
    if size <= 0 or size % lmb:
        raise OpFailed("EINVAL", f"size {size:#x} is not a whole number of LMBs ({lmb:#x} bytes)",
                       "dlpar_memory: the request counts LMBs")
    n = size // lmb
    if by_index and (start % lmb or start + size > 1 << m.arch.phys_bits):
        raise OpFailed("EINVAL", f"[{start:#x}, +{size:#x}) is not a range of LMBs this LPAR has",
                       "get_lmb_range: no such drc index, or the range runs past the last LMB")
    cands = _lmb_candidates(m, start if by_index else None, n)
    if by_index:
        tx.log(f"pseries-hotplug-mem: Attempting to hot-add {n} LMB(s) at index {_drc(m, start):x}")
    else:
        tx.log(f"pseries-hotplug-mem: Attempting to hot-add {n} LMB(s)")
    added: list[int] = []
    for addr in cands:
        if _assigned(m, addr):
            continue            # DRCONF_MEM_ASSIGNED: skipped
        err = _attempt(m, tx, dlpar_add_lmb, addr, nid)
        if err is None:
            added.append(addr)  # drmem_mark_lmb_reserved()
            if len(added) == n:
                break
        elif by_index:
            break               # by index: the first failure ends the request
    if len(added) == n:
        for addr in added:
            tx.log(f"pseries-hotplug-mem: Memory at {addr:x} (drc index {_drc(m, addr):x}) was hot-added")
        return
    tx.log("pseries-hotplug-mem: Memory indexed-count-add failed, removing any added LMBs" if by_index
           else "pseries-hotplug-mem: Memory hot-add failed, removing any added LMBs")
    stuck = []
    for addr in added:
        if _attempt(m, tx, dlpar_remove_lmb, addr) is not None:
            tx.log(f"pseries-hotplug-mem: Failed to remove LMB, drc index {_drc(m, addr):x}")
            stuck.append(addr)
    if stuck:
        tx.left_behind.append("LMBs " + ", ".join(f"{a:#x}" for a in stuck) + " could not be removed "
                              "again and stay added and online")
    raise OpFailed("EINVAL", f"only {len(added)} of {n} LMB(s) could be added; the rest were removed again"
                   + (f" except {len(stuck)}" if stuck else ""),
                   "dlpar_memory_add: lmbs_reserved != lmbs_to_add, rollback")


def dlpar_memory_remove_by_ic(m, tx, start: int, size: int) -> None:
    """dlpar_memory_remove_by_ic(): remove a range of LMBs; on a failure add back what went."""
    _require_pseries(m)
    lmb = m.block_size
    if size <= 0 or size % lmb or start % lmb:
        raise OpFailed("EINVAL", f"[{start:#x}, +{size:#x}) is not a whole range of LMBs", "get_lmb_range")
    n = size // lmb
    tx.log(f"pseries-hotplug-mem: Attempting to hot-remove {n} LMB(s) at {_drc(m, start):x}")
    removed: list[tuple[int, int]] = []
    failed = None
    for addr in (start + i * lmb for i in range(n)):
        lo = addr >> m.page_shift
        r = next((r for r in m.res.values() if r.start_pfn <= lo < r.end_pfn), None)
        if r is None:
            if _assigned(m, addr):
                failed = OpFailed("EINVAL", f"LMB {addr:#x} is boot memory (not modelled for DLPAR removal)",
                                  "dlpar_remove_lmb: boot LMBs are not removed in this model")
                break
            continue            # !ASSIGNED: nothing to do for this LMB
        err = _attempt(m, tx, dlpar_remove_lmb, addr)
        if err is not None:
            failed = err
            break
        removed.append((addr, r.node))
    if failed is None:
        for addr, _ in removed:
            tx.log(f"pseries-hotplug-mem: Memory at {addr:x} (drc index {_drc(m, addr):x}) was hot-removed")
        return
    tx.log("pseries-hotplug-mem: Memory indexed-count-remove failed, adding any removed LMBs")
    back = 0
    for addr, nid in removed:
        if _attempt(m, tx, dlpar_add_lmb, addr, nid) is not None:
            tx.log(f"pseries-hotplug-mem: Failed to add LMB, drc index {_drc(m, addr):x}")
        else:
            back += 1
    if removed:
        tx.left_behind.append(f"{back} of {len(removed)} LMB(s) already removed were added back and "
                              "onlined again (zone chosen anew by the policy)")
    raise OpFailed("EINVAL", f"LMB removal failed ({failed.errno}: {failed.message}); removed LMBs added back",
                   f"dlpar_memory_remove_by_ic: {failed.check}")
