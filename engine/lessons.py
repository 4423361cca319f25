"""Built-in lessons: scenarios with narration (`say`), checked facts (`expect`) and student turns (`wait`).

A lesson is a scenario file in scenarios/lessons/ whose [scenario] table has `lesson = true`.
Each step may carry, besides its op keys:

- `say`: what happens, in words (the TUI shows it before/after the step);
- `expect`: a table of facts the step must produce, checked against the engine by
  `check_expect` (the keys are in EXPECT_KEYS and documented in scenarios/lessons/README.md);
- `wait`: a table `{ prompt = "...", hint = "...", op = ..., <op keys> }` meaning "the student must
  do this": the TUI shows `prompt` and waits until the student applies an operation that
  `wait_matches` accepts. Headless playback simply executes the step itself.

Pure Python: no textual/rich imports.
"""

from __future__ import annotations

import re
from pathlib import Path

from . import states as S
from .ops import ArgError, OP_ARGS, parse_op
from .scenario import Scenario, ScenarioError, load_scenario

EXPECT_KEYS = {
    # outcome of the operation
    "ok": "bool: the operation succeeded",
    "errno": 'str: the errno it failed with ("EBUSY", "EINVAL", ...)',
    "error_contains": "str: a substring of the one-line error",
    "check_contains": "str: a substring of the check that refused",
    "dmesg_contains": "str | [str]: each appears in some dmesg line of the step",
    "dmesg_lacks": "str | [str]: none of them appears in the step's dmesg",
    "events_contain": "str | [str]: each appears in some call-trail line of the step",
    "left_behind": "bool: the failed operation left changes behind (kernel error path)",
    # meminfo, in kB
    "memtotal_kb": "int | {min,max}: MemTotal after the step",
    "memfree_kb": "int | {min,max}: MemFree after the step",
    "memtotal_delta_kb": "int | {min,max}: MemTotal after minus before",
    "memfree_delta_kb": "int | {min,max}: MemFree after minus before",
    # memory blocks, keyed by block id (a string in TOML)
    "block_state": '{id: "online" | "offline" | "absent"}',
    "block_zone": '{id: zone name of an online block ("none" for a multi-zone block)}',
    "valid_zones": '{id: the valid_zones text, e.g. "Normal Movable"}',
    "nr_vmemmap_pages": "{id: int | {min,max}}",
    "block_node": "{id: int}",
    "block_count": "{online = int, offline = int, total = int} (any subset; int | {min,max})",
    # zones, keyed "node/Zone" (e.g. "0/Movable")
    "zone": "{\"nid/Zone\": {spanned|present|managed|free[_delta] = int | {min,max}}}",
    # nodes, vmstat, resources
    "node_online": "{nid: bool}",
    "vmstat": "{item: int | {min,max}} after the step",
    "vmstat_delta": "{item: int | {min,max}} after minus before",
    "resources": "int: number of hot-added System RAM ranges",
    # single pages and where memmaps live (need a snapshot taken with lessons.snapshot)
    "pfn_state": '{pfn: state name ("memmap-self", "free", "offline", ...)}',
    "kpageflags": "{pfn: [flag names]} exactly (e.g. [\"RESERVED\", \"OWNER_PRIVATE\"])",
    "memmap": '{id: {source = "altmap" | "buddy" | "boot", node = int}}: the memmap of the block\'s '
              "first section: who backs it and on which node the backing pages are",
    # virtio-mem devices, keyed by device id
    "device": '{id: {requested_mb|plugged_mb = int | {min,max}, mode = "SBM" | "BBM", '
              "retry_due_s = number | false (no retry timer armed), broken = bool}}",
}
WAIT_KEYS = ("prompt", "hint")


class LessonError(ValueError):
    """A lesson that cannot be found or is malformed (one line)."""


# ------------------------------------------------------------------------------------------
# finding and loading
# ------------------------------------------------------------------------------------------
def lesson_dir() -> Path:
    """The directory of the built-in lessons (scenarios/lessons)."""
    try:
        from scenarios import lessons as pkg   # installed package data
        return Path(pkg.__file__).resolve().parent
    except Exception:  # pragma: no cover - source checkout without the package
        return Path(__file__).resolve().parent.parent / "scenarios" / "lessons"


