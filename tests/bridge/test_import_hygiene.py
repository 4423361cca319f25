"""The bridge and its commands never import Textual (nor rich, nor the TUI package)."""

import subprocess
import sys


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint('\\n'.join(sys.modules))"],
                         capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_bridge_imports_no_ui():
    mods = _modules_after("import bridge, bridge.live, bridge.twin, bridge.snapshot, bridge.report, "
                          "bridge.cli_live, bridge.cli_snapshot, bridge.cli_mount, bridge.simfs, "
                          "bridge.protocol")
    assert not {m for m in mods if m.split(".")[0] in ("textual", "rich", "tui")}


def test_live_command_does_not_import_textual(tree61):
    mods = _modules_after(f"from tui.cli import main\nmain(['live', '--sysroot', {str(tree61)!r}, '--diff'])")
    assert "bridge.twin" in mods
    assert not {m for m in mods if m.split(".")[0] == "textual"}
