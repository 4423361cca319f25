"""Read-only access to a system root: the real "/" or a tree laid out like it.

Every read goes through here, opened read-only (`open(..., "r"/"rb")`, `os.open(O_RDONLY)`), so a
test can prove that live mode never opens anything for writing.  A missing or unreadable file is
None, never an exception: a snapshot or an export tree may lack what a kernel has.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

MEMORY = "sys/devices/system/memory"
NODE = "sys/devices/system/node"
PARAMS = "sys/module/memory_hotplug/parameters"
SNAPSHOT_META = ".memmap-tui-snapshot.json"
EXPORT_MARKER = ".memmap-tui-export"
# page-flag files: the kernel's own, or a snapshot's compressed runs of them
KPF_RAW, KPC_RAW = "proc/kpageflags", "proc/kpagecount"
KPF_RUNS = "proc/kpageflags.runs.npz"


class Sysroot:
    """Files under `root`, read-only."""

    def __init__(self, root: str | os.PathLike = "/"):
        self.root = Path(root)
        self.unreadable: list[str] = []      # files that exist but could not be read (permissions)

    def path(self, rel: str) -> Path:
        return self.root / rel

    def exists(self, rel: str) -> bool:
        return os.path.exists(self.path(rel))

    def text(self, rel: str) -> str | None:
        try:
            with open(self.path(rel), "r", encoding="utf-8", errors="replace") as f:
                return f.read()
        except PermissionError:
            self.unreadable.append(rel)
            return None
        except OSError:
            return None

    def word(self, rel: str) -> str | None:
        t = self.text(rel)
        return None if t is None else t.strip()

    def listdir(self, rel: str) -> list[str]:
        try:
            return os.listdir(self.path(rel))
        except OSError:
            return []

    def readable(self, rel: str) -> bool:
        return os.access(self.path(rel), os.R_OK)


class RawPageFile:
    """/proc/kpageflags or /proc/kpagecount: one u64 per pfn, read with pread in bands."""

    def __init__(self, path: Path):
        self.path = path
        self.fd = os.open(path, os.O_RDONLY)

    def read(self, lo: int, hi: int) -> np.ndarray:
        out = np.zeros(max(0, hi - lo), dtype=np.uint64)
        view = memoryview(out).cast("B")
        done = 0
        while done < len(view):
            got = os.preadv(self.fd, [view[done:]], lo * 8 + done)
            if got <= 0:          # past the end of what the kernel reports: no page there
                break
            done += got
        return out

    def close(self) -> None:
        os.close(self.fd)


class RunsPageFile:
    """A snapshot's page flags stored as runs (start pfn, value): compressed, read by band."""

    def __init__(self, starts: np.ndarray, values: np.ndarray, end: int):
        self.starts, self.values, self.end = starts, values, end

    def read(self, lo: int, hi: int) -> np.ndarray:
        pfns = np.arange(lo, hi, dtype=np.int64)
        i = np.searchsorted(self.starts, pfns, side="right") - 1
        out = np.where(i >= 0, self.values[np.clip(i, 0, None)], 0).astype(np.uint64)
        out[pfns >= self.end] = 0
        return out

    def close(self) -> None:
        pass


def to_runs(values: np.ndarray, base: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(starts, values) of the runs of equal values, starts counted from `base`."""
    if len(values) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.uint64)
    change = np.flatnonzero(values[1:] != values[:-1]) + 1
    starts = np.concatenate(([0], change)).astype(np.int64)
    return starts + base, values[starts].astype(np.uint64)


def open_page_files(root: Sysroot) -> tuple[object | None, object | None, str]:
    """(flags, counts, why-not) for the page files of this root; None where not readable."""
    if root.exists(KPF_RUNS):
        try:
            with np.load(root.path(KPF_RUNS)) as z:
                end = int(z["end"])
                flags = RunsPageFile(z["flag_starts"], z["flag_values"], end)
                counts = RunsPageFile(z["count_starts"], z["count_values"], end) if "count_starts" in z else None
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
            return None, None, f"{KPF_RUNS}: not a page-flags snapshot ({e}): block level only"
        return flags, counts, ""
    if not root.exists(KPF_RAW):
        return None, None, "no /proc/kpageflags in this tree: block level only"
    try:
        flags = RawPageFile(root.path(KPF_RAW))
    except PermissionError:
        return None, None, "/proc/kpageflags needs root: run as root to see every page's flags"
    except OSError as e:
        return None, None, f"/proc/kpageflags: {e.strerror}"
    try:
        counts = RawPageFile(root.path(KPC_RAW))
    except OSError:
        counts = None
    return flags, counts, ""


# ------------------------------------------------------------------------------------------
# parsers of the /proc formats
# ------------------------------------------------------------------------------------------
def parse_meminfo(text: str) -> dict[str, int]:
    """/proc/meminfo: name -> value (kB for sizes, a count for HugePages_*)."""
    out = {}
    for line in text.splitlines():
        name, sep, rest = line.partition(":")
        parts = rest.split()
        if sep and parts and parts[0].isdigit():
            out[name.strip()] = int(parts[0])
    return out


def parse_vmstat(text: str) -> dict[str, int]:
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out


def parse_zoneinfo(text: str) -> list[dict]:
    """/proc/zoneinfo: one dict per zone with the engine's keys (node, zone, start_pfn, ...)."""
    zones: list[dict] = []
    cur: dict | None = None
    for line in text.splitlines():
        if line.startswith("Node "):
            head, _, zname = line.partition(", zone")
            cur = {"node": int(head.split()[1].rstrip(",")), "zone": zname.strip(), "start_pfn": 0,
                   "spanned": 0, "present": 0, "managed": 0, "free": 0, "min": 0, "low": 0, "high": 0}
            zones.append(cur)
            continue
        if cur is None:
            continue
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "pages" and parts[1] == "free":
            cur["free"] = int(parts[2])
        elif len(parts) == 2 and parts[0] in ("spanned", "present", "managed", "min", "low", "high") \
                and parts[1].isdigit():
            cur[parts[0]] = int(parts[1])
        elif len(parts) == 2 and parts[0] == "start_pfn:":
            cur["start_pfn"] = int(parts[1])
    return zones


def parse_iomem(text: str) -> list[tuple[int, int, str, int]]:
    """/proc/iomem: (start, end inclusive, name, depth) in file order; depth from the indent."""
    out = []
    for line in text.splitlines():
        body = line.lstrip(" ")
        depth = (len(line) - len(body)) // 2
        rng, sep, name = body.partition(" : ")
        lo, dash, hi = rng.partition("-")
        if not sep or not dash:
            continue
        try:
            out.append((int(lo, 16), int(hi, 16), name.strip(), depth))
        except ValueError:
            continue
    return out


def parse_nodelist(text: str | None) -> list[int]:
    """A sysfs node mask ("0", "0-1,3") -> ids."""
    out: list[int] = []
    for part in (text or "").strip().split(","):
        if not part:
            continue
        a, dash, b = part.partition("-")
        if a.isdigit() and (not dash or b.isdigit()):
            out.extend(range(int(a), int(b if dash else a) + 1))
    return out
