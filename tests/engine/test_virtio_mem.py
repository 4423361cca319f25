"""virtio-mem devices: each test names the function of drivers/virtio/virtio_mem.c (or of
QEMU's hw/virtio/virtio-mem.c / hw/mem/memory-device.c) whose rule it checks."""

import pytest

from engine import ConfigError, Machine, MachineConfig, NodeConfig, VirtioMemConfig
from engine import states as S
from engine.invariants import check_invariants
from engine.report import run_report
from engine.scenario import parse_scenario

from .conftest import GiB, MiB, ok, refused

BS = 128 * MiB


def vm_machine(size=4 * GiB, memory=2 * GiB, profile="6.1", auto_online="online", dev=None, **kw):
    dev = dev or {}
    cfg = MachineConfig(profile=profile, auto_online=auto_online, nodes=(NodeConfig(0, memory),),
                        virtio_mem=(VirtioMemConfig("vmem0", size, **dev),), **kw)
    m = Machine(cfg)
    assert check_invariants(m) == []
    return m


def dev(m, i=0):
    return m.virtio_mem_devices()[i]


def unplugged_pages(m, b):
    lo, hi = m.block_range(b)
    return int((m.pfn_states(lo, hi) == S.UNPLUGGED).sum())


def checked(m, res):
    assert check_invariants(m) == [], res.summary()
    return res


# -- probe ---------------------------------------------------------------------------------
def test_qemu_virtio_mem_default_block_size_is_the_thp_size():
    x86 = vm_machine()
    assert dev(x86)["block_size"] == 2 * MiB
    arm = Machine(MachineConfig(arch="arm64-64k", profile="6.1", nodes=(NodeConfig(0, 2 * GiB),),
                                virtio_mem=(VirtioMemConfig("vmem0", 4 * GiB),)))
    assert dev(arm)["block_size"] == 512 * MiB


def test_virtio_mem_init_hotplug_chooses_sbm_below_a_memory_block():
    m = vm_machine()
    d = dev(m)
    assert (d["mode"], d["subblock_size"], d["subblocks_per_block"]) == ("SBM", 2 * MiB, 64)
    # one dynamic memory group, unit = one memory block
    g = m.groups[d["mgid"]]
    assert g.is_dynamic and g.unit_pages == m.ppb and g.nid == 0


def test_virtio_mem_init_hotplug_chooses_bbm_for_big_device_blocks():
    m = vm_machine(dev={"block_size": 256 * MiB})
    d = dev(m)
    assert (d["mode"], d["big_block_size"]) == ("BBM", 256 * MiB)
    assert m.groups[d["mgid"]].unit_pages == (256 * MiB) >> m.page_shift
    arm = Machine(MachineConfig(arch="arm64-64k", profile="6.1", nodes=(NodeConfig(0, 2 * GiB),),
                                virtio_mem=(VirtioMemConfig("vmem0", 4 * GiB),)))
    assert dev(arm)["mode"] == "BBM" and dev(arm)["big_block_size"] == 512 * MiB


def test_memory_device_get_free_addr_places_devices_then_dimms_after_them():
    cfg = MachineConfig(profile="6.1", nodes=(NodeConfig(0, 2 * GiB),),
                        virtio_mem=(VirtioMemConfig("a", 1 * GiB), VirtioMemConfig("b", 512 * MiB)))
    m = Machine(cfg)
    a, b = m.virtio_mem_devices()
    assert a["addr"] == 4 * GiB                    # the device memory region starts at 4 GiB here
    assert b["addr"] == 5 * GiB                    # first fit after the first device
    assert (a["name"], b["name"]) == ("virtio0", "virtio1")
    r = ok(m.hot_add(BS))
    assert r.args["start"] == 5 * GiB + 512 * MiB  # a DIMM goes after the devices
    refused(m.hot_add(BS, start=4 * GiB), "EBUSY")


@pytest.mark.parametrize("bad, words", [
    ({"size": 3 * MiB}, "multiple of block_size"),
    ({"block_size": 3 * MiB}, "power of two"),
    ({"addr": 4 * GiB + MiB}, "multiple of block_size"),
    ({"requested_size": 8 * GiB}, "must not exceed size"),
    ({"node": 5}, "does not exist"),
])
def test_virtio_mem_device_realize_refuses_bad_properties(bad, words):
    kw = {"id": "vmem0", "size": 4 * GiB, **bad}
    with pytest.raises(ConfigError) as e:
        MachineConfig(nodes=(NodeConfig(0, 2 * GiB),), virtio_mem=(VirtioMemConfig(**kw),)).validate()
    assert words in str(e.value) and "\n" not in str(e.value)


