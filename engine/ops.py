"""Operations as data: checking a step's arguments and running it on the machine."""

from __future__ import annotations

import numpy as np

from . import states as S
from .config import AUTO_ONLINE_TYPES, ONLINE_POLICIES, ONLINE_TYPES
from .errors import OpFailed
from .model import ZONE_MOVABLE, ZONE_NAMES, zone_index
from .units import parse_size
from . import acpi, fault_inject, memory_hotplug as mh, memory_block as mb, page_alloc, virtio_mem
from .virtio_mem import TICK_LIMIT_S

KINDS = ("movable", "unmovable", "pinned")
KIND_CODE = {"movable": S.MOVABLE, "unmovable": S.UNMOVABLE, "pinned": S.PINNED}
# who calls add_memory: the ACPI memory driver, a generic driver that always asks for
# MHP_MEMMAP_ON_MEMORY, dax/kmem, or pseries DLPAR (docs/engine-rules-arch.md)
VIAS = ("acpi", "driver", "kmem", "dlpar", "probe")

# op -> {key: (kind, required)}
OP_ARGS: dict[str, dict[str, tuple[str, bool]]] = {
    "hot_add": {"size": ("size", True), "start": ("addr", False), "node": ("int", False),
                "via": ("via", False), "memmap_on_memory": ("bool", False)},
    "online": {"block": ("int", True), "type": ("online_type", False)},
    "offline": {"block": ("int", True)},
    "remove": {"start": ("addr", True), "size": ("size", True)},
    "eject": {"start": ("addr", True), "size": ("size", True)},
    "alloc": {"node": ("int", False), "zone": ("zone", False), "pages": ("int", False),
              "leave_free": ("size", False), "kind": ("kind", False), "block": ("int", False)},
    "free": {"node": ("int", False), "zone": ("zone", False), "pages": ("int", False),
             "kind": ("kind", False), "block": ("int", False)},
    "resize": {"device": ("str", True), "requested_size": ("size", True)},
    "tick": {"seconds": ("seconds", True)},
    "set": {"auto_online": ("auto_online", False), "online_policy": ("policy", False),
            "auto_movable_ratio": ("int", False), "memmap_on_memory": ("any", False)},
    "inject": {"fault": ("fault", True), "errno": ("errno", False), "nth": ("int", False)},
}
DEFAULTS = {"hot_add": {"node": 0, "via": "acpi"}, "online": {"type": "online"},
            "alloc": {"node": 0, "kind": "movable"}, "free": {"node": 0, "kind": "movable"}}
NARRATION_KEYS = ("say", "expect", "wait")


class ArgError(ValueError):
    def __init__(self, key: str | None, message: str):
        super().__init__(message)
        self.key = key
        self.message = message


# value kinds that are names: anything but a string is refused before it is looked up
NAME_KINDS = ("via", "online_type", "auto_online", "policy", "zone", "kind")


def parse_op(op: dict) -> tuple[str, dict]:
    """Check a step's keys and values; return (name, args) with values converted."""
    if not isinstance(op, dict):
        raise ArgError("op", f"a step must be a table with an 'op' key, got {type(op).__name__}")
    if "op" not in op:
        raise ArgError("op", "missing key 'op'")
    name = op["op"]
    if not isinstance(name, str):
        raise ArgError("op", f"expected an op name (a string), got {_type_name(name)}")
    if name not in OP_ARGS:
        raise ArgError("op", f"unknown op {name!r} (one of {', '.join(OP_ARGS)})")
    spec = OP_ARGS[name]
    args: dict = dict(DEFAULTS.get(name, {}))
    for key, value in op.items():
        if key == "op" or key in NARRATION_KEYS:
            continue
        if key not in spec:
            raise ArgError(key, f"unknown key {key!r} for op {name} (allowed: {', '.join(spec)})")
        if value is None:
            continue
        args[key] = _convert(key, spec[key][0], value)
    for key, (_, required) in spec.items():
        if required and args.get(key) is None:
            raise ArgError(key, f"op {name} needs {key!r}")
    if name == "alloc" and args.get("pages") is None and args.get("leave_free") is None:
        raise ArgError("pages", "op alloc needs 'pages' or 'leave_free'")
    if name == "alloc" and args.get("pages") is not None and args.get("leave_free") is not None:
        raise ArgError("leave_free", "op alloc takes 'pages' or 'leave_free', not both")
    if name == "hot_add" and args.get("memmap_on_memory") is not None and args["via"] != "kmem":
        raise ArgError("memmap_on_memory", "memmap_on_memory is the dax device attribute: "
                       "it goes with via = \"kmem\" only")
    if name == "set" and len(args) == 0:
        raise ArgError(None, "op set needs one of auto_online, online_policy, auto_movable_ratio")
    return name, args


