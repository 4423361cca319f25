"""Every figure of observed-6.1.md, reproduced by the 6.1 profile."""

from engine import states as S
from engine.procfs import kpageflags_runs, kpf_names

from .conftest import GiB, MiB, machine, ok, refused

DIMM = 0x100000000


def _movable(m):
    return [z for z in m.zoneinfo() if z["node"] == 0 and z["zone"] == "Movable"][0]


def _flags(m, lo, hi):
    return [(a, b, S.NAMES[c], kpf_names(f)) for a, b, c, f in kpageflags_runs(m, lo, hi)]


def test_boot_layout(vm61):
    m = vm61
    assert m.block_size == 0x8000000 and f"{m.block_size:x}" == "8000000"
    blocks = {b["id"]: b for b in m.blocks()}
    assert sorted(blocks) == [0, 1, 2, 3]
    assert blocks[0]["valid_zones"] == "none"
    assert all(blocks[i]["valid_zones"] == "DMA32" for i in (1, 2, 3))
    assert all(b["phys_device"] == 0 and b["removable"] == 1 for b in blocks.values())
    zones = {z["zone"]: z for z in m.zoneinfo() if z["node"] == 0}
    assert zones["DMA"]["start_pfn"] == 1 and zones["DMA"]["spanned"] == 4095
    assert zones["Normal"]["spanned"] == 0            # no Normal zone at boot
    assert m.auto_online == "offline" and m.online_policy == "contig-zones"
    assert m.auto_movable_ratio == 301


def test_dimm_with_memmap_on_memory(vm61):
    m = vm61
    before = m.meminfo()
    r = ok(m.hot_add(128 * MiB))
    assert r.args["start"] == DIMM                      # first DIMM at 4 GiB: block 32
    b = m.block(32)
    assert b["state"] == "offline" and b["valid_zones"] == "Normal Movable"
    assert m.meminfo() == before                        # nothing taken from existing memory
    assert _flags(m, 0x100000, 0x108000) == [(0x100000, 0x100200, "memmap-self", ["NOPAGE"]),
                                             (0x100200, 0x108000, "offline", ["NOPAGE"])]
    ok(m.online(32, "online_movable"))
    assert m.block(32)["state"] == "online" and m.block(32)["valid_zones"] == "Movable"
    assert m.meminfo()["MemTotal"] - before["MemTotal"] == 129024
    z = _movable(m)
    assert (z["spanned"], z["present"], z["managed"]) == (32768, 32768, 32256)
    assert _flags(m, 0x100000, 0x108000) == [
        (0x100000, 0x100200, "memmap-self", ["RESERVED", "OWNER_PRIVATE"]),
        (0x100200, 0x108000, "free", ["BUDDY"])]
    r = ok(m.offline(32))
    assert "Offlined Pages 32256" in r.dmesg
    assert m.meminfo() == before
    assert _movable(m)["spanned"] == 0 and _movable(m)["present"] == 0
    assert all(f == ["NOPAGE"] for *_, f in _flags(m, 0x100000, 0x108000))
    ok(m.remove(DIMM, 128 * MiB))
    assert m.block(32) is None
    assert m.meminfo() == before


def test_dimm_without_memmap_on_memory():
    m = machine(profile="6.1", memory=512 * MiB, memmap_on_memory=False)
    before = m.meminfo()
    ok(m.hot_add(128 * MiB))
    after = m.meminfo()
    assert after["MemFree"] - before["MemFree"] == -2048
    assert after["MemTotal"] == before["MemTotal"]
    ok(m.online(32, "online_movable"))
    assert m.meminfo()["MemTotal"] - before["MemTotal"] == 131072
    z = _movable(m)
    assert z["present"] == 32768 and z["managed"] == 32768
    assert not any(s == "memmap-self" for *_, s, _ in _flags(m, 0x100000, 0x108000))
    ok(m.offline(32))
    ok(m.remove(DIMM, 128 * MiB))
    assert m.meminfo()["MemFree"] - after["MemFree"] == 2048
    assert m.meminfo() == before


def test_refusals(vm61):
    m = vm61
    ok(m.hot_add(128 * MiB))
    refused(m.offline(32), "EINVAL")                  # already offline
    ok(m.online(32, "online_kernel"))
    for t in ("online", "online_kernel", "online_movable"):
        refused(m.online(32, t), "EINVAL")            # already online
    ok(m.alloc(block=32, pages=64, kind="unmovable"))
    r = refused(m.offline(32), "EBUSY")
    assert any("unmovable page" in line for line in r.dmesg)
    assert ("memory offlining [mem 0x100000000-0x107ffffff] failed due to failure to isolate range"
            in r.dmesg) or any("failed due to failure to isolate range" in d for d in r.dmesg)
