"""Start the interactive app from the CLI's parsed arguments.

`tui.cli` parses `memmap-tui [--scenario FILE] [--profile P] [--theme T] [--glyphs MODE]
[--no-mouse]` and calls `launch(args)` when no subcommand is given.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def parse_args(argv: list[str]) -> argparse.Namespace:
    """A minimal parser for `python -m tui` when the CLI module is not there."""
    p = argparse.ArgumentParser(prog="memmap-tui")
    p.add_argument("--scenario")
    p.add_argument("--profile")
    p.add_argument("--theme")
    p.add_argument("--glyphs", choices=("auto", "color", "glyph", "ascii"), default="auto")
    p.add_argument("--no-mouse", action="store_true")
    return p.parse_args(argv)


def build_app(args: Any):
    """The configured MemmapApp for these arguments (raises SystemExit(2) on a bad file/profile)."""
    from engine import MachineConfig

    from tui.app import MemmapApp, parse_nodes  # noqa: F401
    from tui.config import load_settings

    settings = load_settings()
    config = MachineConfig.default()
    steps: list[dict] = []
    notes: list[str] = []
    scenario = getattr(args, "scenario", None)
    lesson = getattr(args, "lesson", None)
    if lesson and not scenario:
        scenario = find_lesson(lesson)
        if scenario is None:
            print(f"memmap-tui: no lesson {lesson!r} (see `memmap-tui lessons`)", file=sys.stderr)
            raise SystemExit(2)
    if scenario:
        from engine.scenario import ScenarioError, load_scenario

        try:
            sc = load_scenario(scenario)
        except (ScenarioError, OSError, ValueError) as exc:
            print(f"memmap-tui: {' '.join(str(exc).split())}", file=sys.stderr)
            raise SystemExit(2) from None
        config = sc.config
        steps = [dict(s) for s in sc.steps]
        notes.append(f"scenario {scenario}: {len(steps)} steps")
    profile = getattr(args, "profile", None)
    if profile:
        try:
            config = MachineConfig.from_dict({**config.to_dict(), "profile": profile})
        except ValueError as exc:
            print(f"memmap-tui: --profile: {' '.join(str(exc).split())}", file=sys.stderr)
            raise SystemExit(2) from None
    glyphs = getattr(args, "glyphs", None) or "auto"
    return MemmapApp(config=config, theme=getattr(args, "theme", None), glyphs=glyphs,
                     settings=settings, steps=steps, notes=notes)


def find_lesson(name: str):
    """A built-in lesson by file stem, or by a unique prefix ("06" -> 06-why-....toml)."""
    from pathlib import Path

    try:
        import scenarios
    except ImportError:
        return None
    folder = Path(scenarios.__file__).resolve().parent / "lessons"
    exact = folder / f"{name}.toml"
    if exact.is_file():
        return str(exact)
    matches = sorted(p for p in folder.glob("*.toml") if p.stem.startswith(name))
    return str(matches[0]) if len(matches) == 1 else None


def launch(args: Any) -> int:
    app = build_app(args)
    mouse = not bool(getattr(args, "no_mouse", False)) and app.settings.mouse
    app.run(mouse=mouse)
    return int(app.return_code or 0)
