"""Compare mode: one scenario under two settings, side by side, stepping together.

Each side has its own machine (the scenario's config with one knob changed: the kernel profile
or memmap_on_memory), drawn as a label, a machine bar, a small pfn grid, the last step's result
and the counters a teacher compares: MemTotal, MemFree, present / managed per zone,
nr_vmemmap_pages per hot-added block and the step's errno. Counters whose values differ between
the sides are drawn reversed on both (`CompareScreen.differing` names them).

Both machines step in one worker thread (space / . forward, backspace / , back); `wait` steps are
applied as written, as headless playback does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from tui.theming import ThemedApp, auto_glyphs
from tui.messages import BlockClicked
from tui.screens.dialogs import BusyScreen
from tui.playback import Playback, Script, describe_result, describe_step, run_step, undo_to
from tui.widgets.machine_bar import MachineBar

try:  # the grid is another helper's; compare mode draws without it if it is missing
    from tui.widgets.pfn_grid import PfnGrid
except ImportError:  # pragma: no cover
    PfnGrid = None  # type: ignore[assignment]

SIDES = ("left", "right")


@dataclass
class Side:
    """One of the two machines being compared."""

    label: str              # "profile 6.1", "memmap_on_memory=off"
    config: Any
    machine: Any = None
    playback: Playback | None = None
    seconds: float = 0.0
    counters: dict[str, Any] = field(default_factory=dict)


def side_counters(machine: Any, rec: Any) -> dict[str, Any]:
    """The compared counters of one side, in display order (name -> value)."""
    out: dict[str, Any] = {}
    if rec is not None:
        res = rec.result
        out["step result"] = "ok" if getattr(res, "ok", False) else f"-{getattr(res, 'errno', None) or '?'}"
        if rec.marks:
            out["expect held"] = f"{sum(1 for ok, _ in rec.marks if ok)}/{len(rec.marks)}"
    try:
        mi = machine.meminfo()
        out["MemTotal kB"] = mi.get("MemTotal")
        out["MemFree kB"] = mi.get("MemFree")
    except Exception:
        pass
    try:
        for z in machine.zoneinfo():
            if not z.get("present") and not z.get("spanned"):
                continue
            name = f"n{z.get('node')} {z.get('zone')}"
            out[f"{name} present"] = z.get("present")
            out[f"{name} managed"] = z.get("managed")
    except Exception:
        pass
    try:
        vm = machine.vmstat()
        if "nr_memmap_pages" in vm:
            out["nr_memmap_pages"] = vm["nr_memmap_pages"]
    except Exception:
        pass
    try:
        for b in machine.blocks():
            if not b.get("boot") and (b.get("nr_vmemmap_pages") is not None):
                out[f"memory{b.get('id')} nr_vmemmap"] = b.get("nr_vmemmap_pages")
    except Exception:
        pass
    return out


def compare_counters(left: dict[str, Any], right: dict[str, Any]) -> tuple[list[str], set[str]]:
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


def compare_rows(left: dict[str, Any], right: dict[str, Any]) -> list[tuple[str, Any, Any, bool]]:
    """(label, left value, right value, differs) per display row: consecutive memory blocks
    whose nr_vmemmap_pages pair is the same are one row ("memory40-47 nr_vmemmap")."""
    names, differing = compare_counters(left, right)
    rows: list[tuple[str, Any, Any, bool]] = []
    run: list[Any] = []          # [first id, last id, left value, right value]

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


class CompareStepped(Message):
    """The worker moved both sides (a step forward or back)."""

    def __init__(self, kind: str, payload: list[dict], seconds: float) -> None:
        super().__init__()
        self.kind = kind          # "step" or "back"
        self.payload = payload    # per side: {"result", "marks", "history_before", ..., "machine"}
        self.seconds = seconds


class CompareScreen(Screen):
    DEFAULT_CSS = """
    CompareScreen #cmp-narration {
        height: auto; max-height: 35%;
        border-bottom: heavy $accent; padding: 0 1;
    }
    CompareScreen #cmp-sides { height: 1fr; }
    CompareScreen .cmp-side { width: 1fr; height: 1fr; }
    CompareScreen #side-left { border-right: solid $primary; }
    CompareScreen .cmp-label { height: 1; padding: 0 1; text-style: bold; background: $boost; }
    CompareScreen .cmp-bar { height: 3; padding: 0 1; }
    CompareScreen .cmp-grid { height: 1fr; min-height: 4; }
    CompareScreen .cmp-counters { height: auto; max-height: 60%; padding: 0 1;
                                  border-top: solid $primary; }
    CompareScreen.-short .cmp-bar { height: 1; }
    CompareScreen.-short .cmp-grid { display: none; }
    """

    BINDINGS = [
        Binding("space,full_stop", "app.compare_next", "Next step"),
        Binding("backspace,comma", "app.compare_back", "Step back"),
        Binding("tab", "app.focus_next", "Other side", show=False),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self, script: Script, sides: list[Side], mode: str = "color") -> None:
        super().__init__(id="compare")
        self.script = script
        self.sides = sides
        self.mode = mode
        self.differing: set[str] = set()
        self.rows: list[tuple[str, Any, Any, bool]] = []
        self.texts: dict[str, Text] = {}

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="cmp-narration"):
            yield Static("", id="cmp-say", markup=False)
        with Horizontal(id="cmp-sides"):
            for key, side in zip(SIDES, self.sides):
                with Vertical(id=f"side-{key}", classes="cmp-side"):
                    yield Static(side.label, id=f"label-{key}", classes="cmp-label", markup=False)
                    yield MachineBar(id=f"bar-{key}").add_class("cmp-bar")
                    if PfnGrid is not None:
                        yield PfnGrid(side.machine, mode=self.mode, id=f"grid-{key}",
                                      classes="cmp-grid")
                    with VerticalScroll(classes="cmp-counters"):
                        yield Static("", id=f"counters-{key}", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        for key in SIDES:
            self.query_one(f"#bar-{key}", MachineBar).set_mode(self.mode)
        self.refresh_all()
        grids = self.grids()
        if grids:
            grids[0].focus()

    def on_resize(self, event) -> None:
        self.set_class(event.size.height < 26, "-short")

    def grids(self) -> list[Any]:
        if PfnGrid is None:
            return []
        out = []
        for key in SIDES:
            try:
                out.append(self.query_one(f"#grid-{key}", PfnGrid))
            except Exception:
                pass
        return out

    @on(BlockClicked)
    def _block_clicked(self, event: BlockClicked) -> None:
        for grid in self.grids():
            grid.goto_pfn(event.start_pfn)

    # -- drawing -------------------------------------------------------------------------
    def refresh_all(self, *, new_machines: bool = False, follow: int | None = None) -> None:
        for key, side in zip(SIDES, self.sides):
            m = side.machine
            side.counters = side_counters(m, side.playback.last if side.playback else None)
            try:
                blocks, resources = m.blocks(), m.resources()
            except Exception:
                blocks, resources = [], []
            hot = sum(int(r.get("size", 0)) for r in resources)
            self.query_one(f"#bar-{key}", MachineBar).update_blocks(blocks, m.geometry.block_size, hot)
        for grid, side in zip(self.grids(), self.sides):
            if new_machines or grid.machine is not side.machine:
                grid.machine = side.machine
            grid.refresh_from_machine()
            if follow is not None and 0 <= follow < side.machine.geometry.max_pfn:
                grid.goto_pfn(follow)
        left, right = (s.counters for s in self.sides)
        self.rows = compare_rows(left, right)
        self.differing = {label for label, _, _, differs in self.rows if differs}
        self.query_one("#cmp-say", Static).update(self.narration_text())
        for index, (key, side) in enumerate(zip(SIDES, self.sides)):
            rec = side.playback.last if side.playback else None
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
            out.append("end · backspace: back", style="dim")
        else:
            out.append(f"space: step {pb.position + 1} ({describe_step(pb.next_step or {})}) · "
                       f"backspace: back · counters that differ are reversed", style="dim")
        return out

    def side_text(self, side: Side, index: int) -> Text:
        """The counters first (they are what is compared), then the step's result in words."""
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
        rec = side.playback.last if side.playback else None
        if rec is not None:
            ok = bool(getattr(rec.result, "ok", False))
            out.append("\n")
            out.append(describe_result(rec.result) + "\n", style="bold green" if ok else "bold red")
            for held, words in rec.marks:
                if not held:
                    out.append(f"✗ {words}\n", style="red")
        return out


