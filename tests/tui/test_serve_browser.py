"""`memmap-tui serve` in a real headless browser (Debian's chromium driven by playwright).

The page draws the terminal on a canvas (xterm.js with its canvas/WebGL renderer), so the test
reads what the browser was sent over the page's websocket, replays it on a small screen model
(cursor moves and text; colours ignored) to get the terminal's text, and compares screenshots
of the page to see that the browser painted the change. Only the loopback address is used:
every other request of the page (a web font) is refused.
"""

from __future__ import annotations

import codecs
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

needs_chromium = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium chromium-driver)")


def test_serve_command_line():
    from tui.cmd_serve import app_command, parser
    from tui.serve_guard import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10")
    args = parser().parse_args(["--lesson", "04", "--glyphs", "ascii"])
    assert args.host == "127.0.0.1" and args.port == 8000
    cmd = app_command(args)
    assert cmd.endswith("-m tui --lesson 04 --glyphs ascii") and sys.executable in cmd


class Screen:
    """Just enough of a VT100 to read Textual's output: cursor addressing and text."""

    CSI = re.compile(r"\x1b\[([0-9;?<>=]*)([ -/]*)([@-~])")
    OSC = re.compile(r"\x1b\][^\x07\x1b]*(\x07|\x1b\\)")

    def __init__(self, cols: int = 80, rows: int = 24) -> None:
        self.cols, self.rows = cols, rows
        self.lines = [[" "] * cols for _ in range(rows)]
        self.x = self.y = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""

    def feed(self, data: bytes) -> None:
        text = self._pending + self._decoder.decode(data)
        self._pending = ""
        i = 0
        while i < len(text):
            ch = text[i]
            if ch == "\x1b":
                m = self.CSI.match(text, i) or self.OSC.match(text, i)
                if m is None:
                    if len(text) - i < 32 and not re.match(r"\x1b[^\[\]]", text[i:]):
                        self._pending = text[i:]          # a sequence cut between frames
                        return
                    i += 2                                 # ESC 7, ESC =, ...: ignore
                    continue
                if m.re is self.CSI:
                    self._csi(m.group(1), m.group(3))
                i = m.end()
                continue
            if ch == "\r":
                self.x = 0
            elif ch == "\n":
                self.y = min(self.y + 1, self.rows - 1)
            elif ch >= " ":
                if 0 <= self.y < self.rows and 0 <= self.x < self.cols:
                    self.lines[self.y][self.x] = ch
                self.x += 1
            i += 1

    def _csi(self, params: str, final: str) -> None:
        if params.startswith("?"):
            return
        nums = [int(p) if p.isdigit() else 0 for p in params.split(";")] if params else []
        if final in "Hf":
            row = (nums[0] if nums and nums[0] else 1) - 1
            col = (nums[1] if len(nums) > 1 and nums[1] else 1) - 1
            self.y, self.x = min(row, self.rows - 1), col
        elif final == "J" and nums[:1] == [2]:
            self.lines = [[" "] * self.cols for _ in range(self.rows)]
        elif final == "K":
            for x in range(self.x, self.cols):
                self.lines[self.y][x] = " "
        elif final == "C":
            self.x += nums[0] if nums and nums[0] else 1
        elif final == "G":
            self.x = (nums[0] if nums and nums[0] else 1) - 1

    def text(self) -> str:
        return "\n".join("".join(line).rstrip() for line in self.lines)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited early: {proc.stdout.read() if proc.stdout else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@pytest.fixture
def served(tmp_path):
    """`memmap-tui serve` on 127.0.0.1 and a free port, lesson 04; yields the URL."""
    port = free_port()
    exe = shutil.which("memmap-tui", path=str(Path(sys.executable).parent))
    cmd = [exe] if exe else [sys.executable, "-m", "tui"]
    env = dict(os.environ, MEMMAP_TUI_CONFIG=str(tmp_path / "none.toml"), TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(cmd + ["serve", "--host", "127.0.0.1", "--port", str(port),
                                   "--lesson", "04", "--glyphs", "color"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=tmp_path, env=env, start_new_session=True)
    try:
        wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@needs_chromium
def test_the_app_runs_in_a_headless_browser(served, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")
    screen = Screen(cols=400, rows=150)     # larger than the page's terminal: addressing is absolute
    refused: list[str] = []

    def on_websocket(ws) -> None:
        def on_frame(payload) -> None:
            if isinstance(payload, (bytes, bytearray)):
                screen.feed(bytes(payload))
        ws.on("framereceived", on_frame)

    def only_loopback(route) -> None:
        url = route.request.url
        if re.match(r"(http|ws)://127\.0\.0\.1:\d+/", url):
            route.continue_()
        else:
            refused.append(url)
            route.abort()

    def wait_text(page, needle: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = screen.text()
            if needle in text:
                return text
            page.wait_for_timeout(100)
        raise AssertionError(f"{needle!r} never appeared; the terminal shows:\n{screen.text()}")

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 760})
            page.route("**/*", only_loopback)
            page.on("websocket", on_websocket)
            page.goto(served, wait_until="domcontentloaded", timeout=30000)
            page.wait_for_selector("body.-first-byte", timeout=30000)
            size = page.evaluate("""() => {
                const el = document.querySelector('.xterm-screen');
                return el ? [el.clientWidth, el.clientHeight] : null; }""")
            assert size and size[0] > 300 and size[1] > 200, size
            text = wait_text(page, "4. Online, offline")          # the narration panel
            assert "lesson" in text and "pfn" in text             # the grid and the inspector
            assert "space" in text and "Next step" in text        # playback keys in the footer
            before = page.screenshot(path=str(tmp_path / "before.png"))

            page.focus("textarea.xterm-helper-textarea")
            page.keyboard.press("Space")                          # step 1: hot-add a DIMM
            text = wait_text(page, "step 1/6")
            assert "hot_add(size=128M" in text
            page.wait_for_timeout(300)
            after = page.screenshot(path=str(tmp_path / "after.png"))
            assert after != before, "the browser did not repaint after the step"

            page.keyboard.press("?")                              # the help screen
            help_text = wait_text(page, "memmap-tui help")
            if os.environ.get("SHOW_TERMINAL"):
                print(help_text)
            assert not [u for u in refused if "127.0.0.1" in u]
        finally:
            browser.close()
