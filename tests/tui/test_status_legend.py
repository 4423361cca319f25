"""The status line and the legend strip: pure renderers at every width, and the widgets."""

from __future__ import annotations

import re

import numpy as np
import pytest

import themes
from engine import Machine, MachineConfig
from engine.states import NAMES
from tui.render.glyphs import ASCII_GLYPHS, UNICODE_GLYPHS
from tui.render.palette import to_rich_color
from tui.widgets.legend import (SHORT_NAMES, SWATCH, Legend, PresentStates, legend_entries,
                                render_legend, states_present)
from tui.widgets.status_line import StatusInfo, StatusLine, describe_zoom, render_status, short_bytes

INFO = StatusInfo(profile="7.2", arch="x86_64", page_size=4096, block_size=128 << 20,
                  per_cell=64, mode="color", theme="dark")


@pytest.mark.parametrize("per_cell, page_size, words", [
    (64, 4096, "1 cell = 64 pfns (256 KiB)"),
    (1, 4096, "1 cell = 1 pfn (4 KiB)"),
    (512, 65536, "1 cell = 512 pfns (32 MiB)"),
    (3, 4096, "1 cell = 3 pfns (12 KiB)"),
])
def test_zoom_in_words(per_cell, page_size, words):
    assert describe_zoom(per_cell, page_size) == words


def test_short_bytes():
    assert [short_bytes(n) for n in (512, 4096, 3 << 29, 1 << 40)] == ["512", "4K", "1.5G", "1T"]


def test_status_line_leads_with_what_a_small_terminal_hides():
    info = StatusInfo(**{**INFO.__dict__, "hidden": ("inspector", "counters"),
                         "selection": "memory33-40"})
    assert render_status(info, 200).plain.startswith(
        "hidden: inspector, counters (enlarge the terminal; ? keys) · profile 7.2")
    assert "selected memory33-40" in render_status(info, 200).plain
    assert render_status(info, 40).plain == "hidden: inspector, counters"


def test_wide_status_line_says_everything():
    text = render_status(INFO, 200).plain
    for words in ("profile 7.2", "x86_64", "4 KiB pages", "128 MiB blocks",
                  "1 cell = 64 pfns (256 KiB)", "colour cells", "theme dark", "idle"):
        assert words in text
    running = render_status(StatusInfo(**{**INFO.__dict__, "running": "hot_add(size=1T)",
                                          "mode": "ascii"}), 200).plain
    assert running.startswith("▶ hot_add(size=1T)")
    assert "ASCII cells" in running and "idle" not in running


def test_status_line_at_80_keeps_the_zoom_in_words():
    text = render_status(INFO, 78).plain
    assert "1 cell = 64 pfns (256 KiB)" in text
    assert "7.2" in text and "x86_64" in text


@pytest.mark.parametrize("running", [None, "hot_add(size=1T, node=0)"])
def test_status_line_fits_every_width(running):
    info = StatusInfo(**{**INFO.__dict__, "running": running})
    lines = [render_status(info, width) for width in range(0, 201)]
    assert [text.cell_len <= width for width, text in enumerate(lines)] == [True] * 201
    first = re.compile(r"▶ " if running else r"(profile )?7\.2")
    assert [bool(first.match(text.plain)) for text in lines[8:120]] == [True] * 112
    lengths = [len(text.plain) for text in lines[1:]]
    assert lengths == sorted(lengths)          # a wider line never says less


def test_running_operation_survives_narrow_lines():
    info = StatusInfo(**{**INFO.__dict__, "running": "eject(start=0x100000000, size=1T)"})
    assert render_status(info, 40).plain.startswith("▶ eject(start=0x100000000, size=1T)")
    assert render_status(info, 12).plain.startswith("▶ busy")


# -- which states are present ------------------------------------------------------------------

def states_by_reading_every_pfn(m: Machine) -> tuple[str, ...]:
    pps = m.geometry.pages_per_section
    seen: set[int] = set()
    for section in m.present_sections():
        seen |= set(np.unique(m.pfn_states(int(section) * pps, (int(section) + 1) * pps)).tolist())
    return tuple(NAMES[code] for code in sorted(seen))


def test_states_present_agree_with_reading_every_pfn():
    m = Machine(MachineConfig.default())
    assert states_present(m) == states_by_reading_every_pfn(m)
    assert m.hot_add("1G").ok
    assert states_present(m) == states_by_reading_every_pfn(m)
    assert "memmap-self" in states_present(m) and "absent" not in states_present(m)


def test_present_states_read_the_machine_once_per_generation():
    m = Machine(MachineConfig.default())
    cache = PresentStates()
    first = cache.of(m)
    assert cache.of(m) == first and cache.of(m) == first
    assert cache.computed == 1
    assert m.hot_add("256M").ok
    assert cache.of(m) != first
    assert cache.computed == 2
    assert m.undo()
    assert cache.of(m) == first
    assert cache.computed == 3


# -- the legend --------------------------------------------------------------------------------

STATES = ("boot-reserved", "memmap-self", "offline", "free", "unmovable", "hole")


