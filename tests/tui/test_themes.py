"""Themes load by name, define every grid variable, and fail with one clear line."""

from __future__ import annotations

import colorsys

import pytest
from rich.color import ColorType
from textual.color import Color

import themes
from engine.states import NAMES
from themes.contrast import (AA_TEXT, GLYPH_STATES, TEXT_COLOURS, contrast_ratio, failing_pairs,
                             reference_palette, resolve, text_pairs, theme_variables)
from tui.render import Palette, to_rich_color

REQUIRED_THEMES = {"dark", "light", "okabe-ito", "high-contrast", "ansi"}
OKABE_ITO = {"#000000", "#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7"}


def test_shipped_themes_are_listed():
    assert REQUIRED_THEMES <= set(themes.available())


@pytest.mark.parametrize("name", sorted(themes.available()))
def test_theme_defines_every_state_variable(name):
    spec = themes.load_theme(name)
    theme = spec.textual_theme()
    assert theme.name == spec.name == name
    for variable in (*themes.STATE_VARIABLES, *themes.GRID_VARIABLES):
        assert variable in theme.variables
    assert set(spec.state_colors) == set(NAMES) | set(themes.GRID_VARIABLES)
    # Every colour must be usable by the renderer as well as by Textual's CSS.
    Palette(spec.state_colors)


@pytest.mark.parametrize("name", sorted(themes.available()))
def test_shipped_theme_gives_states_distinct_colours(name):
    colours = [themes.load_theme(name).state_colors[state] for state in NAMES]
    assert len(set(colours)) == len(colours)


def test_ansi_theme_uses_the_terminal_palette_only():
    spec = themes.load_theme("ansi")
    assert spec.ansi
    for name, colour in spec.state_colors.items():
        assert colour.startswith("ansi_"), name
        assert to_rich_color(colour).type in (ColorType.STANDARD, ColorType.DEFAULT)


def _hue(colour: str) -> float:
    r, g, b = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return colorsys.rgb_to_hls(r, g, b)[0] * 360


def test_okabe_ito_takes_its_hues_from_the_palette_plus_greys():
    palette_hues = [_hue(c) for c in OKABE_ITO if c != "#000000"]
    for name, colour in themes.load_theme("okabe-ito").state_colors.items():
        r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
        if r == g == b:
            continue          # greys are told apart by lightness
        nearest = min(abs(_hue(colour) - hue) for hue in palette_hues)
        assert nearest < 5, (name, colour, nearest)


@pytest.mark.parametrize("name", sorted(themes.available()))
def test_every_text_colour_meets_wcag_aa(name):
    spec = themes.load_theme(name)
    pairs = text_pairs(spec)
    # every text colour on every surface, Textual's footer/cursor, each glyph state on the
    # grid and in a mixed cell, and the reversed cursor and backing cells
    assert len(pairs) == 3 * len(TEXT_COLOURS) + 3 + 2 * (len(NAMES) - 1) + 2
    assert [pair.describe() for pair in failing_pairs(spec)] == []


def test_contrast_ratio_agrees_with_wcag():
    black, white = Color.parse("#000000"), Color.parse("#ffffff")
    assert contrast_ratio(black, white) == pytest.approx(21.0)
    assert contrast_ratio(white, white) == pytest.approx(1.0)
    # WCAG's own examples: #767676 is the lightest grey that passes AA on white, #777777 fails
    assert contrast_ratio(Color.parse("#767676"), white) == pytest.approx(4.54, abs=0.01)
    assert contrast_ratio(Color.parse("#777777"), white) < AA_TEXT


def test_alpha_colours_are_judged_as_blended_over_their_background():
    palette = reference_palette(themes.load_theme("dark"))
    light = Color.parse("#eeeeea")
    assert resolve("auto 60%", light, palette) == light.blend(Color.parse("#000000"), 0.6)
    assert resolve("#ffffff 50%", Color.parse("#000000"), palette).hex == "#7F7F7F"
    assert resolve("ansi_red", light, palette) == Color(*palette.ansi_colors[1])
    assert resolve("ansi_default", light, palette, as_background=True) == Color(*palette.background_color)


def test_check_catches_white_muted_text_on_a_light_grey(tmp_path):
    """The defect the check was written for: the light theme's gutter, white on light grey."""
    path = tmp_path / "pale.toml"
    path.write_text(themes.THEME_DIR.joinpath("light.toml").read_text()
                    .replace('text-muted = "#595f69"', 'text-muted = "#ffffff"'))
    failing = {pair.what for pair in failing_pairs(themes.load_theme_file(path))}
    assert {"$text-muted on $surface", "$text-muted on $panel", "$text-muted on $background"} <= failing


def test_check_catches_a_glyph_colour_close_to_the_grid(tmp_path):
    path = tmp_path / "dim.toml"
    path.write_text(themes.THEME_DIR.joinpath("dark.toml").read_text()
                    .replace('hole = "#c8c8c8"', 'hole = "#0d0f12"'))
    failing = {pair.what for pair in failing_pairs(themes.load_theme_file(path))}
    assert failing == {"hole glyph on the grid", "hole glyph in a mixed cell"}


