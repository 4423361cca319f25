"""Injected faults take the kernel's own error path: what it leaves behind stays, the rest
rolls back. Sources named per test (mm/memory_hotplug.c, mm/sparse-vmemmap.c,
drivers/base/memory.c, lib/memory-notifier-error-inject.c)."""

import pytest

from engine import Machine
from engine.invariants import check_invariants
from engine.scenario import ScenarioError, parse_scenario

from .conftest import GiB, MiB, machine, ok, refused


def _funcs(res):
    return [e.func for e in res.events]


def test_vmemmap_pmd_failure_falls_back_to_base_pages():
    # arch/x86/mm/init_64.c vmemmap_populate_hugepages(): a failed PMD-sized
    # vmemmap_alloc_block_buf() without an altmap falls back to vmemmap_populate_basepages()
    m = machine(profile="6.1", memmap_on_memory=False)
    ok(m.inject("vmemmap", nth=1))
    r = ok(m.hot_add(128 * MiB))
    assert "FAULT_INJECTION: forcing a failure." in r.dmesg
    # mm/page_alloc.c warn_alloc(): "%s: %pV, mode:%#x(%pGg), nodemask=%*pbl" + the cpuset's
    # ",cpuset=%s,mems_allowed=%*pbl" (the task name prefix is left out)
    assert ("vmemmap alloc failure: order:9, mode:0x4cc0(GFP_KERNEL|__GFP_RETRY_MAYFAIL), "
            "nodemask=(null),cpuset=/,mems_allowed=0") in r.dmesg
    first = r.args["start"] >> 12
    assert m.section(first // m.geometry.pages_per_section)["memmap"]["mapped"] == "base pages"
    assert check_invariants(m) == []


def test_vmemmap_base_page_failure_in_the_first_section_rolls_back():
    # mm/sparse-vmemmap.c vmemmap_populate_basepages() -> -ENOMEM; sparse_add_section()
    # section_deactivate()s it; __add_pages() had added nothing yet: all of it rolls back
    m = machine(profile="6.1", arch="arm64-64k", memmap_on_memory=False)
    ok(m.inject("vmemmap", nth=1))
    before = m.fingerprint()
    r = refused(m.hot_add(m.block_size), "ENOMEM")
    assert r.left_behind == [] and m.fingerprint() == before
    assert any(d.startswith("vmemmap alloc failure: order:0,") for d in r.dmesg)


def test_vmemmap_fault_never_hits_an_altmap():
    # altmap_alloc_block_buf() takes pages of the added range, not the page allocator that
    # fail_page_alloc fails: a self-hosted add is untouched by the fault
    m = machine(profile="6.1")
    ok(m.inject("vmemmap", nth=1))
    r = ok(m.hot_add(128 * MiB))
    assert m.block(r.args["start"] // m.block_size)["nr_vmemmap_pages"] == 512


def test_page_table_failure_mid_add_leaves_the_added_sections():
    # mm/memory_hotplug.c __add_pages(): sparse_add_section() fails and the loop stops; the
    # sections already added stay (add_memory_resource() has no arch_remove_memory() there)
    m = machine(profile="6.1", memmap_on_memory=False)
    ok(m.inject("pgtable", nth=1))
    r = refused(m.hot_add(64 * GiB), "ENOMEM")
    assert r.left_behind and "stay present" in r.left_behind[0]
    assert "vmemmap_pmd_populate" in r.check
    assert len(m.present_sections()) > 32           # boot sections plus the ones left
    assert check_invariants(m) == []


def test_memory_block_devices_failure_rolls_everything_back_in_6_1():
    # add_memory_resource() 6.1: create_memory_block_devices() fails -> it removed the
    # devices it had made; arch_remove_memory(start, size, params.altmap); resource released
    m = machine(profile="6.1", memmap_on_memory=False)
    ok(m.inject("memory_block_devices", nth=2))
    before = m.fingerprint()
    r = refused(m.hot_add(256 * MiB), "ENOMEM")
    assert m.fingerprint() == before and r.left_behind == []
    funcs = _funcs(r)
    assert funcs.index("init_memory_block") < funcs.index("remove_memory_block_devices") \
        < funcs.index("arch_remove_memory")
    assert "init_memory_block" in r.check


@pytest.mark.parametrize("profile,teardown", [
    ("6.8", "arch_remove_memory(cur_start, memblock_size, NULL): 512 altmap pages"),
    ("7.2", "arch_remove_memory(cur_start, memblock_size, params.altmap)")])
def test_memory_block_devices_failure_per_block(profile, teardown):
    # create_altmaps_and_memory_blocks(): the failing block is torn down with a NULL altmap
    # from 6.8 (its self-hosted memmap handed to free_pages()) until the fix that passes
    # params.altmap (newest); remove_memory_blocks_and_altmaps() for the earlier blocks
    m = machine(profile=profile)
    ok(m.inject("memory_block_devices", nth=2))
    before = m.fingerprint()
    r = refused(m.hot_add(256 * MiB), "ENOMEM")
    assert m.fingerprint() == before
    outcomes = [e.outcome for e in r.events if e.func == "create_altmaps_and_memory_blocks" and e.outcome]
    assert len(outcomes) == 1 and outcomes[0].startswith(teardown)


def test_altmap_allocation_exists_only_from_6_6():
    # add_memory_resource() before 6.6 keeps struct vmem_altmap on its stack: nothing to fail
    refused(machine(profile="6.1").inject("altmap"), "EINVAL")
    # 6.6: params.altmap = kmemdup() before arch_add_memory(): a clean -ENOMEM
    m = machine(profile="6.6")
    ok(m.inject("altmap"))
    before = m.fingerprint()
    r = refused(m.hot_add(128 * MiB), "ENOMEM")
    assert m.fingerprint() == before and "arch_add_memory" not in _funcs(r)


def test_altmap_failure_of_a_later_block_removes_the_earlier_ones():
    # create_altmaps_and_memory_blocks(): out: remove_memory_blocks_and_altmaps(start, cur - start)
    m = machine(profile="7.2")
    ok(m.inject("altmap", nth=3))
    before = m.fingerprint()
    r = refused(m.hot_add(384 * MiB), "ENOMEM")
    assert m.fingerprint() == before
    assert _funcs(r).count("remove_memory_block_devices") == 2


def test_faults_stay_armed_until_cleared_and_undo_disarms():
    m = machine(profile="7.2")
    ok(m.inject("memory_block_devices"))
    refused(m.hot_add(128 * MiB), "ENOMEM")
    refused(m.hot_add(128 * MiB), "ENOMEM")          # the same operation meets it again
    assert m.armed_faults() == {"memory_block_devices": {"nth": 1}}
    assert m.undo()                                   # undo the inject
    assert m.armed_faults() == {}
    ok(m.hot_add(128 * MiB))
    ok(m.inject("mem_going_online", errno="EBUSY"))
    ok(m.inject("vmemmap", nth=4))
    ok(m.inject("none"))
    assert m.armed_faults() == {}


def test_history_replays_faults_exactly():
    m = machine(profile="6.1", memmap_on_memory=False)
    ok(m.inject("vmemmap", nth=2))
    ok(m.hot_add(256 * MiB))
    ok(m.inject("mem_going_online", errno=-16))
    refused(m.online(40), "EBUSY")
    again = Machine(m.config)
    for op in m.history:
        again.apply(op)
    assert again.fingerprint() == m.fingerprint()


def test_auto_online_veto_leaves_the_block_offline_and_the_add_done():
    # add_memory_resource(): online_memory_block() errors are ignored by walk_memory_blocks;
    # memory_block_online() has undone its partial online
    m = machine(profile="6.1", auto_online="online_movable")
    ok(m.inject("mem_going_online", errno="EBUSY"))
    r = ok(m.hot_add(256 * MiB))
    assert [m.block(b)["state"] for b in (40, 41)] == ["offline", "offline"]
    assert r.dmesg.count("Injecting error (-16) to MEM_GOING_ONLINE") == 2
    assert check_invariants(m) == []


def test_inject_step_keys_are_checked():
    sc = parse_scenario('[[step]]\nop = "inject"\nfault = "mem_going_offline"\nerrno = "EBUSY"\n')
    assert sc.steps[0]["fault"] == "mem_going_offline"
    with pytest.raises(ScenarioError, match="fault"):
        parse_scenario('[[step]]\nop = "inject"\nfault = "oom"\n')
    with pytest.raises(ScenarioError, match="errno"):
        parse_scenario('[[step]]\nop = "inject"\nfault = "vmemmap"\nerrno = "EWHAT"\n')
    m = machine()
    refused(m.inject("vmemmap", errno="EBUSY"), "EINVAL")
    refused(m.inject("mem_going_online", nth=2), "EINVAL")
