"""The fault-injection dialog (tui/screens/inject_dialog.py) and its palette / key entry."""

from __future__ import annotations

from textual.widgets import Input, Select

from tui.keys import BY_ID
from tui.screens.inject_dialog import InjectDialog
from tui.screens.main import MainScreen

SIZE = (100, 40)


def _pick(dialog: InjectDialog, fault: str) -> None:
    sel = dialog.query_one("#fault", Select)
    sel.value = sel.choices.index(fault)  # type: ignore[attr-defined]


async def test_inject_dialog_arms_a_notifier_fault_that_the_next_online_meets(ui, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ui.settle(pilot, app)
        res = await ui.hot_add(pilot, app, "128M")
        await pilot.press("exclamation_mark")
        await pilot.pause()
        assert isinstance(app.screen, InjectDialog)
        _pick(app.screen, "mem_going_online")
        await pilot.pause()
        assert app.screen.query_one("#nth", Input).disabled
        app.screen.query_one("#errno", Input).value = "EBUSY"
        app.screen.submit()
        await ui.settle(pilot, app)
        assert isinstance(app.screen, MainScreen)
        assert app.machine.armed_faults() == {"mem_going_online": {"errno": -16}}
        r = app.machine.online(res["blocks"][0])
        assert not r.ok and r.errno == "EBUSY"


async def test_inject_dialog_refuses_a_bad_nth_with_one_line(ui, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ui.settle(pilot, app)
        await pilot.press("exclamation_mark")
        await pilot.pause()
        _pick(app.screen, "vmemmap")
        await pilot.pause()
        app.screen.query_one("#nth", Input).value = "lots"
        app.screen.submit()
        await pilot.pause()
        assert isinstance(app.screen, InjectDialog)
        assert "nth" in str(app.screen.query_one("#error").render())
        await pilot.press("escape")
        await pilot.pause()
        assert app.machine.armed_faults() == {}


def test_inject_is_in_the_actions_table():
    spec = BY_ID["inject"]
    assert spec.action == "inject" and "fault" in spec.help
