"""Fixture trees of real machines, written from the figures in observed-6.1.md and kernel-facts §9b.

Two QEMU `pc` guests with 512 MiB of boot memory and DIMMs at 0x100000000 (memory block 32),
hot-added with memory_hotplug.memmap_on_memory=1:

- "6.1": one 128 MiB DIMM onlined movable; its first 512 pfns read RESERVED + OWNER_PRIVATE;
- "6.12": a 256 MiB DIMM (blocks 32-33) onlined movable, memmap per block (512 pfns at the start
  of each, OWNER_PRIVATE only), and a third block (34) hot-added but left offline (NOPAGE).

The trees are laid out like the real / (sysfs, procfs, the raw /proc/kpageflags and kpagecount
as sparse files, or a snapshot's runs), built independently of the engine.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from bridge.pageclass import bit

BLOCK = 0x8000000
PPB = BLOCK >> 12
DIMM_PFN = 0x100000

KINDS = {
    "6.1": {"release": "6.1.0-56-amd64", "online": [32], "offline": [],
            "selfhosted": bit("RESERVED", "OWNER_PRIVATE")},
    "6.12": {"release": "6.12.57+deb13-amd64", "online": [32, 33], "offline": [34],
             "selfhosted": bit("OWNER_PRIVATE")},
}
BOOT_BLOCKS = (0, 1, 2, 3)
VMEMMAP = 512


def _w(root: Path, rel: str, text: str) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)


def page_flags(kind: str) -> tuple[int, np.ndarray, np.ndarray]:
    """(first pfn, flags, counts) of the dense part: boot memory and the DIMM blocks."""
    k = KINDS[kind]
    top = (max(k["online"] + k["offline"]) + 1) * PPB
    flags = np.zeros(top, dtype=np.uint64)
    counts = np.zeros(top, dtype=np.uint64)
    nopage = bit("NOPAGE")
    flags[:] = nopage                                  # no memory: the PCI hole and above
    low = 0x1FFE0                                      # SeaBIOS keeps the top 128 KiB of low RAM
    flags[0:low] = bit("BUDDY")
    flags[0] = flags[0x9F:0x100] = bit("RESERVED")     # page 0, EBDA/VGA/ROMs
    flags[0x1000:0x3000] = bit("RESERVED")             # the kernel image at 16 MiB
    flags[0x3000:0x5000] = bit("UPTODATE", "LRU", "MMAP", "ANON", "SWAPBACKED")
    counts[0x3000:0x5000] = 1
    flags[0x5000:0x5800] = bit("SLAB")
    counts[0x5000:0x5800] = 1
    flags[low:0x20000] = bit("RESERVED")
    for b in k["online"]:
        lo = b * PPB
        flags[lo:lo + VMEMMAP] = k["selfhosted"]
        counts[lo:lo + VMEMMAP] = 1
        flags[lo + VMEMMAP:lo + PPB] = bit("BUDDY")
    # offline blocks read NOPAGE on these kernels (pfn_to_online_page() is NULL)
    return 0, flags, counts


def build_tree(root: Path, kind: str, raw: bool = True) -> Path:
    """Write the fixture tree for `kind` under root; page files raw (sparse) or as snapshot runs."""
    k = KINDS[kind]
    root = Path(root)
    mem = "sys/devices/system/memory"
    _w(root, f"{mem}/block_size_bytes", "8000000\n")
    _w(root, f"{mem}/auto_online_blocks", "offline\n")
    zones = {0: "none", 1: "DMA32", 2: "DMA32", 3: "DMA32"}
    blocks = {b: ("online", zones[b]) for b in BOOT_BLOCKS}
    blocks.update({b: ("online", "Movable") for b in k["online"]})
    blocks.update({b: ("offline", "Normal Movable") for b in k["offline"]})
    for b, (state, vz) in blocks.items():
        d = f"{mem}/memory{b}"
        _w(root, f"{d}/state", state + "\n")
        _w(root, f"{d}/online", ("1" if state == "online" else "0") + "\n")
        _w(root, f"{d}/phys_index", f"{b:08x}\n")
        _w(root, f"{d}/phys_device", "0\n")
        _w(root, f"{d}/removable", "1\n")
        _w(root, f"{d}/valid_zones", vz + "\n")
        _w(root, f"{d}/uevent", "")
        os.symlink("../../node/node0", root / d / "node0")
    node = "sys/devices/system/node"
    for f, v in (("possible", "0"), ("online", "0"), ("has_memory", "0"), ("has_normal_memory", "0"),
                 ("has_cpu", "0")):
        _w(root, f"{node}/{f}", v + "\n")
    _w(root, f"{node}/node0/distance", "10\n")
    _w(root, f"{node}/node0/cpulist", "0\n")
    _w(root, f"{node}/node0/meminfo", "Node 0 MemTotal:         611064 kB\nNode 0 MemFree:          540000 kB\n")
    for b in blocks:
        os.symlink(f"../../memory/memory{b}", root / node / "node0" / f"memory{b}")
    par = "sys/module/memory_hotplug/parameters"
    for f, v in (("memmap_on_memory", "Y"), ("online_policy", "contig-zones"),
                 ("auto_movable_ratio", "301"), ("auto_movable_numa_aware", "Y")):
        _w(root, f"{par}/{f}", v + "\n")
    _w(root, "proc/sys/kernel/osrelease", k["release"] + "\n")
    n_online = len(k["online"])
    dimm_end = DIMM_PFN + (len(k["online"]) + len(k["offline"])) * PPB
    _w(root, "proc/iomem", "".join([
        "00000000-00000fff : Reserved\n", "00001000-0009fbff : System RAM\n",
        "0009fc00-0009ffff : Reserved\n", "000f0000-000fffff : Reserved\n",
        "  000f0000-000fffff : System ROM\n", "00100000-1ffdffff : System RAM\n",
        "  01000000-01e03fff : Kernel code\n", "1ffe0000-1fffffff : Reserved\n",
        "fec00000-fec003ff : IOAPIC 0\n",
        f"{DIMM_PFN << 12:x}-{(dimm_end << 12) - 1:x} : System RAM\n"]))
    movable_present = n_online * PPB
    movable_managed = n_online * (PPB - VMEMMAP)
    _w(root, "proc/zoneinfo", "".join([
        "Node 0, zone      DMA\n  pages free     3580\n        min      21\n        low      26\n"
        "        high     31\n        spanned  4095\n        present  3998\n        managed  3840\n"
        "  start_pfn:           1\n",
        "Node 0, zone    DMA32\n  pages free     110000\n        min      680\n        low      850\n"
        "        high     1020\n        spanned  126976\n        present  126944\n"
        "        managed  118462\n  start_pfn:           4096\n",
        "Node 0, zone   Normal\n  pages free     0\n        min      0\n        low      0\n"
        "        high     0\n        spanned  0\n        present  0\n        managed  0\n"
        "  start_pfn:           0\n",
        f"Node 0, zone  Movable\n  pages free     {movable_managed}\n        min      0\n"
        f"        low      0\n        high     0\n        spanned  {movable_present}\n"
        f"        present  {movable_present}\n        managed  {movable_managed}\n"
        f"  start_pfn:           {DIMM_PFN if n_online else 0}\n"]))
    total_kb = (3840 + 118462 + movable_managed) * 4
    free_kb = (3580 + 110000 + movable_managed) * 4
    _w(root, "proc/meminfo", f"MemTotal:       {total_kb:>8} kB\nMemFree:        {free_kb:>8} kB\n"
                             f"MemAvailable:   {free_kb:>8} kB\n")
    vm = "nr_free_pages 113580\n"
    if kind == "6.12":
        vm += f"nr_memmap_pages {VMEMMAP * 3}\nnr_memmap_boot_pages 2048\n"
    _w(root, "proc/vmstat", vm)
    first, flags, counts = page_flags(kind)
    if raw:
        for name, arr in (("kpageflags", flags), ("kpagecount", counts)):
            with open(root / "proc" / name, "wb") as f:
                f.write(arr.tobytes())
    else:
        from bridge.sysroot import KPF_RUNS, to_runs
        fs, fv = to_runs(flags)
        cs, cv = to_runs(counts)
        np.savez_compressed(root / KPF_RUNS, end=np.int64(len(flags)), flag_starts=fs, flag_values=fv,
                            count_starts=cs, count_values=cv)
    return root
