"""Blocks added or removed in batches (engine.batch_add, engine.batch_remove) leave the machine
exactly as block by block.

Every scenario runs twice, with the batched path off and on: each operation must give the same
result (events, dmesg, errors, created blocks, changed ranges), the same machine fingerprint,
the same container sizes and key order and the same progress-hook calls, and its undo and redo
must restore the same fingerprints. Scenarios where batching applies also check that it did run.
"""

from __future__ import annotations

import pytest

from engine import Machine, MachineConfig, NodeConfig, VirtioMemConfig, batch_add, batch_remove

GiB, MiB = 1 << 30, 1 << 20


def _add(size, **kw) -> dict:
    return {"op": "hot_add", "size": size, **kw}


def _remove(start, size) -> dict:
    return {"op": "remove", "start": start, "size": size}


# the vmemmap pmd table of [0, 64 GiB) is there from boot: an add past 64 GiB needs a new
# one (that block goes block by block); 30 blocks take the events past their detail limit
MIXED_OPS = [
    _add(2 * GiB, start=40 * GiB),                    # far above the sections in use so far
    _add(128 * MiB),
    _add(4 * GiB, start=8 * GiB),
    _add(4 * GiB),                                    # first fit: between the two
    _add(2 * GiB, start=8 * GiB),                     # EEXIST: overlaps
    _add(72 * GiB, start=42 * GiB),                   # crosses the 64 GiB table boundary
    {"op": "online", "block": "first-new", "type": "online_movable"},
    _remove(8 * GiB, 2 * GiB),                        # a partial removal of the 8 GiB add
    _add(2 * GiB, start=8 * GiB),                     # into the hole again
    _add(6 * GiB, via="driver", node=0),
    _add(1 << 50),                                    # refused: outside the pluggable range
    {"op": "online", "block": ("at", 50 * GiB), "type": "online_movable"},
    {"op": "offline", "block": ("at", 50 * GiB)},
    # removed again: the last block of the table past 64 GiB frees it (block by block)
    {"op": "eject", "start": 42 * GiB, "size": 72 * GiB},
]


def _exhaust(leave: int) -> list[dict]:
    """Allocations that leave each kernel zone of node 0 `leave` pages above its min watermark."""
    return [{"op": "alloc", "node": 0, "zone": z, "pages": ("leave", leave), "kind": "unmovable"}
            for z in ("DMA32", "Normal", "DMA")]


BLOCKS, SECTIONS, REMOVALS, NONE = {"blocks"}, {"sections"}, {"removals"}, set()


