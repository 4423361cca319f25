"""LiveMachine: the machine this program runs on (or a snapshot of one), read-only.

It answers the same read interface as `engine.Machine` (`bridge.protocol.MachineView`) from
/sys/devices/system/{memory,node}, /sys/module/memory_hotplug/parameters, /proc/{meminfo,
zoneinfo,vmstat,iomem} and, when readable, /proc/kpageflags and /proc/kpagecount.  The text files
are read whole on every `refresh()` (milliseconds); the page files only in bands, section by
section as they are asked for, and cached until the next refresh, so a 1 TiB machine is never read
at once.  Operations are refused: this is a view of a real kernel, not a simulation.
"""

from __future__ import annotations

import json
import os
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from engine import BlockTable, Geometry, OpResult, resolve_profile
from engine import states as S

from . import pageclass as PC
from .sysroot import (MEMORY, NODE, PARAMS, SNAPSHOT_META, Sysroot, open_page_files,
                      parse_iomem, parse_meminfo, parse_nodelist, parse_vmstat, parse_zoneinfo)

LIVE_REFUSAL = ("this is a live view of a real machine and changes nothing; "
                "press T to open its twin (a simulated copy) and try it there")
CACHE_SECTIONS = 512           # decoded sections kept between refreshes (16M pfns with 4K pages)
WIDE = 1 << 22                 # aggregate() samples instead of reading when wider than this
SAMPLE = 64                    # pfns read per sample window in a wide aggregate()


# architecture facts a live reader needs (arch/*/include/asm/sparsemem.h, MAX_PHYSMEM_BITS)
def _arch_facts(machine: str, page_size: int) -> tuple[str, int, int]:
    """(name, SECTION_SIZE_BITS, physical address bits) for a `uname -m` and page size."""
    if machine in ("aarch64", "arm64"):
        return ("arm64-64k" if page_size == 65536 else "arm64-4k"), (29 if page_size == 65536 else 27), 48
    if machine.startswith("ppc64"):
        return "ppc64le", 24, 51
    if machine == "s390x":
        return "s390x", 28, 46
    if machine == "riscv64":
        return "riscv64", 27, 56
    return "x86_64", 27, 46


def parse_release(release: str | None) -> tuple[int, int] | None:
    parts = (release or "").split(".")
    if len(parts) >= 2 and parts[0].isdigit():
        minor = "".join(ch for ch in parts[1] if ch.isdigit()) if parts[1][:1].isdigit() else ""
        if minor:
            return int(parts[0]), int(minor)
    return None


@dataclass
class LiveState:
    """One read of the text files: everything but the page flags."""
    release: str | None
    block_size: int
    blocks: dict[int, dict]
    auto_online: str | None
    params: dict[str, str]
    nodes: dict[int, dict]
    meminfo: dict[str, int]
    zoneinfo: list[dict]
    vmstat: dict[str, int]
    iomem: list[tuple[int, int, str, int]]
    read_seconds: float = 0.0