async def test_theme_picker_offers_the_app_themes_and_applies_them(make_app):
    from tui.theme_picker import AppThemeProvider

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        provider = AppThemeProvider(app.screen)
        hits = [hit async for hit in provider.discover()]
        assert [hit.text for hit in hits] == themes.available()
        assert {hit.help for hit in hits} == {"current theme", "memmap-tui theme"}
        found = [hit async for hit in provider.search("okabe")]
        assert [hit.text for hit in found] == ["okabe-ito"]
        found[0].command()
        await pilot.pause()
        assert app.current_theme_name == "okabe-ito"
        assert app.theme == "okabe-ito"
        assert app.theme_variables["state-unmovable"] == themes.load_theme("okabe-ito").variables["state-unmovable"]


def test_rich_names_mean_the_terminal_palette():
    assert themes.normalise_colour("bright_red") == "ansi_bright_red"
    assert to_rich_color("ansi_bright_red").number == 9
    assert to_rich_color("red").type is ColorType.STANDARD


def test_omitted_variables_fall_back_to_defaults(tmp_path):
    path = tmp_path / "sparse.toml"
    path.write_text('[theme]\nprimary = "#336699"\n[states]\nfree = "#00ff00"\n')
    spec = themes.load_theme_file(path)
    assert spec.name == "sparse"
    assert spec.variables["state-free"] == "#00ff00"
    for variable, default in themes.STATE_DEFAULTS.items():
        if variable != "state-free":
            assert spec.variables[variable] == default


def _one_line_error(call) -> str:
    with pytest.raises(ValueError) as excinfo:
        call()
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def test_unknown_theme_is_a_clear_error():
    message = _one_line_error(lambda: themes.load_theme("no-such-theme"))
    assert "unknown theme 'no-such-theme'" in message
    assert "dark" in message  # names the available ones


def test_theme_name_cannot_escape_the_theme_folder():
    assert "unknown theme" in _one_line_error(lambda: themes.load_theme("../pyproject"))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[theme\nprimary = 1", "invalid TOML"),
        ('[theme]\nsecondary = "#000000"\n', "needs at least 'primary'"),
        ('[theme]\nprimary = "not-a-colour"\n', "[theme] primary"),
        ('[theme]\nprimary = "#000000"\n[states]\nfreee = "#000000"\n', "unknown state 'freee'"),
        ('[theme]\nprimary = "#000000"\n[grid]\ncursor = 3\n', "[grid] cursor"),
        ('[theme]\nprimary = "#000000"\ndark = "yes"\n', "dark must be true or false"),
        ('[colours]\nprimary = "#000000"\n', "unknown table"),
    ],
)
def test_malformed_theme_file_is_a_clear_error(tmp_path, text, expected):
    path = tmp_path / "broken.toml"
    path.write_text(text)
    message = _one_line_error(lambda: themes.load_theme_file(path))
    assert expected in message
    assert str(path) in message


async def test_themes_register_and_drive_css_variables():
    from textual.app import App
    from textual.widgets import Footer, Input, Static, Switch, Tree

    class ThemedApp(App):
        CSS = "Static { background: $state-memmap-self; color: $grid-cursor; }"

        def get_theme_variable_defaults(self):
            return dict(themes.STATE_DEFAULTS)

        def compose(self):
            # Built-in widgets too: their CSS uses variables a theme must provide.
            yield Static("x")
            yield Input("text")
            yield Switch()
            yield Tree("root")
            yield Footer()

    app = ThemedApp()
    async with app.run_test(size=(20, 4)) as pilot:
        for name in themes.available():
            app.register_theme(themes.load_theme(name).textual_theme())
            app.theme = name
            await pilot.pause()
            assert app.theme_variables["state-free"] == themes.load_theme(name).variables["state-free"]


@pytest.mark.parametrize("name", ["dark", "light"])
async def test_grid_gutter_and_header_are_drawn_readably(make_app, name):
    app = make_app(theme=name)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        grid = app.main_screen.grid
        header, row = grid.render_line(0), grid.render_line(1)
        assert "section" in header.text and row.text.split()[0].isalnum()
        for strip in (header, row):
            label = [seg for seg in strip if seg.text.strip()][0]
            ratio = contrast_ratio(Color.from_rich_color(label.style.color),
                                   Color.from_rich_color(label.style.bgcolor))
            assert ratio >= AA_TEXT, (name, label.text, label.style)


async def test_textual_theme_command_opens_the_app_theme_picker(make_app):
    from textual.command import CommandPalette

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.action_change_theme()           # what "Theme" in the command palette runs
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"high")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.current_theme_name == "high-contrast"
        assert app.theme == "high-contrast"


@pytest.mark.parametrize("name", ["dark", "light"])
def test_glyphs_on_the_crosshair_meet_wcag_aa(name):
    from tui.render.palette import GLYPH_CROSS_TINT as CROSS_TINT

    spec = themes.load_theme(name)
    variables = theme_variables(spec)
    palette = reference_palette(spec)
    grid = resolve(variables["surface"], Color(*palette.background_color), palette, as_background=True)
    tinted = grid.blend(resolve(variables["grid-cursor"], grid, palette, as_background=True), CROSS_TINT)
    ratios = {state: contrast_ratio(resolve(variables[f"state-{state}"], tinted, palette), tinted)
              for state in GLYPH_STATES}
    assert {state: ratio for state, ratio in ratios.items() if ratio < AA_TEXT} == {}
