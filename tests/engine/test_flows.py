"""The add/online/offline/remove/eject flows, their refusals and what they leave behind."""

import pytest

from engine import NodeConfig
from engine import states as S
from engine.invariants import check_invariants

from .conftest import GiB, MiB, machine, ok, refused

TiB = 1 << 40


def test_add_refusals_come_from_the_kernel_checks_in_order():
    m = machine()
    fp = m.fingerprint()
    r = refused(m.hot_add(128 * MiB, start=1 << 46), "E2BIG")
    assert "exceeds maximum addressable range" in r.dmesg[0]
    refused(m.hot_add(128 * MiB, start=2 * GiB), "EEXIST")           # boot RAM is there
    refused(m.hot_add(64 * MiB, start=8 * GiB), "EINVAL")            # not block-aligned
    refused(m.hot_add(128 * MiB, start=8 * GiB + 64 * MiB), "EINVAL")
    refused(m.hot_add(128 * MiB, node=7), "EINVAL")
    assert m.fingerprint() == fp                                      # nothing changed
    ok(m.hot_add(128 * MiB, start=8 * GiB))
    refused(m.hot_add(256 * MiB, start=8 * GiB - 128 * MiB), "EEXIST")


def test_la57_widens_the_physical_address_space():
    m = machine(la57=True)
    ok(m.hot_add(128 * MiB, start=1 << 46))


def test_classic_add_takes_memmap_from_existing_memory_and_can_oom():
    """The seed's story: a guest near OOM cannot afford the classic memmap."""
    for mode, expect_ok in ((False, False), (True, True)):
        m = machine(memmap_on_memory=mode)
        ok(m.alloc(node=0, leave_free=48 * MiB))
        free = m.meminfo()["MemFree"]
        r = m.hot_add(4 * GiB)         # classic: 64 MiB of memmap from existing memory
        if expect_ok:
            ok(r)
            assert m.meminfo()["MemFree"] == free       # the memmap lives on the new memory
        else:
            refused(r, "ENOMEM")
            # __add_pages() does not undo the sections it managed: they stay, eating memory
            assert r.left_behind and "stay present" in r.left_behind[0]
            assert m.meminfo()["MemFree"] < free
            assert check_invariants(m) == []
            # and a later add of the same range meets them
            again = refused(m.hot_add(4 * GiB, start=r.args["start"]), "EEXIST")
            assert "already active" in again.check


def test_classic_memmap_never_comes_from_zone_movable():
    m = machine(memmap_on_memory=False)
    a = ok(m.hot_add(1 * GiB)).args["start"]
    for b in m.resources()[0]["blocks"]:
        ok(m.online(b, "online_movable"))
    r = ok(m.hot_add(128 * MiB))
    sec = r.args["start"] >> 12 >> 15
    for back in m.section(sec)["memmap"]["backing"]:
        z = m.zone_of_pfn(back["start_pfn"])
        assert z.name != "Movable"


def test_memory_on_an_empty_node_gets_off_node_struct_pages():
    m = machine(memmap_on_memory=False, nodes=(NodeConfig(0, 4 * GiB), NodeConfig(1, 0)))
    assert [n["online"] for n in m.nodes_info()] == [True, False]
    r = ok(m.hot_add(256 * MiB, node=1))
    assert any("potential offnode page_structs" in d for d in r.dmesg)
    assert any(e.func == "__try_online_node" for e in r.events)
    sec = r.args["start"] >> 27
    assert {b["node"] for b in m.section(sec)["memmap"]["backing"]} == {0}
    # with the memmap on the memory itself, node 1 hosts its own struct pages
    m2 = machine(nodes=(NodeConfig(0, 4 * GiB), NodeConfig(1, 0)))
    r2 = ok(m2.hot_add(256 * MiB, node=1))
    assert not any("offnode" in d for d in r2.dmesg)
    assert {b["node"] for b in m2.section(r2.args["start"] >> 27)["memmap"]["backing"]} == {1}
    ok(m2.remove(r2.args["start"], 256 * MiB))
    assert [n["online"] for n in m2.nodes_info()] == [True, False]    # try_offline_node


def test_offline_refusals_and_migration():
    m = machine(nodes=(NodeConfig(0, 4 * GiB), NodeConfig(1, 2 * GiB)))
    start = ok(m.hot_add(256 * MiB)).args["start"]
    b0, b1 = start >> 27, (start >> 27) + 1
    ok(m.online(b0, "online_kernel"))
    ok(m.online(b1, "online_movable"))
    # unmovable pages in a kernel zone: isolation fails
    ok(m.alloc(block=b0, pages=10, kind="unmovable"))
    fp = m.fingerprint()
    r = refused(m.offline(b0), "EBUSY")
    assert "failure to isolate range" in r.check and m.fingerprint() == fp
    ok(m.free(block=b0, kind="unmovable"))
    # movable pages migrate, to another node first
    ok(m.alloc(block=b0, pages=1000, kind="movable"))
    r = ok(m.offline(b0))
    mig = [e for e in r.events if e.func == "migrate_pages"]
    assert mig and "node 1" in mig[0].outcome
    # a long-term pin in a kernel zone cannot migrate: the kernel retries until a signal
    ok(m.online(b0, "online_kernel"))
    ok(m.alloc(block=b0, pages=1, kind="pinned"))
    r = refused(m.offline(b0), "EINTR")
    assert "signal backoff" in r.check
    ok(m.free(block=b0, kind="pinned"))
    ok(m.offline(b0))
    # removal while a block is online
    r = refused(m.remove(start, 256 * MiB), "EBUSY")
    assert "is onlined" in r.dmesg[0]
    ok(m.offline(b1))
    ok(m.remove(start, 256 * MiB))
    assert check_invariants(m) == []


