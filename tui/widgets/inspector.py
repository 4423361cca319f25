"""The inspector: everything about the pfn under the cursor.

Its struct page (state, flags, zone, refcount, kpageflags, what memmap it holds), the section's
and block's sysfs-like attributes, and where the section's memmap lives.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from bridge.protocol import MachineView
from engine.states import DESCRIPTIONS
from tui.widgets.text_panel import TextPanel


def _hex(v: Any) -> str:
    return f"{v:#x}" if isinstance(v, int) and not isinstance(v, bool) else str(v)


def _range(lo: Any, hi: Any) -> str:
    """An exclusive pfn range as people read it: 0x8000-0x87ff."""
    if isinstance(lo, int) and isinstance(hi, int):
        return f"{lo:#x}-{hi - 1:#x}" if hi > lo else f"{lo:#x} (empty)"
    return f"{lo}-{hi}"



def state_description(state: str, page: dict, pages_per_block: int) -> str:
    """The state's description, true to this page: a self-hosted memmap page usually holds the
    struct pages of its own block, but the 2017 RFC packs the memmap of a whole hot-added range
    at its start, so a page there can hold another block's struct pages."""
    text = DESCRIPTIONS.get(state, "")
    memmap_of = page.get("memmap_of")
    block = page.get("block")
    if state == "memmap-self" and memmap_of and block is not None:
        owner = int(memmap_of["first_pfn"]) // pages_per_block
        if owner != block:
            text = (f"vmemmap-backing: struct pages of section {memmap_of['section']} (block "
                    f"{owner}), kept at the start of the hot-added range")
    return text

