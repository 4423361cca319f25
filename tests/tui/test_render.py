"""The pfn grid's rendering, without an App (glyphs, colours, layout), and PfnGrid under Pilot."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from rich.cells import cell_len
from rich.color import Color
from rich.segment import Segment
from rich.style import Style

from engine.states import CODE, NAMES, NSTATES
from tui.render import (
    ASCII_GLYPHS,
    HALF_BLOCK,
    UNICODE_GLYPHS,
    CellRow,
    CellsLine,
    HeaderLine,
    Layout,
    Palette,
    format_section_header,
    highlight_mask,
    legend,
    merge_ranges,
    render_header,
    render_row,
    zoom_levels,
)

COLOURS = {name: f"#{10 * i + 5:02x}{200 - 10 * i:02x}{i * 7:02x}" for i, name in enumerate(NAMES)}
COLOURS.update({"grid-cursor": "#ffffff", "grid-backing": "#00ffff", "grid-mixed": "#333333"})
BASE = Style(color="#cccccc", bgcolor="#101010")


@pytest.fixture
def palette() -> Palette:
    return Palette(COLOURS, base=BASE)


def colour(name: str) -> Color:
    return Color.parse(COLOURS[name])


def cells_of(segments: list[Segment]) -> list[tuple[str, Style]]:
    """One (char, style) per cell, so tests can index by column."""
    return [(char, seg.style) for seg in segments for char in seg.text]


# -- glyphs ------------------------------------------------------------------------------


def test_glyph_tables_cover_every_state_distinctly():
    for table in (UNICODE_GLYPHS, ASCII_GLYPHS):
        assert set(table) == set(NAMES)
        assert len(set(table.values())) == len(NAMES)
        assert all(cell_len(glyph) == 1 for glyph in table.values())
    assert all(glyph.isascii() and glyph.isprintable() for glyph in ASCII_GLYPHS.values())


def test_legend_rows():
    rows = legend()
    assert [row[0] for row in rows] == list(NAMES)
    assert all(row[1] == UNICODE_GLYPHS[row[0]] and row[2] == ASCII_GLYPHS[row[0]] and row[3] for row in rows)


# -- rows --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode, table", [("glyph", UNICODE_GLYPHS), ("ascii", ASCII_GLYPHS)])
def test_glyph_modes_draw_each_state_in_its_colour(palette, mode, table):
    codes = np.arange(NSTATES, dtype=np.uint8)
    cells = cells_of(render_row(CellRow.of(codes), mode=mode, palette=palette))
    for (char, style), name in zip(cells, NAMES):
        assert char == table[name]
        assert style.color == colour(name)
        assert style.bgcolor == BASE.bgcolor
        assert not style.underline


def test_color_mode_paints_upper_and_lower_pfn_rows(palette):
    upper = CellRow.of([CODE["free"], CODE["movable"], CODE["memmap-self"]])
    lower = CellRow.of([CODE["offline"], CODE["movable"]])  # shorter: band ends
    cells = cells_of(render_row(upper, lower, mode="color", palette=palette, cells=4))
    assert "".join(char for char, _ in cells) == HALF_BLOCK * 3 + " "
    assert (cells[0][1].color, cells[0][1].bgcolor) == (colour("free"), colour("offline"))
    assert (cells[1][1].color, cells[1][1].bgcolor) == (colour("movable"), colour("movable"))
    # No lower pfn: the lower half shows the grid's background.
    assert (cells[2][1].color, cells[2][1].bgcolor) == (colour("memmap-self"), BASE.bgcolor)
    assert cells[3][1].bgcolor == BASE.bgcolor


def test_mixed_cells_are_marked_without_relying_on_colour(palette):
    codes = [CODE["free"]] * 3
    glyph = cells_of(render_row(CellRow.of(codes, [False, True, False]), mode="glyph", palette=palette))
    assert [style.underline for _, style in glyph] == [False, True, False]
    assert glyph[1][0] == UNICODE_GLYPHS["free"]  # still shows the dominant state
    assert glyph[1][1].bgcolor == colour("grid-mixed")
    lower = CellRow.of(codes, [False, False, True])
    color = cells_of(render_row(CellRow.of(codes), lower, mode="color", palette=palette))
    assert [style.underline for _, style in color] == [False, False, True]


def test_cursor_and_highlight(palette):
    codes = [CODE["free"]] * 4
    highlight = [False, True, True, False]
    glyph = cells_of(render_row(CellRow.of(codes, None, highlight), mode="glyph",
                                palette=palette, cursor=(3, 0)))
    assert glyph[1][1].reverse and glyph[1][1].color == colour("grid-backing")
    assert glyph[3][1].reverse and glyph[3][1].bold and glyph[3][1].color == colour("grid-cursor")
    assert not glyph[0][1].reverse
    # Color mode: the cursor is a whole cell in reverse video (cursor colour behind an
    # arrow in the background colour) pointing at the half its pfn is in.
    color = cells_of(render_row(CellRow.of(codes), CellRow.of(codes), mode="color",
                                palette=palette, cursor=(2, 1)))
    assert color[2][0] == "▼" and color[2][1].bold
    assert color[2][1].bgcolor == colour("grid-cursor") and color[2][1].color == BASE.bgcolor
    upper = cells_of(render_row(CellRow.of(codes), CellRow.of(codes), mode="color",
                                palette=palette, cursor=(2, 0)))
    assert upper[2][0] == "▲" and upper[2][1].bgcolor == colour("grid-cursor")
    assert [c for c, _ in upper[:2] + upper[3:]] == [HALF_BLOCK] * 3
    assert upper[1][1].color == colour("free")


def test_every_segment_has_a_style_and_survives_no_color(palette):
    from textual.filter import Monochrome
    from textual.strip import Strip

    rows = [
        render_row(CellRow.of(np.arange(NSTATES) % NSTATES, np.arange(NSTATES) % 2 == 0),
                   CellRow.of([1, 2]), mode=mode, palette=palette, cursor=(1, 0),
                   label="0000 ", cells=20, width=40)
        for mode in ("color", "glyph", "ascii")
    ]
    rows.append(render_header("section 0", palette=palette, label="     ", width=40))
    rows.append(render_row(CellRow.of([1]), mode="glyph", palette=Palette({}), width=10))
    for segments in rows:
        assert all(isinstance(seg.style, Style) for seg in segments)
        assert sum(seg.cell_length for seg in segments) == (40 if len(segments) > 2 else 10)
        from textual.color import Color as TextualColor

        Strip(segments).apply_filter(Monochrome(), TextualColor(0, 0, 0))


def test_rows_cost_follows_runs_not_cells(palette):
    codes = np.full(4096, CODE["free"], dtype=np.uint8)
    codes[100:200] = CODE["movable"]
    segments = render_row(CellRow.of(codes), mode="glyph", palette=palette)
    assert len(segments) == 3


def test_highlight_mask_marks_overlapping_cells():
    starts, ends = merge_ranges([(10, 20), (15, 30), (100, 101)])
    assert starts.tolist() == [10, 100] and ends.tolist() == [30, 101]
    mask = highlight_mask(0, 128, 8, starts, ends)
    assert np.flatnonzero(mask).tolist() == [1, 2, 3, 12]
    assert highlight_mask(200, 300, 1, starts, ends) is None


def test_crosshair_tints_the_cursor_column_and_line_keeping_states_apart(palette):
    from tui.render.palette import CROSS_TINT

    codes = [CODE["free"], CODE["movable"], CODE["free"], CODE["offline"]]
    plain = cells_of(render_row(CellRow.of(codes), CellRow.of(codes), mode="color", palette=palette))
    column = cells_of(render_row(CellRow.of(codes), CellRow.of(codes), mode="color",
                                 palette=palette, cross_col=1))
    # only the crosshair's column changes, and it keeps its glyph
    assert [c for c, _ in column] == [c for c, _ in plain]
    assert column[0][1] == plain[0][1] and column[2][1] == plain[2][1]
    assert column[1][1].color != plain[1][1].color
    assert column[1][1].color == palette.tint(colour("movable"))
    # a tint moves a colour towards the cursor colour by CROSS_TINT, no further
    r, g, b = palette.tint(Color.parse("#000000")).get_truecolor()
    assert (r, g, b) == tuple(round(255 * CROSS_TINT) for _ in range(3))
    # glyph mode: the cursor's line is underlined on the plain background (a tint there
    # would take the glyphs below WCAG AA); two states stay two colours
    row = cells_of(render_row(CellRow.of(codes), mode="glyph", palette=palette, cross_row=True,
                              label="00 "))
    assert row[0][1].reverse                      # the gutter label of the cursor's line
    cells = row[3:]
    assert all(style.bgcolor == BASE.bgcolor and style.underline for _, style in cells)
    assert cells[0][1].color == colour("free") and cells[1][1].color == colour("movable")


def test_section_header_text():
    text = format_section_header(32, 0x100000, 0x108000, block=32, node=0, zone="Movable")
    assert text == "section 32 · block 32 · pfn 0x100000–0x107fff · node 0 · Movable"
    assert format_section_header(5, 0, 8, block=5, node=1, online=False).endswith("node 1 · offline")
    assert format_section_header(32, 0, 64, nr_sections=4).startswith("sections 32–35 (4)")


def test_section_header_abbreviates_word_by_word_to_fit_any_width():
    from tui.render.labels import section_header_ladder

    facts = dict(block=32, node=0, zone="Movable")
    ladder = section_header_ladder(32, 0x100000, 0x108000, **facts)
    assert ladder == [
        "section 32 · block 32 · pfn 0x100000–0x107fff · node 0 · Movable",
        "sec 32 · blk 32 · 0x100000–0x107fff · n0 · Mov",
        "sec 32 · blk 32 · n0 · Mov",
        "s32 · n0 · Mov",
        "s32 · n0",
        "s32",
    ]
    for width in range(0, 80):
        text = format_section_header(32, 0x100000, 0x108000, width=width, **facts)
        assert len(text) <= width
        # always one whole spelling: the longest that fits, or nothing below the shortest
        fitting = [t for t in ladder if len(t) <= width]
        assert text == (fitting[0] if fitting else "")
    band = section_header_ladder(32, 0, 64, nr_sections=4, node=1)
    assert band[-2:] == ["s32–35", "s32+"]
    assert format_section_header(32, 0, 64, nr_sections=4, node=1, width=12) == "s32–35 · n1"


def test_bar_labels_abbreviate_never_cut():
    from tui.render.labels import bar_label_ladder, fit_bar_label

    assert bar_label_ladder(0, "Movable") == ["n0:Movable", "n0:Mov", "n0:M", "n0M", "M"]
    assert bar_label_ladder(None, "offline") == ["offline", "off", "o"]
    assert [fit_bar_label(1, "Normal", room) for room in (20, 9, 7, 6, 3, 1, 0)] == [
        "n1:Normal", "n1:Normal", "n1:Norm", "n1:N", "n1N", "N", ""]


def test_bar_layout_fits_blocks_marks_runs_and_finds_a_block_without_scanning_blocks():
    from engine import BlockTable
    from tui.render.bar import layout_bar as layout_of_table

    def layout_bar(blocks, width):
        return layout_of_table(BlockTable.from_dicts(blocks), width)

    def block(i, *, online=True, zone="Normal", node=0, boot=True):
        return {"id": i, "start_pfn": i * 8, "end_pfn": i * 8 + 8, "online": online,
                "state": "online" if online else "offline", "zone": zone if online else None,
                "node": node, "boot": boot, "nr_vmemmap_pages": 0, "resource": None}

    few = [block(0), block(1), block(2, online=False, boot=False), block(3, online=False, boot=False)]
    layout = layout_bar(few, 12)
    assert len(layout.cells) == 12                       # 3 columns per block when they fit
    assert [c.kind for c in layout.cells[::3]] == ["Normal", "Normal", "offline", "offline"]
    # each label in the longest spelling that leaves a space before the next run
    assert layout.labels == "n0:N  n0:off"
    assert (layout.total, layout.online, layout.boot) == (4, 2, 2)
    assert layout.cell_of_block(2) == 6 and layout.cell_of_block(9) is None
    # many blocks: several per column, a gap column between two address ranges
    many = [block(i) for i in range(100)] + [block(i, zone="Movable", node=1) for i in range(200, 300)]
    wide = layout_bar(many, 21)
    assert len(wide.cells) == 21 and wide.cells[10].gap
    assert wide.cell_of_block(0) == 0 and wide.cell_of_block(299) == 20
    assert wide.labels == "n0:Normal  n1:Movable"
    assert layout_bar(many, 5).labels == "N  M"
    # a column of equally many kinds takes the first seen; a block going offline shows so
    mixed = [block(0, online=False, boot=False), block(1), block(2), block(3, online=False, boot=False)]
    assert [c.kind for c in layout_bar(mixed, 2).cells] == ["offline", "Normal"]
    going = dict(block(4), state="going-offline")
    assert layout_bar(few + [going], 15).cells[12].kind == "going-offline"


# -- layout ------------------------------------------------------------------------------

X86_1T = np.concatenate([np.arange(32), np.arange(32, 32 + 8192)])  # 4 GiB boot + 1 TiB


def check_round_trips(layout: Layout, pfns) -> None:
    for pfn in pfns:
        pos = layout.locate(int(pfn))
        assert pos is not None, pfn
        lo, hi = layout.cell_at(pos.line, pos.col, pos.half)
        assert lo <= pfn < hi and hi - lo == layout.per_cell
        assert layout.locate(lo) == pos


@pytest.mark.parametrize(
    "sections, pps",
    [
        (X86_1T, 32768),                                       # x86_64, 1 TiB hot-added
        (np.concatenate([np.arange(4), np.arange(64, 96)]), 8192),  # 64K pages, with a gap
        (np.arange(0, 512, 2), 256),                           # ppc, every other section
    ],
)
@pytest.mark.parametrize("mode_rows", [1, 2])
def test_layout_maps_pfns_to_cells_and_back(sections, pps, mode_rows):
    rng = np.random.default_rng(7)
    present_pfns = sections[rng.integers(0, len(sections), 64)] * pps + rng.integers(0, pps, 64)
    edges = [sections[0] * pps, sections[-1] * pps + pps - 1]
    for per_cell in zoom_levels(pps):
        layout = Layout(sections, pps, cols=128, per_cell=per_cell, rows_per_line=mode_rows)
        check_round_trips(layout, [*present_pfns, *edges])
        assert layout.total_cells == len(sections) * pps // per_cell
        # Absent pfns have no cell.
        assert layout.locate((sections[-1] + 1) * pps) is None


def test_one_tib_layout_at_every_zoom_level():
    # (how fast is measured in bench/bench_grid.py, not here)
    for per_cell in zoom_levels(32768):
        layout = Layout(X86_1T, 32768, cols=176, per_cell=per_cell, rows_per_line=2)
        assert layout.per_cell == per_cell
    fine = Layout(X86_1T, 32768, cols=128, per_cell=1, rows_per_line=2)
    # 32768 pfns = 256 rows of 128 = 128 lines, plus a header: per section.
    assert fine.total_lines == len(X86_1T) * 129
    assert layout.per_cell == 32768


def test_each_section_starts_a_band_with_a_header():
    layout = Layout(np.array([0, 1, 5]), 256, cols=64, per_cell=1)
    assert [layout.line_info(line) for line in (0, 5)] == [
        HeaderLine(0, 0, 1, 0, 256),
        HeaderLine(1, 1, 1, 256, 512),
    ]
    info = layout.line_info(1)
    assert isinstance(info, CellsLine) and info.pfn_rows == ((0, 64),)
    assert layout.cell_at(0, 0) is None  # a header has no cells
    assert layout.cell_at(1, 64) is None  # past the row's end


def test_coarse_zoom_packs_runs_of_sections_into_rows():
    sections = np.array([0, 1, 2, 3, 4, 10, 11])
    layout = Layout(sections, 256, cols=8, per_cell=128, rows_per_line=1)  # 2 cells a section
    assert layout.row_cells == 8 and layout.nr_bands == 2  # split at the gap
    assert layout.line_info(1).pfn_rows == ((0, 1024),)
    assert layout.line_info(2).pfn_rows == ((1024, 1280),)  # section 4 alone, shorter row
    assert layout.locate(10 * 256 + 200) == layout.locate(10 * 256 + 128)
    split = Layout(sections, 256, cols=8, per_cell=128, breaks=[3])
    assert split.nr_bands == 3


def test_color_mode_puts_two_pfn_rows_on_a_line():
    layout = Layout(np.array([0]), 256, cols=64, per_cell=1, rows_per_line=2)
    assert layout.total_lines == 1 + 2
    assert layout.line_info(1).pfn_rows == ((0, 64), (64, 128))
    assert layout.locate(70).half == 1 and layout.locate(70).col == 6


def test_navigation_crosses_bands_and_clamps():
    layout = Layout(np.array([0, 4]), 256, cols=64, per_cell=1)
    assert layout.step_cells(255, 1) == 4 * 256
    assert layout.step_cells(4 * 256, -1) == 255
    assert layout.step_rows(200, 1) == 4 * 256 + 8  # last row of section 0 -> first of 4
    assert layout.step_rows(3, -5) == 3  # clamps at the top
    assert layout.step_cells(5 * 256 - 1, 10) == 5 * 256 - 1
    assert layout.nearest_pfn(2 * 256) == 4 * 256  # in the gap: next present pfn
    assert layout.nearest_pfn(99 * 256) == layout.last_pfn


def test_empty_machine_layout():
    layout = Layout(np.zeros(0, dtype=np.int64), 256, cols=64)
    assert layout.total_lines == 0 and layout.empty
    assert layout.line_info(0) is None and layout.locate(0) is None and layout.nearest_pfn(0) is None


# -- PfnGrid under Pilot, with a fake machine -------------------------------------------


class FakeMachine:
    """The engine's read API over a dense numpy array: enough for PfnGrid."""

    def __init__(self, sections, pps=256):
        self.sections = np.array(sorted(sections), dtype=np.int64)
        self.geometry = SimpleNamespace(pages_per_section=pps, pages_per_block=pps, page_size=4096,
                                        max_pfn=int(self.sections[-1] + 1) * pps)
        # room for sections a test adds later (reads past the end would come back empty)
        self.states = np.zeros(max(self.geometry.max_pfn, 64 * pps), dtype=np.uint8)
        for section in self.sections:
            self.states[section * pps:(section + 1) * pps] = CODE["free"]
        self.generation = 0
        self.widest_read = 0

    def present_sections(self):
        return self.sections.copy()

    def resources(self):
        return []

    def pfn_states(self, lo, hi):
        self.widest_read = max(self.widest_read, hi - lo)
        return self.states[lo:hi].copy()

    def aggregate(self, lo, hi, per_cell):
        self.widest_read = max(self.widest_read, hi - lo)
        n = (hi - lo) // per_cell
        cell = np.arange(hi - lo) // per_cell
        counts = np.bincount(cell * NSTATES + self.states[lo:hi], minlength=n * NSTATES).reshape(n, NSTATES)
        return counts.argmax(1).astype(np.uint8), (counts > 0).sum(1) > 1

    def section(self, nr):
        return {"nr": nr, "node": 0, "block": nr, "online": True}

    def block(self, block_id):
        return {"id": block_id, "zone": "Movable"}


