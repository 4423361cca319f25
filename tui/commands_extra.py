"""Subcommands other than `run`: each lives in its own module, imported only when used."""

from __future__ import annotations

import importlib
import sys

MODULES = {
    "lessons": "tui.cmd_lessons",
    "export-sysfs": "tui.cmd_export",
    "compare": "tui.cmd_compare",
    "screenshot": "tui.cmd_screenshot",
    "serve": "tui.cmd_serve",
    # the bridge to real machines: none of these import Textual
    "live": "bridge.cli_live",
    "snapshot": "bridge.cli_snapshot",
    "mount": "bridge.cli_mount",
}


def dispatch(cmd: str, argv: list[str]) -> int:
    try:
        mod = importlib.import_module(MODULES[cmd])
    except ModuleNotFoundError as e:
        if e.name == MODULES[cmd]:
            print(f"memmap-tui: '{cmd}' is not available in this build", file=sys.stderr)
            return 2
        raise
    return mod.main(argv) or 0
