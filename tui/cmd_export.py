"""`memmap-tui export-sysfs FILE DIR [--step N]`: write a scenario's machine as /sys and /proc.

The tree under DIR can be read by the real tools, e.g. `lsmem --sysroot DIR -o +ZONES,NODE`.
"""

from __future__ import annotations

import argparse
import sys


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="memmap-tui export-sysfs",
        description="Run a scenario's steps and write the machine as Linux shows it "
                    "(DIR/sys/devices/system/{memory,node}, DIR/proc/{meminfo,zoneinfo,vmstat,iomem}); "
                    "then try `lsmem --sysroot DIR -o +ZONES,NODE`.")
    p.add_argument("file", help="scenario file (TOML), or a built-in lesson name")
    p.add_argument("dir", help="directory to write (created if missing)")
    p.add_argument("--step", type=int, metavar="N", default=None,
                   help="stop after step N (0: the machine as booted; default: all steps)")
    p.add_argument("--profile", help="override the scenario's kernel profile")
    return p


class _Usage(Exception):
    pass


def _fail(msg: str) -> int:
    print(f"memmap-tui export-sysfs: {msg}", file=sys.stderr)
    return 2


def _load(name: str):
    from pathlib import Path

    from engine.scenario import load_scenario
    if Path(name).exists() or name.endswith(".toml"):
        return load_scenario(name)
    from engine.lessons import LessonError, load_lesson
    try:
        return load_lesson(name)
    except LessonError:
        return load_scenario(name)   # gives the usual "cannot read" message


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    parser.error = lambda message: (_ for _ in ()).throw(_Usage(message))  # type: ignore[method-assign]
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except _Usage as e:
        return _fail(str(e))
    from engine import Machine
    from engine.errors import ConfigError
    from engine.lessons import LessonError
    from engine.scenario import ScenarioError
    from engine.sysfs import ExportError, export_sysfs
    try:
        sc = _load(args.file)
        if args.profile:
            sc.config = sc.config.replace(profile=args.profile)
    except (ScenarioError, ConfigError, LessonError) as e:
        return _fail(str(e))
    n = len(sc.steps) if args.step is None else args.step
    if not 0 <= n <= len(sc.steps):
        return _fail(f"--step {n}: the scenario has {len(sc.steps)} step(s) (use 0..{len(sc.steps)})")
    m = Machine(sc.config)
    refused = 0
    for st in sc.steps[:n]:
        if not m.apply(st).ok:
            refused += 1
    try:
        written = export_sysfs(m, args.dir)
    except ExportError as e:
        return _fail(str(e))
    blocks = m.blocks()
    online = sum(1 for b in blocks if b["online"])
    print(f"{sc.name}: after step {n}/{len(sc.steps)}"
          + (f" ({refused} refused)" if refused else "")
          + f": wrote {len(written)} files to {args.dir} "
          f"({len(blocks)} memory blocks, {online} online; profile {m.geometry.profile}, {m.geometry.arch})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
