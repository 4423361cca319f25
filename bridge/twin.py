"""The twin of a live machine: a scenario whose simulated machine boots like the real one.

Boot layout from /proc/iomem's System RAM (the gaps are the firmware holes), split per node by
the nodes' memory blocks; block size, memmap_on_memory, auto_online_blocks, online_policy and the
profile of the running kernel from sysfs.  `twin_diff` boots the twin and lists, one line each,
what the model gets differently from the real machine right after boot.
"""

from __future__ import annotations

from engine import ConfigError, Machine, MachineConfig, PROFILES
from engine.scenario import Scenario
from engine.sysfs import nodelist

from .live import LiveMachine


def hot_added_blocks(live: LiveMachine) -> list[int]:
    """Blocks that cannot be boot memory: offline, hosting their own memmap, or dax/kmem."""
    return sorted(live.hot_blocks())


def _hot_ranges(live: LiveMachine) -> list[tuple[int, int, int]]:
    """(first block, end block, node) runs of hot-added blocks, split where the node changes."""
    runs: list[list[int]] = []
    blocks = live.state.blocks
    for b in hot_added_blocks(live):
        if runs and runs[-1][1] == b and blocks[b]["node"] == runs[-1][2]:
            runs[-1][1] = b + 1
        else:
            runs.append([b, b + 1, blocks[b]["node"]])
    return [tuple(r) for r in runs]


def twin_steps(live: LiveMachine) -> list[dict]:
    """Steps that plug and online the hot-added blocks as the real machine has them."""
    steps = []
    bs = live.block_size
    for b0, b1, nid in _hot_ranges(live):
        steps.append({"op": "hot_add", "size": (b1 - b0) * bs, "start": b0 * bs, "node": nid,
                      "say": f"memory{b0}-{b1 - 1} were hot-added on the real machine"})
        for b in range(b0, b1):
            blk = live.state.blocks[b]
            if blk["state"] == "online":
                kind = "online_movable" if blk["valid_zones"] == "Movable" else "online_kernel"
                steps.append({"op": "online", "block": b, "type": kind})
    return steps


