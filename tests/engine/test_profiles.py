"""Kernel profiles: resolution, configuration errors, and where the versions differ."""

import pytest

from engine import ConfigError, Machine, MachineConfig, NodeConfig, resolve_profile
from engine import states as S
from engine.procfs import kpageflags_runs, kpf_names

from .conftest import GiB, MiB, machine, ok, refused


@pytest.mark.parametrize("asked,got", [("6.12", "6.11"), ("6.7", "6.6"), ("5.15", "5.13"),
                                        ("7.9", "7.2"), ("6.1", "6.1"), ("rfc-2017", "rfc-2017"),
                                        (None, "7.2"), ("v6.9.3", "6.8")])
def test_a_version_selects_the_newest_profile_at_or_below_it(asked, got):
    assert resolve_profile(asked).name == got


def test_versions_below_the_first_upstream_profile_are_refused():
    with pytest.raises(KeyError, match="5.13"):
        resolve_profile("5.10")


@pytest.mark.parametrize("kw,needle", [
    (dict(profile="6.1", memmap_on_memory="force"), "force"),
    (dict(profile="5.13", online_policy="auto-movable"), "auto-movable"),
    (dict(profile="rfc-2017", auto_online="online_movable"), "auto_online"),
    (dict(profile="6.1", arch="ppc64-radix-64k"), "6.6"),
    (dict(arch="sparc"), "arch"),
    (dict(struct_page_size=7), "struct_page_size"),
    (dict(block_size=3 << 20), "block_size"),
])
def test_knobs_a_profile_did_not_have_are_configuration_errors(kw, needle):
    with pytest.raises(ConfigError, match=needle):
        Machine(MachineConfig(**kw))


def _hot(m, size, via="acpi"):
    return m.hot_add(size, via=via)


@pytest.mark.parametrize("profile,acpi_memmap,driver_errno", [
    ("5.13", "buddy", "EINVAL"), ("6.1", "buddy", "EINVAL"),
    ("6.6", "buddy", None), ("6.8", "altmap-block", None), ("6.11", "altmap-block", None),
])
def test_multi_block_adds_by_version(profile, acpi_memmap, driver_errno):
    m = machine(profile=profile)
    r = ok(_hot(m, 1 * GiB))
    assert m.resources()[0]["memmap"] == acpi_memmap
    blocks = [m.block(b) for b in m.resources()[0]["blocks"]]
    want = 512 if acpi_memmap == "altmap-block" else 0
    assert all(b["nr_vmemmap_pages"] == want for b in blocks)
    r = _hot(m, 1 * GiB, via="driver")
    if driver_errno:
        refused(r, driver_errno)
    else:
        ok(r)


