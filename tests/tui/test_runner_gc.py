"""The app freezes what exists out of the cyclic collector's passes (tui/collector.py).
That is only safe because engine state has no reference cycles: a machine dropped later is
freed by reference counting alone. This proves it on machines that used every kind of state."""

from __future__ import annotations

import gc
import weakref

from engine import Machine, MachineConfig, VirtioMemConfig

GiB = 1 << 30


def _used_machine(config: MachineConfig) -> Machine:
    m = Machine(config)
    r = m.hot_add(2 * GiB)
    assert r.ok, r.summary()
    assert m.online(r.blocks[0], "online_movable").ok
    assert m.offline(r.blocks[0]).ok
    assert m.online(r.blocks[1], "online_kernel").ok
    assert m.remove(r.args["start"], 2 * GiB).ok is False      # refused: a block is online
    assert m.undo()
    assert m.redo() is not None
    return m


def _freed_without_the_collector(make) -> bool:
    was = gc.isenabled()
    gc.disable()
    try:
        m = make()
        ref = weakref.ref(m)
        del m
        return ref() is None
    finally:
        if was:
            gc.enable()


def test_an_x86_machine_is_freed_by_reference_counting():
    assert _freed_without_the_collector(lambda: _used_machine(MachineConfig.default()))


def test_a_machine_with_memmap_on_memory_and_kmem_is_freed_by_reference_counting():
    def make():
        m = _used_machine(MachineConfig(memmap_on_memory=True))
        assert m.hot_add(GiB, via="kmem", memmap_on_memory=True).ok
        return m
    assert _freed_without_the_collector(make)


def test_a_machine_with_a_virtio_mem_device_is_freed_by_reference_counting():
    def make():
        m = Machine(MachineConfig(virtio_mem=(VirtioMemConfig(id="vm0", size=8 * GiB),)))
        r = m.apply({"op": "resize", "device": "vm0", "requested_size": 2 * GiB})
        assert r.ok, r.summary()
        return m
    assert _freed_without_the_collector(make)


def test_every_lesson_machine_is_freed_by_reference_counting():
    # the lessons touch every part of the engine: kmem, virtio-mem, notifiers, faults, arm64,
    # ppc64, refusals and what the kernel leaves behind; each machine, with undo and redo
    from engine.lessons import list_lessons, load_lesson

    names = [name for name, _, _ in list_lessons()]
    assert len(names) >= 9
    for name in names:
        sc = load_lesson(name)

        def make(sc=sc):
            m = Machine(sc.config)
            for step in sc.steps:
                m.apply(step)
            while m.undo():
                pass
            while m.redo() is not None:
                pass
            return m
        assert _freed_without_the_collector(make), name
