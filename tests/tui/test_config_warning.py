"""A config warning reaches the screen whole: "[keys]" is text, not Rich/Textual markup."""

from __future__ import annotations

from tui.config import load_settings


async def test_config_warning_with_brackets_is_shown_whole(tmp_path, make_app):
    from textual.widgets._toast import Toast

    path = tmp_path / "config.toml"
    path.write_text('keys = 3\n')
    settings = load_settings(path)
    assert settings.warnings == [f"{path}: [keys] must be a table; those settings use their defaults"]
    app = make_app(settings=settings)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.pause()
        await pilot.pause()
        log = app.main_screen.log_widget
        assert " ".join(" ".join(log.visual_lines()).split()).count(settings.warnings[0]) == 1
        shown = [" ".join(str(toast.render()).split()) for toast in app.screen.query(Toast)]
        assert [text for text in shown if settings.warnings[0] in text] == [settings.warnings[0]]


def test_crosshair_setting_is_read_and_checked(tmp_path):
    from tui.config import load_settings

    path = tmp_path / "config.toml"
    path.write_text("crosshair = true\n", encoding="utf-8")
    assert load_settings(path).crosshair is True
    path.write_text('crosshair = "yes"\n', encoding="utf-8")
    settings = load_settings(path)
    assert settings.crosshair is False
    assert settings.warnings == [f"{path}: crosshair must be true or false; those settings use "
                                 f"their defaults"]