def grid_app(machine, mode="glyph"):
    from textual.app import App

    from tui.widgets import PfnGrid

    class GridApp(App):
        def __init__(self):
            super().__init__()
            self.seen: list = []

        def compose(self):
            yield PfnGrid(machine, mode=mode, id="grid")

        def on_pfn_grid_cursor_moved(self, message):
            self.seen.append(("cursor", message.pfn))

        def on_pfn_grid_zoom_changed(self, message):
            self.seen.append(("zoom", message.per_cell))

    return GridApp()


def visible_text(grid) -> list[str]:
    return [grid.render_line(y).text for y in range(grid.scrollable_content_region.height)]


async def test_grid_cursor_keys_zoom_and_messages():
    machine = FakeMachine([0, 1, 2, 3, 8, 9])
    machine.states[5] = CODE["pinned"]
    app = grid_app(machine)
    async with app.run_test(size=(40, 20)) as pilot:
        grid = app.query_one("#grid")
        await pilot.pause()
        layout = grid.layout_map
        assert layout.row_cells == 32  # 40 - scrollbar(2) - gutter(5) = 33 -> 32
        assert visible_text(grid)[1].startswith("0000 ·····◆")
        assert grid.cursor_pfn == 0
        await pilot.press("right", "right", "down", "l", "j")
        assert grid.cursor_pfn == 2 * 32 + 3
        await pilot.press("k", "h", "up", "left")
        assert grid.cursor_pfn == 1
        await pilot.press("G")
        assert grid.cursor_pfn == 10 * 256 - 1
        assert grid.scroll_y > 0
        await pilot.press("g")
        assert grid.cursor_pfn == 0 and grid.scroll_y == 0
        await pilot.press("pagedown")
        assert grid.cursor_pfn > 0
        await pilot.press("minus", "minus")
        assert grid.per_cell == 4
        await pilot.press("plus")
        assert grid.per_cell == 2
        for _ in range(12):
            await pilot.press("minus")
        assert grid.per_cell == 256  # a whole section per cell at most
        await pilot.pause()
        assert ("zoom", 4) in app.seen and ("cursor", 2 * 32 + 3) in app.seen
        # Rows read from the engine are only ever one visible line's worth.
        assert machine.widest_read <= 32 * 256
        assert grid.frame_times and all(ms >= 0 for ms in grid.frame_times)


