"""Event-log lines wrap at any width (word breaks, hanging indent), never cut; colours follow the theme."""

from __future__ import annotations

import pytest
from textual.app import App
from textual.color import Color

import themes
from engine import Machine, MachineConfig
from themes.contrast import AA_TEXT, contrast_ratio
from tui.widgets.event_log import EventLog, LogLine, indents, render_plain, wrap_offsets

LONG = ("online_pages(start_pfn=0x100200, nr_pages=32256, zone=Movable, "
        "memmap_on_memory=true, altmap_base=0x100000) -> 0")


def words(text: str) -> list[str]:
    return text.split()


@pytest.mark.parametrize("width", range(1, 121))
def test_wrapping_loses_no_character_and_fits(width):
    line = LogLine(((LONG, "call"),), indent=6)
    drawn = render_plain(line, width)
    assert all(len(row) <= width for row in drawn), drawn
    # every character is still there, in order; only the spaces at breaks go
    assert "".join(row.strip() for row in drawn).replace(" ", "") == LONG.replace(" ", "")


def test_breaks_at_spaces_with_a_hanging_indent():
    line = LogLine(((LONG, "call"),), indent=2)
    drawn = render_plain(line, 40)
    assert drawn[0].startswith("  online_pages(")
    assert all(row.startswith(" " * 6) and not row.startswith(" " * 7) for row in drawn[1:])
    # no word is split when words fit on a line
    assert words(" ".join(drawn)) == words(LONG)


def test_long_token_breaks_after_a_comma_or_folds():
    plain = "sparse_add_section(nid=0,start_pfn=0x100000,nr_pages=32768,altmap=yes)"
    offsets = wrap_offsets(plain, 30, 30)
    pieces = [plain[a:b] for a, b in offsets]
    assert "".join(pieces) == plain
    assert pieces[0].endswith(",") or pieces[0].endswith("(")
    assert [len(p) <= 30 for p in pieces] == [True] * len(pieces)


def test_deep_indents_give_way_on_narrow_panels():
    assert indents(18, 120) == (18, 22)
    assert indents(18, 30) == (7, 10)
    assert indents(18, 4) == (1, 1)


def test_wide_characters_count_as_two_cells():
    plain = "✓ 内存热插拔 " * 4
    for a, b in wrap_offsets(plain, 10, 10):
        from rich.cells import cell_len
        assert cell_len(plain[a:b]) <= 10


class LogApp(App):
    def __init__(self, theme_name: str) -> None:
        super().__init__()
        self.theme_name = theme_name

    def compose(self):
        yield EventLog(id="log")

    def on_mount(self) -> None:
        self.register_theme(themes.load_theme(self.theme_name).textual_theme())
        self.theme = self.theme_name


def refused_result():
    m = Machine(MachineConfig.default())
    result = m.remove(0x100000000, 128 << 20)      # nothing there: refused with a reason
    assert not result.ok and result.check
    return result


async def test_log_rewraps_on_resize_and_keeps_every_word():
    app = LogApp("dark")
    result = refused_result()
    async with app.run_test(size=(100, 12)) as pilot:
        log = app.query_one(EventLog)
        log.log_result("remove", result)
        log.note("a note that is long enough to need wrapping on a narrow panel " * 2, style="yellow")
        await pilot.pause()
        wide = log.visual_lines()
        for width in (60, 30, 14):
            await pilot.resize_terminal(width, 12)
            await pilot.pause()
            rows = log.visual_lines()
            text_width = log.scrollable_content_region.width
            assert [len(row) <= text_width for row in rows] == [True] * len(rows)
            # nothing lost: the same characters in the same order, only breaks differ
            assert "".join(rows).replace(" ", "") == "".join(wide).replace(" ", "")
            assert len(rows) > len(wide)
            # what the screen shows of the last line is the end of the last logical line
            assert log.render_line(log.size.height - 1).text.strip().endswith(rows[-1].strip())
        assert "because:" in " ".join(log.visual_lines())


async def test_log_colours_follow_the_theme_and_meet_aa():
    result = refused_result()
    for name in ("dark", "light"):
        app = LogApp(name)
        async with app.run_test(size=(80, 12)) as pilot:
            log = app.query_one(EventLog)
            log.log_result("remove", result)
            await pilot.pause()
            variables = app.theme_variables
            rows = [log.render_line(y) for y in range(log.size.height)]
            refused = [strip for strip in rows if "refused:" in strip.text][0]
            segment = [seg for seg in refused if seg.text.strip() == "refused:"][0]
            assert Color.from_rich_color(segment.style.color) == Color.parse(variables["text-error"])
            assert segment.style.bold
            background = Color.from_rich_color(segment.style.bgcolor)
            assert contrast_ratio(Color.from_rich_color(segment.style.color), background) >= AA_TEXT


async def test_log_keeps_the_last_lines_and_follows_the_end():
    app = LogApp("dark")
    async with app.run_test(size=(60, 10)) as pilot:
        log = app.query_one(EventLog)
        log.MAX_ENTRIES = 200
        for i in range(260):
            log.note(f"line {i}")
        await pilot.pause()
        # past the limit the oldest go with a quarter of the limit more: at line 200 lines 0-50
        # go (150 kept), at line 251 lines 51-101; lines 102-259 are left
        assert log.plain_lines == [f"line {i}" for i in range(102, 260)]
        assert len(log.entries) == len(log.plain_lines)
        bottom = [log.render_line(y).text.strip() for y in range(log.size.height)]
        assert bottom[-1] == "line 259"
