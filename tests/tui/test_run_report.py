"""`memmap-tui run`: the text report keeps lines whole when piped and, with --verbose, shows the
reasons --json has (kernel call trail, every dmesg line, what a failure left behind)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from engine.report import run_report
from engine.scenario import load_scenario
from tui.text_report import print_report

LESSON = Path(__file__).resolve().parents[2] / "scenarios" / "lessons" / "06-why-offline-and-remove-fail.toml"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui", "run", *args], capture_output=True,
                          text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "COLUMNS": "40"})


def report(width: int, *, verbose: bool) -> list[str]:
    out = io.StringIO()
    print_report(run_report(load_scenario(LESSON)), Console(file=out, width=width, color_system=None),
                 verbose=verbose)
    return out.getvalue().splitlines()


def test_piped_report_keeps_every_line_whole():
    piped = run_cli(str(LESSON))
    assert piped.returncode == 0, piped.stderr
    lines = piped.stdout.splitlines()
    doc = json.loads(run_cli(str(LESSON), "--json").stdout)
    says = [step["say"] for step in doc["steps"] if step.get("say")]
    assert max(len(say) for say in says) > 80
    assert [f"    {say}" in lines for say in says] == [True] * len(says)
    refused = [step for step in doc["steps"] if not step["ok"]]
    assert [f"    check: {step['check']}" in lines for step in refused] == [True] * len(refused)
    assert "\x1b[" not in piped.stdout                    # no colour codes into a pipe


def test_verbose_report_has_what_json_has():
    doc = run_report(load_scenario(LESSON))
    lines = report(60, verbose=True)
    stripped = [line.strip() for line in lines]
    for step in doc["steps"]:
        assert [event.strip() in stripped for event in step["events"]] == [True] * len(step["events"])
        assert [f"dmesg: {m}" in stripped for m in step["dmesg"]] == [True] * len(step["dmesg"])
    behind = [what for step in doc["steps"] for what in step["left_behind"]]
    assert behind and [f"left behind: {what}" in stripped for what in behind] == [True] * len(behind)
    assert any(line.startswith("    memory44  offline") for line in lines)   # blocks a step changed


def test_plain_report_is_shorter_but_keeps_refusals_and_leftovers():
    doc = run_report(load_scenario(LESSON))
    plain, verbose = report(200, verbose=False), report(200, verbose=True)
    assert len(plain) < len(verbose)
    assert "    kernel:" not in plain and "    kernel:" in verbose
    behind = [what for step in doc["steps"] for what in step["left_behind"]]
    assert [f"    left behind: {what}" in plain for what in behind] == [True] * len(behind)
    assert plain == report(40, verbose=False)              # the console's width changes nothing
