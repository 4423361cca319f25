"""ppc64 radix: 4K and 64K pages, vmemmap per version, pseries DLPAR in LMBs."""

import pytest

from engine import ConfigError, Machine, MachineConfig, NodeConfig
from engine.invariants import check_invariants

from .conftest import GiB, MiB, machine, ok, refused

KiB = 1 << 10
LMB = 256 * MiB
DIMM = 4 * GiB               # first address above 4 GiB of boot RAM (ppc RAM starts at 0)


def ppc(arch="ppc64-radix-64k", **kw):
    kw.setdefault("memmap_on_memory", False)
    return machine(arch=arch, nodes=(NodeConfig(0, 4 * GiB),), **kw)


def _free(m):
    return m.meminfo()["MemFree"] * KiB


def test_radix_4k_geometry():
    # SECTION_SIZE_BITS 24; pseries_memory_block_size() = the LMB size (256 MiB here);
    # pageblock = the 2 MiB huge page (order 9); ARCH_FORCE_MAX_ORDER gives order 12
    m = ppc("ppc64-radix-4k")
    g = m.geometry
    assert (g.page_size, g.section_size, g.block_size, g.pmd_size) == (4 * KiB, 16 * MiB, LMB, 2 * MiB)
    assert g.pageblock_pages == 512 and m.arch.max_buddy_order == 12


@pytest.mark.parametrize("arch", ["ppc64-radix-4k", "ppc64-radix-64k"])
def test_memmap_on_memory_arrives_in_6_6(arch):
    # powerpc selects ARCH_MHP_MEMMAP_ON_MEMORY_ENABLE (radix) from 6.6
    with pytest.raises(ConfigError, match="6.6"):
        Machine(MachineConfig(arch=arch, profile="6.1", memmap_on_memory=True))
    Machine(MachineConfig(arch=arch, profile="6.6", memmap_on_memory=True))


def test_arch_supports_memmap_on_memory_per_page_size():
    # book3s64/pgtable.c arch_supports_memmap_on_memory(): 4K needs whole PMDs of vmemmap (an
    # LMB's 4 MiB is), 64K always; mhp_supports_memmap_on_memory() still wants whole
    # pageblocks of memmap pages, which 64K has only in force mode
    m4 = ppc("ppc64-radix-4k", profile="6.8", memmap_on_memory=True)
    ok(m4.hot_add(LMB, via="dlpar"))
    assert m4.resources()[0]["memmap"] == "altmap-block"
    m64 = ppc(profile="6.8", memmap_on_memory=True)
    ok(m64.hot_add(LMB, via="dlpar"))
    assert m64.resources()[0]["memmap"] == "buddy"
    forced = ppc(profile="6.8", memmap_on_memory="force")
    ok(forced.hot_add(LMB, via="dlpar"))
    assert forced.resources()[0]["memmap"] == "altmap-block"


@pytest.mark.parametrize("profile,kind,taken", [
    ("6.1", "pmd", 2 * MiB),       # init_64.c vmemmap_populate: mmu_vmemmap_psize = 2M always
    ("6.6", "pmd", 2 * MiB),       # radix__vmemmap_populate: PMD from RAM where the entry is empty
    ("7.2", "pte", 4 * 64 * KiB),  # the later fix: unaligned start -> base pages (256 KiB of memmap)
])
def test_classic_vmemmap_of_an_unaligned_lmb(profile, kind, taken):
    # 64K pages: an LMB's memmap is 256 KiB; the LMB at 4 GiB + 256 MiB starts mid-PMD
    m = ppc(profile=profile)
    free = _free(m)
    ok(m.hot_add(LMB, start=DIMM + LMB, via="dlpar"))
    added = [k for k, v in m.vmap.items() if v[2] == "buddy"]
    assert {k[0] for k in added} == {kind}
    vmemmap_tables = 64 * KiB if kind == "pte" else 0     # one PTE table page under the PMD
    # the LMB is onlined right away: its 256 MiB became free memory
    assert _free(m) - free == LMB - taken - vmemmap_tables


def test_an_aligned_lmb_gets_a_pmd_in_every_version():
    m = ppc(profile="7.2")
    ok(m.hot_add(LMB, start=DIMM, via="dlpar"))
    assert {k[0] for k, v in m.vmap.items() if v[2] == "buddy"} == {"pmd"}


