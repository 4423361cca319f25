"""Every memory block as columns: what an overview (a bar of all blocks, a counter per block)
reads after an operation, in O(blocks) numpy work instead of a sysfs dict per block.

`m.blocks()` stays the sysfs view of each block (valid_zones and all); a 60 TiB machine has
~30,000 2 GiB blocks (491,520 of 128 MiB), and building their dicts costs ~8 µs each, so a
front end redrawing after every operation reads this table instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .model import ZONE_NAMES


@dataclass(frozen=True, eq=False)
class BlockTable:
    """Existing memory blocks in id (= address) order; row i of every column is one block.

    `zone` indexes ZONE_NAMES (-1: offline, or online in a zone the engine does not name);
    `resource` is the block's index into `m.resources()` (-1: boot memory)."""

    id: np.ndarray              # int64
    start_pfn: np.ndarray       # int64
    end_pfn: np.ndarray         # int64 (exclusive)
    online: np.ndarray          # bool
    zone: np.ndarray            # int8
    node: np.ndarray            # int32
    nr_vmemmap: np.ndarray      # int64: nr_vmemmap_pages (memmap on the block itself)
    boot: np.ndarray            # bool
    resource: np.ndarray        # int64
    going_offline: np.ndarray   # bool: sysfs state "going-offline" (a live machine mid-offline)
    zone_names: tuple[str, ...] = ZONE_NAMES

    def __len__(self) -> int:
        return len(self.id)

    def zone_name(self, i: int) -> str | None:
        z = int(self.zone[i])
        return self.zone_names[z] if z >= 0 and bool(self.online[i]) else None

    @classmethod
    def from_dicts(cls, blocks: list[dict]) -> "BlockTable":
        """The table of block dicts shaped like `Machine.blocks()` (a live machine's reader
        has those; it is small there: the blocks of one real machine)."""
        blocks = sorted(blocks, key=lambda b: b["id"])
        names = list(ZONE_NAMES)
        for b in blocks:
            if b["zone"] is not None and b["zone"] not in names:
                names.append(b["zone"])

        def col(values, dtype):
            return np.array(values, dtype=dtype)

        return cls(
            id=col([b["id"] for b in blocks], np.int64),
            start_pfn=col([b["start_pfn"] for b in blocks], np.int64),
            end_pfn=col([b["end_pfn"] for b in blocks], np.int64),
            online=col([bool(b["online"]) for b in blocks], np.bool_),
            zone=col([names.index(b["zone"]) if b["zone"] is not None else -1 for b in blocks],
                     np.int8),
            node=col([b["node"] for b in blocks], np.int32),
            nr_vmemmap=col([b["nr_vmemmap_pages"] for b in blocks], np.int64),
            boot=col([bool(b["boot"]) for b in blocks], np.bool_),
            resource=col([-1 if b["resource"] is None else b["resource"] for b in blocks],
                         np.int64),
            going_offline=col([b["state"] == "going-offline" for b in blocks], np.bool_),
            zone_names=tuple(names))


def block_table(m) -> BlockTable:
    """The table of machine `m`'s existing blocks, from its per-block columns."""
    bl = m.blks
    n = bl.size
    ids = np.flatnonzero(bl.exists[:n]).astype(np.int64)
    online = bl.online[ids].astype(np.bool_)
    # the resource column holds resource ids (their first pfn); the table gives each block
    # the position of its resource in m.resources(), as blocks() does
    rids = bl.res[ids].astype(np.int64)
    order = np.array(m.res.ids(), dtype=np.int64)
    pos = np.searchsorted(order, rids) if len(order) else np.zeros(len(rids), dtype=np.int64)
    pos_c = np.minimum(pos, max(len(order) - 1, 0))
    known = (len(order) > 0) & (rids >= 0)
    if len(order):
        known &= order[pos_c] == rids
    resource = np.where(known, pos_c, -1).astype(np.int64)
    zone = np.where(online, bl.zone[ids], -1).astype(np.int8)
    return BlockTable(
        id=ids, start_pfn=ids * m.ppb, end_pfn=(ids + 1) * m.ppb, online=online, zone=zone,
        node=bl.node[ids].astype(np.int32), nr_vmemmap=bl.nr_vmemmap[ids].astype(np.int64),
        boot=bl.boot[ids].astype(np.bool_), resource=resource,
        # the engine's offline is one step: no block is ever seen half way
        going_offline=np.zeros(len(ids), dtype=np.bool_))
