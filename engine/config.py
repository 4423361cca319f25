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


@dataclass(frozen=True)
class NodeConfig:
    id: int
    memory: int = 0                      # boot memory in bytes (0: a memoryless node)
    distances: tuple[int, ...] | None = None   # SLIT row; default 10 local, 20 remote
    # explicit boot RAM as (start, end) byte ranges, end exclusive, e.g. a real machine's
    # /proc/iomem "System RAM"; the gaps are firmware holes. None: QEMU's layout of `memory`.
    ram: tuple[tuple[int, int], ...] | None = None


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
    nodes: tuple[NodeConfig, ...] = field(default_factory=lambda: (NodeConfig(0, 4 * GiB),
                                                                   NodeConfig(1, 0)))

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
                    if dist is not None and (not isinstance(dist, list) or
                                             not all(isinstance(x, int) for x in dist)):
                        raise ConfigError(f"{where}.node[{i}].distances: expected a list of integers")
                    if not isinstance(nd["id"], int) or isinstance(nd["id"], bool):
                        raise ConfigError(f"{where}.node[{i}].id: expected an integer")
                    ram = _parse_ram(nd["ram"], f"{where}.node[{i}].ram") if "ram" in nd else None
                    if ram and not mem:
                        mem = sum(hi - lo for lo, hi in ram)
                    nodes.append(NodeConfig(nd["id"], mem, tuple(dist) if dist else None, ram))
                kwargs["nodes"] = tuple(nodes)
            elif key == "block_size":
                try:
                    kwargs[key] = parse_size(value, key)
                except ValueError as e:
                    raise ConfigError(f"{where}.{key}: {e}") from None
            elif key == "memmap_on_memory":
                if value in (True, False, "force"):
                    kwargs[key] = value
                elif isinstance(value, str) and value.lower() in ("y", "yes", "on", "true", "1"):
                    kwargs[key] = True
                elif isinstance(value, str) and value.lower() in ("n", "no", "off", "false", "0"):
                    kwargs[key] = False
                else:
                    raise ConfigError(f"{where}.memmap_on_memory: expected false, true or \"force\", got {value!r}")
            elif key == "profile":
                kwargs[key] = str(value)
            else:
                kwargs[key] = value
        cfg = cls(**kwargs)
        cfg.validate(where)
        return cfg

    def to_dict(self) -> dict:
        d = asdict(self)
        nodes = d.pop("nodes")
        out = {k: v for k, v in d.items() if v is not None}
        if self.block_size is not None:
            out["block_size"] = format_size(self.block_size)
        out["node"] = [{"id": n["id"], "memory": format_size(n["memory"]),
                        **({"distances": list(n["distances"])} if n["distances"] else {}),
                        **({"ram": [list(r) for r in n["ram"]]} if n["ram"] else {})}
                       for n in nodes]
        return out

    def replace(self, **changes) -> "MachineConfig":
        cfg = replace(self, **changes)
        cfg.validate()
        return cfg

    # ---------------------------------------------------------------------------------
    def validate(self, where: str = "machine") -> None:
        """Refuse what the profile or architecture did not have, with a one-line reason."""
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
            if bs < arch.section_size or bs & (bs - 1):
                raise ConfigError(f"{where}.block_size: must be a power of two and at least one section "
                                  f"({format_size(arch.section_size)}) on {arch.name}")
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
        total = sum(n.memory for n in self.nodes)
        if total < 128 * MiB:
            raise ConfigError(f"{where}.node: at least 128M of boot memory is needed, got {format_size(total)}")
        if total > 16 * (1 << 40):
            raise ConfigError(f"{where}.node: boot memory is limited to 16T in the simulator")
        for k in ("movable_node", "hypervisor", "la57", "hugetlb", "auto_movable_numa_aware"):
            if not isinstance(getattr(self, k), bool):
                raise ConfigError(f"{where}.{k}: expected true or false")


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
