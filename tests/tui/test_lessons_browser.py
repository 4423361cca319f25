"""The lesson browser inside the app: L (or the palette) opens it, typing filters, enter boots the
lesson's machine through the runner and starts its narration."""

from __future__ import annotations

from textual.widgets import Input, OptionList

from engine.lessons import list_lessons
from tui.messages import MachineReplaced, PlaybackStepped
from tui.screens.lessons import LessonsScreen, lesson_entries
from tui.screens.main import MainScreen

SIZE = (110, 36)


def palette_offers(app, title: str) -> bool:
    """The open command palette's first hit names `title`."""
    lists = app.screen.query(OptionList)
    if not lists or not lists.first().option_count:
        return False
    return title in str(lists.first().get_option_at_index(0).prompt)


def shown_names(app) -> list[str]:
    return [entry.name for entry in app.screen.shown]


def test_entries_are_the_built_in_lessons_with_their_step_counts():
    entries = lesson_entries()
    assert [e.name for e in entries] == [name for name, _, _ in list_lessons()]
    by_name = {e.name: e for e in entries}
    offnode = by_name["03-offnode-struct-pages"]
    assert offnode.title.startswith("3. Off-node struct pages")
    assert offnode.steps == 4 and offnode.profile == "6.1" and offnode.error == ""
    assert offnode.matches("OFFNODE empty") and not offnode.matches("offnode rfc")


async def test_browse_filter_start_and_step(ui, make_app):
    """L and the palette open it; escape leaves the machine; filter; enter boots and plays."""
    seen: list = []
    app = make_app()
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        machine = app.machine
        await pilot.press("L")
        await pilot.pause()
        await pilot.press("down", "down")
        await pilot.pause()
        assert app.screen.current.name == list_lessons()[2][0]
        await pilot.press("escape")              # escape: nothing changes
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert app.machine is machine and app.playback is None

        await pilot.press("ctrl+p")              # the palette offers it too
        await pilot.pause()
        await pilot.press(*"lesson br")
        await ui.wait_for(pilot, lambda: palette_offers(app, "Lesson browser"))
        await pilot.press("enter")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, LessonsScreen))
        assert shown_names(app) == [name for name, _, _ in list_lessons()]
        options = app.screen.query_one("#lessons", OptionList)
        assert options.option_count == len(list_lessons())
        first = str(options.get_option_at_index(0).prompt)
        assert "steps · profile" in first

        await pilot.press(*"zzq")
        await pilot.pause()
        assert shown_names(app) == []
        await pilot.press("enter")               # nothing to start: the browser stays
        await pilot.pause()
        assert isinstance(app.screen, LessonsScreen)

        app.screen.query_one("#filter", Input).value = ""
        await pilot.press(*"offnode")
        await pilot.pause()
        assert shown_names(app) == ["03-offnode-struct-pages"]
        assert "empty NUMA node" in str(app.screen.query_one("#detail").render())
        await pilot.press("enter")
        await ui.settle(pilot, app)
        assert isinstance(app.screen, MainScreen)

        # the lesson's machine (2 GiB on node 0, an empty node 1, profile 6.1), not the default
        assert app.machine.geometry.profile == "6.1"
        assert [n["id"] for n in app.machine.nodes_info()] == [0, 1]
        assert app.machine.history == []
        assert app.playback is not None and app.playback.position == 0
        narration = app.main_screen.narration
        assert narration.has_class("-active")
        assert "3. Off-node struct pages" in narration.plain
        assert narration.border_title == "lesson · step 0/4"

        await pilot.press("space")
        await ui.settle(pilot, app)
        assert app.playback.position == 1
        assert len(app.machine.resources()) == 1
        assert app.machine.resources()[0]["node"] == 1
        assert "potential offnode page_structs" in narration.plain  # step 1's say
        assert all(held for held, _ in app.playback.last.marks)
        assert len(app.playback.last.marks) == 6

    replaced = [m for m in seen if isinstance(m, MachineReplaced)]
    assert len(replaced) == 1 and replaced[0].playback is not None
    assert replaced[0].playback.script.title.startswith("3. Off-node")
    assert len([m for m in seen if isinstance(m, PlaybackStepped)]) == 1


async def test_tiny_terminal_with_the_browser_open(make_app):
    app = make_app()
    async with app.run_test(size=(1, 1)) as pilot:
        await pilot.press("L")
        await pilot.pause()
        await pilot.press(*"05", "down", "up")
        await pilot.pause()
        assert isinstance(app.screen, LessonsScreen)
        assert shown_names(app) == [name for name, _, _ in list_lessons() if "05" in name]
