"""Snapshots and export-sysfs trees open like the machine they were taken from."""

import shutil
import subprocess

import numpy as np
import pytest

from bridge.live import LiveMachine
from bridge.snapshot import SnapshotError, take_snapshot
from engine import Machine, MachineConfig, NodeConfig
from engine.sysfs import export_sysfs

from .fixtures import PPB

LSMEM = shutil.which("lsmem")


def _lsmem(root, *cols):
    args = [LSMEM, "--sysroot", str(root)] + (["-o", ",".join(cols)] if cols else [])
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def test_snapshot_reopens_the_same_machine(tree612, tmp_path):
    out = tmp_path / "snap"
    s = take_snapshot(tree612, out)
    assert s["page_flags"] and s["runs"] > 0
    a, b = LiveMachine(tree612), LiveMachine(out)
    assert a.blocks() == b.blocks()
    assert a.zoneinfo() == b.zoneinfo() and a.meminfo() == b.meminfo() and a.vmstat() == b.vmstat()
    assert np.array_equal(a.pfn_states(0, 35 * PPB), b.pfn_states(0, 35 * PPB))
    assert np.array_equal(a.kpageflags(0, 35 * PPB), b.kpageflags(0, 35 * PPB))
    assert b.state.release == "6.12.57+deb13-amd64"


def test_snapshot_refuses_a_foreign_directory(tree61, tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "notes.txt").write_text("mine\n")
    with pytest.raises(SnapshotError, match="not empty"):
        take_snapshot(tree61, tmp_path / "x")


@pytest.mark.skipif(LSMEM is None, reason="util-linux lsmem is not installed")
def test_lsmem_reads_a_snapshot_as_it_reads_the_tree(tree61, tmp_path):
    take_snapshot(tree61, tmp_path / "snap")
    for cols in ((), ("RANGE", "SIZE", "STATE", "REMOVABLE", "BLOCK", "NODE", "ZONES")):
        assert _lsmem(tmp_path / "snap", *cols) == _lsmem(tree61, *cols)
    assert "0x0000000100000000-0x0000000107ffffff" in _lsmem(tmp_path / "snap")


def test_an_export_sysfs_tree_opens_as_a_live_machine(tmp_path):
    m = Machine(MachineConfig(profile="6.1", nodes=(NodeConfig(0, 1 << 30),)))
    assert m.hot_add("256M").ok and m.online(32, "online_movable").ok
    export_sysfs(m, tmp_path / "exp")
    live = LiveMachine(tmp_path / "exp")
    got = {b["id"]: (b["state"], b["valid_zones"], b["node"]) for b in live.blocks()}
    want = {b["id"]: (b["state"], b["valid_zones"], b["node"]) for b in m.blocks()}
    assert got == want
    assert live.meminfo()["MemTotal"] == m.meminfo()["MemTotal"]
    assert [(z["zone"], z["present"], z["managed"]) for z in live.zoneinfo()] == \
        [(z["zone"], z["present"], z["managed"]) for z in m.zoneinfo()]
    assert not live.has_page_flags and "block level only" in live.page_files_note


def test_a_damaged_page_flags_file_leaves_the_block_level(tree612, tmp_path):
    take_snapshot(tree612, tmp_path / "snap")
    (tmp_path / "snap/proc/kpageflags.runs.npz").write_bytes(b"not a zip")
    live = LiveMachine(tmp_path / "snap")
    assert not live.has_page_flags and "not a page-flags snapshot" in live.page_files_note
    assert [b["id"] for b in live.blocks()] == [0, 1, 2, 3, 32, 33, 34]