def _scenarios():
    """(name, machine config, operations, the batched paths expected to run)."""
    two_nodes = (NodeConfig(0, 4 * GiB), NodeConfig(1, 0))
    out = []
    for profile in ("6.1", "6.8", "6.11", "7.2"):
        for mmoo in (False, True, "force"):
            if mmoo == "force" and profile == "6.1":
                continue
            for bs in (128 * MiB, 2 * GiB):
                # 6.8+ with memmap_on_memory: one altmap per block (batches of blocks); else
                # adds of several blocks take the memmap from the buddy (batches of sections)
                out.append((f"x86_64-{profile}-{mmoo}-{bs >> 20}M",
                            dict(profile=profile, memmap_on_memory=mmoo, block_size=bs), MIXED_OPS,
                            BLOCKS | REMOVALS if profile != "6.1" and mmoo is not False else SECTIONS))
    two_node_ops = [_add(6 * GiB, node=1), _add(4 * GiB, node=0), _remove(None, 2 * GiB), _add(70 * GiB, node=1)]
    out += [
        ("two-nodes", dict(block_size=128 * MiB, nodes=two_nodes), two_node_ops, BLOCKS | REMOVALS),
        # node 1 has no memory: its memmap comes from node 0 ("potential offnode page_structs")
        ("two-nodes-buddy", dict(block_size=128 * MiB, nodes=two_nodes, memmap_on_memory=False),
         two_node_ops, SECTIONS),
        ("auto-online", dict(block_size=128 * MiB, auto_online="online_movable"), [_add(6 * GiB)], BLOCKS),
        ("struct-page-56", dict(block_size=128 * MiB, struct_page_size=56), [_add(6 * GiB)], NONE),
        ("kmem", dict(block_size=128 * MiB), [_add(6 * GiB, via="kmem", memmap_on_memory=True),
                                               _add(2 * GiB, via="kmem", memmap_on_memory=False)],
         BLOCKS | SECTIONS),
        # arm64: each block's linear map takes PTE (rodata=full) or PMD/PUD table pages
        ("arm64-4k", dict(arch="arm64-4k"), MIXED_OPS, BLOCKS),
        ("arm64-4k-rodata-on", dict(arch="arm64-4k", rodata="on"), MIXED_OPS, BLOCKS),
        ("arm64-4k-6.8-two-nodes", dict(arch="arm64-4k", profile="6.8", nodes=two_nodes), two_node_ops, BLOCKS),
        # the buddy runs dry inside a batch: the next block's linear map fails (-ENOMEM on
        # 7.2, BUG() before)
        ("enomem-arm64-4k-linear-map", dict(arch="arm64-4k"), _exhaust(3000) + [_add(64 * GiB)], BLOCKS),
        ("bug-arm64-4k-linear-map", dict(arch="arm64-4k", profile="6.8"), _exhaust(3000) + [_add(64 * GiB)],
         BLOCKS),
        ("arm64-4k-buddy", dict(arch="arm64-4k", memmap_on_memory=False), MIXED_OPS, SECTIONS),
        ("arm64-16k", dict(arch="arm64-16k"), [_add(8 * GiB), _add(32 * GiB, start=200 * GiB),
                                               _remove(200 * GiB, 16 * GiB), _add(2 * GiB)], SECTIONS),
        ("arm64-64k", dict(arch="arm64-64k"), [_add(8 * GiB), _add(64 * GiB)], SECTIONS),
        # virtio-mem plugs memory blocks with the memmap from the buddy (SBM and BBM)
        ("virtio-mem-sbm", dict(block_size=128 * MiB, virtio_mem=(VirtioMemConfig("vmem0", 8 * GiB, block_size=2 * MiB),)),
         [{"op": "resize", "device": "vmem0", "requested_size": 3 * GiB},
          {"op": "resize", "device": "vmem0", "requested_size": 1 * GiB}], SECTIONS),
        ("virtio-mem-bbm", dict(block_size=128 * MiB, virtio_mem=(VirtioMemConfig("vmem0", 8 * GiB, block_size=256 * MiB),)),
         [{"op": "resize", "device": "vmem0", "requested_size": 6 * GiB}], SECTIONS),
        ("ppc64-radix-64k", dict(arch="ppc64-radix-64k", profile="7.2"), [_add(4 * GiB)], NONE),
        ("rfc-2017", dict(profile="rfc-2017", block_size=128 * MiB), [_add(4 * GiB)], NONE),
        ("fault-vmemmap", dict(block_size=128 * MiB),
         [{"op": "inject", "fault": "vmemmap", "nth": 1}, _add(4 * GiB)], NONE),
        ("fault-altmap", dict(block_size=128 * MiB),
         [{"op": "inject", "fault": "altmap", "nth": 20}, _add(4 * GiB),
          {"op": "inject", "fault": "none"}, _add(4 * GiB)], BLOCKS),
        ("fault-devices", dict(block_size=128 * MiB),
         [{"op": "inject", "fault": "memory_block_devices", "nth": 40}, _add(8 * GiB)], NONE),
        ("fault-pgtable-buddy", dict(block_size=128 * MiB, memmap_on_memory=False),
         [{"op": "inject", "fault": "pgtable", "nth": 1}, _add(72 * GiB)], NONE),
        # the node's memory used up: the block at 64 GiB finds no page for its pmd table,
        # after hundreds of batched blocks (refused part way, the error path removes them)
        ("enomem-part-way", dict(block_size=128 * MiB), _exhaust(0) + [_add(72 * GiB)], BLOCKS),
        # the buddy runs dry inside a batch of sections: PMDs, then base pages, then ENOMEM
        ("enomem-buddy-part-way", dict(block_size=128 * MiB, memmap_on_memory=False),
         _exhaust(20000) + [_add(72 * GiB)], SECTIONS),
        ("enomem-arm64-16k", dict(arch="arm64-16k"), _exhaust(3000) + [_add(64 * GiB)], SECTIONS),
    ]
    return out


