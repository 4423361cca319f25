"""The memmap-tui App: owns one engine Machine and every action on it.

Engine operations run in a thread worker (one at a time) so that adding a terabyte never freezes
the screen; a BusyScreen holds the keys meanwhile, and the worker posts `OperationFinished` back.
Undo and redo are the engine's own (m.undo() / m.redo()). Widgets get the machine handed down by
the main screen after each change; nothing here keeps numpy arrays in reactives.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any, Callable

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.command import CommandPalette
from textual.css.query import NoMatches
from textual.widgets import OptionList

from tui.commands import MemmapCommands
from tui.config import Settings
from tui.keys import BY_ID, display_keys, keymap_from_config
from tui.messages import OperationCrashed, OperationFinished
from tui.playback import Playback, describe_step, run_step, undo_to
from tui.screens.dialogs import (
    AllocDialog,
    BusyScreen,
    ChoiceDialog,
    HotAddDialog,
    NewMachineDialog,
    PromptDialog,
)
from tui.screens.help import HelpScreen
from tui.screens.main import MainScreen

MODES = ("color", "glyph", "ascii")
DEFAULT_THEME = "dark"
FALLBACK_THEMES = ("textual-dark", "textual-light", "nord", "gruvbox", "ansi-dark")


def auto_glyphs(requested: str | None = None, env: dict[str, str] | None = None) -> str:
    """The grid mode: as asked, or glyphs when colour cannot carry the states (NO_COLOR, console)."""
    env = os.environ if env is None else env
    if requested and requested != "auto":
        return requested
    if env.get("NO_COLOR") is not None and env.get("NO_COLOR") != "":
        return "glyph"
    if env.get("TERM") == "linux":
        return "glyph"
    return "color"


def _themes_module():
    try:
        import themes  # written by another helper: available(), load_theme(name)
    except ImportError:
        return None
    if not hasattr(themes, "available") or not hasattr(themes, "load_theme"):
        return None
    return themes


def format_bytes(n: int) -> str:
    for suffix, shift in (("T", 40), ("G", 30), ("M", 20), ("K", 10)):
        if n and n % (1 << shift) == 0:
            return f"{n >> shift}{suffix}"
    return str(n)


def describe_op(op: dict) -> str:
    """One op dict (from m.history) in a few words: hot_add(size=1G, node=0)."""
    op = dict(op)
    name = op.pop("op", "?")

    def show(key: str, value: Any) -> str:
        if key in ("start", "size") and isinstance(value, int) and not isinstance(value, bool):
            return hex(value) if key == "start" else format_bytes(value)
        return str(value)

    args = ", ".join(f"{k}={show(k, v)}" for k, v in op.items() if v is not None)
    return f"{name}({args})"


def _yield_to_ui(what: str, done: int, total: int) -> None:
    time.sleep(0)    # releases the GIL: the event loop thread can draw and take keys


class SafeCommandPalette(CommandPalette):
    """Textual 8.2.8's palette can finish gathering hits after it has been dismissed (a fast
    ctrl+p, text, escape): its list-visibility watcher then queries children that are gone and
    the NoMatches takes the app down. Ignore updates once the palette's widgets are gone."""

    def _watch__list_visible(self) -> None:
        try:
            super()._watch__list_visible()
        except NoMatches:
            pass

    def dismiss(self, result=None):
        if not self.is_current:   # a second enter queued behind the first: nothing to close
            return None
        return super().dismiss(result)

    def _refresh_command_list(self, command_list, commands, clear_current) -> None:
        if not command_list.is_attached:
            return
        try:
            super()._refresh_command_list(command_list, commands, clear_current)
        except NoMatches:
            pass


def _guard_option_list_races() -> None:
    """Two Textual 8.2.8 OptionList races that fast typing or clicking reaches (the random-key
    test does), each of which would take the whole app down:
    - a click's option index comes from the last frame drawn; when the list under the mouse
      has just been replaced by a shorter one (palette results, a dialog opening where the
      palette was) it is past the end and `_on_click` raises IndexError: drop such clicks;
    - page up/down before the list's first layout (a Select overlay or dialog list opened by
      the previous key) looks up an empty line map and raises KeyError: ignore the key.
    Applied once, idempotent; every OptionList (palette, Select overlays, dialogs) is covered."""
    original = OptionList._on_click
    if getattr(original, "_memmap_guarded", False):
        return
    original_page = OptionList._move_page

    def _move_page(self, direction) -> None:
        if (self.highlighted or 0) not in self._index_to_line:
            return
        original_page(self, direction)

    OptionList._move_page = _move_page  # type: ignore[method-assign]

    def _on_click(self, event) -> None:
        index = event.style.meta.get("option") if event.style else None
        if index is not None and not 0 <= index < self.option_count:
            return
        return original(self, event)

    _on_click._memmap_guarded = True  # type: ignore[attr-defined]
    OptionList._on_click = _on_click  # type: ignore[method-assign]


