"""`memmap-tui screenshot`: a headless render after N steps, saved as SVG."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def svg_text(path: Path) -> str:
    """Every text node of the SVG (which must parse), spaces normalised."""
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    return " ".join("".join(root.itertext()).replace("\xa0", " ").split())


def test_screenshot_after_three_steps(tmp_path):
    from tui.cmd_screenshot import main

    out = tmp_path / "lesson.svg"
    assert main(["04", str(out), "--step", "3", "--size", "110x36", "--glyphs", "glyph"]) == 0
    text = svg_text(out)
    assert "step 3/6" in text
    assert "alloc(block=32, pages=4096, kind=movable)" in text and "✓ memfree_delta_kb: -16384" in text
    assert "MemTotal" in text


def test_screenshot_of_a_scenario_file_from_the_command_line(tmp_path):
    out = tmp_path / "dimm.svg"
    proc = subprocess.run([sys.executable, "-m", "tui", "screenshot",
                           str(ROOT / "scenarios" / "observed-6.1-dimm.toml"), str(out),
                           "--size", "100x32"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert out.exists() and f"wrote {out}" in proc.stdout
    text = svg_text(out)
    assert "end of the scenario" in text


@pytest.mark.parametrize("argv, message", [
    (["04", "OUT", "--step", "99"], "the scenario has 6 steps"),
    (["04", "OUT", "--size", "wide"], "--size"),
    (["no-such-lesson", "OUT"], "no lesson"),
])
def test_screenshot_refuses_bad_arguments(tmp_path, capsys, argv, message):
    from tui.cmd_screenshot import main

    argv = [str(tmp_path / "x.svg") if a == "OUT" else a for a in argv]
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "x.svg").exists()