def _type_name(value) -> str:
    return {bool: "a boolean", list: "an array", dict: "a table", float: "a float"}.get(
        type(value), type(value).__name__)


def _convert(key: str, kind: str, value):
    if kind in NAME_KINDS and not isinstance(value, str):
        raise ArgError(key, f"{key}: expected a string, got {_type_name(value)}")
    try:
        if kind in ("size", "addr"):
            return parse_size(value, key)
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                raise ValueError(f"{key}: expected an integer, got {_type_name(value)}")
            v = int(value, 0) if isinstance(value, str) else value
            if v < 0:
                raise ValueError(f"{key}: must not be negative")
            return v
        if kind == "str":
            if not isinstance(value, str) or not value:
                raise ValueError(f"{key}: expected a name, got {value!r}")
            return value
        if kind == "seconds":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{key}: expected a number of seconds, got {value!r}")
            if not 0 < value <= TICK_LIMIT_S:
                raise ValueError(f"{key}: must be above 0 and at most {TICK_LIMIT_S} (a week)")
            return value
        if kind == "via":
            if value not in VIAS:
                raise ValueError(f"via: expected one of {', '.join(VIAS)}, got {value!r}")
            return value
        if kind == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"{key}: expected true or false, got {value!r}")
            return value
        if kind == "online_type":
            if value not in ONLINE_TYPES:
                raise ValueError(f"type: expected one of {', '.join(ONLINE_TYPES)}, got {value!r}")
            return value
        if kind == "auto_online":
            if value not in AUTO_ONLINE_TYPES:
                raise ValueError(f"auto_online: expected one of {', '.join(AUTO_ONLINE_TYPES)}, got {value!r}")
            return value
        if kind == "policy":
            if value not in ONLINE_POLICIES:
                raise ValueError(f"online_policy: expected one of {', '.join(ONLINE_POLICIES)}")
            return value
        if kind == "zone":
            return ZONE_NAMES[zone_index(value)]
        if kind == "fault":
            if value not in fault_inject.FAULT_NAMES:
                raise ValueError(f"fault: expected one of {', '.join(fault_inject.FAULT_NAMES)}, got {value!r}")
            return value
        if kind == "errno":
            return fault_inject.parse_errno(value)
        if kind == "kind":
            if value not in KINDS:
                raise ValueError(f"kind: expected one of {', '.join(KINDS)}, got {value!r}")
            return value
        return value
    except ValueError as e:
        raise ArgError(key, str(e)) from None


def normalise(m, op: dict) -> tuple[str, dict]:
    try:
        return parse_op(op)
    except ArgError as e:
        raise OpFailed("EINVAL", e.message, f"argument check ({e.key})") from None


