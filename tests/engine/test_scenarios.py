"""Scenario files and the headless `memmap-tui run` front door."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.report import run_report
from engine.scenario import ScenarioError, load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "scenarios" / "observed-6.1-dimm.toml"


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "tui.cli", *args], capture_output=True, text=True,
                          cwd=ROOT)


def test_example_runs_and_reports_the_observed_numbers():
    out = run_cli("run", str(EXAMPLE), "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    steps = doc["steps"]
    assert [s["op"] for s in steps] == ["hot_add", "online", "offline", "remove"]
    assert all(s["ok"] and s["errno"] is None for s in steps)
    add, online = steps[0], steps[1]
    assert online["meminfo"]["MemTotal"] - add["meminfo"]["MemTotal"] == 129024
    movable = [z for z in online["zones"] if z["zone"] == "Movable" and z["node"] == 0][0]
    assert (movable["spanned"], movable["present"], movable["managed"]) == (32768, 32768, 32256)
    assert online["ranges"][0] == {"start_pfn": 0x100000, "end_pfn": 0x100200, "state": "memmap-self",
                                   "kpageflags": ["RESERVED", "OWNER_PRIVATE"]}
    blk = [b for b in online["blocks"] if b["id"] == 32][0]
    assert blk == {"id": 32, "state": "online", "valid_zones": "Movable", "removable": 1,
                   "nr_vmemmap_pages": 512, "node": 0, "phys_index": "00000020"}
    assert steps[3]["ranges"] == []


def test_refused_step_is_a_result_not_an_error(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('[machine]\nprofile = "6.1"\n[[machine.node]]\nid = 0\nmemory = "512M"\n'
                 '[[step]]\nop = "hot_add"\nsize = "128M"\n'
                 '[[step]]\nop = "offline"\nblock = 32\n')
    out = run_cli("run", str(f), "--json")
    assert out.returncode == 0
    st = json.loads(out.stdout)["steps"][1]
    assert st["ok"] is False and st["errno"] == "EINVAL" and st["error"]


@pytest.mark.parametrize("body,needle", [
    ('[[step]]\nop = "hot_add"\nsise = "128M"\n', "step 1: key 'sise'"),
    ('[[step]]\nop = "hot_add"\n', "step 1: key 'size'"),
    ('[[step]]\nop = "frobnicate"\n', "step 1: key 'op'"),
    ('[[step]]\nop = "hot_add"\nsize = "12Q"\n', "step 1: key 'size'"),
    ('[[step]]\nop = "online"\nblock = 32\ntype = "online_sideways"\n', "step 1: key 'type'"),
    ('[machine]\nprofile = "4.4"\n', "machine.profile"),
    ('[machine]\nmemmap_on_memory = "force"\nprofile = "6.1"\n', "machine.memmap_on_memory"),
    ('[machine]\ncolour = 3\n', "unknown key 'colour'"),
    ('[[step]\nop=1', "not valid TOML"),
    ('[[step]]\nop = "hot_add"\nsize = "128M"\n[[step]]\nop = "alloc"\nkind = "movable"\n', "step 2: key 'pages'"),
])
def test_malformed_files_get_one_line_naming_file_step_and_key(tmp_path, body, needle):
    f = tmp_path / "bad.toml"
    f.write_text(body)
    out = run_cli("run", str(f))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad.toml" in lines[0] and needle in lines[0], out.stderr


def test_missing_file_is_a_clean_error(tmp_path):
    out = run_cli("run", str(tmp_path / "nope.toml"))
    assert out.returncode == 2 and "cannot read" in out.stderr and "Traceback" not in out.stderr


def test_text_report_is_readable():
    out = run_cli("run", str(EXAMPLE))
    assert out.returncode == 0 and "online(" in out.stdout and "MemTotal" in out.stdout


def test_scenario_round_trips_through_toml():
    sc = load_scenario(EXAMPLE)
    again = parse_scenario(sc.to_toml(), "again")
    assert again.config == sc.config
    assert [s["op"] for s in again.steps] == [s["op"] for s in sc.steps]
    assert run_report(again)["steps"][-1]["meminfo"] == run_report(sc)["steps"][-1]["meminfo"]


def test_same_scenario_same_state_byte_for_byte():
    a, b = run_report(load_scenario(EXAMPLE)), run_report(load_scenario(EXAMPLE))
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_tables_on_steps_round_trip():
    text = ('[[step]]\nop = "hot_add"\nsize = "128M"\nsay = "a \\"quoted\\" word"\n'
            'expect = { ok = true, errno = "EBUSY", block_state = { "40" = "online" } }\n')
    sc = parse_scenario(text, "t")
    again = parse_scenario(sc.to_toml(), "again")
    assert again.steps == sc.steps


@pytest.mark.parametrize("args,needle", [(["--theme", "nosuch"], "--theme"), (["--profile", "3.1"], "--profile"),
                                         (["--scenario", "/nonexistent.toml"], "nonexistent")])
def test_bad_launch_arguments_get_one_line_and_exit_2(args, needle):
    out = run_cli(*args)
    assert out.returncode == 2 and needle in out.stderr and len(out.stderr.strip().splitlines()) == 1
