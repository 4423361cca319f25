"""Labels that fit: each label has a ladder of spellings, longest first, and the first one
that fits the room is drawn. A label is shortened word by word, never cut mid-word into
something that reads as another word ("n0:Mo"), and left out when not even its shortest
spelling fits.
"""

from __future__ import annotations

from collections.abc import Sequence

# machine-bar cell kinds (zones, or a block state when not in a zone) -> shorter spellings
KIND_SHORT: dict[str, tuple[str, ...]] = {
    "Normal": ("Normal", "Norm", "N"),
    "Movable": ("Movable", "Mov", "M"),
    "DMA32": ("DMA32", "D32", "3"),
    "DMA": ("DMA", "D"),
    "Device": ("Device", "Dev", "V"),
    "online": ("online", "on", "n"),
    "offline": ("offline", "off", "o"),
    "going-offline": ("going-offline", "going", "~"),
}


def first_fit(candidates: Sequence[str], room: int) -> str:
    """The first (longest-first) spelling no wider than `room`, or "" when none fits."""
    for text in candidates:
        if len(text) <= room:
            return text
    return ""


def bar_label_ladder(node: int | None, kind: str) -> list[str]:
    """Spellings of a machine-bar run label, longest first: n0:Movable, n0:Mov, n0M, M."""
    names = KIND_SHORT.get(kind, (kind,))
    node_part = "" if node is None else f"n{node}"
    out: list[str] = []
    for name in names:
        out.append(f"{node_part}:{name}" if node_part else name)
    if node_part:
        out.append(f"{node_part}{names[-1]}")
    out.append(names[-1])
    # keep the order, drop repeats
    return list(dict.fromkeys(out))


def fit_bar_label(node: int | None, kind: str, room: int) -> str:
    return first_fit(bar_label_ladder(node, kind), room)


def section_header_ladder(
    section: int,
    lo: int,
    hi: int,
    *,
    nr_sections: int = 1,
    block: int | None = None,
    node: int | None = None,
    zone: str | None = None,
    online: bool | None = None,
) -> list[str]:
    """Spellings of a grid band's header, longest first.

    'section 32 · block 32 · pfn 0x100000–0x107fff · node 0 · Movable' down to 's32'.
    """
    dot = " \u00b7 "
    dash = "\u2013"
    last = section + nr_sections - 1
    what = zone or ("offline" if online is False else None)
    short_what = KIND_SHORT[what][1] if what in KIND_SHORT else what
    pfns = f"{lo:#x}{dash}{hi - 1:#x}"

    def join(*parts: str | None) -> str:
        return dot.join(p for p in parts if p)

    if nr_sections == 1:
        long_sec, mid_sec, short_sec = f"section {section}", f"sec {section}", f"s{section}"
    else:
        long_sec = f"sections {section}{dash}{last} ({nr_sections})"
        mid_sec = f"secs {section}{dash}{last}"
        short_sec = f"s{section}{dash}{last}"
    long_blk = None if block is None else f"block {block}"
    short_blk = None if block is None else f"blk {block}"
    long_node = None if node is None else f"node {node}"
    short_node = None if node is None else f"n{node}"
    ladder = [
        join(long_sec, long_blk, f"pfn {pfns}", long_node, what),
        join(mid_sec, short_blk, pfns, short_node, short_what),
        join(mid_sec, short_blk, short_node, short_what),
        join(short_sec, short_node, short_what),
        join(short_sec, short_node),
        short_sec,
    ]
    if nr_sections > 1:
        ladder.append(f"s{section}+")
    return list(dict.fromkeys(ladder))


def fit_section_header(section: int, lo: int, hi: int, width: int | None = None, **facts) -> str:
    """The longest header spelling that fits `width` columns (all of it when width is None)."""
    ladder = section_header_ladder(section, lo, hi, **facts)
    return ladder[0] if width is None else first_fit(ladder, width)
