"""engine.sysfs: the machine written as /sys and /proc, checked file by file and with the real lsmem."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine import Machine, MachineConfig, NodeConfig
from engine.scenario import load_scenario
from engine.sysfs import ExportError, Link, export_sysfs, nodelist, render_files

ROOT = Path(__file__).resolve().parents[2]
GiB, MiB = 1 << 30, 1 << 20
MEM = "sys/devices/system/memory"
NODE = "sys/devices/system/node"


# ------------------------------------------------------------------------------------------
# machines
# ------------------------------------------------------------------------------------------
def default_after_add() -> Machine:
    """The built-in machine after a 1 GiB DIMM: memory40 online (Normal), memory41 movable."""
    m = Machine(MachineConfig.default())
    assert m.hot_add("1G").ok
    assert m.online(40).ok
    assert m.online(41, "online_movable").ok
    return m


def observed61(steps: int) -> Machine:
    """observed-6.1.md's 512 MiB Linux 6.1 guest after `steps` steps of its DIMM scenario."""
    sc = load_scenario(ROOT / "scenarios" / "observed-6.1-dimm.toml")
    m = Machine(sc.config)
    for st in sc.steps[:steps]:
        assert m.apply(st).ok
    return m


def two_nodes() -> Machine:
    m = Machine(MachineConfig(profile="6.8", nodes=(NodeConfig(0, 2 * GiB), NodeConfig(1, 0))))
    assert m.hot_add("256M", node=1, start=0x100000000).ok
    assert m.online(32, "online_movable").ok
    assert m.hot_add("128M", node=0, start=0x110000000).ok
    return m


def read(root: Path, rel: str) -> str:
    return (root / rel).read_text()


# ------------------------------------------------------------------------------------------
# the files, without any tool
# ------------------------------------------------------------------------------------------
def test_nodelist_format():
    assert nodelist([]) == ""
    assert nodelist([0]) == "0"
    assert nodelist([1, 0]) == "0-1"
    assert nodelist([0, 2, 3, 5]) == "0,2-3,5"


def test_memory_block_files(tmp_path):
    m = observed61(2)
    export_sysfs(m, tmp_path)
    assert read(tmp_path, f"{MEM}/block_size_bytes") == "8000000\n"
    assert read(tmp_path, f"{MEM}/auto_online_blocks") == "offline\n"
    blocks = sorted(int(p.name[6:]) for p in (tmp_path / MEM).glob("memory[0-9]*"))
    assert blocks == [0, 1, 2, 3, 32]
    b32 = tmp_path / MEM / "memory32"
    assert read(b32, "state") == "online\n"
    assert read(b32, "online") == "1\n"
    assert read(b32, "phys_index") == "00000020\n"
    assert read(b32, "phys_device") == "0\n"
    assert read(b32, "removable") == "1\n"
    assert read(b32, "valid_zones") == "Movable\n"
    assert read(tmp_path, f"{MEM}/memory0/valid_zones") == "none\n"     # spans DMA and DMA32
    assert read(tmp_path, f"{MEM}/memory1/valid_zones") == "DMA32\n"
    link = b32 / "node0"
    assert link.is_symlink() and os.readlink(link) == "../../node/node0"
    assert link.resolve() == (tmp_path / NODE / "node0").resolve()
    assert (link / "meminfo").is_file()


def test_offline_block_files(tmp_path):
    m = observed61(1)
    export_sysfs(m, tmp_path)
    b32 = tmp_path / MEM / "memory32"
    assert read(b32, "state") == "offline\n"
    assert read(b32, "online") == "0\n"
    assert read(b32, "valid_zones") == "Normal Movable\n"