def _files() -> list[Path]:
    d = lesson_dir()
    return sorted(d.glob("*.toml")) if d.is_dir() else []


def _one_line(text: str) -> str:
    text = " ".join(str(text).split())
    m = re.match(r"(.+?[.!?])(\s|$)", text)
    return m.group(1) if m else text


def _order_key(sc: Scenario):
    order = sc.meta.get("order")
    return (order if isinstance(order, (int, float)) else 1e9, Path(sc.name).stem)


def list_lessons() -> list[tuple[str, str, str]]:
    """(name, title, one-line summary) of each built-in lesson, in teaching order."""
    out = []
    for p in _files():
        try:
            sc = load_scenario(p)
        except ScenarioError:
            continue
        if not sc.meta.get("lesson"):
            continue
        out.append((_order_key(sc), p.stem, sc.title, _one_line(sc.meta.get("description", ""))))
    out.sort(key=lambda t: t[0])
    return [(name, title, line) for _, name, title, line in out]


def find_lesson(name: str) -> Path:
    """A lesson file by name ("01-seed-oom"), unique prefix ("01"), or path."""
    p = Path(name)
    if p.suffix == ".toml" and p.exists():
        return p
    files = _files()
    exact = [f for f in files if f.stem == name or f.name == name]
    if exact:
        return exact[0]
    pre = [f for f in files if f.stem.startswith(name)]
    if len(pre) == 1:
        return pre[0]
    if len(pre) > 1:
        raise LessonError(f"lesson {name!r} is ambiguous: {', '.join(f.stem for f in pre)}")
    raise LessonError(f"no lesson {name!r} (see `memmap-tui lessons`)")


def load_lesson(name: str) -> Scenario:
    """Load and check a built-in lesson; raises LessonError with one line."""
    path = find_lesson(name)
    try:
        sc = load_scenario(path)
    except ScenarioError as e:
        raise LessonError(str(e)) from None
    problems = validate_lesson(sc)
    if problems:
        raise LessonError(f"{path}: {problems[0]}")
    return sc


def validate_lesson(sc: Scenario) -> list[str]:
    """Shape problems of a lesson: [scenario] keys, expect keys, wait tables."""
    out = []
    for key in ("title", "description"):
        if not isinstance(sc.meta.get(key), str) or not sc.meta.get(key):
            out.append(f"[scenario] needs a {key}")
    if sc.meta.get("lesson") is not True:
        out.append("[scenario] needs lesson = true")
    for i, st in enumerate(sc.steps, 1):
        exp = st.get("expect")
        if exp is not None:
            if not isinstance(exp, dict):
                out.append(f"step {i}: expect must be a table")
            else:
                for k in exp:
                    if k not in EXPECT_KEYS:
                        out.append(f"step {i}: expect: unknown key {k!r}")
        w = st.get("wait")
        if w is not None:
            out += [f"step {i}: wait: {p}" for p in _validate_wait(st, w)]
    return out


def _validate_wait(step: dict, w) -> list[str]:
    if not isinstance(w, dict):
        return ["must be a table"]
    out = []
    if not isinstance(w.get("prompt"), str) or not w.get("prompt"):
        out.append("needs a prompt (the text the student sees)")
    op = w.get("op", step.get("op"))
    spec = OP_ARGS.get(op)
    if spec is None:
        return out + [f"unknown op {op!r}"]
    for k in w:
        if k not in WAIT_KEYS and k != "op" and k not in spec:
            out.append(f"unknown key {k!r} for op {op}")
    return out


# ------------------------------------------------------------------------------------------
# the student's turn
# ------------------------------------------------------------------------------------------
def wait_op(step: dict) -> dict:
    """The operation a `wait` step asks for: the wait's op keys, else the step's own."""
    w = step.get("wait") or {}
    keys = {k: v for k, v in w.items() if k not in WAIT_KEYS}
    if not keys or (set(keys) == {"op"} and keys["op"] == step.get("op")):
        keys = {k: v for k, v in step.items() if k not in ("say", "expect", "wait")}
    keys.setdefault("op", step.get("op"))
    return keys


