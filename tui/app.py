"""The memmap-tui App: owns one engine Machine, hands its state down to the main screen, and
handles one typed message per outcome of the jobs the runner runs.

Where things are:
- tui/actions.py: what each key does (a mixin); tui/playback_control.py: lesson playback;
- tui/runner.py: the one engine worker (progress, cancel, crash net), shared with compare mode;
- tui/theming.py: themes and drawing modes; tui/textual_compat.py: Textual workarounds;
- tui/messages.py: the outcome messages handled below.
"""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding
from textual.command import CommandPalette

from engine import Machine, MachineConfig, OpResult
from tui.actions import MachineActions
from tui.commands import MemmapCommands
from tui.config import Settings
from tui.formatting import describe_op, format_bytes
from tui.keys import keymap_from_config
from bridge.live import LiveMachine
from tui.job_host import JobHost
from tui.live_view import LiveView
from tui.messages import (MachineReplaced, OpApplied, OpCancelled, OpCrashed, OpRefused,
                          RangeApplied, Undone)
from tui.playback import Playback
from tui.playback_control import PLAYBACK_ACTIONS, PlaybackControl
from tui.collector import IdleCollector, freeze_long_lived
from tui.runner import EngineRunner
from tui.screens.main import MainScreen
from tui.textual_compat import command_palette_class, guard_option_list_races
from tui.theming import MODE_WORDS, ThemedApp, auto_glyphs
from tui.widgets.pfn_grid import PfnGrid

guard_option_list_races()


