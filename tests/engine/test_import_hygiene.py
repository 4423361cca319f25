"""The engine is reachable without the UI: importing it must not pull in textual or rich."""

import subprocess
import sys


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint('\\n'.join(sys.modules))"],
                         capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_engine_imports_neither_textual_nor_rich():
    mods = _modules_after(
        "import engine, engine.report, engine.scenario, engine.invariants, engine.procfs\n"
        "m = engine.Machine(); m.hot_add('128M'); m.online(40, 'online_movable')")
    assert not {m for m in mods if m.split('.')[0] in ("textual", "rich", "tui")}


def test_run_command_does_not_import_textual(tmp_path):
    sc = tmp_path / "s.toml"
    sc.write_text('[machine]\nprofile = "6.1"\n[[step]]\nop = "hot_add"\nsize = "128M"\n')
    mods = _modules_after(f"from tui.cli import main\nmain(['run', {str(sc)!r}, '--json'])")
    assert not {m for m in mods if m.split('.')[0] == "textual"}
