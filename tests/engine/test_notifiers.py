"""The memory notifier chain (drivers/base/memory.c memory_notify) where mm/memory_hotplug.c
online_pages()/offline_pages() call it, with its members that change outcomes."""

import pytest

from engine import NodeConfig

from .conftest import GiB, MiB, machine, ok, refused


def _notify_events(res):
    return [e.args.split(",")[0] for e in res.events if e.func == "memory_notify"]


def test_online_pages_sends_going_online_then_online():
    # mm/memory_hotplug.c online_pages(): MEM_GOING_ONLINE before the pages reach the buddy,
    # MEM_ONLINE at the very end
    m = machine(profile="6.1")
    start = ok(m.hot_add(128 * MiB)).args["start"]
    r = ok(m.online(start // m.block_size, "online_movable"))
    assert _notify_events(r) == ["MEM_GOING_ONLINE", "MEM_ONLINE"]
    funcs = [e.func for e in r.events]
    assert funcs.index("memory_notify") < funcs.index("online_pages")


def test_offline_pages_sends_going_offline_then_offline():
    # mm/memory_hotplug.c offline_pages(): MEM_GOING_OFFLINE after start_isolate_page_range(),
    # MEM_OFFLINE after the pages left the buddy
    m = machine(profile="6.1")
    b = ok(m.hot_add(128 * MiB)).args["start"] // m.block_size
    ok(m.online(b, "online_movable"))
    r = ok(m.offline(b))
    assert _notify_events(r) == ["MEM_GOING_OFFLINE", "MEM_OFFLINE"]
    funcs = [e.func for e in r.events]
    assert funcs.index("start_isolate_page_range") < funcs.index("memory_notify")


@pytest.mark.parametrize("profile", ["5.13", "6.1", "6.8", "7.2"])
def test_going_online_veto_rolls_back_with_cancel_online(profile):
    # online_pages() failed_addition: pr_debug, MEM_CANCEL_ONLINE, remove_pfn_range_from_zone;
    # memory_block_online() then undoes mhp_init_memmap_on_memory(): nothing is left
    m = machine(profile=profile)
    b = ok(m.hot_add(128 * MiB)).args["start"] // m.block_size
    ok(m.inject("mem_going_online", errno="EBUSY"))
    before = m.fingerprint()
    r = refused(m.online(b, "online_movable"), "EBUSY")
    assert m.fingerprint() == before
    assert _notify_events(r) == ["MEM_GOING_ONLINE", "MEM_CANCEL_ONLINE"]
    assert "Injecting error (-16) to MEM_GOING_ONLINE" in r.dmesg
    assert not any(d.startswith("online_pages [mem") for d in r.dmesg)     # pr_debug
    assert m.block(b)["state"] == "offline"


def test_going_online_failure_line_needs_dyndbg():
    # online_pages(): pr_debug("online_pages [mem %#010llx-%#010llx] failed\n")
    m = machine(profile="6.1", dyndbg=True)
    start = ok(m.hot_add(128 * MiB)).args["start"]
    ok(m.inject("mem_going_online", errno=-12))
    r = refused(m.online(start // m.block_size), "ENOMEM")
    assert f"online_pages [mem {start + 512 * 4096:#010x}-{start + 128 * MiB - 1:#010x}] failed" in r.dmesg


def test_going_offline_veto_after_isolation():
    # offline_pages(): the notifier runs after isolation; a veto undoes the isolation,
    # sends MEM_CANCEL_OFFLINE and reports "notifier failure" (pr_debug)
    m = machine(profile="6.1", dyndbg=True)
    start = ok(m.hot_add(128 * MiB)).args["start"]
    b = start // m.block_size
    ok(m.online(b, "online_movable"))
    ok(m.inject("mem_going_offline", errno="-EINVAL"))
    before = m.fingerprint()
    r = refused(m.offline(b), "EINVAL")
    assert m.fingerprint() == before and m.block(b)["state"] == "online"
    assert _notify_events(r) == ["MEM_GOING_OFFLINE", "MEM_CANCEL_OFFLINE"]
    assert "Injecting error (-22) to MEM_GOING_OFFLINE" in r.dmesg
    assert any(d.endswith("failed due to notifier failure") for d in r.dmesg)
    assert "notifier failure" in r.check


def test_isolation_refuses_before_the_notifier_is_asked():
    # offline_pages(): start_isolate_page_range() comes before memory_notify(MEM_GOING_OFFLINE)
    m = machine(profile="6.1")
    b = ok(m.hot_add(128 * MiB)).args["start"] // m.block_size
    ok(m.online(b, "online_kernel"))
    ok(m.alloc(block=b, pages=8, kind="unmovable"))
    ok(m.inject("mem_going_offline", errno="EBUSY"))
    r = refused(m.offline(b), "EBUSY")
    assert "isolate" in r.check
    assert _notify_events(r) == []
    assert not any("Injecting error" in d for d in r.dmesg)


def test_notifier_errno_is_returned_as_is_and_zero_disarms():
    # lib/notifier-error-inject.c: notifier_from_errno(err) -> notifier_to_errno() gives err
    # back; debugfs_errno_set clamps to [-MAX_ERRNO, 0], so a positive value stores 0
    m = machine(profile="7.2")
    b = ok(m.hot_add(128 * MiB)).args["start"] // m.block_size
    ok(m.inject("mem_going_online", errno=-28))
    refused(m.online(b), "ENOSPC")
    r = ok(m.inject("mem_going_online", errno=16))
    assert "stores 0" in r.events[0].outcome
    assert m.armed_faults() == {}
    ok(m.online(b))


def test_arm64_refuses_to_offline_boot_memory_in_every_profile():
    # arch/arm64/mm/mmu.c prevent_bootmem_remove_notifier(): MEM_GOING_OFFLINE over an early
    # section is NOTIFY_BAD (-EPERM) with pr_warn("Boot memory [%lx %lx] offlining attempted")
    for profile in ("5.13", "6.1", "6.8", "7.2"):
        m = machine(profile=profile, arch="arm64-4k", nodes=(NodeConfig(0, 2 * GiB),))
        free_boot = [b["id"] for b in m.blocks() if b["boot"]][1]      # a block without reserved pages
        lo = m.block(free_boot)["start_pfn"] << 12
        before = m.fingerprint()
        r = refused(m.offline(free_boot), "EPERM")
        assert f"Boot memory [{lo:x} {lo + (1 << 27):x}] offlining attempted" in r.dmesg
        assert m.fingerprint() == before


def test_arm64_notifier_runs_before_the_error_injector():
    # notifier_chain_register(): equal priority (0) runs in registration order; the arm64
    # member (early_initcall) precedes the error-inject module and stops the chain
    m = machine(profile="6.1", arch="arm64-4k", nodes=(NodeConfig(0, 2 * GiB),))
    ok(m.inject("mem_going_offline", errno="EBUSY"))
    r = refused(m.offline([b["id"] for b in m.blocks() if b["boot"]][1]), "EPERM")
    assert not any("Injecting error" in d for d in r.dmesg)


def test_arm64_boot_block_with_unmovable_pages_fails_isolation_first():
    # offline_pages(): isolation (-EBUSY) is met before the notifier (-EPERM)
    m = machine(profile="6.1", arch="arm64-4k", nodes=(NodeConfig(0, 2 * GiB),))
    first = [b["id"] for b in m.blocks() if b["boot"]][0]           # holds boot-reserved pages
    r = refused(m.offline(first), "EBUSY")
    assert not any("Boot memory" in d for d in r.dmesg)


def test_arm64_hot_added_memory_offlines():
    # prevent_bootmem_remove_notifier() skips sections that are not early_section()
    m = machine(profile="6.1", arch="arm64-4k", nodes=(NodeConfig(0, 2 * GiB),))
    b = ok(m.hot_add(128 * MiB)).args["start"] // m.block_size
    ok(m.online(b, "online_movable"))
    ok(m.offline(b))


def test_arm64_newest_refuses_an_offline_that_splits_a_vmemmap_leaf():
    # arch/arm64/mm/mmu.c prevent_memory_remove_notifier() (newest): can_unmap_without_split()
    # is called with the loop cursor, i.e. the range right after the offlined one; with
    # 72-byte struct pages the next block's memmap starts inside a PMD leaf of the vmemmap
    def run(profile):
        m = machine(profile=profile, arch="arm64-4k", struct_page_size=72, memmap_on_memory=False,
                    nodes=(NodeConfig(0, 2 * GiB),))
        start = ok(m.hot_add(256 * MiB)).args["start"]
        b = start // m.block_size
        ok(m.online(b, "online_movable"))
        ok(m.online(b + 1, "online_movable"))
        return m, start, m.offline(b)

    m, start, r = run("7.2")
    refused(r, "EPERM")
    nxt = start + 128 * MiB
    assert f"[{nxt:x} {nxt + 128 * MiB:x}] splits a leaf entry in vmemmap" in r.dmesg
    assert "prevent_memory_remove_notifier" in r.check
    _, _, r = run("6.11")
    ok(r)


def test_node_notifier_brackets_a_nodes_first_and_last_memory():
    # mm/memory_hotplug.c (6.17+) online_pages(): NODE_ADDING_FIRST_MEMORY before
    # MEM_GOING_ONLINE, NODE_ADDED_FIRST_MEMORY before MEM_ONLINE; offline_pages():
    # NODE_REMOVING_LAST_MEMORY before MEM_GOING_OFFLINE, NODE_REMOVED_LAST_MEMORY before MEM_OFFLINE
    def notes(res):
        return [e.args.split(",")[0] for e in res.events if e.func in ("memory_notify", "node_notify")]

    m = machine(profile="7.2", nodes=(NodeConfig(0, 4 * GiB), NodeConfig(1, 0)))
    b = ok(m.hot_add(128 * MiB, node=1)).blocks[0]
    assert notes(ok(m.online(b, "online_movable"))) == [
        "NODE_ADDING_FIRST_MEMORY", "MEM_GOING_ONLINE", "NODE_ADDED_FIRST_MEMORY", "MEM_ONLINE"]
    ok(m.inject("mem_going_offline", errno="EBUSY"))
    assert notes(refused(m.offline(b), "EBUSY")) == [
        "NODE_REMOVING_LAST_MEMORY", "MEM_GOING_OFFLINE", "MEM_CANCEL_OFFLINE",
        "NODE_CANCEL_REMOVING_LAST_MEMORY"]
    ok(m.inject("none"))
    assert notes(ok(m.offline(b))) == [
        "NODE_REMOVING_LAST_MEMORY", "MEM_GOING_OFFLINE", "NODE_REMOVED_LAST_MEMORY", "MEM_OFFLINE"]
    # before 6.17 there is no node chain; a node with memory already gets no node event
    m = machine(profile="6.11", nodes=(NodeConfig(0, 4 * GiB), NodeConfig(1, 0)))
    b = ok(m.hot_add(128 * MiB, node=1)).blocks[0]
    assert notes(ok(m.online(b, "online_movable"))) == ["MEM_GOING_ONLINE", "MEM_ONLINE"]


def test_new_node_goes_online_before_or_after_the_memory_is_added():
    # add_memory_resource(): 6.1 sets a new node online after create_memory_block_devices();
    # the newest code right after __try_online_node(), before arch_add_memory()
    def order(profile):
        m = machine(profile=profile, nodes=(NodeConfig(0, 4 * GiB), NodeConfig(1, 0)))
        funcs = [e.func for e in ok(m.hot_add(128 * MiB, node=1)).events]
        return funcs.index("node_set_online") < funcs.index("arch_add_memory")

    assert order("7.2") is True
    assert order("6.1") is False


def test_arm64_newest_refuses_offlining_a_self_hosted_block_with_a_present_successor():
    # memory_block_offline() passes start_pfn + nr_vmemmap_pages; the notifier's section loop
    # then stops 512 pages past the block end, and can_unmap_without_split() checks that range:
    # its vmemmap edge sits 32 KiB into the next block's PMD leaf
    def offline_first_and_last(profile):
        m = machine(profile=profile, arch="arm64-4k", nodes=(NodeConfig(0, 2 * GiB),))
        r = ok(m.hot_add(256 * MiB))
        for b in r.blocks:
            ok(m.online(b, "online_movable"))
        return r.args["start"], m.offline(r.blocks[0]), m.offline(r.blocks[1])

    start, first, last = offline_first_and_last("7.2")
    refused(first, "EPERM")
    end = start + 128 * MiB + 512 * 4096
    assert f"[{end:x} {end + (32768 - 512) * 4096:x}] splits a leaf entry in vmemmap" in first.dmesg
    ok(last)                                   # nothing mapped after the last block
    _, first, _ = offline_first_and_last("6.11")
    ok(first)


def test_arm64_newest_linear_map_blocks_split_without_rodata_full():
    # arch_add_memory(): block mappings (a PUD over an aligned GiB) unless can_set_direct_map()
    # (rodata=full forces base pages); can_unmap_without_split() then refuses a linear-map split
    def first_offline(rodata):
        m = machine(profile="7.2", arch="arm64-4k", rodata=rodata, memmap_on_memory=False,
                    nodes=(NodeConfig(0, 2 * GiB),))
        r = ok(m.hot_add(1 * GiB))
        assert r.args["start"] % GiB == 0
        for b in r.blocks:
            ok(m.online(b, "online_movable"))
        return m.offline(r.blocks[0])

    r = refused(first_offline("off"), "EPERM")
    assert any(d.endswith("splits a leaf entry in linear map") for d in r.dmesg)
    ok(first_offline("full"))
