"""Machine configuration: the knobs of a simulated machine, checked against its profile."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from .arch import ARCHES, GiB, MiB, get_arch
from .errors import ConfigError
from .profiles import PROFILES, NEWEST, resolve_profile
from .units import format_size, parse_size

ONLINE_TYPES = ("online", "online_kernel", "online_movable")
AUTO_ONLINE_TYPES = ("offline",) + ONLINE_TYPES
ONLINE_POLICIES = ("contig-zones", "auto-movable")
RODATA_MODES = ("full", "on", "off")


@dataclass(frozen=True)
class NodeConfig:
    id: int
    memory: int = 0                      # boot memory in bytes (0: a memoryless node)
    distances: tuple[int, ...] | None = None   # SLIT row; default 10 local, 20 remote
    # explicit boot RAM as (start, end) byte ranges, end exclusive, e.g. a real machine's
    # /proc/iomem "System RAM"; the gaps are firmware holes. None: QEMU's layout of `memory`.
    ram: tuple[tuple[int, int], ...] | None = None


@dataclass(frozen=True)
class VirtioMemConfig:
    """A QEMU virtio-mem-pci device (`-device virtio-mem-pci,id=...,memdev=...,node=...`)."""
    id: str
    size: int                            # the device region (memdev size): its maximum
    node: int = 0
    addr: int | None = None              # None: QEMU's first fit in the device memory region
    block_size: int | None = None        # None: QEMU's default (the host THP size)
    requested_size: int = 0              # plugged at boot (the property may be set on the command line)

    def to_dict(self) -> dict:
        d = {"id": self.id, "node": self.node, "size": format_size(self.size)}
        if self.addr is not None:
            d["addr"] = f"{self.addr:#x}"
        if self.block_size is not None:
            d["block_size"] = format_size(self.block_size)
        if self.requested_size:
            d["requested_size"] = format_size(self.requested_size)
        return d


VIRTIO_MEM_KEYS = ("id", "node", "addr", "size", "block_size", "requested_size")


def _virtio_mem_from_dict(d, where: str) -> VirtioMemConfig:
    if not isinstance(d, dict):
        raise ConfigError(f"{where}: expected a table")
    for k in d:
        if k not in VIRTIO_MEM_KEYS:
            raise ConfigError(f"{where}: unknown key {k!r} (allowed: {', '.join(VIRTIO_MEM_KEYS)})")
    for k in ("id", "size"):
        if k not in d:
            raise ConfigError(f"{where}: missing key {k!r}")
    if not isinstance(d["id"], str) or not d["id"].strip() or any(c.isspace() for c in d["id"]):
        raise ConfigError(f"{where}.id: expected a name without spaces, such as \"vmem0\"")
    node = d.get("node", 0)
    if not isinstance(node, int) or isinstance(node, bool):
        raise ConfigError(f"{where}.node: expected an integer")
    kw: dict = {"id": d["id"], "node": node}
    for k in ("addr", "size", "block_size", "requested_size"):
        if k in d:
            try:
                kw[k] = parse_size(d[k], k)
            except ValueError as e:
                raise ConfigError(f"{where}.{k}: {e}") from None
    return VirtioMemConfig(**kw)


@dataclass(frozen=True)
class MachineConfig:
    profile: str = NEWEST
    arch: str = "x86_64"
    memmap_on_memory: bool | str = True    # False | True | "force"
    auto_online: str = "offline"
    online_policy: str = "contig-zones"
    auto_movable_ratio: int = 301
    auto_movable_numa_aware: bool = True
    movable_node: bool = False
    hypervisor: bool = True
    la57: bool = False                   # x86 5-level paging: 52 physical address bits
    block_size: int | None = None        # None: the architecture's probe rule decides
    struct_page_size: int | None = None  # None: 64 bytes
    hugetlb: bool = True                 # CONFIG_HUGETLB_PAGE: pageblock = huge page order
    pageblock_order: int | None = None   # explicit override
    dyndbg: bool = False                 # dynamic debug: pr_debug()/dev_dbg() lines in dmesg
    rodata: str = "full"                 # rodata=full|on|off (arm64: full maps the linear map with pages)
    acpi_hotplug_memory: bool = True     # CONFIG_ACPI_HOTPLUG_MEMORY (Debian arm64: not built)
    nodes: tuple[NodeConfig, ...] = field(default_factory=lambda: (NodeConfig(0, 4 * GiB),
                                                                   NodeConfig(1, 0)))
    virtio_mem: tuple[VirtioMemConfig, ...] = ()

    # ---------------------------------------------------------------------------------
    @classmethod
    def default(cls) -> "MachineConfig":
        """The built-in machine memmap-tui opens on."""
        return cls()

    @classmethod
    def from_dict(cls, d: dict, where: str = "machine") -> "MachineConfig":
        known = {f for f in cls.__dataclass_fields__} | {"node"}
        for key in d:
            if key not in known:
                raise ConfigError(f"{where}: unknown key {key!r}")
        kwargs: dict = {}
        for key, value in d.items():
            if key == "node":
                if not isinstance(value, list):
                    raise ConfigError(f"{where}.node: expected a list of [[machine.node]] tables")
                nodes = []
                for i, nd in enumerate(value):
                    if not isinstance(nd, dict):
                        raise ConfigError(f"{where}.node[{i}]: expected a table")
                    for k in nd:
                        if k not in ("id", "memory", "distances", "ram"):
                            raise ConfigError(f"{where}.node[{i}]: unknown key {k!r}")
                    if "id" not in nd:
                        raise ConfigError(f"{where}.node[{i}]: missing key 'id'")
                    try:
                        mem = parse_size(nd.get("memory", 0), "memory")
                    except ValueError as e:
                        raise ConfigError(f"{where}.node[{i}].memory: {e}") from None
                    dist = nd.get("distances")
                    if dist is not None and (not isinstance(dist, list) or not all(_is_int(x) for x in dist)):
                        raise ConfigError(f"{where}.node[{i}].distances: expected a list of integers")
                    if not _is_int(nd["id"]):
                        raise ConfigError(f"{where}.node[{i}].id: expected an integer")
                    ram = _parse_ram(nd["ram"], f"{where}.node[{i}].ram") if "ram" in nd else None
                    if ram and not mem:
                        mem = sum(hi - lo for lo, hi in ram)
                    nodes.append(NodeConfig(nd["id"], mem, tuple(dist) if dist else None, ram))
                kwargs["nodes"] = tuple(nodes)
            elif key == "virtio_mem":
                if not isinstance(value, list):
                    raise ConfigError(f"{where}.virtio_mem: expected a list of [[machine.virtio_mem]] tables")
                kwargs["virtio_mem"] = tuple(_virtio_mem_from_dict(v, f"{where}.virtio_mem[{i}]")
                                             for i, v in enumerate(value))
            elif key == "block_size":
                try:
                    kwargs[key] = parse_size(value, key)
                except ValueError as e:
                    raise ConfigError(f"{where}.{key}: {e}") from None
            elif key == "memmap_on_memory":
                if isinstance(value, bool) or value == "force":
                    kwargs[key] = value
                elif isinstance(value, str) and value.lower() in ("y", "yes", "on", "true", "1"):
                    kwargs[key] = True
                elif isinstance(value, str) and value.lower() in ("n", "no", "off", "false", "0"):
                    kwargs[key] = False
                else:
                    raise ConfigError(f"{where}.memmap_on_memory: expected false, true or \"force\", got {value!r}")
            elif key == "profile":
                if isinstance(value, float):
                    # 6.10 as a TOML float is 6.1: never guess which version was meant
                    raise ConfigError(f"{where}.profile: {value!r} is a number; write it as a string, "
                                      f"e.g. profile = \"6.10\"")
                kwargs[key] = value
            else:
                kwargs[key] = value
        cfg = cls(**kwargs)
        cfg.validate(where)
        return cfg

    def to_dict(self) -> dict:
        d = asdict(self)
        nodes = d.pop("nodes")
        d.pop("virtio_mem")
        out = {k: v for k, v in d.items() if v is not None}
        if self.block_size is not None:
            out["block_size"] = format_size(self.block_size)
        out["node"] = [{"id": n["id"], "memory": format_size(n["memory"]),
                        **({"distances": list(n["distances"])} if n["distances"] else {}),
                        **({"ram": [list(r) for r in n["ram"]]} if n["ram"] else {})}
                       for n in nodes]
        if self.virtio_mem:
            out["virtio_mem"] = [v.to_dict() for v in self.virtio_mem]
        return out

    def replace(self, **changes) -> "MachineConfig":
        cfg = replace(self, **changes)
        cfg.validate()
        return cfg

    # ---------------------------------------------------------------------------------
    def validate(self, where: str = "machine") -> None:
        """Refuse what the profile or architecture did not have, with a one-line reason."""
        self._check_types(where)
        try:
            prof = resolve_profile(self.profile)
        except KeyError as e:
            raise ConfigError(f"{where}.profile: {e.args[0]}") from None
        try:
            arch = get_arch(self.arch)
        except KeyError:
            raise ConfigError(f"{where}.arch: unknown architecture {self.arch!r} "
                              f"(known: {', '.join(ARCHES)})") from None
        if self.memmap_on_memory == "force" and not prof.has_force:
            raise ConfigError(f"{where}.memmap_on_memory: \"force\" first appeared in 6.6; "
                              f"profile {prof.name} only has true/false")
        if self.memmap_on_memory and prof.version < (6, 6) and arch.mmoo_since == "6.6" \
                and prof.name != "rfc-2017":
            raise ConfigError(f"{where}.memmap_on_memory: {arch.name} selects "
                              f"ARCH_MHP_MEMMAP_ON_MEMORY_ENABLE only from 6.6 (profile {prof.name})")
        if self.auto_online not in AUTO_ONLINE_TYPES:
            raise ConfigError(f"{where}.auto_online: expected one of {', '.join(AUTO_ONLINE_TYPES)}, "
                              f"got {self.auto_online!r}")
        if self.auto_online not in prof.auto_online_types:
            raise ConfigError(f"{where}.auto_online: {self.auto_online!r} is not accepted by "
                              f"auto_online_blocks in profile {prof.name}")
        if self.online_policy not in ONLINE_POLICIES:
            raise ConfigError(f"{where}.online_policy: expected contig-zones or auto-movable, "
                              f"got {self.online_policy!r}")
        if self.online_policy == "auto-movable" and not prof.has_auto_movable:
            raise ConfigError(f"{where}.online_policy: auto-movable first appeared in 5.16; "
                              f"profile {prof.name} only has contig-zones")
        if not isinstance(self.auto_movable_ratio, int) or self.auto_movable_ratio < 0:
            raise ConfigError(f"{where}.auto_movable_ratio: expected a non-negative integer")
        if self.la57 and not arch.phys_bits_la57:
            raise ConfigError(f"{where}.la57: {arch.name} has no 5-level paging mode")
        sp = self.struct_page_size
        if sp is not None and (not isinstance(sp, int) or sp < 32 or sp > 256 or sp % 8):
            raise ConfigError(f"{where}.struct_page_size: expected a multiple of 8 between 32 and 256")
        po = self.pageblock_order
        if po is not None and (not isinstance(po, int) or po < 0 or po > arch.max_buddy_order):
            raise ConfigError(f"{where}.pageblock_order: expected 0..{arch.max_buddy_order} on {arch.name}")
        if self.block_size is not None:
            bs = self.block_size
            top = 1 << (arch.phys_bits_la57 if self.la57 and arch.phys_bits_la57 else arch.phys_bits)
            if bs < arch.section_size or bs & (bs - 1) or bs > top:
                raise ConfigError(f"{where}.block_size: must be a power of two from one section "
                                  f"({format_size(arch.section_size)}) to the whole physical address "
                                  f"space ({format_size(top)}) on {arch.name}")
        if not self.nodes:
            raise ConfigError(f"{where}.node: at least one [[machine.node]] is needed")
        ids = [n.id for n in self.nodes]
        if len(set(ids)) != len(ids):
            raise ConfigError(f"{where}.node: node ids must be unique, got {ids}")
        if any(i < 0 or i > 63 for i in ids):
            raise ConfigError(f"{where}.node: node ids must be between 0 and 63")
        for n in self.nodes:
            if n.ram:
                _check_ram(n, arch, where)
            elif n.memory % (2 * MiB):
                raise ConfigError(f"{where}.node[{n.id}].memory: boot memory must be a multiple of 2M")
            if n.distances is not None and len(n.distances) != len(self.nodes):
                raise ConfigError(f"{where}.node[{n.id}].distances: needs one entry per node "
                                  f"({len(self.nodes)})")
            if n.distances is not None:
                # slit_valid(): the local distance is 10, a remote one 11..255
                order = sorted(ids)
                for other, d in zip(order, n.distances):
                    ok = d == LOCAL_DISTANCE if other == n.id else LOCAL_DISTANCE < d <= 255
                    if not ok:
                        raise ConfigError(f"{where}.node[{n.id}].distances: {d} to node {other} is not a "
                                          f"valid SLIT distance (10 to itself, 11..255 to other nodes)")
        total = sum(n.memory for n in self.nodes)
        if total < 128 * MiB:
            raise ConfigError(f"{where}.node: at least 128M of boot memory is needed, got {format_size(total)}")
        if total > 16 * (1 << 40):
            raise ConfigError(f"{where}.node: boot memory is limited to 16T in the simulator")
        if self.rodata not in RODATA_MODES:
            raise ConfigError(f"{where}.rodata: expected one of {', '.join(RODATA_MODES)}, got {self.rodata!r}")
        for k in ("movable_node", "hypervisor", "la57", "hugetlb", "auto_movable_numa_aware",
                  "dyndbg", "acpi_hotplug_memory"):
            if not isinstance(getattr(self, k), bool):
                raise ConfigError(f"{where}.{k}: expected true or false")
        self._validate_virtio_mem(where, arch, prof, ids)

    def _validate_virtio_mem(self, where: str, arch, prof, node_ids) -> None:
        """What QEMU's virtio_mem_device_realize() and memory_device_pre_plug() refuse."""
        if self.virtio_mem and not prof.has_virtio_mem:
            raise ConfigError(f"{where}.virtio_mem: the virtio-mem driver first appeared in 5.8; "
                              f"profile {prof.name} has none")
        seen = set()
        for i, v in enumerate(self.virtio_mem):
            w = f"{where}.virtio_mem[{i}]"
            if not isinstance(v, VirtioMemConfig):
                raise ConfigError(f"{w}: expected a VirtioMemConfig")
            if v.id in seen:
                raise ConfigError(f"{w}.id: duplicate device id {v.id!r}")
            seen.add(v.id)
            if v.node not in node_ids:
                raise ConfigError(f"{w}.node: node {v.node} does not exist")
            bs = v.block_size if v.block_size is not None else virtio_mem_default_block_size(arch)
            if bs < MiB or bs & (bs - 1) or bs < arch.page_size:
                raise ConfigError(f"{w}.block_size: must be a power of two of at least 1M and one page")
            if not v.size or v.size % bs:
                raise ConfigError(f"{w}.size: must be a non-zero multiple of block_size ({format_size(bs)})")
            if v.addr is not None and v.addr % bs:
                raise ConfigError(f"{w}.addr: must be a multiple of block_size ({format_size(bs)})")
            if v.requested_size % bs:
                raise ConfigError(f"{w}.requested_size: must be a multiple of block_size ({format_size(bs)})")
            if v.requested_size > v.size:
                raise ConfigError(f"{w}.requested_size: must not exceed size ({format_size(v.size)})")
        if self.virtio_mem:
            # where QEMU would put them, against the boot RAM as QEMU lays it out
            from .arch import boot_ram_ranges, with_overrides
            from .virtio_mem import place_devices
            full = with_overrides(arch, la57=self.la57)
            boot = [r for rs in boot_ram_ranges(full, [n.memory for n in sorted(self.nodes, key=lambda n: n.id)])
                    for r in rs]
            place_devices(full, boot, self.virtio_mem, max(self.block_size or 0, arch.section_size))


    def _check_types(self, where: str) -> None:
        """Each field's Python type, from FIELD_TYPES, before any value is looked at."""
        for name, (types, what) in FIELD_TYPES.items():
            value = getattr(self, name)
            if value is None and None in types:
                continue
            ok = isinstance(value, tuple(t for t in types if t is not None))
            if isinstance(value, bool) and bool not in types:
                ok = False            # TOML true is not the integer 1
            if not ok:
                raise ConfigError(f"{where}.{name}: expected {what}, got {_type_name(value)}")
        if not isinstance(self.nodes, tuple) or not all(isinstance(n, NodeConfig) for n in self.nodes):
            raise ConfigError(f"{where}.node: expected [[machine.node]] tables")
        for i, n in enumerate(self.nodes):
            if not _is_int(n.id):
                raise ConfigError(f"{where}.node[{i}].id: expected an integer")
            if not _is_int(n.memory) or n.memory < 0:
                raise ConfigError(f"{where}.node[{i}].memory: expected a size")
            if n.distances is not None and not (isinstance(n.distances, tuple)
                                                and all(_is_int(d) for d in n.distances)):
                raise ConfigError(f"{where}.node[{i}].distances: expected a list of integers")


