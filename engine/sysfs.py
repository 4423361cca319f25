"""The machine as Linux shows it in /sys and /proc, written to a directory tree.

`render_files(m)` builds the tree in memory (relative path -> text, or a `Link`), so it can be
tested and shown without touching the disk; `export_sysfs(m, root)` writes it under `root`:

    root/sys/devices/system/memory/{block_size_bytes, auto_online_blocks,
                                    memoryN/{state, online, phys_index, phys_device, removable,
                                             valid_zones, node<nid> -> ../../node/node<nid>}}
    root/sys/devices/system/node/{possible, online, has_memory, has_normal_memory, has_cpu,
                                  nodeN/{meminfo, distance, cpulist, memoryM -> ../../memory/memoryM}}
    root/sys/module/memory_hotplug/parameters/{memmap_on_memory, online_policy, ...}
    root/proc/{meminfo, zoneinfo, vmstat, iomem}

The formats are the ones util-linux's lsmem, numactl and the usual /proc readers parse:
block_size_bytes is bare hex, phys_index is %08lx, valid_zones is space-separated zone names,
state is online/offline, removable is 0/1, node lists are "0-1" ranges. lsmem finds a block's node
by the node<nid> entry inside memoryN and reads valid_zones only if memory0/valid_zones exists.

Values the engine models (block states, zones, MemTotal, MemFree, zone present/managed/spanned/
free, watermarks, nr_memmap_pages, iomem) are exact; the rest of /proc/meminfo and /proc/vmstat
(page cache, anon, slab...) is derived from page states so that it adds up plausibly.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from . import states as S

MARKER = ".memmap-tui-export"
# lowmem_reserve_ratio per zone index (DMA, DMA32, Normal, Movable), as on x86_64
_LOWMEM_RESERVE_RATIO = (256, 256, 32, 0)
_ZONE_ORDER = ("DMA", "DMA32", "Normal", "Movable")
_KERNEL_ZONES = ("DMA", "DMA32", "Normal")


@dataclass(frozen=True)
class Link:
    """A symbolic link in the exported tree (target is relative, as sysfs makes them)."""
    target: str


class ExportError(ValueError):
    """The tree cannot be written (one line)."""


# ------------------------------------------------------------------------------------------
# small formatters
# ------------------------------------------------------------------------------------------
def nodelist(ids) -> str:
    """A node mask the way sysfs prints it (%*pbl): "0", "0-1", "0,2-3", "" when empty."""
    ids = sorted(set(int(i) for i in ids))
    parts = []
    i = 0
    while i < len(ids):
        j = i
        while j + 1 < len(ids) and ids[j + 1] == ids[j] + 1:
            j += 1
        parts.append(str(ids[i]) if i == j else f"{ids[i]}-{ids[j]}")
        i = j + 1
    return ",".join(parts)


def _kb_line(label: str, kb: int, prefix: str = "") -> str:
    # /proc/meminfo and nodeN/meminfo: the label with its colon padded to 16, the value to 8
    return f"{prefix}{label + ':':<16}{int(kb):>8} kB"


def _count_line(label: str, n: int, prefix: str = "") -> str:
    return f"{prefix}{label + ':':<16}{int(n):>8}"


# ------------------------------------------------------------------------------------------
# page-state accounting the engine does not keep as counters
# ------------------------------------------------------------------------------------------
def _state_counts(m) -> tuple[dict, dict]:
    """Page counts per state, per node and per (node, zone name), over all memory blocks."""
    zones = [z for z in m.zoneinfo()]
    per_node: dict[int, list[int]] = {}
    per_zone: dict[tuple[int, str], list[int]] = {}
    for b in m.blocks():
        nid = b["node"]
        starts, ends, codes = m.state_runs(b["start_pfn"], b["end_pfn"])
        nc = per_node.setdefault(nid, [0] * S.NSTATES)
        for a, e, c in zip(starts.tolist(), ends.tolist(), codes.tolist()):
            nc[c] += e - a
            zname = b["zone"] or _zone_by_span(zones, nid, a)
            if zname is not None:
                zc = per_zone.setdefault((nid, zname), [0] * S.NSTATES)
                zc[c] += e - a
    return per_node, per_zone


def _zone_by_span(zones, nid: int, pfn: int) -> str | None:
    for z in zones:
        if z["node"] == nid and z["spanned"] and z["start_pfn"] <= pfn < z["start_pfn"] + z["spanned"]:
            return z["zone"]
    return None


def _usage(counts: list[int] | None) -> dict:
    """Derived usage figures (pages) from page-state counts."""
    c = counts or [0] * S.NSTATES
    anon = c[S.MOVABLE] + c[S.PINNED]
    return {
        "anon": anon,
        "active_anon": anon // 3,
        "inactive_anon": anon - anon // 3,
        "slab": c[S.UNMOVABLE],
        "pagetable": c[S.PAGETABLE],
        "memmap": c[S.MEMMAP_OTHER] + c[S.MEMMAP_SELF] + c[S.MEMMAP_PAD],
        "pinned": c[S.PINNED],
    }


# ------------------------------------------------------------------------------------------
# the files
# ------------------------------------------------------------------------------------------
def _online_node_ids(m) -> list[int]:
    return [n["id"] for n in m.nodes_info() if n["online"]]


def _memory_files(m, files: dict) -> None:
    base = "sys/devices/system/memory"
    files[f"{base}/block_size_bytes"] = f"{m.block_size:x}\n"
    files[f"{base}/auto_online_blocks"] = f"{m.auto_online}\n"
    for b in m.blocks():
        d = f"{base}/memory{b['id']}"
        files[f"{d}/state"] = f"{b['state']}\n"
        files[f"{d}/online"] = f"{b['online']}\n"
        files[f"{d}/phys_index"] = f"{b['phys_index']}\n"
        files[f"{d}/phys_device"] = f"{b['phys_device']}\n"
        files[f"{d}/removable"] = f"{b['removable']}\n"
        files[f"{d}/valid_zones"] = f"{b['valid_zones']}\n"
        files[f"{d}/uevent"] = ""
        files[f"{d}/node{b['node']}"] = Link(f"../../node/node{b['node']}")


def _node_files(m, files: dict, per_node: dict) -> None:
    base = "sys/devices/system/node"
    info = {n["id"]: n for n in m.nodes_info()}
    zinfo = m.zoneinfo()
    online = _online_node_ids(m)
    has_memory = [nid for nid in online
                  if any(z["present"] for z in zinfo if z["node"] == nid)]
    has_normal = [nid for nid in online
                  if any(z["present"] for z in zinfo if z["node"] == nid and z["zone"] in _KERNEL_ZONES)]
    cpu_nodes = [nid for nid in online if info[nid]["boot_memory"]] or online[:1]
    files[f"{base}/possible"] = nodelist(info) + "\n"
    files[f"{base}/online"] = nodelist(online) + "\n"
    files[f"{base}/has_memory"] = nodelist(has_memory) + "\n"
    files[f"{base}/has_normal_memory"] = nodelist(has_normal) + "\n"
    files[f"{base}/has_cpu"] = nodelist(cpu_nodes) + "\n"
    kb = m.page_size >> 10
    blocks_by_node: dict[int, list[int]] = {}
    for b in m.blocks():
        blocks_by_node.setdefault(b["node"], []).append(b["id"])
    for nid in online:
        d = f"{base}/node{nid}"
        n = info[nid]
        u = _usage(per_node.get(nid))
        total, free = n["managed"] * kb, n["free"] * kb
        lines = [
            _kb_line("MemTotal", total, f"Node {nid} "),
            _kb_line("MemFree", free, f"Node {nid} "),
            _kb_line("MemUsed", total - free, f"Node {nid} "),
            _kb_line("SwapCached", 0, f"Node {nid} "),
            _kb_line("Active", u["active_anon"] * kb, f"Node {nid} "),
            _kb_line("Inactive", u["inactive_anon"] * kb, f"Node {nid} "),
            _kb_line("Active(anon)", u["active_anon"] * kb, f"Node {nid} "),
            _kb_line("Inactive(anon)", u["inactive_anon"] * kb, f"Node {nid} "),
            _kb_line("Active(file)", 0, f"Node {nid} "),
            _kb_line("Inactive(file)", 0, f"Node {nid} "),
            _kb_line("Unevictable", 0, f"Node {nid} "),
            _kb_line("Mlocked", 0, f"Node {nid} "),
            _kb_line("Dirty", 0, f"Node {nid} "),
            _kb_line("Writeback", 0, f"Node {nid} "),
            _kb_line("FilePages", 0, f"Node {nid} "),
            _kb_line("Mapped", 0, f"Node {nid} "),
            _kb_line("AnonPages", u["anon"] * kb, f"Node {nid} "),
            _kb_line("Shmem", 0, f"Node {nid} "),
            _kb_line("KernelStack", 0, f"Node {nid} "),
            _kb_line("PageTables", 0, f"Node {nid} "),
            _kb_line("Slab", u["slab"] * kb, f"Node {nid} "),
            _kb_line("SReclaimable", 0, f"Node {nid} "),
            _kb_line("SUnreclaim", u["slab"] * kb, f"Node {nid} "),
            _count_line("HugePages_Total", 0, f"Node {nid} "),
            _count_line("HugePages_Free", 0, f"Node {nid} "),
            _count_line("HugePages_Surp", 0, f"Node {nid} "),
        ]
        files[f"{d}/meminfo"] = "\n".join(lines) + "\n"
        files[f"{d}/distance"] = " ".join(str(n["distances"][o]) if o < len(n["distances"]) else "20"
                                          for o in online) + "\n"
        files[f"{d}/cpulist"] = ("0\n" if nid == cpu_nodes[0] else "\n")
        for bid in blocks_by_node.get(nid, []):
            files[f"{d}/memory{bid}"] = Link(f"../../memory/memory{bid}")


def _module_params(m, files: dict) -> None:
    p = m.profile
    if not p.has_mmoo_param:
        return
    base = "sys/module/memory_hotplug/parameters"
    files[f"{base}/memmap_on_memory"] = {"off": "N", "on": "Y", "force": "force"}[m.memmap_mode] + "\n"
    if p.has_auto_movable:
        files[f"{base}/online_policy"] = f"{m.online_policy}\n"
        files[f"{base}/auto_movable_ratio"] = f"{m.auto_movable_ratio}\n"
        files[f"{base}/auto_movable_numa_aware"] = ("Y" if m.config.auto_movable_numa_aware else "N") + "\n"


def _vmalloc_total_kb(m) -> int:
    if m.arch.name == "x86_64":
        return 13107199999999 if m.config.la57 else 34359738367
    return 135288315904 if m.arch.name.startswith("arm64") else 549755813888


def _hugepage_kb(m) -> int:
    return 524288 if m.arch.name == "arm64-64k" else 2048


def _proc_meminfo(m, per_node: dict) -> str:
    kb = m.page_size >> 10
    mi = m.meminfo()
    total, free = mi["MemTotal"], mi["MemFree"]
    counts = [sum(c[i] for c in per_node.values()) for i in range(S.NSTATES)] if per_node else None
    u = _usage(counts)
    reserve = sum(z["high"] for z in m.zoneinfo()) * kb
    avail = max(0, free - reserve)
    lines = [
        ("MemTotal", total), ("MemFree", free), ("MemAvailable", avail), ("Buffers", 0),
        ("Cached", 0), ("SwapCached", 0),
        ("Active", u["active_anon"] * kb), ("Inactive", u["inactive_anon"] * kb),
        ("Active(anon)", u["active_anon"] * kb), ("Inactive(anon)", u["inactive_anon"] * kb),
        ("Active(file)", 0), ("Inactive(file)", 0), ("Unevictable", 0), ("Mlocked", 0),
        ("SwapTotal", 0), ("SwapFree", 0), ("Dirty", 0), ("Writeback", 0),
        ("AnonPages", u["anon"] * kb), ("Mapped", 0), ("Shmem", 0), ("KReclaimable", 0),
        ("Slab", u["slab"] * kb), ("SReclaimable", 0), ("SUnreclaim", u["slab"] * kb),
        ("KernelStack", 0), ("PageTables", 0), ("NFS_Unstable", 0), ("Bounce", 0),
        ("WritebackTmp", 0), ("CommitLimit", total // 2), ("Committed_AS", u["anon"] * kb),
        ("VmallocTotal", _vmalloc_total_kb(m)), ("VmallocUsed", 0), ("VmallocChunk", 0),
        ("Percpu", 0), ("AnonHugePages", 0), ("ShmemHugePages", 0), ("ShmemPmdMapped", 0),
        ("FileHugePages", 0), ("FilePmdMapped", 0),
    ]
    out = [_kb_line(k, v) for k, v in lines]
    out += [_count_line("HugePages_Total", 0), _count_line("HugePages_Free", 0),
            _count_line("HugePages_Rsvd", 0), _count_line("HugePages_Surp", 0),
            _kb_line("Hugepagesize", _hugepage_kb(m)), _kb_line("Hugetlb", 0)]
    if m.arch.name == "x86_64":
        # the direct map: boot RAM and hot-added ranges, mapped with 1 GiB/2 MiB/4 KiB pages
        ram = sum(e - s + 1 for s, e, name in m.iomem() if name.strip().startswith("System RAM")) >> 10
        gib = ram // (1 << 20) * (1 << 20)
        mib2 = (ram - gib) // 2048 * 2048
        out += [_kb_line("DirectMap4k", ram - gib - mib2), _kb_line("DirectMap2M", mib2),
                _kb_line("DirectMap1G", gib)]
    return "\n".join(out) + "\n"


def _protection(zones: list[dict]) -> list[int]:
    """lowmem_reserve[] of each zone of one node (in _ZONE_ORDER order), per upper zone."""
    by_name = {z["zone"]: z for z in zones}
    managed = [by_name[n]["managed"] if n in by_name else 0 for n in _ZONE_ORDER]
    out = []
    for i in range(len(_ZONE_ORDER)):
        row = []
        for j in range(len(_ZONE_ORDER)):
            ratio = _LOWMEM_RESERVE_RATIO[i]
            if j <= i or not ratio or not managed[i]:
                row.append(0)
            else:
                row.append(sum(managed[i + 1:j + 1]) // ratio)
        out.append(row)
    return out


def _proc_zoneinfo(m, per_node: dict, per_zone: dict) -> str:
    ver = m.profile.version
    online = set(_online_node_ids(m))
    zones = [z for z in m.zoneinfo() if z["node"] in online]
    kb = m.page_size >> 10
    out: list[str] = []
    for nid in sorted(online):
        nzones = sorted((z for z in zones if z["node"] == nid),
                        key=lambda z: _ZONE_ORDER.index(z["zone"]) if z["zone"] in _ZONE_ORDER else 9)
        prot = _protection(nzones)
        first_populated = next((z["zone"] for z in nzones if z["present"]), None)
        for z in nzones:
            zi = _ZONE_ORDER.index(z["zone"]) if z["zone"] in _ZONE_ORDER else 0
            text = [f"Node {nid}, zone {z['zone']:>8}"]
            if z["zone"] == first_populated:
                u = _usage(per_node.get(nid))
                text.append("  per-node stats")
                for name, v in (("nr_inactive_anon", u["inactive_anon"]),
                                ("nr_active_anon", u["active_anon"]), ("nr_inactive_file", 0),
                                ("nr_active_file", 0), ("nr_unevictable", 0),
                                ("nr_slab_reclaimable", 0), ("nr_slab_unreclaimable", u["slab"]),
                                ("nr_isolated_anon", 0), ("nr_isolated_file", 0),
                                ("nr_anon_pages", u["anon"]), ("nr_mapped", 0), ("nr_file_pages", 0),
                                ("nr_dirty", 0), ("nr_writeback", 0), ("nr_shmem", 0),
                                ("nr_kernel_stack", 0), ("nr_page_table_pages", 0)):
                    text.append(f"      {name:<12} {v}")
            text.append(f"  pages free     {z['free']}")
            if ver >= (5, 0):
                text.append("        boost    0")
            text += [f"        min      {z['min']}", f"        low      {z['low']}",
                     f"        high     {z['high']}"]
            if ver >= (6, 1):
                text.append(f"        promo    {z['high'] + (z['high'] - z['low'])}")
            text += [f"        spanned  {z['spanned']}", f"        present  {z['present']}",
                     f"        managed  {z['managed']}"]
            if ver >= (5, 13):
                text.append("        cma      0")
            text.append("        protection: (" + ", ".join(str(v) for v in prot[zi]) + ")")
            if z["present"]:
                zc = _usage(per_zone.get((nid, z["zone"])))
                for name, v in (("nr_free_pages", z["free"]),
                                ("nr_zone_inactive_anon", zc["inactive_anon"]),
                                ("nr_zone_active_anon", zc["active_anon"]),
                                ("nr_zone_inactive_file", 0), ("nr_zone_active_file", 0),
                                ("nr_zone_unevictable", 0), ("nr_zone_write_pending", 0),
                                ("nr_mlock", 0), ("nr_zspages", 0), ("nr_free_cma", 0),
                                ("numa_hit", 0), ("numa_miss", 0), ("numa_foreign", 0),
                                ("numa_interleave", 0), ("numa_local", 0), ("numa_other", 0)):
                    text.append(f"      {name:<12} {v}")
                batch = max(1, min(63, z["managed"] // 4096))
                text += ["  pagesets", "    cpu: 0", "              count:    0",
                         f"              high:     {6 * batch}", f"              batch:    {batch}",
                         f"  vm stats threshold: {min(125, max(2, z['managed'] * kb // (1 << 17)))}",
                         "  node_unreclaimable:  0", f"  start_pfn:           {z['start_pfn']}"]
            out.append("\n".join(text))
    return "\n".join(out) + "\n"


def _proc_vmstat(m, per_node: dict) -> str:
    vs = m.vmstat()
    counts = [sum(c[i] for c in per_node.values()) for i in range(S.NSTATES)] if per_node else None
    u = _usage(counts)
    items = [
        ("nr_free_pages", vs.get("nr_free_pages", 0)),
        ("nr_zone_inactive_anon", u["inactive_anon"]), ("nr_zone_active_anon", u["active_anon"]),
        ("nr_zone_inactive_file", 0), ("nr_zone_active_file", 0), ("nr_zone_unevictable", 0),
        ("nr_zone_write_pending", 0), ("nr_mlock", 0), ("nr_zspages", 0), ("nr_free_cma", 0),
        ("numa_hit", 0), ("numa_miss", 0), ("numa_foreign", 0), ("numa_interleave", 0),
        ("numa_local", 0), ("numa_other", 0),
        ("nr_inactive_anon", u["inactive_anon"]), ("nr_active_anon", u["active_anon"]),
        ("nr_inactive_file", 0), ("nr_active_file", 0), ("nr_unevictable", 0),
        ("nr_slab_reclaimable", 0), ("nr_slab_unreclaimable", u["slab"]),
        ("nr_isolated_anon", 0), ("nr_isolated_file", 0), ("nr_anon_pages", u["anon"]),
        ("nr_mapped", 0), ("nr_file_pages", 0), ("nr_dirty", 0), ("nr_writeback", 0),
        ("nr_shmem", 0), ("nr_kernel_stack", 0), ("nr_page_table_pages", 0),
    ]
    for key in ("nr_memmap_pages", "nr_memmap_boot_pages"):
        if key in vs:
            items.append((key, vs[key]))
    known = {k for k, _ in items}
    items += [(k, v) for k, v in vs.items() if k not in known]
    items += [("pgpgin", 0), ("pgpgout", 0), ("pswpin", 0), ("pswpout", 0),
              ("pgmigrate_success", 0), ("pgmigrate_fail", 0)]
    return "".join(f"{k} {int(v)}\n" for k, v in items)


def _proc_iomem(m) -> str:
    """r_show(): two spaces of indent per level of nesting (a child lies inside its parent)."""
    lines, stack = [], []
    for s, e, name in m.iomem():
        while stack and not (stack[-1][0] <= s and e <= stack[-1][1]):
            stack.pop()
        lines.append(f"{'  ' * len(stack)}{s:08x}-{e:08x} : {name}\n")
        stack.append((s, e))
    return "".join(lines)


def render_files(m) -> dict[str, str | Link]:
    """Every exported file, by path relative to the export root: text or a Link."""
    files: dict[str, str | Link] = {}
    per_node, per_zone = _state_counts(m)
    _memory_files(m, files)
    _node_files(m, files, per_node)
    _module_params(m, files)
    files["proc/meminfo"] = _proc_meminfo(m, per_node)
    files["proc/zoneinfo"] = _proc_zoneinfo(m, per_node, per_zone)
    files["proc/vmstat"] = _proc_vmstat(m, per_node)
    files["proc/iomem"] = _proc_iomem(m)
    return files


# ------------------------------------------------------------------------------------------
# writing
# ------------------------------------------------------------------------------------------
def _prepare(root: Path) -> None:
    if root.exists() and not root.is_dir():
        raise ExportError(f"{root}: exists and is not a directory")
    marker = root / MARKER
    if marker.is_symlink() or (marker.exists() and not marker.is_file()):
        # a planted link would make us write (or trust) a file somewhere else
        raise ExportError(f"{marker}: is a symlink or not a regular file; refusing to use this directory")
    owned = [root / "sys", root / "proc"]
    if any(p.exists() for p in owned):
        if not (root / MARKER).exists():
            raise ExportError(f"{root}: already holds sys/ or proc/ not written by memmap-tui; "
                              f"choose an empty directory")
        for p in owned:
            if p.is_symlink() or p.is_file():
                p.unlink()
            elif p.exists():
                shutil.rmtree(p)
    root.mkdir(parents=True, exist_ok=True)


def export_sysfs(machine, root_dir) -> list[Path]:
    """Write the machine's /sys and /proc files under root_dir; return the paths written.

    A directory that already holds an earlier export (it carries a marker file) is replaced;
    one with a foreign sys/ or proc/ is refused with ExportError.
    """
    root = Path(root_dir)
    try:
        _prepare(root)
        files = render_files(machine)
        written = []
        can_link = True
        for rel in sorted(files, key=lambda r: isinstance(files[r], Link)):
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            content = files[rel]
            if isinstance(content, Link):
                if can_link:
                    try:
                        os.symlink(content.target, path)
                    except (OSError, NotImplementedError):
                        can_link = False
                if not can_link:
                    path.mkdir(exist_ok=True)    # a directory with the link's name
            else:
                path.write_text(content, encoding="utf-8")
            written.append(path)
        _write_no_follow(root / MARKER, "written by memmap-tui export-sysfs\n")
    except OSError as e:
        raise ExportError(f"{root}: {e.strerror or e}") from None
    return written


def _write_no_follow(path: Path, text: str) -> None:
    """Write a file, refusing (ELOOP) if a symlink appeared at its name since we checked."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
