"""The simulated machine as a file tree, with the kernel's sysfs store handlers.

Independent of FUSE (tests drive it directly; bridge.fuse_mount serves it): reads render the
engine's /sys and /proc files (engine.sysfs.render_files) per machine generation; writes to

    sys/devices/system/memory/memoryN/state    online | online_kernel | online_movable | offline
    sys/devices/system/memory/memoryN/online   0 | 1 (the generic device "online" attribute)
    sys/devices/system/memory/auto_online_blocks
    sys/devices/system/memory/probe            a physical address (ARCH_MEMORY_PROBE)
    sys/kernel/debug/notifier-error-inject/memory/actions/MEM_GOING_{ONLINE,OFFLINE}/error

act on the engine as drivers/base/memory.c and drivers/base/core.c do, and fail with the errno
the kernel's handler returns (`SimFSError.errno`).  Every write is logged for the front end.
"""

from __future__ import annotations

import errno as E
import os
import stat
import threading
import time
from dataclasses import dataclass

from engine import Machine
from engine.sysfs import Link, render_files

MEM = "sys/devices/system/memory"
KPAGEFLAGS = "proc/kpageflags"      # binary: one u64 per pfn, served from the engine per read
# lib/memory-notifier-error-inject.c's debugfs files, by the engine's fault name
INJECT = "sys/kernel/debug/notifier-error-inject/memory/actions"
INJECT_FILES = {f"{INJECT}/MEM_GOING_ONLINE/error": "mem_going_online",
                f"{INJECT}/MEM_GOING_OFFLINE/error": "mem_going_offline"}
ONLINE_TYPES = ("online", "online_kernel", "online_movable")
# modes of the kernel's attributes (DEVICE_ATTR_RW is 0644, probe is 0200, the rest 0444)
RW, WO, RO = 0o644, 0o200, 0o444


class SimFSError(OSError):
    """A refused file operation, with the errno the kernel returns."""

    def __init__(self, err: int, message: str = ""):
        super().__init__(err, message or os.strerror(err))


@dataclass
class WriteLog:
    when: float
    path: str
    value: str
    result: str          # "ok" or the errno name and the engine's one-line reason