def test_scenario_declares_devices_and_round_trips():
    text = """
[machine]
profile = "6.1"
auto_online = "online"
[[machine.node]]
id = 0
memory = "2G"
[[machine.virtio_mem]]
id = "vmem0"
size = "4G"
requested_size = "256M"
[[step]]
op = "resize"
device = "vmem0"
requested_size = "512M"
[[step]]
op = "tick"
seconds = 60
"""
    sc = parse_scenario(text, "t.toml")
    again = parse_scenario(sc.to_toml(), "again.toml")
    assert again.config == sc.config
    m = Machine(sc.config)
    assert dev(m)["plugged_size"] == 256 * MiB     # plugged at probe
    doc = run_report(sc)
    devs = [s["devices"][0] for s in doc["steps"]]
    assert [(d["requested_size"], d["plugged_size"]) for d in devs] == [(512 * MiB, 512 * MiB)] * 2
    assert doc["steps"][1]["uptime_s"] == 60


def test_scenario_unknown_virtio_mem_key_is_one_line():
    text = '[machine]\n[[machine.virtio_mem]]\nid = "v"\nsize = "1G"\nflavour = 1\n'
    with pytest.raises(Exception) as e:
        parse_scenario(text, "t.toml")
    assert "flavour" in str(e.value) and "\n" not in str(e.value)


# -- plugging (SBM) ----------------------------------------------------------------------------
def test_virtio_mem_sbm_plug_and_add_mb_only_plugged_subblocks_reach_the_buddy():
    m = vm_machine()
    total0 = m.meminfo()["MemTotal"]
    r = checked(m, ok(m.resize("vmem0", 200 * MiB)))
    d = dev(m)
    assert d["plugged_size"] == 200 * MiB
    assert [(b["block"], b["state"], b["plugged_subblocks"]) for b in d["blocks"]] == \
        [(32, "kernel", 64), (33, "kernel_partial", 36)]
    assert unplugged_pages(m, 33) == 28 * (2 * MiB >> 12)
    # MemTotal grows by the plugged memory only (the memmap is an ordinary buddy allocation)
    assert m.meminfo()["MemTotal"] - total0 == 200 * MiB >> 10
    assert m.zoneinfo()[-2]["present"] - m.zoneinfo()[-2]["managed"] == 28 * 512
    assert "virtio_mem_online_page_cb" in [e.func for e in r.events]


def test_virtio_mem_add_memory_never_puts_the_memmap_on_the_added_memory():
    for prof in ("6.1", "6.8", "7.2"):
        m = vm_machine(profile=prof, memmap_on_memory=True)
        checked(m, ok(m.resize("vmem0", 256 * MiB)))
        for b in (32, 33):
            assert m.block(b)["nr_vmemmap_pages"] == 0
            lo, hi = m.block_range(b)
            assert int((m.pfn_states(lo, hi) == S.MEMMAP_SELF).sum()) == 0
        backing = m.backing_of(32 * m.ppb, 33 * m.ppb)
        assert backing and all(a < 32 * m.ppb for a, _ in backing)


def test_virtio_mem_sbm_plug_any_sb_fills_partial_blocks_first():
    m = vm_machine()
    ok(m.resize("vmem0", 100 * MiB))
    r = checked(m, ok(m.resize("vmem0", 120 * MiB)))
    assert [b["plugged_subblocks"] for b in dev(m)["blocks"]] == [60]
    assert "virtio_mem_fake_online" in [e.func for e in r.events]
    assert "virtio_mem_add_memory" not in [e.func for e in r.events]


def test_virtio_mem_online_page_cb_keeps_unplugged_subblocks_when_onlined_later():
    m = vm_machine(auto_online="offline")
    ok(m.resize("vmem0", 64 * MiB))
    assert dev(m)["blocks"][0]["state"] == "offline_partial"
    assert unplugged_pages(m, 32) == 32 * 512       # 32 unplugged subblocks of 512 pages
    r = checked(m, ok(m.online(32)))
    lo, hi = m.block_range(32)
    assert int((m.pfn_states(lo, hi) == S.FREE).sum()) == 32 * 512
    assert unplugged_pages(m, 32) == 32 * 512
    assert dev(m)["blocks"][0]["state"] == "kernel_partial"
    assert "virtio_mem_online_page_cb" in [e.func for e in r.events]