def test_node_files(tmp_path):
    m = Machine(MachineConfig.default())
    files = render_files(m)
    assert files[f"{NODE}/possible"] == "0-1\n"
    assert files[f"{NODE}/online"] == "0\n"
    assert files[f"{NODE}/has_memory"] == "0\n"
    assert f"{NODE}/node1/meminfo" not in files           # an offline node has no directory
    m = two_nodes()
    export_sysfs(m, tmp_path)
    assert read(tmp_path, f"{NODE}/online") == "0-1\n"
    assert read(tmp_path, f"{NODE}/has_memory") == "0-1\n"
    assert read(tmp_path, f"{NODE}/has_normal_memory") == "0\n"   # node 1 is movable only
    assert read(tmp_path, f"{NODE}/node1/distance") == "20 10\n"
    links = sorted(p.name for p in (tmp_path / NODE / "node1").glob("memory*"))
    assert links == ["memory32", "memory33"]
    assert os.readlink(tmp_path / NODE / "node1" / "memory32") == "../../memory/memory32"
    assert (tmp_path / NODE / "node1" / "memory32" / "state").read_text() == "online\n"
    nm = read(tmp_path, f"{NODE}/node1/meminfo").splitlines()
    assert nm[0] == "Node 1 MemTotal:         129024 kB"   # 512 self-hosted pages are not managed
    assert nm[1] == "Node 1 MemFree:          129024 kB"
    assert nm[2] == "Node 1 MemUsed:               0 kB"


def test_module_parameters():
    files = render_files(observed61(0))
    base = "sys/module/memory_hotplug/parameters"
    assert files[f"{base}/memmap_on_memory"] == "Y\n"
    assert files[f"{base}/online_policy"] == "contig-zones\n"
    assert files[f"{base}/auto_movable_ratio"] == "301\n"
    off = render_files(Machine(MachineConfig(profile="6.8", memmap_on_memory="force")))
    assert off[f"{base}/memmap_on_memory"] == "force\n"
    rfc = render_files(Machine(MachineConfig(profile="rfc-2017")))
    assert f"{base}/memmap_on_memory" not in rfc                    # no such parameter in 2017


def test_proc_meminfo_exact_totals():
    m = default_after_add()
    text = render_files(m)["proc/meminfo"]
    lines = text.splitlines()
    mi = m.meminfo()
    assert lines[0] == f"MemTotal:       {mi['MemTotal']:>8} kB"
    assert lines[1] == f"MemFree:        {mi['MemFree']:>8} kB"
    parsed = {ln.split(":")[0]: int(ln.split()[1]) for ln in lines}
    assert parsed["MemAvailable"] <= parsed["MemFree"] <= parsed["MemTotal"]
    assert {"Buffers", "Cached", "SwapTotal", "AnonPages", "Slab", "CommitLimit", "VmallocTotal",
            "HugePages_Total", "Hugepagesize", "DirectMap4k"} <= set(parsed)
    for ln in lines:
        assert re.fullmatch(r"[A-Za-z0-9_()]+:\s+\d+( kB)?", ln), ln


def test_proc_meminfo_follows_the_workload():
    m = observed61(2)

    def parsed():
        return {ln.split(":")[0]: int(ln.split()[1]) for ln in render_files(m)["proc/meminfo"].splitlines()}
    before = parsed()
    assert m.alloc(pages=2560).ok
    assert m.alloc(pages=256, kind="unmovable").ok
    after = parsed()
    assert after["AnonPages"] - before["AnonPages"] == 10240
    assert after["Slab"] - before["Slab"] == 1024
    assert after["MemFree"] == m.meminfo()["MemFree"] == before["MemFree"] - 11264


