"""arm64: 16K pages, arch_get_mappable_range(), the linear map's page tables, ACPI without a driver."""

import pytest

from engine import ConfigError, Machine, MachineConfig, NodeConfig
from engine.invariants import check_invariants
from engine.linear_map import linear_map_pages

from .conftest import GiB, MiB, machine, ok, refused

KiB = 1 << 10


def arm(arch="arm64-4k", **kw):
    kw.setdefault("memmap_on_memory", False)
    return machine(arch=arch, nodes=(NodeConfig(0, 4 * GiB),), **kw)


def _free(m):
    return m.meminfo()["MemFree"] * KiB


def test_16k_geometry():
    # sparsemem.h: SECTION_SIZE_BITS 27 for 4K and 16K; 2048-entry tables make PMD_SIZE 32 MiB;
    # pageblock_order = HUGETLB_PAGE_ORDER = PMD_SHIFT - PAGE_SHIFT = 11; memory blocks are
    # sections (no arm64 memory_block_size_bytes() override)
    m = arm("arm64-16k")
    g = m.geometry
    assert (g.page_size, g.section_size, g.block_size, g.pmd_size) == (16 * KiB, 128 * MiB, 128 * MiB, 32 * MiB)
    assert g.pageblock_pages == 2048 and g.pages_per_section == 8192
    assert m.arch.max_buddy_order == 11


def test_16k_vmemmap_is_base_pages_and_memmap_on_memory_unsupported():
    # mmu.c vmemmap_populate(): PMD mappings only with ARM64_4K_PAGES (ARM64_KERNEL_USES_PMD_MAPS);
    # 512 KiB of memmap per block is no whole pageblock (32 MiB) -> not self-hosted without force
    m = arm("arm64-16k", profile="6.8", memmap_on_memory=True)
    ok(m.hot_add(128 * MiB, start=8 * GiB))
    assert m.resources()[0]["memmap"] == "buddy"
    assert {k[0] for k, v in m.vmap.items() if v[2] == "buddy"} == {"pte"}
    assert sum(1 for v in m.vmap.values() if v[2] == "buddy") == 32     # 512 KiB / 16 KiB


def test_mappable_range_is_the_linear_map():
    # mmu.c arch_get_mappable_range(): [__pa(PAGE_OFFSET), __pa(PAGE_END - 1)], i.e. 2^(VA_BITS-1)
    # bytes from memstart_addr (first RAM at 1 GiB on QEMU virt); register_memory_resource()
    # -> mhp_range_allowed() -> -E2BIG outside it, although 48 PA bits would reach further
    m = arm()
    memstart = 0x40000000
    top = memstart + (1 << 47)
    r = refused(m.hot_add(128 * MiB, start=0), "E2BIG")
    assert any("exceeds maximum addressable range [0x40000000-" in line for line in r.dmesg)
    ok(m.hot_add(128 * MiB, start=top - 128 * MiB))
    refused(m.hot_add(128 * MiB, start=top), "E2BIG")
    x86 = machine(profile="6.1")
    ok(x86.hot_add(128 * MiB, start=0x100000000 + 4 * GiB))


