"""/proc/iomem across removals (kernel/resource.c release_mem_region_adjustable), the ACPI
memory driver's handling of add_memory errors (drivers/acpi/acpi_memhotplug.c), and the
BUG_ON of a misaligned remove_memory (mm/memory_hotplug.c try_remove_memory)."""

from engine import Machine

from .conftest import MiB, machine, ok, refused


def _iomem_hotplug(m):
    return [(x["start"], x["size"]) for x in m.resources()]


def test_removing_the_first_block_trims_the_resource_start():
    # release_mem_region_adjustable(): res->start == start -> __adjust_resource(res, end + 1, ...)
    m = machine(profile="6.1", memmap_on_memory=False)
    a = ok(m.hot_add(256 * MiB)).args["start"]
    ok(m.remove(a, 128 * MiB))
    assert _iomem_hotplug(m) == [(a + 128 * MiB, 128 * MiB)]


def test_removing_a_middle_block_splits_the_resource():
    # release_mem_region_adjustable(): neither edge matches -> split into two entries
    m = machine(profile="6.1", memmap_on_memory=False)
    a = ok(m.hot_add(384 * MiB)).args["start"]
    r = ok(m.remove(a + 128 * MiB, 128 * MiB))
    assert _iomem_hotplug(m) == [(a, 128 * MiB), (a + 256 * MiB, 128 * MiB)]
    assert any(e.func == "release_mem_region_adjustable" and "split in two" in e.outcome for e in r.events)


def test_a_removal_spanning_two_resources_releases_nothing_and_blocks_a_later_add():
    # release_mem_region_adjustable(): only a resource containing [start, end] is adjusted;
    # two DIMMs removed in one call match none, so both entries stay (silently). A later
    # add there: register_memory_resource() -> __request_region() conflicts -> -EEXIST
    m = machine(profile="6.1", memmap_on_memory=False, dyndbg=True)
    a = ok(m.hot_add(128 * MiB)).args["start"]
    b = ok(m.hot_add(128 * MiB)).args["start"]
    assert b == a + 128 * MiB
    r = ok(m.remove(a, 256 * MiB))
    assert [x["id"] for x in m.blocks() if not x["boot"]] == []
    assert _iomem_hotplug(m) == [(a, 128 * MiB), (b, 128 * MiB)]
    assert [x["blocks"] for x in m.resources()] == [[], []]     # stale: no memory block behind
    assert any("nothing released" in e.outcome for e in r.events if e.func == "release_mem_region_adjustable")
    r = refused(m.hot_add(128 * MiB, start=a), "EEXIST")
    # pr_debug("Unable to reserve System RAM region: %016llx->%016llx\n", start, start + size)
    assert f"Unable to reserve System RAM region: {a:016x}->{a + 128 * MiB:016x}" in r.dmesg


def test_acpi_driver_counts_eexist_as_enabled():
    # acpi_memory_enable_device(): "if (result && result != -EEXIST) continue;" - an EEXIST
    # range is bound and counted, the driver attaches without an error message
    m = machine(profile="6.1")
    a = ok(m.hot_add(256 * MiB)).args["start"]
    r = refused(m.hot_add(128 * MiB, start=a), "EEXIST")
    assert not any("add_memory failed" in d for d in r.dmesg)
    assert any(e.func == "acpi_memory_enable_device" and "counted as enabled" in e.outcome for e in r.events)


def test_acpi_driver_reports_other_add_memory_errors():
    # acpi_memory_enable_device(): no range enabled -> dev_err "add_memory failed", -EINVAL;
    # acpi_memory_device_add(): dev_err "acpi_memory_enable_device() error"
    m = machine(profile="6.1")
    r = refused(m.hot_add(100 * MiB, start=0x140000000), "EINVAL")
    assert r.dmesg[-2:] == ["acpi PNP0C80:00: add_memory failed",
                            "acpi PNP0C80:00: acpi_memory_enable_device() error"]
    r = refused(m.hot_add(128 * MiB, start=1 << 60), "E2BIG")
    assert "acpi PNP0C80:00: add_memory failed" in r.dmesg
    # a driver-managed add goes through no ACPI driver
    r = refused(m.hot_add(100 * MiB, start=0x140000000, via="driver"), "EINVAL")
    assert not any("PNP0C80" in d for d in r.dmesg)


def test_misaligned_remove_memory_is_a_kernel_bug():
    # try_remove_memory(): BUG_ON(check_hotplug_memory_range(start, size)) in every version
    m = machine(profile="6.1")
    a = ok(m.hot_add(256 * MiB)).args["start"]
    before = m.fingerprint()
    r = m.remove(a, 64 * MiB)
    assert not r.ok and r.errno == "BUG"
    assert "BUG_ON(check_hotplug_memory_range" in r.check
    assert r.dmesg[0].startswith("Block size [0x8000000] unaligned hotplug range")
    assert "kernel BUG at mm/memory_hotplug.c!" in r.dmesg
    # the machine has stopped: every operation is refused, naming the BUG and its check
    r2 = m.online(a // m.block_size)
    assert not r2.ok and r2.errno == "BUG" and "kernel BUG" in r2.error
    assert "BUG_ON(check_hotplug_memory_range" in r2.check
    # undo takes the oops back; redo runs into it again
    assert m.undo() and m.fingerprint() == before
    assert m.redo().errno == "BUG"
    assert m.undo()
    ok(m.online(a // m.block_size))
    again = Machine(m.config)
    for op in m.history:
        again.apply(op)
    assert again.fingerprint() == m.fingerprint()


def test_ejecting_a_stale_dimm_releases_its_entry_with_warnings():
    # acpi_memory_remove_memory() -> __remove_memory() -> try_remove_memory() on a range whose
    # memory is gone: no block to check, remove_memory_block_devices() WARN_ON_ONCE(!mem),
    # sparse_remove_section() WARN_ON_ONCE(!valid_section()), and release_mem_region_adjustable()
    # now finds the entry that holds exactly the range: it is released, the range usable again
    m = machine(profile="6.1", memmap_on_memory=False)
    a = ok(m.hot_add(128 * MiB)).args["start"]
    b = ok(m.hot_add(128 * MiB)).args["start"]
    ok(m.remove(a, 256 * MiB))
    r = ok(m.eject(a, 128 * MiB))
    assert "WARNING: CPU: 0 PID: 1 at drivers/base/memory.c remove_memory_block_devices" in r.dmesg
    assert _iomem_hotplug(m) == [(b, 128 * MiB)]
    r = ok(m.remove(b, 128 * MiB))
    assert not any(d.startswith("WARNING") for d in r.dmesg)        # WARN_ON_ONCE: once per boot
    assert _iomem_hotplug(m) == []
    ok(m.hot_add(128 * MiB, start=a))