def dispatch(m, tx, name: str, args: dict) -> None:
    if name == "hot_add":
        size = args["size"]
        start = args.get("start")
        explicit_start = start is not None
        if start is None:
            start = mh.auto_start(m, size)
            if args["via"] != "dlpar":
                tx.call("qemu: device_add " + ("nvdimm/cxl (dax region)" if args["via"] == "kmem" else "pc-dimm"),
                        f"addr={start:#x}, size={size:#x}, node={args['node']}")
        args["start"] = start
        _check_device_regions(m, start, size)
        via = args["via"]
        if via == "kmem":
            from . import dax_kmem
            dax_kmem.dev_dax_kmem_probe(m, tx, start, size, args["node"],
                                        bool(args.get("memmap_on_memory")))
        elif via == "dlpar":
            from . import pseries
            pseries.dlpar_memory_add(m, tx, start, size, args["node"], explicit_start)
        elif via == "acpi" and not m.config.acpi_hotplug_memory:
            acpi.acpi_memory_device_without_driver(m, tx, start, size, args["node"])
        else:
            mh.add_memory(m, tx, start, size, args["node"], via)
    elif name == "online":
        mb.state_store(m, tx, args["block"], args["type"])
    elif name == "offline":
        mb.state_store(m, tx, args["block"], "offline")
    elif name == "remove":
        _check_not_virtio_mem(m, args["start"], args["size"])
        mh.try_remove_memory(m, tx, args["start"], args["size"])
    elif name == "eject":
        if _is_dlpar(m, args["start"], args["size"]):
            from . import pseries
            pseries.dlpar_memory_remove_by_ic(m, tx, args["start"], args["size"])
        else:
            acpi.acpi_eject(m, tx, args["start"], args["size"])
    elif name == "alloc":
        do_alloc(m, tx, **args)
    elif name == "free":
        do_free(m, tx, **args)
    elif name == "set":
        do_set(m, tx, **args)
    elif name == "resize":
        virtio_mem.resize(m, tx, args["device"], args["requested_size"])
    elif name == "tick":
        virtio_mem.tick(m, tx, args["seconds"])
    elif name == "inject":
        fault_inject.do_inject(m, tx, **args)
    else:  # pragma: no cover - parse_op refuses unknown ops
        raise OpFailed("EINVAL", f"unknown op {name}", "dispatch")
    # work the operation queued (an online under the virtio-mem offline threshold) runs now
    virtio_mem.run_queued_work(m, tx)


def _device_overlapping(m, start: int, size: int) -> tuple[int, int, str] | None:
    """The virtio-mem device region that [start, start + size) overlaps, if any."""
    return next(((lo, hi, dev) for lo, hi, dev in virtio_mem.device_regions(m)
                 if lo < start + size and start < hi), None)


def _check_device_regions(m, start: int, size: int) -> None:
    """QEMU refuses a DIMM over another memory device's region."""
    hit = _device_overlapping(m, start, size)
    if hit is not None:
        lo, hi, dev = hit
        raise OpFailed("EBUSY", f"[{start:#x}-{start + size - 1:#x}] overlaps virtio-mem device "
                       f"{dev!r} [{lo:#x}-{hi - 1:#x}]",
                       "qemu memory_device_get_free_addr: address range conflicts with memory device")


def _check_not_virtio_mem(m, start: int, size: int) -> None:
    hit = _device_overlapping(m, start, size)
    if hit is not None:
        raise OpFailed("EINVAL", f"memory of virtio-mem device {hit[2]!r} is added and removed by "
                       f"its driver: resize the device instead",
                       "virtio-mem memory is driver-managed (only the driver calls remove_memory)")


def _is_dlpar(m, start: int, size: int) -> bool:
    """Whether an eject names LMBs added through DLPAR (then it is a DLPAR remove)."""
    lo, hi = start >> m.page_shift, (start + size) >> m.page_shift
    return any(r.via == "dlpar" and r.start_pfn < hi and lo < r.end_pfn for r in m.res.values())


# ------------------------------------------------------------------------------------------
def _check_node(m, node: int) -> None:
    if node not in m.nodes:
        raise OpFailed("EINVAL", f"node {node} does not exist (nodes: {', '.join(map(str, sorted(m.nodes)))})",
                       "argument check (node)")


def _scope_zones(m, node: int, zone: str | None, gfp: str, local_only: bool):
    if zone is not None:
        return [m.zones[(node, zone_index(zone))]]
    zl = page_alloc.zonelist(m, node, gfp)
    return [z for z in zl if z.node == node] if local_only else zl