class Inspector(TextPanel):
    """Redrawn on every cursor move, so it reads only the pfn's own page, section and block
    (and its resource, looked up once per operation and resource), never a list of
    every block: its cost does not grow with the machine."""

    DEFAULT_CSS = """
    Inspector { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "inspector"
        # (generation, resource index) -> its line: a resource's dict lists its blocks, so
        # it is read once per operation, not on every cursor move along its thousands of blocks
        self._resource_lines: dict[tuple[int, int], str] = {}

    def show(self, machine: MachineView, pfn: int | None) -> None:
        self.set_text(self.describe_parts(machine, pfn))

    # ---------------------------------------------------------------------------------
    def describe(self, machine: MachineView, pfn: int | None) -> Text:
        """Everything about `pfn` as one Text."""
        return Text("").join(self.describe_parts(machine, pfn))

    def describe_parts(self, machine: MachineView, pfn: int | None) -> list[Text]:
        """The page, its section and its block as three paragraphs: moving along a section
        changes only the first, so only the first is wrapped and redrawn again."""
        out = Text(no_wrap=False)
        if machine is None or pfn is None:
            out.append("no pfn selected", style="dim")
            return [out]
        geo = machine.geometry
        if not 0 <= pfn < geo.max_pfn:
            out.append(f"pfn {pfn:#x}: beyond the physical address space "
                       f"(max_pfn {geo.max_pfn:#x})", style="dim")
            return [out]
        page = machine.struct_page(pfn)
        head = f"pfn {pfn:#x}  phys {pfn << geo.page_shift:#x}"
        out.append(head + "\n", style="bold")
        state = str(page.get("state"))
        out.append("state      ", style="dim")
        out.append(state, style="bold")
        description = state_description(state, page, geo.pages_per_block)
        if description:
            out.append(" · ", style="dim")
            out.append(description, style="italic")
        out.append("\n")
        self._kv(out, "node", page.get("node"))
        self._kv(out, "zone", page.get("zone"))
        self._kv(out, "refcount", page.get("refcount"))
        if page.get("mapping"):
            self._kv(out, "mapping", page.get("mapping"))
        self._kv(out, "flags", " ".join(page.get("flags") or []) or "-")
        self._kv(out, "kpageflags", " ".join(page.get("kpageflags") or []) or "-")
        if page.get("why"):
            # a live machine's pfn: how its state was read from the kernel's flags
            out.append("why        ", style="dim")
            out.append(f"{page['why']}\n", style="italic")
        memmap_of = page.get("memmap_of")
        if memmap_of:
            out.append("holds struct pages of ", style="bold magenta")
            out.append(f"pfns {memmap_of.get('first_pfn', 0):#x}-{memmap_of.get('last_pfn', 0):#x}"
                       f" (section {memmap_of.get('section')})\n")
        sec_nr = page.get("section")
        if sec_nr is None:
            sec_nr = pfn // geo.pages_per_section
        section = Text(no_wrap=False)
        self._section(section, machine, sec_nr)
        blk = page.get("block")
        if blk is None:
            blk = machine.block_of(pfn)
        block = Text(no_wrap=False)
        self._block(block, machine, blk)
        vmem = Text(no_wrap=False)
        self._virtio_mem(vmem, machine, pfn)
        return [out, section, block, vmem]

    @staticmethod
    def _virtio_mem(out: Text, machine: MachineView, pfn: int) -> None:
        """The virtio-mem device whose region holds pfn: mode, sizes, this block's plug state."""
        d = machine.virtio_mem_at(pfn)
        if d is None:
            return
        out.append(f"\nvirtio-mem {d['id']} ({d['name']}, node {d['node']})\n", style="bold underline")
        if d["mode"] == "SBM":
            mode = (f"SBM: {d['subblocks_per_block']} subblocks of {_size(d['subblock_size'])} "
                    f"per {_size(d['memory_block_size'])} block")
        else:
            mode = f"BBM: big blocks of {_size(d['big_block_size'])}"
        out.append(f"  mode       {mode}\n")
        out.append(f"  block size {_size(d['block_size'])} (device)\n")
        out.append(f"  requested  {_size(d['requested_size'])}\n")
        out.append(f"  plugged    {_size(d['plugged_size'])} of {_size(d['size'])}\n")
        state = d["block_state"]
        if d["mode"] == "SBM" and state != "unused":
            state += (f", {d['plugged_subblocks']}/{d['subblocks_per_block']} subblocks plugged; "
                      f"subblock {d['subblock']} {'plugged' if d['subblock_plugged'] else 'unplugged'}")
        out.append(f"  here       {state}\n")
        if d["retry_due_s"] is not None:
            out.append(f"  retry      at {d['retry_due_s']:g} s (last error {d['last_rc']})\n", style="yellow")
        if d["broken"]:
            out.append("  broken: the driver stopped after an unknown error\n", style="bold red")

    @staticmethod
    def _kv(out: Text, key: str, value: Any) -> None:
        out.append(f"{key:<11}", style="dim")
        out.append(f"{'-' if value is None else value}\n")

    def _section(self, out: Text, machine: MachineView, nr: int) -> None:
        out.append(f"\nsection {nr}\n", style="bold underline")
        sec = machine.section(nr)
        out.append(f"  pfns {_range(sec.get('start_pfn'), sec.get('end_pfn'))}\n")
        out.append(f"  present {_yn(sec.get('present'))}  online {_yn(sec.get('online'))}"
                   f"  node {sec.get('node', '-')}\n")
        memmap = sec.get("memmap") or {}
        source = memmap.get("source")
        out.append("  memmap ", style="dim")
        if not source:
            out.append("none (no struct pages)\n")
            return
        where = {"altmap": "on the hot-added memory itself (vmem_altmap)",
                 "buddy": "in buddy pages allocated at hot-add",
                 "boot": "allocated by memblock at boot",
                 "kernel": "in kernel memory (memblock or buddy: user space cannot see where)",
                 }.get(source, source)
        out.append(f"{source}: {where}\n")
        if memmap.get("mapped"):
            out.append(f"  mapped with {memmap['mapped']}\n")
        for back in memmap.get("backing") or []:
            out.append(f"  lives in pfns {_range(back.get('start_pfn'), back.get('end_pfn'))}"
                       f" node {back.get('node')}\n", style="magenta")

    def _block(self, out: Text, machine: MachineView, blk: int | None) -> None:
        if blk is None:
            out.append("\nno memory block here\n", style="dim")
            return
        b = machine.block(blk)
        if b is None:
            out.append(f"\nmemory{blk}: gone\n", style="dim")
            return
        out.append(f"\n/sys/devices/system/memory/memory{blk}\n", style="bold underline")
        for key in ("state", "phys_index", "valid_zones", "removable", "phys_device", "node",
                    "nr_vmemmap_pages", "zone"):
            if key in b:
                value = b[key]
                if isinstance(value, bool):
                    value = int(value)
                out.append(f"  {key:<17}", style="dim")
                out.append(f"{'-' if value is None else value}\n")
        out.append(f"  pfns {_range(b.get('start_pfn'), b.get('end_pfn'))}"
                   f"  {'boot memory' if b.get('boot') else 'hot-added'}\n", style="dim")
        if b["resource"] is not None:
            out.append(self._resource_line(machine, b["resource"], b["start_pfn"]), style="dim")

    def _resource_line(self, machine: MachineView, index: int, pfn: int) -> str:
        key = (machine.generation, index)
        line = self._resource_lines.get(key)
        if line is None:
            r = machine.resource_at(pfn)
            line = ("" if r is None else f"  resource {r['start']:#x}-{r['end'] - 1:#x}"
                    f" via {r['via']} ({len(r['blocks'])} blocks)\n")
            if len(self._resource_lines) > 64:
                self._resource_lines.clear()
            self._resource_lines[key] = line
        return line


def _size(n: int) -> str:
    for shift, unit in ((40, "T"), (30, "G"), (20, "M"), (10, "K")):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return f"{n >> 20}M" if n >= 1 << 20 else str(n)


def _yn(v: Any) -> str:
    return "yes" if v else "no"
