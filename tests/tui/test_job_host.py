"""The app side of the runner (tui/job_host.py), shared by the main and compare apps."""

from __future__ import annotations

from tui.messages import Progress
from tui.screens.progress import ProgressScreen


async def test_progress_before_the_display_is_composed_is_not_fatal(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        runner = app.runner
        runner.busy, runner.label = True, "a long job"
        runner.step, runner.done, runner.total = "sparse_add_section", 2, 8
        app.push_screen(ProgressScreen(runner))     # not awaited: not composed yet
        assert isinstance(app.screen, ProgressScreen) and not app.screen.is_mounted
        app.on_progress(Progress("a long job", "sparse_add_section", 2, 8))
        await pilot.pause()
        assert app.screen.is_mounted
        app.on_progress(Progress("a long job", "sparse_add_section", 2, 8))
        body = str(app.screen.query_one("#progress-body").render())
        assert "kernel step: sparse_add_section" in body and "2 of 8 done" in body
        app.job_done()
        await pilot.pause()
        assert not isinstance(app.screen, ProgressScreen) and not app.busy
