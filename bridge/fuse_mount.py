"""Serving a SimFS through FUSE with mfusepy (ctypes; Debian's libfuse3 is loaded at run time).

Only this module imports mfusepy, and only when `memmap-tui mount` runs, so the app installs and
starts on machines without FUSE or a compiler.
"""

from __future__ import annotations

import errno as E
import os
from ctypes.util import find_library

from .simfs import SimFS, SimFSError

INSTALL_HINT = ("memmap-tui mount needs FUSE: apt-get install fuse3 (Debian/Ubuntu) and "
                "pip install 'memmap-tui[fuse]' (mfusepy)")


class FuseMissing(RuntimeError):
    """FUSE cannot be used here (one line saying what to install)."""


def load_mfusepy():
    """Import mfusepy against libfuse3 (it would take libfuse 2 first when both are there)."""
    if find_library("fuse3") and "FUSE_LIBRARY_PATH" not in os.environ:
        os.environ.setdefault("FUSE_LIBRARY_NAME", "fuse3")
    try:
        import mfusepy
    except ImportError:
        raise FuseMissing(f"{INSTALL_HINT} (mfusepy is not installed)") from None
    except OSError as e:
        raise FuseMissing(f"{INSTALL_HINT} ({e})") from None
    if not os.path.exists("/dev/fuse"):
        raise FuseMissing(f"{INSTALL_HINT} (/dev/fuse is missing: a container without FUSE?)")
    return mfusepy


def make_operations(fs: SimFS, mfusepy):
    """An mfusepy.Operations subclass bound to `fs`."""
    FuseOSError = mfusepy.FuseOSError

    def guard(fn):
        def run(*a, **kw):
            try:
                return fn(*a, **kw)
            except SimFSError as e:
                raise FuseOSError(e.errno) from None
        return run

    class SimOps(mfusepy.Operations):
        use_ns = True

        @guard
        def getattr(self, path, fh=None):
            st = fs.getattr(path)
            now = 0
            st.update(st_uid=os.getuid(), st_gid=os.getgid(), st_atime=now, st_mtime=now, st_ctime=now)
            return st

        @guard
        def readdir(self, path, fh):
            return [".", ".."] + fs.readdir(path)

        @guard
        def readlink(self, path):
            return fs.readlink(path)

        @guard
        def open(self, path, flags):
            fs.check_open(path, bool(flags & (os.O_WRONLY | os.O_RDWR)))
            return 0

        @guard
        def read(self, path, size, offset, fh):
            return fs.read_at(path, size, offset)

        @guard
        def write(self, path, data, offset, fh):
            return fs.write(path, bytes(data))

        @guard
        def truncate(self, path, length, fh=None):
            fs.check_open(path, True)       # `echo x > attr` truncates first; sysfs ignores it
            return 0

        def create(self, path, mode, fi=None):
            raise FuseOSError(E.EACCES)

        def mkdir(self, path, mode):
            raise FuseOSError(E.EACCES)

        def unlink(self, path):
            raise FuseOSError(E.EACCES)

        def statfs(self, path):
            return {"f_bsize": 4096, "f_namemax": 255}

    return SimOps()


def serve(fs: SimFS, mountpoint: str, foreground: bool = True) -> None:
    """Mount and serve until unmounted (fusermount3 -u MOUNTPOINT, or Ctrl-C)."""
    mfusepy = load_mfusepy()
    mfusepy.FUSE(make_operations(fs, mfusepy), mountpoint, foreground=foreground, nothreads=True,
                 direct_io=True, attr_timeout=0, entry_timeout=0, negative_timeout=0,
                 fsname="memmap-tui", default_permissions=os.getuid() != 0)