class LiveMachine:
    """A read-only machine over a system root (default "/")."""

    def __init__(self, sysroot: str | os.PathLike = "/"):
        self.root = Sysroot(sysroot)
        self.sysroot = str(sysroot)
        meta = self._meta()
        self.machine_name = meta.get("machine") or (os.uname().machine if self.sysroot == "/" else "x86_64")
        page_size = int(meta.get("page_size") or (os.sysconf("SC_PAGE_SIZE") if self.sysroot == "/" else 4096))
        self.arch_name, sbits, self.phys_bits = _arch_facts(self.machine_name, page_size)
        self.page_size = page_size
        self.page_shift = page_size.bit_length() - 1
        self.pps = 1 << (sbits - self.page_shift)
        if not self.root.exists(MEMORY):
            raise LiveError(f"{self.root.path(MEMORY)}: not found (a kernel without memory hotplug, "
                            f"or not a system root)")
        self.generation = 0
        self._block_table: tuple[int, BlockTable] | None = None
        self.history: list[dict] = []
        self.can_undo = False
        self.can_redo = False
        self.progress_hook = None
        self._cache: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self.timings: dict[str, float] = {}
        self.state = self._read()
        self._flags, self._counts, self.page_files_note = open_page_files(self.root)
        self._derive()

    # ------------------------------------------------------------------------------------
    # reading the text files
    # ------------------------------------------------------------------------------------
    def _meta(self) -> dict:
        text = self.root.text(SNAPSHOT_META)
        if text is None:
            return {}
        try:
            d = json.loads(text)
        except json.JSONDecodeError:
            raise LiveError(f"{self.root.path(SNAPSHOT_META)}: not valid JSON") from None
        if not isinstance(d, dict):
            raise LiveError(f"{self.root.path(SNAPSHOT_META)}: expected a JSON object")
        return d

    def _read(self) -> LiveState:
        t0 = time.perf_counter()
        r = self.root
        bs_text = r.word(f"{MEMORY}/block_size_bytes")
        try:
            block_size = int(bs_text or "", 16)
        except ValueError:
            raise LiveError(f"{r.path(MEMORY)}/block_size_bytes: expected hex, got {bs_text!r}") from None
        blocks: dict[int, dict] = {}
        for name in r.listdir(MEMORY):
            if not name.startswith("memory") or not name[6:].isdigit():
                continue
            bid = int(name[6:])
            d = f"{MEMORY}/{name}"
            entries = r.listdir(d)
            node = next((int(e[4:]) for e in entries if e.startswith("node") and e[4:].isdigit()), None)
            blocks[bid] = {
                "state": r.word(f"{d}/state") or "?", "online": _int(r.word(f"{d}/online")),
                "phys_index": r.word(f"{d}/phys_index") or f"{bid * (block_size // (self.pps << self.page_shift)):08x}",
                "phys_device": _int(r.word(f"{d}/phys_device")),
                "removable": _int(r.word(f"{d}/removable")),
                "valid_zones": r.word(f"{d}/valid_zones") if "valid_zones" in entries else None,
                "node": node if node is not None else 0,
            }
        nodes: dict[int, dict] = {}
        online_nodes = parse_nodelist(r.word(f"{NODE}/online"))
        for name in r.listdir(NODE):
            if name.startswith("node") and name[4:].isdigit():
                nid = int(name[4:])
                dist = [int(x) for x in (r.word(f"{NODE}/{name}/distance") or "").split() if x.isdigit()]
                nodes[nid] = {"online": nid in online_nodes or not online_nodes, "distances": dist,
                              "meminfo": _node_meminfo(r.text(f"{NODE}/{name}/meminfo") or "")}
        params = {}
        for p in r.listdir(PARAMS):
            v = r.word(f"{PARAMS}/{p}")
            if v is not None:
                params[p] = v
        st = LiveState(
            release=r.word("proc/sys/kernel/osrelease"), block_size=block_size, blocks=blocks,
            auto_online=r.word(f"{MEMORY}/auto_online_blocks"), params=params, nodes=nodes,
            meminfo=parse_meminfo(r.text("proc/meminfo") or ""),
            zoneinfo=parse_zoneinfo(r.text("proc/zoneinfo") or ""),
            vmstat=parse_vmstat(r.text("proc/vmstat") or ""),
            iomem=parse_iomem(r.text("proc/iomem") or ""))
        st.read_seconds = time.perf_counter() - t0
        return st

    def _derive(self) -> None:
        st = self.state
        self.version = parse_release(st.release)
        self.rule = PC.selfhosted_rule(self.version)
        try:
            self.profile_name = resolve_profile(f"{self.version[0]}.{self.version[1]}").name \
                if self.version else None
        except KeyError:
            self.profile_name = None
        ps = self.page_shift
        self.ppb = max(1, st.block_size >> ps)
        self.block_size = st.block_size
        nblk = max(st.blocks, default=-1) + 1
        code = np.zeros(nblk, dtype=np.uint8)
        for bid, b in st.blocks.items():
            code[bid] = PC.RAM if b["state"] == "online" else PC.BLOCK_OFFLINE
        self._blockcode = code
        # System RAM from iomem, at any depth; without root iomem reads as zeros: trust the blocks
        ram = [(-(-s >> ps), (e + 1) >> ps) for s, e, name, _ in st.iomem
               if name.startswith("System RAM") and e > s]
        self.iomem_hidden = bool(st.iomem) and all(s == 0 and e == 0 for s, e, _, _ in st.iomem)
        if not ram:
            ram = [(b * self.ppb, (b + 1) * self.ppb) for b in sorted(st.blocks)]
        self._ram = _merge(sorted(ram))
        self._ram_lo = np.array([a for a, _ in self._ram], dtype=np.int64)
        self._ram_hi = np.array([b for _, b in self._ram], dtype=np.int64)
        top = max([b for _, b in self._ram] + [nblk * self.ppb] + [1])
        max_pfn = 1 << (self.phys_bits - ps)
        self.geometry = Geometry(
            arch=self.arch_name, profile=self.profile_name or "live", page_size=self.page_size,
            page_shift=ps, pages_per_section=self.pps, section_size=self.pps << ps,
            sections_per_block=max(1, self.ppb // self.pps), pages_per_block=self.ppb,
            block_size=st.block_size, struct_page_size=64,
            pageblock_pages=512 if ps == 12 else 1 << max(0, 29 - ps), max_pfn=max_pfn,
            phys_bits=self.phys_bits, pmd_size=1 << (21 if ps == 12 else 29),
            extra={"live": True, "release": st.release, "top_pfn": top})
        self._memmap_pages = self.ppb * 64 // self.page_size
        self._vmemmap = None          # per block: self-hosted memmap pages, probed lazily
        self._resources = None        # hot-added ranges, worked out once per read

    def refresh(self) -> list[str]:
        """Read the text files again and drop the decoded pages; return what changed, one line each."""
        return self.apply_state(self.read_state())

    def read_state(self) -> LiveState:
        """Read the text files (a worker thread may do this while the app draws)."""
        return self._read()

    def apply_state(self, new: LiveState) -> list[str]:
        """Make `new` the machine's state (on the thread that draws); what changed, one line each."""
        old = self.state
        self.state = new
        self._derive()
        self._cache.clear()
        self.generation += 1
        return describe_changes(old, new, self.page_size)

    @property
    def config(self):
        """The twin's configuration (for "new machine" forms); the default machine if none fits."""
        from engine import ConfigError, MachineConfig
        from .twin import twin_config
        try:
            return twin_config(self)
        except ConfigError:
            return MachineConfig.default()

    # ------------------------------------------------------------------------------------
    # pages: structure, band reads, decoding
    # ------------------------------------------------------------------------------------
    @property
    def has_page_flags(self) -> bool:
        return self._flags is not None

    def _structure(self, pfns: np.ndarray) -> np.ndarray:
        blk = pfns // self.ppb
        inb = blk < len(self._blockcode)
        code = np.zeros(len(pfns), dtype=np.uint8)
        code[inb] = self._blockcode[blk[inb]]
        i = np.searchsorted(self._ram_lo, pfns, side="right") - 1
        in_ram = (i >= 0) & (pfns < self._ram_hi[np.clip(i, 0, None)]) if len(self._ram_lo) else \
            np.zeros(len(pfns), dtype=bool)
        code[(code == PC.RAM) & ~in_ram] = PC.NOT_RAM
        return code

    def _decode(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """Read and class [lo, hi) (one band, a whole number of sections)."""
        pfns = np.arange(lo, hi, dtype=np.int64)
        structure = self._structure(pfns)
        flags = counts = None
        if self._flags is not None and (structure == PC.RAM).any():
            t0 = time.perf_counter()
            flags = self._flags.read(lo, hi)
            counts = self._counts.read(lo, hi) if self._counts is not None else None
            self.timings["last_band_read"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        st, why = PC.classify(structure, flags, counts, self.rule)
        if self.rule == PC.RULE_POSITION and flags is not None:
            PC.mark_by_position(st, why, lo, self.ppb, self._memmap_pages, self._hot_blocks())
        self.timings["last_band_decode"] = time.perf_counter() - t0
        return st, why

    def _hot_blocks(self) -> set[int]:
        # blocks that are not boot memory: above the first hole-free boot range end we cannot
        # tell; the firmware map says hot-added memory is a separate System RAM resource
        top_level = [(s >> self.page_shift, (e + 1) >> self.page_shift)
                     for s, e, n, d in self.state.iomem if d == 0 and n.startswith("System RAM")]
        if len(top_level) <= 1:
            return set()
        first = top_level[0][0]
        return {b for b in self.state.blocks if b * self.ppb >= top_level[1][0] and b * self.ppb > first}

    def _sections(self, s0: int, s1: int) -> None:
        """Make sure sections [s0, s1) are decoded, reading missing runs of them in one go each."""
        pps = self.pps
        s = s0
        while s < s1:
            if s in self._cache:
                self._cache.move_to_end(s)
                s += 1
                continue
            e = s
            while e < s1 and e not in self._cache and e - s < 64:
                e += 1
            st, why = self._decode(s * pps, e * pps)
            for k in range(s, e):
                a = (k - s) * pps
                self._cache[k] = (st[a:a + pps], why[a:a + pps])
            s = e
        while len(self._cache) > max(CACHE_SECTIONS, s1 - s0):
            self._cache.popitem(last=False)

    def _band(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = max(0, lo), max(0, min(hi, self.geometry.max_pfn))
        if hi <= lo:
            return np.zeros(0, np.uint8), np.zeros(0, np.uint8)
        pps = self.pps
        s0, s1 = lo // pps, -(-hi // pps)
        self._sections(s0, s1)
        st = np.concatenate([self._cache[s][0] for s in range(s0, s1)])
        why = np.concatenate([self._cache[s][1] for s in range(s0, s1)])
        return st[lo - s0 * pps: hi - s0 * pps], why[lo - s0 * pps: hi - s0 * pps]

    # ------------------------------------------------------------------------------------
    # the read interface (bridge.protocol.MachineView)
    # ------------------------------------------------------------------------------------
    def present_sections(self) -> np.ndarray:
        spb = max(1, self.ppb // self.pps)
        ids = np.array(sorted(self.state.blocks), dtype=np.int64)
        return (ids[:, None] * spb + np.arange(spb, dtype=np.int64)[None, :]).ravel()

    def pfn_states(self, lo: int, hi: int) -> np.ndarray:
        return self._band(lo, hi)[0]

    def pfn_reasons(self, lo: int, hi: int) -> np.ndarray:
        """Reason codes (index into bridge.pageclass.REASONS) beside pfn_states()."""
        return self._band(lo, hi)[1]

    def state_runs(self, lo: int, hi: int):
        starts, ends, codes = [], [], []
        band = self.pps * 64
        for a in range(max(0, lo), hi, band):
            b = min(hi, a + band)
            st = self.pfn_states(a, b)
            if not len(st):
                continue
            cut = np.flatnonzero(st[1:] != st[:-1]) + 1
            s = np.concatenate(([0], cut)) + a
            e = np.concatenate((cut, [len(st)])) + a
            c = st[s - a]
            if starts and codes[-1][-1] == c[0] and ends[-1][-1] == s[0]:
                s, e0 = s[1:], e[0]
                ends[-1][-1] = e0
                e, c = e[1:], c[1:]
            starts.append(s.astype(np.int64))
            ends.append(e.astype(np.int64))
            codes.append(c.astype(np.uint8))
        if not starts:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.uint8)
        return np.concatenate(starts), np.concatenate(ends), np.concatenate(codes)

    def aggregate(self, lo: int, hi: int, per_cell: int):
        """Dominant state per cell and whether it is mixed; wide ranges are sampled, not read whole."""
        per_cell = max(1, int(per_cell))
        n = max(0, -(-(hi - lo) // per_cell))
        if n == 0:
            return np.zeros(0, np.uint8), np.zeros(0, bool)
        if hi - lo <= WIDE or self._flags is None:
            st = self._structure_or_states(lo, hi)
            pad = np.full(n * per_cell - len(st), 255, dtype=np.uint8)
            grid = np.concatenate((st, pad)).reshape(n, per_cell)
        else:
            # two sample windows per cell, read in one pread each (flags only: a flagless page
            # with references reads as free here, as a kernel allocation when read whole)
            k = max(1, min(2, per_cell // SAMPLE))
            w = min(per_cell, SAMPLE)
            offs = (np.arange(k) * (per_cell // k)).astype(np.int64)
            starts = (lo + np.arange(n, dtype=np.int64)[:, None] * per_cell + offs[None, :]).ravel()
            grid = self._sampled(starts, w, hi, counts=False).reshape(n, k * w)
        counts = np.stack([(grid == s).sum(axis=1) for s in range(S.NSTATES)], axis=1)
        dominant = counts.argmax(axis=1).astype(np.uint8)
        mixed = (counts > 0).sum(axis=1) > 1
        return dominant, mixed

    def _structure_or_states(self, lo: int, hi: int) -> np.ndarray:
        return self.pfn_states(lo, hi)

    def _sampled(self, starts: np.ndarray, w: int, hi: int, counts: bool = True) -> np.ndarray:
        """States of the windows [s, s+w) for each start (255 past hi), classed in one go."""
        want_counts = counts
        pfns = (starts[:, None] + np.arange(w, dtype=np.int64)[None, :]).ravel()
        structure = self._structure(pfns)
        flags = np.zeros(len(pfns), dtype=np.uint64)
        counts = np.zeros(len(pfns), dtype=np.uint64) if self._counts is not None and want_counts else None
        need = np.flatnonzero((structure.reshape(-1, w) == PC.RAM).any(axis=1))
        for i in need.tolist():
            a = int(starts[i])
            flags[i * w:(i + 1) * w] = self._flags.read(a, a + w)
            if counts is not None:
                counts[i * w:(i + 1) * w] = self._counts.read(a, a + w)
        st = PC.classify(structure, flags, counts, self.rule)[0]
        st[pfns >= hi] = 255
        return st

    def _sample(self, a: int, b: int) -> np.ndarray:
        if b <= a:
            return np.zeros(0, np.uint8)
        s = a // self.pps
        if s in self._cache and (b - 1) // self.pps == s:
            off = a - s * self.pps
            return self._cache[s][0][off: off + (b - a)]
        pfns = np.arange(a, b, dtype=np.int64)
        structure = self._structure(pfns)
        if not (structure == PC.RAM).any():
            return PC.classify(structure, None, None, self.rule)[0]
        flags = self._flags.read(a, b)
        counts = self._counts.read(a, b) if self._counts is not None else None
        return PC.classify(structure, flags, counts, self.rule)[0]

    def kpageflags(self, lo: int, hi: int) -> np.ndarray:
        if self._flags is None:
            return np.zeros(max(0, hi - lo), dtype=np.uint64)
        return self._flags.read(max(0, lo), max(0, hi))

    def kpagecount(self, lo: int, hi: int) -> np.ndarray:
        if self._counts is None:
            return np.zeros(max(0, hi - lo), dtype=np.uint64)
        return self._counts.read(max(0, lo), max(0, hi))

    # -- blocks ----------------------------------------------------------------------------
    def _probe_vmemmap(self) -> dict[int, int]:
        """Self-hosted memmap pages per online block: the first pfn tells, the run is then read."""
        if self._vmemmap is not None:
            return self._vmemmap
        out: dict[int, int] = {}
        if self._flags is not None and self.rule != PC.RULE_NONE:
            online = np.array([b for b, d in sorted(self.state.blocks.items()) if d["state"] == "online"],
                              dtype=np.int64)
            firsts = self._sampled(online * self.ppb, 1, self.geometry.max_pfn) if len(online) else online
            for bid, first in zip(online.tolist(), np.asarray(firsts).tolist()):
                if first != S.MEMMAP_SELF and self.rule != PC.RULE_POSITION:
                    continue
                lo = bid * self.ppb
                st = self.pfn_states(lo, lo + min(self.ppb, self._memmap_pages * 2))
                n = int(np.argmax(st != S.MEMMAP_SELF)) if (st != S.MEMMAP_SELF).any() else len(st)
                if n:
                    out[bid] = n
        self._vmemmap = out
        return out

    def hot_blocks(self) -> set[int]:
        """Blocks that cannot be boot memory: offline, hosting their own memmap, or dax/kmem."""
        kmem = {b for s_, e, n, _ in self.state.iomem if "kmem" in n
                for b in range((s_ >> self.page_shift) // self.ppb, ((e + 1) >> self.page_shift) // self.ppb)}
        return ({b for b, d in self.state.blocks.items() if d["state"] != "online"}
                | set(self._probe_vmemmap()) | (kmem & set(self.state.blocks)))

    def _block_dict(self, bid: int) -> dict:
        b = self.state.blocks[bid]
        lo, hi = bid * self.ppb, (bid + 1) * self.ppb
        vz = b["valid_zones"]
        zone = vz if (b["state"] == "online" and vz and " " not in vz and vz != "none") else None
        if self._resources is None:
            self._resources = self._hot_resources()
        rix = next((i for i, r in enumerate(self._resources) if r["start_pfn"] <= lo < r["end_pfn"]), None)
        return {"id": bid, "state": b["state"], "online": b["online"], "phys_index": b["phys_index"],
                "valid_zones": vz if vz is not None else "", "removable": b["removable"],
                "phys_device": b["phys_device"], "node": b["node"],
                "nr_vmemmap_pages": self._probe_vmemmap().get(bid, 0), "start_pfn": lo,
                "end_pfn": hi, "zone": zone, "resource": rix, "boot": rix is None}

    def blocks(self) -> list[dict]:
        return [self._block_dict(b) for b in sorted(self.state.blocks)]

    def block_table(self) -> BlockTable:
        """blocks() as columns (engine.BlockTable), once per refresh."""
        if self._block_table is None or self._block_table[0] != self.generation:
            self._block_table = (self.generation, BlockTable.from_dicts(self.blocks()))
        return self._block_table[1]

    def block(self, bid: int) -> dict | None:
        return self._block_dict(bid) if bid in self.state.blocks else None

    def block_of(self, pfn: int) -> int | None:
        b = pfn // self.ppb
        return b if b in self.state.blocks else None

    def resources(self) -> list[dict]:
        """Hot-added ranges (see hot_blocks), split where the node or the iomem resource changes."""
        if self._resources is None:
            self._resources = self._hot_resources()
        return [dict(r, blocks=list(r["blocks"])) for r in self._resources]

    def _hot_resources(self) -> list[dict]:
        hot = sorted(self.hot_blocks())
        ps, ppb = self.page_shift, self.ppb
        names = [(s_ >> ps, (e + 1) >> ps, n) for s_, e, n, _ in self.state.iomem
                 if n.startswith("System RAM") and e > s_]

        def owner(b: int):
            return next(((lo, hi, n) for lo, hi, n in names if lo <= b * ppb < hi), None)

        runs: list[list] = []
        for b in hot:
            key = (self.state.blocks[b]["node"], owner(b))
            if runs and runs[-1][1] == b and runs[-1][2] == key:
                runs[-1][1] = b + 1
            else:
                runs.append([b, b + 1, key])
        out = []
        for i, (b0, b1, (nid, own)) in enumerate(runs):
            lo, hi = b0 * ppb, b1 * ppb
            out.append({"id": i, "start": lo << ps, "size": (hi - lo) << ps, "end": hi << ps,
                        "start_pfn": lo, "end_pfn": hi, "node": nid,
                        "via": "kmem" if own and "kmem" in own[2] else "acpi", "memmap": None,
                        "blocks": list(range(b0, b1))})
        return out

    def resource_at(self, pfn: int) -> dict | None:
        return next((r for r in self.resources() if r["start_pfn"] <= pfn < r["end_pfn"]), None)

    def _node_of_pfn(self, pfn: int) -> int | None:
        b = self.state.blocks.get(pfn // self.ppb)
        return b["node"] if b else None

    # -- struct pages and the memmap ----------------------------------------------------------
    def served_by(self, pfn: int):
        if self.pfn_states(pfn, pfn + 1)[:1].tolist() != [S.MEMMAP_SELF]:
            return None
        per_page = self.page_size // 64
        b0 = (pfn // self.ppb) * self.ppb
        off = pfn - b0
        return b0 + off * per_page, b0 + (off + 1) * per_page

    def backing_of(self, lo: int, hi: int) -> list[tuple[int, int]]:
        """Only self-hosted memmaps are visible from user space; the boot memmap's place is not."""
        out = []
        vm = self._probe_vmemmap()
        per_page = self.page_size // 64
        for bid in range(lo // self.ppb, -(-hi // self.ppb)):
            if bid not in vm:
                continue
            b0, b1 = bid * self.ppb, (bid + 1) * self.ppb
            a, c = max(lo, b0), min(hi, b1)
            if a < c:
                out.append((b0 + (a - b0) // per_page, b0 + -(-(c - b0) // per_page)))
        return out

    def struct_page(self, pfn: int) -> dict:
        st, why = self._band(pfn, pfn + 1)
        code = int(st[0]) if len(st) else S.ABSENT
        flags = int(self.kpageflags(pfn, pfn + 1)[0]) if self._flags is not None else 0
        served = self.served_by(pfn)
        blk = self.block_of(pfn)
        b = self.state.blocks.get(blk) if blk is not None else None
        zone = None
        if b and b["state"] == "online":
            vz = b["valid_zones"] or ""
            zone = vz if vz and " " not in vz and vz != "none" else self._zone_by_span(pfn)
        names = PC.flag_names(flags)
        return {"pfn": pfn, "state": S.NAMES[code], "section": pfn // self.pps if b else None,
                "block": blk, "zone": zone, "node": b["node"] if b else None,
                "flags": [n.lower() for n in names],
                "refcount": int(self.kpagecount(pfn, pfn + 1)[0]) if self._counts is not None else None,
                "mapping": "?", "kpageflags": names,
                "memmap_of": None if served is None else {"first_pfn": served[0], "last_pfn": served[1] - 1,
                                                          "section": served[0] // self.pps},
                "note": PC.REASONS[int(why[0])] if len(why) else PC.REASONS[0],
                "why": PC.REASONS[int(why[0])] if len(why) else PC.REASONS[0]}

    def _zone_by_span(self, pfn: int) -> str | None:
        for z in self.state.zoneinfo:
            if z["spanned"] and z["start_pfn"] <= pfn < z["start_pfn"] + z["spanned"]:
                return z["zone"]
        return None

    def section(self, nr: int) -> dict:
        lo, hi = nr * self.pps, (nr + 1) * self.pps
        blk = self.block_of(lo)
        b = self.state.blocks.get(blk) if blk is not None else None
        backing = self.backing_of(lo, hi) if b else []
        return {"nr": nr, "start_pfn": lo, "end_pfn": hi, "present": b is not None,
                "online": bool(b and b["state"] == "online"), "node": b["node"] if b else None,
                "block": blk, "early": None,
                "memmap": {"source": "altmap" if backing else "kernel" if b else None,
                           "mapped": "PMD" if backing else None,
                           "backing": [{"start_pfn": a, "end_pfn": c, "node": b["node"] if b else None}
                                       for a, c in backing],
                           "note": None if backing else "memmap in kernel memory: its place is not "
                                                        "visible from user space"}}

    # -- counters ------------------------------------------------------------------------------
    def meminfo(self) -> dict:
        return dict(self.state.meminfo)

    def zoneinfo(self) -> list[dict]:
        return [dict(z) for z in self.state.zoneinfo]

    def vmstat(self) -> dict:
        return dict(self.state.vmstat)

    def iomem(self) -> list[tuple[int, int, str]]:
        return [(s, e, n) for s, e, n, _ in self.state.iomem]

    def iomem_tree(self) -> list[tuple[int, int, str, int]]:
        return list(self.state.iomem)

    def nodes_info(self) -> list[dict]:
        out = []
        for nid in sorted(self.state.nodes):
            nd = self.state.nodes[nid]
            zs = [z for z in self.state.zoneinfo if z["node"] == nid]
            out.append({"id": nid, "online": nd["online"],
                        "boot_memory": nd["meminfo"].get("MemTotal", 0) * 1024,
                        "present": sum(z["present"] for z in zs), "managed": sum(z["managed"] for z in zs),
                        "free": sum(z["free"] for z in zs), "distances": list(nd["distances"])})
        return out

    def ram_ranges(self) -> list[tuple[int, int]]:
        """System RAM as pfn ranges (whole pages), merged; the blocks when iomem is hidden."""
        return list(self._ram)

    # -- what the simulator models and a live view does not read ---------------------------
    bug = None               # a live kernel that hit BUG() is not one this program runs on
    uptime_s = 0.0           # the simulator's clock (tick steps); a live machine has its own

    def virtio_mem_devices(self) -> list[dict]:
        """virtio-mem devices are not read from a live kernel (yet): none are shown."""
        return []

    def virtio_mem_at(self, pfn: int) -> dict | None:
        return None

    def armed_faults(self) -> dict:
        """Fault injection is the simulator's: nothing is armed on a real machine."""
        return {}

    def pass_time(self, seconds: float) -> OpResult:
        return refusal("tick", {"seconds": seconds})

    def params(self) -> dict[str, str]:
        return dict(self.state.params)

    def prepare_reads(self) -> None:
        self._probe_vmemmap()

    def fingerprint(self) -> str:
        return f"live:{self.sysroot}:{self.generation}"

    # -- operations: refused ------------------------------------------------------------------
    def apply(self, op: dict) -> OpResult:
        name = str(op.get("op", "?"))
        return refusal(name, {k: v for k, v in op.items() if k != "op"})

    def hot_add(self, size, node: int = 0, start=None, via: str = "acpi") -> OpResult:
        return refusal("hot_add", {"size": size, "node": node})

    def online(self, block: int, type: str = "online") -> OpResult:
        return refusal("online", {"block": block, "type": type})

    def offline(self, block: int) -> OpResult:
        return refusal("offline", {"block": block})

    def remove(self, start, size) -> OpResult:
        return refusal("remove", {"start": start, "size": size})

    def eject(self, start, size) -> OpResult:
        return refusal("eject", {"start": start, "size": size})

    def alloc(self, **kw) -> OpResult:
        return refusal("alloc", kw)

    def free(self, **kw) -> OpResult:
        return refusal("free", kw)

    def set(self, **knobs) -> OpResult:
        return refusal("set", knobs)

    def undo(self) -> bool:
        return False

    def redo(self) -> OpResult | None:
        return None

    def close(self) -> None:
        for f in (self._flags, self._counts):
            if f is not None:
                f.close()


class LiveError(ValueError):
    """A system root that cannot be read as a machine (one line)."""


def refusal(op: str, args: dict) -> OpResult:
    """The one-line answer to any operation on a live machine."""
    return OpResult(op=op, args=args, ok=False, errno="EPERM", error=LIVE_REFUSAL,
                    check="live view: real machines are only read")


def _int(text: str | None) -> int:
    return int(text) if text and text.lstrip("-").isdigit() else 0


def _node_meminfo(text: str) -> dict[str, int]:
    out = {}
    for line in text.splitlines():
        parts = line.replace(":", " ").split()
        if len(parts) >= 4 and parts[0] == "Node" and parts[3].isdigit():
            out[parts[2]] = int(parts[3])
    return out


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in ranges:
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def describe_changes(old: LiveState, new: LiveState, page_size: int) -> list[str]:
    """What changed between two reads, one line each (blocks first, then counters)."""
    lines = []
    for bid in sorted(set(old.blocks) | set(new.blocks)):
        a, b = old.blocks.get(bid), new.blocks.get(bid)
        if a is None:
            lines.append(f"memory{bid} appeared ({b['state']})")
        elif b is None:
            lines.append(f"memory{bid} went away")
        elif a["state"] != b["state"]:
            lines.append(f"memory{bid}: {a['state']} -> {b['state']}")
        elif a["valid_zones"] != b["valid_zones"]:
            lines.append(f"memory{bid}: valid_zones {a['valid_zones']} -> {b['valid_zones']}")
    if old.auto_online != new.auto_online:
        lines.append(f"auto_online_blocks: {old.auto_online} -> {new.auto_online}")
    for key in ("MemTotal", "MemFree"):
        x, y = old.meminfo.get(key), new.meminfo.get(key)
        if x is not None and y is not None and x != y:
            lines.append(f"{key} {y - x:+d} kB (now {y} kB)")
    for key in ("nr_memmap_pages", "nr_memmap_boot_pages"):
        x, y = old.vmstat.get(key), new.vmstat.get(key)
        if x is not None and y is not None and x != y:
            lines.append(f"{key} {y - x:+d} (now {y})")
    oz = {(z["node"], z["zone"]): z for z in old.zoneinfo}
    for z in new.zoneinfo:
        o = oz.get((z["node"], z["zone"]))
        if o and (o["present"], o["managed"], o["spanned"]) != (z["present"], z["managed"], z["spanned"]):
            lines.append(f"node {z['node']} {z['zone']}: present {z['present'] - o['present']:+d}, "
                         f"managed {z['managed'] - o['managed']:+d}, spanned {z['spanned'] - o['spanned']:+d}")
    return lines