class MemmapApp(LiveView, MachineActions, PlaybackControl, JobHost, ThemedApp):
    CSS_PATH = "app.tcss"
    TITLE = "memmap-tui"
    COMMANDS = App.COMMANDS | {MemmapCommands}
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", show=False, priority=True)]

    def __init__(self, *, config: MachineConfig | None = None, machine: Machine | None = None,
                 theme: str | None = None, glyphs: str | None = "auto",
                 settings: Settings | None = None, steps: list[dict] | None = None,
                 notes: list[str] | None = None, playback: Playback | None = None,
                 live_interval: float = 2.0) -> None:
        self.settings = settings or Settings()
        self.keymap_config = keymap_from_config(self.settings.keys)
        self.state_colors = {}
        super().__init__()
        if machine is None:
            config = config or MachineConfig.default()
            machine = Machine(config)
        # an engine Machine, or any object with its read interface (bridge.protocol.MachineView),
        # such as a live view of this machine (bridge.live.LiveMachine: see tui/live_view.py)
        self.machine = machine
        self.config = config if config is not None else machine.config
        self.live_interval = live_interval
        self.mode = auto_glyphs(glyphs if glyphs not in (None, "auto") else self.settings.glyphs)
        self.runner = EngineRunner(self)
        self.collector = IdleCollector()
        self.startup_steps = list(steps or [])
        self.startup_notes = list(notes or [])
        self.requested_theme = theme or self.settings.theme
        self.playback = playback
        self.anchor_block = None
        self.last_answers = {}
        self.jump_targets = []
        self.jump_index = -1
        self.last_result: OpResult | None = None
        if self.keymap_config:
            self.set_keymap(self.keymap_config)

    def state_grids(self) -> list[PfnGrid]:
        main = self.main_screen
        return [main.grid] if main is not None and main.grid is not None else []

    @property
    def main_screen(self) -> MainScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                return screen
        return None

    # -- lifecycle ---------------------------------------------------------------------
    async def on_mount(self) -> None:
        if isinstance(self.machine, Machine):
            # a machine handed in ready-made (not booted by a job): its read caches now, before
            # the first frame, not in the first wide read (a zoom out) of a TiB machine, and
            # its objects out of the collector's passes, as the runner does after every job
            self.machine.prepare_reads()
            freeze_long_lived()
        await self.push_screen(MainScreen(self.machine, mode=self.mode))
        self.start_idle_collector()
        if not self.apply_theme(self.requested_theme) and self.requested_theme:
            self.apply_theme(None)
        main = self.main_screen
        log = main.log_widget
        geo = self.machine.geometry
        log.note(f"booted {geo.arch}, profile {geo.profile}: {format_bytes(geo.page_size)} pages, "
                 f"{format_bytes(geo.block_size)} blocks, {geo.struct_page_size}-byte struct page "
                 f"· ? for help, ctrl+p for every command")
        for note in self.startup_notes:
            log.note(note, style="bold")
            self.notify(note, markup=False)
        for warning in self.settings.warnings:
            log.note(warning, style="yellow")
            self.notify(warning, severity="warning", markup=False)
        main.grid.crosshair = self.settings.crosshair
        if self.playback is not None:
            self.start_playback(self.playback)
        if isinstance(self.machine, LiveMachine):
            self.start_live()
        self.refresh_status()
        if self.startup_steps:
            steps, self.startup_steps = self.startup_steps, []
            self.replace_machine(f"replay scenario ({len(steps)} steps)", self.config, steps)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in PLAYBACK_ACTIONS:
            return self.playback_allows(action)
        return True

    def action_command_palette(self) -> None:
        if self.busy or not self.use_command_palette or CommandPalette.is_open(self):
            return
        self.push_screen(command_palette_class()(id="--command-palette"))

    async def action_quit(self) -> None:
        self.exit()

    def refresh_status(self) -> None:
        """Hand the status line what it shows (profile, zoom, mode, theme, running job)."""
        main = self.main_screen
        if main is not None:
            main.show_status(self.status_facts())

    def status_facts(self) -> dict[str, str]:
        geo = self.machine.geometry
        return {"profile": geo.profile, "arch": geo.arch,
                "page": format_bytes(geo.page_size), "block": format_bytes(geo.block_size),
                "mode": MODE_WORDS.get(self.mode, self.mode),
                "theme": self.current_theme_name or "",
                "running": self.runner.running_words()}

    # -- running jobs (tui/job_host.py) ------------------------------------------------------
    def job_machines(self) -> list[Machine]:
        return [self.machine]

    def after_change(self, result: OpResult | None, *, new_machine: bool = False) -> None:
        """The machine changed: every panel shows the new state in this one frame, and `]`
        visits what the operation changed."""
        main = self.main_screen
        if main is None:
            return
        with self.batch_update():
            main.set_highlight([])
            if new_machine:
                self.anchor_block = None
                main.set_selection(None)
            main.show_machine(self.machine, new=new_machine, mark_changes=not new_machine)
            if new_machine:
                present = self.machine.present_sections()
                if len(present) and main.grid is not None:
                    main.grid.goto_pfn(int(present[0]) * self.machine.geometry.pages_per_section)
                    main.refresh_inspector()
            elif result is not None and result.ok:
                self.set_jump_targets(list(result.changed))
                self.follow(result.args, result.blocks)
            self.refresh_status()

    def follow(self, args: dict, new_blocks: list[int] | None = None) -> None:
        """Put the cursor where an operation acted: its new block, its block, or its range
        (`]` then visits every range it changed)."""
        main = self.main_screen
        if main is None or main.grid is None:
            return
        geo = self.machine.geometry
        pfn: int | None = None
        start = args.get("start")
        if new_blocks:
            pfn = new_blocks[0] * geo.pages_per_block
        elif isinstance(args.get("block"), int):
            block = self.machine.block(args["block"])
            pfn = int(block["start_pfn"]) if block is not None else None
        elif isinstance(start, int) and not isinstance(start, bool):
            pfn = start >> geo.page_shift
        if pfn is not None and 0 <= pfn < geo.max_pfn:
            main.grid.goto_pfn(pfn)
            main.refresh_inspector()

    # -- outcomes (one handler per message) ----------------------------------------------
    def on_op_applied(self, message: OpApplied) -> None:
        self.job_done()
        self.last_result = message.result
        main = self.main_screen
        if main is None:
            return
        main.log_widget.log_result(message.label, message.result, message.seconds)
        self.after_change(message.result)
        self.playback_after_user_op(message.result)

    def on_op_refused(self, message: OpRefused) -> None:
        self.job_done()
        result = message.result
        self.last_result = result
        main = self.main_screen
        if main is None:
            return
        main.log_widget.log_result(message.label, result, message.seconds)
        body = f"-{result.errno} {result.error}" + (f"\n{result.check}" if result.check else "")
        self.notify(body, title=f"{result.op} refused", severity="error", timeout=8, markup=False)
        if result.left_behind:
            self.after_change(result)
        self.playback_after_user_op(result)

    def on_range_applied(self, message: RangeApplied) -> None:
        self.job_done()
        main = self.main_screen
        if main is None:
            return
        for result in message.results:
            main.log_widget.log_result(describe_op({"op": result.op, **result.args}), result)
        refused = [r for r in message.results if not r.ok]
        main.log_widget.note(f"{message.label}: {len(message.results) - len(refused)} done, "
                             f"{len(refused)} refused ({message.seconds:.2f} s)", style="bold")
        if refused:
            first = refused[0]
            self.notify(f"{len(refused)} of {len(message.results)} refused; first: "
                        f"{describe_op({'op': first.op, **first.args})}: -{first.errno} "
                        f"{first.error}", title="range", severity="warning", timeout=8,
                        markup=False)
        self.anchor_block = None
        main.set_selection(None)
        self.after_change(None)
        changed = [r for res in message.results if res.ok for r in res.changed]
        self.set_jump_targets(sorted(changed))

    def on_undone(self, message: Undone) -> None:
        self.job_done()
        main = self.main_screen
        if main is None:
            return
        main.log_widget.note(f"↶ {message.label} ({message.seconds:.2f} s)", style="bold")
        self.after_change(None)
        self.follow({k: v for k, v in message.op.items() if k != "op"})
        self.playback_after_undo()

    def on_machine_replaced(self, message: MachineReplaced) -> None:
        self.job_done()
        self.machine = message.machine
        self.config = message.config
        main = self.main_screen
        if main is None:
            return
        log = main.log_widget
        for result, say in zip(message.replay.results, message.replay.says):
            if say:
                log.note(f"» {' '.join(str(say).split())}", style="italic")
            log.log_result(describe_op({"op": result.op, **result.args}), result)
        geo = self.machine.geometry
        log.note(f"{message.label}: {geo.arch}, profile {geo.profile}, "
                 f"{format_bytes(geo.block_size)} blocks, {geo.struct_page_size}-byte struct page "
                 f"({message.seconds:.2f} s)", style="bold")
        refused = message.replay.refused
        if refused:
            self.notify(f"{len(refused)} of {len(message.replay.results)} replayed steps were "
                        f"refused on profile {geo.profile}: see the log", severity="warning")
        self.end_playback("the machine was replaced")
        self.after_change(None, new_machine=True)
        if message.playback is not None:
            self.start_playback(message.playback)

    def on_op_cancelled(self, message: OpCancelled) -> None:
        self.job_done()
        main = self.main_screen
        if main is None:
            return
        main.log_widget.note(f"✗ {message.label}: cancelled after {message.seconds:.1f} s; the "
                             f"machine is exactly as before", style="bold yellow")
        self.notify(f"cancelled: {message.label}", severity="warning", markup=False)
        self.after_change(None)

    def on_op_crashed(self, message: OpCrashed) -> None:
        self.job_done()
        main = self.main_screen
        self.report_crash(main.log_widget if main is not None else None, message)
        if main is not None:
            self.after_change(None)

