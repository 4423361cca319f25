"""The `memmap-tui` command. Only the subcommands that draw import Textual."""

from __future__ import annotations

import argparse
import json
import sys


VERSION = "0.1.0"
SUBCOMMANDS = ("run", "lessons", "compare", "export-sysfs", "screenshot", "serve", "live", "snapshot",
               "mount")


def _launch_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="memmap-tui",
        description="An interactive terminal laboratory for Linux memory hotplug. "
                    f"Subcommands: {', '.join(SUBCOMMANDS)} (memmap-tui SUBCOMMAND --help).")
    p.add_argument("--scenario", metavar="FILE", help="load and play a scenario (TOML)")
    p.add_argument("--lesson", metavar="NAME", help="open a built-in lesson (see `memmap-tui lessons`)")
    p.add_argument("--profile", metavar="P", help="kernel profile (e.g. 6.1, 6.8, 7.2, rfc-2017)")
    p.add_argument("--theme", metavar="T", help="colour theme (dark, light, okabe-ito, high-contrast, ansi)")
    p.add_argument("--glyphs", choices=("auto", "color", "glyph", "ascii"), default="auto",
                   help="cell drawing: half-block colour, one glyph per state, or ASCII")
    p.add_argument("--no-mouse", action="store_true", help="do not capture the mouse")
    p.add_argument("--live", action="store_true",
                   help="open this machine, read-only (root adds every page's flags); T opens its twin")
    p.add_argument("--sysroot", metavar="DIR", default="/",
                   help="with --live: read a snapshot or export-sysfs tree instead of /")
    p.add_argument("--interval", metavar="S", type=float, default=None,
                   help="with --live or --attach: seconds between re-reads (default 2, 0.5 attached)")
    p.add_argument("--attach", metavar="ROOT",
                   help="open a `memmap-tui mount ROOT` machine live: see what lsmem/chmem do to it")
    p.add_argument("--version", action="version", version=f"memmap-tui {VERSION}")
    return p


def _run_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="memmap-tui run",
                                description="Run a scenario headless and print what happened.")
    p.add_argument("file", help="scenario file (TOML)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="also print each step's kernel call trail, every dmesg line and pfn run, "
                        "and the blocks and zones after it (what --json has)")
    p.add_argument("--profile", help="override the scenario's kernel profile")
    return p


def cmd_run(argv: list[str]) -> int:
    args = _run_parser().parse_args(argv)
    from engine.errors import ConfigError
    from engine.report import run_report
    from engine.scenario import ScenarioError, load_scenario
    try:
        sc = load_scenario(args.file)
        if args.profile:
            sc.config = sc.config.replace(profile=args.profile)
    except (ScenarioError, ConfigError) as e:
        print(f"memmap-tui: {e}", file=sys.stderr)
        return 2
    doc = run_report(sc)
    if args.json:
        json.dump(doc, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        from .text_report import print_report
        print_report(doc, verbose=args.verbose)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        cmd, rest = argv[0], argv[1:]
        if cmd == "run":
            return cmd_run(rest)
        from . import commands_extra
        return commands_extra.dispatch(cmd, rest)
    args = _launch_parser().parse_args(argv)
    from .launch import launch
    return launch(args) or 0


if __name__ == "__main__":
    sys.exit(main())