async def test_grid_click_selects_cells_and_ignores_the_rest():
    machine = FakeMachine([0, 1])
    app = grid_app(machine)
    async with app.run_test(size=(40, 20)) as pilot:
        grid = app.query_one("#grid")
        await pilot.pause()
        # Line 2 is the second row of section 0; column 5 + 3 is its fourth cell.
        assert await pilot.click("#grid", offset=(5 + 3, 2))
        assert grid.cursor_pfn == 32 + 3
        # The gutter, a header, past the row's end, the scrollbar: nothing selected, no error.
        for offset in [(1, 2), (5 + 3, 0), (5 + 32, 3), (39, 5)]:
            await pilot.click("#grid", offset=offset)
        assert grid.cursor_pfn == 32 + 3
        assert [pfn for kind, pfn in app.seen if kind == "cursor"] == [32 + 3]


async def test_grid_modes_highlight_colours_and_machine_changes():
    machine = FakeMachine([0, 1])
    app = grid_app(machine, mode="color")
    async with app.run_test(size=(40, 20)) as pilot:
        grid = app.query_one("#grid")
        await pilot.pause()
        assert grid.layout_map.rows_per_line == 2
        # the cursor (on pfn 0, the upper half of the first cell) is an arrow on a solid cell
        assert visible_text(grid)[1].startswith("0000 ▲" + HALF_BLOCK * 31)
        grid.mode = "ascii"
        await pilot.pause()
        assert visible_text(grid)[1].startswith("0000 " + "o" * 32)
        with pytest.raises(ValueError):
            grid.mode = "sparkles"

        grid.set_state_colors({"free": "#123456"})
        grid.set_highlight([(0, 4)])
        await pilot.pause()
        segments = list(grid.render_line(1))
        cells = cells_of(segments)[5:]
        assert cells[0][1].reverse and cells[4][1].color == Color.parse("#123456")

        machine.sections = np.array([0, 1, 3])
        machine.states[3 * 256:4 * 256] = CODE["offline"]
        machine.generation += 1
        grid.refresh_from_machine()
        grid.goto_pfn(3 * 256 + 10)
        await pilot.pause()
        assert grid.cursor_pfn == 3 * 256 + 10
        assert grid.layout_map.locate(3 * 256) is not None
        grid.goto_pfn(2 * 256)  # in the gap: lands on the next present pfn
        assert grid.cursor_pfn == 3 * 256

        grid.machine = FakeMachine([4])
        await pilot.pause()
        assert grid.cursor_pfn == 4 * 256


