"""Reading TOML that a user (or a fuzzer) wrote: regular files only, bounded in size and depth.

tomllib reads whatever it is given: /dev/zero or a FIFO never ends, a file of several GiB is
read whole, and nesting a few thousand arrays deep exhausts Python's recursion. Every reader
of user TOML (scenarios, lessons, the app's config file) goes through here instead.
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

MAX_TOML_BYTES = 8 << 20       # a scenario of 8 MiB is already absurd; refuse before reading


class TomlReadError(ValueError):
    """The file cannot be used: one line saying why (without the file name)."""


def read_text(path, limit: int = MAX_TOML_BYTES) -> str:
    """The UTF-8 text of a regular file of at most `limit` bytes."""
    p = Path(path)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        if p.is_dir():
            raise TomlReadError("not a regular file (a directory)") from None
        raise TomlReadError(f"cannot read: {e.strerror or e}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise TomlReadError("not a regular file (a device, FIFO, socket or directory)")
    with os.fdopen(fd, "rb") as f:
        if st.st_size > limit:
            raise TomlReadError(f"too large ({st.st_size} bytes; the limit is {limit})")
        try:
            data = f.read(limit + 1)
        except OSError as e:
            raise TomlReadError(f"cannot read: {e.strerror or e}") from None
    if len(data) > limit:
        raise TomlReadError(f"too large (more than {limit} bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise TomlReadError("not a UTF-8 text file") from None


def loads(text: str) -> dict:
    """tomllib.loads, with every failure as one TomlReadError line."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise TomlReadError(f"not valid TOML: {e}") from None
    except RecursionError:
        raise TomlReadError("not valid TOML: arrays or tables nested too deeply") from None
