"""mm/sparse.c: memory sections become present (with a memmap) or go away."""

from __future__ import annotations

from . import states as S
from .errors import OpFailed
from . import vmemmap


def memmap_pages_per_section(m) -> int:
    return -(-(m.pps * m.struct_page_size) // m.page_size)


def sparse_add_section(m, tx, nid: int, sec: int, altmap) -> None:
    """sparse_add_section(): section_activate() (usage map + memmap), then mark present."""
    m.secs.ensure(sec + 1, tx.journal)
    m.store.ensure(sec + 1, tx.journal)
    lo = sec * m.pps
    if m.secs.present[sec]:
        # fill_subsection_map() finds the subsections already set
        tx.call("sparse_add_section", f"nid={nid}, pfn={lo:#x}", "-EEXIST")
        raise OpFailed("EEXIST", f"section {sec} (pfn {lo:#x}) is already active",
                       "fill_subsection_map: subsection already active")
    m.secs.set_row(sec, {"present": True, "node": nid}, tx.journal)
    m.store.set_range(lo, lo + m.pps, S.OFFLINE, tx.journal)
    va_lo, va_hi = vmemmap.section_va(m, sec)
    try:
        vmemmap.vmemmap_populate(m, tx, va_lo, va_hi, nid, altmap)
    except OpFailed:
        tx.call("sparse_add_section", f"nid={nid}, pfn={lo:#x}", "-ENOMEM (section_deactivate)")
        section_deactivate(m, tx, sec)
        raise
    if m.profile.has_nr_memmap_vmstat:
        tx.add(m.counters, "nr_memmap_pages", memmap_pages_per_section(m))
    tx.call("sparse_add_section", f"nid={nid}, pfn={lo:#x}, nr_pages={m.pps}", "0")


def section_deactivate(m, tx, sec: int) -> None:
    """section_deactivate(): clear the section, free its memmap where nobody shares it."""
    lo = sec * m.pps
    m.secs.set_row(sec, {"present": False, "online": False, "node": -1}, tx.journal)
    va_lo, va_hi = vmemmap.section_va(m, sec)
    vmemmap.vmemmap_free(m, tx, va_lo, va_hi, lambda pfn: m.altmaps.get(pfn // m.ppb), dying_section=sec)
    m.store.set_range(lo, lo + m.pps, S.ABSENT, tx.journal)


def sparse_remove_section(m, tx, sec: int) -> None:
    """sparse_remove_section(): the section goes, and with it its memmap."""
    section_deactivate(m, tx, sec)
    if m.profile.has_nr_memmap_vmstat:
        tx.add(m.counters, "nr_memmap_pages", -memmap_pages_per_section(m))
    tx.call("sparse_remove_section", f"pfn={sec * m.pps:#x}", "0")
