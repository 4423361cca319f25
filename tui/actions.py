"""What the keys of the main screen do: each action reads where the cursor is, asks a dialog when
it needs more, and hands one engine job to the runner. A mixin of `MemmapApp`.

Actions never touch engine internals; they call the engine's public API (docs/engine-api.md)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from engine import FAULTS, KNOBS, PROFILES, Machine, MachineConfig, OpResult
from engine.scenario import Scenario
from engine.states import CODE
from tui.formatting import describe_op, format_bytes, one_line, parse_target
from tui.messages import MachineReplaced, OpApplied, OpRefused, RangeApplied, ReplayOutcome, Undone
from tui.playback import Playback, Script
from tui.screens.dialogs import (AllocDialog, ChoiceDialog, HotAddDialog, NewMachineDialog,
                                 PromptDialog)
from tui.screens.help import HelpScreen
from tui.screens.lessons import LessonsScreen, lesson_entries
from tui.screens.main import MainScreen
from tui.theming import MODE_WORDS, next_mode

if TYPE_CHECKING:
    from tui.app import MemmapApp

ONLINE_TYPES = (("online: the kernel picks the zone (online_policy)", "online"),
                ("online_kernel: a kernel zone (ZONE_NORMAL)", "online_kernel"),
                ("online_movable: ZONE_MOVABLE", "online_movable"))
RANGE_OPS = (("online every block (the kernel picks the zone)", "online"),
             ("online_kernel every block", "online_kernel"),
             ("online_movable every block", "online_movable"),
             ("offline every block (chmem --disable)", "offline"),
             ("remove every block (offline first; one remove_memory per block)", "remove"))


def op_outcome(label: str, result: OpResult, seconds: float) -> OpApplied | OpRefused:
    """The message for one operation's result."""
    return (OpApplied if result.ok else OpRefused)(label, result, seconds)


def timed(label: str, call: Callable[[], OpResult]) -> Callable[[], OpApplied | OpRefused]:
    """A job that runs one engine call and reports its outcome."""

    def job() -> OpApplied | OpRefused:
        start = time.perf_counter()
        result = call()
        return op_outcome(label, result, time.perf_counter() - start)

    return job


def range_ops(machine: Machine, block_ids: list[int], what: str) -> list[dict]:
    """The kernel operations, in order, that a range command is made of (chmem goes block by
    block; blocks already in the asked state are skipped, as chmem skips them)."""
    ops: list[dict] = []
    blocks = [b for b in (machine.block(bid) for bid in block_ids) if b is not None]
    if what == "offline" or what == "remove":
        ops += [{"op": "offline", "block": b["id"]} for b in blocks if b["online"]]
    elif what in ("online", "online_kernel", "online_movable"):
        ops += [{"op": "online", "block": b["id"], "type": what} for b in blocks if not b["online"]]
    if what == "remove":
        size = machine.geometry.block_size
        shift = machine.geometry.page_shift
        ops += [{"op": "remove", "start": b["start_pfn"] << shift, "size": size}
                for b in blocks if not b["boot"]]
    return ops