async def test_grid_on_the_real_engine_follows_theme_changes():
    import engine
    import themes

    machine = engine.Machine(engine.MachineConfig.default())
    assert machine.apply({"op": "hot_add", "size": "1G", "node": 0}).ok
    app = grid_app(machine, mode="glyph")
    async with app.run_test(size=(80, 24)) as pilot:
        grid = app.query_one("#grid")
        await pilot.pause()
        assert visible_text(grid)[0].lstrip().startswith("section 0 · block 0 · pfn 0x0–0x7fff")
        start = machine.resources()[0]["start_pfn"]
        grid.goto_pfn(start)
        await pilot.pause()
        assert grid.cursor_pfn == start
        for name in themes.available():
            spec = themes.load_theme(name)
            app.register_theme(spec.textual_theme())
            app.theme = name
            await pilot.pause()
            pos = grid.layout_map.locate(start)
            row = cells_of(list(grid.render_line(pos.line - round(grid.scroll_y))))
            # The cell after the cursor: a hot-added, still offline pfn in this theme's colour
            # (or memmap-self, which the engine puts at the start of the block).
            code = machine.pfn_states(start + 1, start + 2)[0]
            expected = to_rich(spec.state_colors[NAMES[code]])
            gutter = "".join(char for char, _ in row).index(" ") + 1
            assert row[gutter + pos.col + 1][1].color == expected, name