# vmemmap_tables: the base-page vmemmap of 16K needs a PTE table for 8-16 GiB (one maps 8 GiB
# of memmap); 64K's one table maps 512 GiB and exists from boot; 4K maps PMD leaves
@pytest.mark.parametrize("arch,rodata,tables,vmemmap_tables", [
    ("arm64-4k", "full", 512 + 1, 0),   # a PTE table per 2 MiB, a PMD table for the new GiB
    ("arm64-4k", "on", 0, 0),           # a whole aligned GiB: one PUD block, no table
    ("arm64-16k", "full", 32, 1),       # a PTE table per 32 MiB; the 64 GiB PMD table exists
    ("arm64-16k", "off", 0, 1),         # 32 MiB PMD blocks under the boot PMD table
    ("arm64-64k", "full", 2, 0),        # a PTE table per 512 MiB
])
def test_linear_map_tables_come_out_of_free_memory(arch, rodata, tables, vmemmap_tables):
    # mmu.c arch_add_memory(): can_set_direct_map() (pageattr.c: rodata_full) -> NO_BLOCK_MAPPINGS;
    # __create_pgd_mapping() takes each table from __pgd_pgtable_alloc() (__get_free_page)
    m = arm(arch, profile="6.1", rodata=rodata)
    free = _free(m)
    ok(m.hot_add(1 * GiB, start=8 * GiB))
    assert linear_map_pages(m) == tables
    memmap_pages = (GiB // m.page_size) * 64 // m.page_size
    assert free - _free(m) == (memmap_pages + vmemmap_tables + tables) * m.page_size
    # arch_remove_memory() -> __remove_pgd_mapping() -> free_empty_tables()
    ok(m.remove(8 * GiB, 1 * GiB))
    assert linear_map_pages(m) == 0 and _free(m) == free
    assert check_invariants(m) == []


def test_per_block_adds_map_each_block_separately():
    # 6.8 create_altmaps_and_memory_blocks() calls arch_add_memory() per block: no single call
    # covers the GiB, so even with block mappings the GiB needs a PMD table
    m = arm(profile="6.8", rodata="on", memmap_on_memory=True)
    ok(m.hot_add(1 * GiB, start=8 * GiB))
    assert m.resources()[0]["memmap"] == "altmap-block"
    assert linear_map_pages(m) == 1
    classic = arm(profile="6.1", rodata="on", memmap_on_memory=True)
    ok(classic.hot_add(1 * GiB, start=8 * GiB))
    assert linear_map_pages(classic) == 0


def test_a_pmd_table_is_shared_and_freed_with_its_last_range():
    m = arm(rodata="on")
    ok(m.hot_add(128 * MiB, start=8 * GiB))
    ok(m.hot_add(128 * MiB, start=8 * GiB + 512 * MiB))
    assert linear_map_pages(m) == 1
    ok(m.remove(8 * GiB, 128 * MiB))
    assert linear_map_pages(m) == 1          # still maps the second range
    ok(m.remove(8 * GiB + 512 * MiB, 128 * MiB))
    assert linear_map_pages(m) == 0


def test_page_tables_near_oom_6_1_is_a_kernel_bug():
    # mmu.c __pgd_pgtable_alloc() (6.1): BUG_ON(!ptr); here the memmap fits (self-hosted)
    # but the page tables of the linear map do not: the machine stops, undo goes back
    m = arm(profile="6.1", memmap_on_memory=True)
    ok(m.alloc(leave_free=128 * KiB))
    before = m.fingerprint()
    r = refused(m.hot_add(128 * MiB, start=8 * GiB), "BUG")
    assert "__pgd_pgtable_alloc: BUG_ON(!ptr)" in r.check
    assert "kernel BUG at arch/arm64/mm/mmu.c!" in r.dmesg
    refused(m.online(0), "BUG")              # nothing runs after the oops
    assert m.undo() and m.fingerprint() == before


def test_page_tables_near_oom_newest_is_enomem():
    # the newest kernels let __create_pgd_mapping() fail: arch_add_memory() returns -ENOMEM
    m = arm(profile="7.2", memmap_on_memory=True)
    ok(m.alloc(leave_free=128 * KiB))
    before = m.fingerprint()
    r = refused(m.hot_add(128 * MiB, start=8 * GiB), "ENOMEM")
    assert "arch_add_memory returns -ENOMEM" in r.check
    assert m.fingerprint() == before


def test_injected_page_table_fault_hits_the_linear_map():
    # fault injection "pgtable": the Nth page-table page of the operation fails
    m = arm(profile="7.2", memmap_on_memory=True)
    ok(m.apply({"op": "inject", "fault": "pgtable", "nth": 1}))
    before = m.fingerprint()
    r = refused(m.hot_add(128 * MiB, start=8 * GiB), "ENOMEM")
    assert any(e.func == "should_fail" for e in r.events)
    assert m.fingerprint() == before


@pytest.mark.parametrize("rodata,refused_offline", [("full", False), ("on", True)])
def test_newest_notifier_refuses_an_offline_that_splits_a_pud_block(rodata, refused_offline):
    # prevent_memory_remove_notifier() (newest): can_unmap_without_split(); with block
    # mappings a 1 GiB add in one arch_add_memory() call is one PUD block, and offlining a
    # 128 MiB block of it would split that leaf; with rodata=full every leaf is a page
    m = arm(profile="7.2", rodata=rodata)
    ok(m.hot_add(1 * GiB, start=8 * GiB))
    b = 8 * GiB // m.block_size + 1
    ok(m.online(b, "online_movable"))
    r = m.offline(b)
    assert (not r.ok) is refused_offline, r.summary()


def test_rodata_is_a_machine_knob():
    with pytest.raises(ConfigError, match="rodata"):
        Machine(MachineConfig(arch="arm64-4k", rodata="maybe"))
    m = arm(rodata="off")
    assert m.config.to_dict()["rodata"] == "off"


def test_no_acpi_hotplug_memory_driver_adds_nothing():
    # Debian arm64: CONFIG_ACPI_HOTPLUG_MEMORY unset, the PNP0C80 device binds no driver
    m = arm(acpi_hotplug_memory=False)
    before = m.fingerprint()
    r = ok(m.hot_add(1 * GiB, start=8 * GiB))
    assert any("no driver bound" in e.line() for e in r.events)
    assert m.resources() == [] and m.fingerprint() == before
    ok(m.hot_add(1 * GiB, start=8 * GiB, via="kmem"))     # dax/kmem still works
    assert m.resources()[0]["via"] == "kmem"


def test_per_block_adds_leave_no_pud_block_to_split():
    # 6.8 create_altmaps_and_memory_blocks(): one arch_add_memory() per 128 MiB block, so the
    # linear map holds PMD blocks only and no linear-map leaf is split; what the newest
    # notifier refuses is the vmemmap edge: offline_pages() starts after the self-hosted
    # memmap, inside the block's vmemmap PMD leaf
    m = arm(profile="7.2", rodata="on", memmap_on_memory=True)
    ok(m.hot_add(1 * GiB, start=8 * GiB))
    assert m.resources()[0]["memmap"] == "altmap-block"
    b = 8 * GiB // m.block_size + 1
    ok(m.online(b, "online_movable"))
    r = refused(m.offline(b), "EPERM")
    assert any("splits a leaf entry in vmemmap" in line for line in r.dmesg)
    assert not any("linear map" in line for line in r.dmesg)
