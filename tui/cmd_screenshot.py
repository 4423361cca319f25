"""`memmap-tui screenshot FILE|LESSON OUT.svg [--step N] [--size WxH] [--theme T] [--glyphs G]`.

Runs the app headless in playback mode, applies the first N steps of the scenario (all by
default; a `wait` step is done for the student) through the app's own worker, and saves the
screen as an SVG.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from pathlib import Path


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="memmap-tui screenshot",
        description="Render the app headless after N steps of a scenario or lesson and save an SVG.")
    p.add_argument("file", metavar="FILE|LESSON", help="scenario file (TOML) or built-in lesson name")
    p.add_argument("out", metavar="OUT.svg", help="where to write the SVG")
    p.add_argument("--step", type=int, default=None, metavar="N",
                   help="steps to apply before the shot (default: all; 0: the machine as booted)")
    p.add_argument("--size", default="120x40", metavar="WxH", help="terminal size (default 120x40)")
    p.add_argument("--theme", metavar="T", help="colour theme")
    p.add_argument("--glyphs", choices=("auto", "color", "glyph", "ascii"), default="auto",
                   help="cell drawing of the pfn grid")
    p.add_argument("--profile", metavar="P", help="override the scenario's kernel profile")
    return p


def parse_size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", text or "")
    if not m:
        raise ValueError(f"--size: expected WIDTHxHEIGHT such as 120x40, got {text!r}")
    w, h = int(m.group(1)), int(m.group(2))
    if not (20 <= w <= 1000 and 8 <= h <= 500):
        raise ValueError(f"--size: {w}x{h} is outside 20x8 .. 1000x500")
    return w, h


async def _idle(pilot, app, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    await pilot.pause()
    while app.busy:
        if loop.time() > deadline:
            raise TimeoutError(f"still busy after {timeout:.0f}s: {app.busy_label}")
        await asyncio.sleep(0.02)
        await pilot.pause()
    await pilot.pause()


def take(app, out: Path, steps: int, size: tuple[int, int], timeout: float = 300.0) -> str:
    """Run `app` headless, play `steps` steps, write the SVG to `out`; returns the SVG title."""
    state: dict = {}

    async def autopilot(pilot) -> None:
        try:
            await _idle(pilot, app, timeout)
            for _ in range(steps):
                if not app.playback_step(do_wait=True):
                    break
                await _idle(pilot, app, timeout)
            app.clear_notifications()
            await pilot.pause()
            await pilot.pause(0.1)
            pb = app.playback
            title = f"memmap-tui · {pb.script.title} · step {pb.position}/{pb.n}" if pb else "memmap-tui"
            state["title"] = title
            state["svg"] = app.export_screenshot(title=title)
        finally:
            app.exit()

    app.run(headless=True, size=size, auto_pilot=autopilot, mouse=False)
    if "svg" not in state:
        raise RuntimeError("the app exited before the screenshot was taken")
    out.write_text(state["svg"], encoding="utf-8")
    return state["title"]


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        size = parse_size(args.size)
    except ValueError as exc:
        print(f"memmap-tui screenshot: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out).expanduser()
    if out.is_dir():
        print(f"memmap-tui screenshot: {out} is a directory; give a file name", file=sys.stderr)
        return 2
    if not out.parent.is_dir():
        print(f"memmap-tui screenshot: no directory {out.parent}", file=sys.stderr)
        return 2
    from tui.launch import build_app

    ns = argparse.Namespace(scenario=args.file, lesson=None, profile=args.profile,
                            theme=args.theme, glyphs=args.glyphs, no_mouse=True)
    app = build_app(ns)          # SystemExit(2) with one line on a bad file, lesson or profile
    n = app.playback.n
    steps = n if args.step is None else args.step
    if not 0 <= steps <= n:
        print(f"memmap-tui screenshot: --step {steps}: the scenario has {n} steps (0..{n})",
              file=sys.stderr)
        return 2
    try:
        title = take(app, out, steps, size)
    except (RuntimeError, OSError) as exc:
        print(f"memmap-tui screenshot: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    print(f"wrote {out} ({title})")
    return 0