def to_rich(colour: str) -> Color:
    from tui.render import to_rich_color

    return to_rich_color(colour)


def test_inspector_says_whose_struct_pages_a_self_hosted_page_holds():
    from engine import Machine, MachineConfig
    from tui.widgets.inspector import state_description

    m = Machine(MachineConfig.from_dict({"profile": "rfc-2017", "node": [{"id": 0, "memory": "4G"}]}))
    res = m.hot_add("1G")
    ppb = m.geometry.pages_per_block
    first = res.blocks[0] * ppb
    own = m.struct_page(first)                  # holds its own section's struct pages
    packed = m.struct_page(first + 1000)        # the RFC packs section 41's here, in block 40
    assert own["memmap_of"]["section"] == 40 and packed["memmap_of"]["section"] == 41
    assert state_description("memmap-self", own, ppb) == \
        "vmemmap-backing: struct pages of this block, on the block itself"
    assert state_description("memmap-self", packed, ppb) == (
        "vmemmap-backing: struct pages of section 41 (block 41), kept at the start of the "
        "hot-added range")


def test_the_cursor_line_gutter_label_is_reversed_without_the_crosshair(palette):
    codes = [CODE["free"]] * 4
    plain = cells_of(render_row(CellRow.of(codes), mode="glyph", palette=palette, label="00 "))
    marked = cells_of(render_row(CellRow.of(codes), mode="glyph", palette=palette, label="00 ",
                                 cursor=(1, 0)))
    assert plain[0][1].reverse is not True
    assert marked[0][1].reverse is True and marked[0][1].bold is True


