"""The twin of a machine: a scenario that boots like it, and what it gets differently."""

from bridge.live import LiveMachine
from bridge.twin import twin_config, twin_diff, twin_scenario
from engine import Machine
from engine.scenario import parse_scenario


def test_twin_scenario_round_trips_and_boots_like_the_tree(tree61):
    live = LiveMachine(tree61)
    text = twin_scenario(live).to_toml()
    sc = parse_scenario(text, "twin")
    assert sc.config == twin_config(live)
    cfg = sc.config
    assert (cfg.profile, cfg.memmap_on_memory, cfg.auto_online, cfg.block_size) == ("6.1", True, "offline", 1 << 27)
    assert cfg.nodes[0].ram == ((0x1000, 0x9F000), (0x100000, 0x1FFE0000))
    assert [(s["op"], s.get("start"), s.get("block"), s.get("type")) for s in sc.steps] == \
        [("hot_add", 0x100000000, None, None), ("online", None, 32, "online_movable")]
    m = Machine(cfg)
    z = {x["zone"]: x for x in m.zoneinfo()}
    assert (z["DMA"]["present"], z["DMA32"]["present"]) == (3998, 126944)   # holes as the real one's


def test_twin_replays_the_hot_added_dimms(tree612):
    live = LiveMachine(tree612)
    from engine.report import run_report
    doc = run_report(twin_scenario(live))
    assert all(step["ok"] for step in doc["steps"])
    last = doc["steps"][-1]
    got = {b["id"]: (b["state"], b["valid_zones"]) for b in last["blocks"]}
    want = {b["id"]: (b["state"], b["valid_zones"]) for b in live.blocks()}
    assert got == want
    # the memmap of an offline block is invisible from user space (its pfns read NOPAGE)
    assert [b["nr_vmemmap_pages"] for b in last["blocks"] if b["state"] == "online"] == \
        [b["nr_vmemmap_pages"] for b in live.blocks() if b["state"] == "online"] == [0] * 4 + [512] * 2


def test_twin_diff_names_the_differences_plainly(tree61):
    lines = twin_diff(LiveMachine(tree61))
    assert not any("block" in line for line in lines)           # blocks agree after the replay
    assert any("zone DMA managed: real 3840" in line for line in lines)
    assert all("\n" not in line for line in lines)
