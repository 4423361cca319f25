"""virtio-mem in the app: the resize dialog (tui/screens/virtio_dialog.py), the wait prompt,
the inspector and the counters."""

from __future__ import annotations

from textual.widgets import Input

from engine import MachineConfig, NodeConfig, VirtioMemConfig
from tui.keys import BY_ID
from tui.screens.main import MainScreen
from tui.screens.virtio_dialog import VirtioDialog

SIZE = (120, 44)
GiB, MiB = 1 << 30, 1 << 20


def config(**kw) -> MachineConfig:
    return MachineConfig(profile="6.11", auto_online="online_movable", block_size=128 * MiB,
                         nodes=(NodeConfig(0, 1 * GiB),),
                         virtio_mem=(VirtioMemConfig("vmem0", 4 * GiB),), **kw)


async def test_resize_dialog_plugs_and_the_panels_name_the_device(ui, make_app):
    app = make_app(config=config())
    async with app.run_test(size=SIZE) as pilot:
        await ui.settle(pilot, app)
        await pilot.press("B")
        await pilot.pause()
        assert isinstance(app.screen, VirtioDialog)
        assert "SBM (2M subblocks" in str(app.screen.query_one("#about").render())
        await pilot.press(*"100M", "enter")       # the size field has the focus, selected
        await ui.settle(pilot, app)
        assert isinstance(app.screen, MainScreen)
        dev = app.machine.virtio_mem_devices()[0]
        assert (dev["requested_size"], dev["plugged_size"]) == (100 * MiB, 100 * MiB)
        counters = app.main_screen.query_one("#counters")
        assert counters.current["virtio.vmem0.plugged"] == 100 * 1024
        # the inspector on an unplugged subblock of the half-plugged block
        unplugged = (4 * GiB + 100 * MiB) >> 12
        text = app.main_screen.query_one("#inspector").describe(app.machine, unplugged).plain
        assert "state      unplugged" in text
        assert "virtio-mem vmem0 (virtio0, node 0)" in text
        assert "block size 2M (device)" in text and "requested  100M" in text
        assert "50/64 subblocks plugged; subblock 50 unplugged" in text


async def test_resize_then_wait_fires_the_retry_timer(ui, make_app):
    app = make_app(config=config())
    async with app.run_test(size=SIZE) as pilot:
        await ui.settle(pilot, app)
        app.machine.alloc(leave_free="10M", kind="unmovable")
        await pilot.press("B")
        await pilot.pause()
        app.screen.query_one("#size", Input).value = "1G"
        app.screen.query_one("#wait", Input).value = "50"
        app.screen.submit()
        await ui.settle(pilot, app)
        dev = app.machine.virtio_mem_devices()[0]
        assert app.machine.uptime_s == 50 and dev["retry_due_s"] == 150
        assert "adding memory failed: -12" in ui.log_text(app)
        # w: the prompt offers the time to the next retry
        await pilot.press("w")
        await pilot.pause()
        assert app.screen.query_one("#value", Input).value == "100"
        await pilot.press("enter")
        await ui.settle(pilot, app)
        assert app.machine.uptime_s == 150


async def test_resize_dialog_refuses_a_bad_wait_and_a_machine_without_devices(ui, make_app):
    app = make_app(config=config())
    async with app.run_test(size=SIZE) as pilot:
        await ui.settle(pilot, app)
        await pilot.press("B")
        await pilot.pause()
        app.screen.query_one("#wait", Input).value = "soon"
        app.screen.submit()
        await pilot.pause()
        assert isinstance(app.screen, VirtioDialog)
        assert "wait: expected a number of seconds" in str(app.screen.query_one("#error").render())
        await pilot.press("escape")
        await pilot.pause()
        assert app.machine.virtio_mem_devices()[0]["requested_size"] == 0
    plain = make_app()
    async with plain.run_test(size=SIZE) as pilot:
        await ui.settle(pilot, plain)
        await pilot.press("B")
        await pilot.pause()
        assert isinstance(plain.screen, MainScreen)
        assert any("no virtio-mem device" in n for n in ui.notifications(plain))


def test_virtio_actions_are_in_the_actions_table():
    assert BY_ID["virtio"].action == "virtio" and "requested-size" in BY_ID["virtio"].help
    assert BY_ID["tick"].action == "tick" and "retry timers" in BY_ID["tick"].help
