"""Architecture profiles: page and section sizes, vmemmap mapping, zones and block-size rules.

Mirrors arch/*/include/asm/sparsemem.h, the arch vmemmap_populate() and the arch
memory_block_size_bytes(); every number here is the kernel's for that configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

KiB, MiB, GiB, TiB = 1 << 10, 1 << 20, 1 << 30, 1 << 40


@dataclass(frozen=True)
class ArchProfile:
    name: str
    page_shift: int
    section_bits: int          # SECTION_SIZE_BITS
    pmd_shift: int             # PMD_SHIFT: size of one huge vmemmap mapping
    pageblock_order: int       # with CONFIG_HUGETLB_PAGE
    pageblock_order_nohugetlb: int   # MAX_ORDER-1 (largest buddy order) without hugetlb
    max_buddy_order: int       # largest order the buddy hands out (MAX_PAGE_ORDER)
    phys_bits: int             # MAX_PHYSMEM_BITS with the default paging mode
    phys_bits_la57: int        # with 5-level paging (x86) / large PA (0 = not available)
    pt_entries: tuple[int, int, int]  # entries per PTE, PMD, PUD table page
    vmemmap_pmd: bool          # vmemmap mapped with PMD leaves (hugepages) when possible
    frees_pud_tables: bool     # vmemmap_free frees empty PUD tables (x86 4-level does not)
    ram_base: int              # where boot RAM starts (QEMU machine)
    zone_limits: tuple[tuple[str, int], ...]  # (zone, end address) for boot zones below Normal
    vmemmap_base: int          # virtual address of struct page for pfn 0 (for messages)
    mmoo_since: str            # first profile whose arch selects ARCH_MHP_MEMMAP_ON_MEMORY_ENABLE
    default_struct_page: int = 64
    family: str = "x86"        # "x86" | "arm64" | "ppc64"
    va_bits: int = 48          # CONFIG_ARM64_VA_BITS (the linear map is half of it)
    pgtable_levels: int = 4    # CONFIG_PGTABLE_LEVELS of the kernel page tables
    memstart_align: int = 0    # arm64 ARM64_MEMSTART_ALIGN: memstart_addr rounds down to it
    pud_block: bool = False    # linear map may use PUD (1 GiB) blocks (arm64: 4K pages only)
    lmb_size: int = 0          # pseries: ibm,lmb-size, which is also the memory block size

    @property
    def linear_pte_span(self) -> int:
        """Bytes of linear map one PTE table page maps (= the PMD block size)."""
        return self.pt_entries[0] * self.page_size

    @property
    def linear_pmd_span(self) -> int:
        """Bytes of linear map one PMD table page maps."""
        return self.pt_entries[1] * self.linear_pte_span

    @property
    def linear_pud_span(self) -> int:
        """Bytes one PUD table page maps (only with 4 levels; 3 levels stop at the PGD)."""
        return self.pt_entries[2] * self.linear_pmd_span

    @property
    def page_size(self) -> int:
        return 1 << self.page_shift

    @property
    def section_size(self) -> int:
        return 1 << self.section_bits

    @property
    def pages_per_section(self) -> int:
        return 1 << (self.section_bits - self.page_shift)

    @property
    def pmd_size(self) -> int:
        return 1 << self.pmd_shift

    @property
    def pages_per_subsection(self) -> int:
        # SUBSECTION_SHIFT is a fixed 21 on every architecture and page size.
        return max(1, 1 << (21 - self.page_shift))

    def arch_supports_memmap_on_memory(self, vmemmap_size: int) -> bool:
        """arch_supports_memmap_on_memory(): the default wants whole PMDs of vmemmap."""
        return vmemmap_size % self.pmd_size == 0


@dataclass(frozen=True)
class Ppc64Radix(ArchProfile):
    def arch_supports_memmap_on_memory(self, vmemmap_size: int) -> bool:
        """ppc64 radix override: 64K pages can always fall back to base pages from the altmap."""
        if self.page_shift == 16:
            return True
        return vmemmap_size % self.pmd_size == 0


X86_64 = ArchProfile(
    name="x86_64", page_shift=12, section_bits=27, pmd_shift=21,
    pageblock_order=9, pageblock_order_nohugetlb=10, max_buddy_order=10,
    phys_bits=46, phys_bits_la57=52, pt_entries=(512, 512, 512), vmemmap_pmd=True,
    frees_pud_tables=False, ram_base=0,
    zone_limits=(("DMA", 16 * MiB), ("DMA32", 4 * GiB)),
    vmemmap_base=0xFFFFEA0000000000, mmoo_since="5.13",
)
ARM64_4K = ArchProfile(
    name="arm64-4k", page_shift=12, section_bits=27, pmd_shift=21,
    pageblock_order=9, pageblock_order_nohugetlb=10, max_buddy_order=10,
    phys_bits=48, phys_bits_la57=52, pt_entries=(512, 512, 512), vmemmap_pmd=True,
    frees_pud_tables=True, ram_base=0x40000000,
    zone_limits=(("DMA", 4 * GiB),),
    vmemmap_base=0xFFFFFC0000000000, mmoo_since="5.13",
    family="arm64", memstart_align=1 * GiB, pud_block=True,
)
# 16K pages: SECTION_SIZE_BITS 27 "follows 4K for simplicity" (sparsemem.h); 2048 entries
# per table, so a PMD block (and a PTE table) maps 32 MiB and a PMD table 64 GiB;
# HPAGE = PMD = 32 MiB gives pageblock order 11, which is also the largest buddy order
# (ARCH_FORCE_MAX_ORDER); vmemmap is base pages (ARM64_KERNEL_USES_PMD_MAPS is 4K only);
# memstart_addr aligns to CONT_PMD (1 GiB); VMEMMAP_START = -(1 << (VA_BITS - 8)).
ARM64_16K = ArchProfile(
    name="arm64-16k", page_shift=14, section_bits=27, pmd_shift=25,
    pageblock_order=11, pageblock_order_nohugetlb=11, max_buddy_order=11,
    phys_bits=48, phys_bits_la57=52, pt_entries=(2048, 2048, 2048), vmemmap_pmd=False,
    frees_pud_tables=True, ram_base=0x40000000,
    zone_limits=(("DMA", 4 * GiB),),
    vmemmap_base=0xFFFFFF0000000000, mmoo_since="5.13",
    family="arm64", memstart_align=1 * GiB,
)
# 64K pages, 48-bit VA: three levels (PGD of 64 entries, PMD and PTE tables of 8192), so
# a PTE table maps 512 MiB and a PMD table 4 TiB; memstart aligns to the 512 MiB section.
ARM64_64K = ArchProfile(
    name="arm64-64k", page_shift=16, section_bits=29, pmd_shift=29,
    pageblock_order=13, pageblock_order_nohugetlb=13, max_buddy_order=13,
    phys_bits=48, phys_bits_la57=52, pt_entries=(8192, 8192, 64), vmemmap_pmd=False,
    frees_pud_tables=True, ram_base=0x40000000,
    zone_limits=(("DMA", 4 * GiB),),
    vmemmap_base=0xFFFFFFC000000000, mmoo_since="5.13",
    family="arm64", pgtable_levels=3, memstart_align=512 * MiB,
)
PPC64_RADIX_64K = Ppc64Radix(
    name="ppc64-radix-64k", page_shift=16, section_bits=24, pmd_shift=21,
    pageblock_order=5, pageblock_order_nohugetlb=8, max_buddy_order=8,
    phys_bits=51, phys_bits_la57=0, pt_entries=(32, 512, 512), vmemmap_pmd=True,
    frees_pud_tables=True, ram_base=0,
    zone_limits=(("DMA", 2 * GiB),),
    vmemmap_base=0xC00C000000000000, mmoo_since="6.6",
    family="ppc64", lmb_size=256 * MiB,
)
# radix with 4K pages (a Debian 6.12 ppc64el build): 512-entry tables at every level,
# PMD = 2 MiB, pageblock = the 2 MiB huge page (order 9), largest buddy order 12
# (ARCH_FORCE_MAX_ORDER for !PPC_64K_PAGES).
PPC64_RADIX_4K = Ppc64Radix(
    name="ppc64-radix-4k", page_shift=12, section_bits=24, pmd_shift=21,
    pageblock_order=9, pageblock_order_nohugetlb=12, max_buddy_order=12,
    phys_bits=51, phys_bits_la57=0, pt_entries=(512, 512, 512), vmemmap_pmd=True,
    frees_pud_tables=True, ram_base=0,
    zone_limits=(("DMA", 2 * GiB),),
    vmemmap_base=0xC00C000000000000, mmoo_since="6.6",
    family="ppc64", lmb_size=256 * MiB,
)

ARCHES: dict[str, ArchProfile] = {a.name: a for a in (X86_64, ARM64_4K, ARM64_16K, ARM64_64K,
                                                      PPC64_RADIX_64K, PPC64_RADIX_4K)}
ARCH_ALIASES = {"x86": "x86_64", "x86-64": "x86_64", "arm64": "arm64-4k", "ppc64": "ppc64-radix-64k",
                "ppc64le": "ppc64-radix-64k"}


def arch_get_mappable_range(arch: ArchProfile, ram_start: int) -> tuple[int, int]:
    """arch_get_mappable_range(): the physical range the linear map can hold, [start, end].

    arm64: the linear map is [PAGE_OFFSET, PAGE_END), half of the VA space, and starts at
    memstart_addr (the first RAM rounded down to ARM64_MEMSTART_ALIGN). Elsewhere the
    generic answer: everything.
    """
    if arch.family != "arm64":
        return 0, (1 << 64) - 1
    memstart = ram_start // arch.memstart_align * arch.memstart_align
    return memstart, memstart + (1 << (arch.va_bits - 1)) - 1


def get_arch(name: str) -> ArchProfile:
    key = ARCH_ALIASES.get(name, name)
    if key not in ARCHES:
        raise KeyError(name)
    return ARCHES[key]


def with_overrides(arch: ArchProfile, *, la57: bool = False) -> ArchProfile:
    if la57:
        if not arch.phys_bits_la57:
            raise ValueError(f"{arch.name} has no larger physical address mode")
        # x86 5-level paging frees empty PUD tables; 4-level keeps them forever
        return replace(arch, phys_bits=arch.phys_bits_la57, frees_pud_tables=True,
                       vmemmap_base=0xFFD4000000000000 if arch.name == "x86_64" else arch.vmemmap_base)
    return arch


def probe_memory_block_size(arch: ArchProfile, boot_mem_end: int, hypervisor: bool,
                            rule: str) -> int:
    """memory_block_size_bytes(): x86's probe_memory_block_size(), the section elsewhere.

    `rule` names the era of the x86 rule: "pre-4.17" (2G once boot memory reaches 64G),
    "end-aligned" (4.17: largest power of two <= 2G dividing the end of boot memory) or
    "bare-metal-max" (5.9+: bare metal at >= 64G takes 2G outright, VMs keep the search).
    """
    if arch.lmb_size:
        return arch.lmb_size  # pseries_memory_block_size(): the LMB size firmware reports
    if arch.name != "x86_64":
        return arch.section_size
    if boot_mem_end < 64 * GiB:
        return 128 * MiB
    if rule == "pre-4.17":
        return 2 * GiB
    if rule == "bare-metal-max" and not hypervisor:
        return 2 * GiB
    size = 2 * GiB
    while size > 128 * MiB and boot_mem_end % size:
        size >>= 1
    return size


def boot_ram_ranges(arch: ArchProfile, node_sizes: list[int]) -> list[list[tuple[int, int]]]:
    """Physical ranges of boot RAM per node, laid out as QEMU lays out guest RAM.

    x86 (pc machine): RAM below 4 GiB is all of it when under 3.5 GiB, else 3 GiB; the rest
    starts at 4 GiB. NUMA nodes take consecutive slices of that RAM in node order.
    """
    total = sum(node_sizes)
    if arch.name == "x86_64":
        lowmem = total if total < 0xE0000000 else 0xC0000000
        segments = [(0, lowmem)] + ([(4 * GiB, 4 * GiB + total - lowmem)] if total > lowmem else [])
    else:
        segments = [(arch.ram_base, arch.ram_base + total)]
    out: list[list[tuple[int, int]]] = []
    offset = 0
    for size in node_sizes:
        ranges = []
        lo, hi = offset, offset + size
        seg_off = 0
        for s, e in segments:
            seg_lo, seg_hi = seg_off, seg_off + (e - s)
            a, b = max(lo, seg_lo), min(hi, seg_hi)
            if a < b:
                ranges.append((s + a - seg_off, s + b - seg_off))
            seg_off = seg_hi
        out.append(ranges)
        offset = hi
    return out


def firmware_holes(arch: ArchProfile, lowmem_end: int) -> list[tuple[int, int]]:
    """Byte ranges inside boot RAM that e820 reports as reserved (SeaBIOS on QEMU pc).

    Page 0 (the kernel reserves it for the BIOS), 0x9f000-0x100000 (EBDA, VGA, ROMs) and the
    last 128 KiB below the top of low RAM. They keep a struct page (PageReserved) but are not
    present in any zone.
    """
    if arch.name != "x86_64":
        return []
    holes = [(0, 0x1000), (0x9F000, 0x100000)]
    if lowmem_end > 0x100000 + 0x20000:
        holes.append((lowmem_end - 0x20000, lowmem_end))
    return holes
