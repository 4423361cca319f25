"""LiveMachine over fixture trees of a 6.1 and a 6.12 machine with self-hosted memmap blocks."""

import json

import numpy as np
import pytest

from bridge import pageclass as PC
from bridge.live import LiveError, LiveMachine
from bridge.protocol import MachineView
from engine import Machine
from engine import states as S

from .fixtures import DIMM_PFN, PPB, VMEMMAP


def test_live_machine_satisfies_the_read_protocol(tree61):
    assert isinstance(LiveMachine(tree61), MachineView)
    assert isinstance(Machine(), MachineView)


@pytest.mark.parametrize("kind,reason", [("6.1", PC.R_SELF_RES_OP), ("6.12", PC.R_SELF_OP)])
def test_vmemmap_pfns_of_an_online_dimm_are_self_hosted_memmap(kind, reason, tree61, tree612):
    m = LiveMachine(tree61 if kind == "6.1" else tree612)
    online = [32] if kind == "6.1" else [32, 33]
    for b in online:
        lo = b * PPB
        st = m.pfn_states(lo, lo + PPB)
        assert (st[:VMEMMAP] == S.MEMMAP_SELF).all()
        assert (st[VMEMMAP:] == S.FREE).all()
        assert set(m.pfn_reasons(lo, lo + VMEMMAP).tolist()) == {reason}
        assert m.block(b)["nr_vmemmap_pages"] == VMEMMAP
        assert m.backing_of(lo, lo + PPB) == [(lo, lo + VMEMMAP)]
    assert m.served_by(DIMM_PFN + 1) == (DIMM_PFN + 64, DIMM_PFN + 128)
    sp = m.struct_page(DIMM_PFN)
    assert sp["state"] == "memmap-self" and sp["why"] == PC.REASONS[reason]
    assert sp["memmap_of"] == {"first_pfn": DIMM_PFN, "last_pfn": DIMM_PFN + 63, "section": 32}
    assert m.section(32)["memmap"]["source"] == "altmap"


def test_the_flags_that_mean_self_hosted_depend_on_the_kernel():
    # 6.1's RESERVED+OWNER_PRIVATE on a 6.11+ kernel is a reserved page, and 6.12's bare
    # OWNER_PRIVATE on a 6.1 kernel is not memmap either
    structure = np.full(2, PC.RAM, dtype=np.uint8)
    flags = np.array([PC.bit("RESERVED", "OWNER_PRIVATE"), PC.bit("OWNER_PRIVATE")], dtype=np.uint64)
    new, _ = PC.classify(structure, flags, None, PC.selfhosted_rule((6, 12)))
    old, _ = PC.classify(structure, flags, None, PC.selfhosted_rule((6, 1)))
    assert new.tolist() == [S.BOOT_RESERVED, S.MEMMAP_SELF]
    assert old.tolist() == [S.MEMMAP_SELF, S.UNMOVABLE]


def test_structure_offline_blocks_holes_and_gaps(tree612):
    m = LiveMachine(tree612)
    assert (m.pfn_states(34 * PPB, 35 * PPB) == S.OFFLINE).all()
    assert (m.pfn_states(4 * PPB, 32 * PPB) == S.ABSENT).all()        # the PCI hole: no blocks
    assert m.pfn_states(0, 1).tolist() == [S.HOLE]                       # page 0 is not System RAM
    assert m.pfn_states(0x3000, 0x3001).tolist() == [S.MOVABLE]
    assert m.pfn_states(0x5000, 0x5001).tolist() == [S.UNMOVABLE]
    assert m.block(34)["state"] == "offline" and m.block(34)["nr_vmemmap_pages"] == 0
    assert m.present_sections().tolist() == [0, 1, 2, 3, 32, 33, 34]


def test_aggregate_matches_the_pfn_states(tree61):
    m = LiveMachine(tree61)
    dom, mixed = m.aggregate(DIMM_PFN, DIMM_PFN + PPB, 1024)
    assert dom.tolist() == [S.MEMMAP_SELF] + [S.FREE] * 31
    assert mixed.tolist() == [True] + [False] * 31           # 512 memmap + 512 free in cell 0


