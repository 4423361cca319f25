"""The counters a kernel developer watches while hot-plugging, with the last change marked.

meminfo (MemTotal, MemFree, ...; each virtio-mem device's plugged and requested size next to
MemTotal), vmstat's memmap counters, present/managed per zone and
nr_vmemmap_pages per hot-added block. After each operation the values that moved are drawn
reversed with their delta.
"""

from __future__ import annotations

import numpy as np
from rich.text import Text

from bridge.protocol import MachineView
from engine import BlockTable
from tui.widgets.text_panel import TextPanel

MEMINFO_KEYS = ("MemTotal", "MemFree", "MemAvailable", "Unevictable", "Mlocked", "PageTables")
VMSTAT_KEYS = ("nr_memmap_pages", "nr_memmap_boot_pages", "nr_free_pages", "nr_page_table_pages")


def vmemmap_runs(table: BlockTable, *, every_hot_added: bool = False
                 ) -> tuple[tuple[int, int, int], ...]:
    """nr_vmemmap_pages of the blocks that host their memmap (`every_hot_added`: of every
    hot-added block, 0 included), as runs of consecutive block ids with one value: (first id,
    last id, value). numpy over the blocks; as many runs as places where the value or the id
    sequence changes, a handful on any real machine."""
    keep = np.flatnonzero(~table.boot if every_hot_added else table.nr_vmemmap > 0)
    if len(keep) == 0:
        return ()
    ids, values = table.id[keep], table.nr_vmemmap[keep]
    new = np.flatnonzero((np.diff(ids) != 1) | (np.diff(values) != 0)) + 1
    first = np.concatenate(([0], new))
    last = np.concatenate((new - 1, [len(ids) - 1]))
    return tuple(zip(ids[first].tolist(), ids[last].tolist(), values[first].tolist()))


def zones_in_use(machine: MachineView) -> list[dict]:
    """The machine's zoneinfo entries that have memory or span some (the others say nothing)."""
    return [z for z in machine.zoneinfo() if z["present"] or z["spanned"]]


def snapshot(machine: MachineView) -> dict[str, int]:
    """Every watched counter as a flat dict: name -> value (ints compare and give deltas)."""
    snap: dict[str, int] = {}
    meminfo = machine.meminfo()
    for key in MEMINFO_KEYS:
        if key in meminfo:
            snap[f"meminfo.{key}"] = meminfo[key]
    # virtio-mem: what the host plugged, next to MemTotal (kB like meminfo)
    for d in machine.virtio_mem_devices():
        snap[f"virtio.{d['id']}.plugged"] = d["plugged_size"] >> 10
        snap[f"virtio.{d['id']}.requested"] = d["requested_size"] >> 10
    vmstat = machine.vmstat()
    for key in VMSTAT_KEYS:
        if key in vmstat:
            snap[f"vmstat.{key}"] = vmstat[key]
    for z in zones_in_use(machine):
        name = f"zone.{z['node']}.{z['zone']}"
        snap[f"{name}.present"] = z["present"]
        snap[f"{name}.managed"] = z["managed"]
    return snap


def _fit(label: str, width: int) -> str:
    return f"{label:<{width}}" if len(label) < width else label[: width - 2] + "… "


