"""Scale benchmarks (issue 9): flat cost per operation up to 64 TiB, absent space free.

  ops      one hot_add / online / offline / remove (2 GiB DIMM) at 8 TiB and at 60 TiB
           hot-added, each run alternating with the same on an empty machine; target: each
           within 1.5x of the empty machine measured alongside
  blocks   a full m.blocks() read at 1K, 8K and 30K blocks; target: cost per block flat (O(blocks))
  fill     60 TiB added in 2 GiB DIMMs and onlined; target: <= 60 s wall, peak RSS <= 1 GiB
  big      one 60 TiB add in 128 MiB blocks; target: <= 20 s (and its peak RSS; then the first
           full blocks() read after it, time and peak RSS, and the removal of the 60 TiB)
  arches   one 1 TiB hot-add per architecture (x86_64 with memmap_on_memory on and off, arm64
           4k/16k/64k, ppc64-radix-64k) with a 64 GiB node: wall time
  absent   one block added at the top of the physical space (x86_64, x86_64 la57, arm64-64k,
           ppc64-radix-64k); target: RSS growth independent of the address (near zero)

Every figure is min/median/max over repeated runs; each heavy case runs in its own process so
its peak RSS is its own. On the shared 2-core machine run one case at a time.
Usage: python bench/bench_scale.py [ops|blocks|fill|big|arches|absent ...] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GiB, TiB = 1 << 30, 1 << 40
DIMM = 2 * GiB


def _machine(**kw):
    from engine import Machine, MachineConfig, NodeConfig
    return Machine(MachineConfig(block_size=kw.pop("block_size", DIMM),
                                 nodes=(NodeConfig(0, 4 * GiB),), **kw))


def _fill(m, total: int) -> None:
    for _ in range(total // DIMM):
        r = m.hot_add(DIMM)
        assert r.ok, r.summary()


def _stats(xs: list[float], unit: float = 1e3) -> dict:
    return {"min": min(xs) * unit, "median": statistics.median(xs) * unit, "max": max(xs) * unit}


def _op_cycle(m, runs: int) -> dict:
    """Time each of hot_add, online, offline, remove of one DIMM, `runs` times (ms)."""
    t = {"hot_add": [], "online": [], "offline": [], "remove": []}
    for _ in range(runs):
        _one_cycle(m, t)
    return {k: _stats(v) for k, v in t.items()}


def _paired_cycles(big, empty, runs: int) -> tuple[dict, dict]:
    """The cycle on the big machine and on an empty one, alternately, `runs` times each: both
    measured in the same minute of the same process (a 0.1 ms operation's cost drifts with
    the CPU's caches and clock more than with 60 TiB)."""
    tb = {"hot_add": [], "online": [], "offline": [], "remove": []}
    te = {k: [] for k in tb}
    for _ in range(runs):
        _one_cycle(empty, te)
        _one_cycle(big, tb)
    return {k: _stats(v) for k, v in tb.items()}, {k: _stats(v) for k, v in te.items()}


def _one_cycle(m, t: dict) -> None:
    """One hot_add, online, offline and remove of a DIMM on `m`, each timed into `t` (s)."""
    t0 = time.perf_counter()
    r = m.hot_add(DIMM)
    t1 = time.perf_counter()
    assert r.ok, r.summary()
    b = r.args["start"] // m.block_size
    assert m.online(b, "online_movable").ok
    t2 = time.perf_counter()
    assert m.offline(b).ok
    t3 = time.perf_counter()
    assert m.remove(r.args["start"], DIMM).ok
    t4 = time.perf_counter()
    for k, v in zip(t, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
        t[k].append(v)


def case_ops(repeat: int) -> dict:
    m, empty = _machine(), _machine()
    out = {"empty": _op_cycle(empty, repeat)}
    _fill(m, 8 * TiB)
    out["8TiB"], out["8TiB_empty"] = _paired_cycles(m, empty, repeat)
    _fill(m, 52 * TiB)
    out["60TiB"], out["60TiB_empty"] = _paired_cycles(m, empty, repeat)
    return out


def case_blocks(repeat: int) -> dict:
    m = _machine()
    out = {}
    done = 0
    for n in (1024, 8192, 30720):
        _fill(m, (n - done) * DIMM)
        done = n
        xs = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            got = len(m.blocks())
            xs.append(time.perf_counter() - t0)
        out[f"{got} blocks"] = {"ms": _stats(xs), "us_per_block": _stats([x / got for x in xs], 1e6)}
    return out


def case_fill(_repeat: int) -> dict:
    # wall time is the target; CPU time shows how much of it the shared machine took away
    c0, t0 = time.process_time(), time.perf_counter()
    m = _machine()
    _fill(m, 60 * TiB)
    t1 = time.perf_counter()
    for b in m.blocks():
        if not b["boot"]:
            assert m.online(b["id"], "online_movable").ok
    t2 = time.perf_counter()
    return {"add_s": t1 - t0, "online_s": t2 - t1, "total_s": t2 - t0,
            "total_cpu_s": time.process_time() - c0,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def case_big(_repeat: int) -> dict:
    m = _machine(block_size=128 << 20)
    c0, t0 = time.process_time(), time.perf_counter()
    r = m.hot_add(60 * TiB)
    t1 = time.perf_counter()
    c1 = time.process_time()
    assert r.ok, r.summary()
    # the add's own peak first; the first full blocks() read after it (what a front end
    # does next) has its own figures
    add_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t2 = time.perf_counter()
    n = len(m.blocks()) - m.nboot_blocks
    t3 = time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t4 = time.perf_counter()
    gone = m.remove(r.args["start"], 60 * TiB)
    t5 = time.perf_counter()
    assert gone.ok, gone.summary()
    return {"add_s": t1 - t0, "add_cpu_s": c1 - c0, "blocks": n, "peak_rss_mib": add_rss,
            "then_blocks_read_s": t3 - t2, "then_peak_rss_mib": rss, "then_remove_s": t5 - t4}


TIB_ADDS = (("x86_64", {}), ("x86_64-memmap-off", {"memmap_on_memory": False}),
            ("arm64-4k", {"arch": "arm64-4k"}), ("arm64-16k", {"arch": "arm64-16k"}),
            ("arm64-64k", {"arch": "arm64-64k"}), ("ppc64-radix-64k", {"arch": "ppc64-radix-64k"}))


def case_arches(repeat: int) -> dict:
    """One 1 TiB hot-add per architecture (default block size, a 64 GiB node to take the
    memmap and page tables from): the wall time of the add."""
    from engine import Machine, MachineConfig, NodeConfig
    out = {}
    for name, kw in TIB_ADDS:
        xs = []
        for _ in range(repeat):
            m = Machine(MachineConfig(nodes=(NodeConfig(0, 64 * GiB),), **kw))
            t0 = time.perf_counter()
            r = m.hot_add(TiB)
            xs.append(time.perf_counter() - t0)
            assert r.ok, r.summary()
        out[name + "_s"] = _stats(xs, 1)
    return out


ABSENT_ARCHES = (("x86_64", False), ("x86_64", True), ("arm64-64k", False), ("ppc64-radix-64k", False))


def case_absent(_repeat: int) -> dict:
    """Each architecture in its own process: peak RSS growth is that add's own."""
    out = {}
    for i, (arch, la57) in enumerate(ABSENT_ARCHES):
        top, low = _in_child("absent_one", 1, f"{i}:top"), _in_child("absent_one", 1, f"{i}:low")
        # the same block right above boot memory is the control: the difference is what the
        # absent space between costs
        out[arch + ("-la57" if la57 else "")] = {
            "top": top["at"], "add_top_s": top["add_s"], "add_low_s": low["add_s"],
            "rss_growth_top_mib": top["rss_growth_mib"], "rss_growth_low_mib": low["rss_growth_mib"]}
    return out


def case_absent_one(_repeat: int, which: str = "0:top") -> dict:
    from engine import Machine, MachineConfig
    from engine.memory_hotplug import auto_start, mhp_get_pluggable_range
    i, where = which.split(":")
    arch, la57 = ABSENT_ARCHES[int(i)]
    m = Machine(MachineConfig(arch=arch, la57=la57))
    # the highest block the architecture lets one plug (arm64: what its linear map covers)
    top = (mhp_get_pluggable_range(m)[1] + 1) // m.block_size * m.block_size - m.block_size
    if where == "low":
        top = auto_start(m, m.block_size)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    r = m.hot_add(m.block_size, start=top)
    dt = time.perf_counter() - t0
    assert r.ok, r.summary()
    grow = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    return {"add_s": dt, "rss_growth_mib": grow / 1024, "at": hex(top)}


CASES = {"ops": case_ops, "blocks": case_blocks, "fill": case_fill, "big": case_big,
         "arches": case_arches, "absent": case_absent, "absent_one": case_absent_one}
DEFAULT_REPEAT = {"ops": 21, "blocks": 5, "fill": 3, "big": 3, "arches": 3, "absent": 3}
PER_PROCESS = {"fill", "big", "absent"}      # one process per run: peak RSS is the run's own


def _in_child(name: str, repeat: int, arg: str = "") -> dict:
    p = subprocess.run([sys.executable, __file__, "--child", name, "--repeat", str(repeat)]
                       + (["--arg", arg] if arg else []), capture_output=True, text=True, check=True)
    return json.loads(p.stdout)


def _summarise(name: str, runs: list[dict]) -> dict:
    """min/median/max of every number over the runs of a per-process case."""
    def merge(docs):
        first = docs[0]
        if isinstance(first, dict):
            return {k: merge([d[k] for d in docs]) for k in first}
        if isinstance(first, (int, float)) and not isinstance(first, bool):
            return {"min": min(docs), "median": statistics.median(docs), "max": max(docs)}
        return first
    return merge(runs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("cases", nargs="*", default=list(CASES))
    ap.add_argument("--repeat", type=int)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--arg", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        extra = (a.arg,) if a.arg else ()
        print(json.dumps(CASES[a.child](a.repeat or 1, *extra)))
        return
    for name in a.cases:
        repeat = a.repeat or DEFAULT_REPEAT[name]
        if name in PER_PROCESS:
            doc = _summarise(name, [_in_child(name, 1) for _ in range(repeat)])
        else:
            doc = _in_child(name, repeat)
        print(f"{name} ({repeat} runs; times in ms unless the name says _s)", flush=True)
        for path, st in _leaves(doc):
            print(f"  {path:<34} min {st['min']:10.3f}  median {st['median']:10.3f}  max {st['max']:10.3f}",
                  flush=True)
        for path, ratio in _ratios(doc):
            print(f"  {path:<34} median / empty machine: {ratio:.2f}x (target <= 1.5x)", flush=True)


def _leaves(doc: dict, prefix: str = ""):
    """(path, {min, median, max}) of every measured figure, in order."""
    for k, v in doc.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict) and set(v) == {"min", "median", "max"}:
            yield path, v
        elif isinstance(v, dict):
            yield from _leaves(v, path + ".")


def _ratios(doc: dict):
    empty = doc.get("empty")
    if not isinstance(empty, dict):
        return
    for size in ("8TiB", "60TiB"):
        # against the empty machine measured alongside (see _paired_cycles)
        base = doc.get(f"{size}_empty", empty)
        for op, st in doc.get(size, {}).items():
            yield f"{size}.{op}", st["median"] / base[op]["median"]


if __name__ == "__main__":
    main()