def test_counters_and_geometry(tree612):
    m = LiveMachine(tree612)
    g = m.geometry
    assert (g.block_size, g.pages_per_block, g.pages_per_section, g.page_size) == (1 << 27, PPB, PPB, 4096)
    assert m.profile_name == "6.11" and m.rule == PC.RULE_OWNER
    assert m.vmstat()["nr_memmap_pages"] == 3 * VMEMMAP
    z = {x["zone"]: x for x in m.zoneinfo()}
    assert (z["Movable"]["present"], z["Movable"]["managed"]) == (2 * PPB, 2 * (PPB - VMEMMAP))
    assert m.meminfo()["MemTotal"] == (3840 + 118462 + 2 * (PPB - VMEMMAP)) * 4


def test_operations_are_refused_with_the_live_view_line(tree61):
    m = LiveMachine(tree61)
    for res in (m.apply({"op": "hot_add", "size": "128M"}), m.online(32), m.offline(32),
                m.remove(DIMM_PFN << 12, 1 << 27)):
        assert not res.ok and res.errno == "EPERM"
        assert "live view" in res.error and "twin" in res.error
        assert "\n" not in res.summary()
    assert (m.undo(), m.redo(), m.can_undo, m.can_redo, m.history) == (False, None, False, False, [])


def test_refresh_reports_what_changed(tmp_path):
    from .fixtures import build_tree
    root = build_tree(tmp_path / "t", "6.1")
    m = LiveMachine(root)
    gen = m.generation
    (root / "sys/devices/system/memory/memory32/state").write_text("offline\n")
    text = (root / "proc/meminfo").read_text().replace("MemFree:          ", "MemFree:          1")
    (root / "proc/meminfo").write_text(text)
    lines = m.refresh()
    assert "memory32: online -> offline" in lines
    assert any(line.startswith("MemFree +") for line in lines)
    assert m.generation == gen + 1
    assert (m.pfn_states(DIMM_PFN, DIMM_PFN + 8) == S.OFFLINE).all()


def test_not_a_sysroot_is_one_line(tmp_path):
    with pytest.raises(LiveError, match="not found"):
        LiveMachine(tmp_path)


def test_live_json_has_the_shape_of_a_run_step(tree61, capsys):
    from tui.cli import main
    assert main(["live", "--sysroot", str(tree61), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    for key in ("meminfo", "zones", "blocks", "ranges", "vmstat", "nodes", "machine"):
        assert key in doc
    assert doc["machine"]["release"] == "6.1.0-56-amd64"
    dimm = [r for r in doc["ranges"] if r["start_pfn"] == DIMM_PFN]
    assert dimm == [{"start_pfn": DIMM_PFN, "end_pfn": DIMM_PFN + VMEMMAP, "state": "memmap-self",
                     "kpageflags": ["RESERVED", "OWNER_PRIVATE"], "why": PC.REASONS[PC.R_SELF_RES_OP]}]
    assert [b["nr_vmemmap_pages"] for b in doc["blocks"] if b["id"] == 32] == [VMEMMAP]


def test_live_bad_sysroot_is_one_line_and_exit_2(tmp_path, capsys):
    from tui.cli import main
    assert main(["live", "--sysroot", str(tmp_path), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not found" in err


def test_page_offline_in_an_online_block_is_unplugged():
    structure = np.full(3, PC.RAM, dtype=np.uint8)
    flags = np.array([PC.bit("OFFLINE"), PC.bit("BUDDY"), 0], dtype=np.uint64)
    counts = np.array([1, 0, 2], dtype=np.uint64)
    st, why = PC.classify(structure, flags, counts, PC.RULE_OWNER)
    assert st.tolist() == [S.UNPLUGGED, S.FREE, S.UNMOVABLE]
    assert why.tolist() == [PC.R_PAGE_OFFLINE, PC.R_BUDDY, PC.R_KERNEL_NOFLAG]
