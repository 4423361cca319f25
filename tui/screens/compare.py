"""Compare mode: one scenario under two settings, side by side, stepping together.

Each side has its own machine (the scenario's config with one knob changed: the kernel profile
or memmap_on_memory), drawn as a label, a machine bar, a pfn grid, the last step's result and
the counters a teacher compares: MemTotal, MemFree, present / managed per zone,
nr_vmemmap_pages per hot-added block and the step's errno. Counters whose values differ between
the sides are drawn reversed on both (`CompareScreen.differing` names them). Each side's
`expect` facts are checked on its own machine, so a fact can hold on one side and not the other.

Steps run through the shared EngineRunner (tui/job_host.py): a progress display for long steps,
esc cancels (both machines end exactly as before the step), the crash net logs the traceback.
Each outcome is its own typed message: CompareStepped, CompareSteppedBack, and the runner's
OpCancelled / OpCrashed. The grids move together: the cursor and zoom of the grid you drive are
copied to the other one. `wait` steps are applied as written, as headless playback does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.command import CommandPalette
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import Resize
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from engine import Cancelled, Machine, MachineConfig, OpResult
from tui.formatting import human_bytes
from tui.collector import IdleCollector
from tui.job_host import JobHost
from tui.keys import ActionSpec
from tui.messages import BlockClicked, OpCancelled, OpCrashed
from tui.playback import (Playback, Script, StepRecord, describe_result, describe_step, run_step,
                          undo_to)
from tui.runner import EngineRunner
from tui.screens.help import HelpScreen
from tui.widgets.counters import vmemmap_runs, zones_in_use
from tui.textual_compat import command_palette_class, guard_option_list_races
from tui.theming import MODE_WORDS, ThemedApp, auto_glyphs, next_mode
from tui.widgets.event_log import EventLog
from tui.widgets.machine_bar import MachineBar
from tui.widgets.pfn_grid import PfnGrid

guard_option_list_races()

SIDES = ("left", "right")
Counter = int | str | None

# Compare mode's keys: the one table feeds its bindings, footer and help screen.
COMPARE_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("compare_next", "space,full_stop", "compare_next", "Next step", "Next step",
               "Apply the next step on both sides (each side's expect facts are checked on its "
               "own machine)", footer=True),
    ActionSpec("compare_back", "backspace,comma", "compare_back", "Step back", "Step back",
               "Take the last step back on both sides", footer=True),
    ActionSpec("other_side", "tab", "other_side", "Other side", "Other side",
               "Drive the other side's grid (the grids always show the same pfn)"),
    ActionSpec("cycle_mode", "c", "cycle_mode", "Mode", "Cycle colour / glyph / ascii",
               "Cycle both grids between colour, glyph and ASCII drawing"),
    ActionSpec("cycle_theme", "t", "cycle_theme", "Theme", "Cycle theme",
               "Switch to the next theme (the state colours follow)"),
    ActionSpec("screenshot", "f8", "screenshot", "Shot", "Save SVG screenshot",
               "Save an SVG screenshot of the screen in the current directory"),
    ActionSpec("help", "question_mark,f1", "help", "Help", "Help and legend",
               "Every key and the colour / glyph legend", footer=True),
    ActionSpec("quit", "q", "quit", "Quit", "Quit", "Quit compare mode", footer=True),
)
COMPARE_KEYS_TITLE = ("compare mode keys (both sides step together; a long step shows its "
                      "progress, esc cancels it and both machines stay as before)")
COMPARE_EXTRA_ROWS = (("both grids", "the other grid follows the cursor and the zoom"),
                      ("ctrl+q", "quit from anywhere"))


@dataclass
class Side:
    """One of the two machines being compared."""

    label: str              # "profile 6.1", "memmap_on_memory=off"
    config: MachineConfig
    machine: Machine
    playback: Playback
    counters: dict[str, Counter] = field(default_factory=dict)


def side_counters(machine: Machine, rec: StepRecord | None) -> dict[str, Counter]:
    """The compared counters of one side, in display order (name -> value)."""
    out: dict[str, Counter] = {}
    if rec is not None:
        res: OpResult = rec.result
        out["step result"] = "ok" if res.ok else f"-{res.errno or '?'}"
        if rec.marks:
            out["expect held"] = f"{sum(1 for ok, _ in rec.marks if ok)}/{len(rec.marks)}"
    meminfo = machine.meminfo()
    out["MemTotal kB"] = meminfo["MemTotal"]
    out["MemFree kB"] = meminfo["MemFree"]
    for zone in zones_in_use(machine):
        name = f"n{zone['node']} {zone['zone']}"
        out[f"{name} present"] = zone["present"]
        out[f"{name} managed"] = zone["managed"]
    vmstat = machine.vmstat()
    if "nr_memmap_pages" in vmstat:
        out["nr_memmap_pages"] = vmstat["nr_memmap_pages"]
    for lo, hi, value in vmemmap_runs(machine.block_table(), every_hot_added=True):
        out[f"memory{lo}" + (f"-{hi}" if hi > lo else "") + " nr_vmemmap"] = value
    return out


def compare_counters(left: dict[str, Counter],
                     right: dict[str, Counter]) -> tuple[list[str], set[str]]:
    """All counter names in display order, and those whose values differ (or exist on one side)."""
    names = list(left)
    names += [k for k in right if k not in left]
    differing = {k for k in names if left.get(k) != right.get(k)}
    return names, differing


def _block_id(name: str) -> int | None:
    if name.startswith("memory") and name.endswith(" nr_vmemmap"):
        digits = name[len("memory"):-len(" nr_vmemmap")]
        return int(digits) if digits.isdigit() else None
    return None


def compare_rows(left: dict[str, Counter],
                 right: dict[str, Counter]) -> list[tuple[str, Counter, Counter, bool]]:
    """(label, left value, right value, differs) per display row: consecutive memory blocks
    whose nr_vmemmap_pages pair is the same are one row ("memory40-47 nr_vmemmap")."""
    names, differing = compare_counters(left, right)
    rows: list[tuple[str, Counter, Counter, bool]] = []
    run: list = []          # [first id, last id, left value, right value]

    def flush() -> None:
        if run:
            lo, hi, lv, rv = run
            label = f"memory{lo} nr_vmemmap" if lo == hi else f"memory{lo}-{hi} nr_vmemmap"
            rows.append((label, lv, rv, lv != rv))
            run.clear()

    missing = "—"
    for name in names:
        bid = _block_id(name)
        lv, rv = left.get(name, missing), right.get(name, missing)
        if bid is None:
            flush()
            rows.append((name, lv, rv, name in differing))
        elif run and bid == run[1] + 1 and (lv, rv) == (run[2], run[3]):
            run[1] = bid
        else:
            flush()
            run.extend([bid, bid, lv, rv])
    flush()
    return rows


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(1, width - 1)] + "…"


# ------------------------------------------------------------------------------------------
# the jobs and their outcomes (worker thread)
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SideStep:
    """One step applied on one side: its result and its expect marks, checked on that side's
    own machine."""

    result: OpResult
    marks: list[tuple[bool, str]]
    history_before: int
    history_after: int


class CompareStepped(Message):
    """The next step went through on both sides (`steps`: one per side, in side order)."""

    def __init__(self, label: str, steps: list[SideStep], seconds: float) -> None:
        super().__init__()
        self.label = label
        self.steps = steps
        self.seconds = seconds


class CompareSteppedBack(Message):
    """The last step was taken back on both sides; `machines` holds a rebuilt machine for a side
    whose undo journal did not reach far enough (None: the same machine, undone in place)."""

    def __init__(self, label: str, machines: list[Machine | None], seconds: float) -> None:
        super().__init__()
        self.label = label
        self.machines = machines
        self.seconds = seconds


def _detach(machines: list[Machine]) -> None:
    """Rolling back after a cancel must not be cancelled itself: no progress hook."""
    for machine in machines:
        machine.progress_hook = None


def step_job(label: str, machines: list[Machine], step: dict):
    """The job applying `step` on every machine; on cancel the sides already done are undone,
    so both machines end exactly as before (the cancelled side is rolled back by the engine)."""

    def job() -> CompareStepped:
        start = time.perf_counter()
        steps: list[SideStep] = []
        try:
            for machine in machines:
                before = len(machine.history)
                result, marks = run_step(machine, step)
                steps.append(SideStep(result, marks, before, len(machine.history)))
        except Cancelled:
            _detach(machines)
            for machine, done in zip(machines, steps):
                while len(machine.history) > done.history_before and machine.undo():
                    pass
            raise
        return CompareStepped(label, steps, time.perf_counter() - start)

    return job


def back_job(label: str, machines: list[Machine], configs: list[MachineConfig],
             targets: list[int]):
    """The job taking every machine back to its history length in `targets`; on cancel the
    sides already taken back are redone, so both machines end exactly as before."""

    def job() -> CompareSteppedBack:
        start = time.perf_counter()
        lengths = [len(machine.history) for machine in machines]
        replaced: list[Machine | None] = []
        try:
            for machine, config, target in zip(machines, configs, targets):
                new, _ = undo_to(machine, target, config)
                replaced.append(new if new is not machine else None)
        except Cancelled:
            _detach(machines)
            for machine, length in zip(machines[:len(replaced)], lengths):
                while len(machine.history) < length and machine.redo() is not None:
                    pass
            raise
        return CompareSteppedBack(label, replaced, time.perf_counter() - start)

    return job


# ------------------------------------------------------------------------------------------
# the screen
# ------------------------------------------------------------------------------------------
class CompareScreen(Screen):
    DEFAULT_CSS = """
    CompareScreen #cmp-status { height: 1; padding: 0 1; background: $panel; color: $text; }
    CompareScreen #cmp-narration {
        height: auto; max-height: 35%;
        border-bottom: heavy $accent; padding: 0 1;
    }
    CompareScreen #cmp-sides { height: 1fr; }
    CompareScreen .cmp-side { width: 1fr; height: 1fr; }
    CompareScreen #side-left { border-right: solid $primary; }
    /* the same chrome on both sides, so both grids get the same columns and rows line up */
    CompareScreen #side-right { padding-left: 1; }
    CompareScreen .cmp-label { height: 1; padding: 0 1; text-style: bold; background: $boost; }
    CompareScreen .cmp-bar { height: 3; padding: 0 1; }
    CompareScreen .cmp-grid { height: 1fr; min-height: 4; }
    CompareScreen .cmp-counters { height: auto; max-height: 60%; padding: 0 1;
                                  border-top: solid $primary; }
    CompareScreen #cmp-log { height: 5; border-top: solid $primary; padding: 0 1; }
    CompareScreen.-short .cmp-bar { height: 1; }
    CompareScreen.-short .cmp-grid { display: none; }
    CompareScreen.-short #cmp-log { display: none; }
    CompareScreen.-short .cmp-counters { height: 1fr; max-height: 100%; }
    """

    BINDINGS = [Binding(spec.keys, f"app.{spec.action}", spec.label, show=spec.footer)
                for spec in COMPARE_ACTIONS]

    def __init__(self, script: Script, sides: list[Side], mode: str = "color") -> None:
        super().__init__(id="compare")
        self.script = script
        self.sides = sides
        self.mode = mode
        self.differing: set[str] = set()
        self.rows: list[tuple[str, Counter, Counter, bool]] = []
        self.texts: dict[str, Text] = {}
        self.status_facts: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield Static("", id="cmp-status", markup=False)
        with VerticalScroll(id="cmp-narration"):
            yield Static("", id="cmp-say", markup=False)
        with Horizontal(id="cmp-sides"):
            for key, side in zip(SIDES, self.sides):
                with Vertical(id=f"side-{key}", classes="cmp-side"):
                    yield Static(side.label, id=f"label-{key}", classes="cmp-label", markup=False)
                    yield MachineBar(id=f"bar-{key}").add_class("cmp-bar")
                    yield PfnGrid(side.machine, mode=self.mode, id=f"grid-{key}",
                                  classes="cmp-grid")
                    with VerticalScroll(classes="cmp-counters"):
                        yield Static("", id=f"counters-{key}", markup=False)
        yield EventLog(id="cmp-log")
        yield Footer()

    def on_mount(self) -> None:
        for key in SIDES:
            self.query_one(f"#bar-{key}", MachineBar).set_mode(self.mode)
        self.refresh_all()
        grids = self.grids()
        for grid in grids:
            # only cached lines while a step changes the machines in the worker
            grid.engine_busy = lambda: self.app.busy
        grids[0].focus()

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.height < 26, "-short")

    def grids(self) -> list[PfnGrid]:
        return [self.query_one(f"#grid-{key}", PfnGrid) for key in SIDES]

    @property
    def log_widget(self) -> EventLog:
        return self.query_one("#cmp-log", EventLog)

    # -- the grids move together -----------------------------------------------------------
    def leading_grid(self) -> PfnGrid | None:
        """The grid the user drives (focused); the other one follows it."""
        focused = self.focused
        return focused if isinstance(focused, PfnGrid) else None

    def follow(self, pfn: int) -> None:
        """Put every grid's cursor on `pfn` (the nearest laid-out pfn on a side without it)."""
        for grid in self.grids():
            if grid.cursor_pfn != pfn:
                grid.goto_pfn(pfn)

    @on(PfnGrid.CursorMoved)
    def _cursor_moved(self, event: PfnGrid.CursorMoved) -> None:
        leader = self.leading_grid()
        # Only the leader's moves are copied: a follower landing on its nearest pfn (when its
        # machine has nothing at the leader's pfn) must not pull the leader there.
        if leader is None or leader.cursor_pfn != event.pfn:
            return
        for grid in self.grids():
            if grid is not leader and grid.cursor_pfn != event.pfn:
                grid.goto_pfn(event.pfn)

    @on(PfnGrid.ZoomChanged)
    def _zoom_changed(self, event: PfnGrid.ZoomChanged) -> None:
        leader = self.leading_grid()
        if leader is None or leader.per_cell != event.per_cell:
            return
        for grid in self.grids():
            if grid is not leader and grid.per_cell != event.per_cell:
                grid.per_cell = event.per_cell
        self.show_status(self.status_facts)

    @on(BlockClicked)
    def _block_clicked(self, event: BlockClicked) -> None:
        self.follow(event.start_pfn)

    def focus_other(self) -> None:
        leader = self.leading_grid()
        grids = self.grids()
        target = grids[1] if leader is grids[0] else grids[0]
        target.focus()
        if leader is not None:
            target.goto_pfn(leader.cursor_pfn)

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        for key, grid in zip(SIDES, self.grids()):
            grid.mode = mode
            self.query_one(f"#bar-{key}", MachineBar).set_mode(mode)

    # -- drawing -------------------------------------------------------------------------
    def show_status(self, facts: dict[str, str]) -> None:
        """The status line: what is compared, the zoom in words, mode, theme, the running job."""
        self.status_facts = facts
        if not facts:
            return
        grid = self.grids()[0]
        geo = self.sides[0].machine.geometry
        per = grid.per_cell
        zoom = f"1 cell = {per} pfn{'s' if per != 1 else ''} ({human_bytes(per * geo.page_size)})"
        parts = [f"{self.sides[0].label} vs {self.sides[1].label}",
                 f"running: {facts['running']}" if facts["running"] else "idle", zoom,
                 f"mode {facts['mode']}", f"theme {facts['theme']}",
                 f"{geo.arch} · {human_bytes(geo.page_size)} pages"]
        self.query_one("#cmp-status", Static).update(" │ ".join(parts))

    def refresh_all(self, *, follow: int | None = None) -> None:
        for key, side in zip(SIDES, self.sides):
            machine = side.machine
            side.counters = side_counters(machine, side.playback.last)
            self.query_one(f"#bar-{key}", MachineBar).update_blocks(
                machine.block_table(), machine.geometry.block_size)
        for grid, side in zip(self.grids(), self.sides):
            if grid.machine is not side.machine:
                grid.machine = side.machine
            grid.refresh_from_machine()
        if follow is not None:
            self.follow(follow)
        left, right = (s.counters for s in self.sides)
        self.rows = compare_rows(left, right)
        self.differing = {label for label, _, _, differs in self.rows if differs}
        self.query_one("#cmp-say", Static).update(self.narration_text())
        for index, (key, side) in enumerate(zip(SIDES, self.sides)):
            rec = side.playback.last
            label = side.label if rec is None else \
                f"{side.label}  ·  {side.counters.get('step result', '')}"
            self.query_one(f"#label-{key}", Static).update(label)
            text = self.side_text(side, index)
            self.texts[key] = text
            self.query_one(f"#counters-{key}", Static).update(text)

    def narration_text(self) -> Text:
        pb = self.sides[0].playback
        out = Text()
        out.append(self.script.title, style="bold")
        out.append(f"  ·  step {pb.position}/{pb.n}", style="bold")
        out.append(f"  ·  {self.sides[0].label}  vs  {self.sides[1].label}\n", style="bold")
        rec = pb.last
        if rec is None:
            if self.script.description:
                out.append(self.script.description + "\n")
        else:
            step = self.script.steps[rec.index]
            out.append(describe_step(step) + "\n", style="bold")
            say = " ".join(str(step.get("say") or "").split())
            if say:
                out.append(say + "\n")
        if pb.at_end:
            out.append("end · backspace: back · ?: help", style="dim")
        else:
            out.append(f"space: step {pb.position + 1} ({describe_step(pb.next_step or {})}) · "
                       f"backspace: back · counters that differ are reversed · ?: help",
                       style="dim")
        return out

    def side_text(self, side: Side, index: int) -> Text:
        """The counters first (they are what is compared), then the step's result in words and
        the expect facts as checked on this side's machine."""
        out = Text()
        width = max(12, min(26, max((len(r[0]) for r in self.rows), default=12) + 1))
        for row in self.rows:
            name, value, differs = row[0], row[1 + index], row[3]
            line = f"{_fit(name, width - 1):<{width}}{value!s:>11}"
            if differs:
                out.append(line, style="bold reverse")
                out.append("\n")
            else:
                out.append(line + "\n")
        rec = side.playback.last
        if rec is not None:
            ok = rec.result.ok
            out.append("\n")
            out.append(describe_result(rec.result) + "\n", style="bold green" if ok else "bold red")
            for held, words in rec.marks:
                out.append(f"{'✓' if held else '✗'} {words}\n",
                           style="green" if held else "red")
        return out


