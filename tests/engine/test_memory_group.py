"""Memory groups (drivers/base/memory.c) and the group-aware auto-movable policy
(mm/memory_hotplug.c, 6.1): each test names the kernel function whose rule it checks."""

import pytest

from engine import NodeConfig
from engine import memory_group as mg
from engine import memory_hotplug as mh
from engine.errors import OpFailed
from engine.invariants import check_invariants
from engine.tx import Tx

from .conftest import GiB, MiB, machine, ok

BS = 128 * MiB


def am_machine(**kw):
    kw.setdefault("profile", "6.1")
    kw.setdefault("memory", 1 * GiB)
    kw.setdefault("block_size", BS)
    return machine(online_policy="auto-movable", **kw)


def kernel_early_pages(m) -> int:
    return sum(z.present_early for z in m.zones.values() if z.idx != 3 and z.populated())


def add_to_group(m, mgid: int, start: int, size: int) -> None:
    """What a driver does: add_memory_driver_managed(mgid, ..., MHP_NID_IS_MGID)."""
    mh.add_memory(m, Tx(), start, size, mgid, "virtio_mem", (mg.MHP_NID_IS_MGID,),
                  name="System RAM (virtio_mem)")


def zone_of_block(m, b: int) -> str:
    return m.block(b)["zone"]


# -- registration ----------------------------------------------------------------------------
def test_memory_group_register_static_refuses_zero_pages():
    m = am_machine()
    with pytest.raises(OpFailed) as e:
        mg.memory_group_register_static(m, Tx(), 0, 0)
    assert e.value.errno == "EINVAL" and "max_pages" in e.value.check


@pytest.mark.parametrize("unit_blocks", [0, 3, 0.5])
def test_memory_group_register_dynamic_refuses_bad_units(unit_blocks):
    m = am_machine()
    unit = int(unit_blocks * m.ppb)
    with pytest.raises(OpFailed) as e:
        mg.memory_group_register_dynamic(m, Tx(), 0, unit)
    assert e.value.errno == "EINVAL"


def test_memory_group_register_refuses_impossible_node():
    m = am_machine()
    with pytest.raises(OpFailed) as e:
        mg.memory_group_register_dynamic(m, Tx(), 7, m.ppb)
    assert "node_possible" in e.value.check


def test_memory_group_register_takes_the_lowest_free_id():
    m = am_machine()
    tx = Tx()
    a = mg.memory_group_register_static(m, tx, 0, 10)
    b = mg.memory_group_register_dynamic(m, tx, 0, m.ppb)
    mg.memory_group_unregister(m, tx, a)
    c = mg.memory_group_register_dynamic(m, tx, 0, 2 * m.ppb)
    assert (a, b, c) == (0, 1, 0)
    assert m.groups[0].unit_pages == 2 * m.ppb and m.groups[1].unit_pages == m.ppb
    tx.journal.rollback()
    assert m.groups == {}


def test_memory_group_unregister_refuses_a_group_with_blocks():
    m = am_machine()
    mgid = mg.memory_group_register_dynamic(m, None, 0, m.ppb)
    add_to_group(m, mgid, 4 * GiB, BS)
    with pytest.raises(OpFailed) as e:
        mg.memory_group_unregister(m, Tx(), mgid)
    assert e.value.errno == "EBUSY"


def test_add_memory_resource_with_unknown_mgid_is_einval():
    m = am_machine()
    with pytest.raises(OpFailed) as e:
        add_to_group(m, 5, 4 * GiB, BS)
    assert e.value.errno == "EINVAL" and "memory_group_find_by_id" in e.value.check


def test_add_memory_resource_with_mgid_takes_the_groups_node():
    m = machine(profile="6.1", online_policy="auto-movable", block_size=BS,
                nodes=(NodeConfig(0, 1 * GiB), NodeConfig(1, 1 * GiB)))
    mgid = mg.memory_group_register_dynamic(m, None, 1, m.ppb)
    add_to_group(m, mgid, 8 * GiB, BS)
    b = (8 * GiB) // BS
    assert m.block(b)["node"] == 1
    assert mg.group_of_block(m, b) is m.groups[mgid]