class MachineActions:
    """The operations half of the app (see the module docstring)."""

    machine: Machine
    config: MachineConfig
    mode: str
    anchor_block: int | None
    last_answers: dict[str, object]
    jump_targets: list[tuple[int, int]]
    jump_index: int

    # -- where the cursor is ------------------------------------------------------------
    def idle_main(self: MemmapApp) -> MainScreen | None:
        """The main screen when it is on top and no job runs (else a notice and None)."""
        if self.runner.busy:
            self.notify(f"busy with {self.runner.label}: wait, or esc to cancel",
                        severity="warning", markup=False)
            return None
        main = self.main_screen
        if main is None or self.screen is not main:
            return None
        return main

    def cursor_or_notice(self: MemmapApp, main: MainScreen) -> int | None:
        pfn = main.cursor_pfn()
        if pfn is None:
            self.notify("nothing selected: move the cursor onto the grid first",
                        severity="warning")
        return pfn

    def block_under_cursor(self: MemmapApp, main: MainScreen, what: str) -> dict | None:
        pfn = self.cursor_or_notice(main)
        if pfn is None:
            return None
        blk = self.machine.block_of(pfn)
        block = self.machine.block(blk) if blk is not None else None
        if block is None:
            self.notify(f"{what}: no memory block at pfn {pfn:#x} (nothing is plugged there)",
                        severity="warning")
        return block

    def resource_under_cursor(self: MemmapApp, main: MainScreen, what: str) -> dict | None:
        pfn = self.cursor_or_notice(main)
        if pfn is None:
            return None
        res = self.machine.resource_at(pfn)
        if res is not None:
            return res
        blk = self.machine.block_of(pfn)
        if blk is not None:
            self.notify(f"{what}: memory{blk} is boot memory; only hot-added ranges can be "
                        f"removed (move onto one, or hot-add with a)", severity="warning")
        else:
            self.notify(f"{what}: no hot-added range at pfn {pfn:#x}", severity="warning")
        return None

    def node_ids(self: MemmapApp) -> list[int]:
        return [int(n["id"]) for n in self.machine.nodes_info()]

    def run_op(self: MemmapApp, label: str, call: Callable[[], OpResult]) -> bool:
        return self.run_job(label, timed(label, call))

    # -- operations -----------------------------------------------------------------------
    def action_hot_add(self: MemmapApp) -> None:
        if self.idle_main() is None:
            return
        geo = self.machine.geometry
        default = format_bytes(max(1 << 30, geo.block_size))
        last = self.last_answers.get("hot_add")

        def done(answer: dict | None) -> None:
            if not answer:
                return
            self.last_answers["hot_add"] = dict(answer)
            kwargs = {k: v for k, v in answer.items() if k != "op" and v is not None}
            machine = self.machine
            self.run_op(f"hot_add {kwargs.get('size')} on node {kwargs.get('node')}",
                        lambda: machine.hot_add(**kwargs))

        self.push_screen(HotAddDialog(self.node_ids(), default, format_bytes(geo.block_size),
                                      initial=last if isinstance(last, dict) else None,
                                      acpi_driver=self.config.acpi_hotplug_memory), done)

    def action_online(self: MemmapApp) -> None:
        main = self.idle_main()
        if main is None:
            return
        block = self.block_under_cursor(main, "online")
        if block is None:
            return
        bid = block["id"]
        if block["online"]:
            where = "boot memory" if block["boot"] else "hot-added"
            self.notify(f"memory{bid} is already online (zone {block['zone']}, {where}); "
                        f"offline it first with f", severity="warning")
            return
        kinds = [kind for _, kind in ONLINE_TYPES]
        last = self.last_answers.get("online")
        machine = self.machine

        def done(kind: str | None) -> None:
            if kind:
                self.last_answers["online"] = kind
                self.run_op(f"{kind} memory{bid}", lambda: machine.online(bid, type=kind))

        self.push_screen(ChoiceDialog(f"online memory{bid}", list(ONLINE_TYPES),
                                      f"valid_zones: {block['valid_zones']}",
                                      kinds.index(last) if last in kinds else 0), done)

    def action_offline(self: MemmapApp) -> None:
        main = self.idle_main()
        if main is None:
            return
        block = self.block_under_cursor(main, "offline")
        if block is None:
            return
        bid = block["id"]
        if not block["online"]:
            self.notify(f"memory{bid} is already offline", severity="warning")
            return
        machine = self.machine
        self.run_op(f"offline memory{bid}", lambda: machine.offline(bid))

    def _remove_or_eject(self: MemmapApp, what: str) -> None:
        main = self.idle_main()
        if main is None:
            return
        res = self.resource_under_cursor(main, what)
        if res is None:
            return
        start, size = int(res["start"]), int(res["size"])
        fn = self.machine.remove if what == "remove" else self.machine.eject
        self.run_op(f"{what} {start:#x}+{format_bytes(size)}", lambda: fn(start, size))

    def action_remove(self: MemmapApp) -> None:
        self._remove_or_eject("remove")

    def action_eject(self: MemmapApp) -> None:
        self._remove_or_eject("eject")

    def action_pin(self: MemmapApp) -> None:
        main = self.idle_main()
        if main is None:
            return
        block = self.block_under_cursor(main, "pin")
        if block is None:
            return
        bid = block["id"]
        machine = self.machine
        states = machine.pfn_states(int(block["start_pfn"]), int(block["end_pfn"]))
        pinned = int((states == CODE["pinned"]).sum())
        if pinned:
            self.run_op(f"unpin {pinned} page(s) in memory{bid}",
                        lambda: machine.free(kind="pinned", block=bid))
        else:
            self.run_op(f"pin a page in memory{bid}",
                        lambda: machine.alloc(kind="pinned", block=bid, pages=1))

    def action_alloc(self: MemmapApp) -> None:
        main = self.idle_main()
        if main is None:
            return
        zones: list[str] = []
        for z in self.machine.zoneinfo():
            if z["zone"] not in zones:
                zones.append(z["zone"])
        pfn = main.cursor_pfn()
        blk = self.machine.block_of(pfn) if pfn is not None else None
        here = blk if blk is not None and self.machine.block(blk)["online"] else None
        last = self.last_answers.get("alloc")
        machine = self.machine

        def done(answer: dict | None) -> None:
            if not answer:
                return
            self.last_answers["alloc"] = dict(answer)
            kwargs = {k: v for k, v in answer.items() if k != "op"}
            where = (f"block {kwargs['block']}" if kwargs.get("block") is not None
                     else f"node {kwargs.get('node')}")
            if answer["op"] == "free":
                kwargs.pop("leave_free", None)
                self.run_op(f"free {kwargs.get('kind')} pages in {where}",
                            lambda: machine.free(**kwargs))
            else:
                self.run_op(f"allocate {kwargs.get('kind')} pages in {where}",
                            lambda: machine.alloc(**kwargs))

        self.push_screen(AllocDialog(self.node_ids(), zones, block=here,
                                     initial=last if isinstance(last, dict) else None), done)

    def action_inject(self: MemmapApp) -> None:
        """Arm or clear a fault (engine.FAULTS) through the inject dialog."""
        if self.idle_main() is None:
            return
        from tui.screens.inject_dialog import InjectDialog
        machine = self.machine

        def done(answer: dict | None) -> None:
            if answer:
                self.run_op(f"inject {answer['fault']}", lambda: machine.apply(answer))

        self.push_screen(InjectDialog(dict(FAULTS), machine.armed_faults()), done)

    def action_virtio(self: MemmapApp) -> None:
        """Resize a virtio-mem device (the device under the cursor first), maybe then wait."""
        main = self.idle_main()
        if main is None:
            return
        machine = self.machine
        devices = machine.virtio_mem_devices()
        if not devices:
            self.notify("no virtio-mem device on this machine: declare one in a scenario with "
                        "[[machine.virtio_mem]] (id, size)", severity="warning")
            return
        from tui.screens.virtio_dialog import VirtioDialog
        pfn = main.cursor_pfn()
        here = machine.virtio_mem_at(pfn) if pfn is not None else None
        last = self.last_answers.get("virtio")
        selected = here["id"] if here else (last if isinstance(last, str) else None)

        def done(answer: dict | None) -> None:
            if not answer:
                return
            self.last_answers["virtio"] = answer["device"]
            wait = answer.pop("then_wait", None)
            label = f"resize {answer['device']} to {answer['requested_size']}"
            if wait is None:
                self.run_op(label, lambda: machine.apply(answer))
                return
            label += f", then wait {wait:g} s"
            self.run_job(label, self.range_job(label, machine, [answer, {"op": "tick", "seconds": wait}]))

        self.push_screen(VirtioDialog(devices, selected), done)

    def action_tick(self: MemmapApp) -> None:
        """Let time pass: the virtio-mem retry timers that expire in it fire."""
        if self.idle_main() is None:
            return
        machine = self.machine
        due = [d["retry_due_s"] for d in machine.virtio_mem_devices() if d["retry_due_s"] is not None]
        default = f"{max(1.0, min(due) - machine.uptime_s):g}" if due else "50"

        from tui.screens.virtio_dialog import parse_seconds

        def check(text: str) -> float:
            return parse_seconds(text, "seconds")

        def done(seconds: float | None) -> None:
            if seconds:
                self.run_op(f"wait {seconds:g} s", lambda: machine.pass_time(seconds))

        hint = (f"uptime {machine.uptime_s:g} s · next retry at {min(due):g} s" if due
                else f"uptime {machine.uptime_s:g} s · no retry timer armed")
        self.push_screen(PromptDialog("let time pass", "seconds", default, "50", hint + " · enter: OK",
                                      check), done)

    # -- range operations (chmem-style) ---------------------------------------------------
    def action_mark(self: MemmapApp) -> None:
        """Start (or clear) a selected run of blocks at the block under the cursor."""
        main = self.idle_main()
        if main is None:
            return
        if self.anchor_block is not None:
            self.anchor_block = None
            self.notify("block selection cleared", timeout=2)
            main.set_selection(None)
            return
        block = self.block_under_cursor(main, "select")
        if block is None:
            return
        self.anchor_block = int(block["id"])
        main.set_selection(self.selected_blocks())
        self.notify(f"selection starts at memory{self.anchor_block}: move the cursor, then "
                    f"R for a range operation (m again clears)", timeout=4)

    def selected_blocks(self: MemmapApp) -> list[int]:
        """The blocks a range operation acts on: the selected run (anchor..cursor), else the
        hot-added range under the cursor; [] when there is neither."""
        main = self.main_screen
        pfn = main.cursor_pfn() if main is not None else None
        if pfn is None:
            return []
        here = self.machine.block_of(pfn)
        if self.anchor_block is not None and here is not None:
            lo, hi = sorted((self.anchor_block, here))
            return [bid for bid in range(lo, hi + 1) if self.machine.block(bid) is not None]
        res = self.machine.resource_at(pfn)
        return list(res["blocks"]) if res is not None else []

    def action_range(self: MemmapApp) -> None:
        main = self.idle_main()
        if main is None:
            return
        blocks = self.selected_blocks()
        if not blocks:
            self.notify("range: no selection (m marks a block) and no hot-added range under "
                        "the cursor", severity="warning")
            return
        what = (f"memory{blocks[0]}-{blocks[-1]}" if len(blocks) > 1 else f"memory{blocks[0]}")
        last = self.last_answers.get("range")
        kinds = [kind for _, kind in RANGE_OPS]
        machine = self.machine

        def done(kind: str | None) -> None:
            if not kind:
                return
            self.last_answers["range"] = kind
            ops = range_ops(machine, blocks, kind)
            label = f"{kind} {what} ({len(ops)} kernel operations)"
            if not ops:
                self.notify(f"{what}: every block is already {kind.split('_')[0]}", timeout=3)
                return
            self.run_job(label, self.range_job(label, machine, ops))

        self.push_screen(ChoiceDialog(f"range: {what} ({len(blocks)} blocks)", list(RANGE_OPS),
                                      "each block is its own kernel operation, in order; a "
                                      "refused block is reported and the rest go on, as chmem does",
                                      kinds.index(last) if last in kinds else 0), done)

    @staticmethod
    def range_job(label: str, machine: Machine, ops: list[dict]) -> Callable[[], RangeApplied]:
        def job() -> RangeApplied:
            start = time.perf_counter()
            results = []
            for i, op in enumerate(ops):
                if machine.progress_hook is not None:
                    machine.progress_hook(describe_op(op), i, len(ops))
                results.append(machine.apply(op))
            return RangeApplied(label, results, time.perf_counter() - start)

        return job

    # -- machines -------------------------------------------------------------------------
    def build_config(self: MemmapApp, values: dict) -> MachineConfig:
        """Form values -> MachineConfig; ValueError (ConfigError is one) with a one-line reason."""
        from engine import parse_nodes_spec

        base = {k: v for k, v in values.items() if k != "nodes"}
        nodes = values.get("nodes")
        if isinstance(nodes, str):
            base["node"] = parse_nodes_spec(nodes)
        return MachineConfig.from_dict(base)

    def replace_machine(self: MemmapApp, label: str, config: MachineConfig,
                        steps: list[dict], *, playback: Playback | None = None) -> bool:
        """Boot `config` in the worker and replay `steps` on it (cancellable: the current
        machine stays until the new one is complete); then play `playback` on it, if given."""
        runner = self.runner

        def job() -> MachineReplaced:
            start = time.perf_counter()
            machine = Machine(config)
            machine.progress_hook = runner.hook
            replay = ReplayOutcome()
            try:
                for i, step in enumerate(steps):
                    runner.hook(f"replay {describe_op(step)}", i, len(steps))
                    replay.results.append(machine.apply(dict(step)))
                    replay.says.append(step.get("say"))
            finally:
                machine.progress_hook = None
            machine.prepare_reads()
            return MachineReplaced(label, machine, config, replay, time.perf_counter() - start,
                                   playback=playback)

        return self.run_job(label, job)

    def action_lessons(self: MemmapApp) -> None:
        """The lesson browser; the lesson chosen is booted and played (playback_control)."""
        if self.idle_main() is None:
            return

        def done(script: Script | None) -> None:
            if script is not None:
                self.play_script(script)

        self.push_screen(LessonsScreen(lesson_entries()), done)

    def action_new_machine(self: MemmapApp) -> None:
        if self.idle_main() is None:
            return
        values = dict(self.config.to_dict())
        if isinstance(values.get("node"), list):
            values["nodes"] = ",".join(f"{n['id']}:{n['memory']}" for n in values["node"])
        last = self.last_answers.get("new_machine")
        if isinstance(last, dict):
            values.update(last)

        def check(form: dict) -> MachineConfig:
            config = self.build_config(form)
            self.last_answers["new_machine"] = dict(form)
            return config

        def done(config: MachineConfig | None) -> None:
            if config is not None:
                self.replace_machine("boot a new machine", config, [])

        self.push_screen(NewMachineDialog(list(KNOBS), values, check), done)

    def action_profile(self: MemmapApp) -> None:
        if self.idle_main() is None:
            return
        names = list(PROFILES)
        current = self.machine.geometry.profile
        options = [(f"{name}{'  (current)' if name == current else ''}", name) for name in names]

        def done(profile: str | None) -> None:
            if not profile:
                return
            try:
                config = self.build_config({**self.config.to_dict(), "profile": profile})
            except ValueError as exc:
                self.notify(f"profile {profile}: {one_line(exc)}", severity="error", timeout=8,
                            markup=False)
                return
            steps = [dict(op) for op in self.machine.history]
            self.replace_machine(f"replay {len(steps)} steps on profile {profile}", config, steps)

        self.push_screen(ChoiceDialog("replay the session on kernel profile", options,
                                      "the same operations, in order, on a new machine with the "
                                      "rules of that kernel version",
                                      names.index(current) if current in names else 0), done)

    def action_undo(self: MemmapApp) -> None:
        if self.idle_main() is None:
            return
        machine = self.machine
        if not machine.can_undo:
            self.notify("nothing to undo", severity="warning")
            return
        op = dict(machine.history[-1])
        label = f"undo {describe_op(op)}"

        def job() -> Undone:
            start = time.perf_counter()
            machine.undo()
            return Undone(label, op, time.perf_counter() - start)

        self.run_job(label, job)

    def action_redo(self: MemmapApp) -> None:
        if self.idle_main() is None:
            return
        machine = self.machine
        if not machine.can_redo:
            self.notify("nothing to redo", severity="warning")
            return

        def job() -> OpApplied | OpRefused:
            start = time.perf_counter()
            result = machine.redo()
            assert result is not None      # can_redo was checked on the UI thread
            seconds = time.perf_counter() - start
            if result.ok:
                return OpApplied("redo", result, seconds, redo=True)
            return OpRefused("redo", result, seconds)

        self.run_job("redo", job)

    # -- files ------------------------------------------------------------------------------
    def action_save(self: MemmapApp) -> None:
        if self.idle_main() is None:
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
            self.last_answers["save"] = str(path)
            text = Scenario(self.config, [dict(op) for op in self.machine.history]).to_toml()
            try:
                path.write_text(text, encoding="utf-8")
            except OSError as exc:
                self.notify(f"save: {one_line(exc)}", severity="error", markup=False)
                return
            where = path.resolve()
            self.main_screen.log_widget.note(f"saved {len(self.machine.history)} steps to {where}")
            self.notify(f"saved scenario: {where}", markup=False)

        last = self.last_answers.get("save")
        self.push_screen(PromptDialog("save session as a scenario", "file",
                                      last if isinstance(last, str) else "memmap-session.toml",
                                      "memmap-session.toml",
                                      "replay it with: memmap-tui run FILE · enter: save", check),
                         done)

    def action_screenshot(self: MemmapApp) -> None:
        path = self.screenshot_here()
        main = self.main_screen
        if path is not None and main is not None:
            main.log_widget.note(f"screenshot saved: {path}")

    # -- moving around ---------------------------------------------------------------------
    def action_jump(self: MemmapApp) -> None:
        main = self.idle_main()
        if main is None:
            return
        machine = self.machine

        def check(text: str) -> int:
            pfn = parse_target(text, machine)
            self.last_answers["jump"] = text
            return pfn

        def done(pfn: int | None) -> None:
            if pfn is not None and main.grid is not None:
                main.grid.goto_pfn(pfn)
                main.refresh_inspector()

        last = self.last_answers.get("jump")
        self.push_screen(PromptDialog("jump", "pfn / address", last if isinstance(last, str) else "",
                                      "1234 · 0x100000000 · block 33",
                                      "pfn (decimal or pfn 0x..), address (0x...), block N, "
                                      "section N · enter: go", check), done)

    def set_jump_targets(self: MemmapApp, ranges: list[tuple[int, int]]) -> None:
        """What `]` / `[` visit next: the last operation's changes or the `b` highlight."""
        self.jump_targets = list(ranges)
        self.jump_index = -1

    def action_next_change(self: MemmapApp) -> None:
        self._visit_target(+1)

    def action_prev_change(self: MemmapApp) -> None:
        self._visit_target(-1)

    def _visit_target(self: MemmapApp, step: int) -> None:
        main = self.idle_main()
        if main is None or main.grid is None:
            return
        targets = self.jump_targets
        if not targets:
            self.notify("nothing to visit: ] and [ go to what the last operation changed, or to "
                        "the pfns that b highlights", timeout=4)
            return
        self.jump_index = (self.jump_index + step) % len(targets)
        lo, hi = targets[self.jump_index]
        main.grid.goto_pfn(lo)
        main.refresh_inspector()
        self.notify(f"{self.jump_index + 1}/{len(targets)}: pfns {lo:#x}-{hi - 1:#x}", timeout=2)

    def action_backing(self: MemmapApp) -> None:
        main = self.idle_main()
        if main is None:
            return
        if main.highlight:
            main.set_highlight([])
            self.notify("backing highlight cleared")
            return
        pfn = self.cursor_or_notice(main)
        if pfn is None:
            return
        m = self.machine
        served = m.served_by(pfn)
        if served:
            lo, hi = served
            main.set_highlight([(int(lo), int(hi))])
            self.set_jump_targets([(int(lo), int(hi))])
            self.notify(f"pfn {pfn:#x} holds the struct pages of pfns {lo:#x}-{hi - 1:#x} "
                        f"(] goes there)")
            return
        geo = m.geometry
        sec = pfn // geo.pages_per_section
        lo, hi = sec * geo.pages_per_section, (sec + 1) * geo.pages_per_section
        ranges = [(int(a), int(b)) for a, b in m.backing_of(lo, hi)]
        if not ranges:
            self.notify(f"section {sec} has no memmap (nothing present there)", severity="warning")
            return
        main.set_highlight(ranges)
        self.set_jump_targets(ranges)
        nodes = sorted({int(back["node"]) for back in (m.section(sec)["memmap"] or {}).get(
            "backing", [])})
        spans = ", ".join(f"{a:#x}-{b - 1:#x}" for a, b in ranges[:3])
        more = f" (+{len(ranges) - 3} more)" if len(ranges) > 3 else ""
        on = ", ".join(f"node {n}" for n in nodes) or "?"
        self.notify(f"memmap of section {sec} lives in pfns {spans}{more} on {on}; "
                    f"] goes there, b clears")

    # -- looks --------------------------------------------------------------------------------
    def action_cycle_mode(self: MemmapApp) -> None:
        main = self.main_screen
        if main is None:
            return
        self.mode = next_mode(self.mode)
        main.set_mode(self.mode)
        self.refresh_status()
        self.notify(f"grid mode: {MODE_WORDS[self.mode]}", timeout=2)

    def action_toggle_crosshair(self: MemmapApp) -> None:
        main = self.main_screen
        if main is not None:
            self.notify(f"crosshair {'on' if main.toggle_crosshair() else 'off'}", timeout=2)

    def action_cycle_theme(self: MemmapApp) -> None:
        name = self.cycle_theme()
        if name is not None:
            self.refresh_status()
            self.notify(f"theme: {name}", timeout=2)

    def action_help(self: MemmapApp) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.keymap_config, self.state_colors))