LOCAL_DISTANCE = 10

# field -> (accepted types, None when the field may be unset; what to say otherwise)
FIELD_TYPES: dict[str, tuple[tuple, str]] = {
    "profile": ((str,), "a profile name or version as a string, e.g. \"6.1\""),
    "arch": ((str,), "an architecture name (a string)"),
    "memmap_on_memory": ((bool, str), "false, true or \"force\""),
    "auto_online": ((str,), "a string"),
    "online_policy": ((str,), "a string"),
    "auto_movable_ratio": ((int,), "a non-negative integer"),
    "auto_movable_numa_aware": ((bool,), "true or false"),
    "movable_node": ((bool,), "true or false"),
    "hypervisor": ((bool,), "true or false"),
    "la57": ((bool,), "true or false"),
    "block_size": ((int, None), "a size"),
    "struct_page_size": ((int, None), "an integer"),
    "hugetlb": ((bool,), "true or false"),
    "pageblock_order": ((int, None), "an integer"),
    "rodata": ((str,), "\"full\", \"on\" or \"off\""),
    "acpi_hotplug_memory": ((bool,), "true or false"),
}


def virtio_mem_default_block_size(arch) -> int:
    """QEMU virtio_mem_default_block_size(): the host's THP size, i.e. one PMD mapping
    (2M on x86_64 and arm64/4k, 512M on arm64/64k; 2M on ppc64 radix)."""
    return arch.pmd_size


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _type_name(value) -> str:
    return {bool: "a boolean", list: "an array", dict: "a table", float: "a float",
            tuple: "an array"}.get(type(value), f"{value!r}" if isinstance(value, (int, str)) else
                                   type(value).__name__)


