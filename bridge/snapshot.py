"""Snapshots: everything live mode reads, saved into a tree laid out like the real one.

`lsmem --sysroot DIR` reads the tree as it would read this machine, and `LiveMachine(DIR)` shows
the machine as it was.  The page files are saved as runs of equal values, compressed
(proc/kpageflags.runs.npz), read in bands like the real files; a small JSON file at the top says
what the tree is (architecture, page size, kernel, when).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from .sysroot import (KPF_RUNS, MEMORY, NODE, PARAMS, SNAPSHOT_META, Sysroot, open_page_files,
                      to_runs)

BLOCK_FILES = ("state", "online", "phys_index", "phys_device", "removable", "valid_zones", "uevent")
NODE_TOP = ("possible", "online", "has_memory", "has_normal_memory", "has_cpu")
NODE_FILES = ("meminfo", "distance", "cpulist", "cpumap")
PROC_FILES = ("meminfo", "zoneinfo", "vmstat", "iomem", "sys/kernel/osrelease")
BAND = 1 << 21          # pfns read at a time from the page files


class SnapshotError(ValueError):
    """The snapshot cannot be written (one line)."""


def _copy(src: Sysroot, dst: Path, rel: str) -> bool:
    text = src.text(rel)
    if text is None:
        return False
    p = dst / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return True


def _link(dst: Path, rel: str, target: str) -> None:
    p = dst / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    if not os.path.lexists(p):
        os.symlink(target, p)


def take_snapshot(sysroot: str | os.PathLike, out_dir: str | os.PathLike, pages: bool = True) -> dict:
    """Write the snapshot of `sysroot` under `out_dir`; return its summary (files, runs, seconds)."""
    src = Sysroot(sysroot)
    dst = Path(out_dir)
    if not src.exists(MEMORY):
        raise SnapshotError(f"{src.path(MEMORY)}: not found: nothing to snapshot")
    if dst.exists() and any(dst.iterdir()) and not (dst / SNAPSHOT_META).exists():
        raise SnapshotError(f"{dst}: exists and is not empty; choose a new directory")
    t0 = time.perf_counter()
    files = 0
    try:
        dst.mkdir(parents=True, exist_ok=True)
        for rel in ("block_size_bytes", "auto_online_blocks"):
            files += _copy(src, dst, f"{MEMORY}/{rel}")
        top = 0
        block_size = int(src.word(f"{MEMORY}/block_size_bytes") or "0", 16)
        for name in sorted(src.listdir(MEMORY)):
            if not (name.startswith("memory") and name[6:].isdigit()):
                continue
            d = f"{MEMORY}/{name}"
            top = max(top, (int(name[6:]) + 1) * block_size)
            for f in BLOCK_FILES:
                files += _copy(src, dst, f"{d}/{f}")
            for e in src.listdir(d):
                if e.startswith("node") and e[4:].isdigit():
                    _link(dst, f"{d}/{e}", f"../../node/{e}")
        for f in NODE_TOP:
            files += _copy(src, dst, f"{NODE}/{f}")
        for name in sorted(src.listdir(NODE)):
            if not (name.startswith("node") and name[4:].isdigit()):
                continue
            for f in NODE_FILES:
                files += _copy(src, dst, f"{NODE}/{name}/{f}")
            for e in src.listdir(f"{NODE}/{name}"):
                if e.startswith("memory") and e[6:].isdigit():
                    _link(dst, f"{NODE}/{name}/{e}", f"../../memory/{e}")
        for p in src.listdir(PARAMS):
            files += _copy(src, dst, f"{PARAMS}/{p}")
        for f in PROC_FILES:
            files += _copy(src, dst, f"proc/{f}")
        page_size = os.sysconf("SC_PAGE_SIZE") if str(sysroot) == "/" else 4096
        meta_src = src.text(SNAPSHOT_META)
        meta = json.loads(meta_src) if meta_src else {}
        page_size = int(meta.get("page_size", page_size))
        summary = {"files": files, "page_flags": False, "runs": 0}
        if pages:
            flags, counts, note = open_page_files(src)
            if flags is not None:
                end = top // page_size
                parts = {"flag": _runs(flags, end), "count": _runs(counts, end) if counts else None}
                arrays = {"end": np.int64(end)}
                for key, val in parts.items():
                    if val is not None:
                        arrays[f"{key}_starts"], arrays[f"{key}_values"] = val
                (dst / KPF_RUNS).parent.mkdir(parents=True, exist_ok=True)
                np.savez_compressed(dst / KPF_RUNS, **arrays)
                summary.update(page_flags=True, runs=int(len(arrays["flag_starts"])))
            else:
                summary["page_flags_note"] = note
        new_meta = {"machine": meta.get("machine") or (os.uname().machine if str(sysroot) == "/" else "x86_64"),
                    "page_size": page_size, "release": src.word("proc/sys/kernel/osrelease"),
                    "taken": meta.get("taken") or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "source": str(sysroot), "page_flags": summary["page_flags"]}
        (dst / SNAPSHOT_META).write_text(json.dumps(new_meta, indent=1) + "\n", encoding="utf-8")
    except OSError as e:
        raise SnapshotError(f"{dst}: {e.strerror or e}") from None
    summary["seconds"] = time.perf_counter() - t0
    return summary


def _runs(pagefile, end: int) -> tuple[np.ndarray, np.ndarray]:
    starts, values = [], []
    for lo in range(0, end, BAND):
        s, v = to_runs(pagefile.read(lo, min(end, lo + BAND)), lo)
        last = next((x for x in reversed(values) if len(x)), None)
        if last is not None and len(v) and last[-1] == v[0]:
            s, v = s[1:], v[1:]
        starts.append(s)
        values.append(v)
    if not starts:
        return np.zeros(0, np.int64), np.zeros(0, np.uint64)
    return np.concatenate(starts), np.concatenate(values)
