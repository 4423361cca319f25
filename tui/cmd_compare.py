"""`memmap-tui compare FILE|LESSON --profiles A,B | --memmap-on-memory on,off`.

Opens the scenario twice, side by side, with one setting changed, and steps both together.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:      # the engine and Textual load only once the arguments are good
    from engine import MachineConfig
    from tui.screens.compare import CompareApp

MEMMAP_WORDS = {"on": True, "off": False, "true": True, "false": False, "yes": True, "no": False,
                "y": True, "n": False, "1": True, "0": False, "force": "force"}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="memmap-tui compare",
        description="Show one scenario or lesson under two settings side by side, stepping both "
                    "together (space / . forward, backspace / , back). Counters that differ are "
                    "highlighted; each side's expect facts are checked on its own machine. "
                    "? help, c mode, t theme, F8 screenshot, esc cancels a long step.")
    p.add_argument("file", metavar="FILE|LESSON", help="scenario file (TOML) or built-in lesson name")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--profiles", metavar="A,B", help="two kernel profiles, e.g. 6.1,6.8")
    what.add_argument("--memmap-on-memory", metavar="X,Y",
                      help="two memmap_on_memory settings: on, off or force, e.g. on,off")
    p.add_argument("--step", type=int, default=0, metavar="N", help="open after N steps")
    p.add_argument("--theme", metavar="T", help="colour theme")
    p.add_argument("--glyphs", choices=("auto", "color", "glyph", "ascii"), default="auto",
                   help="cell drawing of the pfn grids")
    p.add_argument("--no-mouse", action="store_true", help="do not capture the mouse")
    return p


def _pair(text: str, what: str) -> list[str]:
    parts = [t.strip() for t in text.split(",") if t.strip()]
    if len(parts) != 2:
        raise ValueError(f"{what}: give exactly two values separated by a comma, got {text!r}")
    return parts


def sides_from_args(config: MachineConfig,
                    args: argparse.Namespace) -> list[tuple[str, MachineConfig]]:
    """[(label, MachineConfig)] for the two sides; ValueError with one line on bad values."""
    from engine import MachineConfig

    base = config.to_dict()
    out = []
    if args.profiles:
        for name in _pair(args.profiles, "--profiles"):
            try:
                cfg = MachineConfig.from_dict({**base, "profile": name})
            except ValueError as exc:
                raise ValueError(f"--profiles: {' '.join(str(exc).split())}") from None
            out.append((f"profile {name}", cfg))
    else:
        for word in _pair(args.memmap_on_memory, "--memmap-on-memory"):
            value = MEMMAP_WORDS.get(word.lower())
            if value is None:
                raise ValueError(f"--memmap-on-memory: {word!r} is not on, off or force")
            try:
                cfg = MachineConfig.from_dict({**base, "memmap_on_memory": value})
            except ValueError as exc:
                raise ValueError(f"--memmap-on-memory: {' '.join(str(exc).split())}") from None
            shown = {True: "on", False: "off"}.get(value, value)
            out.append((f"memmap_on_memory={shown}", cfg))
    return out


def build_app(argv: list[str]) -> CompareApp:
    """The CompareApp for these arguments; SystemExit(2) with one line on bad input."""
    return _build(argv)[0]


def _build(argv: list[str]) -> tuple[CompareApp, argparse.Namespace]:
    args = parser().parse_args(argv)
    from tui.playback import ScriptError, load_script

    try:
        script = load_script(scenario=args.file)
        sides = sides_from_args(script.config, args)
    except (ScriptError, ValueError) as exc:
        print(f"memmap-tui compare: {' '.join(str(exc).split())}", file=sys.stderr)
        raise SystemExit(2) from None
    from tui.screens.compare import CompareApp

    app = CompareApp(script, sides, theme=args.theme, glyphs=args.glyphs, start_step=args.step)
    return app, args


def main(argv: list[str]) -> int:
    app, args = _build(argv)
    app.run(mouse=not args.no_mouse)
    return int(app.return_code or 0)