def do_alloc(m, tx, node=0, zone=None, pages=None, leave_free=None, kind="movable", block=None) -> None:
    """Allocate pages the way a workload would: movable (user), unmovable (kernel) or pinned."""
    _check_node(m, node)
    gfp = "kernel" if kind == "unmovable" else "movable"
    if kind == "unmovable" and zone is not None and zone_index(zone) == ZONE_MOVABLE:
        raise OpFailed("EINVAL", "unmovable pages never go to ZONE_MOVABLE",
                       "GFP_KERNEL cannot be served from ZONE_MOVABLE")
    code = S.UNMOVABLE if kind == "unmovable" else S.MOVABLE
    if block is not None:
        runs = _alloc_in_block(m, tx, block, kind, pages, code)
    else:
        zones = _scope_zones(m, node, zone, gfp, local_only=leave_free is not None)
        if leave_free is not None:
            keep = leave_free >> m.page_shift
            n = max(0, sum(z.free for z in zones) - keep)
        else:
            n = pages
        if n == 0:
            tx.call("alloc_pages", f"node {node}, {kind}", "nothing to allocate")
            return
        runs = page_alloc.alloc_bulk(m, tx, zones, n, code, partial=leave_free is not None)
        if not runs:
            room = sum(max(0, z.free - z.wmark_min) for z in zones)
            raise OpFailed("ENOMEM", f"cannot allocate {n} {kind} pages on node {node}"
                           + (f" zone {zone}" if zone else "") + f": {room} free above the min watermark",
                           "__alloc_pages: no zone in the zonelist passes zone_watermark_ok(min) "
                           "(the OOM killer would run)")
        got = sum(b - a for a, b, _ in runs)
        tx.call("alloc_pages", f"node {node}, {kind}, {got} pages",
                ", ".join(f"{z.name}@{z.node} [{a:#x}-{b - 1:#x}]" for a, b, z in runs[:4])
                + (" ..." if len(runs) > 4 else ""))
    if kind == "pinned":
        _longterm_pin(m, tx, node, runs)


def _alloc_in_block(m, tx, block: int, kind: str, pages, code: int):
    if not (0 <= block < m.blks.size and m.blks.exists[block]) or not m.blks.online[block]:
        raise OpFailed("EINVAL", f"memory block {block} is not online", "argument check (block)")
    z = m.zone_of_pfn(block * m.ppb) or m.zone_of_pfn((block + 1) * m.ppb - 1)
    if kind == "unmovable" and z is not None and z.idx == ZONE_MOVABLE:
        raise OpFailed("EINVAL", "unmovable pages never go to ZONE_MOVABLE",
                       "GFP_KERNEL cannot be served from ZONE_MOVABLE")
    lo, hi = m.block_range(block)
    want = pages if pages is not None else 1
    if kind == "pinned":
        # pin pages the block already has in use before taking free ones
        vals = m.store.get(lo, hi)
        have = np.flatnonzero(vals == S.MOVABLE)[:want]
        if len(have):
            runs = _runs_of(lo, have, z)
            want -= len(have)
            if want <= 0:
                return runs
        else:
            runs = []
    else:
        runs = []
    starts, ends, codes = m.store.runs(lo, hi)
    got = []
    for a, b, c in zip(starts[::-1], ends[::-1], codes[::-1]):
        if c != S.FREE or want <= 0:
            continue
        take = min(want, int(b - a))
        # a boot block may span two zones: each run belongs to the zone of its pages
        got.append((int(b) - take, int(b), m.zone_of_pfn(int(b) - 1)))
        want -= take
    if want > 0:
        raise OpFailed("ENOMEM", f"memory block {block} has not enough free pages",
                       "no free pages left in the block")
    for a, b, zz in got:
        m.store.set_range(a, b, code, tx.journal)
        tx.add(zz, "free", -(b - a))
    tx.call("alloc_pages", f"block {block}, {kind}", f"{sum(b - a for a, b, _ in got)} pages")
    return runs + got


def _runs_of(lo, offsets, z):
    out = []
    for o in offsets:
        p = lo + int(o)
        if out and out[-1][1] == p:
            out[-1] = (out[-1][0], p + 1, z)
        else:
            out.append((p, p + 1, z))
    return out


