"""Machine.block_table(): the same blocks as blocks(), as columns, once per generation."""

from __future__ import annotations

import numpy as np

from engine import BlockTable, Machine, MachineConfig, NodeConfig, VirtioMemConfig

GiB = 1 << 30


def _as_rows(table: BlockTable) -> list[dict]:
    return [{"id": int(table.id[i]), "start_pfn": int(table.start_pfn[i]),
             "end_pfn": int(table.end_pfn[i]), "online": int(table.online[i]),
             "zone": table.zone_name(i), "node": int(table.node[i]),
             "nr_vmemmap_pages": int(table.nr_vmemmap[i]), "boot": bool(table.boot[i]),
             "resource": None if table.resource[i] < 0 else int(table.resource[i])}
            for i in range(len(table))]


def _expected(m: Machine) -> list[dict]:
    keys = ("id", "start_pfn", "end_pfn", "online", "zone", "node", "nr_vmemmap_pages", "boot",
            "resource")
    return [{k: b[k] for k in keys} for b in m.blocks()]


def _busy_machine() -> Machine:
    m = Machine(MachineConfig(nodes=(NodeConfig(0, 4 * GiB), NodeConfig(1, 4 * GiB)),
                              memmap_on_memory=True,
                              virtio_mem=(VirtioMemConfig(id="vm0", size=8 * GiB, node=1),)))
    a = m.hot_add(2 * GiB)
    assert a.ok, a.summary()
    assert m.online(a.blocks[0], "online_movable").ok
    assert m.online(a.blocks[1], "online_kernel").ok
    b = m.hot_add(GiB, node=1, via="kmem", memmap_on_memory=True)
    assert b.ok, b.summary()
    c = m.hot_add(GiB, node=1)
    assert c.ok, c.summary()
    assert m.remove(c.args["start"], GiB).ok           # a hole between ranges
    assert m.apply({"op": "resize", "device": "vm0", "requested_size": 2 * GiB}).ok
    return m


def test_block_table_is_blocks_as_columns_on_a_busy_machine():
    m = _busy_machine()
    table = m.block_table()
    assert _as_rows(table) == _expected(m)
    # every kind of row is there: boot, online in two zones, offline, self-hosted memmap
    assert table.boot.any() and (~table.boot).any()
    assert {table.zone_name(i) for i in range(len(table))} >= {"Movable", "Normal", None}
    assert (table.nr_vmemmap > 0).any()
    assert not table.going_offline.any()


def test_block_table_follows_each_generation_and_is_built_once_per_generation():
    m = Machine(MachineConfig.default())
    first = m.block_table()
    assert m.block_table() is first
    r = m.hot_add(GiB)
    table = m.block_table()
    assert table is not first and len(table) == len(first) + len(r.blocks)
    assert _as_rows(table) == _expected(m)
    assert m.undo()
    assert _as_rows(m.block_table()) == _as_rows(first)


def test_from_dicts_reads_blocks_shaped_dicts_and_keeps_unknown_zones_and_states():
    m = _busy_machine()
    again = BlockTable.from_dicts(m.blocks())
    assert _as_rows(again) == _as_rows(m.block_table())
    live = [dict(b) for b in m.blocks()[:3]]
    live[0].update(zone="Device", online=1, state="online")
    live[1].update(state="going-offline")
    t = BlockTable.from_dicts(list(reversed(live)))
    assert t.id.tolist() == [b["id"] for b in live]                # id order whatever the input
    assert t.zone_name(0) == "Device" and "Device" in t.zone_names
    assert t.going_offline.tolist() == [False, True, False]
    assert t.id.dtype == np.int64 and t.zone.dtype == np.int8