def twin_config(live: LiveMachine) -> MachineConfig:
    st = live.state
    ps = live.page_size
    hot = set(hot_added_blocks(live))
    ranges = []
    for a, b in live.ram_ranges():               # whole pages, as memblock rounds
        cur = a
        for pfn in range(a - a % live.ppb, b, live.ppb):
            if pfn // live.ppb in hot:
                if cur < max(pfn, a):
                    ranges.append((cur * ps, max(pfn, a) * ps))
                cur = min(b, pfn + live.ppb)
        if cur < b:
            ranges.append((cur * ps, b * ps))
    nodes = []
    for nid in sorted(st.nodes) or [0]:
        blocks = {b for b, d in st.blocks.items() if d["node"] == nid}
        mine = []
        for lo, hi in ranges:
            # a RAM range belongs to the node owning its blocks (split where the owner changes)
            b_lo, b_hi = (lo // ps) // live.ppb, ((hi // ps) - 1) // live.ppb
            owned = [b for b in range(b_lo, b_hi + 1) if b in blocks]
            if not owned:
                continue
            a = max(lo, owned[0] * live.ppb * ps)
            c = min(hi, (owned[-1] + 1) * live.ppb * ps)
            mine.append([a, c])
        node = {"id": nid, "ram": mine} if mine else {"id": nid, "memory": 0}
        dist = st.nodes.get(nid, {}).get("distances")
        if dist and len(dist) == len(st.nodes):
            node["distances"] = list(dist)
        nodes.append(node)
    params = st.params
    mmoo = {"Y": True, "N": False, "force": "force"}.get(params.get("memmap_on_memory", "N"), False)
    d = {"profile": live.profile_name or list(PROFILES)[-1], "arch": live.arch_name,
         "memmap_on_memory": mmoo, "auto_online": st.auto_online or "offline",
         "block_size": st.block_size, "node": nodes}
    if "online_policy" in params:
        d["online_policy"] = params["online_policy"]
    if params.get("auto_movable_ratio", "").isdigit():
        d["auto_movable_ratio"] = int(params["auto_movable_ratio"])
    if "auto_movable_numa_aware" in params:
        d["auto_movable_numa_aware"] = params["auto_movable_numa_aware"] == "Y"
    try:
        return MachineConfig.from_dict(d, "twin")
    except ConfigError as e:
        raise ConfigError(f"this machine has no twin in the model: {e}") from None


def twin_scenario(live: LiveMachine) -> Scenario:
    cfg = twin_config(live)
    release = live.state.release or "unknown kernel"
    return Scenario(cfg, twin_steps(live), "twin", {
        "title": f"Twin of this machine ({release})",
        "description": f"Read from {live.sysroot}: boot RAM from /proc/iomem, block size "
                       f"{live.block_size >> 20}M, profile {cfg.profile} for kernel {release}."})


def twin_diff(live: LiveMachine) -> list[str]:
    """What the twin gets differently from the real machine, one line each.

    Right after boot, and after replaying the hot-adds the real machine shows (twin_steps).
    """
    m = Machine(twin_config(live))
    out = []
    if live.iomem_hidden:
        out.append("/proc/iomem hides its addresses from non-root users: the twin's boot RAM is "
                   "the memory blocks, without firmware holes (run as root for the real layout)")
    for step in twin_steps(live):
        res = m.apply({k: v for k, v in step.items() if k != "say"})
        if not res.ok:
            out.append(f"the twin could not replay {res.summary()}")
    real_blocks = {b["id"]: b for b in live.blocks()}
    sim_blocks = {b["id"]: b for b in m.blocks()}
    only_real = sorted(set(real_blocks) - set(sim_blocks))
    only_sim = sorted(set(sim_blocks) - set(real_blocks))
    if only_real:
        out.append(f"blocks only on the real machine: {nodelist(only_real)}")
    if only_sim:
        out.append(f"blocks only in the twin: {nodelist(only_sim)}")
    for key in ("state", "valid_zones", "node"):
        diff = [b for b in sorted(set(real_blocks) & set(sim_blocks))
                if str(real_blocks[b][key]) != str(sim_blocks[b][key])]
        if diff:
            b = diff[0]
            out.append(f"{key} differs on {len(diff)} block(s) ({nodelist(diff)}): e.g. memory{b} real "
                       f"{real_blocks[b][key]!r}, twin {sim_blocks[b][key]!r}")
    real_z = {(z["node"], z["zone"]): z for z in live.zoneinfo()}
    for z in m.zoneinfo():
        r = real_z.get((z["node"], z["zone"]))
        if r is None:
            if z["present"]:
                out.append(f"node {z['node']} zone {z['zone']}: only in the twin")
            continue
        for key in ("start_pfn", "spanned", "present", "managed"):
            if z[key] != r[key] and not (key == "start_pfn" and not z["spanned"]):
                out.append(f"node {z['node']} zone {z['zone']} {key}: real {r[key]}, twin {z[key]} "
                           f"({z[key] - r[key]:+d} pages)")
    rm, sm = live.meminfo(), m.meminfo()
    for key in ("MemTotal", "MemFree"):
        if key in rm and rm[key] != sm[key]:
            out.append(f"{key}: real {rm[key]} kB, twin {sm[key]} kB ({sm[key] - rm[key]:+d} kB)"
                       + (" (the twin boots idle: no page cache, no user memory)" if key == "MemFree" else ""))
    rv, sv = live.vmstat(), m.vmstat()
    for key in ("nr_memmap_pages", "nr_memmap_boot_pages"):
        if key in rv and key in sv and rv[key] != sv[key]:
            out.append(f"{key}: real {rv[key]}, twin {sv[key]}")
        elif key in rv and key not in sv:
            out.append(f"{key}: real {rv[key]}, the twin's profile {m.geometry.profile} has no such counter")
    return out
