"""`memmap-tui serve [--host 127.0.0.1] [--port 8000] [--scenario FILE | --lesson NAME] ...`.

Serves the app to web browsers with textual-serve, so a class can follow a lesson in a browser
tab: each tab that opens the page starts its own `memmap-tui` process (its own machine), drawn by
xterm.js in the page. There is no authentication; the default address is the loopback one.
"""

from __future__ import annotations

import argparse
import ipaddress
import shlex
import sys


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="memmap-tui serve",
        description="Serve memmap-tui to web browsers (textual-serve): every browser tab runs its "
                    "own memmap-tui process. No authentication: binds to 127.0.0.1 unless told "
                    "otherwise.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)")
    p.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    p.add_argument("--public-url", metavar="URL",
                   help="the URL browsers use to reach this server (default: the address the "
                        "browser asked for)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--scenario", metavar="FILE", help="open every tab on this scenario (playback)")
    what.add_argument("--lesson", metavar="NAME", help="open every tab on this built-in lesson")
    p.add_argument("--profile", metavar="P", help="kernel profile")
    p.add_argument("--theme", metavar="T", help="colour theme")
    p.add_argument("--glyphs", choices=("auto", "color", "glyph", "ascii"), default="auto",
                   help="cell drawing of the pfn grid")
    return p


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def app_command(args: argparse.Namespace) -> str:
    """The shell command textual-serve runs once per browser tab."""
    argv = [sys.executable, "-m", "tui"]
    for flag, value in (("--scenario", args.scenario), ("--lesson", args.lesson),
                        ("--profile", args.profile), ("--theme", args.theme)):
        if value:
            argv += [flag, value]
    if args.glyphs and args.glyphs != "auto":
        argv += ["--glyphs", args.glyphs]
    return shlex.join(argv)


def make_server(args: argparse.Namespace, command: str):
    from textual_serve.server import Server

    class ClassroomServer(Server):
        """textual-serve's server; without --public-url the page's links and websocket use the
        host the browser asked for, so a server on 0.0.0.0 works from other machines."""

        def __init__(self, *a, follow_host: bool, **kw) -> None:
            super().__init__(*a, **kw)
            self.follow_host = follow_host

        async def handle_index(self, request):
            if self.follow_host and request.host:
                self.public_url = f"{request.scheme}://{request.host}"
            return await super().handle_index(request)

    return ClassroomServer(command, host=args.host, port=args.port, title="memmap-tui",
                           public_url=args.public_url, follow_host=not args.public_url)


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if not 0 < args.port < 65536:
        print(f"memmap-tui serve: --port {args.port}: not a TCP port", file=sys.stderr)
        return 2
    try:
        import textual_serve  # noqa: F401
    except ImportError:
        print("memmap-tui serve: needs the textual-serve package (pip install textual-serve)",
              file=sys.stderr)
        return 2
    if args.scenario or args.lesson:
        # check the scenario once here rather than in every browser tab
        from tui.launch import open_script

        open_script(args)           # SystemExit(2) with one line when it cannot be opened
        if args.scenario:
            from pathlib import Path

            if Path(args.scenario).exists():
                args.scenario = str(Path(args.scenario).resolve())
    command = app_command(args)
    if not is_loopback(args.host):
        print(f"memmap-tui serve: warning: listening on {args.host}:{args.port} with no "
              f"authentication; anyone who can reach it can use it, and every browser tab starts "
              f"its own memmap-tui process", file=sys.stderr)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"memmap-tui serve: open http://{host}:{args.port}/ in a browser (Ctrl+C stops)",
          flush=True)
    make_server(args, command).serve()
    return 0
