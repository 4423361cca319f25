"""`serve` answers only its own host names and websockets opened by its own page (DNS rebinding).

The server is a real one on 127.0.0.1 (aiohttp's test server around textual-serve's routes);
requests carry forged Host and Origin headers as a rebinding page's browser would send them.
The command each websocket starts is a stand-in that writes a marker file, so a test can tell
whether a process was started at all.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import socket
import sys

import pytest
from aiohttp import WSServerHandshakeError
from aiohttp.test_utils import TestClient, TestServer

from tui import cmd_serve
from tui.serve_guard import HostGuard, split_host


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_args(*argv: str) -> argparse.Namespace:
    return cmd_serve.parser().parse_args(list(argv))


# -- the rules, without a server ---------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("localhost:8000", ("localhost", 8000)),
    ("LOCALHOST", ("localhost", None)),
    ("[::1]:8000", ("::1", 8000)),
    ("127.0.0.1", ("127.0.0.1", None)),
    ("evil.example.:80", ("evil.example", 80)),
    ("", None),
    ("a b:80", None),
    ("host:99999", None),
    ("host:http", None),
    ("::1", None),
    ("[nothost]:80", None),
    ("user@localhost", None),
])
def test_split_host(value, expected):
    assert split_host(value) == expected


def test_loopback_server_answers_loopback_names_only():
    guard = HostGuard.for_server("127.0.0.1", 8000)
    for host in ("127.0.0.1:8000", "localhost:8000", "[::1]:8000", "localhost"):
        assert guard.allows_host(host), host
    for host in ("evil.example:8000", "127.0.0.1.nip.io:8000", "localhost:8001",
                 "192.168.1.10:8000", "", None):
        assert not guard.allows_host(host), host


def test_wildcard_server_answers_ip_literals_and_its_own_names():
    guard = HostGuard.for_server("0.0.0.0", 8000, allow_hosts=["lab.example.edu"])
    assert guard.allows_host("192.168.1.10:8000")
    assert guard.allows_host("[fe80::1]:8000")
    assert guard.allows_host("lab.example.edu:8000")
    assert guard.allows_host(f"{socket.gethostname()}:8000")
    assert not guard.allows_host("evil.example:8000")
    assert not guard.allows_host("192.168.1.10:9000")


def test_specific_address_and_public_url():
    guard = HostGuard.for_server("192.168.1.10", 8000, public_url="https://lab.example.edu/")
    assert guard.allows_host("192.168.1.10:8000")
    assert guard.allows_host("lab.example.edu")
    assert guard.allows_host("lab.example.edu:443")
    assert not guard.allows_host("192.168.1.11:8000")     # only the bound address, not any IP
    assert not guard.allows_host("localhost:8000")


def test_origin_must_be_a_page_of_ours():
    guard = HostGuard.for_server("127.0.0.1", 8000)
    assert guard.allows_origin("http://127.0.0.1:8000")
    assert guard.allows_origin("http://localhost:8000")
    for origin in ("http://evil.example:8000", "null", "", None, "file://", "http://localhost:9",
                   "http://localhost:8000/page", "ftp://localhost:8000"):
        assert not guard.allows_origin(origin), origin


def test_bad_allow_host_is_a_one_line_error(capsys):
    assert cmd_serve.main(["--allow-host", "not a host", "--port", "8123"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--allow-host 'not a host': not a host name" in err


def test_unsupported_textual_serve_is_refused(monkeypatch, capsys):
    monkeypatch.setattr(cmd_serve, "version", lambda name: "2.0.0")
    assert cmd_serve.main(["--port", "8123"]) == 2
    assert "textual-serve 2.0.0 is not supported" in capsys.readouterr().err


def test_textual_serve_still_has_what_the_guard_overrides():
    from textual_serve.server import Server

    assert cmd_serve.textual_serve_problem() is None
    for name in ("handle_index", "handle_websocket", "handle_download", "_make_app"):
        assert callable(getattr(Server, name)), name


# -- a real server on 127.0.0.1 ---------------------------------------------------------------

@pytest.fixture
async def client(tmp_path):
    """A guarded server for 127.0.0.1 on a free port; its websocket command touches a marker."""
    port = free_port()
    marker = tmp_path / "started"
    command = shlex.join([sys.executable, "-c",
                          f"import pathlib; pathlib.Path({str(marker)!r}).touch()"])
    server = cmd_serve.make_server(serve_args("--host", "127.0.0.1", "--port", str(port)), command)
    app = await server._make_app()
    async with TestClient(TestServer(app, host="127.0.0.1", port=port)) as test_client:
        test_client.marker = marker
        yield test_client


async def test_page_uses_the_allowed_host_it_was_asked_for(client):
    response = await client.get("/", headers={"Host": f"localhost:{client.port}"})
    assert response.status == 200
    page = await response.text()
    assert f'src="http://localhost:{client.port}/static/js/textual.js"' in page
    assert f'href="http://localhost:{client.port}/static/css/xterm.css"' in page
    assert f'data-session-websocket-url="ws://localhost:{client.port}/ws"' in page


async def test_forged_host_gets_403_and_no_urls(client):
    response = await client.get("/", headers={"Host": f"evil.example:{client.port}"})
    assert response.status == 403
    body = await response.text()
    assert "evil.example" in body and "not served here" in body
    assert "textual.js" not in body


async def test_rebinding_websocket_is_refused_and_starts_nothing(client):
    for headers in ({"Host": f"evil.example:{client.port}", "Origin": f"http://evil.example:{client.port}"},
                    {"Host": f"127.0.0.1:{client.port}", "Origin": f"http://evil.example:{client.port}"},
                    {"Host": f"127.0.0.1:{client.port}"}):
        with pytest.raises(WSServerHandshakeError) as excinfo:
            await client.ws_connect("/ws", headers=headers)
        assert excinfo.value.status == 403
    await asyncio.sleep(0.3)
    assert not client.marker.exists()


async def test_own_page_websocket_is_accepted_and_starts_the_app(client):
    origin = f"http://127.0.0.1:{client.port}"
    ws = await client.ws_connect("/ws", headers={"Host": f"127.0.0.1:{client.port}", "Origin": origin})
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while not client.marker.exists() and loop.time() < deadline:
        await asyncio.sleep(0.05)
    await ws.close()
    assert client.marker.exists()
    await asyncio.sleep(0.5)   # let the server reap the stand-in before the loop closes
