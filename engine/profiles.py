"""Kernel profiles: the rules of each kernel version as data.

The flow code asks the profile ("does this profile split multi-block adds?", "which flags
does a self-hosted page carry?"); it never compares version strings. A new kernel version is
a new entry here. Each profile is named by the first version whose rules it carries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class KernelProfile:
    name: str
    version: tuple[int, int]
    summary: str
    # -- memmap on memory -------------------------------------------------------------
    # "rfc":        the seed: one altmap for the whole add, memmaps packed at its start
    # "block-size": 5.13-6.5, only an add of exactly one memory block; a caller that
    #               insists (MHP_MEMMAP_ON_MEMORY) on anything else gets -EINVAL
    # "fallback":   6.6-6.7, still one block only, but unsupported adds fall back
    # "per-block":  6.8+, any block-multiple add is split per block, one altmap each
    memmap_rule: str
    has_mmoo_param: bool        # memory_hotplug.memmap_on_memory exists
    has_force: bool             # "force" mode (pageblock padding), 6.6+
    # -- removal ----------------------------------------------------------------------
    # "whole-add":     rfc: the self-hosted range goes as one piece
    # "single-block":  5.13-6.6: vmemmap blocks are removed one block per call
    # "altmap-blocks": 6.8+: all blocks with altmaps (per block) or none; a mix is -EINVAL
    removal_rule: str
    vmemmap_counts_present: bool   # 5.13+: vmemmap pages join zone present at online
    vmemmap_flags: tuple[str, ...]  # struct page flags of an online self-hosted page
    vmemmap_mapping: str          # page->mapping of a self-hosted page
    offline_kpageflags: tuple[str, ...]  # what /proc/kpageflags says for offline memory
    offline_struct_page: str      # what the memmap of not-onlined memory holds
    hotplug_init_flag: str        # how memmap_init_range marks hot-plugged pages
    has_nr_memmap_vmstat: bool    # /proc/vmstat nr_memmap_pages (6.11+)
    block_size_rule: str          # era of x86 probe_memory_block_size()
    has_auto_movable: bool        # online_policy=auto-movable (5.16+)
    has_memory_groups: bool       # memory_group_register_*, MHP_NID_IS_MGID (5.15+)
    has_virtio_mem: bool          # drivers/virtio/virtio_mem.c (5.8+)
    auto_online_types: tuple[str, ...]
    altmap_in_block: bool         # self-hosted pages always inside their own block
    # arm64 prevent_memory_remove_notifier() also refuses offlines whose edges split a leaf
    # entry of the linear map or the vmemmap (2026, "Reject memory removal that splits a
    # kernel leaf mapping", Cc stable)
    arm64_leaf_split_check: bool = False
    # offline_pages() prints "Offlined Pages N" with pr_info (before 5.12) or pr_debug
    offlined_pages_info: bool = False
    # create_altmaps_and_memory_blocks() error path: arch_remove_memory(..., NULL) when the
    # block devices cannot be created (6.8 until the 2026 fix passing params.altmap)
    block_devices_error_null_altmap: bool = False
    # the node notifier chain (NODE_ADDING_FIRST_MEMORY, ... ; 6.17) around the memory chain
    node_notifier: bool = False
    # add_memory_resource() sets a new node online and registers it right after
    # __try_online_node(), before arch_add_memory() (newest), instead of after the devices
    new_node_online_early: bool = False
    # virtio-mem SBM tells kernel-zone and ZONE_MOVABLE blocks apart and unplugs MOVABLE
    # first ("virtio-mem: prioritize unplug from ZONE_MOVABLE in Sub Block Mode", 5.16)
    virtio_mem_movable_first: bool = False
    # virtio-mem turns offline_and_remove_memory() errors into -EBUSY and keeps retrying to
    # remove fully unplugged blocks (have_unplugged_mb), 6.5
    virtio_mem_retry_removal: bool = False
    # -- callers and architectures (docs/engine-rules-arch.md) --------------------------
    # drivers/dax/kmem.c passes MHP_MEMMAP_ON_MEMORY when the device's memmap_on_memory
    # attribute is set (6.8+); before, it never asks and the attribute does not exist
    kmem_memmap_attr: bool = False
    # ppc64 radix vmemmap for an add: "psize-2m" (<6.6, init_64.c vmemmap_populate with
    # mmu_vmemmap_psize = 2M: altmap first, RAM fallback), "pmd-if-none" (6.6+,
    # radix__vmemmap_populate: a PMD wherever the entry is empty; altmap only when aligned
    # and inside the device), "pmd-if-aligned" (the later fix: an unaligned start maps base pages)
    ppc_vmemmap_rule: str = "psize-2m"
    # arm64 __pgd_pgtable_alloc() failing during a hot-add: "bug" (BUG_ON, 6.1 and long after)
    # or "enomem" (the 2025 error-propagation series: arch_add_memory returns -ENOMEM)
    arm64_pgtable_alloc_fail: str = "bug"


_ALL_AUTO = ("offline", "online", "online_kernel", "online_movable")

# Each profile is the previous one plus what its version changed, so the deltas read as
# the history they are.
RFC_2017 = KernelProfile(
    name="rfc-2017", version=(4, 13),
    summary="Hocko's 2017 RFC: memmaps of all sections packed at the start of the add, "
            "PageVmemmap = PageReserved + mapping VMEMMAP_PAGE",
    memmap_rule="rfc", has_mmoo_param=False, has_force=False, removal_rule="whole-add",
    vmemmap_counts_present=False, vmemmap_flags=("reserved",), vmemmap_mapping="VMEMMAP_PAGE",
    offline_kpageflags=("RESERVED",), offline_struct_page="reserved",
    hotplug_init_flag="reserved", has_nr_memmap_vmstat=False, block_size_rule="pre-4.17",
    has_auto_movable=False, has_memory_groups=False, has_virtio_mem=False,
    auto_online_types=("offline", "online"),
    altmap_in_block=False, offlined_pages_info=True,
)
V5_13 = replace(
    RFC_2017, name="5.13", version=(5, 13),
    summary="memory_hotplug.memmap_on_memory: single-block adds only, nr_vmemmap_pages per block",
    memmap_rule="block-size", has_mmoo_param=True, removal_rule="single-block",
    vmemmap_counts_present=True, vmemmap_mapping="NULL", offline_kpageflags=("NOPAGE",),
    offline_struct_page="poisoned", block_size_rule="bare-metal-max",
    auto_online_types=_ALL_AUTO, altmap_in_block=True, has_virtio_mem=True,
    offlined_pages_info=False,
)
V6_1 = replace(
    V5_13, name="6.1", version=(6, 1),
    summary="as 5.13, plus PG_vmemmap_self_hosted (PG_owner_priv_1) on self-hosted pages; auto-movable policy",
    vmemmap_flags=("reserved", "vmemmap_self_hosted"), has_auto_movable=True, has_memory_groups=True,
    virtio_mem_movable_first=True,
)
V6_6 = replace(
    V6_1, name="6.6", version=(6, 6),
    summary="force mode (pageblock padding), per-block mem->altmap, unsupported adds fall back; "
            "ppc64 radix gets memmap_on_memory and radix__vmemmap_populate",
    memmap_rule="fallback", has_force=True, ppc_vmemmap_rule="pmd-if-none", virtio_mem_retry_removal=True,
)
V6_8 = replace(
    V6_6, name="6.8", version=(6, 8),
    summary="multi-block adds split per block (create_altmaps_and_memory_blocks), altmap-aware removal; "
            "dax devices get memmap_on_memory and kmem passes MHP_MEMMAP_ON_MEMORY",
    memmap_rule="per-block", removal_rule="altmap-blocks", kmem_memmap_attr=True,
    block_devices_error_null_altmap=True,
)
V6_11 = replace(
    V6_8, name="6.11", version=(6, 11),
    summary="hotplug memmap initialised PageOffline instead of PageReserved; vmemmap pages only "
            "self-hosted; nr_memmap_pages",
    vmemmap_flags=("vmemmap_self_hosted",), hotplug_init_flag="offline", has_nr_memmap_vmstat=True,
)
V7_2 = replace(
    V6_11, name="7.2", version=(7, 2),
    summary="as 6.11, but /proc/kpageflags reads offline memory as no flags at all (not NOPAGE); "
            "arm64 refuses offlines that would split a linear-map or vmemmap leaf; "
            "ppc64 radix maps a vmemmap PMD only at an aligned start; arm64 page-table "
            "allocation failures in a hot-add return -ENOMEM instead of BUG; node notifier "
            "chain; a new node goes online before arch_add_memory(); the block-device error path "
            "passes the altmap",
    offline_kpageflags=(), arm64_leaf_split_check=True, ppc_vmemmap_rule="pmd-if-aligned",
    arm64_pgtable_alloc_fail="enomem", node_notifier=True, new_node_online_early=True,
    block_devices_error_null_altmap=False,
)
PROFILE_LIST: tuple[KernelProfile, ...] = (RFC_2017, V5_13, V6_1, V6_6, V6_8, V6_11, V7_2)

PROFILES: dict[str, KernelProfile] = {p.name: p for p in PROFILE_LIST}
NEWEST = PROFILE_LIST[-1].name
_VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)(?:[.\-].*)?$")


def resolve_profile(name: str | None) -> KernelProfile:
    """A profile by name, or the newest profile at or below a version number ("6.12" -> 6.11)."""
    if name is None or name in ("", "newest", "latest"):
        return PROFILES[NEWEST]
    name = str(name).strip()
    if name in PROFILES:
        return PROFILES[name]
    if name.lower() in ("rfc", "rfc2017", "seed"):
        return PROFILES["rfc-2017"]
    m = _VERSION_RE.match(name)
    if not m:
        raise KeyError(f"unknown kernel profile {name!r} (known: {', '.join(PROFILES)}, or a version like 6.12)")
    version = (int(m.group(1)), int(m.group(2)))
    candidates = [p for p in PROFILE_LIST if p.name != "rfc-2017" and p.version <= version]
    if not candidates:
        raise KeyError(f"no profile at or below {name}: the oldest upstream profile is 5.13 "
                       f"(the seed's design is 'rfc-2017')")
    return candidates[-1]