def test_pinning_a_movable_page_migrates_it_out_of_zone_movable():
    m = machine()
    start = ok(m.hot_add(128 * MiB)).args["start"]
    b = start >> 27
    ok(m.online(b, "online_movable"))
    refused(m.alloc(block=b, pages=1, kind="unmovable"), "EINVAL")
    r = ok(m.alloc(block=b, pages=1, kind="pinned"))
    ev = [e for e in r.events if e.func == "migrate_longterm_unpinnable_folios"]
    assert ev and "Normal" in ev[0].outcome
    lo, hi = m.block_range(b)
    assert S.PINNED not in set(m.pfn_states(lo, hi).tolist())
    # the pinned page is in a kernel zone now
    ok(m.offline(b))


def test_eject_that_fails_halfway_puts_blocks_back_with_the_policy_zone():
    m = machine()
    start = ok(m.hot_add(256 * MiB)).args["start"]
    b0, b1 = start >> 27, (start >> 27) + 1
    ok(m.online(b0, "online_movable"))
    ok(m.online(b1, "online_kernel"))
    ok(m.alloc(block=b1, pages=10, kind="unmovable"))
    r = refused(m.eject(start, 256 * MiB), "EBUSY")
    assert r.left_behind
    assert any("Offline failed." in d for d in r.dmesg)
    # memory_subsys_online() re-onlines with MMOP_ONLINE: block b0 was Movable and comes
    # back in Normal, the kernel zone that now spans it
    assert m.block(b0)["state"] == "online" and m.block(b0)["valid_zones"] == "Normal"
    assert check_invariants(m) == []
    ok(m.free(block=b1, kind="unmovable"))
    ok(m.eject(start, 256 * MiB))
    assert m.resources() == []


def test_eject_needs_a_whole_dimm():
    m = machine()
    start = ok(m.hot_add(256 * MiB)).args["start"]
    refused(m.eject(start, 128 * MiB), "ENODEV")


def test_page_table_pages_come_from_the_buddy_and_go_back():
    m = machine()
    free0 = m.meminfo()["MemFree"]
    ok(m.hot_add(128 * MiB))                 # next to boot memory: no new table
    assert m.meminfo()["MemFree"] == free0
    r = ok(m.hot_add(128 * MiB, start=64 * GiB))   # a new 1 GiB stretch of vmemmap
    assert any(e.func == "vmemmap_pmd_populate" for e in r.events)
    assert m.meminfo()["MemFree"] == free0 - 4
    ok(m.remove(64 * GiB, 128 * MiB))
    assert m.meminfo()["MemFree"] == free0


@pytest.mark.parametrize("la57,freed", [(False, False), (True, True)])
def test_x86_four_level_never_frees_pud_tables(la57, freed):
    m = machine(la57=la57)
    free0 = m.meminfo()["MemFree"]
    at = 40 * TiB
    ok(m.hot_add(128 * MiB, start=at))
    assert m.meminfo()["MemFree"] == free0 - 8          # a PUD table and a PMD table
    ok(m.remove(at, 128 * MiB))
    assert m.meminfo()["MemFree"] == free0 - (0 if freed else 4)


def test_auto_online_and_valid_zones():
    m = machine(auto_online="online")
    r = ok(m.hot_add(256 * MiB))
    blocks = m.resources()[0]["blocks"]
    assert all(m.block(b)["state"] == "online" for b in blocks)
    assert all(m.block(b)["valid_zones"] == "Normal" for b in blocks)
    m = machine(movable_node=True)
    start = ok(m.hot_add(128 * MiB, start=16 * GiB)).args["start"]
    assert m.block(start >> 27)["valid_zones"] == "Movable Normal"


def test_auto_movable_policy_keeps_the_ratio():
    m = machine(online_policy="auto-movable", memory=1 * GiB, profile="6.8")
    # 301% of ~1 GiB of boot kernel memory may be MOVABLE
    got = []
    for _ in range(4):
        r = ok(m.hot_add(1 * GiB))
        for b in m.resources()[-1]["blocks"] if False else []:
            pass
        res = [x for x in m.resources() if x["start"] == r.args["start"]][0]
        for b in res["blocks"]:
            ok(m.online(b, "online"))
        got.append({m.block(b)["valid_zones"] for b in res["blocks"]})
    assert got[0] == {"Movable"} and got[-1] == {"Normal"}


def test_undo_restores_every_operation():
    m = machine()
    fp0 = m.fingerprint()
    start = ok(m.hot_add(256 * MiB)).args["start"]
    fps = [m.fingerprint()]
    ok(m.online(start >> 27, "online_movable"))
    fps.append(m.fingerprint())
    ok(m.alloc(node=0, pages=5000, kind="movable"))
    fps.append(m.fingerprint())
    ok(m.alloc(block=start >> 27, pages=1, kind="pinned"))
    for fp in reversed(fps):
        assert m.undo()
        assert m.fingerprint() == fp
    assert m.undo() and m.fingerprint() == fp0
    assert not m.can_undo
    r = m.redo()
    assert r.ok and m.fingerprint() == fps[0]


def test_replaying_history_is_deterministic():
    m = machine()
    ok(m.hot_add(1 * GiB))
    ok(m.online(40, "online_movable"))
    ok(m.alloc(node=0, pages=12345, kind="unmovable"))
    m2 = machine()
    for op in m.history:
        m2.apply(op)
    assert m2.fingerprint() == m.fingerprint()


def test_allocating_in_a_boot_block_that_spans_two_zones():
    m = machine(profile="6.1", memory=512 * MiB)
    ok(m.alloc(block=0, pages=5000, kind="movable"))     # block 0 holds DMA and DMA32
    assert check_invariants(m) == []
    ok(m.free(block=0, kind="movable"))
    assert check_invariants(m) == []
