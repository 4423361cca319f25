"""Hostile input: every case a fuzzing pass found becomes a one-line error, a refusal or a result.

Nothing here may raise anything but the documented error class, hang, or allocate memory in
proportion to a number the input chose.
"""

import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from engine import Machine, MachineConfig, NodeConfig
from engine.errors import ConfigError
from engine.invariants import check_invariants
from engine.scenario import ScenarioError, load_scenario, parse_scenario
from engine.sysfs import MARKER, ExportError, export_sysfs

from .conftest import refused

GiB, MiB, TiB, PiB = 1 << 30, 1 << 20, 1 << 40, 1 << 50
ROOT = Path(__file__).resolve().parents[2]


def scenario_error(text: str) -> str:
    with pytest.raises(ScenarioError) as e:
        parse_scenario(text, "f.toml")
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("f.toml: "), msg
    return msg


# ------------------------------------------------------------------------------------------
# wrong types where a string or number is expected
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("step, key", [
    ('op = ["hot_add"]', "op"),
    ('op = { a = 1 }', "op"),
    ('op = "hot_add"\nsize = ["128M"]', "size"),
    ('op = "hot_add"\nsize = "128M"\nvia = ["acpi"]', "via"),
    ('op = "online"\nblock = 1\ntype = ["online"]', "type"),
    ('op = "alloc"\npages = 1\nzone = ["Normal"]', "zone"),
    ('op = "alloc"\npages = 1\nkind = { x = 1 }', "kind"),
    ('op = "set"\nauto_online = ["online"]', "auto_online"),
    ('op = "set"\nonline_policy = [1]', "online_policy"),
    ('op = "online"\nblock = true', "block"),
    ('op = "alloc"\npages = 1.5', "pages"),
    ('op = "hot_add"\nsize = "128M"\nsay = ["x"]', "say"),
])
def test_wrong_type_in_a_step_names_file_step_and_key(step, key):
    msg = scenario_error(f'[[step]]\nop = "hot_add"\nsize = "128M"\n\n[[step]]\n{step}\n')
    assert msg.startswith(f"f.toml: step 2: key {key!r}: "), msg


@pytest.mark.parametrize("op, key", [
    ({"op": ["hot_add"]}, "op"),
    ({"op": {"x": 1}}, "op"),
    ({"op": None}, "op"),
    ({"size": "128M"}, "op"),
    ({"op": "hot_add", "size": "128M", "via": ["acpi"]}, "via"),
    ({"op": "online", "block": 1, "type": ["online"]}, "type"),
    ({"op": "online", "block": 1.0}, "block"),
    ({"op": "hot_add", "size": "128M", ("tuple", "key"): 1}, "('tuple', 'key')"),
    ({"op": "set", "auto_online": {"a": 1}}, "auto_online"),
])
def test_apply_refuses_a_bad_step_with_einval_and_never_raises(op, key):
    m = Machine()
    before = m.fingerprint()
    res = refused(m.apply(op), "EINVAL")
    assert res.check == f"argument check ({key})"
    assert "\n" not in res.error and "\n" not in res.summary()
    assert m.fingerprint() == before and m.history == []


@pytest.mark.parametrize("op", [["hot_add"], "hot_add", None, 7])
def test_apply_refuses_a_step_that_is_not_a_table(op):
    res = refused(Machine().apply(op), "EINVAL")
    assert res.check == "argument check (op)"
    assert "table" in res.error