class Counters(TextPanel):
    """Read from the machine after each operation (never on a cursor move)."""

    DEFAULT_CSS = """
    Counters { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "counters"
        self.previous: dict[str, int] = {}
        self.current: dict[str, int] = {}
        self.changed: set[str] = set()
        # nr_vmemmap_pages per block, as runs; a run not there before is drawn changed
        self.runs: tuple[tuple[int, int, int], ...] = ()
        self.new_runs: set[tuple[int, int, int]] = set()

    def update_from(self, machine: MachineView, *, mark_changes: bool = True,
                    table: BlockTable | None = None) -> None:
        """Read the counters after an operation (`mark_changes`: draw what moved, with its
        delta; False for a new machine). Costs O(zones + runs), not O(blocks), in Python."""
        snap = snapshot(machine)
        runs = vmemmap_runs(machine.block_table() if table is None else table)
        if mark_changes and self.current:
            self.previous = self.current
            self.changed = {k for k in set(snap) | set(self.previous)
                            if snap.get(k) != self.previous.get(k)}
            self.new_runs = set(runs) - set(self.runs)
        else:
            self.previous = dict(snap)
            self.changed = set()
            self.new_runs = set()
        self.current = snap
        self.runs = runs
        self.set_text(self.render_text())

    # ---------------------------------------------------------------------------------
    def _line(self, out: Text, key: str, label: str, unit: str = "") -> None:
        value = self.current.get(key)
        if value is None:
            return
        lw = self._label_width()
        text = f"{_fit(label, lw)}{value:>11}{unit}"
        if key in self.changed:
            before = self.previous.get(key)
            out.append(text, style="bold reverse")
            if isinstance(before, int) and isinstance(value, int):
                delta = f" {value - before:+d}"
                room = self.scrollable_content_region.width or 36
                if len(text) + len(delta) > room:
                    delta = "\n" + delta.strip().rjust(len(text))
                out.append(delta, style="bold")
            out.append("\n")
        else:
            out.append(text + "\n")

    def _label_width(self) -> int:
        """Labels shrink with the panel so a value and its unit stay on the label's line."""
        room = self.scrollable_content_region.width or 40
        return max(10, min(22, room - 11 - 3))

    def on_resize(self) -> None:
        # the label column follows the panel's width
        if self.current:
            self.set_text(self.render_text())

    def render_text(self) -> Text:
        out = Text()
        out.append("meminfo\n", style="bold underline")
        devices = sorted({k.split(".")[1] for k in self.current if k.startswith("virtio.")})
        for key in MEMINFO_KEYS:
            self._line(out, f"meminfo.{key}", f" {key}", " kB")
            if key == "MemTotal":
                for dev in devices:
                    self._line(out, f"virtio.{dev}.plugged", f"  {dev} plugged", " kB")
                    self._line(out, f"virtio.{dev}.requested", f"  {dev} requested", " kB")
        out.append("vmstat\n", style="bold underline")
        shown = False
        for key in VMSTAT_KEYS:
            if f"vmstat.{key}" in self.current:
                self._line(out, f"vmstat.{key}", f" {key}")
                shown = True
        if not shown:
            out.append(" (no memmap counters in this profile)\n", style="dim")
        out.append("zones: present / managed\n", style="bold underline")
        zones = sorted({k.rsplit(".", 1)[0] for k in self.current if k.startswith("zone.")},
                       key=lambda s: (int(s.split(".")[1]) if s.split(".")[1].isdigit() else 0, s))
        for zone in zones:
            _, node, name = zone.split(".", 2)
            self._line(out, f"{zone}.present", f" n{node} {name} present")
            self._line(out, f"{zone}.managed", f" n{node} {name} managed")
        self._vmemmap_lines(out)
        removed = [k for k in self.changed if k not in self.current]
        if removed:
            out.append(f"gone: {', '.join(sorted(removed)[:6])}"
                       f"{' …' if len(removed) > 6 else ''}\n", style="bold reverse")
        return out

    def _vmemmap_lines(self, out: Text) -> None:
        out.append("nr_vmemmap_pages per block\n", style="bold underline")
        if not self.runs:
            out.append(" (none: no self-hosted memmap)\n", style="dim")
            return
        for lo, hi, value in self.runs[:40]:
            label = f" memory{lo}" if lo == hi else f" memory{lo}-{hi}"
            changed = (lo, hi, value) in self.new_runs
            out.append(f"{_fit(label, self._label_width())}{value:>11}\n",
                       style="bold reverse" if changed else "")
        if len(self.runs) > 40:
            out.append(f" … {len(self.runs) - 40} more runs\n", style="dim")