class CompareApp(ThemedApp):
    """`memmap-tui compare`: two machines, one scenario."""

    TITLE = "memmap-tui compare"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", show=False, priority=True)]

    def __init__(self, script: Script, sides: list[tuple[str, Any]], *, theme: str | None = None,
                 glyphs: str | None = "auto", start_step: int = 0) -> None:
        self.state_colors = {}
        super().__init__()
        from engine import Machine

        self.script = script
        self.sides: list[Side] = []
        for label, config in sides:
            side_script = Script(config=config, title=script.title, description=script.description,
                                 steps=script.steps, source=script.source, lesson=script.lesson)
            self.sides.append(Side(label, config, Machine(config), Playback(side_script)))
        self.mode = auto_glyphs(glyphs)
        self.requested_theme = theme
        self.start_step = max(0, min(int(start_step or 0), script.n))
        self.busy = False

    def state_grids(self) -> list[Any]:
        screen = self.compare_screen
        return screen.grids() if screen is not None else []

    @property
    def compare_screen(self) -> CompareScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, CompareScreen):
                return screen
        return None

    async def on_mount(self) -> None:
        await self.push_screen(CompareScreen(self.script, self.sides, mode=self.mode))
        if not self.apply_theme(self.requested_theme) and self.requested_theme:
            self.apply_theme(None)
        if self.start_step:
            self._start("step", self.start_step)

    # -- stepping ------------------------------------------------------------------------
    def action_compare_next(self) -> None:
        pb = self.sides[0].playback
        if self.busy:
            return
        if pb.at_end:
            self.notify("end of the scenario", timeout=2)
            return
        self._start("step", 1)

    def action_compare_back(self) -> None:
        pb = self.sides[0].playback
        if self.busy:
            return
        if pb.position == 0:
            self.notify("at the start", timeout=2)
            return
        self._start("back", 1)

    def _start(self, kind: str, count: int) -> None:
        """Hold the keys (and the grids, which must not draw a machine mid-change) while the
        worker moves both sides."""
        self.busy = True
        pb = self.sides[0].playback
        label = f"step {pb.position + 1}/{pb.n} on both sides" if kind == "step" else \
            f"take back step {pb.position}/{pb.n} on both sides"
        if count > 1:
            label = f"{count} steps on both sides"
        self.push_screen(BusyScreen(label))
        self._step_worker(kind, count)

    def _end_busy(self) -> None:
        self.busy = False
        if isinstance(self.screen, BusyScreen):
            self.pop_screen()

    @work(thread=True, exclusive=True, group="compare")
    def _step_worker(self, kind: str, count: int) -> None:
        start = time.perf_counter()
        payload: list[dict] = [{"records": []} for _ in self.sides]
        try:
            for _ in range(count):
                for side, out in zip(self.sides, payload):
                    pb = side.playback
                    m = out.get("machine", side.machine)
                    if kind == "step":
                        index = pb.position + len(out["records"])
                        if index >= pb.n:
                            continue
                        before = len(m.history)
                        result, marks = run_step(m, pb.script.steps[index])
                        out["records"].append((result, marks, before, len(m.history)))
                    else:
                        target = pb.done[-1 - len(out["records"])].history_before
                        new, _ = undo_to(m, target, side.config)
                        out["records"].append(None)
                        out["machine"] = new
        except Exception as exc:  # never take the app down over one step
            self.call_from_thread(self._crashed, exc)
            return
        self.post_message(CompareStepped(kind, payload, time.perf_counter() - start))

    def _crashed(self, exc: Exception) -> None:
        self._end_busy()
        self.notify(f"{type(exc).__name__}: {' '.join(str(exc).split())}", severity="error")

    def on_compare_stepped(self, message: CompareStepped) -> None:
        self._end_busy()
        new = False
        for side, out in zip(self.sides, message.payload):
            pb = side.playback
            if message.kind == "step":
                for result, marks, before, after in out["records"]:
                    pb.record(result, marks, before, after)
            else:
                for _ in out["records"]:
                    pb.done.pop()
                if out.get("machine") is not None and out["machine"] is not side.machine:
                    side.machine = out["machine"]
                    new = True
            side.seconds = message.seconds
        screen = self.compare_screen
        if screen is not None:
            screen.refresh_all(new_machines=new, follow=self._follow_pfn())

    def _follow_pfn(self) -> int | None:
        side = self.sides[0]
        rec = side.playback.last
        args = dict(getattr(rec.result, "args", None) or {}) if rec is not None else {}
        try:
            if args.get("block") is not None:
                block = side.machine.block(int(args["block"]))
                return int(block["start_pfn"]) if block else None
            if args.get("start") is not None:
                return int(args["start"]) >> side.machine.geometry.page_shift
        except Exception:
            return None
        return None

    def action_focus_next(self) -> None:
        self.screen.focus_next()

    async def action_quit(self) -> None:
        self.exit()