def test_virtio_mem_could_add_memory_keeps_offline_memory_under_the_threshold():
    m = vm_machine(auto_online="offline", size=8 * GiB, memory=4 * GiB)
    r = checked(m, ok(m.resize("vmem0", 2 * GiB)))
    d = dev(m)
    assert d["plugged_size"] == 1 * GiB and d["offline_size"] == 1 * GiB
    assert d["retry_due_s"] is None                   # -ENOSPC arms no timer
    assert "-ENOSPC" in " ".join(e.outcome for e in r.events)
    # MEM_ONLINE restarts the work once half the threshold is free again
    blocks = [b["block"] for b in d["blocks"]]
    for b in blocks[:3]:
        r = ok(m.online(b))
        assert "virtio_mem_run_wq" not in [e.func for e in r.events]
    r = checked(m, ok(m.online(blocks[3])))
    assert "virtio_mem_run_wq" in [e.func for e in r.events]
    assert dev(m)["plugged_size"] == 1 * GiB + 512 * MiB


# -- failures and the retry timer ----------------------------------------------------------
def pressured(profile="6.1", free="10M"):
    m = vm_machine(profile=profile, auto_online="online_movable", memory=512 * MiB)
    ok(m.alloc(leave_free=free, kind="unmovable"))
    return m


def test_virtio_mem_add_memory_failure_warns_and_arms_the_retry_timer():
    m = pressured()
    r = checked(m, ok(m.resize("vmem0", 1 * GiB)))
    d = dev(m)
    assert 0 < d["plugged_size"] < 1 * GiB              # stuck part-way
    assert "virtio_mem virtio0: adding memory failed: -12" in r.dmesg
    assert d["retry_due_s"] == 50 and d["last_rc"] == -12
    # the failed block was given back to the host: plugged is whole blocks
    assert d["plugged_size"] % BS == 0


def test_memmap_memory_decides_how_far_the_device_gets():
    low, high = pressured(free="10M"), pressured(free="28M")
    ok(low.resize("vmem0", 1 * GiB))
    ok(high.resize("vmem0", 1 * GiB))
    assert dev(low)["plugged_size"] < 1 * GiB
    assert dev(high)["plugged_size"] == 1 * GiB


def test_virtio_mem_timer_expired_doubles_the_delay_up_to_300s():
    m = pressured()
    ok(m.resize("vmem0", 1 * GiB))
    r = ok(m.pass_time(49))
    assert "virtio_mem_timer_expired" not in [e.func for e in r.events]
    dues = []
    for _ in range(5):
        due = dev(m)["retry_due_s"]
        ok(m.pass_time(due - m.uptime_s))
        dues.append(dev(m)["retry_due_s"] - due)
    assert dues == [100, 200, 300, 300, 300]
    assert check_invariants(m) == []


def test_one_tick_fires_every_expiry_inside_it():
    m = pressured()
    ok(m.resize("vmem0", 1 * GiB))
    r = ok(m.pass_time(50 + 100 + 200))
    assert [e.func for e in r.events].count("virtio_mem_timer_expired") == 3
    assert m.uptime_s == 350


def test_retry_after_memory_is_freed_succeeds_on_the_next_expiry():
    m = pressured()
    ok(m.resize("vmem0", 1 * GiB))
    ok(m.free(kind="unmovable", pages=(64 * MiB) >> 12))
    assert dev(m)["plugged_size"] < 1 * GiB           # freeing memory does not wake the driver
    checked(m, ok(m.pass_time(50)))
    d = dev(m)
    assert d["plugged_size"] == 1 * GiB and d["retry_due_s"] is None and d["retry_timer_ms"] == 50000


# -- unplugging -----------------------------------------------------------------------------
def test_virtio_mem_sbm_unplug_request_takes_partial_blocks_first_then_from_the_top():
    m = vm_machine()
    ok(m.resize("vmem0", 300 * MiB))                  # blocks 32, 33 full, 34 with 22 subblocks
    r = checked(m, ok(m.resize("vmem0", 100 * MiB)))
    assert [(b["block"], b["plugged_subblocks"]) for b in dev(m)["blocks"]] == [(32, 50)]
    assert m.block(33) is None and m.block(34) is None
    assert "offline_and_remove_memory" in [e.func for e in r.events]
    assert unplugged_pages(m, 32) == 14 * 512


def test_virtio_mem_fake_offline_migrates_movable_pages_out():
    m = vm_machine()
    ok(m.resize("vmem0", 128 * MiB))
    ok(m.alloc(block=32, pages=2000))
    r = checked(m, ok(m.resize("vmem0", 64 * MiB)))
    assert "migrate_pages" in [e.func for e in r.events]
    assert dev(m)["plugged_size"] == 64 * MiB


