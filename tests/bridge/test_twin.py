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
    assert cfg.nodes[0].ram == ((0x1000, 0x9F000), (0x100000, 0x1FFE0000), (0x100000000, 0x108000000))
    m = Machine(cfg)
    z = {x["zone"]: x for x in m.zoneinfo()}
    assert (z["DMA"]["present"], z["DMA32"]["present"]) == (3998, 126944)   # holes as the real one's


def test_twin_diff_names_the_differences_plainly(tree61):
    lines = twin_diff(LiveMachine(tree61))
    # the DIMM is System RAM in iomem: the twin boots with it as boot memory in Normal, while the
    # real machine onlined it movable
    assert any(line.startswith("valid_zones differs on 1 block(s) (32)") for line in lines)
    assert any("zone DMA managed: real 3840" in line for line in lines)
    assert all("\n" not in line for line in lines)
