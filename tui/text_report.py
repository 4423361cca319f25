"""The readable report of `memmap-tui run FILE` (`--verbose` adds the reasons `--json` has).

Every line is printed whole (soft wrap): a terminal folds long lines itself, and a pipe or a
file gets each line intact, never broken in the middle at an assumed 80 columns. Colours only
on a terminal (Rich leaves them out when the output is not one).
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

RANGES_SHOWN = 12
DMESG_SHOWN = 6


def _args(args: dict) -> str:
    return ", ".join(f"{k}={hex(v) if isinstance(v, int) and not isinstance(v, bool) and v >= 1 << 20 else v}"
                     for k, v in args.items())


def _table(rows: list[tuple[str, ...]], indent: str = "    ") -> list[str]:
    """Rows as aligned columns (the first row is the header); no wrapping, ever."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
            for row in rows]


def _header_and_rows(rows: list[tuple[str, ...]]) -> list[Text]:
    return [Text(line, style="dim" if n == 0 else "") for n, line in enumerate(_table(rows))]


def _changed_blocks(before: dict, after: dict) -> list[Text]:
    """The memory blocks a step added, changed or removed, as sysfs shows them."""
    rows = [("block", "state", "valid_zones", "removable", "nr_vmemmap_pages", "node")]
    for bid in sorted(set(before) | set(after)):
        b = after.get(bid)
        if b is None:
            rows.append((f"memory{bid}", "(removed)", "", "", "", ""))
        elif before.get(bid) != b:
            rows.append((f"memory{bid}", b["state"], b["valid_zones"], str(b["removable"]),
                         str(b["nr_vmemmap_pages"]), str(b["node"])))
    return _header_and_rows(rows) if len(rows) > 1 else []


def _changed_zones(before: dict, after: dict) -> list[Text]:
    """The zones whose spanned/present/managed/free pages a step changed."""
    rows = [("node", "zone", "spanned", "present", "managed", "free")]
    for key in sorted(set(before) | set(after)):
        z = after.get(key)
        if z is not None and before.get(key) != z:
            rows.append((str(z["node"]), z["zone"], str(z["spanned"]), str(z["present"]),
                         str(z["managed"]), str(z["free"])))
    return _header_and_rows(rows) if len(rows) > 1 else []


def report_lines(doc: dict, *, verbose: bool = False) -> list[Text]:
    """The report as lines of styled text; `verbose` adds each step's kernel call trail, every
    dmesg line and pfn run, and the blocks and zones the step changed."""
    mach = doc["machine"]
    out = [Text.assemble(("memmap-tui run ", "bold"), (doc["scenario"], "cyan")),
           Text(f"profile {mach['profile']} · {mach['arch']} · block {mach['block_size'] >> 20} MiB · "
                f"memmap_on_memory={mach['memmap_on_memory']} · auto_online={mach['auto_online']}")]
    prev = mach["initial"]["meminfo"]
    prev_blocks = {b["id"]: b for b in mach["initial"]["blocks"]}
    prev_zones = {(z["node"], z["zone"]): z for z in mach["initial"]["zones"]}
    for i, st in enumerate(doc["steps"], 1):
        mark = Text("ok", style="green") if st["ok"] else Text(f"-{st['errno']}", style="bold red")
        out += [Text(""), Text.assemble(f"{i:>2}. ", (f"{st['op']}({_args(st['args'])})", "bold"),
                                        "  ", mark)]
        if st.get("say"):
            out.append(Text(f"    {st['say']}", style="italic"))
        if not st["ok"]:
            out.append(Text(f"    refused: {st['error']}"))
            out.append(Text(f"    check: {st['check']}", style="dim"))
        for what in st.get("left_behind", []):
            out.append(Text(f"    left behind: {what}", style="yellow"))
        if verbose:
            out.append(Text("    kernel:", style="dim"))
            out += [Text(f"      {line}", style="cyan") for line in st["events"]]
        mi = st["meminfo"]
        dt, df = mi["MemTotal"] - prev["MemTotal"], mi["MemFree"] - prev["MemFree"]
        out.append(Text(f"    MemTotal {mi['MemTotal']} kB ({dt:+d}) · MemFree {mi['MemFree']} kB ({df:+d})"))
        prev = mi
        for d in st.get("devices", []):
            timer = f" · retry at {d['retry_due_s']:g} s" if d["retry_due_s"] is not None else ""
            out.append(Text(f"    {d['id']} ({d['mode']}): requested {d['requested_size'] >> 20} MiB · "
                            f"plugged {d['plugged_size'] >> 20} MiB{timer}"
                            + (" · broken" if d["broken"] else "")))
        ranges = st["ranges"] if verbose else st["ranges"][:RANGES_SHOWN]
        if ranges:
            rows = [("pfns", "state", "kpageflags")]
            rows += [(f"{r['start_pfn']:#x}-{r['end_pfn'] - 1:#x}", r["state"],
                      " ".join(r["kpageflags"]) or "(none)") for r in ranges]
            if len(st["ranges"]) > len(ranges):
                rows.append(("…", f"{len(st['ranges']) - len(ranges)} more runs (--verbose)", ""))
            out += _header_and_rows(rows)
        dmesg = st["dmesg"] if verbose else st["dmesg"][:DMESG_SHOWN]
        out += [Text(f"    dmesg: {line}", style="dim") for line in dmesg]
        if len(st["dmesg"]) > len(dmesg):
            out.append(Text(f"    dmesg: … {len(st['dmesg']) - len(dmesg)} more (--verbose)", style="dim"))
        if verbose:
            blocks = {b["id"]: b for b in st["blocks"]}
            zones = {(z["node"], z["zone"]): z for z in st["zones"]}
            out += _changed_blocks(prev_blocks, blocks) + _changed_zones(prev_zones, zones)
            prev_blocks, prev_zones = blocks, zones
    return out


def print_report(doc: dict, console: Console | None = None, *, verbose: bool = False) -> None:
    con = console or Console()
    for line in report_lines(doc, verbose=verbose):
        con.print(line, soft_wrap=True, highlight=False)