@pytest.mark.parametrize("machine, key", [
    ('arch = ["x86_64"]', "arch"),
    ('arch = 5', "arch"),
    ('profile = ["6.1"]', "profile"),
    ('profile = 6.10', "profile"),
    ('profile = 6', "profile"),
    ('auto_online = ["online"]', "auto_online"),
    ('online_policy = {a = 1}', "online_policy"),
    ('memmap_on_memory = ["force"]', "memmap_on_memory"),
    ('pageblock_order = true', "pageblock_order"),
    ('struct_page_size = true', "struct_page_size"),
    ('auto_movable_ratio = true', "auto_movable_ratio"),
    ('auto_movable_ratio = 1.5', "auto_movable_ratio"),
    ('movable_node = 1', "movable_node"),
    ('la57 = "yes"', "la57"),
    ('block_size = true', "block_size"),
    ('block_size = 9223372036854775808', "block_size"),
    ('block_size = "0x8000000000000000"', "block_size"),
    ('block_size = "8E"', "block_size"),
    ('block_size = "1P"', "block_size"),
])
def test_wrong_machine_value_names_the_key(machine, key):
    msg = scenario_error(f"[machine]\n{machine}\n")
    assert f"machine.{key}" in msg, msg


def test_profile_float_is_refused_not_read_as_another_version():
    # 6.10 as a TOML float is 6.1: silently simulating 6.1 would be wrong
    msg = scenario_error("[machine]\nprofile = 6.10\n")
    assert 'write it as a string' in msg and '"6.10"' in msg
    assert parse_scenario('[machine]\nprofile = "6.10"\n').config.profile == "6.10"


@pytest.mark.parametrize("node, key", [
    ('id = 0\nmemory = "4G"\ndistances = [-1]', "distances"),
    ('id = 0\nmemory = "4G"\ndistances = [true]', "distances"),
    ('id = 0\nmemory = "4G"\ndistances = 10', "distances"),
    ('id = true\nmemory = "4G"', "id"),
    ('id = 0\nmemory = ["4G"]', "memory"),
    ('id = 0\nmemory = true', "memory"),
    ('id = [0]\nmemory = "4G"', "id"),
])
def test_bad_node_entries(node, key):
    msg = scenario_error(f"[[machine.node]]\n{node}\n")
    assert f"node[0].{key}" in msg, msg


def test_node_distances_must_be_slit_values():
    # SLIT: the local distance is 10, remote ones 11..254 (255 is unreachable)
    scenario_error('[[machine.node]]\nid = 0\nmemory = "4G"\ndistances = [0]\n')
    msg = scenario_error('[[machine.node]]\nid = 0\nmemory = "4G"\ndistances = [10, 256]\n'
                         '[[machine.node]]\nid = 1\nmemory = "0"\ndistances = [20, 10]\n')
    assert "node[0].distances" in msg
    cfg = parse_scenario('[[machine.node]]\nid = 0\nmemory = "4G"\ndistances = [10, 30]\n'
                         '[[machine.node]]\nid = 1\nmemory = "0"\ndistances = [30, 10]\n').config
    assert Machine(cfg).distance(0, 1) == 30


def test_machine_config_built_directly_is_checked_too():
    with pytest.raises(ConfigError, match="pageblock_order"):
        MachineConfig(pageblock_order=True).validate()
    with pytest.raises(ConfigError, match="distances"):
        MachineConfig(nodes=(NodeConfig(0, 4 * GiB, (-5,)),)).validate()
    with pytest.raises(ConfigError, match="block_size"):
        MachineConfig(block_size=1 << 63).validate()


@pytest.mark.parametrize("text, where", [
    ("a = " + "[" * 5000 + "]" * 5000, "nested"),
    ("a = " + "{b = " * 3000 + "1" + "}" * 3000, "nested"),
])
def test_deeply_nested_toml_is_one_line_error(text, where):
    msg = scenario_error(text)
    assert "nested too deeply" in msg


# ------------------------------------------------------------------------------------------
# expect and wait tables
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("extra, key", [
    ("expect = 5", "expect"),
    ('expect = "ok"', "expect"),
    ("expect = [{ ok = true }]", "expect"),
    ("wait = [1]", "wait"),
    ('wait = "x"', "wait"),
    ('wait = { prompt = 5 }', "wait"),
    ('wait = { prompt = "go", op = ["online"] }', "wait"),
    ('wait = { prompt = "go", nonsense = 1 }', "wait"),
])
def test_malformed_expect_and_wait_tables(extra, key):
    msg = scenario_error(f'[[step]]\nop = "hot_add"\nsize = "128M"\n{extra}\n')
    assert msg.startswith(f"f.toml: step 1: key {key!r}: "), msg


