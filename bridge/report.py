"""A live machine as one JSON document, in the shape of one step of `memmap-tui run --json`."""

from __future__ import annotations

import time

import numpy as np

from engine import states as S

from . import pageclass as PC
from .live import LiveMachine

MAX_RUNS_PER_BLOCK = 8     # a block with more state runs is summarised by its state counts


def machine_header(live: LiveMachine) -> dict:
    st = live.state
    g = live.geometry
    return {"source": "live", "sysroot": live.sysroot, "release": st.release,
            "profile": live.profile_name, "arch": live.arch_name, "block_size": st.block_size,
            "block_size_bytes": f"{st.block_size:x}", "page_size": g.page_size,
            "pages_per_section": g.pages_per_section, "auto_online": st.auto_online,
            "memmap_on_memory": st.params.get("memmap_on_memory"),
            "parameters": dict(st.params), "selfhosted_rule": live.rule,
            "page_flags": live.has_page_flags, "page_flags_note": live.page_files_note or None}


def machine_state(live: LiveMachine, pages: bool = True) -> dict:
    mi = live.meminfo()
    zones = [{"node": z["node"], "zone": z["zone"], "spanned": z["spanned"], "present": z["present"],
              "managed": z["managed"], "free": z["free"]} for z in live.zoneinfo()]
    blocks = [{"id": b["id"], "state": b["state"], "valid_zones": b["valid_zones"],
               "removable": b["removable"], "nr_vmemmap_pages": b["nr_vmemmap_pages"],
               "node": b["node"], "phys_index": b["phys_index"]} for b in live.blocks()]
    return {"meminfo": {"MemTotal": mi.get("MemTotal"), "MemFree": mi.get("MemFree")},
            "zones": zones, "blocks": blocks,
            "ranges": block_ranges(live) if pages and live.has_page_flags else [],
            "vmstat": live.vmstat(),
            "nodes": [{"id": n["id"], "online": n["online"]} for n in live.nodes_info()]}


def block_ranges(live: LiveMachine) -> list[dict]:
    """Per memory block: its state runs with their kpageflags, or a summary when there are many."""
    out = []
    for b in live.blocks():
        lo, hi = b["start_pfn"], b["end_pfn"]
        st = live.pfn_states(lo, hi)
        why = live.pfn_reasons(lo, hi)
        flags = live.kpageflags(lo, hi)
        cut = np.flatnonzero(st[1:] != st[:-1]) + 1
        starts = np.concatenate(([0], cut))
        ends = np.concatenate((cut, [len(st)]))
        if len(starts) <= MAX_RUNS_PER_BLOCK:
            for a, e in zip(starts.tolist(), ends.tolist()):
                vals, cnt = np.unique(flags[a:e], return_counts=True)
                top = int(vals[cnt.argmax()])
                out.append({"start_pfn": lo + a, "end_pfn": lo + e, "state": S.NAMES[int(st[a])],
                            "kpageflags": PC.flag_names(top), "why": PC.REASONS[int(why[a])]})
        else:
            counts = np.bincount(st, minlength=S.NSTATES)
            out.append({"start_pfn": lo, "end_pfn": hi, "state": "mixed",
                        "states": {S.NAMES[i]: int(c) for i, c in enumerate(counts) if c}})
    return out


def live_document(live: LiveMachine, pages: bool = True) -> dict:
    t0 = time.perf_counter()
    doc = {"op": "live-read", "ok": True, "machine": machine_header(live)}
    doc.update(machine_state(live, pages))
    doc["timing"] = {"text_read_s": round(live.state.read_seconds, 4),
                     "total_s": round(time.perf_counter() - t0 + live.state.read_seconds, 4)}
    return doc