@pytest.mark.parametrize("mode, marks", [
    ("color", {s: SWATCH for s in STATES}),
    ("glyph", {s: UNICODE_GLYPHS[s] for s in STATES}),
    ("ascii", {s: ASCII_GLYPHS[s] for s in STATES}),
])
def test_legend_entries_follow_the_mode_and_the_theme(mode, marks):
    for name in ("dark", "light"):
        colours = themes.load_theme(name).variables
        entries = legend_entries(STATES, mode, colours)
        assert [(e.state, e.mark) for e in entries] == [(s, marks[s]) for s in STATES]
        assert [e.colour for e in entries] == [colours[f"state-{s}"] for s in STATES]


def test_wide_legend_names_every_state_in_its_colour():
    colours = themes.load_theme("okabe-ito").variables
    lines = render_legend(legend_entries(STATES, "glyph", colours), 120, mode="glyph")
    assert len(lines) == 1
    assert lines[0].plain == "  ".join(f"{UNICODE_GLYPHS[s]} {s}" for s in STATES)
    for state in STATES:
        start = lines[0].plain.index(f"{UNICODE_GLYPHS[state]} {state}")
        styles = [span.style for span in lines[0].spans if span.start == start]
        assert styles[0].color == to_rich_color(colours[f"state-{state}"]), state


def test_blank_glyph_state_is_named_as_blank():
    lines = render_legend(legend_entries(("absent", "free"), "ascii", themes.STATE_DEFAULTS),
                          80, mode="ascii")
    assert lines[0].plain == "  absent (blank)  o free"


def test_legend_fits_every_width_and_never_drops_a_state_silently():
    colours = themes.load_theme("dark").variables
    entries = legend_entries(NAMES, "glyph", colours)
    for width in range(8, 161):
        lines = render_legend(entries, width, mode="glyph")
        assert 1 <= len(lines) <= 2, width
        assert all(line.cell_len <= width for line in lines), width
        text = " ".join(line.plain for line in lines)
        assert "…" not in text, width
        named = [s for s in NAMES if re.search(rf"(^|\s)\S ({s}|{SHORT_NAMES[s]})( |$)", text)
                 or f"{s} (blank)" in text or f"{SHORT_NAMES[s]} (blank)" in text]
        hidden = len(NAMES) - len(named)
        assert re.findall(r"\+(\d+)", text) == ([str(hidden)] if hidden else []), (width, text)
    full = render_legend(entries, 400, mode="glyph", max_lines=1)[0].plain
    assert all(name in full for name in NAMES)


# -- the widgets in the app --------------------------------------------------------------------

async def test_status_and_legend_widgets_on_the_main_screen(make_app):
    app = make_app(theme="dark")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.main_screen
        status = screen.query_one("#status", StatusLine)
        legend = screen.query_one("#legend", Legend)

        status.update_from(app.machine, per_cell=64, mode="glyph", theme="dark")
        legend.update_from(app.machine)
        legend.mode = "glyph"
        await pilot.pause()
        line = status.render().plain
        assert "1 cell = 64 pfns (256 KiB)" in line and "glyph cells" in line and "idle" in line
        assert legend.states == states_present(app.machine)
        drawn = legend.render()
        assert f"{UNICODE_GLYPHS['free']} free" in drawn.plain

        status.set_running("hot_add(size=1G)")
        assert status.render().plain.startswith("▶ hot_add(size=1G)")
        status.set_running(None)
        assert "idle" in status.render().plain

        app.apply_theme("light")
        await pilot.pause()
        free_at = drawn.plain.index(f"{UNICODE_GLYPHS['free']} free")
        relit = legend.render()
        colour = [s.style.color for s in relit.spans if s.start == free_at][0]
        assert colour == to_rich_color(themes.load_theme("light").variables["state-free"])
        assert legend.present.computed == 1      # the theme change did not re-read the machine


def test_every_state_has_a_short_name():
    assert set(SHORT_NAMES) == set(NAMES)
    assert all(len(SHORT_NAMES[s]) <= len(s) for s in NAMES)


def test_legend_names_are_in_the_text_colour_and_only_marks_in_the_state_colour():
    colours = themes.load_theme("dark").variables
    line = render_legend(legend_entries(("free", "hole"), "color", colours), 80, mode="color")[0]
    assert line.plain == f"{SWATCH} free  {SWATCH} hole"
    assert line.style == ""
    coloured = [(line.plain[s.start:s.end], s.style.color) for s in line.spans]
    assert coloured == [(SWATCH, to_rich_color(colours["state-free"])),
                        (SWATCH, to_rich_color(colours["state-hole"]))]


def test_a_running_job_gives_up_its_step_before_its_name():
    words = "hot_add 32T on node 0: sparse_add_section 63,440 of 262,144 · 0.4 s · esc cancels"
    info = StatusInfo(**{**INFO.__dict__, "running": words})
    assert render_status(info, 200).plain.startswith(f"▶ {words}")
    assert render_status(info, 78).plain.startswith("▶ hot_add 32T on node 0 · 0.4 s · esc cancels")
    assert render_status(info, 30).plain.startswith("▶ busy")