def test_proc_zoneinfo_format():
    m = observed61(2)
    text = render_files(m)["proc/zoneinfo"]
    heads = re.findall(r"^Node (\d+), zone +(\w+)$", text, re.M)
    assert heads == [("0", "DMA"), ("0", "DMA32"), ("0", "Normal"), ("0", "Movable")]
    assert "Node 0, zone  Movable\n" in text and "Node 0, zone      DMA\n" in text
    movable = text.split("Node 0, zone  Movable\n")[1]
    z = {k: int(v) for k, v in re.findall(r"^\s+(spanned|present|managed)\s+(\d+)$", movable, re.M)}
    assert z == {"spanned": 32768, "present": 32768, "managed": 32256}
    assert re.search(r"^  pages free     32256$", movable, re.M)
    assert re.search(r"^  start_pfn:           1048576$", movable, re.M)
    assert text.count("per-node stats") == 1
    # an unpopulated zone stops after its protection line
    normal = text.split("Node 0, zone   Normal\n")[1].split("Node 0, zone")[0]
    assert normal.rstrip().splitlines()[-1].strip().startswith("protection: (")
    dma = text.split("Node 0, zone      DMA\n")[1].split("Node 0, zone")[0]
    prot = re.search(r"protection: \((.*)\)", dma).group(1).split(", ")
    zi = {d["zone"]: d for d in m.zoneinfo() if d["node"] == 0}
    assert int(prot[1]) == zi["DMA32"]["managed"] // 256


def test_proc_vmstat_and_iomem():
    m = default_after_add()
    files = render_files(m)
    vm = dict(ln.split() for ln in files["proc/vmstat"].splitlines())
    assert int(vm["nr_free_pages"]) == m.vmstat()["nr_free_pages"]
    assert int(vm["nr_memmap_pages"]) == m.vmstat()["nr_memmap_pages"]
    io = files["proc/iomem"].splitlines()
    assert "00001000-0009efff : System RAM" in io
    assert "100000000-13fffffff : System RAM" in io
    assert "140000000-17fffffff : System RAM" in io
    assert len(io) == len(m.iomem())
    drv = Machine(MachineConfig(profile="6.8"))
    assert drv.hot_add("128M", via="driver").ok
    assert any(ln.endswith(": System RAM (kmem)") for ln in render_files(drv)["proc/iomem"].splitlines())


def test_reexport_replaces_and_foreign_dirs_are_refused(tmp_path):
    m = observed61(1)
    export_sysfs(m, tmp_path / "x")
    assert (tmp_path / "x" / MEM / "memory32").exists()
    export_sysfs(observed61(4), tmp_path / "x")                       # the DIMM is gone again
    assert not (tmp_path / "x" / MEM / "memory32").exists()
    (tmp_path / "y" / "sys").mkdir(parents=True)
    with pytest.raises(ExportError, match="not written by memmap-tui"):
        export_sysfs(m, tmp_path / "y")
    (tmp_path / "f").write_text("")
    with pytest.raises(ExportError):
        export_sysfs(m, tmp_path / "f")


def test_links_become_directories_when_symlinks_fail(tmp_path, monkeypatch):
    def no_symlink(*a, **k):
        raise OSError(1, "Operation not permitted")
    monkeypatch.setattr(os, "symlink", no_symlink)
    export_sysfs(observed61(2), tmp_path)
    node_entry = tmp_path / MEM / "memory32" / "node0"
    assert node_entry.is_dir() and not node_entry.is_symlink()


def test_render_files_is_pure():
    m = observed61(2)
    fp = m.fingerprint()
    files = render_files(m)
    assert m.fingerprint() == fp
    assert all(isinstance(v, (str, Link)) for v in files.values())


# ------------------------------------------------------------------------------------------
# the command
# ------------------------------------------------------------------------------------------
def _cli(*args):
    return subprocess.run([sys.executable, "-m", "tui.cli", *args], capture_output=True, text=True)


def test_export_command(tmp_path):
    sc = ROOT / "scenarios" / "observed-6.1-dimm.toml"
    out = _cli("export-sysfs", str(sc), str(tmp_path / "a"), "--step", "2")
    assert out.returncode == 0, out.stderr
    assert "after step 2/4" in out.stdout
    assert read(tmp_path / "a", f"{MEM}/memory32/state") == "online\n"
    out = _cli("export-sysfs", str(sc), str(tmp_path / "b"))
    assert out.returncode == 0, out.stderr
    assert not (tmp_path / "b" / MEM / "memory32").exists()
    out = _cli("export-sysfs", "02", str(tmp_path / "c"), "--step", "1")   # a lesson by name
    assert out.returncode == 0, out.stderr
    assert read(tmp_path / "c", f"{MEM}/memory32/state") == "offline\n"


