"""The app's garbage-collector policy (tui/collector.py): no automatic passes while the app
runs, a full pass and a freeze once input has paused, the collector restored at exit."""

from __future__ import annotations

import gc
import weakref

from tui.collector import IDLE_AFTER, IdleCollector


class Node:
    pass


def cycle() -> weakref.ref:
    """Two objects holding each other, dropped at once: a weak reference to one of them (only
    the cyclic collector frees them)."""
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def idle_tick(c: IdleCollector, clock: "Clock") -> bool:
    """Some input, then a second without any, then the app's periodic check."""
    c.activity()
    clock.now += IDLE_AFTER
    return c.tick(busy=False)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_passes_run_only_after_a_pause_and_only_when_something_happened():
    clock = Clock()
    was = gc.isenabled()
    c = IdleCollector(clock)
    c.start()
    try:
        assert not gc.isenabled()
        c.activity()
        clock.now += IDLE_AFTER / 2
        assert c.tick(busy=False) is False          # still typing
        clock.now += IDLE_AFTER
        assert c.tick(busy=True) is False           # a job runs: its worker handles it
        assert c.tick(busy=False) is True and c.passes == 1
        assert gc.get_freeze_count() > 0
        clock.now += 10 * IDLE_AFTER
        assert c.tick(busy=False) is False          # nothing new since the last pass
        c.activity()
        clock.now += IDLE_AFTER
        assert c.tick(busy=False) is True and c.passes == 2
    finally:
        c.stop()
        gc.unfreeze()
    assert gc.isenabled() == was


def test_a_pass_collects_garbage_cycles_before_freezing():
    clock = Clock()
    c = IdleCollector(clock)
    c.start()
    try:
        ref = cycle()
        assert ref() is not None                    # automatic collection is off
        assert idle_tick(c, clock)
        assert ref() is None                        # collected, not frozen with the rest
    finally:
        c.stop()
        gc.unfreeze()


async def test_the_app_holds_the_collector_off_and_gives_it_back(ui, make_app):
    was = gc.isenabled()
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.settle(pilot, app)
        assert not gc.isenabled()
        before = app.collector.passes
        await pilot.press("right")
        await pilot.pause(IDLE_AFTER + 0.8)
        assert app.collector.passes == before + 1
    assert gc.isenabled() == was
    gc.unfreeze()


def test_every_few_passes_frozen_objects_that_died_in_a_cycle_are_freed():
    from tui.collector import FULL_EVERY

    clock = Clock()
    c = IdleCollector(clock)
    c.start()
    try:
        a, b = Node(), Node()
        a.other, b.other = b, a
        ref = weakref.ref(a)
        assert idle_tick(c, clock)                 # the cycle is alive: frozen with the rest
        del a, b                                   # ... and dies frozen
        for _ in range(FULL_EVERY - 2):
            assert idle_tick(c, clock)
            assert ref() is not None               # the passes that walk only what is new
        assert idle_tick(c, clock) and c.passes == FULL_EVERY
        assert ref() is None                       # the full pass frees it
    finally:
        c.stop()
        gc.unfreeze()