# -- groups on blocks, present pages per group --------------------------------------------
def test_acpi_memory_enable_device_registers_a_static_group_and_removal_drops_it():
    m = am_machine(auto_online="online")
    r = ok(m.hot_add(2 * BS, node=0, start=4 * GiB))
    assert "memory_group_register_static" in [e.func for e in r.events]
    (g,) = m.groups.values()
    assert (g.is_dynamic, g.max_pages, g.nid) == (False, 2 * m.ppb, 0)
    b0 = (4 * GiB) // BS
    assert mg.group_blocks(m, g.id) == [b0, b0 + 1]
    # adjust_present_page_count(): the group counts what is online, by zone kind
    assert g.present_movable_pages + g.present_kernel_pages == 2 * m.ppb
    ok(m.offline(b0))
    ok(m.offline(b0 + 1))
    assert g.present_movable_pages == g.present_kernel_pages == 0
    ok(m.remove(4 * GiB, 2 * BS))
    assert m.groups == {}
    assert check_invariants(m) == []


def test_undo_of_an_add_takes_its_group_back():
    m = am_machine(auto_online="online")
    before = m.fingerprint()
    ok(m.hot_add(BS, node=0, start=4 * GiB))
    assert len(m.groups) == 1
    m.undo()
    assert m.groups == {} and m.fingerprint() == before


def test_profiles_before_memory_groups_register_none():
    m = machine(profile="5.13", memory=1 * GiB, block_size=BS)
    ok(m.hot_add(BS, node=0, start=4 * GiB))
    assert m.groups == {}


# -- auto_movable_zone_for_pfn --------------------------------------------------------------
def ratio_limit_blocks(m) -> int:
    """How many blocks fit MOVABLE:KERNEL_EARLY <= ratio on this machine."""
    return (m.auto_movable_ratio * kernel_early_pages(m)) // 100 // m.ppb


def test_static_group_goes_movable_only_if_all_of_it_fits():
    m = am_machine()
    fit = ratio_limit_blocks(m)
    assert fit >= 2
    # a DIMM one block larger than the ratio allows: even its first block goes to a kernel zone
    ok(m.hot_add((fit + 1) * BS, node=0, start=4 * GiB))
    b0 = (4 * GiB) // BS
    ok(m.online(b0))
    assert zone_of_block(m, b0) == "Normal"
    # a DIMM that fits entirely goes MOVABLE
    ok(m.hot_add(fit * BS, node=0, start=16 * GiB))
    b1 = (16 * GiB) // BS
    ok(m.online(b1))
    assert zone_of_block(m, b1) == "Movable"


def test_static_group_with_kernel_memory_keeps_the_rest_in_the_kernel_zone():
    m = am_machine()
    ok(m.hot_add(2 * BS, node=0, start=4 * GiB))
    b0 = (4 * GiB) // BS
    ok(m.online(b0, "online_kernel"))
    ok(m.online(b0 + 1))
    assert zone_of_block(m, b0 + 1) == "Normal"
    # the same layout with the first block movable: the second follows to Movable
    ok(m.hot_add(2 * BS, node=0, start=8 * GiB))
    b1 = (8 * GiB) // BS
    ok(m.online(b1, "online_movable"))
    ok(m.online(b1 + 1))
    assert zone_of_block(m, b1 + 1) == "Movable"