def test_vmemmap_runs_group_consecutive_blocks_with_one_value():
    from engine import BlockTable
    from tui.widgets.counters import vmemmap_runs

    def block(i, nr, boot=False):
        return {"id": i, "start_pfn": i * 8, "end_pfn": i * 8 + 8, "online": 0,
                "state": "offline", "zone": None, "node": 0, "boot": boot,
                "nr_vmemmap_pages": nr, "resource": None if boot else 0}

    blocks = ([block(0, 0, boot=True)] + [block(i, 512) for i in range(40, 48)]
              + [block(48, 0), block(49, 256), block(51, 256)])
    table = BlockTable.from_dicts(blocks)
    # self-hosted only: the zero breaks the run, so does the missing block 50
    assert vmemmap_runs(table) == ((40, 47, 512), (49, 49, 256), (51, 51, 256))
    assert vmemmap_runs(table, every_hot_added=True) == (
        (40, 47, 512), (48, 48, 0), (49, 49, 256), (51, 51, 256))
    assert vmemmap_runs(BlockTable.from_dicts(blocks[:1])) == ()


async def test_counters_mark_a_new_run_of_self_hosted_blocks(ui, make_app):
    from engine import Machine, MachineConfig

    app = make_app(machine=Machine(MachineConfig(memmap_on_memory=True)))
    async with app.run_test(size=(160, 50)) as pilot:
        await ui.settle(pilot, app)
        counters = app.main_screen.query_one("#counters")
        assert counters.runs == ()
        res = await ui.hot_add(pilot, app, "1G")
        blocks = res["blocks"]
        nr = app.machine.block(blocks[0])["nr_vmemmap_pages"]
        assert counters.runs == ((blocks[0], blocks[-1], nr),)
        assert counters.new_runs == {(blocks[0], blocks[-1], nr)}
        line = f"memory{blocks[0]}-{blocks[-1]}"
        text = counters.render_text()
        spans = [s for s in text.spans if text.plain[s.start:s.end].strip().startswith(line)]
        assert len(spans) == 1 and "reverse" in str(spans[0].style)
