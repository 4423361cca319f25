"""dax/kmem (drivers/dax/kmem.c, drivers/dax/bus.c) as via="kmem", against the generic driver."""

from engine.invariants import check_invariants
from engine.sysfs import render_files

from .conftest import GiB, MiB, machine, ok, refused

START = 0x140000000          # above 4 GiB of boot RAM on the default x86 machine


def _res(m):
    return m.resources()[-1]


def test_kmem_before_6_8_never_asks_for_memmap_on_memory():
    # kmem.c dev_dax_kmem_probe (6.1): add_memory_driver_managed(mgid, ..., MHP_NID_IS_MGID)
    m = machine(profile="6.1", memmap_on_memory=True)
    free = m.meminfo()["MemFree"]
    r = ok(m.hot_add(128 * MiB, start=START, via="kmem"))
    assert _res(m)["memmap"] == "buddy"
    assert m.block(START // m.block_size)["nr_vmemmap_pages"] == 0
    assert free - m.meminfo()["MemFree"] == 2048          # the 2 MiB memmap came from the buddy
    assert any("MHP_NID_IS_MGID" in e.line() and "MEMMAP" not in e.line() for e in r.events)


def test_kmem_and_generic_driver_differ_on_a_multi_block_add_in_6_1():
    # the generic caller always sets MHP_MEMMAP_ON_MEMORY: add_memory_resource() refuses a
    # multi-block add with -EINVAL before 6.6; kmem does not ask, so it adds
    m = machine(profile="6.1", memmap_on_memory=True)
    refused(m.hot_add(1 * GiB, start=START, via="driver"), "EINVAL")
    ok(m.hot_add(1 * GiB, start=START, via="kmem"))
    assert _res(m)["memmap"] == "buddy"


def test_memmap_on_memory_attribute_is_absent_before_6_8():
    m = machine(profile="6.6", memmap_on_memory=True)
    before = m.fingerprint()
    r = refused(m.hot_add(128 * MiB, start=START, via="kmem", memmap_on_memory=True), "ENOENT")
    assert "6.8" in r.check
    assert m.fingerprint() == before


def test_kmem_6_8_attribute_default_false_keeps_the_memmap_in_the_buddy():
    # Documentation/ABI/testing/sysfs-bus-dax: memmap_on_memory defaults to 0
    m = machine(profile="6.8", memmap_on_memory=True)
    ok(m.hot_add(1 * GiB, start=START, via="kmem"))
    assert _res(m)["memmap"] == "buddy"
    assert all(m.block(b)["nr_vmemmap_pages"] == 0 for b in _res(m)["blocks"])


def test_kmem_6_8_attribute_set_puts_the_memmap_on_each_block():
    # kmem.c (6.8): mhp_flags |= MHP_MEMMAP_ON_MEMORY when dev_dax->memmap_on_memory;
    # memory_hotplug.c create_altmaps_and_memory_blocks() then gives each block its altmap
    m = machine(profile="6.8", memmap_on_memory=True)
    free = m.meminfo()["MemFree"]
    ok(m.hot_add(1 * GiB, start=START, via="kmem", memmap_on_memory=True))
    assert _res(m)["memmap"] == "altmap-block"
    assert [m.block(b)["nr_vmemmap_pages"] for b in _res(m)["blocks"]] == [512] * 8
    assert m.meminfo()["MemFree"] == free


def test_attribute_store_refuses_when_the_core_cannot():
    # bus.c memmap_on_memory_store(): val && !mhp_supports_memmap_on_memory() -> -EOPNOTSUPP
    m = machine(profile="6.8", memmap_on_memory=False)
    before = m.fingerprint()
    r = refused(m.hot_add(128 * MiB, start=START, via="kmem", memmap_on_memory=True), "EOPNOTSUPP")
    assert "mhp_supports_memmap_on_memory" in r.check
    assert m.fingerprint() == before


def test_dax_kmem_range_trims_to_whole_blocks():
    # kmem.c dax_kmem_range(): ALIGN(start) .. ALIGN_DOWN(end) to memory_block_size_bytes()
    m = machine(profile="6.8")
    bs = m.block_size
    ok(m.hot_add(3 * bs, start=START + bs // 2, via="kmem"))
    r = _res(m)
    assert (r["start"], r["size"]) == (START + bs, 2 * bs)


def test_dax_region_without_a_whole_block_is_rejected():
    m = machine(profile="6.8")
    r = refused(m.hot_add(m.block_size, start=START + m.block_size // 2, via="kmem"), "EINVAL")
    assert "rejecting DAX region without any memory after alignment" in r.dmesg[-1]
    assert m.resources() == []


def test_kmem_registers_a_driver_managed_resource_below_its_dax_region():
    # kmem.c: request_mem_region(..., "dax0.0") with IORESOURCE_SYSTEM_RAM (not busy), then
    # register_memory_resource() adds "System RAM (kmem)" with IORESOURCE_SYSRAM_DRIVER_MANAGED
    m = machine(profile="6.8")
    r = ok(m.hot_add(128 * MiB, start=START, via="kmem"))
    res = _res(m)
    assert res["name"] == "System RAM (kmem)" and res["parent"] == "dax0.0"
    assert "IORESOURCE_SYSRAM_DRIVER_MANAGED" in res["flags"]
    iomem = render_files(m)["proc/iomem"].splitlines()
    i = iomem.index(f"{START:x}-{START + 128 * MiB - 1:x} : dax0.0")
    assert iomem[i + 1] == f"  {START:x}-{START + 128 * MiB - 1:x} : System RAM (kmem)"
    # add_memory_resource(): only plain "System RAM" gets a firmware memmap entry
    assert not any("firmware_map_add_hotplug" in e.line() for e in r.events)
    ok(m.hot_add(128 * MiB, start=START + GiB, via="kmem"))
    assert _res(m)["parent"] == "dax1.0"
    assert check_invariants(m) == []


def test_kmem_region_conflict_is_busy():
    # kmem.c: request_mem_region() fails -> "could not reserve region", -EBUSY
    m = machine(profile="6.8")
    r = refused(m.hot_add(128 * MiB, start=0x100000000, via="kmem"), "EBUSY")
    assert "could not reserve region" in r.dmesg[-1]


def test_static_group_decides_as_a_whole_under_auto_movable():
    # memory_hotplug.c auto_movable_zone_for_pfn(): a static group asks for all of its
    # max_pages; a caller without a group only for the block being onlined
    m = machine(profile="6.8", online_policy="auto-movable", memmap_on_memory=False)
    big = 16 * GiB            # more than 301% of the ~4 GiB of early kernel memory
    ok(m.hot_add(big, start=8 * GiB, via="kmem"))
    first = 8 * GiB // m.block_size
    ok(m.online(first))
    assert m.block(first)["zone"] == "Normal"
    ok(m.hot_add(big, start=32 * GiB, via="driver"))
    other = 32 * GiB // m.block_size
    ok(m.online(other))
    assert m.block(other)["zone"] == "Movable"


def test_a_kernel_block_keeps_the_rest_of_a_static_group_in_the_kernel():
    # auto_movable_zone_for_pfn(): "If anything is kernel, we cannot online this as movable."
    m = machine(profile="6.8", online_policy="auto-movable", memmap_on_memory=False)
    ok(m.hot_add(256 * MiB, start=START, via="kmem"))
    b0 = START // m.block_size
    ok(m.online(b0, "online_kernel"))
    ok(m.online(b0 + 1))
    assert m.block(b0 + 1)["zone"] == "Normal"
