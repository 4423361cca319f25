"""`memmap-tui mount ROOT`: serve a simulated machine's sysfs and procfs through FUSE."""

from __future__ import annotations

import argparse
import os
import sys
import time

from engine import ConfigError, Machine, MachineConfig


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="memmap-tui mount",
        description="Serve a simulated machine as ROOT/sys/devices/system/{memory,node} and "
                    "ROOT/proc/{meminfo,zoneinfo,vmstat,iomem} through FUSE, so lsmem --sysroot ROOT "
                    "reads it and writes to memoryN/state, memoryN/online, auto_online_blocks and "
                    "probe act on it. Unmount with fusermount3 -u ROOT.")
    p.add_argument("root", help="an empty directory to mount on")
    p.add_argument("--scenario", metavar="FILE", help="boot this scenario's machine and play its steps")
    p.add_argument("--profile", help="override the kernel profile")
    p.add_argument("--quiet", action="store_true", help="do not print each write as it happens")
    return p


def build_machine(scenario: str | None, profile: str | None) -> Machine:
    if scenario is None:
        cfg = MachineConfig.default()
        if profile:
            cfg = cfg.replace(profile=profile)
        return Machine(cfg)
    from engine.scenario import load_scenario
    sc = load_scenario(scenario)
    if profile:
        sc.config = sc.config.replace(profile=profile)
    m = Machine(sc.config)
    for step in sc.steps:
        m.apply({k: v for k, v in step.items() if k != "say"})
    return m


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    from engine.scenario import ScenarioError
    from .fuse_mount import FuseMissing, load_mfusepy, serve
    from .simfs import SimFS
    try:
        load_mfusepy()
    except FuseMissing as e:
        print(f"memmap-tui mount: {e}", file=sys.stderr)
        return 2
    root = os.path.abspath(args.root)
    if os.path.realpath(root) in ("/", "/sys", "/proc") or os.path.realpath(root).startswith(("/sys/", "/proc/")):
        print(f"memmap-tui mount: refusing to mount on {root}: mount on an empty directory, and bind "
              f"it over /sys/devices/system/memory only inside `unshare -m`", file=sys.stderr)
        return 2
    if not os.path.isdir(root) or os.listdir(root):
        print(f"memmap-tui mount: {root}: needs an existing empty directory", file=sys.stderr)
        return 2
    try:
        m = build_machine(args.scenario, args.profile)
    except (ScenarioError, ConfigError) as e:
        print(f"memmap-tui mount: {e}", file=sys.stderr)
        return 2
    fs = SimFS(m)
    if not args.quiet:
        def show(entry):
            stamp = time.strftime("%H:%M:%S", time.localtime(entry.when))
            print(f"{stamp} {entry.path.removeprefix('sys/devices/system/')} <- {entry.value!r}: "
                  f"{entry.result}", flush=True)
        fs.listeners.append(show)
    print(f"memmap-tui: serving a {m.geometry.profile} machine on {root} "
          f"(lsmem --sysroot {root}; unmount with fusermount3 -u {root})", flush=True)
    try:
        serve(fs, root)
    except RuntimeError as e:
        print(f"memmap-tui mount: {e}", file=sys.stderr)
        return 1
    return 0