def _longterm_pin(m, tx, node: int, runs) -> None:
    """pin_user_pages(FOLL_LONGTERM): a movable page in ZONE_MOVABLE is migrated out first."""
    in_movable = [(a, b, z) for a, b, z in runs if z is not None and z.idx == ZONE_MOVABLE]
    stay = [(a, b, z) for a, b, z in runs if not (z is not None and z.idx == ZONE_MOVABLE)]
    for a, b, z in stay:
        m.store.set_range(a, b, S.PINNED, tx.journal)
    n = sum(b - a for a, b, _ in in_movable)
    if not n:
        tx.call("pin_user_pages", "FOLL_LONGTERM", "pinned in place")
        return
    targets = page_alloc.alloc_bulk(m, tx, page_alloc.zonelist(m, node, "kernel"), n, S.PINNED)
    if not targets:
        raise OpFailed("ENOMEM", f"no room in a kernel zone to migrate {n} page(s) out of ZONE_MOVABLE",
                       "check_and_migrate_movable_pages: migration target allocation failed")
    for a, b, z in in_movable:
        m.store.set_range(a, b, S.FREE, tx.journal)
        tx.add(z, "free", b - a)
    tx.call("migrate_longterm_unpinnable_folios",
            f"{n} page(s) from ZONE_MOVABLE", "to " + ", ".join(
                f"{z.name}@{z.node} pfn {a:#x}" for a, b, z in targets[:3]))


def do_free(m, tx, node=0, zone=None, pages=None, kind="movable", block=None) -> None:
    """Free (and for pinned pages, unpin first) pages of one kind in a node, zone or block."""
    _check_node(m, node)
    code = KIND_CODE[kind]
    if block is not None:
        if not (0 <= block < m.blks.size and m.blks.exists[block]):
            raise OpFailed("EINVAL", f"there is no memory block {block}", "argument check (block)")
        ranges = [m.block_range(block)]
    else:
        zs = [m.zones[(node, zone_index(zone))]] if zone else m.node_zones(node)
        ranges = [r for z in zs for r in m.zone_ranges(z)]
    want = pages if pages is not None else 1 << 62
    freed = 0
    for lo, hi in sorted(ranges):
        starts, ends, codes = m.store.runs(lo, hi)
        for a, b, c in zip(starts, ends, codes):
            if c != code or freed >= want:
                continue
            take = min(int(b - a), want - freed)
            a = int(a)
            m.store.set_range(a, a + take, S.FREE, tx.journal)
            z = m.zone_of_pfn(a)
            if z is not None:
                tx.add(z, "free", take)
            freed += take
    if not freed:
        where = f"block {block}" if block is not None else f"node {node}" + (f" zone {zone}" if zone else "")
        raise OpFailed("EINVAL", f"no {kind} pages to free in {where}", "nothing of that kind is allocated there")
    tx.alloc_hint.clear()
    tx.call("free_pages" if kind != "pinned" else "unpin_user_pages + free_pages", f"{kind}", f"{freed} pages")


def do_set(m, tx, auto_online=None, online_policy=None, auto_movable_ratio=None,
           memmap_on_memory=None) -> None:
    if memmap_on_memory is not None:
        raise OpFailed("EPERM", "memory_hotplug.memmap_on_memory is read-only at run time (mode 0444): "
                       "it is a boot parameter", "module_param(memmap_on_memory, ..., 0444)")
    if auto_online is not None:
        if auto_online not in m.profile.auto_online_types:
            raise OpFailed("EINVAL", f"auto_online_blocks does not accept {auto_online!r} in profile "
                           f"{m.profile.name}", "auto_online_blocks_store: mhp_online_type_from_str")
        tx.set(m, "auto_online", auto_online)
        tx.call("auto_online_blocks_store", auto_online, "0")
    if online_policy is not None:
        if online_policy == "auto-movable" and not m.profile.has_auto_movable:
            raise OpFailed("EINVAL", f"online_policy auto-movable does not exist in profile {m.profile.name}",
                           "set_online_policy")
        tx.set(m, "online_policy", online_policy)
        tx.call("set_online_policy", online_policy, "0")
    if auto_movable_ratio is not None:
        tx.set(m, "auto_movable_ratio", auto_movable_ratio)
        tx.call("auto_movable_ratio", str(auto_movable_ratio), "0")
