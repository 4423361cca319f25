"""A front end can stop a long operation through the progress hook; the machine rolls back
exactly. Results also say which blocks an add created and which pfns an operation changed."""

from __future__ import annotations

import pytest

from engine import Cancelled, Machine, MachineConfig, batch_add
from engine.states import CODE


def _machine(memmap_on_memory: bool = True) -> Machine:
    return Machine(MachineConfig.from_dict({"profile": "6.8", "arch": "x86_64",
                                            "memmap_on_memory": memmap_on_memory,
                                            "node": [{"id": 0, "memory": "4G"}]}))


def _cancel_after(calls: int):
    seen = []

    def hook(what: str, done: int, total: int) -> None:
        seen.append((what, done, total))
        if len(seen) >= calls:
            raise Cancelled(what)

    return hook, seen


def test_cancelled_hot_add_rolls_back_exactly():
    m = _machine()
    before, gen, hist = m.fingerprint(), m.generation, list(m.history)
    hook, seen = _cancel_after(3)
    m.progress_hook = hook
    with pytest.raises(Cancelled):
        m.hot_add("64G")
    m.progress_hook = None
    assert len(seen) == 3
    assert m.fingerprint() == before
    assert m.generation == gen
    assert m.history == hist
    assert m.can_undo is False
    # the machine still works afterwards, and the same add now succeeds
    assert m.hot_add("64G").ok


def test_cancelled_undo_leaves_the_operation_applied(monkeypatch):
    # section by section (no batches), the memmap from the buddy: a journal long enough for
    # the rollback to report progress
    monkeypatch.setattr(batch_add, "ENABLED", False)
    m = _machine(memmap_on_memory=False)
    assert m.hot_add("128G").ok
    applied = m.fingerprint()
    hist = list(m.history)
    hook, seen = _cancel_after(1)
    m.progress_hook = hook
    with pytest.raises(Cancelled):
        m.undo()
    m.progress_hook = None
    assert seen[0][0] == "undo hot_add"
    assert m.fingerprint() == applied
    assert m.history == hist
    assert m.can_redo is False
    assert m.undo() is True            # and a later undo still works
    assert m.hot_add("128G").ok


def test_hot_add_result_names_the_blocks_it_created():
    m = _machine()
    res = m.hot_add("1G")
    assert res.ok
    block_size = m.geometry.block_size
    start_pfn = int(res.args["start"]) >> m.geometry.page_shift
    first = start_pfn // m.geometry.pages_per_block
    assert res.blocks == list(range(first, first + (1 << 30) // block_size))
    assert [b["id"] for b in m.blocks() if b["start_pfn"] >= start_pfn] == res.blocks


def test_changed_ranges_cover_an_allocation():
    m = _machine()
    add = m.hot_add("1G")
    bid = add.blocks[0]
    assert m.online(bid, type="online_kernel").ok
    res = m.alloc(block=bid, pages=100, kind="unmovable")
    assert res.ok
    states = m.pfn_states(*res.changed[0])
    assert len(res.changed) == 1
    assert int((states == CODE["unmovable"]).sum()) == 100
    assert res.as_dict()["changed"] == [list(r) for r in res.changed]


def test_undo_of_a_batched_add_reports_progress_by_rows():
    # a 1 TiB add is a few dozen batch records; each counts the rows it restores, so the
    # undo still reports progress as it goes, and once more at its end
    m = _machine()
    res = m.hot_add("1T")
    assert res.ok
    sections = (1 << 40) // m.geometry.section_size
    seen = []
    m.progress_hook = lambda what, done, total: seen.append((what, done, total))
    assert m.undo()
    total = seen[-1][2]
    # sections present, their store codes, their PMD mappings, the altmaps, the devices
    assert total >= 5 * sections
    assert [d for _, d, _ in seen] == sorted({d for _, d, _ in seen})
    assert {t for _, _, t in seen} == {total}
    assert seen[-1][1] == total
    assert len(seen) == total // 4096 + (1 if total % 4096 else 0)
    assert {w for w, _, _ in seen} == {"undo hot_add"}
