"""Fuzzing the scenario format: whatever the file says, the engine answers with a one-line
ScenarioError, or runs every step to an OpResult; no traceback, no hang, no memory blow-up.

Bounded for CI: a fixed number of examples, each with a deadline; sizes mix the ones a
person would write with absurd ones (16P, 2^64, negative, wrong types) that must be refused
quickly. Valid multi-TiB adds are legitimately slow and are the benchmarks' business.
"""

import json
import os
import tracemalloc

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

from engine import Machine
from engine.config import KNOBS
from engine.ops import OP_ARGS
from engine.report import run_report
from engine.scenario import ScenarioError, parse_scenario

EXAMPLES = int(os.environ.get("MEMMAP_FUZZ_EXAMPLES", "60"))
MiB = 1 << 20

junk = st.one_of(
    st.none(), st.booleans(), st.integers(-(1 << 70), 1 << 70), st.floats(allow_nan=True),
    st.text(max_size=12), st.lists(st.integers(0, 3), max_size=3),
    st.dictionaries(st.sampled_from(["a", "op", "ok"]), st.integers(0, 3), max_size=2),
)
sizes = st.one_of(
    st.sampled_from([0, 1, "128M", "256M", "512M", "1G", "2G", "3G", "0x8000000", "16P", "8E",
                     1 << 63, 1 << 64, -1, "-128M", "1.5G", "abc", "", "0x", "128 MiB"]),
    st.integers(0, 8).map(lambda k: k * 128 * MiB), junk)
addresses = st.one_of(st.sampled_from([None, "4G", "0x140000000", "0x100000000", 0, "64T", "0x3ffff8000000",
                                       1 << 51, -4096]), junk)
ints = st.one_of(st.integers(-2, 80), st.just(1 << 40), junk)
names = {
    "via": st.one_of(st.sampled_from(["acpi", "driver", "kmem", ""]), junk),
    "type": st.one_of(st.sampled_from(["online", "online_kernel", "online_movable", "offline"]), junk),
    "zone": st.one_of(st.sampled_from(["DMA", "DMA32", "Normal", "Movable", "movable", "HighMem"]), junk),
    "kind": st.one_of(st.sampled_from(["movable", "unmovable", "pinned"]), junk),
    "auto_online": st.one_of(st.sampled_from(["offline", "online", "online_movable"]), junk),
    "online_policy": st.one_of(st.sampled_from(["contig-zones", "auto-movable"]), junk),
}
KIND_VALUES = {"size": sizes, "addr": addresses, "int": ints}


def value_for(key: str, kind: str):
    if key in names:
        return names[key]
    return KIND_VALUES.get(kind, junk)


@st.composite
def steps(draw):
    op = draw(st.one_of(st.sampled_from(sorted(OP_ARGS)), junk))
    spec = OP_ARGS.get(op, {}) if isinstance(op, str) else {}
    keys = draw(st.lists(st.sampled_from(sorted(spec) or ["size"]), max_size=4, unique=True))
    step = {"op": op} if draw(st.integers(0, 9)) else {}
    for k in keys:
        step[k] = draw(value_for(k, spec[k][0] if k in spec else "junk"))
    if not draw(st.integers(0, 5)):
        step[draw(st.sampled_from(["say", "expect", "wait", "bogus"]))] = draw(junk)
    return step


machine_values = {
    "profile": st.one_of(st.sampled_from(["6.1", "6.6", "7.2", "rfc-2017", "5.13", "6.10", "9.9", "4.0"]),
                         st.just(6.10), junk),
    "arch": st.one_of(st.sampled_from(["x86_64", "arm64-4k", "arm64-64k", "ppc64-radix-64k", "mips"]), junk),
    "memmap_on_memory": st.one_of(st.sampled_from([True, False, "force", "yes"]), junk),
    "block_size": st.one_of(st.sampled_from(["128M", "256M", "1G", "2G", "1M", 1 << 63, "16P"]), junk),
}


@st.composite
def machines(draw):
    d = {}
    for knob in draw(st.lists(st.sampled_from([k["name"] for k in KNOBS if k["name"] != "nodes"]),
                              max_size=4, unique=True)):
        d[knob] = draw(machine_values.get(knob, junk))
    if draw(st.booleans()):
        d["node"] = draw(st.lists(st.fixed_dictionaries(
            {"id": st.one_of(st.integers(0, 2), junk),
             "memory": st.one_of(st.sampled_from(["512M", "1G", "2G", "0", "3M"]), junk)},
            optional={"distances": st.lists(st.one_of(st.integers(-5, 300), junk), max_size=3)}),
            min_size=1, max_size=3))
    return d


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v) if v == v and abs(v) != float("inf") else ("nan" if v != v else
                                                                  ("inf" if v > 0 else "-inf"))
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v if x is not None) + "]"   # TOML has no null
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {toml_value(x)}" for k, x in v.items()
                                if x is not None) + " }"
    raise TypeError(v)


def to_toml(machine: dict, step_list: list[dict]) -> str:
    lines = ["[machine]"]
    nodes = machine.pop("node", None)
    lines += [f"{k} = {toml_value(v)}" for k, v in machine.items() if v is not None]
    for n in nodes or []:
        lines += ["[[machine.node]]"] + [f"{k} = {toml_value(v)}" for k, v in n.items() if v is not None]
    for s in step_list:
        lines += ["[[step]]"] + [f"{k} = {toml_value(v)}" for k, v in s.items() if v is not None]
    return "\n".join(lines) + "\n"


@settings(max_examples=EXAMPLES, deadline=20000, suppress_health_check=list(HealthCheck))
@given(machine=machines(), step_list=st.lists(steps(), max_size=6))
def test_any_scenario_is_an_error_line_or_a_report(machine, step_list):
    text = to_toml(machine, step_list)
    tracemalloc.start()
    try:
        try:
            sc = parse_scenario(text, "fuzz.toml")
        except ScenarioError as e:
            assert "\n" not in str(e) and str(e).startswith("fuzz.toml: ")
            return
        doc = run_report(sc)
        assert len(doc["steps"]) == len(sc.steps)
        _, peak = tracemalloc.get_traced_memory()
        assert peak < 512 * MiB, f"{peak >> 20} MiB for {text!r}"
    finally:
        tracemalloc.stop()


@settings(max_examples=EXAMPLES, deadline=20000, suppress_health_check=list(HealthCheck))
@given(step_list=st.lists(st.one_of(steps(), junk), min_size=1, max_size=8))
def test_apply_never_raises_on_any_step(step_list):
    m = Machine()
    for step in step_list:
        res = m.apply(step)
        assert res.ok or (res.errno and res.error and "\n" not in res.error), res
        assert "\n" not in res.summary()