class CompareApp(JobHost, ThemedApp):
    """`memmap-tui compare`: two machines, one scenario."""

    TITLE = "memmap-tui compare"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", show=False, priority=True)]

    def __init__(self, script: Script, sides: list[tuple[str, MachineConfig]], *,
                 theme: str | None = None, glyphs: str | None = "auto",
                 start_step: int = 0) -> None:
        self.state_colors = {}
        super().__init__()
        self.script = script
        self.sides: list[Side] = []
        for label, config in sides:
            side_script = Script(config=config, title=script.title, description=script.description,
                                 steps=script.steps, source=script.source, lesson=script.lesson)
            self.sides.append(Side(label, config, Machine(config), Playback(side_script)))
        self.mode = auto_glyphs(glyphs)
        self.requested_theme = theme
        self.runner = EngineRunner(self)
        self.collector = IdleCollector()
        # steps still to apply on their own (--step N): one job each, so esc stops between them
        self.pending_steps = max(0, min(int(start_step or 0), script.n))

    def state_grids(self) -> list[PfnGrid]:
        screen = self.compare_screen
        return screen.grids() if screen is not None else []

    def job_machines(self) -> list[Machine]:
        return [side.machine for side in self.sides]

    @property
    def compare_screen(self) -> CompareScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, CompareScreen):
                return screen
        return None

    async def on_mount(self) -> None:
        await self.push_screen(CompareScreen(self.script, self.sides, mode=self.mode))
        self.start_idle_collector()
        if not self.apply_theme(self.requested_theme) and self.requested_theme:
            self.apply_theme(None)
        self.refresh_status()
        if self.pending_steps:
            self.step_on()

    def refresh_status(self) -> None:
        screen = self.compare_screen
        if screen is not None:
            screen.show_status({"mode": MODE_WORDS.get(self.mode, self.mode),
                                "theme": self.current_theme_name or "",
                                "running": self.runner.running_words()})

    def idle_compare(self) -> CompareScreen | None:
        """The compare screen when it is on top and no step runs (else a notice and None)."""
        if self.runner.busy:
            self.notify(f"busy with {self.runner.label}: wait, or esc to cancel",
                        severity="warning", markup=False)
            return None
        screen = self.compare_screen
        return screen if screen is not None and self.screen is screen else None

    # -- stepping ------------------------------------------------------------------------
    def step_on(self) -> bool:
        """Apply the next step on both sides (False: at the end, or a step runs)."""
        pb = self.sides[0].playback
        if pb.at_end:
            self.pending_steps = 0
            return False
        index = pb.position
        step = dict(self.script.steps[index])
        label = f"step {index + 1}/{pb.n} on both sides: {describe_step(step)}"
        return self.run_job(label, step_job(label, self.job_machines(), step))

    def action_compare_next(self) -> None:
        if self.idle_compare() is None:
            return
        if self.sides[0].playback.at_end:
            self.notify("end of the scenario: backspace steps back", timeout=2)
            return
        self.step_on()

    def action_compare_back(self) -> None:
        if self.idle_compare() is None:
            return
        pb = self.sides[0].playback
        if pb.position == 0:
            self.notify("at the start: nothing to step back", timeout=2)
            return
        label = f"take back step {pb.position}/{pb.n} on both sides"
        targets = [side.playback.done[-1].history_before for side in self.sides]
        configs = [side.config for side in self.sides]
        self.run_job(label, back_job(label, self.job_machines(), configs, targets))

    # -- outcomes (one handler per message) ----------------------------------------------
    def on_compare_stepped(self, message: CompareStepped) -> None:
        self.job_done()
        screen = self.compare_screen
        for side, done in zip(self.sides, message.steps):
            side.playback.record(done.result, done.marks, done.history_before,
                                 done.history_after)
            if screen is not None:
                held = sum(1 for ok, _ in done.marks if ok)
                facts = f" · expect {held}/{len(done.marks)}" if done.marks else ""
                screen.log_widget.note(f"{side.label}: {describe_result(done.result)}{facts}",
                                       style="green" if done.result.ok else "red")
        if screen is not None:
            screen.refresh_all(follow=self.follow_pfn())
        if self.pending_steps:
            self.pending_steps -= 1
            if self.pending_steps:
                self.step_on()

    def on_compare_stepped_back(self, message: CompareSteppedBack) -> None:
        self.job_done()
        for side, machine in zip(self.sides, message.machines):
            side.playback.done.pop()
            if machine is not None:
                side.machine = machine
        screen = self.compare_screen
        if screen is not None:
            screen.log_widget.note(f"↶ {message.label}", style="bold")
            screen.refresh_all(follow=self.follow_pfn())

    def on_op_cancelled(self, message: OpCancelled) -> None:
        self.job_done()
        self.pending_steps = 0
        screen = self.compare_screen
        if screen is not None:
            screen.log_widget.note(f"✗ {message.label}: cancelled after {message.seconds:.1f} s; "
                                   f"both machines are exactly as before", style="bold yellow")
            screen.refresh_all()
        self.notify(f"cancelled: {message.label}", severity="warning", markup=False)

    def on_op_crashed(self, message: OpCrashed) -> None:
        self.job_done()
        self.pending_steps = 0
        screen = self.compare_screen
        self.report_crash(screen.log_widget if screen is not None else None, message)

    def follow_pfn(self) -> int | None:
        """Where the last step acted (its block or its start address), on the left machine."""
        side = self.sides[0]
        rec = side.playback.last
        if rec is None:
            return None
        args = rec.result.args
        geo = side.machine.geometry
        if isinstance(args.get("block"), int):
            block = side.machine.block(args["block"])
            return int(block["start_pfn"]) if block is not None else None
        if isinstance(args.get("start"), int) and not isinstance(args.get("start"), bool):
            pfn = args["start"] >> geo.page_shift
            return pfn if 0 <= pfn < geo.max_pfn else None
        return None

    # -- looks and keys ------------------------------------------------------------------
    def action_other_side(self) -> None:
        screen = self.compare_screen
        if screen is not None and self.screen is screen:
            screen.focus_other()

    def action_cycle_mode(self) -> None:
        screen = self.compare_screen
        if screen is None:
            return
        self.mode = next_mode(self.mode)
        screen.set_mode(self.mode)
        self.refresh_status()
        self.notify(f"grid mode: {MODE_WORDS[self.mode]}", timeout=2)

    def action_cycle_theme(self) -> None:
        name = self.cycle_theme()
        if name is not None:
            self.refresh_status()
            self.notify(f"theme: {name}", timeout=2)

    def action_screenshot(self) -> None:
        path = self.screenshot_here()
        screen = self.compare_screen
        if path is not None and screen is not None:
            screen.log_widget.note(f"screenshot saved: {path}")

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(None, self.state_colors, actions=COMPARE_ACTIONS,
                                    title="memmap-tui compare help",
                                    keys_title=COMPARE_KEYS_TITLE,
                                    extra_rows=COMPARE_EXTRA_ROWS))

    def action_command_palette(self) -> None:
        """ctrl+p: Textual's commands (themes: ours) in the palette with the race guards."""
        if self.busy or not self.use_command_palette or CommandPalette.is_open(self):
            return
        self.push_screen(command_palette_class()(id="--command-palette"))

    async def action_quit(self) -> None:
        self.exit()

