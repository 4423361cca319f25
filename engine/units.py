"""Sizes and addresses as people write them ("128M", "1G", "0x100000000") and back."""

from __future__ import annotations

import re

_SUFFIX = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50}
_SIZE_RE = re.compile(r"^\s*(\d+)\s*([KMGTP]?)(?:I?B)?\s*$", re.IGNORECASE)


def parse_size(value: object, what: str = "size") -> int:
    """Bytes from an int, a hex string or a number with a K/M/G/T suffix."""
    if isinstance(value, bool):
        raise ValueError(f"{what}: expected a size, got a boolean")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{what}: negative value {value}")
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.lower().startswith("0x"):
            try:
                return int(text, 16)
            except ValueError:
                raise ValueError(f"{what}: bad hex number {value!r}") from None
        m = _SIZE_RE.match(text)
        if m:
            return int(m.group(1)) * _SUFFIX[m.group(2).upper()]
        raise ValueError(f"{what}: cannot read {value!r} as a size (try 128M, 1G or 0x8000000)")
    raise ValueError(f"{what}: expected a size, got {type(value).__name__}")


def format_size(nbytes: int) -> str:
    """The shortest exact binary-suffixed spelling: 134217728 -> '128M'."""
    if nbytes == 0:
        return "0"
    for suffix in ("P", "T", "G", "M", "K"):
        unit = _SUFFIX[suffix]
        if nbytes % unit == 0:
            return f"{nbytes // unit}{suffix}"
    return str(nbytes)


def human(nbytes: int) -> str:
    """Approximate size for display: 1.5 GiB."""
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024 or unit == "PiB":
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
        value /= 1024
    return f"{nbytes} B"