def test_virtio_mem_sbm_unplug_any_sb_online_skips_busy_subblocks_and_retries():
    m = vm_machine()
    ok(m.resize("vmem0", 128 * MiB))
    ok(m.alloc(block=32, pages=1, kind="unmovable"))  # the top subblock now holds a slab page
    r = checked(m, ok(m.resize("vmem0", 0)))
    d = dev(m)
    assert d["plugged_size"] == 2 * MiB               # all but the busy subblock
    assert d["retry_due_s"] == 50 and d["last_rc"] == -16
    assert "cannot be isolated or migrated" in " ".join(e.outcome for e in r.events)
    ok(m.free(block=32, kind="unmovable"))
    checked(m, ok(m.pass_time(50)))
    assert dev(m)["plugged_size"] == 0 and m.block(32) is None


def test_virtio_mem_unplug_of_offline_blocks_just_removes_them():
    m = vm_machine(auto_online="offline")
    ok(m.resize("vmem0", 256 * MiB))
    r = checked(m, ok(m.resize("vmem0", 0)))
    assert dev(m)["blocks"] == [] and m.resources() == []
    assert "memory_block_offline" not in [e.func for e in r.events]


def test_bbm_plug_and_unplug_whole_big_blocks():
    m = vm_machine(dev={"block_size": 256 * MiB})
    checked(m, ok(m.resize("vmem0", 512 * MiB)))
    d = dev(m)
    assert [(b["block"], b["blocks"], b["state"]) for b in d["blocks"]] == [(32, 2, "added"), (34, 2, "added")]
    assert sum(unplugged_pages(m, b) for b in range(32, 36)) == 0
    checked(m, ok(m.resize("vmem0", 256 * MiB)))
    assert [b["block"] for b in dev(m)["blocks"]] == [32]     # the top big block goes first
    ok(m.resize("vmem0", 512 * MiB))
    # a slab page in the top big block, and the lower one holds the top one's memmap
    # (allocated from the buddy when it was added): neither can go
    ok(m.alloc(block=35, pages=1, kind="unmovable"))
    r = checked(m, ok(m.resize("vmem0", 256 * MiB)))
    assert [b["block"] for b in dev(m)["blocks"]] == [32, 34]
    assert dev(m)["last_rc"] == -16 and dev(m)["retry_due_s"] == 50
    outcomes = " ".join(e.outcome for e in r.events if e.func == "virtio_mem_fake_offline")
    assert "unmovable" in outcomes and "memmap-other" in outcomes


# -- the host side, iomem, undo ------------------------------------------------------------
def test_qom_set_requested_size_is_checked():
    m = vm_machine()
    refused(m.resize("vmem0", 3 * MiB), "EINVAL")
    refused(m.resize("vmem0", 8 * GiB), "EINVAL")
    refused(m.resize("nope", 2 * MiB), "ENODEV")
    refused(m.pass_time(0), "EINVAL")


def test_driver_managed_memory_is_not_removed_by_hand():
    m = vm_machine()
    ok(m.resize("vmem0", 128 * MiB))
    ok(m.offline(32))
    refused(m.remove(4 * GiB, BS), "EINVAL")


def test_virtio_mem_create_resource_and_merged_system_ram_in_iomem():
    m = vm_machine()
    ok(m.resize("vmem0", 384 * MiB))
    io = [e for e in m.iomem() if e[0] >= 4 * GiB]
    assert io == [(4 * GiB, 8 * GiB - 1, "virtio0"),
                  (4 * GiB, 4 * GiB + 384 * MiB - 1, "System RAM (virtio_mem)")]
    # one resource per added block underneath, driver-managed, below the device's region
    assert [(r["name"], r["parent"], r["blocks"]) for r in m.resources()] == \
        [("System RAM (virtio_mem)", "virtio0", [b]) for b in (32, 33, 34)]
    assert "IORESOURCE_SYSRAM_DRIVER_MANAGED" in m.resources()[0]["flags"]


def test_undo_and_redo_of_a_resize():
    m = vm_machine()
    before = m.fingerprint()
    ok(m.resize("vmem0", 300 * MiB))
    after = m.fingerprint()
    assert m.undo() and m.fingerprint() == before
    assert dev(m)["plugged_size"] == 0 and m.block(32) is None
    ok(m.redo())
    assert m.fingerprint() == after


