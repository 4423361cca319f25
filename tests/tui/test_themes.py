"""Themes load by name, define every grid variable, and fail with one clear line."""

from __future__ import annotations

import pytest
from rich.color import ColorType

import themes
from engine.states import NAMES
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


def test_okabe_ito_uses_the_palette_plus_greys():
    for colour in themes.load_theme("okabe-ito").state_colors.values():
        r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
        is_grey = r == g == b
        assert colour in OKABE_ITO or is_grey or colour == "#7a5500", colour


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