@pytest.mark.parametrize("movable_node,zone", [(False, "Normal"), (True, "Movable")])
def test_dlpar_onlines_each_lmb_itself(movable_node, zone):
    # hotplug-memory.c dlpar_add_lmb(): __add_memory() then dlpar_online_lmb() ->
    # device_online() with MMOP_ONLINE: the default zone of the online policy
    m = ppc(profile="6.1", movable_node=movable_node)
    r = ok(m.hot_add(2 * LMB, via="dlpar"))
    assert [x["via"] for x in m.resources()] == ["dlpar", "dlpar"]      # one __add_memory per LMB
    assert [m.block(b)["zone"] for x in m.resources() for b in x["blocks"]] == [zone, zone]
    assert "pseries-hotplug-mem: Attempting to hot-add 2 LMB(s)" in r.dmesg


def test_dlpar_counts_lmbs_and_is_pseries_only():
    refused(ppc().hot_add(LMB + 16 * MiB, via="dlpar"), "EINVAL")
    refused(machine(profile="6.1").hot_add(128 * MiB, via="dlpar"), "ENODEV")


def test_dlpar_falls_back_to_the_first_online_node():
    # dlpar_add_lmb(): nid < 0 || !node_possible(nid) -> first_online_node
    m = ppc()
    ok(m.hot_add(LMB, node=5, via="dlpar"))
    assert m.resources()[0]["node"] == 0


def test_memmap_of_the_next_lmb_pins_the_one_just_onlined():
    # 4K: each LMB's classic memmap (4 MiB) is allocated after the previous LMB went online
    # into Normal, so it comes out of that LMB; dlpar_memory_remove_by_ic() then cannot
    # offline the first LMB, and nothing is removed
    m = ppc("ppc64-radix-4k", profile="6.1")
    ok(m.hot_add(2 * LMB, start=DIMM, via="dlpar"))
    first, second = DIMM // LMB, DIMM // LMB + 1
    holders = {m.block_of(pfn) for (kind, u), (pfn, _, src) in m.vmap.items()
               if src == "buddy" and u * m.arch.pmd_size // 64 >= (DIMM + LMB) >> 12}
    assert holders == {first}
    before = m.fingerprint()
    r = refused(m.eject(DIMM, 2 * LMB), "EINVAL")
    assert "EBUSY" in r.error
    assert "pseries-hotplug-mem: Memory indexed-count-remove failed, adding any removed LMBs" in r.dmesg
    assert m.fingerprint() == before
    ok(m.eject(DIMM + LMB, LMB))            # the second first, then the first is free
    ok(m.eject(DIMM, LMB))
    assert m.resources() == []


def test_a_failed_removal_adds_back_what_it_removed():
    # dlpar_memory_remove_by_ic(): LMB 1 goes, LMB 2 cannot be offlined (unmovable pages in
    # Normal), so LMB 1 is added back with dlpar_add_lmb() and onlined again
    m = ppc(profile="6.1")
    ok(m.hot_add(LMB, start=DIMM + LMB, via="dlpar"))
    ok(m.hot_add(LMB, start=DIMM, via="dlpar"))
    second = (DIMM + LMB) // LMB
    ok(m.alloc(block=second, pages=8, kind="unmovable"))
    r = refused(m.eject(DIMM, 2 * LMB), "EINVAL")
    assert r.left_behind and "added back" in r.left_behind[0]
    assert any(e.func == "dlpar_add_lmb" for e in r.events[-40:])
    assert m.block(DIMM // LMB)["state"] == "online"
    assert check_invariants(m) == []


def test_a_failed_add_removes_the_lmbs_it_added():
    # dlpar_memory_add_by_count(): the third LMB's memmap finds no 2 MiB block (6.1 has no
    # base-page fallback); the two added are removed again and the LPAR is as before.
    # movable_node onlines them into Movable, where no memmap may go. 4K: 4 MiB of memmap
    # per LMB; leave room above the min watermarks for two LMBs' memmaps
    m = ppc("ppc64-radix-4k", profile="6.1", movable_node=True)
    wmin = sum(z["min"] for z in m.zoneinfo()) * m.page_size
    ok(m.alloc(leave_free=wmin + 9 * MiB, kind="unmovable"))
    before = m.fingerprint()
    r = refused(m.hot_add(3 * LMB, start=DIMM, via="dlpar"), "EINVAL")
    assert "pseries-hotplug-mem: Memory indexed-count-add failed, removing any added LMBs" in r.dmesg
    assert sum(1 for e in r.events if e.func == "dlpar_remove_lmb") == 2
    assert "only 2 of 3" in r.error
    assert m.fingerprint() == before