def test_rfc_packs_every_section_memmap_at_the_start_of_the_add():
    m = machine(profile="rfc-2017")
    r = ok(m.hot_add(1 * GiB))
    lo = r.args["start"] >> 12
    runs = [(int(a) - lo, int(b) - lo, S.NAMES[c]) for a, b, c in zip(*m.state_runs(lo, lo + 262144))]
    assert runs == [(0, 4096, "memmap-self"), (4096, 262144, "offline")]
    # 8 sections' memmaps all in the first block; the rest of the blocks carry none
    assert m.block(lo // m.ppb)["nr_vmemmap_pages"] == 0   # the RFC had no per-block count
    # PageVmemmap: reserved + the VMEMMAP_PAGE mapping marker, already at add time
    sp = m.struct_page(lo)
    assert sp["flags"] == ["reserved"] and sp["mapping"] == "VMEMMAP_PAGE"
    # onlining skips the marked pages; they are not even counted present
    ok(m.online(lo // m.ppb, "online_movable"))
    z = [z for z in m.zoneinfo() if z["zone"] == "Movable"][0]
    assert z["present"] == 32768 - 4096 and z["managed"] == 32768 - 4096
    ok(m.offline(lo // m.ppb))
    # removal: the range goes as a whole or not at all
    refused(m.remove(r.args["start"], 128 * MiB), "EINVAL")
    ok(m.remove(r.args["start"], 1 * GiB))


@pytest.mark.parametrize("profile,online_flags,offline_flags", [
    ("5.13", ["RESERVED"], ["NOPAGE"]),
    ("6.1", ["RESERVED", "OWNER_PRIVATE"], ["NOPAGE"]),
    ("6.8", ["RESERVED", "OWNER_PRIVATE"], ["NOPAGE"]),
    ("6.11", ["OWNER_PRIVATE"], ["NOPAGE"]),
    ("7.2", ["OWNER_PRIVATE"], []),
])
def test_page_flags_of_self_hosted_and_offline_pages(profile, online_flags, offline_flags):
    m = machine(profile=profile)
    r = ok(m.hot_add(128 * MiB))
    lo = r.args["start"] >> 12
    runs = kpageflags_runs(m, lo, lo + 32768)
    assert all(kpf_names(f) == offline_flags for *_, f in runs)
    ok(m.online(lo // m.ppb, "online_movable"))
    runs = kpageflags_runs(m, lo, lo + 32768)
    assert kpf_names(runs[0][3]) == online_flags and runs[0][:2] == (lo, lo + 512)
    assert kpf_names(runs[1][3]) == ["BUDDY"]


@pytest.mark.parametrize("profile,split_removal", [("5.13", False), ("6.6", False), ("6.8", True)])
def test_removal_granularity(profile, split_removal):
    m = machine(profile=profile)
    a = ok(m.hot_add(128 * MiB)).args["start"]
    b = ok(m.hot_add(128 * MiB)).args["start"]
    assert b == a + 128 * MiB
    r = m.remove(a, 256 * MiB)       # two self-hosted blocks in one call
    if split_removal:
        ok(r)
        assert [b["id"] for b in m.blocks() if not b["boot"]] == []
        # kernel/resource.c release_mem_region_adjustable(): no single busy resource holds
        # the whole range, so neither "System RAM" entry is released (see test_iomem.py)
        assert [(x["start"], x["size"]) for x in m.resources()] == [(a, 128 * MiB), (b, 128 * MiB)]
    else:
        refused(r, "EINVAL")
        assert "granularity" in r.check
        ok(m.remove(a, 128 * MiB))
        ok(m.remove(b, 128 * MiB))


def test_memmap_on_memory_is_read_only_at_run_time():
    m = machine()
    refused(m.set(memmap_on_memory=False), "EPERM")
    ok(m.set(auto_online="online_movable"))
    r = ok(m.hot_add(128 * MiB))
    assert m.block(r.args["start"] // m.block_size)["state"] == "online"
    assert m.block(r.args["start"] // m.block_size)["valid_zones"] == "Movable"


@pytest.mark.parametrize("arch,mode,expect", [
    ("arm64-4k", True, "altmap-block"),
    ("arm64-64k", True, "buddy"),           # 8 memmap pages: not whole PMDs
    ("arm64-64k", "force", "buddy"),        # padding would fill the whole block
    ("ppc64-radix-64k", True, "buddy"),     # 4 pages, not pageblock-aligned
    ("ppc64-radix-64k", "force", "altmap-block"),   # padded to 32: 28 wasted
])
def test_architectures(arch, mode, expect):
    m = machine(arch=arch, memmap_on_memory=mode)
    ok(m.hot_add(m.block_size))
    assert m.resources()[0]["memmap"] == expect
    if arch == "ppc64-radix-64k" and mode == "force":
        b = m.block(m.resources()[0]["blocks"][0])
        assert b["nr_vmemmap_pages"] == 32
        lo = b["start_pfn"]
        states = [S.NAMES[c] for c in m.state_runs(lo, lo + 32)[2]]
        assert states == ["memmap-self", "memmap-pad"]


@pytest.mark.parametrize("memory,hypervisor,profile,block", [
    (512 * MiB, True, "7.2", 128 * MiB),
    (60 * GiB, True, "7.2", 128 * MiB),      # boot memory ends at 61 GiB: below the 64 GiB limit
    (63 * GiB, True, "7.2", 2 * GiB),        # ends at exactly 64 GiB (3 GiB low + 60 GiB from 4 GiB)
    (64 * GiB, True, "7.2", 1 * GiB),        # ends at 65 GiB in QEMU: the largest power of two dividing it
    (64 * GiB, False, "7.2", 2 * GiB),       # bare metal takes 2 GiB outright (5.9+)
    (64 * GiB, True, "rfc-2017", 2 * GiB),   # before 4.17: 2 GiB once boot memory reaches 64 GiB
    (125 * GiB, True, "6.1", 2 * GiB),       # ends at 128 GiB
])
def test_x86_memory_block_size_probe(memory, hypervisor, profile, block):
    m = Machine(MachineConfig(profile=profile, hypervisor=hypervisor, nodes=(NodeConfig(0, memory),)))
    assert m.block_size == block


def test_arm64_blocks_are_one_section():
    assert machine(arch="arm64-4k").block_size == 128 * MiB
    assert machine(arch="arm64-64k").block_size == 512 * MiB
