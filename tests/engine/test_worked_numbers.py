"""kernel-facts §9: worked numbers for x86_64 with a 64-byte struct page and 4 KiB pages."""

import pytest

from engine import states as S
from engine.memory_hotplug import memory_block_memmap_on_memory_pages, mhp_supports_memmap_on_memory

from .conftest import GiB, MiB, machine, ok


@pytest.mark.parametrize("block,pages,vmemmap,pmds", [
    (128 * MiB, 32768, 512, 1),
    (1 * GiB, 262144, 4096, 8),
    (2 * GiB, 524288, 8192, 16),
])
def test_block_memmap_numbers(block, pages, vmemmap, pmds):
    m = machine(block_size=block, memory=4 * GiB)
    assert m.ppb == pages
    assert memory_block_memmap_on_memory_pages(m) == vmemmap
    r = ok(m.hot_add(block, start=8 * GiB))
    b = m.block(r.args["start"] >> 12 >> 0 and (r.args["start"] // block))
    assert b["nr_vmemmap_pages"] == vmemmap
    lo = r.args["start"] >> 12
    runs = m.state_runs(lo, lo + pages)
    # the memmap sits at the start of the block, the rest waits offline
    assert [(int(a) - lo, int(e) - lo, S.NAMES[c]) for a, e, c in zip(*runs)] == [
        (0, vmemmap, "memmap-self"), (vmemmap, pages, "offline")]
    # one PMD per section, all of them in section 0
    sec0 = lo // m.pps
    units = [k for k, v in m.vmap.items() if v[2] == "altmap" and lo <= v[0] < lo + pages]
    assert len(units) == pmds
    assert all(m.vmap[k][0] // m.pps == sec0 for k in units)
    ok(m.online(b["id"], "online_movable"))
    z = [z for z in m.zoneinfo() if z["zone"] == "Movable"][0]
    assert z["present"] == pages and z["managed"] == pages - vmemmap
    # the first buddy pfn is one pageblock (or more) into the block
    first_free = next(int(a) for a, e, c in zip(*m.state_runs(lo, lo + pages)) if c == S.FREE)
    assert first_free - lo == vmemmap


def test_force_mode_pads_to_the_pageblock():
    # with hugetlb, 512 pages are already one pageblock: force wastes nothing
    m = machine(memmap_on_memory="force", profile="6.8")
    assert memory_block_memmap_on_memory_pages(m) == 512
    # without hugetlb the pageblock is 1024 pages: plain "on" is refused, force pads
    m = machine(memmap_on_memory=True, hugetlb=False, profile="6.8")
    ok_, why = mhp_supports_memmap_on_memory(m)
    assert not ok_ and "pageblock" in why
    m = machine(memmap_on_memory="force", hugetlb=False, profile="6.8")
    assert memory_block_memmap_on_memory_pages(m) == 1024
    r = ok(m.hot_add(128 * MiB))
    lo = r.args["start"] >> 12
    runs = [(int(a) - lo, int(e) - lo, S.NAMES[c]) for a, e, c in zip(*m.state_runs(lo, lo + 32768))]
    assert runs == [(0, 512, "memmap-self"), (512, 1024, "memmap-pad"), (1024, 32768, "offline")]
    b = m.block_of(lo)
    assert m.block(b)["nr_vmemmap_pages"] == 1024
    ok(m.online(b, "online_movable"))
    z = [z for z in m.zoneinfo() if z["zone"] == "Movable"][0]
    assert z["managed"] == 32768 - 1024 and z["present"] == 32768


def test_no_section_is_only_vmemmap():
    m = machine(block_size=2 * GiB)
    assert memory_block_memmap_on_memory_pages(m) < m.pps
