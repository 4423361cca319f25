"""page_alloc.free_runs_in_zones() reads free memory a block at a time from the top: it must
give exactly the runs one read of each whole zone range gives (the pieces of a run that
crosses a block boundary joined again)."""

from __future__ import annotations

import pytest

from engine import Machine, MachineConfig, NodeConfig
from engine import states as S
from engine.page_alloc import free_runs_in_zones, zonelist

GiB, MiB = 1 << 30, 1 << 20


def _whole_range_runs(m, zones, want, exclude=None):
    """The same answer from one store.runs() per zone range, highest first."""
    out = []
    for z in zones:
        if want <= 0 or not z.populated() or z.free <= 0:
            continue
        room = min(want, z.free - z.wmark_min)
        for lo, hi in reversed(m.zone_ranges(z)):
            starts, ends, codes = m.store.runs(lo, hi)
            for a, b, c in zip(starts[::-1].tolist(), ends[::-1].tolist(), codes[::-1].tolist()):
                if c != S.FREE or room <= 0:
                    continue
                parts = [(a, b)]
                if exclude is not None and a < exclude[1] and b > exclude[0]:
                    parts = [p for p in ((a, min(b, exclude[0])), (max(a, exclude[1]), b)) if p[0] < p[1]]
                for pa, pb in reversed(parts):
                    take = min(room, pb - pa)
                    if take > 0:
                        out.append((pb - take, pb, z))
                        room -= take
                        want -= take
    return out


@pytest.fixture(scope="module")
def fragmented():
    """Free memory in runs that cross block boundaries, in several zones and two nodes."""
    m = Machine(MachineConfig(block_size=128 * MiB, nodes=(NodeConfig(0, 4 * GiB), NodeConfig(1, 2 * GiB))))
    add = m.hot_add(2 * GiB, node=1)
    for b in add.blocks:
        assert m.online(b, "online_movable").ok
    for blk in add.blocks[::3]:
        assert m.alloc(node=1, block=blk, pages=5000 + blk % 7, kind="movable").ok
    for zone in ("Normal", "DMA32"):
        assert m.alloc(node=0, zone=zone, pages=40000, kind="unmovable").ok
    return m


@pytest.mark.parametrize("want", [1, 511, 512, 40000, 300000, 10 ** 7])
@pytest.mark.parametrize("gfp,nid", [("kernel", 0), ("movable", 1), ("movable", 0)])
def test_block_walk_equals_whole_range_read(fragmented, want, gfp, nid):
    m = fragmented
    zones = zonelist(m, nid, gfp)
    got = free_runs_in_zones(m, None, zones, want)
    assert got == _whole_range_runs(m, zones, want)
    assert len(got) > 0


def test_block_walk_with_an_excluded_range(fragmented):
    m = fragmented
    zones = zonelist(m, 1, "movable")
    top = max(hi for z in zones for _, hi in m.zone_ranges(z))
    exclude = (top - 3 * m.ppb - 100, top - m.ppb + 50)
    got = free_runs_in_zones(m, None, zones, 10 ** 6, exclude=exclude)
    assert got == _whole_range_runs(m, zones, 10 ** 6, exclude)
    assert all(b <= exclude[0] or a >= exclude[1] for a, b, _ in got)


def test_runs_crossing_block_boundaries_come_whole(fragmented):
    m = fragmented
    got = free_runs_in_zones(m, None, zonelist(m, 1, "movable"), 10 ** 7)
    # free memory of the onlined blocks spans block boundaries: one run each, not two pieces
    assert any(a // m.ppb != (b - 1) // m.ppb for a, b, _ in got)