SCENARIOS = _scenarios()
_REAL_ADD_RUN, _REAL_ADD_BUDDY_RUN = batch_add._add_run, batch_add._add_buddy_run
_REAL_REMOVE_RUN = batch_remove._remove_run


def _resolve(m: Machine, op: dict) -> dict:
    op = dict(op)
    if op.get("block") == "first-new":
        op["block"] = min(b["id"] for b in m.blocks() if not b["boot"])
    if isinstance(op.get("block"), tuple):
        op["block"] = op["block"][1] // m.block_size
    if isinstance(op.get("pages"), tuple):
        z = next(z for z in m.node_zones(op["node"]) if z.name == op["zone"])
        op["pages"] = max(1, z.free - z.wmark_min - op["pages"][1])
    if op.get("op") == "remove" and op["start"] is None:
        op["start"] = max(r["end"] for r in m.resources()) - op["size"]
    return op


def _shape(m: Machine) -> tuple:
    """What the fingerprint leaves out: container sizes and dict order."""
    return (m.secs.size, m.blks.size, len(m.store.sec_code), list(m.vmap), list(m.ptables),
            list(m.altmaps), list(m.store.detail), m.counters.nr_memmap_pages)


def _run(cfg: dict, ops: list[dict], enabled: bool, monkeypatch) -> tuple[list, set]:
    """Each step's outcome; and which batched paths ran ("blocks", "sections")."""
    batched = set()

    def blocks(*args):
        batched.add("blocks")
        return _REAL_ADD_RUN(*args)

    def sections(*args):
        batched.add("sections")
        return _REAL_ADD_BUDDY_RUN(*args)

    def removals(*args):
        batched.add("removals")
        return _REAL_REMOVE_RUN(*args)

    monkeypatch.setattr(batch_add, "ENABLED", enabled)
    monkeypatch.setattr(batch_remove, "ENABLED", enabled)
    monkeypatch.setattr(batch_add, "_add_run", blocks)
    monkeypatch.setattr(batch_add, "_add_buddy_run", sections)
    monkeypatch.setattr(batch_remove, "_remove_run", removals)
    m = Machine(MachineConfig(**cfg))
    out = []
    for op in ops:
        op = _resolve(m, op)
        before = m.fingerprint()
        heard = []
        m.progress_hook = lambda what, done, total: heard.append((what, done, total))
        res = m.apply(op)
        m.progress_hook = None
        after = m.fingerprint()
        # the progress hook hears the same steps and counts
        step = [res.as_dict(), res.events, after, _shape(m), heard]
        if res.ok or res.left_behind:
            assert m.undo()
            assert m.fingerprint() == before, f"undo of {res.summary()} is not exact"
            step.append(_shape(m))
            again = m.redo()
            assert m.fingerprint() == after, f"redo of {res.summary()} is not exact"
            step += [again.as_dict(), _shape(m)]
        out.append(step)
    return out, batched


@pytest.mark.parametrize("name,cfg,ops,batches", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_batched_add_equals_block_by_block(name, cfg, ops, batches, monkeypatch):
    ref, none = _run(cfg, ops, False, monkeypatch)
    got, batched = _run(cfg, ops, True, monkeypatch)
    assert none == set()
    assert len(got) == len(ref)
    for i, (r, g) in enumerate(zip(ref, got)):
        assert g == r, f"step {i} ({ops[i]}) differs with batching"
    # the batched paths ran where they apply, and only there
    assert batched == batches


def test_small_batches_equal_block_by_block(monkeypatch):
    """Batches of a few blocks: the detail limit of the events and the page-table boundary
    fall inside and between batches (adds and removals)."""
    monkeypatch.setattr(batch_add, "CHUNK_SECTIONS", 7)
    cfg = dict(block_size=128 * MiB, memmap_on_memory="force")
    ref, _ = _run(cfg, MIXED_OPS, False, monkeypatch)
    got, batched = _run(cfg, MIXED_OPS, True, monkeypatch)
    assert got == ref
    assert batched == {"blocks", "removals"}
