"""The readable (rich) report of `memmap-tui run FILE`."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text


def print_report(doc: dict, console: Console | None = None) -> None:
    con = console or Console()
    mach = doc["machine"]
    con.print(Text.assemble(("memmap-tui run ", "bold"), (doc["scenario"], "cyan")))
    con.print(f"profile {mach['profile']} · {mach['arch']} · block {mach['block_size'] >> 20} MiB · "
              f"memmap_on_memory={mach['memmap_on_memory']} · auto_online={mach['auto_online']}")
    prev = mach["initial"]["meminfo"]
    for i, st in enumerate(doc["steps"], 1):
        args = ", ".join(f"{k}={hex(v) if isinstance(v, int) and v >= 1 << 20 else v}"
                         for k, v in st["args"].items())
        mark = Text("ok", style="green") if st["ok"] else Text(f"-{st['errno']}", style="bold red")
        con.print(Text.assemble(f"\n{i:>2}. ", (f"{st['op']}({args})", "bold"), "  ", mark))
        if st.get("say"):
            con.print(Text(f"    {st['say']}", style="italic"))
        if not st["ok"]:
            con.print(f"    refused: {st['error']}")
            con.print(Text(f"    check: {st['check']}", style="dim"))
        mi = st["meminfo"]
        dt, df = mi["MemTotal"] - prev["MemTotal"], mi["MemFree"] - prev["MemFree"]
        con.print(f"    MemTotal {mi['MemTotal']} kB ({dt:+d}) · MemFree {mi['MemFree']} kB ({df:+d})")
        prev = mi
        for d in st.get("devices", []):
            timer = f" · retry at {d['retry_due_s']:g} s" if d["retry_due_s"] is not None else ""
            con.print(f"    {d['id']} ({d['mode']}): requested {d['requested_size'] >> 20} MiB · "
                      f"plugged {d['plugged_size'] >> 20} MiB{timer}" + (" · broken" if d["broken"] else ""))
        if st["ranges"]:
            t = Table(box=None, padding=(0, 1), show_header=True, header_style="dim")
            for col in ("pfns", "state", "kpageflags"):
                t.add_column(col)
            for r in st["ranges"][:12]:
                t.add_row(f"{r['start_pfn']:#x}-{r['end_pfn'] - 1:#x}", r["state"],
                          " ".join(r["kpageflags"]) or "(none)")
            if len(st["ranges"]) > 12:
                t.add_row("…", f"{len(st['ranges']) - 12} more runs", "")
            con.print(t)
        for line in st["dmesg"][:6]:
            con.print(Text(f"    dmesg: {line}", style="dim"))
