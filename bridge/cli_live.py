"""`memmap-tui live`: this machine (or a snapshot) as JSON, as a twin scenario, or diffed with it."""

from __future__ import annotations

import argparse
import json
import sys

from engine import ConfigError

from .live import LiveError, LiveMachine


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="memmap-tui live",
        description="Read the machine this runs on (read-only) and print it. Without root the "
                    "page flags (/proc/kpageflags) are not readable: block level only.")
    p.add_argument("--sysroot", default="/", metavar="DIR",
                   help="read a snapshot or an export-sysfs tree instead of / (default /)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--json", action="store_true",
                      help="one JSON document shaped like one step of `run --json` (default)")
    what.add_argument("--as-scenario", action="store_true",
                      help="print a scenario (TOML) whose machine is this machine's twin")
    what.add_argument("--diff", action="store_true",
                      help="list what the twin gets differently from this machine right after boot")
    p.add_argument("--no-pages", action="store_true", help="skip the page flags (block level only)")
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        live = LiveMachine(args.sysroot)
    except LiveError as e:
        print(f"memmap-tui live: {e}", file=sys.stderr)
        return 2
    try:
        if args.as_scenario or args.diff:
            from .twin import twin_diff, twin_scenario
            if args.as_scenario:
                sys.stdout.write(twin_scenario(live).to_toml())
                return 0
            lines = twin_diff(live)
            if not lines:
                print("the twin matches this machine (booted, its hot-added blocks replayed)")
            else:
                print(f"the twin (booted, its hot-added blocks replayed) differs from this machine "
                      f"in {len(lines)} way(s):")
                for line in lines:
                    print(f"  - {line}")
            return 0
        from .report import live_document
        json.dump(live_document(live, pages=not args.no_pages), sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    except ConfigError as e:
        print(f"memmap-tui live: {e}", file=sys.stderr)
        return 2
    finally:
        live.close()
