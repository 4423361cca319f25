"""vmem_altmap arithmetic on its own (mm/sparse-vmemmap.c altmap_alloc_block_buf)."""

from engine.model import VmemAltmap


def test_memmap_on_memory_altmap_has_no_reserve_and_no_align():
    # a 128 MiB block at pfn 0x100000: one PMD (512 pfns) of memmap, right at the base
    a = VmemAltmap(base_pfn=0x100000, end_pfn=0x107FFF, free=512)
    assert a.next_pfn() == 0x100000 and a.nr_free() == 512
    pfn, pad = a.plan_alloc(512)
    assert (pfn, pad) == (0x100000, 0)
    a.alloc += 512
    assert a.nr_free() == 0
    assert a.plan_alloc(512) is None          # no room: no fallback with an altmap
    assert a.offset() == 512                  # vmem_altmap_offset = reserve + free


def test_device_altmap_reserve_shifts_and_align_pads_to_the_pmd():
    # nvdimm-style: an 8 KiB info block reserved at the start (2 pages), memmap after it
    a = VmemAltmap(base_pfn=0x200000, end_pfn=0x27FFFF, free=2048, reserve=2)
    assert a.next_pfn() == 0x200002
    pfn, pad = a.plan_alloc(512)              # a PMD wants a 512-aligned pfn
    assert pfn == 0x200200 and pad == 510     # 510 pages burned to reach alignment
    a.alloc += 512
    a.align += pad
    assert a.nr_free() == 2048 - 512 - 510
    assert a.next_pfn() == 0x200400
    # a single page needs no alignment
    assert a.plan_alloc(1) == (0x200400, 0)
    # free is a ceiling on alloc + align, measured after the reserve
    assert a.plan_alloc(1024) == (0x200400, 0)   # 1026 left, already aligned
    assert a.plan_alloc(2048) is None
    assert a.offset() == 2 + 2048


def test_alignment_is_the_largest_power_of_two_dividing_the_request():
    a = VmemAltmap(base_pfn=1, end_pfn=10_000, free=10_000)
    assert a.plan_alloc(12) == (4, 3)         # 12 pfns align to 4
    assert a.plan_alloc(1) == (1, 0)
    assert a.plan_alloc(0) is None


def test_nr_free_never_negative():
    a = VmemAltmap(0, 100, free=10)
    a.alloc, a.align = 8, 5
    assert a.nr_free() == 0
