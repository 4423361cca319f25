"""Live mode on this machine: read, decode and refresh costs (min / median / max of N runs).

    python bench/bench_live.py [--sysroot /] [--runs 5]

Text files (sysfs blocks, nodes, /proc), one 1 GiB band of page flags read and decoded, the
whole machine's page flags read (kernel cost) and decoded (numpy cost) separately, a sampled
whole-machine aggregate as the grid's widest zoom asks it, and a refresh.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from bridge import pageclass as PC  # noqa: E402
from bridge.live import LiveMachine  # noqa: E402


def timed(fn, runs: int) -> tuple[float, float, float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return min(out), statistics.median(out), max(out)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--sysroot", default="/")
    p.add_argument("--runs", type=int, default=5)
    a = p.parse_args()
    m = LiveMachine(a.sysroot)
    top = max(b for _, b in m.ram_ranges())
    print(f"{a.sysroot}: kernel {m.state.release}, {len(m.state.blocks)} blocks, {top} pfns "
          f"({top * m.page_size >> 30} GiB span), page flags {'readable' if m.has_page_flags else 'NOT readable'}")
    rows = [("open (text files + geometry)", lambda: LiveMachine(a.sysroot).close()),
            ("refresh (text files again)", m.refresh),
            ("  of which read_state (worker thread)", m.read_state),
            ("  of which apply_state (UI thread)", lambda: m.apply_state(m.state)),
            ("blocks() incl. vmemmap probe", lambda: (m.refresh(), m.blocks()))]
    if m.has_page_flags:
        lo = m.ram_ranges()[-1][0]
        n = min(1 << 18, m.ram_ranges()[-1][1] - lo)
        rows.append((f"1 GiB band read+decode ({n} pfns)", lambda: (m.refresh(), m.pfn_states(lo, lo + n))))
        flags = {}

        def read_all():
            flags["f"] = m.kpageflags(0, top)
            flags["c"] = m.kpagecount(0, top)
        rows.append(("whole machine: kpageflags+kpagecount read", read_all))
        read_all()
        structure = m._structure(np.arange(0, top, dtype=np.int64))
        rows.append(("whole machine: decode (numpy)",
                     lambda: PC.classify(structure, flags["f"], flags["c"], m.rule)))
        rows.append(("whole-machine aggregate, 2048 cells (sampled)",
                     lambda: (m.refresh(), m.aggregate(0, top, -(-top // 2048)))))
    for name, fn in rows:
        lo_, med, hi_ = timed(fn, a.runs)
        print(f"  {name:<48} min {lo_ * 1000:8.1f} ms  median {med * 1000:8.1f} ms  max {hi_ * 1000:8.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
