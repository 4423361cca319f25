"""drivers/base/memory.c memory_notify(): the memory notifier chain and its members.

online_pages() sends MEM_GOING_ONLINE (a member may veto it) and then MEM_ONLINE or, on a
veto, MEM_CANCEL_ONLINE; offline_pages() sends MEM_GOING_OFFLINE after isolating the range
and then MEM_OFFLINE or MEM_CANCEL_OFFLINE. The chain is called in priority order, equal
priorities in registration order, and stops at the first member that returns NOTIFY_BAD
(notifier_to_errno() turns it into the errno the caller returns).

Members modelled because they change outcomes:
- arm64 (arch/arm64/mm/mmu.c, early_initcall, priority 0): prevent_bootmem_remove_notifier
  refuses to offline any early (boot) section: "Boot memory [%lx %lx] offlining attempted",
  NOTIFY_BAD = -EPERM. In the newest kernels (prevent_memory_remove_notifier) it also refuses
  an offline whose edges would split a leaf entry of the linear map or of the vmemmap.
- drivers/virtio/virtio_mem.c (registered at probe): MEM_ONLINE may queue the driver's work;
  in SBM, MEM_GOING_ONLINE of a block the driver has not added (or is removing) is refused.
- lib/memory-notifier-error-inject.c (a module, loaded later, priority 0 by default): fails
  MEM_GOING_ONLINE / MEM_GOING_OFFLINE with the errno written to its debugfs file.
Members that never veto in this model (slab/SLUB per-node caches, page_ext, KASAN shadow,
KSM, memory tiers, cpusets) are listed in docs/engine-rules-notifiers.md.
"""

from __future__ import annotations

from . import fault_inject

MEM_ONLINE = "MEM_ONLINE"
MEM_GOING_OFFLINE = "MEM_GOING_OFFLINE"
MEM_OFFLINE = "MEM_OFFLINE"
MEM_GOING_ONLINE = "MEM_GOING_ONLINE"
MEM_CANCEL_ONLINE = "MEM_CANCEL_ONLINE"
MEM_CANCEL_OFFLINE = "MEM_CANCEL_OFFLINE"
NOTIFY_BAD_ERRNO = -1          # notifier_to_errno(NOTIFY_BAD) = NOTIFY_OK - 2 = -EPERM


def memory_notify(m, tx, action: str, start_pfn: int, nr_pages: int) -> tuple[int, str]:
    """memory_notify(): run the chain; (errno, the member that vetoed) or (0, "")."""
    tx.call("memory_notify", f"{action}, start_pfn={start_pfn:#x}, nr_pages={nr_pages}")
    with tx.nest():
        for name, member in _chain(m):
            err = member(m, tx, action, start_pfn, nr_pages)
            if err:
                tx.call(name, action, f"NOTIFY_BAD: {err} ({fault_inject.errno_name(err)})")
                return err, name
    return 0, ""


def node_notify(m, tx, action: str, nid: int) -> None:
    """drivers/base/node.c node_notify() (6.17+): the node chain around the memory chain, for
    a node's first memory coming and its last memory going. Its members (slab, memory tiers,
    cpusets, ...) never veto in this model; the events show where the kernel sends them."""
    if m.profile.node_notifier:
        tx.call("node_notify", f"{action}, nid={nid}")


def node_has_memory(m, nid: int) -> int:
    """pgdat->node_present_pages: the present pages of the node (N_MEMORY when non-zero)."""
    return sum(z.present for z in m.node_zones(nid))


def _chain(m):
    """The registered members, in the order the chain calls them."""
    members = []
    if m.arch.name.startswith("arm64"):
        name = ("prevent_memory_remove_notifier" if m.profile.arm64_leaf_split_check
                else "prevent_bootmem_remove_notifier")
        members.append((name, arm64_prevent_remove))
    if m.virtio_mem:
        # registered at virtio_mem_probe(), before the error-injection module is loaded
        from .virtio_mem import virtio_mem_memory_notifier_cb
        members.append(("virtio_mem_memory_notifier_cb", virtio_mem_memory_notifier_cb))
    members.append(("notifier_err_inject_callback", error_inject))
    return members


def error_inject(m, tx, action: str, start_pfn: int, nr_pages: int) -> int:
    """lib/notifier-error-inject.c notifier_err_inject_callback()."""
    err = fault_inject.notifier_errno(tx, action)
    if err:
        tx.log(f"Injecting error ({err}) to {action}")
    return err


def arm64_prevent_remove(m, tx, action: str, start_pfn: int, nr_pages: int) -> int:
    """arch/arm64/mm/mmu.c prevent_bootmem_remove_notifier() / prevent_memory_remove_notifier()."""
    if action not in (MEM_GOING_OFFLINE, MEM_OFFLINE):
        return 0
    end_pfn = start_pfn + nr_pages
    pps = m.pps
    pfn = start_pfn
    sec_bytes = m.arch.section_size
    while pfn < end_pfn:
        sec = pfn // pps
        if sec < m.secs.size and m.secs.early[sec]:
            start = pfn << m.page_shift
            if action == MEM_GOING_OFFLINE:
                tx.log(f"Boot memory [{start:x} {start + sec_bytes:x}] offlining attempted")
                return NOTIFY_BAD_ERRNO
            tx.log(f"Boot memory [{start:x} {start + sec_bytes:x}] offlined")
            return 0
        pfn += pps
    if m.profile.arm64_leaf_split_check and not _can_unmap_without_split(m, tx, pfn, nr_pages):
        return NOTIFY_BAD_ERRNO
    return 0


def _can_unmap_without_split(m, tx, pfn: int, nr_pages: int) -> bool:
    """can_unmap_without_split(): the edges of the range in the linear map and the vmemmap
    must sit on leaf boundaries.

    As in the source, it is called with the loop cursor, which the boot-memory loop has moved
    to the first section boundary at or past the end of the range: the edges it checks are
    those of the range that follows.
    """
    phys_start = pfn << m.page_shift
    phys_end = phys_start + (nr_pages << m.page_shift)
    for edge in (phys_start, phys_end):
        if _linear_leaf_split(m, edge):
            tx.log(f"[{phys_start:x} {phys_end:x}] splits a leaf entry in linear map")
            return False
    sp = m.struct_page_size
    pmd = m.arch.pmd_size
    for va in (pfn * sp, (pfn + nr_pages) * sp):
        if va % pmd and ("pmd", va // pmd) in m.vmap:
            tx.log(f"[{phys_start:x} {phys_end:x}] splits a leaf entry in vmemmap")
            return False
    return True


def _linear_leaf_split(m, pa: int) -> bool:
    """Whether pa falls strictly inside a block (leaf) entry of the linear map.

    The linear map of hot-added memory is built by __create_pgd_mapping() with block entries
    where alignment allows, unless the kernel forces page mappings (rodata=full and other
    can_set_direct_map() users, the arm64 default): then every leaf is a base page and no
    edge can split one. `linear_map_leaf_size` answers per address.
    """
    leaf = linear_map_leaf_size(m, pa)
    return leaf > m.page_size and pa % leaf != 0


def linear_map_leaf_size(m, pa: int) -> int:
    """Size of the arm64 linear-map leaf covering pa, as engine/linear_map.py built it: a base
    page when can_set_direct_map() holds (rodata=full, the default), else a PUD block where one
    arch_add_memory() call (or boot RAM) covered an aligned GiB (4K pages) and a PMD block
    elsewhere. Contiguous (CONT_PMD) runs are not modelled: block-aligned edges never fall
    inside one."""
    from .linear_map import linear_map_leaf_size as leaf_size
    return leaf_size(m, pa)
