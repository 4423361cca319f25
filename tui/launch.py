"""Start the interactive app from the CLI's parsed arguments.

`tui.cli` parses `memmap-tui [--scenario FILE | --lesson NAME] [--profile P] [--theme T]
[--glyphs MODE] [--no-mouse]` and calls `launch(args)` when no subcommand is given.
"""

from __future__ import annotations

import argparse
import sys


def with_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """The launch options as the CLI parses them: every option a caller left out (a command
    that builds its own Namespace, like `screenshot`) at its default."""
    from tui.cli import _launch_parser

    return argparse.Namespace(**{**vars(_launch_parser().parse_args([])), **vars(args)})


def build_app(args: argparse.Namespace):
    """The configured MemmapApp for these arguments (raises SystemExit(2) on a bad file/profile).

    With --scenario or --lesson the app opens in playback mode on the scenario's machine: no step
    is applied until the user steps forward (space / .)."""
    from engine import MachineConfig

    args = with_defaults(args)

    from tui.app import MemmapApp
    from tui.config import load_settings

    settings = load_settings()
    config = MachineConfig.default()
    script = open_script(args)
    if script is not None:
        config = script.config
    profile = args.profile
    if profile:
        try:
            config = MachineConfig.from_dict({**config.to_dict(), "profile": profile})
        except ValueError as exc:
            print(f"memmap-tui: --profile: {' '.join(str(exc).split())}", file=sys.stderr)
            raise SystemExit(2) from None
        if script is not None:
            script.config = config
    playback = None
    if script is not None:
        from tui.playback import Playback

        playback = Playback(script)
    theme = args.theme
    if theme:
        import themes

        if theme not in themes.available():
            print(f"memmap-tui: --theme: unknown theme {theme!r} (known: {', '.join(themes.available())})",
                  file=sys.stderr)
            raise SystemExit(2)
    glyphs = args.glyphs or "auto"
    if args.live or args.attach:
        return build_live_app(args, settings, glyphs)
    return MemmapApp(config=config, theme=args.theme, glyphs=glyphs,
                     settings=settings, playback=playback)


def build_live_app(args: argparse.Namespace, settings, glyphs: str):
    """The app over a LiveMachine (--live [--sysroot DIR] [--interval S], or --attach ROOT for a
    `memmap-tui mount`); SystemExit(2) with one line when the root cannot be read."""
    from bridge.live import LiveError, LiveMachine

    from tui.app import MemmapApp

    attach = args.attach
    interval = float(args.interval if args.interval is not None else (0.5 if attach else 2.0))
    if not 0.2 <= interval <= 3600:
        print("memmap-tui: --interval: expected seconds between 0.2 and 3600", file=sys.stderr)
        raise SystemExit(2)
    if args.scenario or args.lesson:
        print("memmap-tui: --live shows a real machine: it takes no --scenario or --lesson",
              file=sys.stderr)
        raise SystemExit(2)
    try:
        live = LiveMachine(attach or args.sysroot or "/")
    except LiveError as exc:
        print(f"memmap-tui: --live: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    return MemmapApp(machine=live, config=live.config, theme=args.theme,
                     glyphs=glyphs, settings=settings, live_interval=interval)


def open_script(args: argparse.Namespace):
    """The Script of --scenario / --lesson, None without them; SystemExit(2) with one line on
    a missing or malformed file."""
    from tui.playback import ScriptError, load_script

    scenario = args.scenario
    lesson = args.lesson
    if not scenario and not lesson:
        return None
    try:
        return load_script(scenario=scenario, lesson=None if scenario else lesson)
    except ScriptError as exc:
        print(f"memmap-tui: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


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


def launch(args: argparse.Namespace) -> int:
    app = build_app(args)
    mouse = not bool(args.no_mouse) and app.settings.mouse
    app.run(mouse=mouse)
    return int(app.return_code or 0)