class SimFS:
    def __init__(self, machine: Machine):
        self.m = machine
        self.lock = threading.RLock()
        self._gen = None
        self._files: dict[str, str | Link] = {}
        self._dirs: set[str] = set()
        self.log: list[WriteLog] = []
        self.listeners: list = []            # called with each WriteLog as it happens

    # -- the tree ------------------------------------------------------------------------------
    def _tree(self) -> tuple[dict, set]:
        with self.lock:
            if self._gen != self.m.generation:
                files = render_files(self.m)
                files[f"{MEM}/probe"] = ""
                files[KPAGEFLAGS] = ""
                armed = self.m.armed_faults()
                for rel, fault in INJECT_FILES.items():
                    files[rel] = f"{armed.get(fault, {}).get('errno', 0)}\n"
                ver = self.m.profile.version
                files["proc/sys/kernel/osrelease"] = f"{ver[0]}.{ver[1]}.0-memmap-tui-{self.m.profile.name}\n"
                dirs = {""}
                for rel in files:
                    parts = rel.split("/")
                    for i in range(1, len(parts)):
                        dirs.add("/".join(parts[:i]))
                self._files, self._dirs, self._gen = files, dirs, self.m.generation
            return self._files, self._dirs

    @staticmethod
    def _norm(path: str) -> str:
        return path.strip("/")

    def mode(self, rel: str) -> int:
        if rel == KPAGEFLAGS:
            return 0o400
        if rel in INJECT_FILES:
            return 0o600        # debugfs_create_errno(..., S_IRUSR | S_IWUSR, ...)
        if rel.startswith(MEM + "/"):
            name = rel[len(MEM) + 1:]
            if name == "probe":
                return WO
            if name == "auto_online_blocks" or (name.startswith("memory") and
                                                name.rsplit("/", 1)[-1] in ("state", "online")):
                return RW
        return RO

    def getattr(self, path: str) -> dict:
        rel = self._norm(path)
        files, dirs = self._tree()
        if rel in dirs:
            return {"st_mode": stat.S_IFDIR | 0o755, "st_nlink": 2, "st_size": 0}
        if rel not in files:
            raise SimFSError(E.ENOENT)
        v = files[rel]
        if isinstance(v, Link):
            return {"st_mode": stat.S_IFLNK | 0o777, "st_nlink": 1, "st_size": len(v.target)}
        size = self._top_pfn() * 8 if rel == KPAGEFLAGS else len(v.encode())
        return {"st_mode": stat.S_IFREG | self.mode(rel), "st_nlink": 1, "st_size": size}

    def _top_pfn(self) -> int:
        blocks = self.m.blocks()
        return max((b["end_pfn"] for b in blocks), default=0)

    def read_at(self, path: str, size: int, offset: int) -> bytes:
        """pread(2): text files are sliced; /proc/kpageflags is computed for the pfns asked."""
        rel = self._norm(path)
        if rel != KPAGEFLAGS:
            return self.read(rel)[offset:offset + size]
        self.check_open(rel, False)
        with self.lock:
            end = min(offset + size, self._top_pfn() * 8)
            if end <= offset:
                return b""
            lo, hi = offset // 8, -(-end // 8)
            data = self.m.kpageflags(lo, hi).astype("<u8").tobytes()
        return data[offset - lo * 8:end - lo * 8]

    def readdir(self, path: str) -> list[str]:
        rel = self._norm(path)
        files, dirs = self._tree()
        if rel not in dirs:
            raise SimFSError(E.ENOTDIR if rel in files else E.ENOENT)
        prefix = rel + "/" if rel else ""
        names = {p[len(prefix):].split("/", 1)[0] for p in list(files) + list(dirs)
                 if p.startswith(prefix) and p != rel}
        return sorted(n for n in names if n)

    def readlink(self, path: str) -> str:
        files, _ = self._tree()
        v = files.get(self._norm(path))
        if not isinstance(v, Link):
            raise SimFSError(E.EINVAL)
        return v.target

    def read(self, path: str) -> bytes:
        rel = self._norm(path)
        files, dirs = self._tree()
        if rel in dirs:
            raise SimFSError(E.EISDIR)
        v = files.get(rel)
        if v is None:
            raise SimFSError(E.ENOENT)
        if self.mode(rel) == WO:
            raise SimFSError(E.EACCES)
        return v.encode() if isinstance(v, str) else b""

    def check_open(self, path: str, write: bool) -> None:
        rel = self._norm(path)
        files, dirs = self._tree()
        if rel not in files and rel not in dirs:
            raise SimFSError(E.ENOENT)
        if write and not self.mode(rel) & 0o200:
            raise SimFSError(E.EACCES)

    # -- the store handlers ---------------------------------------------------------------------
    def write(self, path: str, data: bytes) -> int:
        """One write(2) to an attribute: the kernel's store handler for it; returns len(data)."""
        rel = self._norm(path)
        self.check_open(rel, True)
        value = data.decode("utf-8", "replace")
        with self.lock:
            try:
                self._store(rel, value.strip())
            except SimFSError as e:
                self._note(rel, value, f"{E.errorcode.get(e.errno, e.errno)}: {e.strerror}")
                raise
            self._note(rel, value, "ok")
        return len(data)

    def _note(self, rel: str, value: str, result: str) -> None:
        entry = WriteLog(time.time(), rel, value.strip(), result)
        self.log.append(entry)
        del self.log[:-1000]
        for fn in list(self.listeners):
            fn(entry)

    def _store(self, rel: str, value: str) -> None:
        if rel in INJECT_FILES:
            # the errno attribute: a signed integer, clamped to [-MAX_ERRNO, 0] by the engine
            try:
                err = int(value, 0)
            except ValueError:
                raise SimFSError(E.EINVAL) from None
            return self._engine(self.m.apply({"op": "inject", "fault": INJECT_FILES[rel], "errno": err}))
        name = rel[len(MEM) + 1:]
        if name == "probe":
            return self._probe(value)
        if name == "auto_online_blocks":
            # mhp_online_type_from_str(): anything else is -EINVAL
            if value not in ("offline",) + ONLINE_TYPES:
                raise SimFSError(E.EINVAL)
            return self._engine(self.m.set(auto_online=value))
        block = int(name.split("/")[0][len("memory"):])
        attr = name.rsplit("/", 1)[-1]
        info = self.m.block(block)
        if info is None:
            raise SimFSError(E.ENODEV)
        if attr == "state":
            # state_store(): device_online()/device_offline() return 1 when already there,
            # which state_store turns into -EINVAL
            if value in ONLINE_TYPES:
                if info["state"] == "online":
                    raise SimFSError(E.EINVAL, "already online")
                return self._engine(self.m.online(block, value))
            if value == "offline":
                if info["state"] == "offline":
                    raise SimFSError(E.EINVAL, "already offline")
                return self._engine(self.m.offline(block))
            raise SimFSError(E.EINVAL)
        # the generic "online" attribute: kstrtobool(); already there is success (ret 1 -> count),
        # and device_online() onlines with the default type "online"
        on = _strtobool(value)
        if on is None:
            raise SimFSError(E.EINVAL)
        if on and info["state"] != "online":
            return self._engine(self.m.online(block, "online"))
        if not on and info["state"] != "offline":
            return self._engine(self.m.offline(block))

    def _probe(self, value: str) -> None:
        """probe_store(): kstrtoull(buf, 0), block-aligned, then __add_memory(nid, addr, block)."""
        try:
            addr = int(value, 0)
        except ValueError:
            raise SimFSError(E.EINVAL) from None
        bs = self.m.geometry.block_size
        if addr < 0 or addr % bs:
            raise SimFSError(E.EINVAL)
        return self._engine(self.m.apply({"op": "hot_add", "size": bs, "start": addr, "node": 0,
                                          "via": "probe"}))

    @staticmethod
    def _engine(res) -> None:
        if not res.ok:
            raise SimFSError(getattr(E, res.errno or "EIO", E.EIO), res.error or "")


def _strtobool(text: str) -> bool | None:
    """kstrtobool(): the first character decides (1/y/Y/t/T/on and 0/n/N/f/F/off)."""
    t = text.lower()
    if t[:1] in ("1", "y", "t") or t == "on":
        return True
    if t[:1] in ("0", "n", "f") or t == "off":
        return False
    return None
