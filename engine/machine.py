"""The simulated machine: nodes, zones, sections, memory blocks and the pfn state store.

The running kernel as a whole. Operations live in the modules named after their kernel
files (memory_hotplug, memory_block, sparse, vmemmap, page_alloc, acpi); this module owns
the state they change, runs each operation as a transaction (all-or-nothing, except where
the kernel's own error path leaves something behind), keeps undo/redo, and answers queries.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from .arch import get_arch, with_overrides
from .block_table import BlockTable, block_table
from .config import MachineConfig
from .errors import Cancelled, KernelBug, OpFailed, ERRNO_TEXT
from .events import Event
from .journal import Journal
from .model import (ZONE_NAMES, Geometry, Node, Resource, VmemAltmap, Zone)
from .pfnstore import PfnStore
from .profiles import resolve_profile
from .resmap import IdMap, ResourceMap
from .gcpause import collector_paused
from .tx import Columns, Tx


@dataclass
class OpResult:
    op: str
    args: dict
    ok: bool
    errno: str | None = None
    error: str | None = None
    check: str | None = None
    events: list[Event] = field(default_factory=list)
    dmesg: list[str] = field(default_factory=list)
    left_behind: list[str] = field(default_factory=list)
    # the memory block devices the operation created (hot_add: the new memoryN), in order
    blocks: list[int] = field(default_factory=list)
    # the pfn ranges [lo, hi) whose state the operation changed (allocated, pinned, migrated,
    # added or removed pages), merged and sorted; at most CHANGED_LIMIT ranges
    changed: list[tuple[int, int]] = field(default_factory=list)

    def summary(self) -> str:
        what = f"{self.op}(" + ", ".join(f"{k}={_fmt_arg(v)}" for k, v in self.args.items()) + ")"
        if self.ok:
            return f"{what}: ok"
        return f"{what}: -{self.errno} ({ERRNO_TEXT.get(self.errno, '')}): {self.error}"

    def as_dict(self) -> dict:
        return {"op": self.op, "args": self.args, "ok": self.ok, "errno": self.errno,
                "error": self.error, "check": self.check,
                "events": [e.line() for e in self.events], "dmesg": list(self.dmesg),
                "left_behind": list(self.left_behind), "blocks": list(self.blocks),
                "changed": [list(r) for r in self.changed]}


CHANGED_LIMIT = 256


def merge_ranges(ranges: list[tuple[int, int]], limit: int = CHANGED_LIMIT) -> list[tuple[int, int]]:
    """Sorted, merged [lo, hi) ranges; past `limit` the closest neighbours are joined."""
    out: list[list[int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1]:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    while len(out) > limit:
        # join the pair with the smallest gap (rare: scattered single-page changes)
        gaps = [out[i + 1][0] - out[i][1] for i in range(len(out) - 1)]
        i = gaps.index(min(gaps))
        out[i][1] = out[i + 1][1]
        del out[i + 1]
    return [(lo, hi) for lo, hi in out]


def _fmt_arg(v) -> str:
    if isinstance(v, int) and not isinstance(v, bool) and v >= 1 << 20:
        return hex(v)
    return str(v)


class Machine:
    UNDO_LIMIT = 500

    def __init__(self, config: MachineConfig | None = None):
        cfg = config or MachineConfig.default()
        cfg.validate()
        self.config = cfg
        self.profile = resolve_profile(cfg.profile)
        self.arch = with_overrides(get_arch(cfg.arch), la57=cfg.la57)
        a = self.arch
        self.page_shift = a.page_shift
        self.page_size = a.page_size
        self.pps = a.pages_per_section
        self.struct_page_size = cfg.struct_page_size or a.default_struct_page
        po = cfg.pageblock_order
        if po is None:
            po = a.pageblock_order if cfg.hugetlb else a.pageblock_order_nohugetlb
        self.pageblock_pages = 1 << po
        self.max_pfn = 1 << (a.phys_bits - a.page_shift)
        self.memmap_mode = {False: "off", True: "on", "force": "force"}[cfg.memmap_on_memory]
        self.auto_online = cfg.auto_online
        self.online_policy = cfg.online_policy
        self.auto_movable_ratio = cfg.auto_movable_ratio

        # per-section and per-block columns reserve the whole address space without backing
        # it (see Columns): a block is at least a section, so sections + 1 rows hold any block
        nsecs = self.max_pfn // self.pps
        self.store = PfnStore(self.pps, capacity=nsecs)
        self.secs = Columns({"present": (np.bool_, False), "online": (np.bool_, False),
                             "node": (np.int16, -1), "early": (np.bool_, False)}, capacity=nsecs)
        self.blks = Columns({"exists": (np.bool_, False), "online": (np.bool_, False),
                             "zone": (np.int8, -1), "node": (np.int16, -1),
                             "nr_vmemmap": (np.int32, 0), "res": (np.int64, -1),
                             "boot": (np.bool_, False), "group": (np.int32, -1)}, capacity=nsecs + 1)
        self.zones: dict[tuple[int, int], Zone] = {}
        self.nodes: dict[int, Node] = {}
        self.res = ResourceMap()   # hot-added System RAM resources by id (= first pfn), sorted
        self.groups = IdMap()     # memory groups by id (drivers/base/memory.c), lowest free id O(log n)
        self.virtio_mem: dict = {}                   # virtio-mem devices by id (probed after boot)
        self.altmaps: dict[int, VmemAltmap] = {}     # per block (mem->altmap, 6.6+; 5.13 single)
        # vmemmap mappings: ("pmd", va // PMD_SIZE) or ("pte", va // PAGE_SIZE)
        #   -> (backing pfn, node, source "altmap" | "buddy" | "boot")
        self.vmap: dict[tuple[str, int], tuple[int, int, str]] = {}
        # page-table pages of the vmemmap: (level, index) -> (pfn, node, source, children)
        self.ptables: dict[tuple[str, int], tuple[int, int, str, int]] = {}
        # arm64 linear map of hot-added memory: shared PMD/PUD table pages by (level, span
        # index) -> (pfn, node), and each section's PTE table pages as pfn runs
        self.lmap: dict[tuple[str, int], tuple[int, int]] = {}
        self.lmap_pte: dict[int, tuple[tuple[int, int], ...]] = {}
        self.counters = _Counters()
        self.min_free_kbytes = 0
        self.policy_zone = 0          # mm/mempolicy.c policy_zone (check_highest_zone())
        # armed faults (engine.fault_inject): name -> {"errno": -16} or {"nth": 3}
        self.faults: dict[str, dict] = {}
        # keys of the pr_warn_once()/WARN_ON_ONCE() sites that already printed this boot
        self.printed_once: set[str] = set()
        # the BUG() the machine stopped at, (message, check), None while it runs: every
        # operation is refused until the one that hit it is undone
        self.bug: tuple[str, str] | None = None

        # called as progress_hook(what, done, total) inside long loops (large adds and
        # removals); a front end can use it to show progress and to let its own thread run
        self.progress_hook = None
        self._progress = [0, 0]        # (units done, estimated total) of the running operation
        self._blocks_cache: tuple[int, list[dict]] | None = None   # (generation, blocks())
        self._block_table_cache: tuple[int, BlockTable] | None = None
        self.generation = 0
        self.history: list[dict] = []
        self._undo: list[tuple[dict, Journal, OpResult]] = []
        self._redo: list[dict] = []
        self._boot()
        self.block_size = self._block_size
        self.geometry = Geometry(
            arch=a.name, profile=self.profile.name, page_size=self.page_size,
            page_shift=self.page_shift, pages_per_section=self.pps, section_size=a.section_size,
            sections_per_block=self.spb, pages_per_block=self.ppb, block_size=self.block_size,
            struct_page_size=self.struct_page_size, pageblock_pages=self.pageblock_pages,
            max_pfn=self.max_pfn, phys_bits=a.phys_bits, pmd_size=a.pmd_size)
        # virtio-mem devices are probed once the machine is up; their retry timers run on
        # the machine's clock, which only `tick` steps advance
        self.clock_ms = 0
        from .virtio_mem import probe_devices
        probe_devices(self)

    # =====================================================================================
    # boot
    # =====================================================================================
    def _boot(self) -> None:
        from . import boot
        boot.boot_machine(self)

    # =====================================================================================
    # transactions, undo, redo
    # =====================================================================================
    def apply(self, op: dict) -> OpResult:
        """Run one operation (a scenario step's table) as a transaction.

        A refusal is a result, never an exception. An exception from inside (a progress hook
        raising `Cancelled`, or an engine bug) rolls the machine back exactly and propagates."""
        with collector_paused():
            return self._apply(op)

    def _apply(self, op: dict) -> OpResult:
        from .ops import dispatch, normalise
        try:
            name, args = normalise(self, op)
        except OpFailed as e:
            table = op if isinstance(op, dict) else {}
            return OpResult(op=str(table.get("op")), args={k: v for k, v in table.items() if k != "op"},
                            ok=False, errno=e.errno, error=e.message, check=e.check)
        if self.bug is not None:
            message, check = self.bug
            return OpResult(op=name, args=args, ok=False, errno="BUG",
                            error=f"the machine has stopped: {message}; undo to go back",
                            check=f"{check} (the kernel oopsed: nothing runs after a BUG())")
        tx = Tx(dyndbg=self.config.dyndbg, faults=self.faults)
        self.store.touched = []
        self._progress = [0, self._estimate_work(name, args)]
        try:
            dispatch(self, tx, name, args)
        except KernelBug as e:
            # the oops: the state is what it was when the BUG fired, and the machine stops
            tx.trail.finish()
            tx.journal.set_attr(self, "bug", (e.message, e.check))
            res = OpResult(op=name, args=args, ok=False, errno=e.errno, error=e.message,
                           check=e.check, events=tx.trail.events, dmesg=tx.trail.dmesg,
                           left_behind=list(tx.left_behind) + [f"the machine stopped: {e.message}"])
            self._commit(op, tx, res)
            return res
        except OpFailed as e:
            tx.trail.finish()
            left = list(tx.left_behind)
            res = OpResult(op=name, args=args, ok=False, errno=e.errno, error=e.message,
                           check=e.check, events=tx.trail.events, dmesg=tx.trail.dmesg,
                           left_behind=left)
            if left:
                # the kernel's error path keeps these changes: commit them as they are
                res.changed = merge_ranges(self.store.touched)
                self._commit(op, tx, res)
            else:
                tx.journal.rollback()
            return res
        except BaseException:
            tx.journal.rollback()
            raise
        finally:
            touched, self.store.touched = self.store.touched, None
        tx.trail.finish()
        res = OpResult(op=name, args=args, ok=True, events=tx.trail.events, dmesg=tx.trail.dmesg,
                       left_behind=list(tx.left_behind), blocks=list(tx.created_blocks),
                       changed=merge_ranges(touched))
        self._commit(op, tx, res)
        return res

    def _commit(self, op: dict, tx: Tx, result: OpResult) -> None:
        self.history.append(dict(op))
        self._undo.append((dict(op), tx.journal, result))
        if len(self._undo) > self.UNDO_LIMIT:
            self._undo.pop(0)
        if not getattr(self, "_redoing", False):
            self._redo.clear()
        self.generation += 1

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo(self) -> bool:
        """Take back the last operation that changed the machine.

        The progress hook is called while a long journal rolls back; if it raises `Cancelled`
        the rollback still completes and the operation is applied again (the engine is
        deterministic: the state is exactly as before the undo), then `Cancelled` propagates."""
        if not self._undo:
            return False
        op, journal, result = self._undo.pop()
        hook = self.progress_hook
        cancelled: Cancelled | None = None

        def progress(done: int, total: int) -> None:
            nonlocal cancelled
            if hook is None or cancelled is not None:
                return
            try:
                hook("undo " + str(op.get("op")), done, total)
            except Cancelled as exc:
                cancelled = exc

        journal.rollback(progress)
        self.history.pop()
        if cancelled is not None:
            self.generation += 1
            self._redoing = True        # the redo stack is untouched by this re-apply
            self.progress_hook = None
            try:
                self.apply(op)
            finally:
                self._redoing = False
                self.progress_hook = hook
            raise cancelled
        self._redo.append(op)
        self.generation += 1
        return True

    def redo(self) -> OpResult | None:
        if not self._redo:
            return None
        op = self._redo.pop()
        self._redoing = True
        try:
            return self.apply(op)
        finally:
            self._redoing = False

    # convenience wrappers ------------------------------------------------------------------
    def hot_add(self, size, node: int = 0, start=None, via: str = "acpi",
                memmap_on_memory: bool | None = None) -> OpResult:
        """A hot-add step; memmap_on_memory is the dax device attribute (via="kmem" only)."""
        op = {"op": "hot_add", "size": size, "node": node, "start": start, "via": via}
        if memmap_on_memory is not None:
            op["memmap_on_memory"] = memmap_on_memory
        return self.apply(op)

    def online(self, block: int, type: str = "online") -> OpResult:
        return self.apply({"op": "online", "block": block, "type": type})

    def offline(self, block: int) -> OpResult:
        return self.apply({"op": "offline", "block": block})

    def remove(self, start, size) -> OpResult:
        return self.apply({"op": "remove", "start": start, "size": size})

    def eject(self, start, size) -> OpResult:
        return self.apply({"op": "eject", "start": start, "size": size})

    def alloc(self, node: int = 0, zone=None, pages=None, leave_free=None, kind="movable",
              block=None) -> OpResult:
        return self.apply({"op": "alloc", "node": node, "zone": zone, "pages": pages,
                           "leave_free": leave_free, "kind": kind, "block": block})

    def free(self, node: int = 0, zone=None, pages=None, kind="movable", block=None) -> OpResult:
        return self.apply({"op": "free", "node": node, "zone": zone, "pages": pages,
                           "kind": kind, "block": block})

    def resize(self, device: str, requested_size) -> OpResult:
        """QEMU `qom-set <device> requested-size <size>` on a virtio-mem device."""
        return self.apply({"op": "resize", "device": device, "requested_size": requested_size})

    def pass_time(self, seconds) -> OpResult:
        """The `tick` step: time passes and the virtio-mem retry timers that expire fire."""
        return self.apply({"op": "tick", "seconds": seconds})

    def set(self, **knobs) -> OpResult:
        return self.apply({"op": "set", **knobs})

    def inject(self, fault: str, errno=None, nth=None) -> OpResult:
        """Arm a fault (see engine.fault_inject.FAULTS), or clear it (errno=0, nth=0, or
        fault="none" for all)."""
        return self.apply({"op": "inject", "fault": fault, "errno": errno, "nth": nth})

    def armed_faults(self) -> dict[str, dict]:
        """The faults armed now: name -> {"errno": int} or {"nth": int}."""
        return {k: dict(v) for k, v in sorted(self.faults.items())}

    def tick(self, what: str, done: int = 0, total: int = 0) -> None:
        """One unit of a long loop (a section added or removed, a block onlined or offlined).

        The count is operation-wide (`_progress`: done, estimated total), whatever loop the
        caller is in; every 16th unit the progress hook hears the step and the count."""
        hook = self.progress_hook
        if hook is None:
            return
        prog = self._progress
        prog[0] += 1
        if (prog[0] & 15) == 0:
            hook(what, prog[0], max(prog[1], prog[0]))

    def tick_many(self, what: str, n: int) -> None:
        """n units of a long loop done at once (a batch of sections): the hook hears what n
        calls of `tick` would have told it, at every 16th unit."""
        hook = self.progress_hook
        if hook is None or n <= 0:
            return
        prog = self._progress
        end = prog[0] + n
        for done in range((prog[0] | 15) + 1, end + 1, 16):
            prog[0] = done
            hook(what, done, max(prog[1], done))
        prog[0] = end

    def _estimate_work(self, name: str, args: dict) -> int:
        """How many tick units an operation will take, for the progress display (an estimate:
        sections for adds and removals, plus blocks for onlining and offlining them)."""
        size = args.get("size")
        if not isinstance(size, int) or size <= 0:
            return 0
        sections = size // (self.pps << self.page_shift)
        blocks = size // self._block_size if self._block_size else 0
        if name == "eject":
            return sections + blocks
        if name == "hot_add" and self.auto_online != "offline":
            return sections + blocks
        return sections

    # =====================================================================================
    # geometry helpers used across the engine
    # =====================================================================================
    @property
    def spb(self) -> int:
        return self._block_size // self.arch.section_size

    @property
    def ppb(self) -> int:
        return self._block_size >> self.page_shift

    def zone(self, nid: int, zidx: int) -> Zone:
        return self.zones[(nid, zidx)]

    def node_zones(self, nid: int) -> list[Zone]:
        return [self.zones[(nid, z)] for z in range(len(ZONE_NAMES))]

    def distance(self, a: int, b: int) -> int:
        ids = sorted(self.nodes)
        return self.nodes[a].distances[ids.index(b)]

    def nodes_by_distance(self, nid: int) -> list[int]:
        return sorted(self.nodes, key=lambda n: (self.distance(nid, n), n))

    def block_range(self, b: int) -> tuple[int, int]:
        return b * self.ppb, (b + 1) * self.ppb

    def zone_of_pfn(self, pfn: int) -> Zone | None:
        """page_zone() for an online pfn; None when offline or absent."""
        b = pfn // self.ppb
        if b >= self.blks.size or not self.blks.online[b]:
            return None
        z = int(self.blks.zone[b])
        nid = int(self.secs.node[pfn // self.pps])
        if z >= 0:
            return self.zones[(nid, z)]
        return self.boot_zone_of_pfn(pfn)

    def boot_zone_of_pfn(self, pfn: int) -> Zone | None:
        """The boot zone holding pfn: early_pfn_to_nid() is per pfn, not per section (two
        nodes can share a section when sections are larger than a node's memory)."""
        nid = int(self.secs.node[pfn // self.pps]) if pfn // self.pps < self.secs.size else -1
        if nid < 0:
            return None
        for n in [nid] + [x for x in self.nodes if x != nid]:
            for z in self.node_zones(n):
                for lo, hi in z.boot_ranges:
                    if lo <= pfn < hi:
                        return z
        return None

    def zone_ranges(self, z: Zone, whole: bool = False) -> list[tuple[int, int]]:
        """pfn ranges whose pages belong to zone z now (online blocks in it), merged.

        Boot blocks count only where they hold RAM (holes and gaps are in no zone). Only the
        blocks inside the zone's span are looked at (what is online in a zone lies in its
        span), so the cost follows the zone, not the highest address; whole=True looks at
        every block (the invariant check that spans cover their pages).
        """
        b = self.blks
        n = b.size
        w0, w1 = 0, n
        if not whole:
            w0, w1 = (min(n, z.start_pfn // self.ppb), min(n, -(-z.end_pfn // self.ppb))) \
                if z.end_pfn > z.start_pfn else (0, 0)
        online = b.exists[w0:w1] & b.online[w0:w1] & (b.node[w0:w1] == z.node)
        sel = np.flatnonzero(online & (b.zone[w0:w1] == z.idx) & ~b.boot[w0:w1]) + w0
        out: list[tuple[int, int]] = []
        ppb = self.ppb
        if len(sel):
            breaks = np.flatnonzero(np.diff(sel) != 1)
            firsts = np.concatenate(([sel[0]], sel[breaks + 1]))
            lasts = np.concatenate((sel[breaks], [sel[-1]]))
            out = [(int(f) * ppb, (int(l) + 1) * ppb) for f, l in zip(firsts, lasts)]
        # a boot block may hold several nodes' RAM: each node's part is found by its ranges
        nb = min(n, self.nboot_blocks)
        boot_sel = np.flatnonzero(b.exists[:nb] & b.online[:nb] & b.boot[:nb]
                                  & ((b.zone[:nb] == z.idx) | (b.zone[:nb] < 0)))
        if len(boot_sel):
            ram = self.nodes[z.node].boot_ranges
            for blk in boot_sel.tolist():
                lo, hi = blk * ppb, (blk + 1) * ppb
                # a multi-zone boot block gives each zone its own boot RAM
                pieces = z.boot_ranges if b.zone[blk] < 0 else ram
                for a, c in pieces:
                    x, y = max(a, lo), min(c, hi)
                    if x < y:
                        out.append((x, y))
            out.sort()
            merged: list[tuple[int, int]] = []
            for a, c in out:
                if merged and merged[-1][1] == a:
                    merged[-1] = (merged[-1][0], c)
                else:
                    merged.append((a, c))
            out = merged
        return out

    def zone_extent(self, z: Zone) -> tuple[int, int]:
        """(first pfn, end pfn) of what is online in zone z now; (0, 0) when nothing is.

        What is online in a zone lies inside its current span, so only the span's blocks are
        looked at: shrinking a zone costs its span, not the whole machine."""
        b = self.blks
        n = b.size
        w0, w1 = 0, n
        if z.end_pfn > z.start_pfn:
            w0, w1 = min(n, z.start_pfn // self.ppb), min(n, -(-z.end_pfn // self.ppb))
        sel = np.flatnonzero(b.online[w0:w1] & (b.zone[w0:w1] == z.idx) & (b.node[w0:w1] == z.node)
                             & ~b.boot[w0:w1]) + w0
        ends = []
        if len(sel):
            ends += [int(sel[0]) * self.ppb, (int(sel[-1]) + 1) * self.ppb]
        nb = self.nboot_blocks          # boot blocks all sit below this id
        bb = b.online[:nb] & b.boot[:nb] & ((b.zone[:nb] == z.idx) | (b.zone[:nb] < 0))
        boot_sel = np.flatnonzero(bb)
        if len(boot_sel):
            # only the outermost boot blocks holding RAM of this zone set the extent
            for order in (boot_sel.tolist(), boot_sel[::-1].tolist()):
                for blk in order:
                    lo, hi = self.block_range(blk)
                    pieces = z.boot_ranges if b.zone[blk] < 0 else self.nodes[z.node].boot_ranges
                    got = [(max(a, lo), min(c, hi)) for a, c in pieces if max(a, lo) < min(c, hi)]
                    for x, y in got:
                        ends += [x, y]
                    if got:
                        break
        return (min(ends), max(ends)) if ends else (0, 0)

    # =====================================================================================
    # queries (the public read API used by the TUI and reports)
    # =====================================================================================
    def prepare_reads(self) -> None:
        """Build the read caches (flat run index, memmap reverse index, block table) now.

        Wide reads build them on first use; a front end that runs operations in a worker
        thread calls this there, so the first repaint after an operation does not pay.
        """
        self.store.flat()
        from .query import _reverse_index
        _reverse_index(self)
        self.block_table()

    def present_sections(self) -> np.ndarray:
        n = self.secs.size
        return np.flatnonzero(self.secs.present[:n]).astype(np.int64)

    # one value per pfn: a read this wide is a mistake, not a screen (16M pfns = 16 MiB)
    MAX_PFN_READ = 1 << 24

    def _pfn_arg(self, what: str, pfn, end: bool = False) -> int:
        """pfn as an int inside the physical address space (end=True: an exclusive end)."""
        if isinstance(pfn, bool) or not isinstance(pfn, (int, np.integer)):
            raise ValueError(f"{what}: expected a pfn (an integer), got {type(pfn).__name__}")
        pfn = int(pfn)
        top = self.max_pfn if end else self.max_pfn - 1
        if not 0 <= pfn <= top:
            raise ValueError(f"{what}: pfn {pfn:#x} is outside the physical address space "
                             f"[0x0-{self.max_pfn - 1:#x}]")
        return pfn

    def _range_arg(self, what: str, lo, hi, per_pfn: bool = False) -> tuple[int, int]:
        lo, hi = self._pfn_arg(what, lo), self._pfn_arg(what, hi, end=True)
        if hi < lo:
            raise ValueError(f"{what}: range [{lo:#x}, {hi:#x}) ends before it starts")
        if per_pfn and hi - lo > self.MAX_PFN_READ:
            raise ValueError(f"{what}: {hi - lo} pfns is more than one read gives "
                             f"({self.MAX_PFN_READ}); read runs or aggregates instead")
        return lo, hi

    def pfn_states(self, lo: int, hi: int) -> np.ndarray:
        # the grid reads past the end of the space at its last row: clip, then bound
        lo, hi = max(0, int(lo)), max(0, min(int(hi), self.max_pfn))
        lo, hi = self._range_arg("pfn_states", min(lo, hi), hi, per_pfn=True)
        return self.store.get(lo, hi)

    def state_runs(self, lo: int, hi: int):
        return self.store.runs(max(0, lo), max(0, min(hi, self.max_pfn)))

    def aggregate(self, lo: int, hi: int, per_cell: int):
        """Per cell of per_cell pfns: the dominant state and whether the cell is mixed."""
        from .query import aggregate
        return aggregate(self, lo, hi, per_cell)

    def struct_page(self, pfn: int) -> dict:
        from .query import struct_page
        return struct_page(self, self._pfn_arg("struct_page", pfn))

    def section(self, nr: int) -> dict:
        from .query import section_info
        if isinstance(nr, bool) or not isinstance(nr, (int, np.integer)):
            raise ValueError(f"section: expected a section number, got {type(nr).__name__}")
        last = (self.max_pfn - 1) // self.pps
        if not 0 <= nr <= last:
            raise ValueError(f"section: {nr} is outside the physical address space (0-{last})")
        return section_info(self, int(nr))

    def backing_of(self, lo: int, hi: int) -> list[tuple[int, int]]:
        """Walks present sections only, so a range across the whole space costs what is there."""
        from .query import backing_of
        lo, hi = self._range_arg("backing_of", lo, hi)
        out: list[tuple[int, int]] = []
        for a, b in self._present_runs(lo, hi):
            for seg in backing_of(self, a, b):
                if out and out[-1][1] == seg[0]:
                    out[-1] = (out[-1][0], seg[1])
                else:
                    out.append(seg)
        return out

    def _present_runs(self, lo: int, hi: int) -> list[tuple[int, int]]:
        """[lo, hi) cut to the runs of present sections."""
        secs = self.present_sections()
        secs = secs[(secs >= lo // self.pps) & (secs < -(-hi // self.pps))]
        if not len(secs):
            return []
        breaks = np.flatnonzero(np.diff(secs) != 1)
        firsts = np.concatenate(([secs[0]], secs[breaks + 1]))
        lasts = np.concatenate((secs[breaks], [secs[-1]]))
        return [(max(lo, int(f) * self.pps), min(hi, (int(l) + 1) * self.pps))
                for f, l in zip(firsts, lasts)]

    def served_by(self, pfn: int):
        from .query import served_by
        return served_by(self, self._pfn_arg("served_by", pfn))

    def blocks(self) -> list[dict]:
        """Every memory block's sysfs view, in id order. Built once per generation (the dicts
        are shared between callers of one generation: treat them as read-only)."""
        cached = self._blocks_cache
        if cached is not None and cached[0] == self.generation:
            return list(cached[1])
        from .memory_block import block_sysfs
        n = self.blks.size
        out = [block_sysfs(self, int(b)) for b in np.flatnonzero(self.blks.exists[:n])]
        self._blocks_cache = (self.generation, out)
        return list(out)

    def block_table(self) -> BlockTable:
        """Every block as numpy columns (engine.block_table): what an overview reads after an
        operation, O(blocks) in numpy. Built once per generation; treat it as read-only."""
        cached = self._block_table_cache
        if cached is not None and cached[0] == self.generation:
            return cached[1]
        table = block_table(self)
        self._block_table_cache = (self.generation, table)
        return table

    def block(self, bid: int) -> dict | None:
        from .memory_block import block_sysfs
        if 0 <= bid < self.blks.size and self.blks.exists[bid]:
            return block_sysfs(self, bid)
        return None

    def block_of(self, pfn: int) -> int | None:
        b = pfn // self.ppb
        if 0 <= b < self.blks.size and self.blks.exists[b]:
            return int(b)
        return None

    def resources(self) -> list[dict]:
        return [self._resource_dict(r) for r in self.res.ordered()]

    def _resource_dict(self, r: Resource) -> dict:
        ps = self.page_shift
        return {"id": r.id, "start": r.start_pfn << ps, "size": (r.end_pfn - r.start_pfn) << ps,
                "end": r.end_pfn << ps, "start_pfn": r.start_pfn, "end_pfn": r.end_pfn,
                "node": r.node, "via": r.via, "memmap": r.memmap,
                "name": r.name, "flags": list(r.flags), "parent": r.owner or None,
                # existing blocks only: a stale entry (release_mem_region_adjustable left
                # it) claims the range without any memory block
                "blocks": self._existing_blocks(r.start_pfn // self.ppb, r.end_pfn // self.ppb)}

    def _existing_blocks(self, b0: int, b1: int) -> list[int]:
        """Ids of the existing blocks in [b0, b1), in numpy (a 16 TiB range has 131,072)."""
        b1 = min(b1, self.blks.size)
        if b1 <= b0:
            return []
        return (np.flatnonzero(self.blks.exists[b0:b1]) + b0).tolist()

    def resource_at(self, pfn: int) -> dict | None:
        r = self.res.containing(pfn)
        return None if r is None else self._resource_dict(r)

    def meminfo(self) -> dict:
        from .procfs import meminfo
        return meminfo(self)

    def zoneinfo(self) -> list[dict]:
        from .procfs import zoneinfo
        return zoneinfo(self)

    def vmstat(self) -> dict:
        from .procfs import vmstat
        return vmstat(self)

    def iomem(self) -> list[tuple[int, int, str]]:
        from .procfs import iomem
        return iomem(self)

    def kpageflags(self, lo: int, hi: int) -> np.ndarray:
        from .procfs import kpageflags
        return kpageflags(self, *self._range_arg("kpageflags", lo, hi, per_pfn=True))

    def nodes_info(self) -> list[dict]:
        out = []
        for nid in sorted(self.nodes):
            nd = self.nodes[nid]
            zs = self.node_zones(nid)
            out.append({"id": nid, "online": nd.online, "boot_memory": nd.boot_memory,
                        "present": sum(z.present for z in zs), "managed": sum(z.managed for z in zs),
                        "free": sum(z.free for z in zs), "distances": list(nd.distances)})
        return out

    @property
    def uptime_s(self) -> float:
        """Seconds the machine has run: advanced only by `tick` steps."""
        return self.clock_ms / 1000

    def virtio_mem_devices(self) -> list[dict]:
        """Every virtio-mem device: id, name, node, addr, size, block_size, mode (SBM/BBM),
        subblock/big block size, requested_size, plugged_size, retry timer, blocks."""
        from .virtio_mem import device_info
        return [device_info(self, vm) for vm in self.virtio_mem.values()]

    def virtio_mem_at(self, pfn: int) -> dict | None:
        """The virtio-mem device whose region holds pfn (with that block's plug state)."""
        from .virtio_mem import device_at
        return device_at(self, pfn)

    def fingerprint(self) -> str:
        """A hash of the whole machine state: equal iff the states are equal."""
        h = hashlib.sha256()
        self.store.fingerprint_into(h)
        self.secs.fingerprint_into(h)
        self.blks.fingerprint_into(h)
        for key in sorted(self.zones):
            h.update(repr((key, self.zones[key].state())).encode())
        for nid in sorted(self.nodes):
            h.update(repr((nid, self.nodes[nid].online)).encode())
        h.update(repr(sorted(self.res.items())).encode())
        h.update(repr(sorted((k, v.as_dict()) for k, v in self.altmaps.items())).encode())
        h.update(repr(sorted((k, v.as_dict()) for k, v in self.groups.items())).encode())
        h.update(repr((self.clock_ms, [v.as_dict() for v in self.virtio_mem.values()])).encode())
        h.update(repr(sorted(self.vmap.items())).encode())
        h.update(repr(sorted(self.ptables.items())).encode())
        h.update(repr((sorted(self.lmap.items()), sorted(self.lmap_pte.items()))).encode())
        h.update(repr(vars(self.counters)).encode())
        h.update(repr((self.auto_online, self.online_policy, self.auto_movable_ratio,
                       self.min_free_kbytes, self.policy_zone)).encode())
        h.update(repr((sorted(self.faults.items()), sorted(self.printed_once), self.bug)).encode())
        return h.hexdigest()


class _Counters:
    """Global counters the kernel keeps outside zones (vmstat items, resource ids)."""

    def __init__(self):
        self.nr_memmap_pages = 0
        self.nr_memmap_boot_pages = 0