def test_wellformed_expect_and_wait_still_load():
    sc = parse_scenario('[[step]]\nop = "hot_add"\nsize = "128M"\nexpect = { ok = true }\n'
                        'wait = { prompt = "Plug it" }\n')
    assert sc.steps[0]["expect"] == {"ok": True}


# ------------------------------------------------------------------------------------------
# files
# ------------------------------------------------------------------------------------------
def test_scenario_file_that_is_a_device_is_refused():
    t0 = time.monotonic()
    with pytest.raises(ScenarioError, match="not a regular file"):
        load_scenario("/dev/zero")
    assert time.monotonic() - t0 < 5


def test_scenario_file_that_is_a_fifo_is_refused(tmp_path):
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    with pytest.raises(ScenarioError, match="not a regular file"):
        load_scenario(fifo)


def test_huge_scenario_file_is_refused_without_reading_it(tmp_path):
    big = tmp_path / "big.toml"
    with open(big, "wb") as f:
        f.truncate(6 * GiB)          # sparse: costs no disk
    tracemalloc.start()
    with pytest.raises(ScenarioError, match="too large"):
        load_scenario(big)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 64 * MiB


def test_directory_and_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match="not a regular file"):
        load_scenario(tmp_path)
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "nope.toml")


def test_cli_run_exits_2_with_one_line_for_a_list_op(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text('[[step]]\nop = ["hot_add"]\n')
    p = subprocess.run([sys.executable, "-m", "tui", "run", str(f)], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{f}: step 1: key 'op'" in lines[0], p.stderr
    assert "Traceback" not in p.stderr


def test_bad_user_config_never_stops_the_app(tmp_path):
    from tui.config import load_settings
    for name, text in [("nested.toml", "a = " + "[" * 5000 + "]" * 5000),
                       ("types.toml", 'theme = ["x"]\nglyphs = 3\nmouse = "no"\nkeys = 5\n')]:
        p = tmp_path / name
        p.write_text(text)
        s = load_settings(p)
        assert s.warnings, name
        assert all("\n" not in w for w in s.warnings)
        assert s.glyphs == "auto" and s.mouse is True
    big = tmp_path / "big.toml"
    with open(big, "wb") as f:
        f.truncate(3 * GiB)
    assert load_settings(big).warnings


# ------------------------------------------------------------------------------------------
# operations with absurd sizes
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("via, check", [("acpi", "acpi_memory_enable_device"),
                                        ("kmem", "dev_dax_kmem_probe"),
                                        ("driver", "check_hotplug_memory_range")])
def test_size_zero_is_einval_from_the_caller(via, check):
    m = Machine()
    res = refused(m.hot_add(0, via=via), "EINVAL")
    assert res.check.startswith(check)


def test_size_zero_from_a_generic_driver_is_mhp_range_allowed_e2big():
    # add_memory_driver_managed() -> register_memory_resource(): mhp_range_allowed() needs start < end
    res = refused(Machine().hot_add(0, via="driver"), "E2BIG")
    assert res.check.startswith("mhp_range_allowed")


def test_size_zero_dlpar_is_einval_on_pseries():
    m = Machine(MachineConfig(arch="ppc64-radix-64k", nodes=(NodeConfig(0, 4 * GiB),)))
    res = refused(m.hot_add(0, via="dlpar"), "EINVAL")
    assert res.check.startswith("dlpar_memory")


def test_remove_size_zero_is_the_bug_on_of_check_hotplug_memory_range():
    # mm/memory_hotplug.c try_remove_memory(): BUG_ON(check_hotplug_memory_range(start, size)),
    # and check_hotplug_memory_range() refuses !size: the kernel stops (a simulated BUG)
    res = refused(Machine().remove(4 * GiB, 0), "BUG")
    assert "check_hotplug_memory_range" in res.check


def test_refused_remove_of_16_pib_is_instant_and_small():
    m = Machine()
    tracemalloc.start()
    t0 = time.monotonic()
    res = refused(m.remove(0, 16 * PiB), "EINVAL")
    elapsed = time.monotonic() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 2 and peak < 16 * MiB, (elapsed, peak)
    assert "boot memory" in res.error or "no memory block" in res.error


def test_eject_of_16_pib_is_instant():
    m = Machine()
    t0 = time.monotonic()
    res = m.eject(64 * GiB, 16 * PiB)
    assert not res.ok and time.monotonic() - t0 < 2


# ------------------------------------------------------------------------------------------
# read API with out-of-range pfns
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda m: m.struct_page(-1),
    lambda m: m.struct_page(m.max_pfn),
    lambda m: m.struct_page(2 ** 70),
    lambda m: m.struct_page("12"),
    lambda m: m.section(-1),
    lambda m: m.section(2 ** 60),
    lambda m: m.served_by(-1),
    lambda m: m.backing_of(0, 2 ** 40),
    lambda m: m.backing_of(-5, 10),
    lambda m: m.backing_of(10, 5),
    lambda m: m.kpageflags(0, 2 ** 40),
    lambda m: m.kpageflags(-1, 1),
    lambda m: m.pfn_states(0, 2 ** 40),
    lambda m: m.struct_page(True),
    lambda m: m.section(1.5),
])
def test_read_api_out_of_range_is_a_one_line_value_error(call):
    m = Machine()
    tracemalloc.start()
    with pytest.raises(ValueError) as e:
        call(m)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert "\n" not in str(e.value) and str(e.value)
    assert peak < 64 * MiB


