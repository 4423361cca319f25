"""Words for numbers and operations, and the reverse: what the user typed as a place on the grid.

Pure functions over the engine's public types; no Textual."""

from __future__ import annotations

import re

from engine import Machine

_SIZE_SUFFIXES = (("T", 40), ("G", 30), ("M", 20), ("K", 10))


def format_bytes(n: int) -> str:
    """128M, 1G, 4K; a size that is no whole unit stays in bytes."""
    for suffix, shift in _SIZE_SUFFIXES:
        if n and n % (1 << shift) == 0:
            return f"{n >> shift}{suffix}"
    return str(n)


def human_bytes(n: int) -> str:
    """A size for people: 256 KiB, 1.5 GiB (binary units, at most one decimal)."""
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            value = n / (1 << shift)
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} B"


def describe_op(op: dict) -> str:
    """One op dict (from Machine.history) in a few words: hot_add(size=1G, node=0)."""
    parts = []
    for key, value in op.items():
        if key == "op" or value is None:
            continue
        if key in ("start", "size") and isinstance(value, int) and not isinstance(value, bool):
            value = hex(value) if key == "start" else format_bytes(value)
        parts.append(f"{key}={value}")
    return f"{op.get('op', '?')}({', '.join(parts)})"


_UNIT_SHIFT = {"k": 10, "m": 20, "g": 30, "t": 40, "p": 50}
TARGET_HELP = "try 1234, pfn 0x4d2, 0x100000000, 4G, block 33 or section 40"


def parse_target(text: str, machine: Machine) -> int:
    """'1234', 'pfn 0x4d2', '0x100000000' (an address), '4G', 'block 33', 'section 40' -> a pfn.

    Raises ValueError with one line naming what was wrong."""
    geo = machine.geometry
    t = text.strip().lower()
    if not t:
        raise ValueError("enter a pfn, an address (0x...), 'block N' or 'section N'")
    if m := re.fullmatch(r"(?:block|memory|blk|b)\s*(\d+)", t):
        bid = int(m.group(1))
        block = machine.block(bid)
        if block is None:
            raise ValueError(f"no memory block {bid}")
        return int(block["start_pfn"])
    if m := re.fullmatch(r"(?:section|sec|s)\s*(\d+)", t):
        pfn = int(m.group(1)) * geo.pages_per_section
    elif m := re.fullmatch(r"pfn\s*(0x[0-9a-f]+|\d+)", t):
        pfn = int(m.group(1), 0)
    elif re.fullmatch(r"0x[0-9a-f]+", t):
        pfn = int(t, 16) >> geo.page_shift
    elif re.fullmatch(r"\d+", t):
        pfn = int(t)
    elif m := re.fullmatch(r"(\d+)\s*([kmgtp])i?b?", t):
        pfn = (int(m.group(1)) << _UNIT_SHIFT[m.group(2)]) >> geo.page_shift
    else:
        raise ValueError(f"cannot read {text.strip()!r}: {TARGET_HELP}")
    if not 0 <= pfn < geo.max_pfn:
        raise ValueError(f"pfn {pfn:#x} is outside the address space (max pfn {geo.max_pfn:#x})")
    return pfn


def one_line(exc: BaseException) -> str:
    """An exception as one line of text."""
    return " ".join(str(exc).split()) or type(exc).__name__