def wait_matches(step: dict, op: dict) -> bool:
    """Does the student's operation `op` (a step-style dict) do what the wait asks?

    Only the keys the wait names are compared (after unit conversion), so a wait of
    {op = "online", block = 33} accepts any online type.
    """
    want = wait_op(step)
    try:
        wname, wargs = parse_op(want)
        gname, gargs = parse_op(op)
    except ArgError:
        return False
    if wname != gname:
        return False
    named = [k for k in want if k != "op"]
    return all(gargs.get(k) == wargs.get(k) for k in named)


# ------------------------------------------------------------------------------------------
# snapshots and checks
# ------------------------------------------------------------------------------------------
def _pfn(key) -> int:
    return int(key, 0) if isinstance(key, str) else int(key)


def snapshot(m, step: dict | None = None) -> dict:
    """The machine state `check_expect` compares: the report's state plus what `step`'s
    expect names (single pfns, memmap placement of blocks) and the resource count."""
    from .report import machine_state
    from .procfs import kpf_names
    st = machine_state(m)
    st["resources"] = len(m.resources())
    exp = (step or {}).get("expect") or {}
    pfns = {}
    for key in list(exp.get("pfn_state", {})) + list(exp.get("kpageflags", {})):
        pfn = _pfn(key)
        if pfn in pfns:
            continue
        code = int(m.pfn_states(pfn, pfn + 1)[0])
        pfns[pfn] = {"state": S.NAMES[code], "kpageflags": kpf_names(int(m.kpageflags(pfn, pfn + 1)[0]))}
    st["pfns"] = pfns
    memmaps = {}
    for key in exp.get("memmap", {}):
        b = m.block(int(key))
        if b is None:
            memmaps[int(key)] = None
            continue
        sec = m.section(b["start_pfn"] // m.geometry.pages_per_section)["memmap"]
        memmaps[int(key)] = {"source": sec.get("source"),
                             "nodes": sorted({x["node"] for x in sec.get("backing", [])})}
    st["memmap"] = memmaps
    return st


def _as_state(state, step) -> dict | None:
    if state is None or isinstance(state, dict):
        return state
    return snapshot(state, step)     # a Machine


def _as_result(result) -> dict:
    if isinstance(result, dict):
        ev = result.get("events", [])
        return {"ok": result.get("ok"), "errno": result.get("errno"), "error": result.get("error") or "",
                "check": result.get("check") or "", "dmesg": list(result.get("dmesg", [])),
                "events": [e if isinstance(e, str) else e.line() for e in ev],
                "left_behind": list(result.get("left_behind", []))}
    return {"ok": result.ok, "errno": result.errno, "error": result.error or "", "check": result.check or "",
            "dmesg": list(result.dmesg), "events": [e.line() for e in result.events],
            "left_behind": list(getattr(result, "left_behind", []) or [])}


def _match(value, want) -> bool:
    if isinstance(want, dict):
        if value is None:
            return False
        lo, hi = want.get("min"), want.get("max")
        return (lo is None or value >= lo) and (hi is None or value <= hi)
    return value == want


def _fmt_want(want) -> str:
    if isinstance(want, dict):
        parts = []
        if "min" in want:
            parts.append(f">= {want['min']}")
        if "max" in want:
            parts.append(f"<= {want['max']}")
        return " and ".join(parts) or "anything"
    return repr(want)


def _listify(v) -> list:
    return v if isinstance(v, list) else [v]


def _block(state: dict, bid) -> dict | None:
    for b in state.get("blocks", []):
        if b["id"] == int(bid):
            return b
    return None


def _zone(state: dict, key: str) -> dict | None:
    nid, _, name = str(key).partition("/")
    for z in state.get("zones", []):
        if str(z["node"]) == nid.strip() and z["zone"].lower() == name.strip().lower():
            return z
    return None


def check_expect(step: dict, result, before_state, after_state) -> list[str]:
    """The facts of `step["expect"]` that do not hold, in words (empty: all hold).

    `result` is the step's OpResult (or its entry in a run_report document); the states are
    `snapshot(m, step)` dicts taken before and after the step (a report entry's state works for
    every key except pfn_state, kpageflags, memmap and resources; a Machine is snapshotted now).
    """
    exp = step.get("expect")
    if not exp:
        return []
    if not isinstance(exp, dict):
        return ["expect must be a table"]
    res = _as_result(result)
    after = _as_state(after_state, step) or {}
    before = _as_state(before_state, step)
    out: list[str] = []

    def need_before(key) -> bool:
        if before is None:
            out.append(f"{key}: needs the state before the step")
            return False
        return True

    for key, want in exp.items():
        if key == "ok":
            if bool(res["ok"]) != bool(want):
                out.append(f"ok: expected {want}, the step {'succeeded' if res['ok'] else 'failed: ' + res['error']}")
        elif key == "errno":
            if res["errno"] != want:
                out.append(f"errno: expected {want}, got {res['errno'] or 'success'}")
        elif key in ("error_contains", "check_contains"):
            text = res["error" if key == "error_contains" else "check"]
            for s in _listify(want):
                if s not in text:
                    out.append(f"{key}: {s!r} not in {text!r}")
        elif key == "dmesg_contains":
            for s in _listify(want):
                if not any(s in line for line in res["dmesg"]):
                    out.append(f"dmesg_contains: no dmesg line contains {s!r}")
        elif key == "dmesg_lacks":
            for s in _listify(want):
                if any(s in line for line in res["dmesg"]):
                    out.append(f"dmesg_lacks: a dmesg line contains {s!r}")
        elif key == "events_contain":
            for s in _listify(want):
                if not any(s in line for line in res["events"]):
                    out.append(f"events_contain: no call-trail line contains {s!r}")
        elif key == "left_behind":
            if bool(res["left_behind"]) != bool(want):
                out.append(f"left_behind: expected {want}, got {res['left_behind'] or 'nothing'}")
        elif key in ("memtotal_kb", "memfree_kb"):
            field = "MemTotal" if key == "memtotal_kb" else "MemFree"
            v = after.get("meminfo", {}).get(field)
            if not _match(v, want):
                out.append(f"{key}: {field} is {v} kB, expected {_fmt_want(want)}")
        elif key in ("memtotal_delta_kb", "memfree_delta_kb"):
            field = "MemTotal" if key == "memtotal_delta_kb" else "MemFree"
            if need_before(key):
                d = after["meminfo"][field] - before["meminfo"][field]
                if not _match(d, want):
                    out.append(f"{key}: {field} changed by {d:+d} kB, expected {_fmt_want(want)}")
        elif key == "block_state":
            for bid, w in want.items():
                b = _block(after, bid)
                got = b["state"] if b else "absent"
                if got != w:
                    out.append(f"block_state: memory{bid} is {got}, expected {w}")
        elif key in ("block_zone", "valid_zones", "nr_vmemmap_pages", "block_node"):
            field = {"block_zone": "valid_zones", "valid_zones": "valid_zones",
                     "nr_vmemmap_pages": "nr_vmemmap_pages", "block_node": "node"}[key]
            for bid, w in want.items():
                b = _block(after, bid)
                if b is None:
                    out.append(f"{key}: there is no memory{bid}")
                    continue
                got = b[field]
                if key == "block_zone" and b["state"] != "online":
                    out.append(f"block_zone: memory{bid} is not online")
                elif not _match(got, w):
                    out.append(f"{key}: memory{bid} has {got!r}, expected {_fmt_want(w)}")
        elif key == "block_count":
            blocks = after.get("blocks", [])
            got = {"online": sum(1 for b in blocks if b["state"] == "online"),
                   "offline": sum(1 for b in blocks if b["state"] != "online"), "total": len(blocks)}
            for k, w in want.items():
                if k not in got:
                    out.append(f"block_count: unknown key {k!r} (online, offline, total)")
                elif not _match(got[k], w):
                    out.append(f"block_count: {got[k]} {k} blocks, expected {_fmt_want(w)}")
        elif key == "zone":
            for zkey, facts in want.items():
                z = _zone(after, zkey)
                if z is None:
                    out.append(f"zone: no zone {zkey}")
                    continue
                for f, w in facts.items():
                    if f.endswith("_delta"):
                        base = f[:-6]
                        if not need_before(f"zone {zkey} {f}"):
                            continue
                        zb = _zone(before, zkey)
                        d = z.get(base, 0) - (zb.get(base, 0) if zb else 0)
                        if not _match(d, w):
                            out.append(f"zone {zkey}: {base} changed by {d:+d}, expected {_fmt_want(w)}")
                    elif f in z:
                        if not _match(z[f], w):
                            out.append(f"zone {zkey}: {f} is {z[f]}, expected {_fmt_want(w)}")
                    else:
                        out.append(f"zone {zkey}: unknown field {f!r}")
        elif key == "node_online":
            nodes = {str(n["id"]): n["online"] for n in after.get("nodes", [])}
            for nid, w in want.items():
                if nodes.get(str(nid)) != w:
                    out.append(f"node_online: node {nid} online is {nodes.get(str(nid))}, expected {w}")
        elif key in ("vmstat", "vmstat_delta"):
            for item, w in want.items():
                v = after.get("vmstat", {}).get(item)
                if v is None:
                    out.append(f"{key}: /proc/vmstat has no {item} in this profile")
                    continue
                if key == "vmstat_delta":
                    if not need_before(f"vmstat_delta {item}"):
                        continue
                    v = v - before.get("vmstat", {}).get(item, 0)
                if not _match(v, w):
                    out.append(f"{key}: {item} is {v}, expected {_fmt_want(w)}")
        elif key == "resources":
            if "resources" not in after:
                out.append("resources: not in this state (take it with lessons.snapshot)")
            elif not _match(after["resources"], want):
                out.append(f"resources: {after['resources']} hot-added ranges, expected {_fmt_want(want)}")
        elif key in ("pfn_state", "kpageflags"):
            pfns = after.get("pfns")
            if pfns is None:
                out.append(f"{key}: not in this state (take it with lessons.snapshot)")
                continue
            for k, w in want.items():
                info = pfns.get(_pfn(k))
                if info is None:
                    out.append(f"{key}: pfn {k} not in the snapshot")
                elif key == "pfn_state" and info["state"] != w:
                    out.append(f"pfn_state: pfn {k} is {info['state']}, expected {w}")
                elif key == "kpageflags" and sorted(info["kpageflags"]) != sorted(w):
                    out.append(f"kpageflags: pfn {k} reads {info['kpageflags']}, expected {sorted(w)}")
        elif key == "memmap":
            mm = after.get("memmap")
            if mm is None:
                out.append("memmap: not in this state (take it with lessons.snapshot)")
                continue
            for bid, w in want.items():
                info = mm.get(int(bid))
                if info is None:
                    out.append(f"memmap: there is no memory{bid}")
                    continue
                if "source" in w and info["source"] != w["source"]:
                    out.append(f"memmap: memory{bid}'s memmap comes from {info['source']}, expected {w['source']}")
                if "node" in w and info["nodes"] != [w["node"]]:
                    out.append(f"memmap: memory{bid}'s memmap lives on node(s) {info['nodes']}, "
                               f"expected node {w['node']}")
        elif key == "device":
            devs = {d["id"]: d for d in after.get("devices", [])}
            for did, w in want.items():
                d = devs.get(did)
                if d is None:
                    out.append(f"device: there is no virtio-mem device {did!r}")
                    continue
                for f, fw in w.items():
                    if f in ("requested_mb", "plugged_mb"):
                        v = d[f[:-3] + "_size"] >> 20
                        if not _match(v, fw):
                            out.append(f"device {did}: {f} is {v}, expected {_fmt_want(fw)}")
                    elif f == "retry_due_s":
                        v = d["retry_due_s"]
                        if (fw is False and v is not None) or (fw is not False and v != fw):
                            out.append(f"device {did}: retry due at {v}, expected {fw}")
                    elif f in ("mode", "broken"):
                        if d[f] != fw:
                            out.append(f"device {did}: {f} is {d[f]!r}, expected {fw!r}")
                    else:
                        out.append(f"device {did}: unknown field {f!r}")
        else:
            out.append(f"unknown expect key {key!r}")
    return out


def play(sc: Scenario):
    """Play a lesson headless: yields (index, step, result, problems) for every step.

    A `wait` step is executed as written (the student's turn, done for them)."""
    from .machine import Machine
    m = Machine(sc.config)
    for i, st in enumerate(sc.steps, 1):
        before = snapshot(m, st) if st.get("expect") else None
        res = m.apply(st)
        problems = check_expect(st, res, before, snapshot(m, st)) if st.get("expect") else []
        yield i, st, res, problems