@pytest.mark.parametrize("args", [
    ["no-such-file.toml", "DIR"],
    ["scenarios/observed-6.1-dimm.toml", "DIR", "--step", "9"],
    ["scenarios/observed-6.1-dimm.toml", "DIR", "--step", "-1"],
    ["scenarios/observed-6.1-dimm.toml"],
    ["scenarios/observed-6.1-dimm.toml", "DIR", "--profile", "4.1"],
])
def test_export_command_errors(tmp_path, args):
    args = [a.replace("DIR", str(tmp_path / "d")) for a in args]
    args = [str(ROOT / a) if a.startswith("scenarios/") else a for a in args]
    out = _cli("export-sysfs", *args)
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert out.stderr.startswith("memmap-tui")


def test_export_command_refuses_foreign_dir(tmp_path):
    (tmp_path / "proc").mkdir()
    out = _cli("export-sysfs", str(ROOT / "scenarios" / "observed-6.1-dimm.toml"), str(tmp_path))
    assert out.returncode == 2 and "not written by memmap-tui" in out.stderr


# ------------------------------------------------------------------------------------------
# the real lsmem (util-linux) reading the export
# ------------------------------------------------------------------------------------------
LSMEM = shutil.which("lsmem")
needs_lsmem = pytest.mark.skipif(LSMEM is None, reason="lsmem (util-linux) is not installed")


