"""`memmap-tui serve [--host 127.0.0.1] [--port 8000] [--scenario FILE | --lesson NAME] ...`.

Serves the app to web browsers with textual-serve, so a class can follow a lesson in a browser
tab: each tab that opens the page starts its own `memmap-tui` process (its own machine), drawn by
xterm.js in the page. There is no authentication; the default address is the loopback one.
The server answers only the host names it was bound to and websockets opened by its own page
(tui/serve_guard.py), so a web page elsewhere cannot drive it through DNS rebinding.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from importlib.metadata import PackageNotFoundError, version

from tui.serve_guard import HostGuard, is_loopback

# The guard overrides textual-serve's request handlers (handle_index, handle_websocket,
# handle_download) and fills its page template; checked against these major versions.
TESTED_TEXTUAL_SERVE_MAJOR = 1


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
                        "browser asked for, if it is one of the allowed hosts)")
    p.add_argument("--allow-host", metavar="NAME", action="append", default=[],
                   help="also answer requests for this host name (repeatable); by default only "
                        "the bound address (and localhost, for a loopback one) is answered")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--scenario", metavar="FILE", help="open every tab on this scenario (playback)")
    what.add_argument("--lesson", metavar="NAME", help="open every tab on this built-in lesson")
    p.add_argument("--profile", metavar="P", help="kernel profile")
    p.add_argument("--theme", metavar="T", help="colour theme")
    p.add_argument("--glyphs", choices=("auto", "color", "glyph", "ascii"), default="auto",
                   help="cell drawing of the pfn grid")
    return p


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


def textual_serve_problem() -> str | None:
    """Why the installed textual-serve cannot be guarded (a one-line reason), or None."""
    try:
        installed = version("textual-serve")
    except PackageNotFoundError:
        return "needs the textual-serve package (pip install textual-serve)"
    major = installed.split(".", 1)[0]
    if not major.isdigit() or int(major) != TESTED_TEXTUAL_SERVE_MAJOR:
        return (f"textual-serve {installed} is not supported (its Host/Origin checks are made "
                f"for {TESTED_TEXTUAL_SERVE_MAJOR}.x); install 'textual-serve>=1.1,<2'")
    return None


def make_server(args: argparse.Namespace, command: str):
    """A textual-serve server that answers only `guard`'s hosts; ValueError for a bad
    --allow-host."""
    import aiohttp_jinja2
    from aiohttp import web
    from textual_serve.server import Server

    guard = HostGuard.for_server(args.host, args.port, public_url=args.public_url,
                                 allow_hosts=tuple(args.allow_host))

    class GuardedServer(Server):
        """textual-serve's server behind a Host check (every handler) and an Origin check
        (the websocket, which starts a process). Without --public-url the page's script, CSS
        and websocket URLs use the host the browser asked for, once that host is allowed, so
        a server on 0.0.0.0 works from other machines by IP address."""

        def _refuse_foreign(self, request: web.Request, *, websocket: bool = False) -> None:
            host = request.headers.get("Host")
            if not guard.allows_host(host):
                raise web.HTTPForbidden(text=f"memmap-tui serve: host {host!r} is not served "
                                             f"here (see --allow-host)\n")
            if websocket and not guard.allows_origin(request.headers.get("Origin")):
                raise web.HTTPForbidden(
                    text=f"memmap-tui serve: websocket from origin "
                         f"{request.headers.get('Origin')!r} refused\n")

        def _base_url(self, request: web.Request) -> str:
            if args.public_url:
                return args.public_url.rstrip("/")
            return f"{request.scheme}://{request.headers['Host']}"

        async def handle_index(self, request: web.Request) -> web.StreamResponse:
            self._refuse_foreign(request)
            base = self._base_url(request)
            router = request.app.router
            static = f"{base}{router['static'].url_for(filename='/')}".rstrip("/") + "/"
            socket_url = f"{base}{router['websocket'].url_for()}"
            scheme, rest = socket_url.split(":", 1)
            fontsize = request.query.get("fontsize", "16")
            context = {
                "font_size": int(fontsize) if fontsize.isdigit() else 16,
                "app_websocket_url": ("wss:" if scheme == "https" else "ws:") + rest,
                "config": {"static": {"url": static}},
                "application": {"name": self.title},
            }
            return aiohttp_jinja2.render_template("app_index.html", request, context)

        async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
            self._refuse_foreign(request, websocket=True)
            return await super().handle_websocket(request)

        async def handle_download(self, request: web.Request) -> web.StreamResponse:
            self._refuse_foreign(request)
            return await super().handle_download(request)

    return GuardedServer(command, host=args.host, port=args.port, title="memmap-tui",
                         public_url=args.public_url)


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if not 0 < args.port < 65536:
        print(f"memmap-tui serve: --port {args.port}: not a TCP port", file=sys.stderr)
        return 2
    problem = textual_serve_problem()
    if problem:
        print(f"memmap-tui serve: {problem}", file=sys.stderr)
        return 2
    try:
        HostGuard.for_server(args.host, args.port, public_url=args.public_url,
                             allow_hosts=tuple(args.allow_host))
    except ValueError as exc:
        print(f"memmap-tui serve: {exc}", file=sys.stderr)
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