def test_auto_movable_puts_virtio_mem_units_in_movable_while_the_ratio_allows():
    m = vm_machine(online_policy="auto-movable", memory=1 * GiB)
    checked(m, ok(m.resize("vmem0", 4 * GiB)))
    zones = [m.block(b["block"])["zone"] for b in dev(m)["blocks"]]
    assert zones[0] == "Movable" and "Normal" in zones
    g = m.groups[dev(m)["mgid"]]
    assert g.present_movable_pages + g.present_kernel_pages == len(zones) * m.ppb


def test_lesson_expect_device_checks_sizes_and_the_timer():
    from engine.lessons import check_expect, snapshot
    m = vm_machine()
    res = ok(m.resize("vmem0", 256 * MiB))
    after = snapshot(m)
    good = {"expect": {"device": {"vmem0": {"requested_mb": 256, "plugged_mb": 256, "mode": "SBM",
                                            "retry_due_s": False, "broken": False}}}}
    assert check_expect(good, res, None, after) == []
    bad = {"expect": {"device": {"vmem0": {"plugged_mb": 128, "retry_due_s": 50}, "nope": {}}}}
    problems = check_expect(bad, res, None, after)
    assert len(problems) == 3 and any("plugged_mb is 256" in p for p in problems)


# -- per profile -----------------------------------------------------------------------------
@pytest.mark.parametrize("profile, gone", [("6.1", 32), ("5.13", 33)])
def test_virtio_mem_sbm_unplug_request_movable_first_since_5_16(profile, gone):
    # 6.1 (5.16+): MOVABLE blocks are unplugged before kernel ones; 5.13: one "online" class,
    # highest block first
    m = vm_machine(profile=profile, auto_online="offline")
    ok(m.resize("vmem0", 256 * MiB))
    ok(m.online(32, "online_movable"))
    ok(m.online(33, "online_kernel"))
    checked(m, ok(m.resize("vmem0", 128 * MiB)))
    assert m.block(gone) is None and m.block(65 - gone) is not None


def test_virtio_mem_cleanup_pending_mb_retries_a_failed_removal_since_6_5():
    for profile, timer in (("6.1", None), ("6.6", 50)):
        m = vm_machine(profile=profile)
        ok(m.resize("vmem0", 128 * MiB))
        ok(m.apply({"op": "inject", "fault": "mem_going_offline", "errno": "EBUSY"}))
        checked(m, ok(m.resize("vmem0", 0)))
        d = dev(m)
        # every subblock went back to the host; the emptied block could not be offlined
        assert d["plugged_size"] == 0 and m.block(32)["state"] == "online"
        assert d["retry_due_s"] == timer
        if timer is None:
            continue
        ok(m.apply({"op": "inject", "fault": "none"}))
        r = checked(m, ok(m.pass_time(50)))
        assert m.block(32) is None and dev(m)["retry_due_s"] is None
        assert "offline_and_remove_memory" in [e.func for e in r.events]


def test_virtio_mem_add_takes_arm64_linear_map_page_tables_from_existing_memory():
    # rodata=full maps the linear map of new memory with pages: one PTE table per 2 MiB,
    # allocated at add time like the memmap (arch_add_memory -> __create_pgd_mapping)
    taken = {}
    for rodata in ("full", "off"):
        m = Machine(MachineConfig(profile="6.11", arch="arm64-4k", rodata=rodata,
                                  auto_online="online_movable", nodes=(NodeConfig(0, 1 * GiB),),
                                  virtio_mem=(VirtioMemConfig("vmem0", 4 * GiB),)))
        before = m.meminfo()["MemFree"]
        ok(m.resize("vmem0", BS))
        taken[rodata] = before + (BS >> 10) - m.meminfo()["MemFree"]
        assert check_invariants(m) == []
    assert taken["full"] - taken["off"] == (BS // (2 * MiB)) * 4


@pytest.mark.parametrize("addr, words", [(1 * GiB, "overlaps boot RAM"),
                                         (1 << 60, "beyond the 46-bit physical address space")])
def test_memory_device_pre_plug_refuses_a_bad_address_in_one_line(addr, words):
    text = (f'[machine]\n[[machine.node]]\nid = 0\nmemory = "2G"\n[[machine.virtio_mem]]\n'
            f'id = "v"\nsize = "1G"\naddr = {addr}\n')
    with pytest.raises(Exception) as e:
        parse_scenario(text, "t.toml")
    assert words in str(e.value) and "\n" not in str(e.value) and "t.toml" in str(e.value)