def _parse_ram(value, where: str) -> tuple[tuple[int, int], ...]:
    """[[start, end], ...] (ints or size strings, end exclusive) -> sorted byte ranges."""
    if not isinstance(value, list) or not all(isinstance(r, list) and len(r) == 2 for r in value):
        raise ConfigError(f"{where}: expected a list of [start, end] pairs")
    out = []
    for lo, hi in value:
        try:
            out.append((parse_size(lo, "start"), parse_size(hi, "end")))
        except ValueError as e:
            raise ConfigError(f"{where}: {e}") from None
    return tuple(sorted(out))


def _check_ram(n: NodeConfig, arch, where: str) -> None:
    prev = -1
    for lo, hi in n.ram:
        if lo >= hi or lo % arch.page_size or hi % arch.page_size or lo < prev:
            raise ConfigError(f"{where}.node[{n.id}].ram: ranges must be page-aligned, "
                              f"non-empty and must not overlap ({lo:#x}-{hi:#x})")
        prev = hi


def _knob(name, kind, default, help, choices=None):
    return {"name": name, "kind": kind, "default": default, "help": help, "choices": choices}


KNOBS: list[dict] = [
    _knob("profile", "choice", NEWEST, "kernel profile (rules of that version)", list(PROFILES)),
    _knob("arch", "choice", "x86_64", "architecture and page size", list(ARCHES)),
    _knob("memmap_on_memory", "choice", True, "memory_hotplug.memmap_on_memory", [False, True, "force"]),
    _knob("auto_online", "choice", "offline", "auto_online_blocks: what new blocks become", list(AUTO_ONLINE_TYPES)),
    _knob("online_policy", "choice", "contig-zones", "memory_hotplug.online_policy", list(ONLINE_POLICIES)),
    _knob("auto_movable_ratio", "int", 301, "auto-movable: MOVABLE may be this % of kernel memory"),
    _knob("movable_node", "bool", False, "movable_node: 'online' defaults to ZONE_MOVABLE"),
    _knob("hypervisor", "bool", True, "X86_FEATURE_HYPERVISOR (affects the x86 block size probe)"),
    _knob("la57", "bool", False, "x86 5-level paging (52 physical address bits)"),
    _knob("block_size", "size", None, "memory block size (empty: the architecture's rule)"),
    _knob("struct_page_size", "int", None, "sizeof(struct page) in bytes (empty: 64)"),
    _knob("hugetlb", "bool", True, "CONFIG_HUGETLB_PAGE (pageblock order = huge page order)"),
    _knob("pageblock_order", "int", None, "explicit pageblock order (empty: from hugetlb)"),
    _knob("dyndbg", "bool", False, "dynamic debug on for mm/memory_hotplug.c: pr_debug lines in dmesg"),
    _knob("rodata", "choice", "full", "rodata= (arm64: full maps the linear map with base pages)",
          list(RODATA_MODES)),
    _knob("acpi_hotplug_memory", "bool", True,
          "CONFIG_ACPI_HOTPLUG_MEMORY (off: a DIMM plug binds no driver, as on Debian arm64)"),
    _knob("nodes", "nodes", "0:4G,1:0", "NUMA nodes and their boot memory, e.g. 0:4G,1:0"),
]


def parse_nodes_spec(spec: str) -> list[dict]:
    """'0:4G,1:0' -> [{'id': 0, 'memory': '4G'}, {'id': 1, 'memory': '0'}] (the [[machine.node]] shape).

    The compact spelling the TUI's new-machine form uses; ConfigError with one line otherwise.
    """
    nodes = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        nid, sep, mem = part.partition(":")
        if not sep or not nid.strip().isdigit():
            raise ConfigError(f"nodes: expected id:memory such as 0:4G, got {part!r}")
        nodes.append({"id": int(nid), "memory": mem.strip() or "0"})
    if not nodes:
        raise ConfigError("nodes: at least one node, e.g. 0:4G")
    return nodes
