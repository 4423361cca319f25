"""`memmap-tui snapshot DIR`: save what live mode reads into a tree lsmem and `live` can open."""

from __future__ import annotations

import argparse
import sys

from .snapshot import SnapshotError, take_snapshot


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="memmap-tui snapshot",
        description="Save this machine's memory sysfs, /proc files and page flags (compressed) "
                    "into DIR, laid out like the real tree: `lsmem --sysroot DIR` and "
                    "`memmap-tui live --sysroot DIR` read it back.")
    p.add_argument("dir", help="a new or empty directory")
    p.add_argument("--sysroot", default="/", metavar="DIR", help="snapshot this tree instead of /")
    p.add_argument("--no-pages", action="store_true", help="leave out the page flags")
    args = p.parse_args(argv)
    try:
        s = take_snapshot(args.sysroot, args.dir, pages=not args.no_pages)
    except SnapshotError as e:
        print(f"memmap-tui snapshot: {e}", file=sys.stderr)
        return 2
    pages = (f"page flags as {s['runs']} runs" if s["page_flags"]
             else f"no page flags ({s.get('page_flags_note', 'not asked')})")
    print(f"{args.dir}: {s['files']} files, {pages}, in {s['seconds']:.2f} s")
    return 0