def test_dynamic_group_decides_per_unit():
    m = am_machine()
    fit = ratio_limit_blocks(m)
    # unit of one block: a range far larger than the ratio still gets its first blocks MOVABLE
    mgid = mg.memory_group_register_dynamic(m, None, 0, m.ppb)
    add_to_group(m, mgid, 4 * GiB, (fit + 2) * BS)
    b0 = (4 * GiB) // BS
    for b in range(b0, b0 + fit + 2):
        ok(m.online(b))
    zones = [zone_of_block(m, b) for b in range(b0, b0 + fit + 2)]
    # one block past the ratio goes Normal; that kernel block of the group then lets the
    # same group carry more MOVABLE (auto_movable_can_online_movable: group->present_kernel_pages)
    assert zones == ["Movable"] * fit + ["Normal", "Movable"]
    assert check_invariants(m) == []


def test_dynamic_unit_with_kernel_memory_keeps_the_unit_in_the_kernel_zone():
    m = am_machine()
    mgid = mg.memory_group_register_dynamic(m, None, 0, 2 * m.ppb)
    add_to_group(m, mgid, 4 * GiB, 4 * BS)
    b0 = (4 * GiB) // BS
    ok(m.online(b0, "online_kernel"))
    ok(m.online(b0 + 1))            # same unit as b0: it has kernel memory online
    ok(m.online(b0 + 2))            # the next unit: judged on its own
    assert [zone_of_block(m, b) for b in (b0, b0 + 1, b0 + 2)] == ["Normal", "Normal", "Movable"]


def test_auto_movable_stats_account_group_other_groups_pay_with_their_kernel_memory():
    m = am_machine()
    fit = ratio_limit_blocks(m)
    limit = m.auto_movable_ratio * kernel_early_pages(m) // 100
    a = mg.memory_group_register_dynamic(m, None, 0, m.ppb)
    add_to_group(m, a, 4 * GiB, (fit + 2) * BS)
    b0 = (4 * GiB) // BS
    for b in range(b0, b0 + fit + 2):
        ok(m.online(b))
    ga = m.groups[a]
    assert (ga.present_movable_pages, ga.present_kernel_pages) == ((fit + 1) * m.ppb, m.ppb)
    # group a's movable memory is partly covered by its own kernel block, so it takes less
    # KERNEL_EARLY than plain zone stats say: anyone else (dynamic, static or no group)
    # may go past what MOVABLE:KERNEL_EARLY of the zones alone would allow
    gb = m.groups[mg.memory_group_register_dynamic(m, None, 0, m.ppb)]
    static = mg.MemoryGroup(-1, 0, False, max_pages=m.ppb)
    n = limit - (fit + 1) * m.ppb + 2 * m.ppb
    zones_movable = sum(z.present for z in m.zones.values() if z.name == "Movable")
    assert zones_movable + n > limit
    for g in (gb, static, None):
        assert mg.auto_movable_can_online_movable(m, None, g, n)
    assert not mg.auto_movable_can_online_movable(m, None, gb, n + 3 * m.ppb)


def test_auto_movable_can_online_movable_own_kernel_memory_allows_more_movable():
    m = am_machine()
    ke = kernel_early_pages(m)
    limit = m.auto_movable_ratio * ke // 100
    g = mg.MemoryGroup(-1, 0, True, unit_pages=m.ppb)
    mg.memory_group_register(m, None, g)
    assert not mg.auto_movable_can_online_movable(m, None, g, limit + m.ppb)
    g.present_kernel_pages = m.ppb      # a block of this group in ZONE_NORMAL
    assert mg.auto_movable_can_online_movable(m, None, g, limit + m.ppb)
    # ... but only for itself: a static group gets nothing from it
    s = mg.MemoryGroup(-1, 0, False, max_pages=m.ppb)
    s.present_kernel_pages = m.ppb
    assert not mg.auto_movable_can_online_movable(m, None, s, limit + m.ppb)


def test_auto_movable_ratio_zero_always_kernel():
    m = am_machine()
    m.auto_movable_ratio = 0
    mgid = mg.memory_group_register_dynamic(m, None, 0, m.ppb)
    g = m.groups[mgid]
    z = mg.auto_movable_zone_for_pfn(m, 0, g, (4 * GiB) >> m.page_shift, m.ppb)
    assert z.name == "Normal"
