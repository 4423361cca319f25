"""Command palette provider: every action of the main screen, with its current keys.

The playback actions (next step, step back, hint) are offered only while a lesson or scenario
is being played."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui.keys import ACTIONS, display_keys


class MemmapCommands(Provider):
    """Every action of the main app in the palette (the compare app has its own keys)."""

    def _entries(self):
        from tui.app import MemmapApp

        app = self.app
        if not isinstance(app, MemmapApp):
            return
        keymap = app.keymap_config
        playing = app.playback is not None
        for spec in ACTIONS:
            if spec.playback and not playing:
                continue
            keys = display_keys(spec, keymap)
            yield spec, f"{spec.title}  ({keys})" if keys else spec.title

    def _runner(self, action: str):
        return partial(self.app.run_action, f"app.{action}")

    async def discover(self) -> Hits:
        for spec, title in self._entries():
            yield DiscoveryHit(title, self._runner(spec.action), help=spec.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for spec, title in self._entries():
            score = max(matcher.match(title), matcher.match(spec.help) * 0.5)
            if score > 0:
                yield Hit(score, matcher.highlight(title), self._runner(spec.action),
                          text=title, help=spec.help)