_guard_option_list_races()


class ThemedApp(App):
    """Themes from the `themes` package (with Textual's own as a fallback) and the state colours
    they give the pfn grids; shared by the main app and the compare app."""

    _theme_module: Any = None
    state_colors: dict[str, Any] = {}
    current_theme_name: str | None = None

    def state_grids(self) -> list[Any]:
        """The pfn grids that take the theme's state colours."""
        return []

    # -- themes ------------------------------------------------------------------------
    def get_theme_variable_defaults(self) -> dict[str, str]:
        """Defaults for app-specific $variables (the state colours), so any theme parses."""
        defaults = dict(super().get_theme_variable_defaults())
        # A Theme(ansi=True) skips the colour system's ansi-* variables that Textual's own
        # widgets' CSS refers to; the built-in ansi themes set them by hand, so do the same.
        defaults.setdefault("ansi-background", "ansi_default")
        defaults.setdefault("ansi-foreground", "ansi_default")
        mod = self._theme_module
        if mod is not None:
            try:
                names = list(mod.available())
                if names:
                    spec = mod.load_theme(DEFAULT_THEME if DEFAULT_THEME in names else names[0])
                    defaults.update(getattr(spec.textual_theme(), "variables", {}) or {})
            except Exception:
                pass
        return defaults

    def theme_names(self) -> list[str]:
        mod = self._theme_module
        if mod is not None:
            try:
                names = list(mod.available())
                if names:
                    return names
            except Exception:
                pass
        return [t for t in FALLBACK_THEMES if t in self.available_themes]

    def apply_theme(self, name: str | None) -> bool:
        names = self.theme_names()
        if not names:
            return False
        if name is None:
            name = DEFAULT_THEME if DEFAULT_THEME in names else names[0]
        mod = self._theme_module
        if mod is not None and name in names:
            try:
                spec = mod.load_theme(name)
                theme = spec.textual_theme()
                self.register_theme(theme)
                self.theme = theme.name
                self.state_colors = dict(getattr(spec, "state_colors", {}) or {})
                if self.state_colors:
                    for grid in self.state_grids():
                        grid.set_state_colors(self.state_colors)
                self.current_theme_name = name
                return True
            except Exception as exc:
                self.notify(f"theme {name!r}: {exc}", severity="error")
                return False
        if name in self.available_themes:
            self.theme = name
            self.current_theme_name = name
            return True
        self.notify(f"unknown theme {name!r} (known: {', '.join(names)})", severity="warning")
        return False


