"""drivers/virtio/virtio_mem.c (and the host side of QEMU's virtio-mem-pci): memory that a
guest grows and shrinks at the host's request, in device blocks.

The driver adds memory with add_memory_driver_managed(mgid, ..., MHP_MERGE_RESOURCE |
MHP_NID_IS_MGID) and never with MHP_MEMMAP_ON_MEMORY: in 6.1, 6.12 and the newest source
the memmap of every block it adds comes from memory the guest already has. (A 2021 RFC,
"virtio-mem: support memmap_on_memory", was never merged.)

Two modes, chosen by virtio_mem_init_hotplug():
* Sub Block Mode (SBM): the subblock (max(device block, pageblock)) is smaller than a
  memory block. Memory blocks are added one at a time; only plugged subblocks reach the
  buddy, the rest are kept back by the online page callback (state "unplugged").
* Big Block Mode (BBM): a big block (max(device block, memory block)) spans one or more
  memory blocks and is plugged, added and removed as a whole.

The engine has no clock: the driver's work runs when something queues it (a resize, a
removal that freed memory, an online that leaves room under the offline threshold), and
its retry timer fires on `tick` steps.

Driver state that the kernel keeps in mb_states/bb_states is derived here from the memory
blocks themselves (offline/online, zone) and the plugged-subblock bitmaps, so the two can
never disagree.
"""

from __future__ import annotations

import numpy as np

from . import states as S
from .config import virtio_mem_default_block_size
from .errors import ConfigError, OpFailed, errno_number
from .memory_group import MHP_NID_IS_MGID, memory_group_register_dynamic
from .model import ZONE_MOVABLE
from .tx import Tx

RESOURCE_NAME = "System RAM (virtio_mem)"
VIRTIO_MEM_RETRY_TIMER_MIN_MS = 50000
VIRTIO_MEM_RETRY_TIMER_MAX_MS = 300000
VIRTIO_MEM_DEFAULT_OFFLINE_THRESHOLD = 1 << 30
WORK_RUN_LIMIT = 64          # a guard of ours: the work queue never runs away

# SBM memory block states (enum virtio_mem_sbm_mb_state)
MB_UNUSED, MB_PLUGGED, MB_OFFLINE, MB_OFFLINE_PARTIAL = "unused", "plugged", "offline", "offline_partial"
MB_KERNEL, MB_KERNEL_PARTIAL = "kernel", "kernel_partial"
MB_MOVABLE, MB_MOVABLE_PARTIAL = "movable", "movable_partial"
# BBM big block states (enum virtio_mem_bbm_bb_state)
BB_UNUSED, BB_ADDED, BB_FAKE_OFFLINE = "unused", "added", "fake_offline"

# pages alloc_contig_range() cannot take: isolation or migration fails on them
_CONTIG_BUSY = (S.BOOT_RESERVED, S.MEMMAP_OTHER, S.PAGETABLE, S.UNMOVABLE, S.PINNED,
                S.MEMMAP_SELF, S.MEMMAP_PAD, S.HOLE, S.ABSENT, S.OFFLINE)


def usable_extent(arch) -> int:
    """QEMU VIRTIO_MEM_USABLE_EXTENT: how far the usable region may run past requested-size
    (two x86 sections; two 512M arm64 sections; two sections elsewhere, our assumption)."""
    if arch.name == "x86_64":
        return 256 << 20
    if arch.name.startswith("arm64"):
        return 1 << 30
    return 2 * arch.section_size


class VirtioMem:
    """struct virtio_mem, plus what the QEMU device holds (region, requested size)."""

    __slots__ = ("id", "name", "nid", "addr", "region_size", "device_block_size", "in_sbm",
                 "sb_size", "sbs_per_mb", "bb_size", "first_id", "next_id", "mgid",
                 "requested_size", "plugged_size", "usable_region_size", "offline_threshold",
                 "sb_states", "bb_states", "retry_timer_ms", "timer_due_ms", "broken",
                 "config_changed", "wq_queued", "wq_active", "last_rc", "have_unplugged_mb")

    def as_dict(self) -> dict:
        return {k: (dict(sorted(getattr(self, k).items())) if k in ("sb_states", "bb_states")
                    else getattr(self, k)) for k in self.__slots__}