def lsmem(root: Path, *args: str) -> str:
    env = dict(os.environ, LC_ALL="C", LANG="C")
    env.pop("LIBSMARTCOLS_JSON", None)
    out = subprocess.run([LSMEM, "--sysroot", str(root), *args], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    return out.stdout


def lsmem_json(root: Path, *args: str) -> list[dict]:
    return json.loads(lsmem(root, "--json", *args))["memory"]


def summary(text: str) -> dict:
    return dict(re.findall(r"^(Memory block size|Total online memory|Total offline memory):\s+(\S+)$",
                           text, re.M))


@needs_lsmem
def test_lsmem_default_machine_after_add(tmp_path):
    export_sysfs(default_after_add(), tmp_path)
    rows = lsmem_json(tmp_path, "-o", "RANGE,SIZE,STATE,BLOCK,ZONES,NODE", "-b")
    got = [(r["range"], r["state"], r["block"], r["zones"], r["node"]) for r in rows]
    assert got == [
        ("0x0000000000000000-0x0000000007ffffff", "online", "0", "None", 0),
        ("0x0000000008000000-0x00000000bfffffff", "online", "1-23", "DMA32", 0),
        ("0x0000000100000000-0x0000000147ffffff", "online", "32-40", "Normal", 0),
        ("0x0000000148000000-0x000000014fffffff", "online", "41", "Movable", 0),
        ("0x0000000150000000-0x000000017fffffff", "offline", "42-47", "Normal/Movable", 0),
    ]
    assert int(rows[-1]["size"]) == 6 * 128 * MiB
    s = summary(lsmem(tmp_path))
    assert s == {"Memory block size": "128M", "Total online memory": "4.3G", "Total offline memory": "768M"}
    sb = summary(lsmem(tmp_path, "-b"))
    assert int(sb["Total online memory"]) == 34 * 128 * MiB
    assert int(sb["Total offline memory"]) == 6 * 128 * MiB


@needs_lsmem
def test_lsmem_observed_61_machine(tmp_path):
    """observed-6.1.md: 512 MiB in blocks 0-3 (block 0 spans DMA/DMA32), the DIMM at block 32."""
    export_sysfs(observed61(1), tmp_path / "added")
    plain = lsmem(tmp_path / "added", "-o", "+ZONES,NODE")
    assert re.search(r"^RANGE\s+SIZE\s+STATE\s+REMOVABLE\s+BLOCK\s+ZONES\s+NODE$", plain, re.M)
    assert re.search(r"^0x0000000000000000-0x0000000007ffffff\s+128M\s+online\s+yes\s+0\s+None\s+0$", plain, re.M)
    assert re.search(r"^0x0000000008000000-0x000000001fffffff\s+384M\s+online\s+yes\s+1-3\s+DMA32\s+0$", plain, re.M)
    assert re.search(r"^0x0000000100000000-0x0000000107ffffff\s+128M\s+offline\s+32\s+Normal/Movable\s+0$",
                     plain, re.M)
    assert summary(plain) == {"Memory block size": "128M", "Total online memory": "512M",
                              "Total offline memory": "128M"}
    # after online_movable: the movable block
    export_sysfs(observed61(2), tmp_path / "movable")
    rows = lsmem_json(tmp_path / "movable", "-o", "+ZONES,NODE")
    last = rows[-1]
    assert (last["range"], last["state"], last["removable"], last["block"], last["zones"], last["node"]) == (
        "0x0000000100000000-0x0000000107ffffff", "online", True, "32", "Movable", 0)
    assert summary(lsmem(tmp_path / "movable")) == {"Memory block size": "128M", "Total online memory": "640M",
                                                    "Total offline memory": "0B"}
    # without columns that split them, the online ranges merge as lsmem merges real ones
    rows = lsmem_json(tmp_path / "movable", "-o", "RANGE,STATE")
    assert [(r["range"], r["state"]) for r in rows] == [
        ("0x0000000000000000-0x000000001fffffff", "online"),
        ("0x0000000100000000-0x0000000107ffffff", "online")]
    # after remove: the block is gone
    export_sysfs(observed61(4), tmp_path / "removed")
    assert summary(lsmem(tmp_path / "removed")) == {"Memory block size": "128M", "Total online memory": "512M",
                                                    "Total offline memory": "0B"}
    assert "0x0000000100000000" not in lsmem(tmp_path / "removed", "-a")


@needs_lsmem
def test_lsmem_two_nodes(tmp_path):
    export_sysfs(two_nodes(), tmp_path)
    rows = lsmem_json(tmp_path, "-o", "RANGE,STATE,BLOCK,NODE,ZONES")
    got = [(r["block"], r["state"], r["node"], r["zones"]) for r in rows]
    assert got == [("0", "online", 0, "None"), ("1-15", "online", 0, "DMA32"),
                   ("32", "online", 1, "Movable"), ("33", "offline", 1, "Normal/Movable"),
                   ("34", "offline", 0, "Normal/Movable")]
    per_block = lsmem_json(tmp_path, "-a", "-o", "BLOCK,NODE")
    assert {r["block"]: r["node"] for r in per_block}["33"] == 1
    plain = lsmem(tmp_path, "-o", "+NODE")
    assert re.search(r"^0x0000000100000000-0x0000000107ffffff\s+128M\s+online\s+yes\s+32\s+1$", plain, re.M)
    assert summary(plain)["Total offline memory"] == "256M"


@needs_lsmem
def test_lsmem_follows_a_lesson_step_by_step(tmp_path):
    """Lesson 6's half-failed eject: movable blocks come back in Normal, and lsmem shows it."""
    from engine.lessons import load_lesson
    sc = load_lesson("06")
    m = Machine(sc.config)
    eject = next(i for i, st in enumerate(sc.steps) if st["op"] == "eject")
    for st in sc.steps[:eject]:
        m.apply(st)
    export_sysfs(m, tmp_path / "before")
    zones = {r["block"]: r["zones"] for r in lsmem_json(tmp_path / "before", "-a", "-o", "BLOCK,ZONES")}
    assert (zones["40"], zones["41"], zones["43"]) == ("Movable", "Movable", "Normal")
    m.apply(sc.steps[eject])
    export_sysfs(m, tmp_path / "after")
    zones = {r["block"]: r["zones"] for r in lsmem_json(tmp_path / "after", "-a", "-o", "BLOCK,ZONES")}
    assert (zones["40"], zones["41"], zones["43"]) == ("Normal", "Normal", "Normal")