class MemmapApp(ThemedApp):
    CSS_PATH = "app.tcss"
    TITLE = "memmap-tui"
    COMMANDS = App.COMMANDS | {MemmapCommands}
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", show=False, priority=True)]

    def __init__(self, *, config: Any = None, machine: Any = None, theme: str | None = None,
                 glyphs: str | None = "auto", settings: Settings | None = None,
                 steps: list[dict] | None = None, notes: list[str] | None = None,
                 playback: Playback | None = None) -> None:
        self.settings = settings or Settings()
        self.keymap_config = keymap_from_config(self.settings.keys)
        self._theme_module = _themes_module()
        self.state_colors: dict[str, Any] = {}
        super().__init__()
        if machine is None:
            from engine import Machine, MachineConfig

            config = config or MachineConfig.default()
            machine = Machine(config)
        self.machine = machine
        self.config = config if config is not None else getattr(machine, "config", None)
        self.mode = auto_glyphs(glyphs if glyphs not in (None, "auto") else self.settings.glyphs)
        self.busy = False
        self.busy_label = ""
        self.startup_steps = list(steps or [])
        self.startup_notes = list(notes or [])
        self.startup_warnings = list(self.settings.warnings)
        self.requested_theme = theme or self.settings.theme
        self.last_result: Any = None
        self.playback = playback
        if self.keymap_config:
            self.set_keymap(self.keymap_config)

    def state_grids(self) -> list[Any]:
        main = self.main_screen
        return [main.grid] if main is not None and main.grid is not None else []

    # -- lifecycle ---------------------------------------------------------------------
    async def on_mount(self) -> None:
        self.current_theme_name = None
        await self.push_screen(MainScreen(self.machine, mode=self.mode))
        if not self.apply_theme(self.requested_theme) and self.requested_theme:
            self.apply_theme(None)
        log = self.main_screen.log_widget
        geo = self.machine.geometry
        log.note(f"booted {geo.arch}, profile {geo.profile}: {format_bytes(geo.page_size)} pages, "
                 f"{format_bytes(geo.block_size)} blocks, {geo.struct_page_size}-byte struct page "
                 f"· ? for help, ctrl+p for every command")
        for note in self.startup_notes:
            log.note(note, style="bold")
            self.notify(note)
        for warning in self.startup_warnings:
            log.note(warning, style="yellow")
            self.notify(warning, severity="warning")
        if self.playback is not None:
            pb = self.playback
            log.note(f"{'lesson' if pb.script.lesson else 'scenario'}: {pb.script.title} "
                     f"({pb.n} steps) · {self.playback_keys()['next']}: next step, "
                     f"{self.playback_keys()['back']}: back", style="bold")
            self.show_playback()
        if self.startup_steps:
            steps = self.startup_steps
            self.startup_steps = []
            machine = self.machine
            self.run_engine(f"replay scenario ({len(steps)} steps)",
                            lambda: self._replay(machine, steps, "scenario"))

    @property
    def main_screen(self) -> MainScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                return screen
        return None

    # -- running engine operations in a worker -----------------------------------------
    def run_engine(self, label: str, job: Callable[[], Any]) -> bool:
        """Run `job` (returns an OpResult or an OperationFinished) in the engine worker."""
        if self.busy:
            self.notify(f"busy with {self.busy_label}: wait for it to finish", severity="warning")
            return False
        self.busy = True
        self.busy_label = label
        self.push_screen(BusyScreen(label))
        self._engine_worker(label, job)
        return True

    @work(thread=True, exclusive=True, group="engine")
    def _engine_worker(self, label: str, job: Callable[[], Any]) -> None:
        start = time.perf_counter()
        machine = self.machine
        # a long engine loop gives the UI thread a turn every few sections (the GIL)
        machine.progress_hook = _yield_to_ui
        try:
            out = job()
            # build the engine's read caches here, not in the first repaint
            current = getattr(out, "replaced_machine", None) or self.machine
            current.prepare_reads()
        except Exception as exc:  # an engine bug or bad input must never take the app down
            self.post_message(OperationCrashed(label, exc))
            return
        finally:
            machine.progress_hook = None
        seconds = time.perf_counter() - start
        if not isinstance(out, OperationFinished):
            out = OperationFinished(label, out)
        out.seconds = seconds
        self.post_message(out)

    def _end_busy(self) -> None:
        self.busy = False
        self.busy_label = ""
        if isinstance(self.screen, BusyScreen) and len(self.screen_stack) > 1:
            self.pop_screen()

    def on_operation_finished(self, message: OperationFinished) -> None:
        self._end_busy()
        main = self.main_screen
        if main is None:
            return
        log = main.log_widget
        new_machine = message.replaced_machine is not None
        if new_machine:
            self.machine = message.replaced_machine
            if message.replaced_config is not None:
                self.config = message.replaced_config
        result = message.result
        self.last_result = result
        if message.undo:
            log.note(f"↶ {message.label}" + ("" if result not in (False, None) else
                                             ": nothing to do"), style="bold")
            if result is not None and hasattr(result, "events"):
                log.log_result(message.label, result, message.seconds)
        elif result is not None:
            log.log_result(message.label, result, message.seconds)
            if not getattr(result, "ok", True) and message.playback is None:
                self._notify_refusal(result)
        says = list(message.says) + [None] * (len(message.extra) - len(message.says))
        for extra, say in zip(message.extra, says):
            if say:
                log.note(f"» {' '.join(str(say).split())}", style="italic")
            if extra is not None and hasattr(extra, "ok"):
                log.log_result(message.label, extra)
        if message.extra and not new_machine:
            log.note(message.label, style="bold")
        if new_machine:
            geo = self.machine.geometry
            log.note(f"{message.label}: {geo.arch}, profile {geo.profile}, "
                     f"{format_bytes(geo.block_size)} blocks, {geo.struct_page_size}-byte "
                     f"struct page", style="bold")
            refused = [r for r in message.extra if r is not None and not getattr(r, "ok", True)]
            if refused:
                self.notify(f"{len(refused)} of {len(message.extra)} replayed steps were refused "
                            f"on profile {geo.profile}: see the log", severity="warning")
        main.set_highlight([])
        main.show_machine(self.machine, new=new_machine)
        if self.playback is not None:
            self._playback_after(message)
        elif getattr(result, "ok", False) and getattr(result, "op", None) == "hot_add":
            self._follow(result)    # show the new memory: its memmap sits at its start

    def on_operation_crashed(self, message: OperationCrashed) -> None:
        self._end_busy()
        err = message.error
        text = " ".join(str(err).split()) or type(err).__name__
        kind = "bad input" if isinstance(err, (ValueError, TypeError, KeyError)) else "engine error"
        main = self.main_screen
        if main is not None:
            main.log_widget.note(f"✗ {message.label}: {kind}: {type(err).__name__}: {text}",
                                 style="bold red")
            main.show_machine(self.machine)
        self.notify(f"{message.label}: {text}", title=kind, severity="error")

    def _notify_refusal(self, result: Any) -> None:
        errno = getattr(result, "errno", None)
        error = getattr(result, "error", None) or ""
        check = getattr(result, "check", None)
        op = getattr(result, "op", "operation")
        body = f"-{errno} {error}".strip() if errno else (error or "refused")
        if check:
            body += f"\n{check}"
        self.notify(body, title=f"{op} refused", severity="error", timeout=8)

    # -- lesson / scenario playback ----------------------------------------------------
    def playback_keys(self) -> dict[str, str]:
        """The first key of each playback action, as the user types it (after remapping)."""
        out = {}
        for name in ("next", "back", "hint"):
            keys = display_keys(BY_ID[f"playback_{name}"], self.keymap_config).split()
            out[name] = keys[0] if keys else f"playback_{name}"
        return out

    def show_playback(self) -> None:
        main = self.main_screen
        if main is not None:
            main.show_playback(self.playback, self.playback_keys())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Playback keys exist only in playback (hidden from the footer and passed on otherwise);
        the hint only while a step with a hint waits for the student."""
        if action.startswith("playback_"):
            pb = self.playback
            if pb is None:
                return False
            if action == "playback_hint":
                return bool(pb.waiting and pb.current_hint)
        return True

    def action_playback_next(self) -> None:
        """Next step: show a wait step's prompt, or apply the step (a waiting one for the
        student, when asked again)."""
        self.playback_step(do_wait=False)

    def playback_step(self, *, do_wait: bool = False) -> bool:
        """Move the playback one step on; False when there is nothing to do (or we are busy).
        `do_wait` applies a wait step at once instead of handing it to the student."""
        pb = self.playback
        if pb is None or self._idle_main() is None:
            return False
        if pb.at_end:
            self.notify(f"end of the {'lesson' if pb.script.lesson else 'scenario'}: "
                        f"{self.playback_keys()['back']} steps back", timeout=3)
            return False
        if pb.next_is_wait() and not pb.waiting and not do_wait:
            pb.begin_wait(self.machine)
            self.show_playback()
            self.notify(f"your turn: {pb.prompt()}", title=f"step {pb.position + 1}/{pb.n}",
                        timeout=3)
            return True
        index = pb.position
        step = dict(pb.script.steps[index])
        by = "teacher" if pb.waiting else "lesson"
        history_before = pb.wait_history_before if pb.waiting else len(self.machine.history)
        machine = self.machine
        label = f"step {index + 1}/{pb.n}: {describe_step(step)}"

        def job() -> OperationFinished:
            result, marks = run_step(machine, step)
            return OperationFinished(label, result, playback={
                "kind": "step", "index": index, "marks": marks, "by": by,
                "history_before": history_before, "history_after": len(machine.history)})

        return self.run_engine(label, job)

    def action_playback_back(self) -> None:
        pb = self.playback
        if pb is None or self._idle_main() is None:
            return
        target = pb.back_target()
        if target is None:
            self.notify("at the start: nothing to step back", severity="warning", timeout=3)
            return
        machine, config = self.machine, self.config
        if pb.waiting:
            label = f"leave step {pb.position + 1}/{pb.n}"
        else:
            label = f"take back step {pb.position}/{pb.n}"

        def job() -> OperationFinished:
            new, undone = undo_to(machine, target, config)
            return OperationFinished(label, True, undo=True,
                                     replaced_machine=new if new is not machine else None,
                                     playback={"kind": "back", "undone": undone})

        self.run_engine(label, job)

    def _follow(self, result: Any) -> None:
        """Put the grid cursor where a played step acted (its block, or its range's start)."""
        main = self.main_screen
        args = dict(getattr(result, "args", None) or {})
        if main is None or main.grid is None:
            return
        pfn = None
        try:
            if args.get("block") is not None:
                block = self.machine.block(int(args["block"]))
                pfn = int(block["start_pfn"]) if block else None
            elif args.get("start") is not None:
                pfn = int(args["start"]) >> self.machine.geometry.page_shift
        except Exception:
            pfn = None
        if pfn is not None and 0 <= pfn < self.machine.geometry.max_pfn:
            main.grid.goto_pfn(pfn)
            main.refresh_inspector()

    def action_playback_hint(self) -> None:
        pb = self.playback
        if pb is None or not pb.waiting:
            return
        if not pb.current_hint:
            self.notify("this step has no hint", timeout=3)
            return
        pb.show_hint = True
        self.show_playback()

    def _playback_after(self, message: OperationFinished) -> None:
        """Keep the playback in step with what the worker just did."""
        pb = self.playback
        info = message.playback
        if isinstance(info, dict) and info.get("kind") == "step":
            pb.record(message.result, list(info.get("marks") or []), int(info["history_before"]),
                      int(info["history_after"]), by=str(info.get("by") or "lesson"))
            self._follow(message.result)
        elif isinstance(info, dict) and info.get("kind") == "back":
            pb.stepped_back()
        elif message.replaced_machine is not None:
            # a new machine or a replay on another profile: the lesson's steps no longer apply
            self.playback = None
            self.main_screen.log_widget.note("playback ended: the machine was replaced",
                                             style="bold")
        elif message.undo:
            pb.sync(self.machine)
        elif pb.waiting and message.result is not None and hasattr(message.result, "op"):
            result = message.result
            op = {"op": result.op, **dict(getattr(result, "args", {}) or {})}
            index = pb.position
            if pb.student_op(self.machine, op, result):
                self.notify(f"step {index + 1}/{pb.n} done: well done", title="lesson",
                            timeout=4)
                self.main_screen.log_widget.note(f"✓ lesson step {index + 1}/{pb.n} done by you",
                                                 style="bold green")
        self.show_playback()

    # -- helpers for actions -----------------------------------------------------------
    def _idle_main(self) -> MainScreen | None:
        if self.busy:
            self.notify(f"busy with {self.busy_label}", severity="warning")
            return None
        main = self.main_screen
        if main is None or self.screen is not main:
            return None
        return main

    def _cursor(self, main: MainScreen) -> int | None:
        pfn = main.cursor_pfn()
        if pfn is None:
            self.notify("nothing selected: move the cursor onto the grid first", severity="warning")
        return pfn

    def _block_under_cursor(self, main: MainScreen, what: str) -> dict | None:
        pfn = self._cursor(main)
        if pfn is None:
            return None
        try:
            blk = self.machine.block_of(pfn)
            block = self.machine.block(blk) if blk is not None else None
        except Exception:
            block = None
        if block is None:
            self.notify(f"{what}: no memory block at pfn {pfn:#x} (nothing is plugged there)",
                        severity="warning")
        return block

    def _resource_under_cursor(self, main: MainScreen, what: str) -> dict | None:
        pfn = self._cursor(main)
        if pfn is None:
            return None
        try:
            resources = self.machine.resources()
        except Exception:
            resources = []
        for res in resources:
            if res.get("start_pfn", -1) <= pfn < res.get("end_pfn", -1):
                return res
        try:
            blk = self.machine.block_of(pfn)
        except Exception:
            blk = None
        if blk is not None:
            self.notify(f"{what}: memory{blk} is boot memory; only hot-added ranges can be "
                        f"removed (move onto one, or hot-add with a)", severity="warning")
        else:
            self.notify(f"{what}: no hot-added range at pfn {pfn:#x}", severity="warning")
        return None

    def _node_ids(self) -> list[int]:
        try:
            return [int(n["id"]) for n in self.machine.nodes_info()]
        except Exception:
            return [0]

    # -- actions -----------------------------------------------------------------------
    def action_hot_add(self) -> None:
        if self._idle_main() is None:
            return
        geo = self.machine.geometry
        default = format_bytes(max(1 << 30, geo.block_size))

        def done(answer: dict | None) -> None:
            if not answer:
                return
            kwargs = {k: v for k, v in answer.items() if k != "op" and v is not None}
            label = f"hot_add {kwargs.get('size')} on node {kwargs.get('node')}"
            self.run_engine(label, lambda: self.machine.hot_add(**kwargs))

        self.push_screen(HotAddDialog(self._node_ids(), default, format_bytes(geo.block_size)), done)

    def action_online(self) -> None:
        main = self._idle_main()
        if main is None:
            return
        block = self._block_under_cursor(main, "online")
        if block is None:
            return
        bid = block.get("id")
        if block.get("online"):
            where = "boot memory" if block.get("boot") else "hot-added"
            self.notify(f"memory{bid} is already online (zone {block.get('zone')}, {where}); "
                        f"offline it first with f", severity="warning")
            return
        options = [("online: the kernel picks the zone (online_policy)", "online"),
                   ("online_kernel: a kernel zone (ZONE_NORMAL)", "online_kernel"),
                   ("online_movable: ZONE_MOVABLE", "online_movable")]

        def done(kind: str | None) -> None:
            if kind:
                self.run_engine(f"{kind} memory{bid}", lambda: self.machine.online(bid, type=kind))

        self.push_screen(ChoiceDialog(f"online memory{bid}", options,
                                      f"valid_zones: {block.get('valid_zones')}"), done)

    def action_offline(self) -> None:
        main = self._idle_main()
        if main is None:
            return
        block = self._block_under_cursor(main, "offline")
        if block is None:
            return
        bid = block.get("id")
        if not block.get("online"):
            self.notify(f"memory{bid} is already offline", severity="warning")
            return
        self.run_engine(f"offline memory{bid}", lambda: self.machine.offline(bid))

    def _remove_or_eject(self, what: str) -> None:
        main = self._idle_main()
        if main is None:
            return
        res = self._resource_under_cursor(main, what)
        if res is None:
            return
        start, size = int(res["start"]), int(res["size"])
        fn = self.machine.remove if what == "remove" else self.machine.eject
        self.run_engine(f"{what} {start:#x}+{format_bytes(size)}", lambda: fn(start, size))

    def action_remove(self) -> None:
        self._remove_or_eject("remove")

    def action_eject(self) -> None:
        self._remove_or_eject("eject")

    def action_pin(self) -> None:
        main = self._idle_main()
        if main is None:
            return
        block = self._block_under_cursor(main, "pin")
        if block is None:
            return
        bid = block.get("id")
        try:
            from engine.states import PINNED

            states = self.machine.pfn_states(int(block["start_pfn"]), int(block["end_pfn"]))
            pinned = int((states == PINNED).sum())
        except Exception:
            pinned = 0
        m = self.machine
        if pinned:
            self.run_engine(f"unpin {pinned} page(s) in memory{bid}",
                            lambda: m.free(kind="pinned", block=bid))
        else:
            self.run_engine(f"pin a page in memory{bid}",
                            lambda: m.alloc(kind="pinned", block=bid, pages=1))

    def action_alloc(self) -> None:
        if self._idle_main() is None:
            return
        zones: list[str] = []
        try:
            for z in self.machine.zoneinfo():
                if z.get("zone") not in zones:
                    zones.append(z.get("zone"))
        except Exception:
            zones = ["DMA", "DMA32", "Normal", "Movable"]

        def done(answer: dict | None) -> None:
            if not answer:
                return
            kwargs = {k: v for k, v in answer.items() if k != "op"}
            m = self.machine
            where = (f"block {kwargs['block']}" if kwargs.get("block") is not None
                     else f"node {kwargs.get('node')}")
            if answer["op"] == "free":
                kwargs.pop("leave_free", None)
                label = f"free {kwargs.get('kind')} pages in {where}"
                self.run_engine(label, lambda: m.free(**kwargs))
            else:
                label = f"allocate {kwargs.get('kind')} pages in {where}"
                self.run_engine(label, lambda: m.alloc(**kwargs))

        main = self.main_screen
        here = None
        if main is not None:
            pfn = main.cursor_pfn()
            try:
                blk = self.machine.block_of(pfn) if pfn is not None else None
                if blk is not None and (self.machine.block(blk) or {}).get("state") == "online":
                    here = blk
            except Exception:
                here = None
        self.push_screen(AllocDialog(self._node_ids(), zones, block=here), done)

    def _config_dict(self) -> dict:
        try:
            return dict(self.config.to_dict())
        except Exception:
            return {}

    def _build_config(self, values: dict) -> Any:
        """Form values -> MachineConfig; ValueError (ConfigError is one) with a one-line reason."""
        from engine import MachineConfig

        base = {k: v for k, v in values.items() if k != "nodes"}
        nodes = values.get("nodes")
        if isinstance(nodes, str):
            base["node"] = parse_nodes(nodes)
        try:
            return MachineConfig.from_dict(base)
        except ValueError:
            raise
        except Exception as exc:  # anything else the engine raises, as one line
            raise ValueError(" ".join(str(exc).split()) or type(exc).__name__) from None

    def action_new_machine(self) -> None:
        if self._idle_main() is None:
            return
        try:
            from engine import KNOBS
        except ImportError:
            self.notify("the engine has no KNOBS", severity="error")
            return
        values = self._config_dict()
        if "node" in values and isinstance(values["node"], list):
            values["nodes"] = ",".join(f"{n.get('id')}:{n.get('memory')}" for n in values["node"])

        def done(config: Any) -> None:
            if config is None:
                return

            def job():
                from engine import Machine

                return OperationFinished("new machine", None, replaced_machine=Machine(config),
                                         replaced_config=config)

            self.run_engine("boot a new machine", job)

        self.push_screen(NewMachineDialog(list(KNOBS), values, self._build_config), done)

    def _replay(self, machine: Any, steps: list[dict], what: str,
                config: Any = None) -> OperationFinished:
        results = [machine.apply(dict(step)) for step in steps]
        says = [step.get("say") for step in steps]
        refused = sum(1 for r in results if not getattr(r, "ok", True))
        label = f"{what}: {len(results)} steps replayed, {refused} refused"
        if config is None:
            return OperationFinished(label, None, extra=results, says=says)
        return OperationFinished(label, None, replaced_machine=machine, replaced_config=config,
                                 extra=results, says=says)

    def action_profile(self) -> None:
        if self._idle_main() is None:
            return
        try:
            from engine import PROFILES
        except ImportError:
            return
        names = list(PROFILES)
        current = getattr(self.machine.geometry, "profile", None)
        options = [(f"{name}{'  (current)' if name == current else ''}", name) for name in names]
        highlighted = names.index(current) if current in names else 0

        def done(profile: str | None) -> None:
            if not profile:
                return
            try:
                config = self._build_config({**self._config_dict(), "profile": profile})
            except ValueError as exc:
                self.notify(f"profile {profile}: {exc}", severity="error", timeout=8)
                return
            steps = [dict(op) for op in self.machine.history]

            def job():
                from engine import Machine

                return self._replay(Machine(config), steps, f"replay on profile {profile}", config)

            self.run_engine(f"replay {len(steps)} steps on profile {profile}", job)

        self.push_screen(ChoiceDialog("replay the session on kernel profile", options,
                                      "the same operations, in order, on a new machine with the "
                                      "rules of that kernel version", highlighted), done)

    def action_undo(self) -> None:
        if self._idle_main() is None:
            return
        m = self.machine
        if not m.can_undo:
            self.notify("nothing to undo", severity="warning")
            return
        history = list(m.history)
        label = f"undo {describe_op(history[-1])}" if history else "undo"
        self.run_engine(label, lambda: OperationFinished(label, m.undo(), undo=True))

    def action_redo(self) -> None:
        if self._idle_main() is None:
            return
        m = self.machine
        if not m.can_redo:
            self.notify("nothing to redo", severity="warning")
            return
        self.run_engine("redo", lambda: OperationFinished("redo", m.redo(), undo=True))

    def action_save(self) -> None:
        if self._idle_main() is None:
            return

        def check(text: str) -> Path:
            if not text:
                raise ValueError("enter a file name")
            path = Path(text).expanduser()
            if path.is_dir():
                raise ValueError(f"{path} is a directory")
            return path

        def done(path: Path | None) -> None:
            if path is None:
                return
            try:
                from engine.scenario import Scenario

                text = Scenario(self.config, [dict(op) for op in self.machine.history]).to_toml()
                path.write_text(text, encoding="utf-8")
            except Exception as exc:
                self.notify(f"save: {' '.join(str(exc).split())}", severity="error")
                return
            self.main_screen.log_widget.note(f"saved {len(self.machine.history)} steps to {path}")
            self.notify(f"saved scenario: {path.resolve()}")

        self.push_screen(PromptDialog("save session as a scenario", "file",
                                      "memmap-session.toml", "memmap-session.toml",
                                      "replay it with: memmap-tui run FILE · enter: save", check),
                         done)

    def parse_target(self, text: str) -> int:
        """'1234', 'pfn 0x4d2', '0x100000000' (address), '4G', 'block 33', 'section 40' -> pfn."""
        geo = self.machine.geometry
        t = text.strip().lower()
        if not t:
            raise ValueError("enter a pfn, an address (0x...), 'block N' or 'section N'")
        m = re.fullmatch(r"(block|memory|blk|b)\s*(\d+)", t)
        if m:
            bid = int(m.group(2))
            try:
                block = self.machine.block(bid)
            except Exception:
                block = None
            if not block:
                raise ValueError(f"no memory block {bid}")
            return int(block["start_pfn"])
        m = re.fullmatch(r"(section|sec|s)\s*(\d+)", t)
        if m:
            pfn = int(m.group(2)) * geo.pages_per_section
        else:
            m = re.fullmatch(r"pfn\s*(0x[0-9a-f]+|\d+)", t)
            if m:
                pfn = int(m.group(1), 0)
            elif re.fullmatch(r"0x[0-9a-f]+", t):
                pfn = int(t, 16) >> geo.page_shift
            elif re.fullmatch(r"\d+", t):
                pfn = int(t)
            elif re.fullmatch(r"\d+\s*[kmgtp]i?b?", t):
                num = int(re.match(r"\d+", t).group(0))
                shift = {"k": 10, "m": 20, "g": 30, "t": 40, "p": 50}[re.search(r"[kmgtp]", t).group(0)]
                pfn = (num << shift) >> geo.page_shift
            else:
                raise ValueError(f"cannot read {text!r}: try 1234, pfn 0x4d2, 0x100000000, "
                                 f"4G, block 33 or section 40")
        if not 0 <= pfn < geo.max_pfn:
            raise ValueError(f"pfn {pfn:#x} is outside the address space (max pfn {geo.max_pfn:#x})")
        return pfn

    def action_jump(self) -> None:
        main = self._idle_main()
        if main is None:
            return

        def done(pfn: int | None) -> None:
            if pfn is None or main.grid is None:
                return
            main.grid.goto_pfn(pfn)
            main.refresh_inspector()

        self.push_screen(PromptDialog("jump", "pfn / address", "", "1234 · 0x100000000 · block 33",
                                      "pfn (decimal or pfn 0x..), address (0x...), block N, "
                                      "section N · enter: go", self.parse_target), done)

    def action_backing(self) -> None:
        main = self._idle_main()
        if main is None:
            return
        if main.highlight:
            main.set_highlight([])
            self.notify("backing highlight cleared")
            return
        pfn = self._cursor(main)
        if pfn is None:
            return
        m = self.machine
        geo = m.geometry
        try:
            served = m.served_by(pfn)
        except Exception:
            served = None
        if served:
            lo, hi = served
            main.set_highlight([(int(lo), int(hi))])
            self.notify(f"pfn {pfn:#x} holds the struct pages of pfns {lo:#x}-{hi - 1:#x}")
            return
        sec = pfn // geo.pages_per_section
        lo, hi = sec * geo.pages_per_section, (sec + 1) * geo.pages_per_section
        try:
            ranges = [(int(a), int(b)) for a, b in m.backing_of(lo, hi)]
        except Exception as exc:
            self.notify(f"backing: {exc}", severity="error")
            return
        if not ranges:
            self.notify(f"section {sec} has no memmap (nothing present there)", severity="warning")
            return
        main.set_highlight(ranges)
        where = []
        try:
            for back in (m.section(sec).get("memmap") or {}).get("backing") or []:
                where.append(f"node {back.get('node')}")
        except Exception:
            pass
        nodes = ", ".join(sorted(set(where))) or "?"
        spans = ", ".join(f"{a:#x}-{b - 1:#x}" for a, b in ranges[:3])
        more = f" (+{len(ranges) - 3} more)" if len(ranges) > 3 else ""
        self.notify(f"memmap of section {sec} lives in pfns {spans}{more} on {nodes}; b clears")

    def action_cycle_mode(self) -> None:
        main = self.main_screen
        if main is None:
            return
        self.mode = MODES[(MODES.index(self.mode) + 1) % len(MODES)] if self.mode in MODES else MODES[0]
        main.set_mode(self.mode)
        self.notify(f"grid mode: {self.mode}", timeout=2)

    def action_toggle_crosshair(self) -> None:
        main = self.main_screen
        if main is not None:
            self.notify(f"crosshair {'on' if main.toggle_crosshair() else 'off'}", timeout=2)

    def action_cycle_theme(self) -> None:
        names = self.theme_names()
        if not names:
            return
        current = getattr(self, "current_theme_name", None)
        nxt = names[(names.index(current) + 1) % len(names)] if current in names else names[0]
        if self.apply_theme(nxt):
            self.notify(f"theme: {nxt}", timeout=2)

    def action_screenshot(self) -> None:
        if self.is_web:   # served to a browser: hand the SVG to the browser as a download
            try:
                self.deliver_screenshot()
            except Exception as exc:
                self.notify(f"screenshot: {exc}", severity="error")
                return
            self.notify("screenshot sent to the browser")
            return
        try:
            path = self.save_screenshot(path=os.getcwd())
        except Exception as exc:
            self.notify(f"screenshot: {exc}", severity="error")
            return
        self.notify(f"screenshot saved: {path}")

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.keymap_config, self.state_colors))

    def action_command_palette(self) -> None:
        if self.busy or not self.use_command_palette or CommandPalette.is_open(self):
            return
        self.push_screen(SafeCommandPalette(id="--command-palette"))

    async def action_quit(self) -> None:
        self.exit()


def parse_nodes(spec: str) -> list[dict]:
    """'0:4G,1:0' -> the [[machine.node]] list (the engine's own parser)."""
    from engine import parse_nodes_spec

    return parse_nodes_spec(spec)
