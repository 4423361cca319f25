"""Running a scenario headless: the JSON document of `memmap-tui run --json`."""

from __future__ import annotations

from . import states as S
from .machine import Machine, OpResult
from .procfs import kpageflags_runs, kpf_names
from .scenario import Scenario


def machine_state(m: Machine) -> dict:
    """The whole machine as the report shows it after a step."""
    mi = m.meminfo()
    zones = [{"node": z["node"], "zone": z["zone"], "spanned": z["spanned"], "present": z["present"],
              "managed": z["managed"], "free": z["free"]} for z in m.zoneinfo()]
    blocks = [{"id": b["id"], "state": b["state"], "valid_zones": b["valid_zones"],
               "removable": b["removable"], "nr_vmemmap_pages": b["nr_vmemmap_pages"],
               "node": b["node"], "phys_index": b["phys_index"]} for b in m.blocks()]
    ranges = []
    for r in m.resources():
        for a, b, code, flags in kpageflags_runs(m, r["start_pfn"], r["end_pfn"]):
            ranges.append({"start_pfn": int(a), "end_pfn": int(b), "state": S.NAMES[code],
                           "kpageflags": kpf_names(flags)})
    return {"meminfo": {"MemTotal": mi["MemTotal"], "MemFree": mi["MemFree"]}, "zones": zones,
            "blocks": blocks, "ranges": ranges, "vmstat": m.vmstat(),
            "devices": [{"id": d["id"], "mode": d["mode"], "requested_size": d["requested_size"],
                         "plugged_size": d["plugged_size"], "retry_due_s": d["retry_due_s"],
                         "broken": d["broken"]} for d in m.virtio_mem_devices()],
            "uptime_s": m.uptime_s,
            "nodes": [{"id": n["id"], "online": n["online"]} for n in m.nodes_info()]}


def machine_header(m: Machine) -> dict:
    d = m.config.to_dict()
    d.update({"profile": m.profile.name, "arch": m.arch.name, "block_size": m.block_size,
              "block_size_bytes": f"{m.block_size:x}", "page_size": m.page_size,
              "pages_per_section": m.pps, "struct_page_size": m.struct_page_size,
              "pageblock_pages": m.pageblock_pages,
              "memmap_on_memory": {"off": "N", "on": "Y", "force": "force"}[m.memmap_mode]})
    d["initial"] = machine_state(m)
    return d


def step_entry(res: OpResult, m: Machine, say: str | None = None) -> dict:
    entry = {"op": res.op, "args": _jsonable(res.args), "ok": res.ok, "errno": res.errno,
             "error": res.error, "check": res.check}
    if say:
        entry["say"] = say
    entry.update(machine_state(m))
    entry["events"] = [e.line() for e in res.events]
    entry["dmesg"] = list(res.dmesg)
    entry["left_behind"] = list(res.left_behind)
    return entry


def _jsonable(args: dict) -> dict:
    return {k: v for k, v in args.items()}


def run_report(scenario: Scenario) -> dict:
    m = Machine(scenario.config)
    doc = {"scenario": scenario.name, "machine": machine_header(m), "steps": []}
    for st in scenario.steps:
        res = m.apply(st)
        doc["steps"].append(step_entry(res, m, st.get("say")))
    return doc
