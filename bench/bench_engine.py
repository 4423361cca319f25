"""Engine benchmarks: wall time and peak RSS of big hotplug lifecycles.

(a) 1 TiB added, onlined, offlined and removed in 128 MiB blocks
(b) the same 1 TiB in 2 GiB blocks (same sections, 16x fewer operations)
(c) 60 TiB hot-added in 2 GiB blocks and onlined (4-level paging leaves 64 TiB)

Each case runs in its own process so peak RSS is its own. Targets on the 2-core machine:
(a) <= 3 s, (b) no slower than (a), (c) <= 1 GiB peak RSS.
Usage: python bench/bench_engine.py [a|b|c ...]
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GiB, TiB = 1 << 30, 1 << 40


def lifecycle(block: int, total: int, remove: bool = True) -> dict:
    from engine import Machine, MachineConfig, NodeConfig
    cfg = MachineConfig(block_size=block, nodes=(NodeConfig(0, 4 * GiB),))
    t0 = time.perf_counter()
    m = Machine(cfg)
    # one DIMM per 16 GiB, as a cloud host would plug them
    chunk = min(total, 16 * GiB)
    ranges = []
    for i in range(total // chunk):
        r = m.hot_add(chunk)
        assert r.ok, r.summary()
        ranges.append((r.args["start"], chunk))
    t_add = time.perf_counter()
    blocks = [b["id"] for b in m.blocks() if not b["boot"]]
    for b in blocks:
        r = m.online(b, "online_movable")
        assert r.ok, r.summary()
    t_on = time.perf_counter()
    out = {"blocks": len(blocks), "add_s": t_add - t0, "online_s": t_on - t_add}
    if remove:
        for b in blocks:
            r = m.offline(b)
            assert r.ok, r.summary()
        t_off = time.perf_counter()
        for s, size in ranges:
            r = m.remove(s, size)
            assert r.ok, r.summary()
        t_rm = time.perf_counter()
        out.update(offline_s=t_off - t_on, remove_s=t_rm - t_off)
    out["total_s"] = time.perf_counter() - t0
    out["store_bytes"] = m.store.nbytes()
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


CASES = {
    "a": ("1 TiB lifecycle, 128 MiB blocks", lambda: lifecycle(128 << 20, TiB)),
    "b": ("1 TiB lifecycle, 2 GiB blocks", lambda: lifecycle(2 * GiB, TiB)),
    "c": ("60 TiB added + onlined, 2 GiB blocks", lambda: lifecycle(2 * GiB, 60 * TiB, remove=False)),
}


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--child":
        print(json.dumps(CASES[argv[1]][1]()))
        return 0
    names = argv or list(CASES)
    print(f"{'case':<40} {'blocks':>7} {'total s':>8} {'add':>7} {'online':>7} {'offline':>8} {'remove':>7} {'peak RSS MiB':>13}")
    for name in names:
        out = subprocess.run([sys.executable, __file__, "--child", name], capture_output=True, text=True)
        if out.returncode:
            print(f"{name}: failed\n{out.stderr}")
            return 1
        d = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"({name}) {CASES[name][0]:<36} {d['blocks']:>7} {d['total_s']:>8.2f} {d['add_s']:>7.2f} "
              f"{d['online_s']:>7.2f} {d.get('offline_s', 0):>8.2f} {d.get('remove_s', 0):>7.2f} "
              f"{d['peak_rss_mib']:>13.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