# ==========================================================================================
# probe: QEMU places the device, the driver chooses its mode
# ==========================================================================================
def device_memory_base(boot_end: int, arch, block_size: int) -> int:
    """QEMU's device memory region: 1 GiB-aligned above boot memory (and above 4 GiB on x86)."""
    base = max(boot_end, 4 << 30 if arch.name == "x86_64" else 0)
    align = max(block_size, 1 << 30)
    return -(-base // align) * align


def place_devices(arch, boot: list[tuple[int, int]], cfgs, block_size: int) -> dict[str, int]:
    """memory_device_get_free_addr(): explicit addresses first, then first fit in order.

    `boot` is the boot RAM as byte ranges; raises ConfigError (one line) for a device that
    overlaps it or another device, or does not fit in the physical address space."""
    taken: list[tuple[int, int, str]] = []
    out: dict[str, int] = {}
    top = 1 << arch.phys_bits
    for c in cfgs:
        if c.addr is None:
            continue
        lo, hi = c.addr, c.addr + c.size
        for a, b in boot:
            if a < hi and lo < b:
                raise ConfigError(f"machine.virtio_mem {c.id!r}: [{lo:#x}-{hi - 1:#x}] overlaps boot RAM")
        for a, b, who in taken:
            if a < hi and lo < b:
                raise ConfigError(f"machine.virtio_mem {c.id!r}: address range conflicts with "
                                  f"memory device {who!r}")
        if hi > top:
            raise ConfigError(f"machine.virtio_mem {c.id!r}: beyond the {arch.phys_bits}-bit "
                              f"physical address space")
        taken.append((lo, hi, c.id))
        out[c.id] = lo
    base = device_memory_base(max((hi for _, hi in boot), default=0), arch, block_size)
    for c in cfgs:
        if c.addr is not None:
            continue
        align = c.block_size or virtio_mem_default_block_size(arch)
        at = -(-base // align) * align
        for a, b, _ in sorted(taken):
            if at < b and a < at + c.size:
                at = -(-b // align) * align
        if at + c.size > top:
            raise ConfigError(f"machine.virtio_mem {c.id!r}: no room for {c.size:#x} bytes in the "
                              f"device memory region")
        taken.append((at, at + c.size, c.id))
        out[c.id] = at
    return out


def probe_devices(m) -> None:
    """virtio_mem_probe() for every [[machine.virtio_mem]], in order; their initial
    requested-size is plugged right away (the probe queues a config update)."""
    cfgs = m.config.virtio_mem
    if not cfgs:
        return
    ps = m.page_shift
    boot = [(lo << ps, hi << ps) for nd in m.nodes.values() for lo, hi in nd.boot_ranges]
    where = place_devices(m.arch, boot, cfgs, m.block_size)
    for i, c in enumerate(cfgs):
        vm = VirtioMem()
        vm.id, vm.name, vm.nid = c.id, f"virtio{i}", c.node
        vm.addr, vm.region_size = where[c.id], c.size
        vm.device_block_size = c.block_size or virtio_mem_default_block_size(m.arch)
        vm.requested_size = c.requested_size
        vm.plugged_size = 0
        vm.usable_region_size = min(vm.region_size, c.requested_size + usable_extent(m.arch))
        vm.sb_states, vm.bb_states = {}, {}
        vm.retry_timer_ms = VIRTIO_MEM_RETRY_TIMER_MIN_MS
        vm.timer_due_ms = None
        vm.broken = vm.wq_active = False
        vm.config_changed = vm.wq_queued = True
        vm.last_rc = 0
        vm.have_unplugged_mb = False
        virtio_mem_init_hotplug(m, vm)
        m.virtio_mem[vm.id] = vm
    # the boot-time plug is part of booting: not an operation, nothing to undo (its trail
    # is dropped with the transaction)
    run_queued_work(m, Tx())


def virtio_mem_init_hotplug(m, vm: VirtioMem) -> None:
    """virtio_mem_init_hotplug(): SBM if a subblock is smaller than a memory block, else BBM;
    the offline threshold; one dynamic memory group for the whole device."""
    mb = m.block_size
    vm.offline_threshold = max(2 * mb, VIRTIO_MEM_DEFAULT_OFFLINE_THRESHOLD)
    # alloc_contig_range() works reliably at pageblock granularity in ZONE_NORMAL
    sb_size = max(vm.device_block_size, m.pageblock_pages * m.page_size)
    vm.sb_size = vm.sbs_per_mb = vm.bb_size = 0
    if sb_size < mb:
        vm.in_sbm = True
        vm.sb_size = sb_size
        vm.sbs_per_mb = mb // sb_size
        vm.first_id = -(-vm.addr // mb)              # round up to a full memory block
        unit = mb
    else:
        vm.in_sbm = False
        vm.bb_size = max(vm.device_block_size, mb)
        vm.first_id = -(-vm.addr // vm.bb_size)
        vm.offline_threshold = max(2 * vm.bb_size, vm.offline_threshold)
        unit = vm.bb_size
    vm.next_id = vm.first_id
    vm.mgid = -1
    if m.profile.has_memory_groups:
        vm.mgid = memory_group_register_dynamic(m, None, vm.nid, unit >> m.page_shift,
                                                owner=f"virtio_mem {vm.id}")


def _unit(vm: VirtioMem, m) -> int:
    return m.block_size if vm.in_sbm else vm.bb_size


def last_usable_id(m, vm: VirtioMem) -> int:
    """virtio_mem_refresh_config(): the last memory/big block wholly inside the usable region."""
    end = vm.addr + vm.usable_region_size        # exclusive
    end = min(end, 1 << m.arch.phys_bits)
    return end // _unit(vm, m) - 1


# ==========================================================================================
# state of memory blocks (SBM) and big blocks (BBM)
# ==========================================================================================
def _full(vm: VirtioMem) -> int:
    return (1 << vm.sbs_per_mb) - 1


def sbm_get_mb_state(m, vm: VirtioMem, mb: int) -> str:
    """virtio_mem_sbm_get_mb_state(), derived from the block and the subblock bitmap."""
    mask = vm.sb_states.get(mb)
    if mask is None:
        return MB_UNUSED
    if not (mb < m.blks.size and m.blks.exists[mb]):
        return MB_PLUGGED
    partial = mask != _full(vm)
    if not m.blks.online[mb]:
        return MB_OFFLINE_PARTIAL if partial else MB_OFFLINE
    if m.blks.zone[mb] == ZONE_MOVABLE:
        return MB_MOVABLE_PARTIAL if partial else MB_MOVABLE
    return MB_KERNEL_PARTIAL if partial else MB_KERNEL


def bbm_get_bb_state(vm: VirtioMem, bb: int) -> str:
    return vm.bb_states.get(bb, BB_UNUSED)


def _sbm_for_each_mb(m, vm, states, reverse: bool = False):
    """virtio_mem_sbm_for_each_mb(_rev)(): ids whose state is one of `states` when visited."""
    states = (states,) if isinstance(states, str) else states
    ids = range(vm.next_id - 1, vm.first_id - 1, -1) if reverse else range(vm.first_id, vm.next_id)
    for mb in ids:
        if sbm_get_mb_state(m, vm, mb) in states:
            yield mb


def _state_passes(m, *passes):
    """The SBM passes over block states: before 5.16 kernel and movable blocks were one
    "online" class, so their passes merge."""
    if m.profile.virtio_mem_movable_first:
        return [(p,) if isinstance(p, str) else p for p in passes]
    merged: list[tuple[str, ...]] = []
    for p in passes:
        p = (p,) if isinstance(p, str) else p
        online = {MB_KERNEL: "online", MB_MOVABLE: "online", MB_KERNEL_PARTIAL: "online_partial",
                  MB_MOVABLE_PARTIAL: "online_partial"}
        key = {online.get(s, s) for s in p}
        if merged and {online.get(s, s) for s in merged[-1]} == key:
            merged[-1] = merged[-1] + p
        else:
            merged.append(p)
    return merged


def _bbm_for_each_bb(vm, state: str, reverse: bool = False):
    ids = range(vm.next_id - 1, vm.first_id - 1, -1) if reverse else range(vm.first_id, vm.next_id)
    for bb in ids:
        if bbm_get_bb_state(vm, bb) == state:
            yield bb


def _plugged(vm, mb: int, sb: int, count: int) -> bool:
    want = ((1 << count) - 1) << sb
    return (vm.sb_states.get(mb, 0) & want) == want


def _unplugged(vm, mb: int, sb: int, count: int) -> bool:
    want = ((1 << count) - 1) << sb
    return (vm.sb_states.get(mb, 0) & want) == 0


def _sb_pfns(m, vm, mb: int, sb: int, count: int) -> tuple[int, int]:
    lo = (mb * m.block_size + sb * vm.sb_size) >> m.page_shift
    return lo, lo + ((count * vm.sb_size) >> m.page_shift)


def offline_size(m, vm: VirtioMem) -> int:
    """vm->offline_size: added memory of this device that is not online."""
    unit = _unit(vm, m)
    lo_b = vm.first_id * unit // m.block_size
    hi_b = min(vm.next_id * unit // m.block_size, m.blks.size)
    if hi_b <= lo_b:
        return 0
    sel = m.blks.exists[lo_b:hi_b] & ~m.blks.online[lo_b:hi_b]
    return int(np.count_nonzero(sel)) * m.block_size


def virtio_mem_could_add_memory(m, vm: VirtioMem, size: int) -> bool:
    """virtio_mem_could_add_memory(): keep offline memory under the threshold (no OOM by
    memory nobody onlines)."""
    if size > vm.offline_threshold:
        return False
    return offline_size(m, vm) + size <= vm.offline_threshold


# ==========================================================================================
# host requests (QEMU always acknowledges what lies in the usable region)
# ==========================================================================================
def _send(m, tx, vm, kind: str, addr: int, size: int) -> None:
    """virtio_mem_send_plug_request() / virtio_mem_send_unplug_request()."""
    tx.call(f"virtio_mem_send_{kind}_request", f"{addr:#x}, {size:#x}", "VIRTIO_MEM_RESP_ACK")
    tx.set(vm, "plugged_size", vm.plugged_size + (size if kind == "plug" else -size))


def sbm_plug_sb(m, tx, vm, mb: int, sb: int, count: int) -> None:
    """virtio_mem_sbm_plug_sb(): ask the host, then mark the subblocks plugged."""
    _send(m, tx, vm, "plug", mb * m.block_size + sb * vm.sb_size, count * vm.sb_size)
    mask = vm.sb_states.get(mb, 0) | (((1 << count) - 1) << sb)
    tx.journal.dict_set(vm.sb_states, mb, mask)


def sbm_unplug_sb(m, tx, vm, mb: int, sb: int, count: int) -> None:
    """virtio_mem_sbm_unplug_sb()."""
    _send(m, tx, vm, "unplug", mb * m.block_size + sb * vm.sb_size, count * vm.sb_size)
    mask = vm.sb_states.get(mb, 0) & ~(((1 << count) - 1) << sb)
    tx.journal.dict_set(vm.sb_states, mb, mask)


# ==========================================================================================
# Linux side: adding, removing, fake-onlining and fake-offlining memory
# ==========================================================================================
def _rollback_to(tx, mark: int) -> None:
    tx.journal.rollback_to(mark)


def _attempt(tx, fn, *args):
    """Run fn; on OpFailed undo what it changed (unless the kernel leaves it) and return
    the errno name; None on success."""
    mark, left = len(tx.journal), len(tx.left_behind)
    try:
        fn(*args)
    except OpFailed as e:
        if len(tx.left_behind) == left:
            _rollback_to(tx, mark)
        # without its traceback: its frames (and the machine in them) would otherwise form a
        # reference cycle with the frame that holds the error
        return e.with_traceback(None)
    return None


def virtio_mem_add_memory(m, tx, vm, addr: int, size: int) -> str | None:
    """virtio_mem_add_memory(): add_memory_driver_managed() with the device's group;
    on failure the driver warns "adding memory failed: <rc>"."""
    from . import memory_hotplug as mh
    tx.call("virtio_mem_add_memory", f"{addr:#x} - {addr + size - 1:#x}")
    with tx.nest():
        mgid = vm.mgid if vm.mgid >= 0 else vm.nid
        flags = (MHP_NID_IS_MGID,) if vm.mgid >= 0 else ()
        e = _attempt(tx, lambda: mh.add_memory(m, tx, addr, size, mgid, "virtio_mem", flags,
                                               RESOURCE_NAME, owner=vm.name))
    if e is None:
        return None
    tx.log(f"virtio_mem {vm.name}: adding memory failed: -{errno_number(e.errno)}")
    tx.call("virtio_mem_add_memory", "", f"-{e.errno}: {e.message}")
    return e.errno


def _mark_unplugged(m, tx, vm, mb: int) -> None:
    """Unplugged subblocks of an added block hold no host memory: show them so."""
    mask = vm.sb_states.get(mb, 0)
    for sb in range(vm.sbs_per_mb):
        if not mask >> sb & 1:
            lo, hi = _sb_pfns(m, vm, mb, sb, 1)
            if m.store.code_at(lo) == S.OFFLINE:
                m.store.set_range(lo, hi, S.UNPLUGGED, tx.journal)


def virtio_mem_fake_online(m, tx, lo: int, hi: int) -> None:
    """virtio_mem_fake_online(): unplugged pages of an online block go to the buddy."""
    z = m.zone_of_pfn(lo)
    m.store.set_range(lo, hi, S.FREE, tx.journal)
    tx.add(z, "free", hi - lo)
    tx.add(z, "managed", hi - lo)          # generic_online_page / adjust_managed_page_count
    tx.call("virtio_mem_fake_online", f"pfn={lo:#x}, nr_pages={hi - lo}", f"{hi - lo} pages to the buddy")


def alloc_contig_range(m, tx, lo: int, hi: int) -> None:
    """alloc_contig_range(MIGRATE_MOVABLE): isolate, migrate what moves, take the range."""
    from . import page_alloc
    counts = m.store.counts(lo, hi)
    busy = sum(counts[c] for c in _CONTIG_BUSY)
    if busy:
        vals = m.store.get(lo, hi)
        first = int(np.flatnonzero(np.isin(vals, _CONTIG_BUSY))[0])
        raise OpFailed("EBUSY", f"{busy} page(s) in [{lo:#x}-{hi - 1:#x}] cannot be isolated or "
                       f"migrated (first: pfn {lo + first:#x}, {S.NAMES[int(vals[first])]})",
                       "alloc_contig_range: has_unmovable_pages() or migration failed: page busy")
    nid = int(m.secs.node[lo // m.pps])
    moved, failed = page_alloc.migrate_out(m, tx, lo, hi, nid, counts)
    if failed:
        raise OpFailed("ENOMEM", f"no free memory to migrate {failed} page(s) of [{lo:#x}-{hi - 1:#x}] to",
                       "alloc_contig_range: migration target allocation failed (-ENOMEM)")
    z = m.zone_of_pfn(lo)
    m.store.set_range(lo, hi, S.UNPLUGGED, tx.journal)
    tx.add(z, "free", -(hi - lo))
    tx.call("alloc_contig_range", f"[{lo:#x}-{hi - 1:#x}]", f"0 ({moved} pages migrated)" if moved else "0")


def virtio_mem_fake_offline(m, tx, lo: int, hi: int) -> None:
    """virtio_mem_fake_offline(): alloc_contig_range() (retried in ZONE_MOVABLE, once
    elsewhere), then PageOffline and out of the managed pages."""
    z = m.zone_of_pfn(lo)
    alloc_contig_range(m, tx, lo, hi)
    tx.add(z, "managed", -(hi - lo))
    tx.call("virtio_mem_fake_offline", f"pfn={lo:#x}, nr_pages={hi - lo}", "0")


def virtio_mem_online_page_cb(m, tx, lo: int, hi: int) -> bool:
    """virtio_mem_online_page_cb(): while a block is onlined, its unplugged subblocks are
    kept fake-offline (not freed to the buddy). True if it kept anything back."""
    devs = m.virtio_mem
    if not devs:
        return False
    for vm in devs.values():
        if not vm.in_sbm or not (vm.addr >> m.page_shift <= lo < (vm.addr + vm.region_size) >> m.page_shift):
            continue
        mb = lo // m.ppb
        before = m.store.counts(lo, hi)[S.UNPLUGGED]
        _mark_unplugged(m, tx, vm, mb)
        kept = m.store.counts(lo, hi)[S.UNPLUGGED]
        if kept:
            tx.call("virtio_mem_online_page_cb", f"memory{mb}",
                    f"{kept} pages of unplugged subblocks kept fake-offline (PageOffline)")
        return kept != before or bool(kept)
    return False


def virtio_mem_memory_notifier_cb(m, tx, action: str, start_pfn: int, nr_pages: int) -> int:
    """virtio_mem_memory_notifier_cb(): in SBM a block may only go online from the driver's
    OFFLINE(_PARTIAL) states ("memory block onlining denied"); MEM_ONLINE restarts adding
    once half the offline threshold is free again, unless the driver's own work onlined it."""
    for vm in m.virtio_mem.values():
        if not (vm.addr >> m.page_shift <= start_pfn < (vm.addr + vm.region_size) >> m.page_shift):
            continue
        mb = start_pfn // m.ppb
        if action == "MEM_GOING_ONLINE" and vm.in_sbm and \
                sbm_get_mb_state(m, vm, mb) not in (MB_OFFLINE, MB_OFFLINE_PARTIAL):
            tx.log(f"virtio_mem {vm.name}: memory block onlining denied")
            return -1                       # NOTIFY_BAD
        if action == "MEM_ONLINE" and not vm.wq_active:
            # vm->offline_size drops by this block here; our block row still reads offline
            offline = offline_size(m, vm) - (0 if m.blks.online[mb] else m.block_size)
            if offline + vm.offline_threshold // 2 <= vm.offline_threshold:
                virtio_mem_retry(m, tx, vm, "MEM_ONLINE: half the offline threshold is free")
        return 0
    return 0


def _offline_and_remove(m, tx, addr: int, size: int) -> None:
    """offline_and_remove_memory(): offline every block of the range, then remove it."""
    from . import memory_hotplug as mh
    from .memory_block import memory_block_offline
    tx.call("offline_and_remove_memory", f"{addr:#x}, {size:#x}")
    with tx.nest():
        for b in range(addr // m.block_size, (addr + size) // m.block_size):
            if m.blks.online[b]:
                tx.call("device_offline", f"memory{b}")
                with tx.nest():
                    memory_block_offline(m, tx, b)
        mh.try_remove_memory(m, tx, addr, size, caller="remove_memory")


def virtio_mem_offline_and_remove_memory(m, tx, vm, addr: int, size: int, offline: bool = True) -> str | None:
    """virtio_mem_(offline_and_)remove_memory(): on success, retry at once (we may have freed
    memory we can now unplug)."""
    from . import memory_hotplug as mh
    if offline:
        e = _attempt(tx, _offline_and_remove, m, tx, addr, size)
    else:
        e = _attempt(tx, mh.try_remove_memory, m, tx, addr, size)
    if e is not None:
        tx.call("virtio_mem_offline_and_remove_memory", f"{addr:#x}, {size:#x}", f"-{e.errno}: {e.message}")
        if not m.profile.virtio_mem_retry_removal:
            return e.errno
        # 6.5: unknown errors become -EBUSY (and WARN): retry later
        if e.errno not in ("ENOMEM", "EBUSY"):
            tx.log("WARNING: CPU: 0 PID: 0 at drivers/virtio/virtio_mem.c virtio_mem_offline_and_remove_memory")
        return "ENOMEM" if e.errno == "ENOMEM" else "EBUSY"
    virtio_mem_retry(m, tx, vm, "memory removed: retry immediately")
    return None


# ==========================================================================================
# plugging (SBM)
# ==========================================================================================
def sbm_plug_and_add_mb(m, tx, vm, mb: int, nb: list[int]) -> str | None:
    """virtio_mem_sbm_plug_and_add_mb(): plug the first subblocks, add the block; on failure
    unplug them again and leave the block unused."""
    count = min(nb[0], vm.sbs_per_mb)
    sbm_plug_sb(m, tx, vm, mb, 0, count)
    rc = virtio_mem_add_memory(m, tx, vm, mb * m.block_size, m.block_size)
    if rc:
        sbm_unplug_sb(m, tx, vm, mb, 0, count)
        tx.journal.dict_del(vm.sb_states, mb)
        return rc
    _mark_unplugged(m, tx, vm, mb)
    nb[0] -= count
    return None


def sbm_plug_any_sb(m, tx, vm, mb: int, nb: list[int]) -> None:
    """virtio_mem_sbm_plug_any_sb(): plug unplugged subblocks of an added block; an online
    block gets them as free pages (fake-online)."""
    online = bool(m.blks.online[mb])
    while nb[0]:
        mask = vm.sb_states[mb]
        sb = next((i for i in range(vm.sbs_per_mb) if not mask >> i & 1), vm.sbs_per_mb)
        if sb >= vm.sbs_per_mb:
            break
        count = 1
        while count < nb[0] and sb + count < vm.sbs_per_mb and not _plugged(vm, mb, sb + count, 1):
            count += 1
        sbm_plug_sb(m, tx, vm, mb, sb, count)
        nb[0] -= count
        lo, hi = _sb_pfns(m, vm, mb, sb, count)
        if online:
            virtio_mem_fake_online(m, tx, lo, hi)
        else:
            m.store.set_range(lo, hi, S.OFFLINE, tx.journal)


def sbm_plug_request(m, tx, vm, diff: int) -> str | None:
    """virtio_mem_sbm_plug_request(): fill partially plugged blocks (online ones first),
    then reuse unused blocks, then add new ones while under the offline threshold."""
    nb = [diff // vm.sb_size]
    if not nb[0]:
        return None
    for states in _state_passes(m, MB_KERNEL_PARTIAL, MB_MOVABLE_PARTIAL, MB_OFFLINE_PARTIAL):
        for mb in list(_sbm_for_each_mb(m, vm, states)):
            sbm_plug_any_sb(m, tx, vm, mb, nb)
            if not nb[0]:
                return None
    for mb in list(_sbm_for_each_mb(m, vm, MB_UNUSED)):
        if not virtio_mem_could_add_memory(m, vm, m.block_size):
            return "ENOSPC"
        rc = sbm_plug_and_add_mb(m, tx, vm, mb, nb)
        if rc or not nb[0]:
            return rc
    while nb[0]:
        if not virtio_mem_could_add_memory(m, vm, m.block_size):
            tx.call("virtio_mem_could_add_memory", f"{m.block_size:#x}",
                    f"false: {offline_size(m, vm):#x} offline already (threshold {vm.offline_threshold:#x})")
            return "ENOSPC"
        # virtio_mem_sbm_prepare_next_mb()
        if vm.next_id > last_usable_id(m, vm):
            return "ENOSPC"
        mb = vm.next_id
        tx.set(vm, "next_id", vm.next_id + 1)
        rc = sbm_plug_and_add_mb(m, tx, vm, mb, nb)
        if rc:
            return rc
    return None


# ==========================================================================================
# plugging (BBM)
# ==========================================================================================
def bbm_plug_and_add_bb(m, tx, vm, bb: int) -> str | None:
    """virtio_mem_bbm_plug_and_add_bb()."""
    _send(m, tx, vm, "plug", bb * vm.bb_size, vm.bb_size)
    tx.journal.dict_set(vm.bb_states, bb, BB_ADDED)
    rc = virtio_mem_add_memory(m, tx, vm, bb * vm.bb_size, vm.bb_size)
    if rc:
        _send(m, tx, vm, "unplug", bb * vm.bb_size, vm.bb_size)
        tx.journal.dict_del(vm.bb_states, bb)
    return rc


def bbm_plug_request(m, tx, vm, diff: int) -> str | None:
    """virtio_mem_bbm_plug_request()."""
    nb = diff // vm.bb_size
    if not nb:
        return None
    for bb in list(_bbm_for_each_bb(vm, BB_UNUSED)):
        if not virtio_mem_could_add_memory(m, vm, vm.bb_size):
            return "ENOSPC"
        rc = bbm_plug_and_add_bb(m, tx, vm, bb)
        if not rc:
            nb -= 1
        if rc or not nb:
            return rc
    while nb:
        if not virtio_mem_could_add_memory(m, vm, vm.bb_size):
            return "ENOSPC"
        if vm.next_id > last_usable_id(m, vm):
            return "ENOSPC"
        bb = vm.next_id
        tx.set(vm, "next_id", vm.next_id + 1)
        rc = bbm_plug_and_add_bb(m, tx, vm, bb)
        if rc:
            return rc
        nb -= 1
    return None


# ==========================================================================================
# unplugging (SBM)
# ==========================================================================================
def sbm_unplug_any_sb_raw(m, tx, vm, mb: int, nb: list[int]) -> None:
    """virtio_mem_sbm_unplug_any_sb_raw(): unplug from the top, runs of plugged subblocks."""
    sb = vm.sbs_per_mb - 1
    while nb[0]:
        while sb >= 0 and _unplugged(vm, mb, sb, 1):
            sb -= 1
        if sb < 0:
            break
        count = 1
        while count < nb[0] and sb > 0 and _plugged(vm, mb, sb - 1, 1):
            count += 1
            sb -= 1
        sbm_unplug_sb(m, tx, vm, mb, sb, count)
        lo, hi = _sb_pfns(m, vm, mb, sb, count)
        if m.blks.exists[mb]:
            m.store.set_range(lo, hi, S.UNPLUGGED, tx.journal)
        nb[0] -= count
        sb -= 1


def sbm_unplug_any_sb_offline(m, tx, vm, mb: int, nb: list[int]) -> str | None:
    """virtio_mem_sbm_unplug_any_sb_offline(): an offline block just unplugs; once empty it
    is removed (this never fails)."""
    sbm_unplug_any_sb_raw(m, tx, vm, mb, nb)
    if vm.sb_states[mb] == 0:
        tx.journal.dict_del(vm.sb_states, mb)
        rc = virtio_mem_offline_and_remove_memory(m, tx, vm, mb * m.block_size, m.block_size, offline=False)
        if rc:
            raise OpFailed(rc, "removing an offline, fully unplugged block failed",
                           "virtio_mem_sbm_unplug_any_sb_offline: BUG_ON(rc)")
    return None


def sbm_unplug_sb_online(m, tx, vm, mb: int, sb: int, count: int) -> str | None:
    """virtio_mem_sbm_unplug_sb_online(): fake-offline the subblocks, then unplug them."""
    lo, hi = _sb_pfns(m, vm, mb, sb, count)
    e = _attempt(tx, virtio_mem_fake_offline, m, tx, lo, hi)
    if e is not None:
        tx.call("virtio_mem_fake_offline", f"pfn={lo:#x}, nr_pages={hi - lo}", f"-{e.errno}: {e.message}")
        return e.errno
    sbm_unplug_sb(m, tx, vm, mb, sb, count)
    return None


def sbm_unplug_any_sb_online(m, tx, vm, mb: int, nb: list[int]) -> str | None:
    """virtio_mem_sbm_unplug_any_sb_online(): the whole block in one go if possible, else
    subblock by subblock from the top, skipping busy ones; an emptied block is offlined
    and removed."""
    done = False
    if nb[0] >= vm.sbs_per_mb and _plugged(vm, mb, 0, vm.sbs_per_mb):
        rc = sbm_unplug_sb_online(m, tx, vm, mb, 0, vm.sbs_per_mb)
        if not rc:
            nb[0] -= vm.sbs_per_mb
            done = True
        elif rc != "EBUSY":
            return rc
    if not done:
        sb = vm.sbs_per_mb - 1
        while sb >= 0 and nb[0]:
            while sb >= 0 and not _plugged(vm, mb, sb, 1):
                sb -= 1
            if sb < 0:
                break
            rc = sbm_unplug_sb_online(m, tx, vm, mb, sb, 1)
            sb -= 1
            if rc == "EBUSY":
                continue
            if rc:
                return rc
            nb[0] -= 1
    if sbm_try_remove_unplugged_mb(m, tx, vm, mb) and m.profile.virtio_mem_retry_removal:
        tx.set(vm, "have_unplugged_mb", True)
    return None


def sbm_try_remove_unplugged_mb(m, tx, vm, mb: int) -> str | None:
    """virtio_mem_sbm_try_remove_unplugged_mb() (6.5; inline before): a block whose subblocks
    are all unplugged is offlined and removed; errors are not critical (retried later)."""
    if vm.sb_states[mb] != 0:
        return None
    rc = virtio_mem_offline_and_remove_memory(m, tx, vm, mb * m.block_size, m.block_size)
    if not rc:
        tx.journal.dict_del(vm.sb_states, mb)
    return rc


def virtio_mem_cleanup_pending_mb(m, tx, vm) -> None:
    """virtio_mem_cleanup_pending_mb() (6.5): retry removing fully unplugged blocks."""
    if not (vm.in_sbm and vm.have_unplugged_mb):
        return
    tx.set(vm, "have_unplugged_mb", False)
    failed = False
    for state in (MB_MOVABLE_PARTIAL, MB_KERNEL_PARTIAL, MB_OFFLINE_PARTIAL):
        for mb in list(_sbm_for_each_mb(m, vm, state)):
            failed |= bool(sbm_try_remove_unplugged_mb(m, tx, vm, mb))
    if failed:
        tx.set(vm, "have_unplugged_mb", True)


def sbm_unplug_request(m, tx, vm, diff: int) -> str | None:
    """virtio_mem_sbm_unplug_request(): partially plugged and offline blocks first, MOVABLE
    before kernel zones, highest block first; -EBUSY if some memory stayed busy."""
    nb = [diff // vm.sb_size]
    if not nb[0]:
        return None
    for states in _state_passes(m, MB_OFFLINE_PARTIAL, MB_OFFLINE, MB_MOVABLE_PARTIAL,
                                MB_KERNEL_PARTIAL, MB_MOVABLE, MB_KERNEL):
        for mb in _sbm_for_each_mb(m, vm, states, reverse=True):
            if sbm_get_mb_state(m, vm, mb) in (MB_OFFLINE, MB_OFFLINE_PARTIAL):
                rc = sbm_unplug_any_sb_offline(m, tx, vm, mb, nb)
            else:
                rc = sbm_unplug_any_sb_online(m, tx, vm, mb, nb)
            if rc or not nb[0]:
                return rc
    return "EBUSY" if nb[0] else None


# ==========================================================================================
# unplugging (BBM)
# ==========================================================================================
def _online_sections(m, lo: int, hi: int) -> list[int]:
    return [s for s in range(lo // m.pps, hi // m.pps) if s < m.secs.size and m.secs.online[s]]


def _bbm_fake_offline_all(m, tx, vm, bb: int) -> None:
    """bbm_safe_unplug: fake-offline all online memory of the big block, section by section."""
    lo = (bb * vm.bb_size) >> m.page_shift
    hi = lo + (vm.bb_size >> m.page_shift)
    tx.journal.dict_set(vm.bb_states, bb, BB_FAKE_OFFLINE)
    for s in _online_sections(m, lo, hi):
        virtio_mem_fake_offline(m, tx, s * m.pps, (s + 1) * m.pps)


def bbm_offline_remove_and_unplug_bb(m, tx, vm, bb: int) -> str | None:
    """virtio_mem_bbm_offline_remove_and_unplug_bb(): fake-offline, offline and remove the big
    block, unplug it; a failure puts the memory back (rollback_safe_unplug)."""
    mark, left = len(tx.journal), len(tx.left_behind)
    e = _attempt(tx, _bbm_fake_offline_all, m, tx, vm, bb)
    if e is not None:
        tx.call("virtio_mem_fake_offline", f"bb {bb}", f"-{e.errno}: {e.message}")
        return e.errno
    rc = virtio_mem_offline_and_remove_memory(m, tx, vm, bb * vm.bb_size, vm.bb_size)
    if rc:
        if len(tx.left_behind) == left:
            _rollback_to(tx, mark)
        tx.call("virtio_mem_bbm_offline_remove_and_unplug_bb", f"bb {bb}", f"-{rc}")
        return rc
    _send(m, tx, vm, "unplug", bb * vm.bb_size, vm.bb_size)
    tx.journal.dict_del(vm.bb_states, bb)
    return None


def bbm_unplug_request(m, tx, vm, diff: int) -> str | None:
    """virtio_mem_bbm_unplug_request(): offline big blocks first, then all-MOVABLE ones,
    then any; busy ones are skipped."""
    nb = diff // vm.bb_size
    if not nb:
        return None
    for i in range(3):
        for bb in list(_bbm_for_each_bb(vm, BB_ADDED, reverse=True)):
            lo = (bb * vm.bb_size) >> m.page_shift
            hi = lo + (vm.bb_size >> m.page_shift)
            secs = _online_sections(m, lo, hi)
            if i == 0 and secs:
                continue
            if i == 1 and any(m.zone_of_pfn(s * m.pps).idx != ZONE_MOVABLE for s in secs):
                continue
            rc = bbm_offline_remove_and_unplug_bb(m, tx, vm, bb)
            if rc == "EBUSY":
                continue
            if not rc:
                nb -= 1
            if rc or not nb:
                return rc
    return "EBUSY" if nb else None


# ==========================================================================================
# the work queue and the retry timer
# ==========================================================================================
def virtio_mem_retry(m, tx, vm, why: str) -> None:
    """virtio_mem_retry(): queue the device's work."""
    if not vm.wq_queued:
        tx.set(vm, "wq_queued", True)
        tx.call("virtio_mem_retry", vm.name, why)


def virtio_mem_refresh_config(m, tx, vm) -> None:
    """virtio_mem_refresh_config(): read requested size and usable region."""
    tx.log(f"virtio_mem {vm.name}: plugged size: {vm.plugged_size:#x}")
    tx.log(f"virtio_mem {vm.name}: requested size: {vm.requested_size:#x}")


def virtio_mem_run_wq(m, tx, vm) -> None:
    """virtio_mem_run_wq(): plug or unplug the difference, then decide about the timer."""
    tx.set(vm, "timer_due_ms", None)             # hrtimer_cancel()
    if vm.broken:
        return
    tx.set(vm, "wq_active", True)
    tx.call("virtio_mem_run_wq", vm.name,
            f"requested {vm.requested_size:#x}, plugged {vm.plugged_size:#x}")
    with tx.nest():
        if vm.config_changed:
            tx.set(vm, "config_changed", False)
            virtio_mem_refresh_config(m, tx, vm)
        rc = None
        virtio_mem_cleanup_pending_mb(m, tx, vm)
        if vm.requested_size > vm.plugged_size:
            diff = vm.requested_size - vm.plugged_size
            rc = (sbm_plug_request if vm.in_sbm else bbm_plug_request)(m, tx, vm, diff)
        elif vm.requested_size < vm.plugged_size:
            diff = vm.plugged_size - vm.requested_size
            rc = (sbm_unplug_request if vm.in_sbm else bbm_unplug_request)(m, tx, vm, diff)
        if rc is None and vm.in_sbm and vm.have_unplugged_mb:
            rc = "EBUSY"            # keep retrying to remove fully unplugged blocks (6.5)
        tx.set(vm, "last_rc", -errno_number(rc) if rc else 0)
        if rc is None:
            tx.set(vm, "retry_timer_ms", VIRTIO_MEM_RETRY_TIMER_MIN_MS)
            tx.call("virtio_mem_run_wq", "", "0")
        elif rc == "ENOSPC":
            # cannot add more now (offline threshold, end of the region): no timer
            tx.call("virtio_mem_run_wq", "", "-ENOSPC: wait for memory to be onlined or a resize")
        elif rc in ("EBUSY", "ENOMEM", "ETXTBSY"):
            due = m.clock_ms + vm.retry_timer_ms
            tx.set(vm, "timer_due_ms", due)
            tx.call("virtio_mem_run_wq", "", f"-{rc}: retry timer armed for {vm.retry_timer_ms // 1000} s")
        else:
            tx.log(f"virtio_mem {vm.name}: unknown error, marking device broken: -{errno_number(rc)}")
            tx.set(vm, "broken", True)
    tx.set(vm, "wq_active", False)


def run_queued_work(m, tx) -> None:
    """The system workqueue: run each device's queued work until nothing is queued."""
    devs = m.virtio_mem
    if not devs:
        return
    for _ in range(WORK_RUN_LIMIT):
        todo = [vm for vm in devs.values() if vm.wq_queued]
        if not todo:
            return
        for vm in todo:
            tx.set(vm, "wq_queued", False)
            virtio_mem_run_wq(m, tx, vm)
    tx.log(f"memmap-tui: virtio-mem work still queued after {WORK_RUN_LIMIT} runs; left for later")


def virtio_mem_timer_expired(m, tx, vm) -> None:
    """virtio_mem_timer_expired(): queue the work and double the next delay (max 300 s)."""
    tx.set(vm, "timer_due_ms", None)
    tx.call("virtio_mem_timer_expired", vm.name, f"after {vm.retry_timer_ms // 1000} s")
    virtio_mem_retry(m, tx, vm, "retry timer expired")
    tx.set(vm, "retry_timer_ms", min(vm.retry_timer_ms * 2, VIRTIO_MEM_RETRY_TIMER_MAX_MS))


# ==========================================================================================
# operations: the host resizes, time passes
# ==========================================================================================
def device(m, dev_id: str) -> VirtioMem:
    devs = m.virtio_mem
    if dev_id not in devs:
        known = ", ".join(devs) or "none"
        raise OpFailed("ENODEV", f"no virtio-mem device {dev_id!r} (devices: {known})",
                       "qom-set: Device not found")
    return devs[dev_id]


def resize(m, tx, dev_id: str, requested_size: int) -> None:
    """QEMU `qom-set <id> requested-size <size>`: checked, then the guest is told
    (virtio_mem_config_changed() queues the driver's work)."""
    vm = device(m, dev_id)
    if requested_size % vm.device_block_size:
        raise OpFailed("EINVAL", f"'requested-size' has to be a multiple of 'block-size' "
                       f"({vm.device_block_size:#x})", "qemu virtio_mem_set_requested_size: not aligned")
    if requested_size > vm.region_size:
        raise OpFailed("EINVAL", f"'requested-size' cannot exceed the memory backend size "
                       f"({vm.region_size:#x})", "qemu virtio_mem_set_requested_size: too big")
    tx.call("qemu: qom-set", f"{vm.id} requested-size {requested_size:#x}")
    tx.set(vm, "requested_size", requested_size)
    grown = min(vm.region_size, requested_size + usable_extent(m.arch))
    if grown > vm.usable_region_size:       # the usable region only grows while memory is plugged
        tx.set(vm, "usable_region_size", grown)
    tx.set(vm, "config_changed", True)
    virtio_mem_retry(m, tx, vm, "config changed")
    run_queued_work(m, tx)


TICK_LIMIT_S = 7 * 24 * 3600


def tick(m, tx, seconds) -> None:
    """Time passes: every retry timer that expires within it fires, in order."""
    ms = int(round(float(seconds) * 1000))
    end = m.clock_ms + ms
    while True:
        due = [(vm.timer_due_ms, i, vm) for i, vm in enumerate(m.virtio_mem.values())
               if vm.timer_due_ms is not None and vm.timer_due_ms <= end]
        if not due:
            break
        t, _, vm = min(due, key=lambda x: (x[0], x[1]))
        tx.set(m, "clock_ms", t)
        virtio_mem_timer_expired(m, tx, vm)
        run_queued_work(m, tx)
    tx.set(m, "clock_ms", end)
    tx.call("tick", f"{ms / 1000:g} s", f"uptime {end / 1000:g} s")


# ==========================================================================================
# reading
# ==========================================================================================
def device_regions(m) -> list[tuple[int, int, str]]:
    """(start, end, id) of every device region, in bytes (end exclusive)."""
    return [(vm.addr, vm.addr + vm.region_size, vm.id) for vm in m.virtio_mem.values()]


def device_info(m, vm: VirtioMem, with_blocks: bool = True) -> dict:
    unit = _unit(vm, m)
    blocks = []
    ids = range(vm.first_id, vm.next_id) if with_blocks else range(0)
    for i in ids:
        if vm.in_sbm:
            st = sbm_get_mb_state(m, vm, i)
            if st == MB_UNUSED:
                continue
            blocks.append({"id": i, "block": i, "state": st,
                           "plugged_subblocks": bin(vm.sb_states.get(i, 0)).count("1")})
        else:
            st = bbm_get_bb_state(vm, i)
            if st == BB_UNUSED:
                continue
            first = i * unit // m.block_size
            blocks.append({"id": i, "block": first, "blocks": unit // m.block_size, "state": st})
    return {"id": vm.id, "name": vm.name, "node": vm.nid, "addr": vm.addr, "size": vm.region_size,
            "block_size": vm.device_block_size, "mode": "SBM" if vm.in_sbm else "BBM",
            "subblock_size": vm.sb_size, "subblocks_per_block": vm.sbs_per_mb,
            "big_block_size": vm.bb_size, "memory_block_size": m.block_size,
            "requested_size": vm.requested_size, "plugged_size": vm.plugged_size,
            "usable_region_size": vm.usable_region_size, "mgid": vm.mgid,
            "offline_size": offline_size(m, vm), "offline_threshold": vm.offline_threshold,
            "retry_timer_ms": vm.retry_timer_ms,
            "retry_due_s": None if vm.timer_due_ms is None else vm.timer_due_ms / 1000,
            "broken": vm.broken, "last_rc": vm.last_rc, "blocks": blocks}


def device_at(m, pfn: int) -> dict | None:
    """The device whose region holds pfn, with the memory block's plug state there."""
    addr = pfn << m.page_shift
    for vm in m.virtio_mem.values():
        if vm.addr <= addr < vm.addr + vm.region_size:
            info = device_info(m, vm, with_blocks=False)
            info.pop("blocks")
            mb = pfn // m.ppb
            if vm.in_sbm:
                info["block_state"] = sbm_get_mb_state(m, vm, mb)
                sb = (addr - mb * m.block_size) // vm.sb_size
                info["subblock"] = sb
                info["subblock_plugged"] = bool(vm.sb_states.get(mb, 0) >> sb & 1)
                info["plugged_subblocks"] = bin(vm.sb_states.get(mb, 0)).count("1")
            else:
                bb = addr // vm.bb_size
                info["block_state"] = bbm_get_bb_state(vm, bb)
            return info
    return None