def test_read_api_edges_still_answer():
    m = Machine()
    top = m.max_pfn - 1
    assert m.struct_page(top)["state"] == "absent"
    assert m.struct_page(0)["pfn"] == 0
    assert m.section(top // m.pps)["present"] is False
    assert m.block(-1) is None and m.block_of(-1) is None


def test_backing_of_the_whole_space_is_fast():
    m = Machine()
    t0 = time.monotonic()
    whole = m.backing_of(0, m.max_pfn)
    assert time.monotonic() - t0 < 2
    end = (int(m.present_sections()[-1]) + 1) * m.pps
    assert whole == m.backing_of(0, end) and len(whole) >= 1


# ------------------------------------------------------------------------------------------
# boot layouts
# ------------------------------------------------------------------------------------------
def test_arm64_64k_two_nodes_sharing_a_section_satisfy_the_invariants():
    cfg = MachineConfig(arch="arm64-64k", nodes=(NodeConfig(0, 256 * MiB), NodeConfig(1, 512 * MiB)))
    m = Machine(cfg)
    assert check_invariants(m) == []
    # both nodes keep their boot memory in their own zones
    info = {n["id"]: n for n in m.nodes_info()}
    assert info[0]["present"] == 256 * MiB >> m.page_shift
    assert info[1]["present"] == 512 * MiB >> m.page_shift
    # the shared block spans two nodes: like the kernel (zone NULL), it cannot be offlined
    shared = m.block_of(((1 << 30) + 256 * MiB) >> m.page_shift)   # node 1's first pfn
    res = refused(m.offline(shared), "EINVAL")
    assert "more than one zone" in res.error


# ------------------------------------------------------------------------------------------
# export-sysfs
# ------------------------------------------------------------------------------------------
def test_export_does_not_write_through_a_planted_marker_symlink(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    root = tmp_path / "out"
    root.mkdir()
    (root / MARKER).symlink_to(victim)
    with pytest.raises(ExportError):
        export_sysfs(Machine(), root)
    assert victim.read_text() == "precious\n"


def test_export_does_not_follow_a_planted_symlink_on_reexport(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    root = tmp_path / "out"
    export_sysfs(Machine(), root)
    (root / MARKER).unlink()
    (root / MARKER).symlink_to(victim)
    with pytest.raises(ExportError):
        export_sysfs(Machine(), root)
    assert victim.read_text() == "precious\n"
    assert (root / "sys").is_dir()
