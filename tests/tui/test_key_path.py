"""What a key does on the main screen: every panel follows the cursor in the same frame, the
key path reads no list of every block or resource, the cursor and its block stay visible.
(Speed itself is measured by bench/bench_app.py, not here.)"""

from __future__ import annotations

from rich.color import Color

from tui.keys import BY_ID, display_keys
from tui.render.bar import block_kind
from tui.widgets.machine_bar import BLOCK_STYLES, CURSOR_GLYPH

SIZE = (120, 40)


async def test_panels_follow_the_cursor_before_the_next_frame(ui, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ui.settle(pilot, app)
        res = await ui.hot_add(pilot, app, size="1G")
        main = app.main_screen
        grid, inspector, bar = main.grid, main.query_one("#inspector"), main.query_one("#bar")
        grid.goto_pfn(res["start_pfn"] - 1)          # the last boot pfn
        await pilot.pause()
        before = grid.cursor_pfn
        # no await between the move and the checks: no frame and no message can come between
        grid.move_cursor(1, 0)
        assert grid.cursor_pfn == before + 1 == res["start_pfn"]
        assert inspector.last_text.startswith(f"pfn {res['start_pfn']:#x}")
        assert bar.cursor_block == app.machine.block_of(res["start_pfn"]) == res["blocks"][0]


async def test_cursor_keys_read_no_list_of_every_block_or_resource(ui, make_app, monkeypatch):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ui.settle(pilot, app)
        res = await ui.hot_add(pilot, app, size="2G")
        await ui.goto(pilot, app, res["start_pfn"])
        calls = {"blocks": 0, "resources": 0, "zoneinfo": 0}
        machine = app.machine
        for name in calls:
            original = getattr(machine, name)

            def counted(*args, _name=name, _original=original, **kwargs):
                calls[_name] += 1
                return _original(*args, **kwargs)

            monkeypatch.setattr(machine, name, counted)
        start = app.main_screen.grid.cursor_pfn
        await pilot.press("right", "down", "left", "pagedown", "pageup", "G", "g", "minus", "plus")
        await pilot.pause()
        assert app.main_screen.grid.cursor_pfn != start     # the keys did move the cursor
        assert calls == {"blocks": 0, "resources": 0, "zoneinfo": 0}


async def test_selected_block_keeps_its_zone_colour_and_is_marked(ui, make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ui.settle(pilot, app)
        main = app.main_screen
        bar = main.query_one("#bar")
        block = app.machine.block(bar.cursor_block)
        text = bar.render()
        first_line = text.plain.split("\n")[0]
        x = first_line.index(CURSOR_GLYPH)
        assert first_line.count(CURSOR_GLYPH) == 1
        assert bar.bar_layout(bar.size.width).cell_of_block(block["id"]) == x
        styles = [span for span in text.spans if span.start == x and span.end == x + 1]
        # few blocks: each has cells of its own, and the marked one keeps its own colour
        assert bar.bar_layout(bar.size.width).cells[x].first_id == block["id"]
        zone_colour = BLOCK_STYLES[block_kind(block)][0]
        assert len(styles) == 1 and Color.parse(zone_colour) == _style_colour(styles[0].style)
        assert f"▲ block {block['id']}" in text.plain.split("\n")[2]


def _style_colour(style) -> Color:
    from rich.style import Style

    return (style if isinstance(style, Style) else Style.parse(style)).color


async def test_crosshair_key_toggles_the_crosshair_and_is_in_help(ui, make_app):
    from tui.screens.help import HelpScreen

    from tui.config import Settings

    assert display_keys(BY_ID["crosshair"]) == "#"
    assert make_app().settings.crosshair is False         # off by default: it costs every key
    app = make_app(settings=Settings(crosshair=False))
    async with app.run_test(size=SIZE) as pilot:
        await ui.settle(pilot, app)
        grid = app.main_screen.grid
        line = grid.layout_map.locate(grid.cursor_pfn).line - round(grid.scroll_y)
        plain = list(grid.render_line(line + 2))
        await pilot.press("number_sign")
        await pilot.pause()
        assert grid.crosshair
        crossed = list(grid.render_line(line + 2))
        # the cursor's column changed on a line below the cursor; the rest of that line did not
        assert crossed != plain
        assert "".join(s.text for s in crossed) == "".join(s.text for s in plain)
        await pilot.press("number_sign")
        await pilot.pause()
        assert not grid.crosshair and list(grid.render_line(line + 2)) == plain
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.keys_table()
        rows = list(zip(*[[str(cell) for cell in column._cells] for column in table.columns]))
        assert [row for row in rows if "#" in row and "crosshair" in " ".join(row).lower()]


async def test_text_panel_repaints_only_the_lines_that_changed(monkeypatch):
    from rich.text import Text
    from textual.app import App

    import tui.widgets.text_panel as text_panel
    from tui.widgets.text_panel import TextPanel

    class PanelApp(App):
        def compose(self):
            yield TextPanel(id="panel")

    app = PanelApp()
    async with app.run_test(size=(30, 10)) as pilot:
        panel = app.query_one(TextPanel)
        head = Text("pfn 0x1\nstate free\n")
        tail = Text("section 0\npfns 0x0-0x7fff\n")
        panel.set_text([head, tail])
        await pilot.pause()
        assert panel.last_text == head.plain + tail.plain
        assert panel.virtual_size.height == 4
        wrapped, repainted = [], []
        original_wrap = text_panel.wrap_text
        monkeypatch.setattr(text_panel, "wrap_text",
                            lambda text, *a: wrapped.append(text.plain) or original_wrap(text, *a))
        monkeypatch.setattr(panel, "refresh_line", repainted.append)
        monkeypatch.setattr(panel, "refresh", lambda *a, **k: repainted.append("all"))
        # the same text again: nothing wrapped, nothing repainted
        panel.set_text([Text("pfn 0x1\nstate free\n"), Text("section 0\npfns 0x0-0x7fff\n")])
        assert (wrapped, repainted) == ([], [])
        # a new first paragraph of the same height: only it is wrapped, only its changed line drawn
        panel.set_text([Text("pfn 0x2\nstate free\n"), tail])
        assert wrapped == ["pfn 0x2\nstate free\n"]
        assert repainted == [0]
        assert "".join(s.text for s in panel.render_line(0)).rstrip() == "pfn 0x2"
        # a longer text changes the scroll height and repaints the panel
        panel.set_text([Text("pfn 0x3\nstate free\nholds struct pages\n"), tail])
        assert repainted[-1] == "all" and panel.virtual_size.height == 5


def _cells(strip) -> list[tuple[str, object]]:
    """A strip as one (character, style) per cell: segmentation does not matter."""
    return [(ch, seg.style) for seg in strip for ch in seg.text]


async def test_crosshair_drawn_over_a_plain_line_equals_the_line_drawn_with_it(ui, make_app):
    from textual.strip import Strip

    from tui.config import Settings

    for mode in ("color", "glyph", "ascii"):
        app = make_app(settings=Settings(crosshair=True), glyphs=mode)
        async with app.run_test(size=SIZE) as pilot:
            await ui.hot_add(pilot, app, "1G")
            grid = app.main_screen.grid
            for key in ("right", "right", "down", "left"):      # a few cursor columns
                await pilot.press(key)
                await pilot.pause()
                layout = grid.layout_map
                pos = layout.locate(grid.cursor_pfn)
                top = round(grid.scroll_y)
                checked = 0
                for y in range(grid.size.height):
                    line = top + y
                    if line >= layout.total_lines or line == pos.line:
                        continue
                    drawn = grid.render_line(y)
                    # the slow path: the whole line rendered with the crosshair's column
                    whole = Strip(grid._line_segments(line, None, layout, (pos.col, False)))
                    whole = whole.crop_extend(0, drawn.cell_length, grid._palette.blank)
                    assert _cells(drawn) == _cells(whole), (mode, key, line)
                    checked += 1
                assert checked > 10
